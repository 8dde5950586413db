"""``--cluster slurm`` and ``--cluster pbs`` (simulation/running/job_queues.py), tested
as a researcher runs them, without a batch queue: stand-ins for sbatch/squeue/scancel
and qsub/qstat/qdel on ``PATH`` run the job script dask-jobqueue writes on this machine,
in the background and in a process group of its own (the job id is its process id),
and end that group when the job is cancelled. Each command runs in a process of its
own with a private HOME, DASK_CONFIG and DASK_ROOT_CONFIG: nothing in ~ or /etc is read.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from simulation.errors import ScenarioError
from simulation.running import executors, job_queues
from simulation.running.batch import TEST_HOLD, load_results, read_manifest
from tests.conftest import ROOT, Hold, experiment_file, swept

#: sbatch and qsub: copy the script (dask-jobqueue deletes its own once the command
#: returns), run it in a session of its own, record its id, and say it was submitted.
SUBMIT = """#!/usr/bin/env bash
set -e
jobs="$(dirname "$0")/jobs"
mkdir -p "$jobs"
script="$(mktemp "$jobs/script.XXXXXX")"
cp "$1" "$script"
setsid bash "$script" >"$script.log" 2>&1 </dev/null &
echo $! >>"$jobs/ids"
echo "{said}"
"""

#: squeue --noheader --format=%i --user=ME and qstat ID ID: the jobs still there.
SQUEUE = """#!/usr/bin/env bash
ids="$(dirname "$0")/jobs/ids"
[ -e "$ids" ] || exit 0
for id in $(cat "$ids"); do kill -0 -- "-$id" 2>/dev/null && echo "$id"; done
exit 0
"""
QSTAT = """#!/usr/bin/env bash
echo "Job id            Name             User              Time Use S Queue"
echo "----------------  ---------------- ----------------  -------- - -----"
status=0
for id in "$@"; do
  id="${id%%.*}"
  if kill -0 -- "-$id" 2>/dev/null; then echo "$id.fake  dask-worker  me  0 R batch"
  else echo "qstat: Unknown Job Id $id.fake" >&2; status=153; fi
done
exit $status
"""

#: scancel and qdel: end the job's process group and return once it is gone (a real
#: queue does it in its own time; returning at once would only make the test wait).
CANCEL = """#!/usr/bin/env bash
for id in "$@"; do
  id="${id%%.*}"
  kill -TERM -- "-$id" 2>/dev/null || continue
  for _ in $(seq 600); do kill -0 -- "-$id" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$id" 2>/dev/null || true
done
"""

FAKES = {
    "slurm": {
        "sbatch": SUBMIT.replace("{said}", "Submitted batch job $!"),
        "squeue": SQUEUE,
        "scancel": CANCEL,
    },
    "pbs": {"qsub": SUBMIT.replace("{said}", "$!.fake"), "qstat": QSTAT, "qdel": CANCEL},
}

#: One worker per one-core job: dask-jobqueue's standard settings, as a site writes them.
SETTINGS = {"cores": 1, "memory": "1GB", "processes": 1, "walltime": "00:30:00"}


class FakeQueue:
    """The stand-in commands of one queue system under ``folder/bin``, a private Dask
    configuration (``folder/dask/jobqueue.yaml``) and the environment that uses them."""

    def __init__(self, folder: Path, kind: str, settings: dict | None = None, **replace: str):
        self.kind = kind
        self.bin = folder / "bin"
        self.bin.mkdir(parents=True)
        for name, text in {**FAKES[kind], **replace}.items():
            path = self.bin / name
            path.write_text(text)
            path.chmod(0o755)
        config = folder / "dask"
        config.mkdir()
        section = SETTINGS if settings is None else settings
        (config / "jobqueue.yaml").write_text(yaml.safe_dump({"jobqueue": {kind: section}}))
        (folder / "home").mkdir()
        self.env = {
            **os.environ,
            "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(folder / "home"),
            "DASK_CONFIG": str(config),
            "DASK_ROOT_CONFIG": str(folder / "dask-root"),
        }

    def job_ids(self) -> list[int]:
        """Every job submitted so far."""
        ids = self.bin / "jobs" / "ids"
        return [int(line) for line in ids.read_text().split()] if ids.exists() else []

    def scripts(self) -> list[str]:
        """The job scripts dask-jobqueue submitted."""
        return [p.read_text() for p in sorted((self.bin / "jobs").glob("script.??????"))]

    def jobs_alive(self) -> list[int]:
        """The submitted jobs with a process still running."""
        alive = []
        for job in self.job_ids():
            try:
                os.killpg(job, 0)
            except ProcessLookupError:
                continue
            alive.append(job)
        return alive

    def cancel_all(self) -> None:
        """End every job (after a failed test: no worker outlives it)."""
        for job in self.jobs_alive():
            os.killpg(job, signal.SIGKILL)


@pytest.fixture
def fake_queue(tmp_path):
    """A function making a :class:`FakeQueue` under ``tmp_path``; whatever the test
    did, no job it started outlives it."""
    made: list[FakeQueue] = []

    def make(kind: str, settings: dict | None = None, **replace: str) -> FakeQueue:
        queue = FakeQueue(tmp_path / f"queue-{len(made)}", kind, settings, **replace)
        made.append(queue)
        return queue

    yield make
    for queue in made:
        queue.cancel_all()


def sweep_command(experiment: Path, out: Path, *extra: str) -> list[str]:
    """``python -m simulation sweep`` of ``experiment`` into ``out``."""
    return [sys.executable, "-m", "simulation", "sweep", str(experiment), "--out", str(out), *extra]


def without_timing(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["elapsed_s"]).reset_index(drop=True)


# --------------------------------------------------------------------------- sweeps


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["slurm", "pbs"])
def test_a_sweep_on_batch_jobs_gives_the_local_rows_and_leaves_no_job(tmp_path, fake_queue, kind):
    queue = fake_queue(kind)
    experiment = experiment_file(tmp_path)
    out = tmp_path / "out"
    done = subprocess.run(
        sweep_command(experiment, out, "--cluster", kind, "--workers", "2"),
        cwd=ROOT,
        env=queue.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    title = job_queues.JOB_QUEUES[kind].title
    assert f"on dask (2 workers, {title}, 2 jobs" in done.stderr
    assert "Traceback" not in done.stderr
    # the jobs ran the worker dask-jobqueue's script starts, with the settings given
    scripts = queue.scripts()
    assert len(scripts) == len(queue.job_ids()) == 2
    assert all("-m distributed.cli.dask_worker tcp://" in s for s in scripts)
    assert all("--nthreads 1" in s and "00:30:00" in s for s in scripts)
    # the same rows as a sweep in one process, and every job ended with the command
    expected = load_results(swept(tmp_path / "local"))
    pd.testing.assert_frame_equal(without_timing(load_results(out)), without_timing(expected))
    assert read_manifest(out)["status"] == "complete"
    assert queue.jobs_alive() == []


@pytest.mark.slow
def test_ctrl_c_during_a_sweep_on_slurm_cancels_the_jobs(tmp_path, fake_queue, hold_dir):
    queue = fake_queue("slurm")
    experiment = experiment_file(tmp_path)
    out = tmp_path / "out"
    hold = Hold(hold_dir, "p00000-r0001")
    process = subprocess.Popen(
        sweep_command(experiment, out, "--cluster", "slurm", "--workers", "2", "--chunk-size", "1"),
        cwd=ROOT,
        env={**queue.env, TEST_HOLD: str(hold_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        worker = hold.started("p00000-r0001", lambda: process.poll() is None)
        assert os.getpgid(worker) in queue.job_ids()  # the run is held in a job
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=300)
    finally:
        hold.release()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr[-3000:]
    assert "--resume" in stderr and "Traceback" not in stderr
    assert read_manifest(out)["status"] == "interrupted"
    assert queue.jobs_alive() == []


# --------------------------------------------------------------------------- refusals


def refusal(queue: FakeQueue, tmp_path: Path, kind: str = "slurm", waited: bool = False) -> str:
    """The one line a sweep with ``--cluster kind`` prints on stderr before exiting 2
    (after saying it waits for the jobs, if ``waited``)."""
    done = subprocess.run(
        sweep_command(experiment_file(tmp_path), tmp_path / "out", "--cluster", kind),
        cwd=ROOT,
        env=queue.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    if waited and lines and lines[0].startswith(f"waiting for the {kind.upper()} jobs "):
        lines = lines[1:]
    assert done.returncode == 2, done.stderr[-3000:]
    assert len(lines) == 1, done.stderr[-3000:]
    return lines[0]


def test_no_cores_or_memory_configured_is_one_line_naming_where_to_set_them(tmp_path, fake_queue):
    queue = fake_queue("slurm", settings={"queue": "short"})
    line = refusal(queue, tmp_path)
    assert line == (
        "error: --cluster: SLURM jobs need cores and memory per job: set "
        f"jobqueue.slurm.cores and jobqueue.slurm.memory in {queue.env['DASK_CONFIG']}"
        "/jobqueue.yaml (or DASK_JOBQUEUE__SLURM__CORES / DASK_JOBQUEUE__SLURM__MEMORY)"
    )
    assert queue.job_ids() == []


def test_settings_from_the_environment_are_used(tmp_path, fake_queue):
    queue = fake_queue("slurm", settings={"queue": "short"})
    queue.env |= {"DASK_JOBQUEUE__SLURM__CORES": "1", "DASK_JOBQUEUE__SLURM__MEMORY": "1GB"}
    # settings complete: what stops the sweep now is the queue refusing the job
    queue.bin.joinpath("sbatch").write_text(
        "#!/usr/bin/env bash\necho 'sbatch: error: invalid partition specified: short' >&2\n"
        "exit 1\n"
    )
    line = refusal(queue, tmp_path)
    assert line == (
        "error: --cluster: sbatch refused the job: "
        "sbatch: error: invalid partition specified: short"
    )


@pytest.mark.parametrize("kind, missing", [("slurm", "sbatch"), ("pbs", "qsub")])
def test_no_queue_command_on_path_is_one_line(tmp_path, fake_queue, kind, missing):
    queue = fake_queue(kind)
    (queue.bin / missing).unlink()
    title = job_queues.JOB_QUEUES[kind].title
    assert refusal(queue, tmp_path, kind) == (
        f"error: --cluster: {missing} is not on PATH: run the sweep on a {title} login node "
        "(or load the module that provides it)"
    )


def test_settings_dask_jobqueue_refuses_are_one_line(tmp_path, fake_queue):
    queue = fake_queue("pbs", settings={**SETTINGS, "memory": "lots"})
    line = refusal(queue, tmp_path, "pbs")
    assert line.startswith("error: --cluster: dask-jobqueue refuses the PBS settings in ")
    assert queue.job_ids() == []


def test_jobs_that_end_before_a_worker_joins_are_one_line(tmp_path, fake_queue):
    # a job script that fails at once: its python does not exist on the "node"
    queue = fake_queue("slurm", settings={**SETTINGS, "python": str(tmp_path / "no-python")})
    line = refusal(queue, tmp_path, waited=True)
    assert line.startswith(
        "error: --cluster: the SLURM jobs ended before any Dask worker joined: see their output in "
    )
    assert len(queue.job_ids()) == 1 and queue.jobs_alive() == []


# --------------------------------------------------------------------------- choosing


@pytest.mark.parametrize("cluster", ["slurm", "PBS", " slurm "])
def test_queue_names_are_accepted_and_workers_not_capped_by_local_cores(cluster):
    chosen = executors.choose_executor(500, cluster, environ={})
    assert chosen.cluster == cluster.strip().lower() and chosen.workers == 500
    assert executors.choose_executor(None, cluster, environ={}).workers == 0  # one job's


def test_a_queue_name_in_dask_scheduler_address_is_not_a_queue():
    with pytest.raises(
        ScenarioError, match=r"^DASK_SCHEDULER_ADDRESS: 'slurm' is not 'local', 'none' or a sch"
    ):
        executors.choose_executor(None, None, {"DASK_SCHEDULER_ADDRESS": "slurm"})


def test_squeue_and_qstat_output_name_the_jobs_still_queued(tmp_path, fake_queue, monkeypatch):
    for kind in ("slurm", "pbs"):
        queue = fake_queue(kind)
        monkeypatch.setenv("PATH", queue.env["PATH"])
        sleeper = subprocess.Popen(["sleep", "600"], start_new_session=True)
        (queue.bin / "jobs").mkdir()
        (queue.bin / "jobs" / "ids").write_text(f"{sleeper.pid}\n")
        try:
            ids = [str(sleeper.pid), "999999"]
            assert job_queues.JOB_QUEUES[kind].running(ids) == {str(sleeper.pid)}
        finally:
            sleeper.kill()
            sleeper.wait()
        assert job_queues.JOB_QUEUES[kind].running(ids) == set()


def test_a_queue_that_does_not_answer_counts_its_jobs_as_still_there(fake_queue, monkeypatch):
    queue = fake_queue("slurm", squeue="#!/bin/sh\necho 'squeue: error: timeout' >&2\nexit 1\n")
    monkeypatch.setenv("PATH", queue.env["PATH"])
    assert job_queues.JOB_QUEUES["slurm"].running(["123"]) == {"123"}


# --------------------------------------------------------------------------- the README


def readme_jobqueue_yaml() -> dict:
    """The jobqueue.yaml the README's "SLURM and PBS" section tells researchers to write."""
    section = (ROOT / "README.md").read_text().split("### SLURM and PBS", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    return yaml.safe_load(block)


@pytest.mark.parametrize("kind", ["slurm", "pbs"])
def test_the_readme_settings_make_the_job_script_it_describes(kind, tmp_path, monkeypatch):
    """Every key of the README's example is one dask-jobqueue reads (a mistyped key
    would be ignored silently): the job script it writes carries each of them."""
    import dask

    monkeypatch.chdir(tmp_path)  # dask-jobqueue makes the log-directory in the folder

    dask_jobqueue = job_queues._dask_jobqueue()
    section = readme_jobqueue_yaml()["jobqueue"]["slurm"]  # the README: pbs takes the same keys
    job_class = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[kind].job_cls
    with dask.config.set({f"jobqueue.{kind}.{key}": value for key, value in section.items()}):
        script = job_class("tcp://10.0.0.5:8786", name="worker").job_script()
    assert "source ~/converge-env/bin/activate" in script  # job-script-prologue
    assert "--nworkers 8" in script and "--nthreads 1" in script  # processes of cores
    assert "04:00:00" in script and "standard" in script and "my-project" in script
    assert "dask-logs/" in script and (tmp_path / "dask-logs").is_dir()  # log-directory
    if kind == "slurm":
        assert "#SBATCH --cpus-per-task=8" in script and "#SBATCH --mem=15G" in script
    else:
        assert "#PBS -l select=1:ncpus=8:mem=15GB" in script
