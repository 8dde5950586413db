"""Sweeps: run an experiment's runs on local processes or a Dask cluster, losing nothing.

Runs go out in chunks (so per-run overhead stays small) and come back in any order.
Each finished chunk is written at once as its own Parquet file under ``parts/``
(written to a temporary name, then renamed: a part is there whole or not at all). A
resumed sweep reads the run ids already written and runs only the others, so an
interrupted sweep (Ctrl-C, a killed worker, a crashed machine) resumed gives exactly
the rows of an uninterrupted one, none twice. When every run is in, the parts are
gathered into ``results.parquet``, sorted by run id: identical whatever the executor,
worker count, chunk size or order of completion.

A run that raises is recorded with its error (status ``error``) and the sweep goes on.
"""

from __future__ import annotations

import json
import os
import platform
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.experiment import Plan, Run
from simulation.runs import process_context, run_scenario
from simulation.scenario import Scenario, ScenarioError

MANIFEST = "manifest.json"
RESULTS = "results.parquet"
PARTS = "parts"
DAILY = "daily"

#: Restarts of a local process pool that lost a worker before the sweep gives up.
MAX_POOL_RESTARTS = 5


@dataclass
class Job:
    """One chunk of runs: what a worker needs, and nothing else."""

    runs: list[Run]
    scenarios: list[Scenario]
    points: list[dict[str, Any]]
    daily: bool = False


def run_chunk(job: Job) -> tuple[list[dict[str, Any]], pd.DataFrame | None]:
    """Run every run of a chunk; a run that raises becomes an error row."""
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


def _one_line(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
    return f"{type(exc).__name__}: {exc}{at}".replace("\n", " ")


# --------------------------------------------------------------------------- executors


class Serial:
    """In this process, one chunk after the other."""

    name = "serial"
    workers = 1

    def map_unordered(self, fn: Callable, jobs: list[Job]) -> Iterator[Any]:
        for job in jobs:
            yield fn(job)

    def close(self) -> None:
        pass


class LocalProcesses:
    """A pool of local processes, started once (``start``) and kept for every sweep
    this executor runs. A worker that dies (killed, out of memory) breaks the pool; the
    chunks it had not returned are sent again to a fresh pool."""

    name = "processes"

    def __init__(self, workers: int):
        self.workers = workers
        self.restarts = 0  # pools lost to a dead worker
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> LocalProcesses:
        """Start the workers now (they import the model: about two seconds with
        forkserver), so that the first chunks do not wait for them."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=process_context())
            for started in [self._pool.submit(os.getpid) for _ in range(self.workers)]:
                started.result()
        return self

    def map_unordered(self, fn: Callable, jobs: list[Job]) -> Iterator[Any]:
        pending = dict(enumerate(jobs))
        for _ in range(MAX_POOL_RESTARTS + 1):
            pool = self.start()._pool
            futures = {pool.submit(fn, job): key for key, job in pending.items()}
            try:
                while futures:
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        key = futures.pop(future)
                        result = future.result()  # BrokenProcessPool if a worker died
                        del pending[key]
                        yield result
                return
            except BrokenProcessPool:
                self._discard()
                self.restarts += 1
                continue
            except BaseException:
                self._discard()
                raise
        raise RuntimeError(f"worker processes kept dying ({MAX_POOL_RESTARTS} restarts)")

    def _discard(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


class DaskCluster:
    """Dask distributed: a LocalCluster (``address="local"``) or an existing scheduler.

    Dask reschedules the tasks of a worker that dies on the others (``retries`` more
    times each); results come back as they complete.
    """

    name = "dask"

    def __init__(self, address: str, workers: int | None = None):
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        if address == "local":
            self.cluster = LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            )
            self.client = Client(self.cluster)
        else:
            self.client = Client(address, timeout="20s")
        self.address = self.client.scheduler.address
        self.workers = len(self.client.scheduler_info()["workers"])

    def map_unordered(self, fn: Callable, jobs: list[Job]) -> Iterator[Any]:
        from dask.distributed import as_completed

        futures = [self.client.submit(fn, job, pure=False, retries=3) for job in jobs]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(workers: int | None = None, cluster: str | None = None):
    """``cluster``: None (local processes), "local" (Dask LocalCluster) or a scheduler
    address; DASK_SCHEDULER_ADDRESS is used when set and no cluster is named."""
    cluster = cluster or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if cluster:
        return DaskCluster(cluster, workers)
    workers = workers or os.cpu_count() or 1
    return Serial() if workers == 1 else LocalProcesses(workers)


# --------------------------------------------------------------------------- storage


@dataclass
class SweepOutcome:
    total: int
    skipped: int  # already written before this call (resume)
    ran: int
    errors: int
    elapsed_s: float
    complete: bool


def done_run_ids(out: Path) -> set[str]:
    parts = sorted((out / PARTS).glob("*.parquet"))
    if not parts:
        return set()
    return set(pd.concat([pd.read_parquet(p, columns=["run_id"]) for p in parts])["run_id"])


def _write_atomically(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    frame.to_parquet(temporary, index=False)
    os.replace(temporary, path)


def _manifest(plan: Plan, out: Path, **fields: Any) -> dict[str, Any]:
    path = out / MANIFEST
    manifest = json.loads(path.read_text()) if path.exists() else {}
    manifest.update(fields)
    path.write_text(json.dumps(manifest, indent=2, default=str))
    return manifest


def package_versions() -> dict[str, str]:
    names = ["mesa", "numpy", "pandas", "networkx", "pydantic", "scipy", "pyarrow"]
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = version(name)
        except Exception:  # a missing optional package is just not listed
            continue
    return found


def prepare_output(plan: Plan, out: Path, resume: bool) -> None:
    """Refuse to mix two experiments in one directory; start or continue the manifest."""
    experiment = plan.experiment.model_dump(mode="json")
    manifest_path = out / MANIFEST
    if manifest_path.exists():
        previous = json.loads(manifest_path.read_text()).get("experiment")
        if not resume:
            raise ScenarioError(
                "--out",
                f"{out} already holds a sweep: add --resume to continue "
                "it, or choose another directory",
            )
        if previous != experiment:
            raise ScenarioError("--resume", f"{out} holds a different experiment")
    elif any(out.glob("*")) if out.exists() else False:
        raise ScenarioError("--out", f"{out} is not empty and holds no sweep")
    out.mkdir(parents=True, exist_ok=True)
    if not manifest_path.exists():
        _manifest(
            plan,
            out,
            experiment=experiment,
            base_scenario=plan.base.model_dump(mode="json"),
            versions=package_versions(),
            started=datetime.now(UTC).isoformat(),
            runs_total=len(plan.runs),
            points=len(plan.points),
            replicates=plan.experiment.replicates,
            parameters=plan.parameter_names,
        )


def sweep(
    plan: Plan,
    out: Path,
    executor=None,
    resume: bool = False,
    chunk_size: int | None = None,
    daily: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> SweepOutcome:
    """Run every run of ``plan`` not yet written in ``out``; write each chunk as it lands."""
    executor = executor or Serial()
    prepare_output(plan, out, resume)
    started = time.perf_counter()
    runs = plan.runs
    done = done_run_ids(out)
    todo = [r for r in runs if r.id not in done]
    size = chunk_size or auto_chunk_size(len(todo), executor.workers)
    jobs = [
        Job(
            chunk,
            [plan.scenarios[r.point] for r in chunk],
            [plan.points[r.point] for r in chunk],
            daily,
        )
        for chunk in _chunks(todo, size)
    ]
    _manifest(
        plan,
        out,
        status="running",
        executor=executor.name,
        workers=executor.workers,
        chunk_size=size,
    )
    finished, errors = 0, 0
    if on_progress:
        on_progress(len(done), len(runs))
    try:
        for rows, daily_frame in executor.map_unordered(run_chunk, jobs):
            name = f"{rows[0]['run_id']}_{rows[-1]['run_id']}.parquet"
            _write_atomically(pd.DataFrame(rows), out / PARTS / name)
            if daily_frame is not None:
                _write_atomically(daily_frame, out / DAILY / name)
            finished += len(rows)
            errors += sum(r["status"] == "error" for r in rows)
            if on_progress:
                on_progress(len(done) + finished, len(runs))
    except KeyboardInterrupt:
        _manifest(plan, out, status="interrupted", runs_done=len(done) + finished)
        raise
    complete = len(done) + finished == len(runs)
    if complete:
        gather(out)
    _manifest(
        plan,
        out,
        status="complete" if complete else "incomplete",
        runs_done=len(done) + finished,
        errors=errors + _errors_before(out, done),
        finished=datetime.now(UTC).isoformat(),
    )
    return SweepOutcome(
        len(runs), len(done), finished, errors, time.perf_counter() - started, complete
    )


def _errors_before(out: Path, done: set[str]) -> int:
    if not done:
        return 0
    frame = load_parts(out)
    return int(((frame["status"] == "error") & frame["run_id"].isin(done)).sum())


def auto_chunk_size(runs: int, workers: int) -> int:
    """About four chunks per worker (load balance), at most 25 runs a chunk."""
    return max(1, min(25, runs // max(1, 4 * workers)))


def _chunks(items: list[Run], size: int) -> Iterable[list[Run]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_parts(out: Path) -> pd.DataFrame:
    parts = sorted((out / PARTS).glob("*.parquet"))
    if not parts:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def gather(out: Path) -> pd.DataFrame:
    frame = load_parts(out).sort_values("run_id").reset_index(drop=True)
    _write_atomically(frame, out / RESULTS)
    daily_parts = sorted((out / DAILY).glob("*.parquet"))
    if daily_parts:
        daily = pd.concat([pd.read_parquet(p) for p in daily_parts], ignore_index=True)
        daily = daily.sort_values(["run_id", "day"]).reset_index(drop=True)
        _write_atomically(daily, out / "daily.parquet")
    return frame


def load_results(out: Path) -> pd.DataFrame:
    """A sweep's rows: the gathered results, or whatever parts an unfinished sweep left."""
    out = Path(out)
    if not (out / MANIFEST).exists():
        raise ScenarioError("", "holds no sweep (no manifest.json)", str(out))
    if (out / RESULTS).exists():
        return pd.read_parquet(out / RESULTS)
    return load_parts(out).sort_values("run_id").reset_index(drop=True)


def read_manifest(out: Path) -> dict[str, Any]:
    return json.loads((Path(out) / MANIFEST).read_text())
