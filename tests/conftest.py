"""Shared fixtures: paths, small scenarios that run in a fraction of a second, the
command line (in this process, or in a real one where only a process will do), the app
under AppTest, and the sweep's test hook."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from unittest import mock

import pytest
import yaml

from simulation.inputs.scenario import Scenario, with_overrides

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

    from simulation.analysis.digest import RunDigest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
APP = str(ROOT / "app.py")


@pytest.fixture
def scenario_dir() -> Path:
    """The folder of the ready-made scenarios."""
    return SCENARIOS


def ready_made(name: str) -> Scenario:
    """The ready-made scenario ``scenarios/NAME.yaml``."""
    return Scenario.from_file(SCENARIOS / f"{name}.yaml")


def short(scenario: Scenario, days: int = 120, **overrides) -> Scenario:
    """The scenario over a shorter horizon, with dotted-path overrides."""
    return with_overrides(
        scenario, {"horizon_days": days, "warmup_days": min(20, days // 5), **overrides}
    )


READY_MADE_NAMES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


#: "Billion laughs": 1 kB of YAML that expands to 9^9 (387 million) strings.
ALIAS_BOMB = "\n".join(
    [
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(
            f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "name: *i",
        "",
    ]
)


def cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m simulation ARGS`` run in this process: ``simulation.cli.main`` from the
    repository, its stdout, stderr and exit code captured (argparse's SystemExit
    included). Starting an interpreter costs a second or more and tests nothing the
    command's own code does not; ``cli_process`` is for what only a real process shows.

    Args:
        args: the command line after ``python -m simulation``.
        env: the whole environment the command sees, as ``subprocess.run`` takes it;
            this process's environment when None.
    """
    from simulation.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.chdir(ROOT))
        if env is not None:
            stack.enter_context(mock.patch.dict(os.environ, env, clear=True))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        try:
            code = main(list(args))
        except SystemExit as stop:
            code = _exit_code(stop.code)
    return subprocess.CompletedProcess(
        ["python", "-m", "simulation", *args], code, out.getvalue(), err.getvalue()
    )


def _exit_code(code: object) -> int:
    """The status a process exits with after ``SystemExit(code)``, as the interpreter
    decides it: 0 for None, a number as it is, anything else printed to stderr and 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def cli_process(
    *args: str, timeout: float = 300, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m simulation ARGS`` in a new interpreter, from the repository, its output
    captured: for what only a real process shows (the module's entry point, the exit
    status a shell sees). The timeout only ends a hung
    test: no assertion depends on how long anything took."""
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


def open_results(monkeypatch: pytest.MonkeyPatch, root: Path, path: str) -> AppTest:
    """The app's Results page under AppTest, reading sweeps under ``root`` and asked to
    open ``path`` (as typed in its box: relative to the root, or absolute)."""
    from ui.common import RESULTS_ROOT_ENV

    monkeypatch.setenv(RESULTS_ROOT_ENV, str(root))
    at = open_app(s="siloed", r="1", seed="1801")
    at.session_state["rs_path"] = path
    return at.switch_page("ui/results.py").run()


def layers_of(spec: dict) -> list[dict]:
    """Every single view (a node with a mark) of a layered, faceted or concatenated
    Vega-Lite spec."""
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "mark" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return found


def mark_type(layer: dict) -> str:
    """The mark of one view, written either as a name or as a mapping with a type."""
    mark = layer["mark"]
    return mark["type"] if isinstance(mark, dict) else mark


def marks_of(spec: dict) -> list[str]:
    """The mark type of every view of ``spec``."""
    return [mark_type(layer) for layer in layers_of(spec)]


@functools.cache
def _digest(name: str, days: int, warmup: int, seed: int) -> RunDigest:
    from simulation.running.runs import run_digest

    scenario = with_overrides(ready_made(name), {"horizon_days": days, "warmup_days": warmup})
    return run_digest((scenario.to_yaml(), seed))


def short_runs(
    names: tuple[str, ...], days: int = 80, warmup: int = 10, seeds: tuple[int, ...] = (1, 2)
) -> tuple[dict[str, list[RunDigest]], dict[str, str]]:
    """Digests of short runs of ready-made scenarios, by scenario name, and their
    colours as the app gives them: enough to draw every chart in a fraction of a second.
    A run is made once per test process, whichever tests ask for it."""
    from simulation.presentation import charts

    runs = {
        ready_made(name).name: [_digest(name, days, warmup, seed) for seed in seeds]
        for name in names
    }
    colours = charts.scenario_colours(list(runs), [ready_made(n).structure for n in names])
    return runs, colours


@pytest.fixture
def in_process(monkeypatch):
    """The app runs its simulations in the test's process (no worker pool)."""
    monkeypatch.setenv("CONVERGE_WORKERS", "1")


# --------------------------------------------------------------------------- sweeps


def experiment_data(**fields) -> dict:
    """A small experiment: 4 points (BRMs x shared language) of the aligned scenario,
    3 replicates of 40 days each; ``fields`` replace any field, and a field given as
    None is left out (``parameters=None`` for a list design's ``points``)."""
    data = {
        "name": "small",
        "base": str(SCENARIOS / "aligned.yaml"),
        "design": "grid",
        "parameters": {"brms.count": [0, 3], "levers.shared_language": [0.2, 0.6]},
        "replicates": 3,
        "days": 40,
        **fields,
    }
    return {key: value for key, value in data.items() if value is not None}


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
    and wait for release, so a test acts while a sweep is provably mid-way.

    A chunk announces itself with a file (``<run id>.started``, its pid) and a line on
    the FIFO ``announce``: :meth:`started` blocks on the FIFO (select) and wakes when a
    line arrives, then looks for the file, which is what counts (a line written before
    the test listened, or lost, costs at most one ``WAKE_SECONDS`` wait). The held
    workers still look for ``release`` every 10 ms (batch.hold_for_test): a release
    must reach workers that reach the hook after it, and a file that exists does; a
    FIFO's end-of-file does not (a reader that opens after the last writer closed
    waits for the next one)."""

    #: The longest :meth:`started` sleeps without news: it then checks that the sweep is
    #: still running (a sweep that died writes nothing) and the file, and waits again.
    WAKE_SECONDS = 1.0

    def __init__(self, folder: Path, *run_ids: str):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "hold").write_text("\n".join(run_ids) + "\n")
        self.folder = folder
        fifo = folder / "announce"
        os.mkfifo(fifo)
        # the reading end, and a writing end of our own: while one writer is open a
        # reader blocks for data instead of seeing end-of-file whenever a worker closes
        self._news = os.fdopen(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK), "rb", buffering=0)
        self._own_writer = os.fdopen(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK), "wb", 0)

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
            news, _, _ = select.select([self._news], [], [], self.WAKE_SECONDS)
            if news:
                self._news.read(4096)  # the lines only wake us; the file says who
        return int(path.read_text())

    def release(self) -> None:
        """Let every held chunk go on (and stop listening for news)."""
        (self.folder / "release").touch()
        self._news.close()
        self._own_writer.close()


@pytest.fixture
def hold_dir(tmp_path):
    """A directory for the sweep's test hook (batch.TEST_HOLD), released at the end
    whatever happened, so that no held worker outlives its test."""
    folder = tmp_path / "hold"
    yield folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "release").touch()


class CountingJobs:
    """Jobs 0..n-1 that count how many were taken: what an executor submitted so far."""

    def __init__(self, n: int):
        self.n, self.taken = n, 0

    def __iter__(self):
        for index in range(self.n):
            self.taken = index + 1
            yield index


# --------------------------------------------------------------------------- the app server


# The venv's streamlit launcher, or the module where there is none (other installs).
_LAUNCHER = Path(sys.executable).with_name("streamlit")
STREAMLIT = [str(_LAUNCHER)] if _LAUNCHER.exists() else [sys.executable, "-m", "streamlit"]


def free_port() -> int:
    """A TCP port on this machine that nothing listens on now."""
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
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        announced = threading.Event()
        copier = threading.Thread(
            target=_copy_output, args=(process, log, f":{port}", announced), daemon=True
        )
        copier.start()
        try:
            _wait_until_it_answers(port, process, log_path, announced)
            yield port
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            copier.join(timeout=30)


def _copy_output(
    process: subprocess.Popen, log: TextIO, address: str, announced: threading.Event
) -> None:
    """Copy the server's output to the log; ``announced`` is set when a line names our
    port (Streamlit prints its URL once it listens) or the output ends (it exited)."""
    for line in process.stdout:
        log.write(line)
        log.flush()
        if address in line:
            announced.set()
    announced.set()


def _wait_until_it_answers(
    port: int, process: subprocess.Popen, log_path: Path, announced: threading.Event
) -> None:
    # Streamlit's only sign of readiness is the URL it prints once it listens: wait for
    # that line (an event, woken at once), within a bound on failing to start, then ask
    # its health endpoint once to be sure it serves.
    if not announced.wait(timeout=300) or process.poll() is not None:
        pytest.fail(f"streamlit did not start: {log_path.read_text()[-2000:]}")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=30):
            return
    except OSError as exc:
        pytest.fail(
            f"streamlit printed its URL but does not answer ({exc}): {log_path.read_text()[-2000:]}"
        )


# --------------------------------------------------------------------------- the wheel

#: What a clean clone (with today's changes) holds and a build must not see.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "results", "out", "artifacts",
    "__pycache__", ".pytest_cache", ".ruff_cache",
)  # fmt: skip


def git(*args: str) -> str | None:
    """``git ARGS`` in the checkout: its output, or None (no git, not a checkout)."""
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The wheel of this checkout (as it is now, uncommitted changes included)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    git_dir = git("rev-parse", "--absolute-git-dir")
    if git_dir:  # the copy is this checkout's work tree: the build can record its commit
        env |= {"GIT_DIR": git_dir, "GIT_WORK_TREE": str(source)}
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
         "--no-build-isolation", "--no-index", "-w", str(work / "dist"), "-q"],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = (work / "dist").glob("converge-*.whl")
    return built
