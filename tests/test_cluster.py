"""Sweeps on a real Dask cluster, as a researcher runs one: a scheduler and workers in
processes of their own, started from a virtual environment that has the installed wheel,
in a folder without the checkout; the sweep through the scheduler's address.

The virtual environment gets Converge from the wheel (``pip install`` into it) and the
libraries from this test environment (a ``.pth`` file naming its site-packages): nothing
is downloaded, and the checkout's own packages are not importable there.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import pandas as pd
import pytest
import yaml

from simulation.errors import ScenarioError
from simulation.inputs.experiment import load_experiment, plan_from_data
from simulation.running import batch
from simulation.running.batch import TEST_HOLD, load_results, sweep
from simulation.running.executors import InProcess
from simulation.running.same_code import HOW_TO_FIX, check_cluster, code_difference
from simulation.version import __version__, code_identity, describe
from tests.conftest import SCENARIOS, Hold, experiment_data

#: The fourth run of the small experiment: with one run a chunk, three come before it.
FOURTH_RUN = "p00001-r0000"
#: Seconds a process gets to start, connect or finish: bounds on a condition, not speeds.
PATIENCE_S = 300


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A virtual environment with the wheel installed and this environment's libraries."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "libraries_of_the_tests.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "-q", str(wheel)],
        capture_output=True, text=True, timeout=PATIENCE_S,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return root


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A working folder without the checkout, holding the small experiment and its base."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    shutil.copy(SCENARIOS / "aligned.yaml", folder / "aligned.yaml")
    data = experiment_data(base="aligned.yaml")
    (folder / "experiment.yaml").write_text(yaml.safe_dump(data))
    return folder


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that would make the checkout importable or
    pick a cluster or a test hook behind the test's back."""
    prefixes = ("PYTHON", "CONVERGE_", "DASK_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)} | extra


@contextmanager
def process(args: list[str], cwd: Path, log: Path, env: dict[str, str]) -> Iterator[int]:
    """A long-running process (a scheduler, a worker) in a session of its own; at exit
    it and every process it started are killed and reaped. Yields its pid."""
    with log.open("w") as sink:
        child = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield child.pid
    finally:
        with suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=PATIENCE_S)


def dask_process(python: Path, role: str, scheduler_file: Path, folder: Path, **env: str):
    """``dask scheduler`` or ``dask worker`` (one thread) run by ``python``, meeting at
    ``scheduler_file`` (the worker waits for the file: no race for a port)."""
    module = f"distributed.cli.dask_{role}"
    args = [
        str(python),
        "-m",
        module,
        "--scheduler-file",
        str(scheduler_file),
        "--no-dashboard",
        "--dashboard-address",
        "127.0.0.1:0",
    ]
    if role == "scheduler":
        args += ["--host", "127.0.0.1", "--port", "0"]
    else:
        args += ["--nthreads", "1", "--host", "127.0.0.1"]
    log = folder / f"{role}-{len(list(folder.glob(f'{role}-*.log')))}.log"
    return process(args, folder, log, clean_env(**env))


def address_when_ready(scheduler_file: Path, workers: int) -> str:
    """The scheduler's address once ``workers`` workers have joined it (Dask's client
    waits for the scheduler file and the workers: events, not sleeps)."""
    from dask.distributed import Client

    with Client(scheduler_file=str(scheduler_file), timeout=f"{PATIENCE_S}s") as client:
        if workers:
            client.wait_for_workers(workers, timeout=PATIENCE_S)
        return client.scheduler.address


def converge_sweep(venv: Path, address: str, folder: Path, *args: str, env=None):
    """The installed ``converge sweep`` of the small experiment through ``address``."""
    command = [str(venv / "bin" / "converge"), "sweep", "experiment.yaml", "--cluster", address]
    return subprocess.Popen(
        [*command, "--out", "out", *args],
        cwd=folder,
        env=env or clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def without_timing(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["elapsed_s"]).reset_index(drop=True)


def test_a_sweep_through_a_scheduler_survives_a_killed_worker(venv, elsewhere, tmp_path):
    python, scheduler_file = venv / "bin" / "python", tmp_path / "scheduler.json"
    hold = Hold(tmp_path / "hold", FOURTH_RUN)
    with ExitStack() as cluster:
        cluster.enter_context(dask_process(python, "scheduler", scheduler_file, elsewhere))
        for _ in range(2):
            cluster.enter_context(dask_process(python, "worker", scheduler_file, elsewhere))
        address = address_when_ready(scheduler_file, workers=2)
        env = clean_env(**{TEST_HOLD: str(hold.folder)})
        client = converge_sweep(venv, address, elsewhere, "--chunk-size", "1", env=env)
        try:
            worker = hold.started(FOURTH_RUN, lambda: client.poll() is None)
            os.kill(worker, signal.SIGKILL)  # it holds a chunk it has not returned
        finally:
            hold.release()
            out, err = client.communicate(timeout=PATIENCE_S)
    assert client.returncode == 0, out + err
    assert f"on dask (2 workers, {address})" in err
    local = tmp_path / "local"
    sweep(load_experiment(elsewhere / "experiment.yaml"), local, InProcess())
    pd.testing.assert_frame_equal(
        without_timing(load_results(elsewhere / "out")), without_timing(load_results(local))
    )


def test_workers_running_other_code_are_refused_in_one_line(venv, elsewhere, tmp_path):
    other = tmp_path / "other-code"
    installed = next((venv / "lib").glob("python*/site-packages/simulation"))
    shutil.copytree(installed, other / "simulation")
    version_file = other / "simulation" / "version.py"
    # an older wheel: another version, from before workers reported their code identity
    older = version_file.read_text().replace(f'"{__version__}"', '"0.0.1"', 1)
    version_file.write_text(older.replace("def code_identity(", "def _not_yet_code_identity("))
    python, scheduler_file = venv / "bin" / "python", tmp_path / "scheduler.json"
    with ExitStack() as cluster:
        cluster.enter_context(dask_process(python, "scheduler", scheduler_file, elsewhere))
        cluster.enter_context(
            dask_process(python, "worker", scheduler_file, elsewhere, PYTHONPATH=str(other))
        )
        address = address_when_ready(scheduler_file, workers=1)
        client = converge_sweep(venv, address, elsewhere)
        out, err = client.communicate(timeout=PATIENCE_S)
    assert client.returncode == 2, out + err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: --cluster: worker tcp://127.0.0.1:"), line
    assert "runs Converge 0.0.1 (commit" in line and f"this client {__version__} (" in line
    assert line.endswith(
        "start it from the same wheel as this client (README: Sweeps on a cluster)"
    )
    assert not (elsewhere / "out").exists()  # refused before anything was written


def test_a_scheduler_without_converge_is_refused_in_one_line(venv, elsewhere, tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    with dask_process(Path(sys.executable), "scheduler", scheduler_file, elsewhere):
        address = address_when_ready(scheduler_file, workers=0)
        client = converge_sweep(venv, address, elsewhere)
        out, err = client.communicate(timeout=PATIENCE_S)
    assert client.returncode == 2, out + err
    assert err.strip() == (
        "error: --cluster: the scheduler cannot import Converge (ModuleNotFoundError: No "
        "module named 'simulation'); start it from the same wheel as this client (README: "
        "Sweeps on a cluster)"
    )


# --------------------------------------------------------------------------- the checks


def test_code_difference_names_what_differs_first():
    ours = code_identity()
    assert code_difference(ours, dict(ours)) is None
    older = {**ours, "version": "0.0.1", "commit": "c" * 40, "dirty": False}
    assert code_difference(ours, older) == (
        f"runs Converge 0.0.1 (commit cccccccccccc) and this client {describe(ours)}"
    )
    edited = {**ours, "source": "f" * 16}
    assert code_difference(ours, edited).startswith("runs other source files of Converge")
    assert code_difference(ours, {**ours, "numpy": "1.0"}) == (
        f"runs numpy 1.0 and this client {ours['numpy']}"
    )
    missing = Exception("ModuleNotFoundError(\"No module named 'simulation'\")")
    assert code_difference(ours, missing) == (
        "cannot import Converge (ModuleNotFoundError: No module named 'simulation')"
    )


def test_a_job_from_other_source_files_is_refused_before_it_runs(monkeypatch):
    ran = []
    monkeypatch.setattr(batch, "run_scenario", lambda *a, **k: ran.append(1))
    plan = plan_from_data(experiment_data())
    run = next(iter(plan.runs))
    job = batch.Job([run], [plan.scenarios[run.point]], [plan.points[run.point]], code="0" * 16)
    with pytest.raises(ScenarioError, match=r"runs other source files .*the client's 0{16}"):
        batch.run_chunk(job)
    assert not ran


class FakeClient:
    """What :func:`check_cluster` asks of a Dask client, answering with given versions."""

    def __init__(self, scheduler: dict[str, str], workers: dict[str, dict[str, str]]):
        ours = {"python": "3.13.0.final.0", "dask": "1.0", "distributed": "1.0",
                "cloudpickle": "3.0", "msgpack": "1.0"}  # fmt: skip
        self.versions = {
            "client": {"packages": ours},
            "scheduler": {"packages": ours | scheduler},
            "workers": {a: {"packages": ours | w} for a, w in workers.items()},
        }

    def get_versions(self, check: bool = False) -> dict:
        return self.versions


@pytest.mark.parametrize(
    ("scheduler", "workers", "message"),
    [
        ({"python": "3.12.1.final.0"}, {}, "the scheduler runs Python 3.12 and this client 3.13"),
        ({"python": "3.13.5.final.0"}, {"tcp://w:1": {"distributed": "0.9"}},
         "worker tcp://w:1 runs distributed 0.9 and this client 1.0"),
    ],
)  # fmt: skip
def test_other_python_or_dask_versions_are_refused_before_any_code_is_sent(
    scheduler, workers, message
):
    with pytest.raises(ScenarioError) as refused:
        check_cluster(FakeClient(scheduler, workers))
    assert str(refused.value) == f"--cluster: {message}; {HOW_TO_FIX}"
