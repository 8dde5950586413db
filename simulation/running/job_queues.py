"""Sweeps on a batch queue: ``--cluster slurm`` or ``--cluster pbs`` through dask-jobqueue.

The command starts a Dask scheduler in its own process, submits batch jobs that each
start Dask workers connecting back to it, runs the sweep on them, and cancels the jobs
however the sweep ends (finished, failed, Ctrl-C). Everything about the jobs (cores,
memory, queue, account, walltime, the commands run before the worker, ...) comes from
dask-jobqueue's standard configuration: ``~/.config/dask/jobqueue.yaml`` (or the
folder ``DASK_CONFIG`` names), or environment variables such as
``DASK_JOBQUEUE__SLURM__CORES``; nothing about a site is written in this code.

- **Workers**: ``--workers N`` asks for N Dask workers, in as many jobs as the
  configured ``processes`` per job make (dask-jobqueue rounds up to whole jobs).
  Without it: one job, with the workers that job holds (``processes``; dask-jobqueue's
  own default is about the square root of ``cores``).
- **Waiting**: the sweep starts once the first worker has joined; the others join as
  their jobs leave the queue, and take work as they come. Meanwhile the queue's status
  command (``squeue``, ``qstat``) is asked every few seconds: jobs that all left the
  queue without a worker joining (a job script that failed) are one line, not a wait
  for ever.
- **Refusals**, one line each, before any job is submitted: dask-jobqueue missing, the
  queue's commands not on ``PATH``, no ``cores`` or ``memory`` configured, settings
  dask-jobqueue refuses; and the queue refusing the first job (its own message).
- **Ctrl-C**: importing dask-jobqueue 0.9.0 replaces Python's Ctrl-C handler with one
  that exits quietly with status 0; the handler is put back (:func:`_dask_jobqueue`)
  so that Ctrl-C interrupts a sweep as on any other executor.
"""

from __future__ import annotations

import getpass
import logging
import shutil
import signal
import subprocess
import warnings
from dataclasses import dataclass
from typing import Any

from simulation.errors import ScenarioError

#: Seconds between two looks at the queue while waiting for the first worker: often
#: enough that a failed job script is reported soon, rarely enough not to load the
#: queue's controller (SLURM's documentation asks scripts not to poll it in a tight loop).
QUEUE_POLL_S = 3.0

#: Says, once, that the sweep waits for its jobs to leave the queue (which can take
#: hours). Python prints a warning with no logging set up on stderr, as the command
#: line wants it; an application that sets up logging decides for itself.
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobQueue:
    """A batch queue system dask-jobqueue drives.

    Args:
        name: its ``--cluster`` value and its section in jobqueue.yaml.
        title: how messages name it.
        cluster_class: the dask_jobqueue class that submits its jobs.
        submit: the command that submits a job script.
        status: the command that lists jobs still queued or running.
        cancel: the command that cancels a job.
    """

    name: str
    title: str
    cluster_class: str
    submit: str
    status: str
    cancel: str

    def commands(self) -> tuple[str, str, str]:
        """The three commands a sweep runs, in the order it needs them."""
        return (self.submit, self.status, self.cancel)

    def running(self, job_ids: list[str]) -> set[str]:
        """Those of ``job_ids`` the queue still holds (queued or running)."""
        if not job_ids:
            return set()
        if self.name == "slurm":
            # the user's jobs (squeue lists queued, running and completing ones), not
            # --jobs=ID,...: squeue may refuse a whole list for one id it has purged (a
            # job that ended minutes ago), saying nothing of the others
            try:
                user = getpass.getuser()
            except (OSError, KeyError):  # no user name to ask about: cannot tell
                return set(job_ids)
            command = [self.status, "--noheader", "--format=%i", f"--user={user}"]
        else:
            command = [self.status, *job_ids]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return set(job_ids)  # cannot tell: assume they are still there, and wait
        if self.name == "slurm" and done.returncode != 0:
            return set(job_ids)  # the controller did not answer: cannot tell either
        # qstat exits non-zero for jobs it no longer knows and lists the others; what
        # squeue or qstat list is still queued or running (a PBS job shown finished is not)
        words = [line.split() for line in done.stdout.splitlines()]
        listed = {w[0].split(".")[0] for w in words if w and not _finished_pbs_line(w)}
        return {job for job in job_ids if job in listed}


def _finished_pbs_line(words: list[str]) -> bool:
    # qstat's columns: Job id, Name, User, Time Use, S(tate), Queue; C and F: finished
    return len(words) >= 6 and words[4] in ("C", "F")


JOB_QUEUES = {
    "slurm": JobQueue("slurm", "SLURM", "SLURMCluster", "sbatch", "squeue", "scancel"),
    "pbs": JobQueue("pbs", "PBS", "PBSCluster", "qsub", "qstat", "qdel"),
}


def is_job_queue(cluster: str | None) -> bool:
    """Whether ``cluster`` names a batch queue system (``slurm``, ``pbs``)."""
    return cluster is not None and cluster.strip().lower() in JOB_QUEUES


def job_queue(cluster: str) -> JobQueue:
    """The queue system ``cluster`` names."""
    return JOB_QUEUES[cluster.strip().lower()]


def check_job_queue(queue: JobQueue, field: str = "--cluster") -> None:
    """Refuse, in one line naming what is missing and where to set it, a queue this
    machine cannot submit to: dask-jobqueue not installed, the queue's commands not on
    ``PATH``, or no ``cores`` or ``memory`` per job configured."""
    try:
        _dask_jobqueue()
    except ImportError:
        raise ScenarioError(
            field, f"{queue.title} needs dask-jobqueue: pip install dask-jobqueue"
        ) from None
    for command in queue.commands():
        if shutil.which(command) is None:
            raise ScenarioError(
                field,
                f"{command} is not on PATH: run the sweep on a {queue.title} login node "
                "(or load the module that provides it)",
            )
    missing = [key for key in ("cores", "memory") if _setting(queue, key) in (None, "")]
    if missing:
        keys = " and ".join(f"jobqueue.{queue.name}.{key}" for key in missing)
        env = " / ".join(f"DASK_JOBQUEUE__{queue.name.upper()}__{k.upper()}" for k in missing)
        raise ScenarioError(
            field,
            f"{queue.title} jobs need {' and '.join(missing)} per job: set {keys} in "
            f"{_config_file()} (or {env})",
        )


def _dask_jobqueue() -> Any:
    """dask_jobqueue, imported with this process's Ctrl-C handler kept: importing it
    (0.9.0, its ``runner`` module) makes Ctrl-C call ``sys.exit()``, which would end a
    sweep with exit status 0 and without the "interrupted ... --resume" message."""
    handler = signal.getsignal(signal.SIGINT)
    try:
        import dask_jobqueue  # registers the jobqueue.* defaults in dask.config
    finally:
        if signal.getsignal(signal.SIGINT) is not handler:
            signal.signal(signal.SIGINT, handler)
    return dask_jobqueue


def _setting(queue: JobQueue, key: str) -> Any:
    import dask

    return dask.config.get(f"jobqueue.{queue.name}.{key}", None)


def _config_file() -> str:
    """Where dask reads jobqueue.yaml from first: $DASK_CONFIG, else ~/.config/dask."""
    import dask.config

    return f"{dask.config.PATH}/jobqueue.yaml"


def start_cluster(queue: JobQueue, workers: int | None, field: str = "--cluster") -> Any:
    """A dask-jobqueue cluster for ``queue``, its jobs submitted for ``workers`` Dask
    workers (None: one job's workers). Settings dask-jobqueue refuses, or a first job
    the queue refuses, are a :class:`ScenarioError`; the cluster is closed (its jobs
    cancelled) if anything fails on the way."""
    check_job_queue(queue, field)
    cluster_class = getattr(_dask_jobqueue(), queue.cluster_class)
    try:
        with warnings.catch_warnings():
            # the dashboard's port taken (another cluster): Dask picks another one, and
            # the sweep's first line names it
            warnings.filterwarnings("ignore", message="Port .* is already in use")
            cluster = cluster_class()
    except (ValueError, TypeError) as error:  # a bad memory size, an unknown option
        raise ScenarioError(
            field,
            f"dask-jobqueue refuses the {queue.title} settings in {_config_file()}: "
            f"{_first_line(str(error))}",
        ) from None
    try:
        # One job first, submitted as scale() would but waited for here rather than
        # left to the event loop: the queue refusing it (an account, a partition, a
        # walltime) is then one line, rather than a traceback logged in the background
        # for every job and a sweep waiting for ever.
        cluster.worker_spec.update(cluster.new_worker_spec())
        cluster.sync(cluster._correct_state)
        cluster.scale(workers or workers_per_job(cluster))
    except RuntimeError as error:
        _close_unsubmitted(cluster)
        raise ScenarioError(
            field, f"{queue.submit} refused the job: {_refusal(str(error))}"
        ) from None
    except BaseException:
        cluster.close()
        raise
    return cluster


def _close_unsubmitted(cluster: Any) -> None:
    """Close a cluster whose job the queue refused. Dask closes only jobs that started
    or failed: the refused one is marked failed (it has nothing to cancel)."""
    from distributed.core import Status

    for job in cluster.workers.values():
        if job.job_id is None:
            job.status = Status.failed
    cluster.close()


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no reason given"


def _refusal(message: str) -> str:
    """What the submit command printed on stderr, from dask-jobqueue's message (which
    quotes the command, its exit code, stdout and stderr)."""
    _, _, stderr = message.partition("stderr:")
    return _first_line(stderr or message)


def workers_per_job(cluster: Any) -> int:
    """Dask workers (processes) each job of ``cluster`` starts."""
    return int(cluster._dummy_job.worker_processes)


def connect(queue: JobQueue, workers: int | None, field: str = "--cluster") -> tuple[Any, Any]:
    """``(cluster, client)``: jobs submitted for ``workers`` workers (None: one job's),
    a client on the cluster's scheduler, once the first worker has joined. However
    this fails (a refusal, Ctrl-C while waiting), the jobs are cancelled."""
    from dask.distributed import Client

    cluster = start_cluster(queue, workers, field)
    try:
        client = Client(cluster)
        try:
            wait_for_first_worker(client, cluster, queue, field)
        except BaseException:
            client.close()
            raise
    except BaseException:
        cluster.close()
        raise
    return cluster, client


def planned_workers(cluster: Any) -> int:
    """The workers ``cluster``'s jobs start when all have left the queue."""
    return jobs_submitted(cluster) * workers_per_job(cluster)


def jobs_submitted(cluster: Any) -> int:
    """The jobs ``cluster`` asked the queue for."""
    return len(cluster.worker_spec)


def wait_for_first_worker(
    client: Any, cluster: Any, queue: JobQueue, field: str = "--cluster"
) -> None:
    """Block until a worker has joined; refuse, in one line, jobs that all left the
    queue without one joining (a job script that failed: its output says why)."""
    told = False
    while True:
        try:
            client.wait_for_workers(1, timeout=QUEUE_POLL_S)
            return
        except TimeoutError:
            pass
        job_ids = [str(job.job_id) for job in cluster.workers.values() if job.job_id]
        if not queue.running(job_ids):
            break
        if not told:
            _log.warning(
                "waiting for the %s jobs %s to start (Ctrl-C cancels them)",
                queue.title,
                ", ".join(job_ids),
            )
            told = True
    if client.scheduler_info()["workers"]:  # one joined as the last job ended
        return
    logs = _setting(queue, "log-directory") or "the folder the sweep was started from"
    raise ScenarioError(
        field,
        f"the {queue.title} jobs ended before any Dask worker joined: see their output "
        f"in {logs} (log-directory in {_config_file()})",
    )
