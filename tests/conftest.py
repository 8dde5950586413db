"""Shared fixtures: paths, small scenarios that run in a fraction of a second, the
command line in a subprocess, the app under AppTest, and the sweep's test hook."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from simulation.inputs.scenario import Scenario, with_overrides

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
APP = str(ROOT / "app.py")


@pytest.fixture
def scenario_dir() -> Path:
    return SCENARIOS


def ready_made(name: str) -> Scenario:
    return Scenario.from_file(SCENARIOS / f"{name}.yaml")


def short(scenario: Scenario, days: int = 120, **overrides) -> Scenario:
    """The scenario over a shorter horizon, with dotted-path overrides."""
    return with_overrides(
        scenario, {"horizon_days": days, "warmup_days": min(20, days // 5), **overrides}
    )


READY_MADE_NAMES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


def cli(*args: str, timeout: float = 300, env: dict[str, str] | None = None):
    """``python -m simulation ARGS`` from the repository, its output captured. The
    timeout only ends a hung test: no assertion depends on how long anything took."""
    return subprocess.run(
        [sys.executable, "-m", "simulation", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def open_app(timeout: float = 180, **query: str) -> AppTest:
    """The app under Streamlit's AppTest, opened with ``query`` as its link."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params.update(query)
    return at.run()


@pytest.fixture
def in_process(monkeypatch):
    """The app runs its simulations in the test's process (no worker pool)."""
    monkeypatch.setenv("CONVERGE_WORKERS", "1")


# --------------------------------------------------------------------------- sweeps


def experiment_data(**fields) -> dict:
    """A small experiment: 4 points (BRMs x shared language) of the aligned scenario,
    3 replicates of 40 days each; ``fields`` replace any field."""
    return {
        "name": "small",
        "base": str(SCENARIOS / "aligned.yaml"),
        "design": "grid",
        "parameters": {"brms.count": [0, 3], "levers.shared_language": [0.2, 0.6]},
        "replicates": 3,
        "days": 40,
        **fields,
    }


def experiment_file(folder: Path, **fields) -> Path:
    """:func:`experiment_data` written to ``folder/experiment.yaml``, for the command line."""
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment_data(**fields)))
    return path


def swept(out: Path, executor=None, chunk_size: int | None = None, **fields) -> Path:
    """:func:`experiment_data` (with ``fields``) swept into ``out``, in this process
    unless an ``executor`` is given."""
    from simulation.inputs.experiment import plan_from_data
    from simulation.running.batch import sweep

    sweep(plan_from_data(experiment_data(**fields)), out, executor, chunk_size=chunk_size)
    return out


def parts_written(out: Path) -> list[str]:
    """The chunk files a sweep has written so far."""
    return sorted(p.name for p in (out / "parts").glob("*.parquet"))


class Hold:
    """The sweep's test hook (batch.TEST_HOLD): chosen chunks announce that they started
    and wait for release, so a test acts while a sweep is provably mid-way."""

    def __init__(self, folder: Path, *run_ids: str):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "hold").write_text("\n".join(run_ids) + "\n")
        self.folder = folder

    @property
    def env(self) -> dict[str, str]:
        from simulation.running.batch import TEST_HOLD

        return {**os.environ, TEST_HOLD: str(self.folder)}

    def started(self, run_id: str, still_running=lambda: True) -> int:
        """Wait for the chunk starting ``run_id`` to be held (a file the sweep writes);
        the pid of the process that runs it."""
        path = self.folder / f"{run_id}.started"
        deadline = time.monotonic() + 300  # a bound on a condition, not a speed
        while not path.exists():
            assert still_running(), f"the sweep ended without reaching {run_id}"
            assert time.monotonic() < deadline, f"the sweep never reached {run_id}"
            time.sleep(0.02)
        return int(path.read_text())

    def release(self) -> None:
        (self.folder / "release").touch()


@pytest.fixture
def hold_dir(tmp_path):
    """A directory for the sweep's test hook (batch.TEST_HOLD), released at the end
    whatever happened, so that no held worker outlives its test."""
    folder = tmp_path / "hold"
    yield folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "release").touch()


# --------------------------------------------------------------------------- the app server


# The venv's streamlit launcher, or the module where there is none (other installs).
_LAUNCHER = Path(sys.executable).with_name("streamlit")
STREAMLIT = [str(_LAUNCHER)] if _LAUNCHER.exists() else [sys.executable, "-m", "streamlit"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def app_server(log_path: Path, env: dict[str, str]) -> Iterator[int]:
    """`streamlit run app.py` as `make app` starts it (only the port chosen): its port,
    once the server answers. The server and its worker processes stop at the end."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*STREAMLIT, "run", "app.py", "--server.headless", "true", "--server.port", str(port)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            _wait_until_it_answers(port, process, log_path)
            yield port
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _wait_until_it_answers(port: int, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 300  # a bound on failing to start, never a measurement
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5):
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"streamlit did not start: {log_path.read_text()[-2000:]}")
        time.sleep(0.2)
