"""Running comparisons for the app: one cached result per (scenario, seed).

Every run is cached with st.cache_data keyed on the scenario's YAML text and the seed,
so turning one lever reruns only the scenario it changed, and a shared link or a
second visitor gets cached results at once. Runs not yet cached go to one executor of
local processes that lives as long as the server (a new pool per comparison would cost
more than the runs), shared by every visitor (simulation.running.executors).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import closing

import streamlit as st

from simulation.analysis.digest import RunDigest
from simulation.inputs.seeds import replicate_seed
from simulation.running.executors import Executor, InProcess, LocalProcesses, executor_for
from simulation.running.runs import run_digest

Job = tuple[str, int]  # (normalised scenario YAML, seed)

#: Fewer uncached runs than this are not worth a trip to the pool.
MIN_POOL_JOBS = 4


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
    return executor_for("none", workers(), shared=True)


def warm_up() -> None:
    """Start the worker processes in the background (called when the app opens)."""
    pool = executor()
    if isinstance(pool, LocalProcesses):
        pool.start(wait=False)


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
    """Digests of ``jobs`` in order: cached ones at once, the rest computed and cached."""
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
    with closing(where.as_completed(run_digest, missing)) as finished:
        for index, digest in finished:
            store(missing[index], lambda *_, d=digest: d)
    return [results[job] for job in jobs]


def run_with_progress(jobs: Sequence[Job]) -> tuple[list[RunDigest], int, float]:
    """Run ``jobs`` under a progress bar: (digests, how many were cached, seconds).

    A scenario or model failure shows an error box and stops the page here: the app
    keeps working, and nothing of the previous result is lost."""
    import time

    from simulation.inputs.scenario import ScenarioError

    started = time.perf_counter()
    cached = sum(cached_run(job) is not None for job in dict.fromkeys(jobs))
    bar = st.progress(0.0, text=f"Running {len(jobs) - cached} simulations…")

    def progress(done: int, total: int) -> None:
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
    previous = st.session_state.get(key)
    all_cached = all(cached_run(job) is not None for job in dict.fromkeys(jobs))
    if run_clicked or previous is None or (previous["signature"] != signature and all_cached):
        digests, cached, seconds = run_with_progress(jobs)
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
