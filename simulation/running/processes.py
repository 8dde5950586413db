"""Worker processes that cannot outlive their parent, and what tells a process apart.

A worker started by :func:`worker_pool` ignores Ctrl-C (Ctrl-C in a terminal reaches
every process of the group: the parent handles it and stops the pool; a worker would
only print a traceback) and exits as soon as its parent does, however the parent ends:
the workers of a SIGKILLed parent would otherwise run on for good, holding its stdout
and stderr open.

A pid alone does not name a process (pids are reused): with the process's start time
(:func:`process_start_time`) it does, which is how a sweep's manifest names its owner.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections.abc import MutableMapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

#: Modules a forkserver imports once, before it forks workers: the job functions of
#: the sweeps and comparisons, and the model they run.
DEFAULT_PRELOAD = ("simulation.running.batch",)

#: Native thread pools limited to one thread in each worker: a worker runs one job at
#: a time on one core, and BLAS, OpenMP or numexpr threads of their own (one per core
#: by default) would only fight the other workers for the cores. A value the user has
#: set in the environment is kept. They take effect for libraries a worker loads after
#: it starts (with fork, the model is already loaded: its numpy does no threaded
#: linear algebra on the sweep's path, so nothing is lost there).
WORKER_THREAD_LIMITS = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the OS says)."""
    counted = getattr(os, "process_cpu_count", os.cpu_count)()
    return max(1, counted or 1)


def usable_workers(requested: int | None = None) -> int:
    """Worker processes to start: ``requested``, at most one per available core (more
    only add memory and contention: results never depend on the worker count)."""
    return min(requested or available_cores(), available_cores())


def process_context(
    preload: Sequence[str] = DEFAULT_PRELOAD,
) -> multiprocessing.context.BaseContext:
    """How to start worker processes. ``fork`` where it is safe (Linux, and no other
    thread in this process): workers start at once with everything imported. Otherwise
    ``forkserver`` (a clean server process imports ``preload`` once and forks the
    workers from it), or ``spawn`` where there is no forkserver."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform == "linux" and _threads_in_this_process() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(preload))
        return context
    return multiprocessing.get_context("spawn")


def _threads_in_this_process() -> int:
    """Operating-system threads, native ones (Arrow's, BLAS's) included."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def worker_pool(
    workers: int, context: multiprocessing.context.BaseContext | None = None
) -> ProcessPoolExecutor:
    """A process pool whose workers exit when this process does and ignore Ctrl-C."""
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
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_worker_threads(os.environ)
    _exit_with(parent_pid, parent_started)


def limit_worker_threads(environ: MutableMapping[str, str]) -> None:
    """Set :data:`WORKER_THREAD_LIMITS` in ``environ``, keeping what is set already."""
    for name, value in WORKER_THREAD_LIMITS.items():
        environ.setdefault(name, value)


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
