"""Sweeps: run an experiment's runs on local processes or a Dask cluster, losing nothing.

Runs go out in chunks (so per-run overhead stays small) and come back in any order.
Chunks are made from the plan one at a time as the executor asks for them (a few per
worker ahead of the results), never a list of every run: the parent's memory grows with
what has finished, not with the design (:func:`plan_jobs`). A chunk never spans a run
already written, so the parts of a resumed sweep never overlap in run-id range. A point
of a large design whose scenario turns out invalid only when its runs are made (see
:mod:`simulation.inputs.experiment`) becomes error rows, like a run that raises.
Each finished chunk is written at once as its own Parquet file under ``parts/``
(written to a temporary name, then renamed: a part is there whole or not at all). A
resumed sweep reads the run ids already written and runs only the others, so an
interrupted sweep (Ctrl-C, a killed worker, a crashed machine) resumed gives exactly
the rows of an uninterrupted one, none twice. When every run is in, the parts are
gathered into ``results.parquet``, sorted by run id: identical whatever the executor,
worker count, chunk size or order of completion. Gathering streams the parts (a batch
of :data:`GATHER_ROWS` rows at a time), so it never holds every row either.

``manifest.json`` records what the rows come from: the experiment and the resolved base
scenario (each with a sha256 fingerprint of its canonical JSON), the code (package
version, git commit and whether the package had uncommitted changes) and the library
versions. ``--resume`` refuses to add rows when any of them changed, naming the first
difference, so no directory ever mixes rows of two set-ups. The manifest also names
the process running the sweep (pid, host, start time): a sweep whose status says
"running" but whose process is gone reads as "stopped" (:func:`read_manifest`).

Runs go to any executor (:mod:`simulation.running.executors`: this process, local
processes or Dask); worker processes exit with the sweep, however it ends. Run
``(point, replicate)`` runs with the seed ``experiment seed + replicate``
(:mod:`simulation.inputs.seeds`), written in its row, so ``python -m simulation run
SCENARIO --seed N`` reproduces any row alone.

A run that raises is recorded with its error (status ``error``) and the sweep goes on.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import platform
import socket
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulation.inputs.experiment import Plan, Run
from simulation.inputs.scenario import Scenario, ScenarioError
from simulation.inputs.seeds import SEED_SCHEME
from simulation.running.executors import Executor, InProcess
from simulation.running.processes import process_alive, process_start_time
from simulation.running.runs import run_scenario
from simulation.running.same_code import check_job
from simulation.version import source_fingerprint, version_info

MANIFEST = "manifest.json"
RESULTS = "results.parquet"
PARTS = "parts"
DAILY = "daily"

#: Test hook, inert unless set: a directory. A chunk whose first run id is listed in
#: ``DIR/hold`` (one per line) creates ``DIR/<run id>.started`` holding the pid of the
#: process running it, then waits until ``DIR/release`` exists; only the first time (a
#: chunk sent again after a lost worker goes straight on). Tests use it to act while a
#: sweep is provably mid-way, instead of guessing with sleeps. Where ``DIR/announce``
#: is a FIFO a test reads, the run id is also written to it: the test wakes at once
#: instead of looking for the file again (the file stays what counts).
TEST_HOLD = "CONVERGE_TEST_HOLD"


@dataclass
class Job:
    """One chunk of runs: what a worker needs, and nothing else."""

    runs: list[Run]
    scenarios: list[Scenario]
    points: list[dict[str, Any]]
    daily: bool = False
    hold: str | None = None  # the TEST_HOLD directory, read where the sweep started
    code: str | None = None  # the sender's source fingerprint: other code refuses the job
    #: The sweep's directory (absolute), when the worker writes the chunk's part itself
    #: (:func:`run_job`); None: the rows go back to the sweep, which writes them.
    out: str | None = None


@dataclass
class ChunkWritten:
    """What a worker that wrote its chunk's part (and daily series) hands back: only
    what the sweep counts, not the rows."""

    runs: int
    errors: int


def run_chunk(job: Job) -> tuple[list[dict[str, Any]], pd.DataFrame | None]:
    """Run every run of a chunk; a run that raises becomes an error row. A worker with
    other source files than the sender refuses the whole chunk (ScenarioError)."""
    check_job(job.code)
    if job.hold:
        hold_for_test(Path(job.hold), job.runs[0].id)
    rows, daily_frames = [], []
    for run, scenario, point in zip(job.runs, job.scenarios, job.points, strict=True):
        row: dict[str, Any] = {
            "run_id": run.id,
            "point": run.point,
            "replicate": run.replicate,
            "seed": run.seed,
            **point,
        }
        started = time.perf_counter()
        try:
            result = run_scenario(scenario, seed=run.seed)
        except Exception as exc:  # recorded, not raised: one bad run must not stop a sweep
            row.update(status="error", error=_one_line(exc))
        else:
            kpis = {k: v for k, v in result.kpis.items() if k not in ("scenario", "seed")}
            row.update(status="ok", error="", **kpis)
            if job.daily:
                daily_frames.append(result.records.daily.assign(run_id=run.id))
        row["elapsed_s"] = time.perf_counter() - started
        rows.append(row)
    daily = pd.concat(daily_frames, ignore_index=True) if daily_frames else None
    return rows, daily


def hold_for_test(folder: Path, run_id: str) -> None:
    """The TEST_HOLD hook: announce the chunk starting ``run_id`` and wait for release,
    if the test listed it and it has not been held before."""
    try:
        listed = (folder / "hold").read_text().split()
    except OSError:
        return
    if run_id not in listed:
        return
    announcement = folder / f"{run_id}.started.{os.getpid()}"
    announcement.write_text(str(os.getpid()))
    try:
        os.link(announcement, folder / f"{run_id}.started")  # appears whole, and only once
    except FileExistsError:
        return
    finally:
        announcement.unlink()
    _wake_test(folder / "announce", run_id)
    while not (folder / "release").exists():  # waits for the test, not for a time
        time.sleep(0.01)


def _wake_test(fifo: Path, run_id: str) -> None:
    """Write ``run_id`` to the test's FIFO, if there is one with a reader; never
    blocks (a test that is not listening sees the ``.started`` file all the same)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # no FIFO, or nobody reading it
        return
    try:
        os.write(fd, f"{run_id}\n".encode())  # one short write: atomic on a pipe
    except OSError:
        pass
    finally:
        os.close(fd)


def _one_line(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
    return f"{type(exc).__name__}: {exc}{at}".replace("\n", " ")


# --------------------------------------------------------------------------- storage


@dataclass
class SweepOutcome:
    """What one call of :func:`sweep` did.

    Args:
        total: Runs in the plan.
        skipped: Runs already written before this call (resume).
        ran: Runs done by this call.
        errors: Runs that raised (their rows carry the error).
        elapsed_s: Wall-clock seconds of this call.
        complete: Whether every run of the plan is now written and gathered.
    """

    total: int
    skipped: int  # already written before this call (resume)
    ran: int
    errors: int
    elapsed_s: float
    complete: bool


def done_run_ids(out: Path) -> set[str]:
    """The ids of the runs already written in ``out``'s parts (what a resume skips)."""
    parts = sorted((out / PARTS).glob("*.parquet"))
    if not parts:
        return set()
    return set(pd.concat([pd.read_parquet(p, columns=["run_id"]) for p in parts])["run_id"])


def _write_atomically(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # named for the writer: a chunk a Dask retry runs twice at once cannot mix two
    # writes in one temporary file (both then rename the same bytes into place)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(temporary, index=False)
    os.replace(temporary, path)


def part_name(rows: list[dict[str, Any]]) -> str:
    """The file name of a chunk's part: ``<first run id>_<last run id>.parquet``."""
    return f"{rows[0]['run_id']}_{rows[-1]['run_id']}.parquet"


def write_part(out: Path, rows: list[dict[str, Any]], daily: pd.DataFrame | None) -> None:
    """Write one chunk's rows (and daily series) under ``out``, each file whole or not
    at all: the one way a part is written, by the sweep or by a worker, so the bytes
    never depend on which."""
    name = part_name(rows)
    _write_atomically(pd.DataFrame(rows), out / PARTS / name)
    if daily is not None:
        _write_atomically(daily, out / DAILY / name)


def _manifest(out: Path, **fields: Any) -> dict[str, Any]:
    """Update manifest.json with ``fields``, written whole (a temporary file renamed): a
    sweep killed mid-write leaves the previous manifest, never half of one."""
    path = out / MANIFEST
    manifest = json.loads(path.read_text()) if path.exists() else {}
    manifest.update(fields)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(manifest, indent=2, default=str))
    os.replace(temporary, path)
    return manifest


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape results (missing ones left out)."""
    names = ["mesa", "numpy", "pandas", "networkx", "pydantic", "scipy", "pyarrow"]
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = version(name)
        except Exception:  # a missing optional package is just not listed
            continue
    return found


def fingerprint(data: Any) -> str:
    """sha256 of ``data`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@cache
def code_version() -> dict[str, Any]:
    """The code that runs (``simulation.version.version_info``): the package version and
    its commit, recorded when the wheel was built or read from git in a checkout,
    whether the package has uncommitted changes (None where unknown), and the
    fingerprint of its source files (``source``). Never fails."""
    return {**version_info(), "source": source_fingerprint()}


def sweep_identity(plan: Plan) -> dict[str, Any]:
    """What a sweep's rows depend on: recorded in the manifest when the sweep starts,
    and checked when it is resumed."""
    # a plain sweep's experiment as before studies existed: its resume still matches
    unset = {"study"} if plan.experiment.study is None else None
    experiment = plan.experiment.model_dump(mode="json", exclude=unset)
    base = plan.base.model_dump(mode="json")
    return {
        "experiment": experiment,
        "base_scenario": base,
        "fingerprints": {"experiment": fingerprint(experiment), "base_scenario": fingerprint(base)},
        "code": code_version(),
        "versions": package_versions(),
        "seeds": SEED_SCHEME,
    }


def check_output(plan: Plan, out: Path, resume: bool, allow_code_change: bool = False) -> None:
    """Refuse (ScenarioError) an ``out`` that would mix two set-ups; write nothing.

    Resuming is refused while the sweep still runs on this machine, when the experiment
    or its resolved base scenario changed (naming the first difference), and, unless
    ``allow_code_change``, when the code or the library versions changed."""
    if (out / MANIFEST).exists():
        if not resume:
            raise ScenarioError(
                "--out",
                f"{out} already holds a sweep: add --resume to continue "
                "it, or choose another directory",
            )
        previous = _previous_manifest(out)
        _refuse_if_running(previous, out)
        _refuse_if_changed(previous, sweep_identity(plan), out, allow_code_change)
    elif out.exists() and not out.is_dir():
        raise ScenarioError("--out", f"{out} is a file, not a directory")
    elif out.exists() and any(out.iterdir()):
        raise ScenarioError("--out", f"{out} is not empty and holds no sweep")


def prepare_output(plan: Plan, out: Path, resume: bool, allow_code_change: bool = False) -> None:
    """:func:`check_output`, then start the manifest, or note the resume in it."""
    check_output(plan, out, resume, allow_code_change)
    identity = sweep_identity(plan)
    if (out / MANIFEST).exists():
        previous = read_manifest(out)
        resumes = [*previous.get("resumes", []), {"at": _now(), "code": identity["code"]}]
        _manifest(out, resumes=resumes)
        return
    out.mkdir(parents=True, exist_ok=True)
    _manifest(
        out,
        **identity,
        started=_now(),
        runs_total=plan.run_count,
        points=plan.point_count,
        replicates=plan.experiment.replicates,
        parameters=plan.parameter_names,
    )


def _previous_manifest(out: Path) -> dict[str, Any]:
    try:
        previous = read_manifest(out)
    except (OSError, ValueError):  # unreadable, or not JSON
        previous = None
    if not isinstance(previous, dict):
        raise ScenarioError("--resume", f"{out / MANIFEST} cannot be read as a sweep's manifest")
    return previous


def _refuse_if_running(previous: dict[str, Any], out: Path) -> None:
    # read_manifest turned a "running" sweep whose process is gone into "stopped"
    process = previous.get("process") or {}
    if previous.get("status") == "running" and process.get("host") == socket.gethostname():
        raise ScenarioError(
            "--resume",
            f"a sweep is still running in {out} (pid {process.get('pid')}): "
            "let it finish or stop it first",
        )


def _refuse_if_changed(
    previous: dict[str, Any], identity: dict[str, Any], out: Path, allow_code_change: bool
) -> None:
    changed = _difference(previous, identity, "experiment")
    if changed:
        raise ScenarioError("--resume", f"{out} holds a different experiment ({changed})")
    if previous.get("seeds") != identity["seeds"]:  # even with --allow-code-change
        raise ScenarioError(
            "--resume",
            f"{out} was swept with other replicate seeds "
            f"({previous.get('seeds') or 'SeedSequence spawn keys'}, not "
            f"{identity['seeds']}); sweep it into a new --out",
        )
    changed = _difference(previous, identity, "base_scenario")
    if changed:
        raise ScenarioError(
            "--resume",
            f"the base scenario changed since the sweep started ({changed}); "
            "sweep it into a new --out",
        )
    changed = _code_change(previous, identity)
    if changed and not allow_code_change:
        raise ScenarioError(
            "--resume",
            f"{changed}; resuming would mix rows of both: add --allow-code-change to resume anyway",
        )


def _difference(previous: dict[str, Any], identity: dict[str, Any], key: str) -> str | None:
    recorded = (previous.get("fingerprints") or {}).get(key) or fingerprint(previous.get(key))
    if recorded == identity["fingerprints"][key]:
        return None
    return first_difference(previous.get(key), identity[key]) or "its fingerprint differs"


def _code_change(previous: dict[str, Any], identity: dict[str, Any]) -> str | None:
    old, new = previous.get("code"), identity["code"]
    if not isinstance(old, dict):
        return "the sweep records no code version (an older Converge started it)"
    if old.get("version") != new["version"]:
        return (
            f"the package version changed since the sweep started "
            f"({old.get('version')} -> {new['version']})"
        )
    if (old.get("commit"), old.get("dirty")) != (new["commit"], new["dirty"]):
        return (
            f"the code changed since the sweep started "
            f"(commit {_commit_text(old)} -> {_commit_text(new)})"
        )
    if old.get("source") and old["source"] != new.get("source"):  # older manifests have none
        return (
            f"the source files changed since the sweep started (fingerprint "
            f"{old['source']} -> {new.get('source')}: uncommitted edits)"
        )
    libraries = first_difference(previous.get("versions") or {}, identity["versions"])
    if libraries:
        return f"the installed packages changed since the sweep started ({libraries})"
    return None


def _commit_text(code: dict[str, Any]) -> str:
    if not code.get("commit"):
        return "unknown (not a git checkout)"
    return code["commit"][:12] + (" with uncommitted changes" if code.get("dirty") else "")


def first_difference(old: Any, new: Any, path: str = "") -> str | None:
    """Where two JSON-like values first differ, as ``path: old -> new`` (e.g.
    ``work_types[0].arrival_rate: 1.0 -> 2.0``), or None when they are equal."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            where = f"{path}.{key}" if path else str(key)
            if key not in new or key not in old:
                return f"{where}: {_shown(old, key)} -> {_shown(new, key)}"
            found = first_difference(old[key], new[key], where)
            if found:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list):
        for index, (a, b) in enumerate(zip(old, new, strict=False)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        if len(old) != len(new):
            return f"{path}: {len(old)} items -> {len(new)} items"
        return None
    if type(old) is type(new) and old == new:
        return None
    return f"{path or 'the whole'}: {_short(old)} -> {_short(new)}"


def _shown(mapping: dict[str, Any], key: str) -> str:
    return _short(mapping[key]) if key in mapping else "(absent)"


def _short(value: Any, limit: int = 40) -> str:
    if isinstance(value, dict):
        return f"a mapping of {len(value)} entries"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _this_process() -> dict[str, Any]:
    """Names the sweep's process, so that a reader can tell whether it still runs."""
    pid = os.getpid()
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "started": process_start_time(pid),
        "boot": _boot_id(),
    }


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _process_gone(process: Any) -> bool:
    """Whether the process a manifest names is known to be gone. Only a process of this
    machine can be checked: one elsewhere is not known to be gone."""
    if not isinstance(process, dict) or process.get("host") != socket.gethostname():
        return False
    if process.get("boot") != _boot_id():  # the machine restarted since
        return True
    try:
        return not process_alive(int(process["pid"]), process.get("started"))
    except (KeyError, TypeError, ValueError):
        return False


def sweep(
    plan: Plan,
    out: Path,
    executor: Executor | None = None,
    resume: bool = False,
    chunk_size: int | None = None,
    daily: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    allow_code_change: bool = False,
) -> SweepOutcome:
    """Run every run of ``plan`` not yet written in ``out``; write each chunk as it lands.

    ``resume`` continues a sweep in ``out`` (see :func:`prepare_output` for what it
    refuses). Ctrl-C leaves the manifest "interrupted", an error "failed"; a sweep
    killed outright reads as "stopped" (:func:`read_manifest`)."""
    executor = executor or InProcess()
    prepare_output(plan, out, resume, allow_code_change)
    started = time.perf_counter()
    total = plan.run_count
    done = done_run_ids(out)
    hold = os.environ.get(TEST_HOLD) or None
    jobs = plan_jobs(
        plan,
        done,
        chunk_size,
        executor.workers,
        daily,
        str(Path(hold).resolve()) if hold else None,
        # workers that see this machine's files write their own parts (run_job)
        str(Path(out).resolve()) if executor.shares_files else None,
    )
    _manifest(
        out,
        status="running",
        process=_this_process(),
        executor=executor.name,
        workers=executor.workers,
        chunk_size=chunk_size or "guided",
    )
    finished, errors = 0, 0
    if on_progress:
        on_progress(len(done), total)
    try:
        # closing: however the loop ends, the executor stops its chunks at once
        with closing(executor.as_completed(run_job, jobs)) as results:
            for _, result in results:
                written = _written(out, result)
                finished += written.runs
                errors += written.errors
                if on_progress:
                    on_progress(len(done) + finished, total)
    except KeyboardInterrupt:
        _manifest(out, status="interrupted", runs_done=len(done) + finished)
        raise
    except BaseException as exc:
        _manifest(out, status="failed", runs_done=len(done) + finished, error=_one_line(exc))
        raise
    complete = len(done) + finished == total
    if complete:
        gather(out)
    _manifest(
        out,
        status="complete" if complete else "incomplete",
        runs_done=len(done) + finished,
        errors=errors + _errors_before(out, done),
        finished=_now(),
    )
    return SweepOutcome(total, len(done), finished, errors, time.perf_counter() - started, complete)


def _written(out: Path, result: ChunkWritten | tuple[list[dict[str, Any]], Any]) -> ChunkWritten:
    """What a job's result adds to the sweep: a worker wrote the part already, or the
    rows came back and are written here."""
    if isinstance(result, ChunkWritten):
        return result
    rows, daily = result
    write_part(out, rows, daily)
    return ChunkWritten(len(rows), _error_count(rows))


def _error_count(rows: list[dict[str, Any]]) -> int:
    return sum(row["status"] == "error" for row in rows)


def _errors_before(out: Path, done: set[str]) -> int:
    if not done:
        return 0
    errors = 0
    for part in sorted((out / PARTS).glob("*.parquet")):  # two columns, a part at a time
        frame = pd.read_parquet(part, columns=["run_id", "status"])
        errors += int(((frame["status"] == "error") & frame["run_id"].isin(done)).sum())
    return errors


#: Chunks per worker in flight at the start of a sweep: each chunk is half of a
#: worker's share of what is left, so chunks shrink as the sweep ends. Why half, not a
#: quarter as before: a chunk costs its worker 15-20 ms besides its runs (the job
#: sent, its part written: 80-odd columns to Parquet) and the sweep's gather 10 ms
#: more (the part read back), which against runs of 70-95 ms (the ready-made
#: organisations, 250 days, when this was measured; 40-70 ms since) is a fifth of a
#: single-run chunk. Halves gave 15 chunks for 60 runs on 2 workers instead of 27, and
#: still end in 7 single runs, so no worker waits for another's big last chunk
#: (benchmarks/batch.py, which now sweeps 120 runs).
CHUNKS_PER_WORKER = 2

#: Largest chunk: a chunk's rows are written only when it returns, so it bounds the
#: work an interruption loses.
MAX_CHUNK = 25


def guided_chunk_sizes(runs: int, workers: int) -> list[int]:
    """Chunk sizes for ``runs`` runs on ``workers`` workers, largest first ("guided"
    scheduling): each chunk takes half of a worker's share of the runs left
    (at most :data:`MAX_CHUNK`, at least one). Big chunks first spread the cost of
    sending and writing over many runs; single runs at the end keep one worker from
    finishing a big last chunk while the others wait (with equal chunks of 7 runs, 60
    runs on 2 workers split 5 chunks to 4: the sweep waits a whole chunk for one
    worker, a ninth of its time). Sizes never change a result: every run has its
    own seed."""
    sizes, left = [], runs
    while left > 0:
        size = guided_chunk_size(left, workers)
        sizes.append(size)
        left -= size
    return sizes


def guided_chunk_size(left: int, workers: int) -> int:
    """The next chunk's size when ``left`` runs are still to be sent
    (:func:`guided_chunk_sizes`)."""
    return max(1, min(MAX_CHUNK, left // (CHUNKS_PER_WORKER * max(1, workers))))


@dataclass
class InvalidPoint:
    """Runs of a point whose scenario turned out invalid when its runs were made (a
    large design is validated on a sample up front): they become error rows."""

    runs: list[Run]
    point: dict[str, Any]
    error: str

    def rows(self) -> list[dict[str, Any]]:
        """The error rows, with the columns :func:`run_chunk` writes."""
        return [
            {
                "run_id": run.id,
                "point": run.point,
                "replicate": run.replicate,
                "seed": run.seed,
                **self.point,
                "status": "error",
                "error": self.error,
                "elapsed_s": 0.0,
            }
            for run in self.runs
        ]


def run_job(
    job: Job | InvalidPoint,
) -> ChunkWritten | tuple[list[dict[str, Any]], pd.DataFrame | None]:
    """What a sweep sends to its executor: :func:`run_chunk` for a chunk, the error rows
    of an invalid point.

    A chunk that names the sweep's directory (``job.out``: the executor's workers see
    this machine's files) is written here, by the worker, and only a
    :class:`ChunkWritten` goes back. Why: on 2 cores the sweep's own process shares
    them with the workers, and turning a chunk's rows into Parquet (about 80 columns)
    took it 20-40 ms a part, with the pickled rows on top; written by the workers, that
    work runs in parallel and the sweep only counts (measured with
    benchmarks/batch.py). Same function, same bytes (:func:`write_part`)."""
    if isinstance(job, InvalidPoint):
        return job.rows(), None
    rows, daily = run_chunk(job)
    if job.out is None:
        return rows, daily
    write_part(Path(job.out), rows, daily)
    return ChunkWritten(len(rows), _error_count(rows))


def plan_jobs(
    plan: Plan,
    done: set[str],
    chunk_size: int | None,
    workers: int,
    daily: bool = False,
    hold: str | None = None,
    out: str | None = None,
) -> Iterator[Job | InvalidPoint]:
    """The jobs of the runs of ``plan`` not in ``done``, made one at a time as the
    executor asks (never a list of every run): chunks of ``chunk_size`` runs, or guided
    sizes (:func:`guided_chunk_size`) from the count of runs left. A chunk never spans
    a run already written, so the parts of a resumed sweep never overlap in run-id
    range; the runs of a point whose scenario is invalid go out as their own
    :class:`InvalidPoint`. ``out``: the sweep's directory, for workers that write
    their chunks' parts themselves (:func:`run_job`)."""
    left = plan.run_count - len(done)
    chunk: list[Run] = []

    def size() -> int:
        return chunk_size or guided_chunk_size(left, workers)

    for run in plan.iter_runs():
        if run.id in done:
            if chunk:
                yield from _point_jobs(plan, chunk, daily, hold, out)
                left -= len(chunk)
                chunk = []
            continue
        chunk.append(run)
        if len(chunk) >= size():
            yield from _point_jobs(plan, chunk, daily, hold, out)
            left -= len(chunk)
            chunk = []
    if chunk:
        yield from _point_jobs(plan, chunk, daily, hold, out)


def _point_jobs(
    plan: Plan, chunk: list[Run], daily: bool, hold: str | None, out: str | None
) -> Iterator[Job | InvalidPoint]:
    """``chunk`` as one Job, or split around the runs of points found invalid."""
    valid: list[Run] = []
    scenarios: list[Scenario] = []
    points: list[dict[str, Any]] = []
    for index, runs in itertools.groupby(chunk, key=lambda r: r.point):
        runs = list(runs)
        point = plan.point(index)
        try:
            scenario = plan.scenario(index)
        except ScenarioError as exc:
            if valid:
                yield Job(valid, scenarios, points, daily, hold, source_fingerprint(), out)
                valid, scenarios, points = [], [], []
            yield InvalidPoint(runs, point, str(exc).replace("\n", " "))
            continue
        valid.extend(runs)
        scenarios.extend([scenario] * len(runs))
        points.extend([point] * len(runs))
    if valid:
        yield Job(valid, scenarios, points, daily, hold, source_fingerprint(), out)


def load_parts(out: Path) -> pd.DataFrame:
    """Every part file of ``out`` in one frame, unsorted; empty when there are none."""
    parts = sorted((out / PARTS).glob("*.parquet"))
    if not parts:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


#: Rows gathered into one row group of results.parquet (or daily.parquet) before it is
#: written: what bounds the parent's memory while gathering (tens of MB at most), and
#: big enough that the file reads fast (a part of a few runs per row group would not).
GATHER_ROWS = 20_000


def gather(out: Path) -> int:
    """Join the parts of a finished sweep into results.parquet (and daily.parquet when
    daily series were kept), in run order (sorted by run id, point then replicate);
    returns the number of rows.

    Parts are streamed, a batch of :data:`GATHER_ROWS` rows at a time, so the parent
    never holds every row: the file is the one ``pd.concat`` of every part, sorted,
    would give (same columns in the same order, same dtypes, same values), parts of
    only errors lacking the KPI columns included.
    """
    rows = _gather_parts(sorted((out / PARTS).glob("*.parquet")), out / RESULTS, ["run_id"])
    daily_parts = sorted((out / DAILY).glob("*.parquet"))
    if daily_parts:
        _gather_parts(daily_parts, out / "daily.parquet", ["run_id", "day"])
    return rows


def _gather_parts(parts: list[Path], path: Path, order: list[str]) -> int:
    """Write ``parts`` into ``path`` as one table sorted by ``order``, a batch at a time
    when the parts' run-id ranges follow each other (they do for every sweep since
    chunks never span a run already written); in memory otherwise."""
    if not parts:
        _write_atomically(pd.DataFrame(), path)
        return 0
    ordered = _in_run_order(parts)
    if ordered is None:  # parts of an older Converge's resume may overlap
        frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
        frame = frame.sort_values(order, key=_run_order).reset_index(drop=True)
        _write_atomically(frame, path)
        return len(frame)
    parts = ordered
    read: dict[Path, pd.DataFrame] = {}  # one part of each kind, read for its dtypes
    target = _gathered_columns(parts, read)
    schema = _gathered_schema(parts, target, order)
    temporary = path.with_suffix(".tmp")
    rows = 0
    with pq.ParquetWriter(temporary, schema) as writer:
        for batch in _batches(parts, target, order, read):
            writer.write_table(pa.Table.from_pandas(batch, preserve_index=False).cast(schema))
            rows += len(batch)
    os.replace(temporary, path)
    return rows


def run_number(run_id: str) -> int:
    """Where run ``p<point>-r<replicate>`` comes in run order, as one integer: ids of
    different widths (points from 100,000 on) sort by it where their text would not."""
    point, replicate = run_id.removeprefix("p").split("-r")
    return int(point) * RUN_NUMBER_BASE + int(replicate)


#: More than any replicate number (experiment.MAX_COUNT): ``run_number`` stays below 2^63.
RUN_NUMBER_BASE = 10**9 + 1


def _in_run_order(parts: list[Path]) -> list[Path] | None:
    """``parts`` ordered by their runs, when each part's runs all come after the
    previous part's (read from the names, ``<first run id>_<last run id>.parquet``);
    None when two parts' ranges overlap or a name is not such a range."""
    try:
        ranges = sorted((*map(run_number, _first_and_last(p)), p) for p in parts)
    except ValueError:
        return None
    if all(before[1] < after[0] for before, after in itertools.pairwise(ranges)):
        return [part for *_, part in ranges]
    return None


def _first_and_last(part: Path) -> tuple[str, str]:
    first, last = part.stem.split("_")  # ValueError unless a range
    return first, last


def _run_order(column: pd.Series) -> pd.Series:
    """Sort key of a part's columns: run ids by :func:`run_number`, others as they are."""
    return column.map(run_number) if column.name == "run_id" else column


def _gathered_columns(
    parts: list[Path], read: dict[Path, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """An empty frame with the columns and dtypes ``pd.concat`` of every part would
    have: the concat of one empty frame per kind of part (same Parquet schema), as the
    dtypes of a concat depend on the parts' dtypes alone (pandas 3). The parts read
    whole for that are left in ``read``, so that gathering does not read them twice."""
    kinds: dict[pa.Schema, Path] = {}
    for part in parts:  # a part's schema is in its footer: the rows are not read
        kinds.setdefault(pq.read_schema(part), part)
    read = {} if read is None else read
    for part in kinds.values():
        read[part] = read_part(part)
    return pd.concat([read[part].head(0) for part in kinds.values()], ignore_index=True)


def read_part(path: Path) -> pd.DataFrame:
    """A part as ``pd.read_parquet`` reads it (same frame, same dtypes), in about 60%
    of its time: a part is one small row group, which ``ParquetFile.read`` on this
    thread reads without the dataset machinery and thread pool of ``pd.read_parquet``
    (4 ms a part of 80-odd columns saved, at the end of the sweep when nothing else
    runs). With pandas 3, pandas' own reader is this ``to_pandas`` with no types
    mapper (strings become pandas' ``str`` in pyarrow itself); a test holds the two
    equal on every kind of part."""
    return pq.ParquetFile(path).read(use_threads=False).to_pandas()


def _aligned(frame: pd.DataFrame, target: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """``frame`` sorted, with ``target``'s columns (missing ones empty) and dtypes."""
    frame = frame.sort_values(order, key=_run_order)
    if list(frame.columns) == list(target.columns) and frame.dtypes.equals(target.dtypes):
        return frame  # the usual part: nothing to convert (converting costs 20 ms a part)
    frame = pd.concat([target, frame], ignore_index=True)[list(target.columns)]
    return frame.astype(target.dtypes.to_dict())


def _gathered_schema(parts: list[Path], target: pd.DataFrame, order: list[str]) -> pa.Schema:
    """The Arrow schema of the gathered table: each column's type from its dtype, and
    for object columns the type the values of every part need (the one pyarrow would
    infer from the whole column)."""
    schema = pa.Schema.from_pandas(target, preserve_index=False)
    objects = [c for c in target.columns if target[c].dtype == object]
    if not objects:
        return schema
    inferred = [
        pa.Schema.from_pandas(
            _aligned(pd.read_parquet(p), target, order)[objects], preserve_index=False
        )
        for p in parts
    ]
    unified = pa.unify_schemas(
        [s.remove_metadata() for s in inferred], promote_options="permissive"
    )
    for name in objects:
        schema = schema.set(schema.get_field_index(name), unified.field(name))
    return schema


def _batches(
    parts: list[Path],
    target: pd.DataFrame,
    order: list[str],
    read: dict[Path, pd.DataFrame] | None = None,
) -> Iterator[pd.DataFrame]:
    """The parts, each sorted, joined into batches of about :data:`GATHER_ROWS` rows
    aligned to ``target``, in order; a part in ``read`` is taken from there (and
    dropped from it) instead of read again."""
    read = {} if read is None else read
    pending: list[pd.DataFrame] = []
    size = 0
    for part in parts:
        frame = read.pop(part) if part in read else read_part(part)
        frame = frame.sort_values(order, key=_run_order)
        pending.append(frame)
        size += len(frame)
        if size >= GATHER_ROWS:
            yield _joined(pending, target)
            pending, size = [], 0
    if pending:
        yield _joined(pending, target)


def _joined(frames: list[pd.DataFrame], target: pd.DataFrame) -> pd.DataFrame:
    """``frames`` in one, with ``target``'s columns (missing ones empty) and dtypes:
    what :func:`_aligned` on each and then a concat give, in one concat and one cast.
    Why: a list design's points name different parameters, so most of its parts lack
    a column or two, and aligning 80-odd columns part by part cost 15-40 ms a part,
    at the end of the sweep, when nothing else runs (benchmarks/batch.py)."""
    columns = list(target.columns)
    if all(list(f.columns) == columns and f.dtypes.equals(target.dtypes) for f in frames):
        return pd.concat(frames, ignore_index=True)
    joined = pd.concat([target, *frames], ignore_index=True)[columns]
    return joined.astype(target.dtypes.to_dict())


def load_results(out: Path) -> pd.DataFrame:
    """A sweep's rows: the gathered results, or whatever parts an unfinished sweep left."""
    out = Path(out)
    if not (out / MANIFEST).exists():
        raise ScenarioError("", "holds no sweep (no manifest.json)", str(out))
    if (out / RESULTS).exists():
        return pd.read_parquet(out / RESULTS)
    parts = load_parts(out)
    if parts.empty:  # nothing written yet: no rows, not even a run_id column
        return parts
    return parts.sort_values("run_id", key=_run_order).reset_index(drop=True)


def read_manifest(out: Path) -> dict[str, Any]:
    """A sweep's manifest. A sweep that says "running" but whose process is gone (killed,
    crashed, the machine restarted) reads as "stopped"."""
    manifest = json.loads((Path(out) / MANIFEST).read_text())
    if (
        isinstance(manifest, dict)
        and manifest.get("status") == "running"
        and _process_gone(manifest.get("process"))
    ):
        manifest["status"] = "stopped"
    return manifest
