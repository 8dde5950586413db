"""Where jobs run: one interface for comparisons, sweeps, the app and what comes next.

An :class:`Executor` runs ``fn(job)`` for every job of an iterable and yields the
results, in the jobs' order (:meth:`Executor.map`) or as they finish, each with its
job's index (:meth:`Executor.as_completed`). Jobs are taken from the iterable lazily and
sent a few per worker ahead of the results read (the ``window``), never all at once, so
a million jobs take no more memory than a dozen. A caller that stops reading (an error,
Ctrl-C, ``close()`` on the iterator) cancels every job not yet started.

- :class:`InProcess`: in this process, one job after the other (tests, one worker, a
  handful of runs not worth a trip to other processes).
- :class:`LocalProcesses`: worker processes on this machine, at most one per core,
  started once and reused by every ``map`` until ``close()``. The workers exit with
  this process however it ends and leave Ctrl-C to it
  (:mod:`simulation.running.processes`). A worker that dies (killed, out of memory)
  costs nothing but time: its jobs are sent again to fresh workers.
- :class:`DaskExecutor`: Dask distributed, on a LocalCluster or an existing scheduler
  (which reruns the jobs of a worker it loses), reached within a connect timeout,
  or on workers in SLURM or PBS batch jobs (:mod:`simulation.running.job_queues`).

:func:`executor_for` picks one from ``--cluster`` (``none``, ``local``, ``slurm``,
``pbs`` or a scheduler address) and ``--workers``, as the command line and the app do.
Executors carry jobs, seeds included, and never choose a seed: results never depend on
where they ran (:mod:`simulation.inputs.seeds`).
"""

from __future__ import annotations

import importlib
import itertools
import logging
import os
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from simulation.errors import ScenarioError
from simulation.running import job_queues
from simulation.running.job_queues import JobQueue, is_job_queue, job_queue
from simulation.running.processes import (
    DEFAULT_PRELOAD,
    process_context,
    stop_pool,
    usable_workers,
    worker_pool,
)
from simulation.running.same_code import check_cluster

#: Jobs submitted per worker ahead of the results read: enough to keep every worker
#: busy, few enough that a million jobs take no more memory than a dozen.
IN_FLIGHT_PER_WORKER = 3

#: Times a map sends its jobs again after losing workers before it gives up.
MAX_LOST_WORKERS = 5

#: Seconds to wait for a Dask scheduler before giving up (``--connect-timeout``).
CONNECT_TIMEOUT_S = 5.0


class Executor:
    """Runs jobs somewhere and hands back their results; use it as a context manager.

    Subclasses say how one job is submitted (returning a future), and may say how to
    wait for the first of several, how to recover from lost workers and how to stop
    what is running. Results never depend on the executor.

    Args:
        name: how the executor is named in messages and manifests.
        workers: how many jobs run at once.
    """

    name = "executor"
    workers = 1
    #: Whether every worker sees this process's files (the same machine): a sweep's
    #: workers then write their own parts (:func:`simulation.running.batch.run_job`).
    shares_files = False
    #: Where the choice of this executor came from, when not the command line.
    source = ""

    def map(
        self, fn: Callable[[Any], Any], jobs: Iterable[Any], *, window: int | None = None
    ) -> Iterator[Any]:
        """``fn(job)`` for each job, yielded in the jobs' order; at most ``window`` jobs
        (default: a few per worker) submitted and not yet yielded."""
        for _, result in self._run(fn, jobs, window, ordered=True):
            yield result

    def as_completed(
        self, fn: Callable[[Any], Any], jobs: Iterable[Any], *, window: int | None = None
    ) -> Iterator[tuple[int, Any]]:
        """``(index, fn(job))`` for each job, in the order they finish."""
        return self._run(fn, jobs, window, ordered=False)

    def close(self) -> None:
        """Release the workers (a no-op where there are none)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def default_window(self) -> int:
        """Jobs in flight when the caller does not say."""
        return self.workers * IN_FLIGHT_PER_WORKER

    # -- what implementations provide

    def _submit(self, fn: Callable[[Any], Any], job: Any) -> Any:
        """Start ``fn(job)``; a future with ``result()``, ``done()`` and ``cancel()``."""
        raise NotImplementedError

    def _first_done(self, futures: list[Any]) -> set[Any]:
        """Block until at least one of ``futures`` is done; the done ones."""
        return wait(futures, return_when=FIRST_COMPLETED).done

    def _replace_lost_workers(self, error: BaseException) -> bool:
        """Whether ``error`` means workers were lost and replaced (their jobs are then
        sent again); False for any other error, which reaches the caller."""
        return False

    def _abandon(self, futures: list[Any]) -> None:
        """The caller stopped reading: cancel what has not started."""
        for future in futures:
            future.cancel()

    # -- the one loop every executor shares

    def _run(
        self, fn: Callable[[Any], Any], jobs: Iterable[Any], window: int | None, ordered: bool
    ) -> Iterator[tuple[int, Any]]:
        window = max(1, window or self.default_window)
        waiting = enumerate(jobs)
        # submitted and not yet yielded, in the jobs' order: (job, future); the job is
        # kept to send it again should its worker die
        pending: dict[int, tuple[Any, Any]] = {}
        lost = 0

        def top_up() -> None:
            for index, job in itertools.islice(waiting, max(0, window - len(pending))):
                pending[index] = (job, self._submit(fn, job))

        try:
            top_up()
            while pending:
                try:
                    finished = self._finished(pending, ordered)
                except Exception as error:
                    if not self._replace_lost_workers(error):
                        raise
                    lost += 1
                    if lost > MAX_LOST_WORKERS:
                        raise RuntimeError(
                            f"worker processes kept dying ({MAX_LOST_WORKERS} times)"
                        ) from error
                    self._send_again(fn, pending)
                    continue
                for index, result in finished:
                    del pending[index]
                    yield index, result
                top_up()
        except BaseException:  # an error, Ctrl-C, or the caller stopped reading
            self._abandon([future for _, future in pending.values()])
            raise

    def _finished(
        self, pending: dict[int, tuple[Any, Any]], ordered: bool
    ) -> list[tuple[int, Any]]:
        if ordered:
            first = next(iter(pending))
            return [(first, pending[first][1].result())]
        done = self._first_done([future for _, future in pending.values()])
        return [(i, future.result()) for i, (_, future) in pending.items() if future in done]

    def _send_again(self, fn: Callable[[Any], Any], pending: dict[int, tuple[Any, Any]]) -> None:
        for index, (job, future) in pending.items():
            if not _succeeded(future):
                pending[index] = (job, self._submit(fn, job))


def _succeeded(future: Any) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


class InProcess(Executor):
    """In this process, one job after the other: for tests, one worker, or a handful of
    jobs. A job that raises raises from the iterator, as on any other executor."""

    name = "in-process"
    workers = 1
    shares_files = True

    @property
    def default_window(self) -> int:
        """One: each result is yielded as soon as its job is done."""
        return 1  # each result is yielded as soon as its job is done

    def _submit(self, fn: Callable[[Any], Any], job: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(job))
        except Exception as error:  # Ctrl-C is not caught: it stops the caller at once
            future.set_exception(error)
        return future


class LocalProcesses(Executor):
    """Worker processes on this machine, started once and reused until ``close()``.

    The workers exit with this process however it ends and ignore Ctrl-C. A worker that
    dies breaks the pool: a fresh one takes over the jobs not yet returned
    (``restarts`` counts them). Several threads may share one executor.

    Args:
        workers: processes to start; at most one per core (default: one per core).
        preload: modules a forkserver imports once before forking the workers.
        shared: the executor is used by several callers at once (the app's visitors).
            A caller that stops reading then only cancels its jobs not yet started; an
            unshared executor also ends the jobs running (a fresh pool starts for the
            next map), so that Ctrl-C stops at once.
    """

    name = "processes"
    shares_files = True

    def __init__(
        self,
        workers: int | None = None,
        *,
        preload: tuple[str, ...] = DEFAULT_PRELOAD,
        shared: bool = False,
    ):
        self.workers = usable_workers(workers)
        self.restarts = 0
        self.shared = shared
        self._preload = preload
        self._pool = None
        self._lock = threading.Lock()

    def start(self, wait: bool = True) -> LocalProcesses:
        """Start the workers now rather than at the first job (with forkserver they
        import the model first, about two seconds), waiting for them unless ``wait`` is
        False (they then start in the background)."""
        with self._lock:
            if self._pool is not None:
                return self
            self._pool = worker_pool(self.workers, process_context(self._preload))
            started = [self._pool.submit(os.getpid) for _ in range(self.workers)]
        if wait:
            for future in started:
                future.result()
        return self

    def _current_pool(self):
        with self._lock:
            if self._pool is None:
                self._pool = worker_pool(self.workers, process_context(self._preload))
            return self._pool

    def _submit(self, fn: Callable[[Any], Any], job: Any) -> Future:
        for _ in range(MAX_LOST_WORKERS + 1):
            pool = self._current_pool()
            try:
                return pool.submit(fn, job)
            except BrokenProcessPool:
                self._discard_if_broken()
            except RuntimeError:  # shut down: another thread replaced it meanwhile
                if pool is self._pool:
                    raise
        raise RuntimeError(f"worker processes kept dying ({MAX_LOST_WORKERS} times)")

    def _replace_lost_workers(self, error: BaseException) -> bool:
        if not isinstance(error, BrokenProcessPool):
            return False
        self._discard_if_broken()
        return True

    def _discard_if_broken(self) -> None:
        """Drop the pool if it is broken (another thread may have replaced it already:
        a broken pool refuses new jobs, a working one takes this probe)."""
        with self._lock:
            if self._pool is None:
                return
            try:
                self._pool.submit(os.getpid)
            except BrokenProcessPool:
                stop_pool(self._pool)
                self._pool = None
                self.restarts += 1

    def _abandon(self, futures: list[Any]) -> None:
        super()._abandon(futures)
        if not self.shared:
            with self._lock:
                if self._pool is not None:
                    stop_pool(self._pool)
                    self._pool = None

    def close(self) -> None:
        """Shut the workers down (they finish what they are running)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None


#: Dask settings for a LocalCluster: its scheduler, nannies and workers read them as
#: they start (a scheduler's or a batch job's cluster keeps its own). Each entry stops
#: work done for a dashboard or a monitor that a sweep does not need, and that takes
#: the cores from the runs; remove an entry to have Dask's default back.
#:
#: - the statistical profiler samples each worker's threads every 10 ms for the
#:   dashboard, which a LocalCluster here does not show (``dashboard_address=None``):
#:   about 5% of a sweep's time on 2 cores (measured with benchmarks/batch.py);
#: - the event-loop "tick" (default 20 ms, in the scheduler, each nanny and each
#:   worker) only measures how late the loop wakes, to warn when it was blocked for
#:   ``distributed.admin.tick.limit`` (3 s): once a second still catches that;
#: - the system monitor (default 500 ms) samples CPU, memory and network for the
#:   dashboard and the heartbeats' statistics: every 5 s is plenty for those;
#: - the memory monitor (default 100 ms, in each nanny and worker) enforces the
#:   workers' memory limit (spill, pause, restart at 95%): every 500 ms, as a run
#:   grows its memory over seconds (250 MB for large_enterprise.yaml), not in 0.1 s.
#:
#: Together, with the profiler already off, an idle LocalCluster of 2 went from 90-108
#: to 16-20 ms of CPU a second (49-64 to 10 in this process, which runs the scheduler,
#: the nannies and the client; 20-23 to 3-5 in each worker), measured with psutil on
#: the 2-core machine: 4-5% of its two cores handed back to the runs.
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "500ms",
}

#: Run in each LocalCluster worker as it starts (Dask preloads a script given as text).
#: Ctrl-C in a terminal reaches every process of the group: it is the caller's to handle
#: (it closes the cluster); a worker would print tracebacks over the caller's message.
_IGNORE_CTRL_C = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"

_SCHEDULER_ADDRESS = re.compile(
    r"^(?:(?:tcp|tls)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9._-]*):(\d{1,5})$"
)


class DaskExecutor(Executor):
    """Dask distributed: a LocalCluster (``address="local"``) or an existing scheduler.

    Dask reruns the jobs of a worker that dies on the others (``retries`` more times
    each). Closing is quiet: Dask's shutdown warnings are not the user's concern.

    Args:
        address: "local" for a LocalCluster on this machine, "slurm" or "pbs" for
            workers in batch jobs (:mod:`simulation.running.job_queues`), or a
            scheduler's address (``tcp://HOST:PORT``, ``tls://HOST:PORT`` or
            ``HOST:PORT``). The scheduler and workers of a scheduler or of batch jobs
            must run this process's code: checked on connect, refused otherwise
            (:mod:`simulation.running.same_code`).
        workers: LocalCluster workers (at most one per core), or the workers the batch
            jobs start (None: one job's); a scheduler has its own.
        connect_timeout: seconds to wait for a scheduler: past them, a
            :class:`ScenarioError` naming the address, under ``field``.
        field: what the error names as the source of the address.
    """

    name = "dask"
    retries = 3

    def __init__(
        self,
        address: str,
        workers: int | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        field: str = "--cluster",
    ):
        import dask
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        self.client = None
        self.queue: JobQueue | None = None
        if address == "local":
            self.shares_files = True  # its workers run on this machine
            # the nannies hand this configuration to the workers they start
            with dask.config.set(LOCAL_CLUSTER_CONFIG):
                self.cluster = self._local_cluster(LocalCluster, workers)
            self.client = Client(self.cluster)
            # import the model in every worker now, as LocalProcesses' forkserver does:
            # otherwise the first job of each worker pays it (seconds) inside the sweep
            self.client.run(_import_modules, DEFAULT_PRELOAD)
        elif is_job_queue(address):  # SLURM or PBS jobs (job_queues.py)
            self.queue = job_queue(address)
            self.cluster, self.client = job_queues.connect(self.queue, workers or None, field)
            self._check_and_warm(field)
        else:
            self.client = _connect(Client, address, connect_timeout, field)
            self._check_and_warm(field)
        self.address = self.client.scheduler.address
        self.workers = len(self.client.scheduler_info()["workers"])
        if self.queue is not None:  # the sweep is sized for the jobs still queued too
            self.workers = max(self.workers, job_queues.planned_workers(self.cluster))

    def _check_and_warm(self, field: str) -> None:
        """Refuse processes that run other code (closing this executor), then have the
        workers import the model now, not inside the sweep's first chunks. Workers that
        join later (batch jobs starting late) are checked by each job they run."""
        try:
            check_cluster(self.client, field)
        except BaseException:
            self.close()
            raise
        self.client.run(_import_modules, DEFAULT_PRELOAD)

    @staticmethod
    def _local_cluster(cluster_class: type, workers: int | None) -> Any:
        return cluster_class(
            n_workers=usable_workers(workers),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # with no dashboard the scheduler still serves its health routes over HTTP,
            # on port 8787 unless told: with another Dask there, it would warn on stderr
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            host="127.0.0.1",
            preload=[_IGNORE_CTRL_C],
            # Dask's own log lines (an event loop slowed by a long run, tasks
            # cancelled and heartbeats failing as Ctrl-C closes the cluster) would
            # print over the caller's messages; a failure that matters reaches the
            # caller through its job's result.
            silence_logs=logging.CRITICAL,
        )

    def _submit(self, fn: Callable[[Any], Any], job: Any) -> Any:
        if self.client is None:
            raise RuntimeError("this Dask executor is closed")
        return self.client.submit(fn, job, pure=False, retries=self.retries)

    def _first_done(self, futures: list[Any]) -> set[Any]:
        from dask.distributed import wait as dask_wait

        return set(dask_wait(futures, return_when="FIRST_COMPLETED").done)

    def _abandon(self, futures: list[Any]) -> None:
        if self.client is not None and futures:
            with _quiet("distributed"):
                self.client.cancel(futures)

    def close(self) -> None:
        """Close the client and any LocalCluster, quietly (and only once)."""
        with _quiet("distributed"):
            if self.client is not None:
                self.client.close()
                self.client = None
            if self.cluster is not None:
                self.cluster.close()
                self.cluster = None


def _import_modules(modules: tuple[str, ...]) -> None:
    """Import ``modules`` in this process (run in each Dask worker as it is started)."""
    for module in modules:
        importlib.import_module(module)


def _connect(client_class: type, address: str, timeout: float, field: str):
    from distributed.versions import VersionMismatchWarning

    try:
        # Dask's own version warning is a table on stderr: the code check that follows
        # refuses a mismatch in one line instead (simulation.running.same_code)
        with _quiet("distributed"), warnings.catch_warnings():
            warnings.simplefilter("ignore", VersionMismatchWarning)
            return client_class(address, timeout=f"{timeout}s")
    except (OSError, TimeoutError):
        reason = f"no Dask scheduler answered at {address} within {timeout:g} s"
    except Exception as exc:  # a TLS or protocol problem: one line all the same
        reason = f"cannot connect to the Dask scheduler at {address} ({type(exc).__name__})"
    raise ScenarioError(field, reason)


class _quiet:
    """Silence a logger (and its children) for the duration of a ``with`` block."""

    def __init__(self, name: str):
        self.logger = logging.getLogger(name)

    def __enter__(self) -> None:
        self.level = self.logger.level
        self.logger.setLevel(logging.CRITICAL + 1)

    def __exit__(self, *_: object) -> None:
        self.logger.setLevel(self.level)


# --------------------------------------------------------------------------- choosing


@dataclass
class ExecutorChoice:
    """Where jobs run: local processes (``cluster`` None) or Dask, and why.

    Args:
        cluster: None for this machine's processes, "local", "slurm", "pbs" or a
            scheduler address.
        workers: worker processes, capped at the cores.
        source: where the choice came from, when not the command line.
    """

    cluster: str | None
    workers: int
    source: str = ""


def choose_executor(
    workers: int | None = None,
    cluster: str | None = None,
    environ: dict[str, str] | None = None,
) -> ExecutorChoice:
    """``cluster``: "local" (a Dask LocalCluster), "slurm" or "pbs" (workers in batch
    jobs; ``workers`` then is not capped, and 0 means one job's), a scheduler address
    (``tcp://HOST:PORT``, ``tls://HOST:PORT`` or ``HOST:PORT``), or "none" (local
    processes without Dask).
    Without it, DASK_SCHEDULER_ADDRESS names a scheduler, unless ``workers`` was given:
    an explicit worker count asks for local processes, which an environment variable
    must not silently override. ``workers`` is capped at the cores available."""
    environ = os.environ if environ is None else environ
    count = usable_workers(workers)
    if cluster is not None:
        if cluster.strip().lower() == "none":
            return ExecutorChoice(None, count)
        if is_job_queue(cluster):  # workers on the queue's machines: not capped here
            return ExecutorChoice(cluster.strip().lower(), workers or 0)
        return ExecutorChoice(_checked_address(cluster, "--cluster"), count)
    from_env = environ.get("DASK_SCHEDULER_ADDRESS", "").strip()
    if from_env and workers is None:
        address = _checked_address(from_env, "DASK_SCHEDULER_ADDRESS")
        return ExecutorChoice(address, count, "DASK_SCHEDULER_ADDRESS")
    return ExecutorChoice(None, count)


#: The names a cluster is given by, besides an address, by where it is given: a queue
#: system is for --cluster only (DASK_SCHEDULER_ADDRESS names a scheduler).
_ADDRESS_NAMES = "'local', 'none'"
_CLUSTER_NAMES = {"--cluster": "'local', 'none', 'slurm', 'pbs'"}


def _checked_address(text: str, field: str) -> str:
    address = text.strip()
    if address == "local":
        return address
    match = _SCHEDULER_ADDRESS.match(address)
    if match is None or not 0 < int(match.group(1)) < 65536:
        shown = repr(text) if len(text) <= 60 else repr(text[:59]) + "…"
        raise ScenarioError(
            field,
            f"{shown} is not {_CLUSTER_NAMES.get(field, _ADDRESS_NAMES)} or a scheduler address "
            "(tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT)",
        )
    return address


def executor_for(
    cluster: str | None = None,
    workers: int | None = None,
    *,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    shared: bool = False,
    environ: dict[str, str] | None = None,
) -> Executor:
    """The executor for ``cluster`` ("none", "local" or a scheduler address; None:
    DASK_SCHEDULER_ADDRESS unless ``workers`` is given, see :func:`choose_executor`)
    and ``workers``: in this process for one worker, local processes for more, Dask
    for a cluster. ``shared``: see :class:`LocalProcesses`. A bad ``cluster`` or an
    unreachable scheduler is a :class:`ScenarioError` naming where it came from."""
    choice = choose_executor(workers, cluster, environ)
    executor: Executor
    if choice.cluster:
        field = choice.source or "--cluster"
        executor = DaskExecutor(choice.cluster, choice.workers, connect_timeout, field)
    elif choice.workers == 1:
        executor = InProcess()
    else:
        executor = LocalProcesses(choice.workers, shared=shared)
    executor.source = choice.source
    return executor


def executor_notes(executor: Executor, requested: int | None) -> list[str]:
    """Where jobs run and why, e.g. ["2 workers", "tcp://h:8786", "from
    DASK_SCHEDULER_ADDRESS; --cluster none for local processes"]: no environment
    variable chooses silently, and a capped ``--workers`` says so."""
    address = getattr(executor, "address", None)
    notes = [f"{executor.workers} worker{'s' if executor.workers != 1 else ''}"]
    queue = getattr(executor, "queue", None)
    if queue is not None:
        jobs = job_queues.jobs_submitted(executor.cluster)
        notes.append(f"{queue.title}, {jobs} job{'s' if jobs != 1 else ''}")
        notes.append(f"dashboard {executor.cluster.dashboard_link}")
    if address:
        notes.append(address)
    if executor.source:
        notes.append(f"from {executor.source}; --cluster none for local processes")
    remote = isinstance(executor, DaskExecutor) and executor.cluster is None
    if requested and remote:
        notes.append("--workers does not apply to a scheduler's own workers")
    elif requested and requested > executor.workers and queue is None:
        notes.append(f"--workers {requested} capped at the {executor.workers} cores here")
    return notes
