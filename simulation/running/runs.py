"""Running scenarios: one run, or replicates of several scenarios on local processes.

Replicate ``i`` of a scenario with seed ``s`` runs with seed ``s + i`` (numpy's
SeedSequence mixes nearby seeds into independent streams), so any replicate can be
rerun alone with ``python -m simulation run --seed``. Every scenario in a comparison
gets the same seeds: common random numbers, so differences come from the scenarios.

Process pools (:func:`worker_pool`, used by :func:`map_jobs`, the sweeps and the app)
start at most one worker per core, send jobs a few per worker ahead of the results
rather than all at once, and have workers that exit with the process that started
them, however it ends, and that leave Ctrl-C to it.
"""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation.analysis.digest import RunDigest, digest
from simulation.analysis.metrics import compute_kpis
from simulation.inputs.scenario import Scenario
from simulation.model.org_model import OrgModel, as_scenario
from simulation.model.records import RunRecords


@dataclass
class RunResult:
    records: RunRecords
    kpis: dict[str, Any]


def run_scenario(
    scenario: Scenario | str | Path | dict,
    seed: int | None = None,
    days: int | None = None,
    on_day: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run one scenario to its horizon; ``on_day(day, horizon)`` reports progress."""
    model = OrgModel(scenario, rng=seed, days=days)
    while model.running:
        model.step()
        if on_day is not None:
            on_day(model.steps, model.horizon)
    records = model.records()
    return RunResult(records, compute_kpis(records))


def replicate_kpis(job: tuple[Scenario, int, int | None]) -> dict[str, Any]:
    """One replicate, KPIs only: the unit of work sent to a process."""
    scenario, seed, days = job
    return run_scenario(scenario, seed=seed, days=days).kpis


def run_replicates(
    scenarios: list[Scenario],
    replicates: int,
    seed: int | None = None,
    days: int | None = None,
    workers: int | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> list[list[dict[str, Any]]]:
    """KPIs of ``replicates`` runs of each scenario: ``result[scenario][replicate]``."""
    scenarios = [as_scenario(s) for s in scenarios]
    jobs = [
        (s, (seed if seed is not None else scenarios[0].seed) + r, days)
        for s in scenarios
        for r in range(replicates)
    ]
    flat = list(map_jobs(replicate_kpis, jobs, workers, on_done))
    return [flat[i * replicates : (i + 1) * replicates] for i in range(len(scenarios))]


def process_context() -> multiprocessing.context.BaseContext:
    """How to start worker processes. ``fork`` where it is safe (Linux, and no other
    thread in this process): workers start at once with everything imported. Otherwise
    ``forkserver`` (a clean server process forks the workers; about two seconds to import
    once), or ``spawn`` where there is no forkserver."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform == "linux" and _threads_in_this_process() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["simulation.running.batch"])
        return context
    return multiprocessing.get_context("spawn")


def _threads_in_this_process() -> int:
    """Operating-system threads, native ones (Arrow's, BLAS's) included."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


# --------------------------------------------------------------------------- process pools

#: Jobs submitted per worker ahead of the results read: enough to keep every worker
#: busy, few enough that a million jobs take no more memory than a dozen.
IN_FLIGHT_PER_WORKER = 3


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the OS says)."""
    counted = getattr(os, "process_cpu_count", os.cpu_count)()
    return max(1, counted or 1)


def usable_workers(requested: int | None = None) -> int:
    """Worker processes to start: ``requested``, at most one per available core (more
    only add memory and contention: results never depend on the worker count)."""
    return min(requested or available_cores(), available_cores())


def worker_pool(
    workers: int, context: multiprocessing.context.BaseContext | None = None
) -> ProcessPoolExecutor:
    """A process pool whose workers exit when this process does, however it ends (a
    SIGKILLed parent's workers would otherwise run on for good, holding its stdout and
    stderr open), and leave Ctrl-C to it (it stops the pool)."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context or process_context(),
        initializer=_start_worker,
        initargs=(os.getpid(), process_start_time(os.getpid())),
    )


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop ``pool`` now: cancel what has not started and end the workers mid-job (a
    plain shutdown would wait for every running job to finish)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    if terminate is not None:
        terminate()
    else:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def completed_in_window(
    pool: Executor, fn: Callable[[Any], Any], jobs: Iterable[tuple[Any, Any]], window: int
) -> Iterator[tuple[Any, Future]]:
    """``fn(argument)`` for each ``(key, argument)`` of ``jobs``, as ``(key, future)`` in
    the order they finish, with at most ``window`` jobs submitted and not yet returned."""
    waiting = iter(jobs)
    running: dict[Future, Any] = {}

    def top_up() -> None:
        for key, argument in itertools.islice(waiting, max(0, window - len(running))):
            running[pool.submit(fn, argument)] = key

    top_up()
    try:
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield running.pop(future), future
            top_up()
    finally:
        for future in running:  # abandoned (an error, or the caller stopped): not run
            future.cancel()


def map_jobs(
    fn: Callable[[Any], Any],
    jobs: Sequence[Any],
    workers: int | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> Iterator[Any]:
    """``fn`` over ``jobs``, yielding the results in order, on up to ``workers`` local
    processes (at most one per core). Jobs go out a few per worker ahead of the results
    read, never all at once. ``on_done(done, total)`` reports progress."""
    total = len(jobs)
    workers = min(usable_workers(workers), total)
    if workers <= 1:
        for done, job in enumerate(jobs, 1):
            result = fn(job)
            if on_done:
                on_done(done, total)
            yield result
        return
    pool = worker_pool(workers)
    try:
        yield from _in_order(pool, fn, jobs, workers * IN_FLIGHT_PER_WORKER, on_done)
    except BaseException:  # Ctrl-C, an error, or the caller stopped reading
        stop_pool(pool)
        raise
    pool.shutdown()


def _in_order(
    pool: Executor,
    fn: Callable[[Any], Any],
    jobs: Sequence[Any],
    window: int,
    on_done: Callable[[int, int], None] | None,
) -> Iterator[Any]:
    waiting = iter(jobs)
    submitted = collections.deque(pool.submit(fn, job) for job in itertools.islice(waiting, window))
    done = 0
    while submitted:
        result = submitted.popleft().result()
        submitted.extend(pool.submit(fn, job) for job in itertools.islice(waiting, 1))
        done += 1
        if on_done:
            on_done(done, len(jobs))
        yield result


def process_start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), or None where
    that cannot be read: with the pid, it names one process even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def process_alive(pid: int, started: int | None = None) -> bool:
    """Whether process ``pid`` (started at ``started``, when known) still runs here."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, and not ours
        pass
    return started is None or process_start_time(pid) in (started, None)


def _start_worker(parent_pid: int, parent_started: int | None) -> None:
    """Run in each pool worker as it starts."""
    # Ctrl-C in a terminal reaches every process of the group. The parent handles it
    # (it stops the pool); a worker would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with(parent_pid, parent_started)


def _exit_with(pid: int, started: int | None) -> None:
    """Exit this process as soon as process ``pid`` is gone. With forkserver our parent
    is the server, not the pool's owner, so the owner is watched by its pid: through a
    pidfd where Linux has them (no polling), else by checking every second."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # not Linux, or an old kernel
        watcher = threading.Thread(target=_poll_until_gone, args=(pid, started), daemon=True)
    else:
        if not process_alive(pid, started):  # the pid was already reused
            os._exit(1)
        watcher = threading.Thread(target=_wait_until_readable, args=(handle,), daemon=True)
    watcher.start()


def _wait_until_readable(pidfd: int) -> None:
    select.select([pidfd], [], [])  # a pidfd turns readable when its process exits
    os._exit(1)


def _poll_until_gone(pid: int, started: int | None) -> None:
    while process_alive(pid, started):
        time.sleep(1.0)
    os._exit(1)


def digest_result(result: RunResult) -> RunDigest:
    """The digest of one run: what comparisons, caches and charts keep of it."""
    return digest(result.records, result.kpis)


def run_digest(job: tuple[str, int]) -> RunDigest:
    """Run ``(scenario YAML, seed)`` and digest it: the unit of work sent to a process.

    Takes YAML text rather than a Scenario so the job is the same key the app caches on.
    """
    yaml_text, seed = job
    return digest_result(run_scenario(scenario_from_yaml(yaml_text), seed=seed))


def scenario_from_yaml(text: str) -> Scenario:
    """Scenario.from_yaml (its safe loader runs in C where libyaml is installed)."""
    return Scenario.from_yaml(text)
