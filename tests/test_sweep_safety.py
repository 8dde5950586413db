"""Sweeps and worker pools that cannot lose, mix or orphan anything.

Every test that acts on a running sweep synchronises on the sweep itself, through its
test hook (``batch.TEST_HOLD``, see ``Hold`` in conftest.py): it waits for a file the
code writes, never for a time.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from simulation import cli as command_line
from simulation.inputs.experiment import load_experiment
from simulation.inputs.scenario import ScenarioError
from simulation.running import batch, executors, processes
from simulation.version import source_fingerprint
from tests.conftest import ROOT, SCENARIOS, CountingJobs, Hold, cli, parts_written
from tests.conftest import experiment_file as small_experiment

HAS_PIDFD = hasattr(os, "pidfd_open") and Path("/proc/self/stat").exists()
SWEEP = [sys.executable, "-m", "simulation", "sweep"]
needs_pidfd = pytest.mark.skipif(not HAS_PIDFD, reason="needs Linux pidfds and /proc")


# --------------------------------------------------------------------------- processes


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def live_processes_with(marker: str) -> list[int]:
    """Live (not zombie) processes whose environment holds ``marker``: every process a
    test's sweep started inherits it, even once orphaned."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            environ = (entry / "environ").read_bytes()
        except (OSError, IndexError):
            continue
        if state != "Z" and marker.encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def wait_all_exit(pidfds: dict[int, int], bound: float = 120) -> list[int]:
    """Wait until every process exits (its pidfd turns readable); the ones still
    running after ``bound`` seconds (a bound on the condition, not a speed)."""
    waiting = dict(pidfds)
    deadline = time.monotonic() + bound
    while waiting and time.monotonic() < deadline:
        ready, _, _ = select.select(list(waiting.values()), [], [], deadline - time.monotonic())
        waiting = {pid: fd for pid, fd in waiting.items() if fd not in ready}
    for fd in pidfds.values():
        os.close(fd)
    return sorted(waiting)


def open_pidfds(pids: set[int]) -> dict[int, int]:
    handles = {}
    for pid in pids:
        try:
            handles[pid] = os.pidfd_open(pid)
        except ProcessLookupError:  # already gone (a short-lived helper)
            continue
    return handles


def kill_and_check_nothing_survives(process: subprocess.Popen, hold: Hold) -> None:
    """SIGKILL ``process``: every process below it must exit, and its pipes close."""
    tree = descendants(process.pid)
    assert len(tree) >= 2, f"expected worker processes below the sweep, found {tree}"
    handles = open_pidfds(tree | {process.pid})  # held before the kill: no pid reuse
    process.kill()
    survivors = wait_all_exit(handles)
    assert not survivors, f"processes outlived the killed sweep: {survivors}"
    # Nothing holds the dead process's stdout and stderr: reading them reaches EOF.
    process.communicate(timeout=120)
    marker = f"{batch.TEST_HOLD}={hold.folder}"
    assert not live_processes_with(marker)


@needs_pidfd
def test_a_killed_sweep_leaves_no_process_behind_and_reads_as_stopped(tmp_path, hold_dir):
    experiment = small_experiment(tmp_path)
    out = tmp_path / "out"
    first, second = "p00000-r0000", "p00000-r0001"
    hold = Hold(hold_dir, first, second)
    process = subprocess.Popen(
        [*SWEEP, str(experiment), "--out", str(out), "--workers", "2", "--chunk-size", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=hold.env,
    )
    running = lambda: process.poll() is None  # noqa: E731
    workers = {hold.started(first, running), hold.started(second, running)}
    assert workers <= descendants(process.pid)
    assert batch.read_manifest(out)["status"] == "running"
    kill_and_check_nothing_survives(process, hold)
    manifest = batch.read_manifest(out)
    assert manifest["status"] == "stopped"
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"  # derived


POOL_SCRIPT = """
import os, sys
from simulation.running import batch
from simulation.inputs.experiment import plan_from_data

plan = plan_from_data(
    {"scenario": {"horizon_days": 30}, "parameters": {"brms.count": [0]}, "replicates": 2}
)
hold = os.environ[batch.TEST_HOLD]
jobs = [
    batch.Job([r], [plan.scenarios[r.point]], [plan.points[r.point]], hold=hold)
    for r in plan.runs
]
kind = sys.argv[1]
if kind == "compare":
    from simulation.running.executors import executor_for

    with executor_for("none", 2) as executor:
        list(executor.map(batch.run_chunk, jobs))
elif kind == "sweep":
    from simulation.running.executors import LocalProcesses

    list(LocalProcesses(2).as_completed(batch.run_chunk, jobs))
else:
    os.environ["CONVERGE_WORKERS"] = "2"
    from ui import runner

    list(runner.executor().as_completed(batch.run_chunk, jobs))
"""


@needs_pidfd
@pytest.mark.parametrize("kind", ["compare", "sweep", "app"])
def test_the_workers_of_every_pool_exit_with_their_parent(kind, hold_dir):
    hold = Hold(hold_dir, "p00000-r0000", "p00000-r0001")
    process = subprocess.Popen(
        [sys.executable, "-c", POOL_SCRIPT, kind],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=hold.env,
    )
    running = lambda: process.poll() is None  # noqa: E731
    hold.started("p00000-r0000", running)
    hold.started("p00000-r0001", running)
    kill_and_check_nothing_survives(process, hold)


# --------------------------------------------------------------------------- resume


def edited_copy_of_aligned(tmp_path: Path) -> Path:
    base = tmp_path / "base.yaml"
    base.write_text((SCENARIOS / "aligned.yaml").read_text())
    return base


def test_resume_refuses_a_running_sweep_and_an_edited_base_scenario(tmp_path, hold_dir):
    base = edited_copy_of_aligned(tmp_path)
    experiment = small_experiment(tmp_path, base=str(base))
    out = tmp_path / "out"
    hold = Hold(hold_dir, "p00001-r0001")  # the fifth run: four are written first
    process = subprocess.Popen(
        [*SWEEP, str(experiment), "--out", str(out), "--workers", "1", "--chunk-size", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=hold.env,
    )
    hold.started("p00001-r0001", lambda: process.poll() is None)
    # while it runs, a second sweep into the same directory would double its rows
    alongside = cli("sweep", str(experiment), "--out", str(out), "--resume")
    assert alongside.returncode == 2
    assert alongside.stderr.strip() == (
        f"error: --resume: a sweep is still running in {out} (pid {process.pid}): "
        "let it finish or stop it first"
    )
    process.kill()
    process.communicate(timeout=120)
    assert len(parts_written(out)) == 4
    base.write_text(base.read_text().replace("arrival_rate: 1.0", "arrival_rate: 2.0", 1))
    resumed = cli("sweep", str(experiment), "--out", str(out), "--resume")
    assert resumed.returncode == 2
    assert resumed.stderr.strip().splitlines() == [
        "error: --resume: the base scenario changed since the sweep started "
        "(work_types[0].arrival_rate: 1.0 -> 2.0); sweep it into a new --out"
    ]
    assert len(parts_written(out)) == 4  # nothing added
    manifest = batch.read_manifest(out)
    assert manifest["status"] == "stopped"
    assert manifest["base_scenario"]["work_types"][0]["arrival_rate"] == 1.0


def test_resume_names_what_changed_in_the_experiment(tmp_path):
    experiment = small_experiment(tmp_path, replicates=1)
    batch.sweep(load_experiment(experiment), tmp_path / "out", executors.InProcess())
    small_experiment(tmp_path, replicates=1, seed=7)
    with pytest.raises(ScenarioError, match=r"different experiment \(seed: 2026 -> 7\)"):
        batch.sweep(load_experiment(experiment), tmp_path / "out", resume=True)


def other_code(commit: str, dirty: bool = False):
    version = batch.code_version()["version"]
    return lambda: {"version": version, "commit": commit, "dirty": dirty}


def test_resume_refuses_other_code_unless_allowed(tmp_path, monkeypatch, capsys):
    experiment = small_experiment(tmp_path, replicates=1)
    out = tmp_path / "out"
    monkeypatch.setattr(batch, "code_version", other_code("a" * 40))
    args = ["sweep", str(experiment), "--out", str(out), "--workers", "1"]
    assert command_line.main(args) == 0
    (out / "results.parquet").unlink()  # as if it had stopped before the end
    for part in sorted((out / "parts").glob("*.parquet"))[2:]:
        part.unlink()
    capsys.readouterr()
    monkeypatch.setattr(batch, "code_version", other_code("b" * 40, dirty=True))
    assert command_line.main([*args, "--resume"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: --resume: the code changed since the sweep started (commit aaaaaaaaaaaa -> "
        "bbbbbbbbbbbb with uncommitted changes); resuming would mix rows of both: add "
        "--allow-code-change to resume anyway"
    ]
    assert len(parts_written(out)) == 2
    assert command_line.main([*args, "--resume", "--allow-code-change"]) == 0
    manifest = batch.read_manifest(out)
    assert manifest["status"] == "complete" and manifest["code"]["commit"] == "a" * 40
    assert manifest["resumes"][-1]["code"]["commit"] == "b" * 40


def test_resume_refuses_edited_source_files_under_the_same_commit(tmp_path, monkeypatch, capsys):
    experiment = small_experiment(tmp_path, replicates=1)
    out = tmp_path / "out"
    code = batch.code_version()
    monkeypatch.setattr(batch, "code_version", lambda: {**code, "source": "0" * 16})
    args = ["sweep", str(experiment), "--out", str(out), "--workers", "1"]
    assert command_line.main(args) == 0
    (out / "results.parquet").unlink()  # as if it had stopped before the end
    capsys.readouterr()
    monkeypatch.setattr(batch, "code_version", lambda: {**code, "source": "1" * 16})
    assert command_line.main([*args, "--resume"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: --resume: the source files changed since the sweep started (fingerprint "
        "0000000000000000 -> 1111111111111111: uncommitted edits); resuming would mix rows "
        "of both: add --allow-code-change to resume anyway"
    ]


def test_resume_refuses_other_library_versions(tmp_path, monkeypatch):
    experiment = small_experiment(tmp_path, replicates=1)
    batch.sweep(load_experiment(experiment), tmp_path / "out", executors.InProcess())
    real = batch.package_versions()
    monkeypatch.setattr(batch, "package_versions", lambda: {**real, "numpy": "0.1"})
    with pytest.raises(ScenarioError, match=rf"numpy: \"{real['numpy']}\" -> \"0.1\""):
        batch.sweep(load_experiment(experiment), tmp_path / "out", resume=True)


def test_resume_refuses_a_sweep_begun_with_other_seeds(tmp_path):
    experiment = small_experiment(tmp_path, replicates=1)
    out = tmp_path / "out"
    batch.sweep(load_experiment(experiment), out, executors.InProcess())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == "base seed + replicate"
    del manifest["seeds"]  # as an earlier Converge wrote it (SeedSequence spawn keys)
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ScenarioError, match=r"other replicate seeds \(SeedSequence spawn keys"):
        batch.sweep(load_experiment(experiment), out, resume=True, allow_code_change=True)


def test_the_manifest_records_fingerprints_and_the_code(tmp_path):
    plan = load_experiment(small_experiment(tmp_path, replicates=1))
    batch.sweep(plan, tmp_path / "out", executors.InProcess())
    manifest = batch.read_manifest(tmp_path / "out")
    base = plan.base.model_dump(mode="json")
    assert manifest["fingerprints"]["base_scenario"] == batch.fingerprint(base)
    assert batch.fingerprint({"b": 1, "a": [1.0]}) == batch.fingerprint({"a": [1.0], "b": 1})
    assert set(manifest["code"]) == {"version", "commit", "dirty", "source"}
    assert manifest["code"]["source"] == source_fingerprint()
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    assert manifest["code"]["commit"] == (commit or None)
    assert manifest["process"]["pid"] == os.getpid()


def test_first_difference_names_the_path():
    old = {"a": {"b": [1, {"c": "x"}]}, "d": 1}
    assert batch.first_difference(old, old) is None
    assert batch.first_difference(old, {"a": {"b": [1, {"c": "y"}]}, "d": 1}) == (
        'a.b[1].c: "x" -> "y"'
    )
    assert batch.first_difference(old, {"a": {"b": [1]}, "d": 1}) == "a.b: 2 items -> 1 items"
    assert batch.first_difference(old, {"a": old["a"]}) == "d: 1 -> (absent)"
    assert batch.first_difference({"n": 1}, {"n": 1.0}) == "n: 1 -> 1.0"


def write_manifest(out: Path, **fields) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_text(json.dumps(fields))


@needs_pidfd
def test_a_running_status_is_checked_against_the_process(tmp_path):
    me = {
        "pid": os.getpid(),
        "host": batch.socket.gethostname(),
        "started": processes.process_start_time(os.getpid()),
        "boot": batch._boot_id(),
    }
    write_manifest(tmp_path / "alive", status="running", process=me)
    assert batch.read_manifest(tmp_path / "alive")["status"] == "running"
    reused = {**me, "started": me["started"] - 1}  # same pid, another process
    write_manifest(tmp_path / "reused", status="running", process=reused)
    assert batch.read_manifest(tmp_path / "reused")["status"] == "stopped"
    elsewhere = {**me, "host": "another-machine", "pid": 1}
    write_manifest(tmp_path / "elsewhere", status="running", process=elsewhere)
    assert batch.read_manifest(tmp_path / "elsewhere")["status"] == "running"  # cannot tell


# --------------------------------------------------------------------------- executors


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        ("local", "local"),
        ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"),
        ("tls://scheduler.example.org:8786", "tls://scheduler.example.org:8786"),
        ("scheduler:8786", "scheduler:8786"),
        ("[::1]:8786", "[::1]:8786"),
        ("none", None),
        ("NONE", None),
    ],
)
def test_cluster_values_accepted(cluster, expected):
    assert executors.choose_executor(2, cluster, environ={}).cluster == expected


@pytest.mark.parametrize("cluster", ["lcoal", "tcp://host", "http://h:80", "h:0", "h:99999", ""])
def test_other_cluster_values_are_refused_in_one_line(cluster):
    with pytest.raises(
        ScenarioError, match=r"^--cluster: .* is not 'local', 'none', 'slurm', 'pbs' or a sch"
    ):
        executors.choose_executor(None, cluster, environ={})


def test_dask_scheduler_address_does_not_override_an_explicit_choice():
    environ = {"DASK_SCHEDULER_ADDRESS": "tcp://10.0.0.5:8786"}
    chosen = executors.choose_executor(None, None, environ)
    assert chosen.cluster == "tcp://10.0.0.5:8786" and chosen.source == "DASK_SCHEDULER_ADDRESS"
    assert executors.choose_executor(1, None, environ).cluster is None  # --workers 1: local
    assert executors.choose_executor(None, "none", environ).cluster is None
    assert executors.choose_executor(None, "local", environ).cluster == "local"
    with pytest.raises(ScenarioError, match=r"^DASK_SCHEDULER_ADDRESS: 'oops'"):
        executors.choose_executor(None, None, {"DASK_SCHEDULER_ADDRESS": "oops"})


def test_a_mistyped_cluster_exits_2_in_one_line(tmp_path):
    done = cli(
        "sweep", str(small_experiment(tmp_path)), "--out", str(tmp_path / "o"), "--cluster", "lcoal"
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --cluster: 'lcoal' is not 'local', 'none', 'slurm', 'pbs' or a scheduler address "
        "(tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT)"
    ]
    assert not (tmp_path / "o").exists()


def test_an_unreachable_scheduler_exits_2_in_one_line_naming_it(tmp_path):
    import socket

    with socket.socket() as listener:  # a port that is certainly closed once we let go
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    done = cli(
        "sweep",
        str(small_experiment(tmp_path)),
        "--out",
        str(tmp_path / "o"),
        "--connect-timeout",
        "1",
        env={**os.environ, "DASK_SCHEDULER_ADDRESS": address},
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: DASK_SCHEDULER_ADDRESS: no Dask scheduler answered at {address} within 1 s"
    ]


def test_workers_are_capped_at_the_cores(tmp_path, capsys):
    cores = processes.available_cores()
    assert executors.choose_executor(cores + 5, None, environ={}).workers == cores
    experiment = small_experiment(tmp_path, replicates=1, days=10)
    out = tmp_path / "o"
    assert command_line.main(["sweep", str(experiment), "--out", str(out), "--workers", "999"]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first.endswith(f"--workers 999 capped at the {cores} cores here)")
    assert batch.read_manifest(out)["workers"] == cores


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_ctrl_c_in_a_terminal_is_quiet(executor, tmp_path, hold_dir):
    """Ctrl-C reaches every process of the terminal's group: only the sweep speaks."""
    experiment = small_experiment(tmp_path)
    out = tmp_path / "out"
    hold = Hold(hold_dir, "p00000-r0002")
    extra = ["--cluster", "local"] if executor == "dask" else ["--cluster", "none"]
    process = subprocess.Popen(
        [*SWEEP, str(experiment), "--out", str(out), "--workers", "2", "--chunk-size", "1", *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=hold.env,
        start_new_session=True,  # a group of its own, as a terminal's foreground job
    )
    hold.started("p00000-r0002", lambda: process.poll() is None)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    # -2 would be a KeyboardInterrupt that escaped the command (seen once under load)
    assert process.returncode == 130, stderr[-2000:]
    lines = [line for line in stderr.splitlines() if line.strip() and "runs:" not in line]
    assert lines[0].startswith("small: 4 points x 3 replicates = 12 runs on ")
    assert lines[1].startswith("interrupted: ") and lines[1].endswith("--resume to finish")
    assert len(lines) == 2, stderr
    assert batch.read_manifest(out)["status"] == "interrupted"


# --------------------------------------------------------------------------- windows


def test_local_processes_submit_a_few_jobs_per_worker_and_keep_the_order():
    jobs = CountingJobs(1000)
    with executors.LocalProcesses(2) as executor:
        results = iter(executor.map(abs, jobs))
        assert next(results) == 0
        assert jobs.taken <= executor.workers * executors.IN_FLIGHT_PER_WORKER
        assert list(results) == list(range(1, 1000))


def test_the_app_keeps_a_few_jobs_per_worker_in_flight(monkeypatch):
    from ui import runner

    class Watched(executors.InProcess):
        """Runs jobs here, and records how far submissions ran ahead of the results
        the app stored."""

        workers = 2
        default_window = executors.LocalProcesses.default_window
        submitted, stored, ahead = 0, 0, 0

        def _submit(self, fn, job):
            self.submitted += 1
            self.ahead = max(self.ahead, self.submitted - self.stored)
            future = Future()
            future.set_result(f"digest of {job}")
            return future

    watched = Watched()
    monkeypatch.setattr(runner, "executor", lambda: watched)
    stamp = time.time_ns()
    jobs = [(f"window test {stamp}", seed) for seed in range(100)]

    def progress(done: int, total: int) -> None:
        watched.stored = done

    digests = runner.run_jobs(jobs, progress)
    assert digests == [f"digest of {job}" for job in jobs]
    assert watched.submitted == 100
    assert 1 < watched.ahead <= 2 * executors.IN_FLIGHT_PER_WORKER
