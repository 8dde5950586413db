"""Running comparisons for the app: one cached result per (scenario, seed).

Every run is cached with st.cache_data keyed on the scenario's YAML text and the seed,
so turning one lever reruns only the scenario it changed, and a shared link or a
second visitor gets cached results at once. Runs not yet cached go to one executor of
local processes that lives as long as the server (a new pool per comparison would cost
more than the runs), shared by every visitor (simulation.running.executors).

Importing this module is light (Streamlit and the executors, not the model): the
server imports it first thing at start to get its worker processes going while it
imports the rest.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from contextlib import closing
from typing import TYPE_CHECKING

import streamlit as st

from simulation.inputs.seeds import replicate_seed
from simulation.running.executors import Executor, InProcess, LocalProcesses
from simulation.running.processes import usable_workers

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from simulation.analysis.digest import RunDigest

Job = tuple[str, int]  # (normalised scenario YAML, seed)

#: Fewer uncached runs than this are not worth a trip to the pool.
MIN_POOL_JOBS = 4

#: What the forkserver of the app's pool imports before it forks the workers: the job
#: function and three short runs (simulation.running.warm_workers), so that a worker's
#: first run costs what its next ones do (without: ~0.1 s more, lazy imports and first
#: calls, paid by every worker on the first comparison). () switches the warm-up off;
#: ("simulation.running.runs",) would import the job function only. Mesa first, as in
#: app.WARM_MODULES: its logger reads the import stack, 23 frames then instead of 41
#: (0.0-0.6 s less of the forkserver's CPU before the pool is ready, three alternated
#: rounds on the shared machine; leave "mesa" out to switch it off).
WORKER_PRELOAD = ("mesa", "simulation.running.warm_workers")

#: Seconds between two redraws of a progress bar: each redraw is a message to the
#: browser, where Streamlit renders the page again: measured in headless Chromium,
#: about 30 ms of CPU on a short page and 75 ms on Compare's, taken from the runs it
#: reports on (on two cores, every 4 redraws a second cost a third of a core).
PROGRESS_EVERY_S = 1.0


def replicate_jobs(texts: Sequence[str], seed: int, replicates: int) -> list[Job]:
    """The jobs of ``replicates`` runs of each scenario (YAML text): replicate ``r`` of
    every scenario runs with seed ``seed + r``, as on the command line."""
    return [(text, replicate_seed(seed, r)) for text in texts for r in range(replicates)]


def workers() -> int:
    """Local processes for uncached runs: CONVERGE_WORKERS, else one per core."""
    try:
        return max(1, int(os.environ.get("CONVERGE_WORKERS", "")))
    except ValueError:
        return os.cpu_count() or 1


@st.cache_resource(show_spinner=False)
def executor() -> Executor:
    """The server's executor, started once: local processes (in this process for one
    worker). Its workers are forked from a clean forkserver with the model preloaded,
    never from the server with its threads; they exit with the server, however it ends,
    and leave Ctrl-C to it. Shared by every visitor: a page that stops (the visitor
    moved on) cancels its runs not yet started and leaves the others' alone."""
    count = usable_workers(workers())
    if count == 1:
        return InProcess()
    return LocalProcesses(count, preload=WORKER_PRELOAD, shared=True)


_starting_lock = threading.Lock()
#: pool -> the thread that started it (one start per pool, however many callers)
_starting: weakref.WeakKeyDictionary[LocalProcesses, threading.Thread] = weakref.WeakKeyDictionary()


def warm_up() -> threading.Thread | None:
    """Start the worker processes in the background (called at server start and when
    the app opens); returns the thread starting them (None without a pool).

    Never waits: starting a pool blocks until the forkserver has imported the model
    and forked (seconds), which the caller spends importing and drawing instead. A
    comparison submitted meanwhile waits for the pool, not for a second one."""
    pool = executor()
    if not isinstance(pool, LocalProcesses):
        return None
    with _starting_lock:
        if pool not in _starting:
            _starting[pool] = threading.Thread(
                target=pool.start, kwargs={"wait": False}, name="converge-pool", daemon=True
            )
            _starting[pool].start()
        return _starting[pool]


class _NotCached(Exception):
    pass


def _only_cached(yaml_text: str, seed: int) -> RunDigest:
    raise _NotCached


@st.cache_data(max_entries=3000, show_spinner=False)
def _cached(yaml_text: str, seed: int, _compute: Callable[[str, int], RunDigest]) -> RunDigest:
    # _compute is not part of the key: it either runs the model or hands over a
    # result computed elsewhere (in the pool), which is then cached like any other.
    return _compute(yaml_text, seed)


def cached_run(job: Job) -> RunDigest | None:
    """The cached digest of ``job``, or None when it has not been run yet."""
    try:
        return _cached(job[0], job[1], _only_cached)
    except _NotCached:
        return None


def run_jobs(
    jobs: Sequence[Job], on_progress: Callable[[int, int], None] | None = None
) -> list[RunDigest]:
    """Digests of ``jobs`` in order: cached ones at once, the rest computed and cached.

    The job function imports the model in the process that runs it, not here: a first
    visitor's runs start while the server still imports it (simulation.running.lazy_jobs)."""
    from simulation.running.lazy_jobs import run_digest_job

    results: dict[Job, RunDigest] = {}
    missing = []
    for job in dict.fromkeys(jobs):
        digest = cached_run(job)
        if digest is None:
            missing.append(job)
        else:
            results[job] = digest
    total, done = len(missing), 0

    def store(job: Job, compute: Callable[[str, int], RunDigest]) -> None:
        nonlocal done
        results[job] = _cached(job[0], job[1], compute)
        done += 1
        if on_progress:
            on_progress(done, total)

    # A handful of runs is not worth a trip to other processes. Jobs go out a few per
    # worker ahead of the results; leaving the loop (an error, or Streamlit stopping the
    # script because the user moved on) cancels the runs not yet started, so they cannot
    # delay the next comparison.
    where = executor() if len(missing) >= MIN_POOL_JOBS else InProcess()
    with closing(where.as_completed(run_digest_job, missing)) as finished:
        for index, digest in finished:
            store(missing[index], lambda *_, d=digest: d)
    return [results[job] for job in jobs]


def all_cached(jobs: Sequence[Job]) -> bool:
    """Whether every job of ``jobs`` has been run and cached."""
    return all(cached_run(job) is not None for job in dict.fromkeys(jobs))


def run_with_progress(
    jobs: Sequence[Job], slot: DeltaGenerator | None = None
) -> tuple[list[RunDigest], int, float]:
    """Run ``jobs`` under a progress bar (in ``slot``, a placeholder, when given):
    (digests, how many were cached, seconds).

    A scenario or model failure shows an error box and stops the page here: the app
    keeps working, and nothing of the previous result is lost."""
    from simulation.inputs.scenario import ScenarioError

    started = time.perf_counter()
    cached = sum(cached_run(job) is not None for job in dict.fromkeys(jobs))
    bar = (slot or st).progress(0.0, text=f"Running {len(jobs) - cached} simulations…")
    shown = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal shown
        now = time.perf_counter()
        if now - shown >= PROGRESS_EVERY_S or done == total:
            shown = now
            bar.progress(done / total, text=f"Running simulations: {done} of {total} done")

    try:
        digests = run_jobs(jobs, progress)
    except ScenarioError as exc:
        bar.empty()
        st.error(f"A scenario could not run: {exc}", icon=":material/error:")
        st.stop()
    except Exception as exc:  # a model failure must not take the page down
        bar.empty()
        st.error(f"The simulation failed: {exc.__class__.__name__}: {exc}", icon=":material/error:")
        st.stop()
    bar.empty()
    return digests, cached, time.perf_counter() - started


def results(key: str, jobs: list[Job], groups: int, run_clicked: bool, **labels: object) -> dict:
    """The page's results in session state under ``key``: run ``jobs`` (``groups`` equal
    runs of replicates, in order) when asked, on a first visit, or when every job is
    cached anyway; otherwise keep the previous results. ``labels`` (names, structures)
    are stored beside them; ``result["signature"] != tuple(jobs)`` means out of date."""
    signature = tuple(jobs)
    # the progress bar's slot, there whether or not this rerun runs anything: what the
    # page draws below keeps its place, so the browser updates it rather than build it anew
    slot = st.empty()
    previous = st.session_state.get(key)
    all_cached = all(cached_run(job) is not None for job in dict.fromkeys(jobs))
    if run_clicked or previous is None or (previous["signature"] != signature and all_cached):
        digests, cached, seconds = run_with_progress(jobs, slot)
        per_group = len(jobs) // groups
        st.session_state[key] = {
            "signature": signature,
            **labels,
            "digests": [digests[i * per_group : (i + 1) * per_group] for i in range(groups)],
            "seconds": seconds,
            "cached": cached,
            "runs": len(jobs),
        }
    return st.session_state[key]
