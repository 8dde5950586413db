"""Running scenarios: one run, or replicates of several scenarios on an executor.

Replicate ``r`` of a scenario with seed ``s`` runs with seed ``s + r``
(:mod:`simulation.inputs.seeds`), so any replicate can be rerun alone with
``python -m simulation run --seed``. Every scenario in a comparison gets the same
seeds: common random numbers, so differences come from the scenarios. Where the runs
go (this process, local processes, Dask) is the executor's business
(:mod:`simulation.running.executors`); the results are the same.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulation.analysis.digest import RunDigest, digest
from simulation.analysis.metrics import compute_kpis
from simulation.inputs.scenario import Scenario
from simulation.inputs.seeds import replicate_seed
from simulation.model.org_model import OrgModel, as_scenario
from simulation.model.records import RunRecords
from simulation.running.executors import Executor, InProcess


@dataclass
class RunResult:
    """One run's records and KPIs.

    Args:
        records: what happened, as tables (daily, items, units, events).
        kpis: the run's KPIs, :func:`simulation.analysis.metrics.compute_kpis`.
    """

    records: RunRecords
    kpis: dict[str, Any]


def run_scenario(
    scenario: Scenario | str | Path | dict,
    seed: int | None = None,
    days: int | None = None,
    on_day: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run one scenario to its horizon; ``on_day(day, horizon)`` reports progress.

    The cyclic garbage collector waits while it runs (:func:`collector_waiting`)."""
    with collector_waiting():
        model = OrgModel(scenario, rng=seed, days=days)
        while model.running:
            model.step()
            if on_day is not None:
                on_day(model.steps, model.horizon)
        records = model.records()
        return RunResult(records, compute_kpis(records))


#: Allocations (net of frees) between young collections while a run goes on
#: (:func:`collector_waiting`); Python's default is 2,000. None: the default throughout.
RUN_GC_THRESHOLD: int | None = 1_000_000

_waiting_lock = threading.Lock()
_waiting_runs = 0
_threshold_before: tuple[int, ...] = ()


@contextmanager
def collector_waiting() -> Iterator[None]:
    """Python's cyclic garbage collector runs far less often inside this block: its
    young-generation threshold is raised to :data:`RUN_GC_THRESHOLD`, then restored.

    Why: a run makes no cyclic garbage while it goes (measured: the same 7 unreachable
    objects after 100 and 250 days of every ready-made structure), yet every 2,000
    allocations the collector walked the young objects, which survive (work items,
    records), and every 10th pass the older ones: 0.6 s of CPU in a 5,000-staff,
    100-day run (8%), and more per item the larger the heap. Objects still count
    (net of frees), so a mechanism that does make cycles is collected after a million
    allocations, not never; the model itself (a cycle) is freed by the first
    collection after the run. Results do not depend on when collections happen:
    Mesa's agent sets hold agents weakly, but an agent leaves them when it is removed
    (``Model.deregister_agent``), not when it is collected (golden KPIs unchanged). Runs
    in several threads share it: the first to start raises the threshold, the last to
    end restores it. ``RUN_GC_THRESHOLD = None`` switches it off.
    """
    global _waiting_runs, _threshold_before
    if RUN_GC_THRESHOLD is None:
        yield
        return
    with _waiting_lock:
        if _waiting_runs == 0:
            _threshold_before = gc.get_threshold()
            gc.set_threshold(RUN_GC_THRESHOLD, *_threshold_before[1:])
        _waiting_runs += 1
    try:
        yield
    finally:
        with _waiting_lock:
            _waiting_runs -= 1
            if _waiting_runs == 0:
                gc.set_threshold(*_threshold_before)


def replicate_kpis(job: tuple[Scenario, int, int | None]) -> dict[str, Any]:
    """One replicate, KPIs only: the unit of work sent to a process."""
    scenario, seed, days = job
    return run_scenario(scenario, seed=seed, days=days).kpis


def replicate_kpis_and_wip(job: tuple[Scenario, int, int | None]) -> tuple[dict, np.ndarray]:
    """One replicate's KPIs and daily WIP (day 1 first, a kilobyte a year): what a
    comparison needs to check the warm-up (:mod:`simulation.analysis.warmup`)."""
    scenario, seed, days = job
    result = run_scenario(scenario, seed=seed, days=days)
    daily = result.records.daily
    wip = daily["wip"].to_numpy(dtype=np.float32) if "wip" in daily else np.empty(0, np.float32)
    return result.kpis, wip


def run_replicates(
    scenarios: list[Scenario],
    replicates: int,
    seed: int | None = None,
    days: int | None = None,
    executor: Executor | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> list[list[dict[str, Any]]]:
    """KPIs of ``replicates`` runs of each scenario: ``result[scenario][replicate]``.

    Replicate ``r`` runs with seed ``seed + r`` (default: the first scenario's seed) in
    every scenario, on ``executor`` (default: this process); ``on_done(done, total)``
    reports progress."""
    return _map_replicates(replicate_kpis, scenarios, replicates, seed, days, executor, on_done)


def run_replicates_with_wip(
    scenarios: list[Scenario],
    replicates: int,
    seed: int | None = None,
    days: int | None = None,
    executor: Executor | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> tuple[list[list[dict[str, Any]]], list[list[np.ndarray]]]:
    """:func:`run_replicates`, and each run's daily WIP beside its KPIs:
    ``(kpis[scenario][replicate], wip[scenario][replicate])``."""
    pairs = _map_replicates(
        replicate_kpis_and_wip, scenarios, replicates, seed, days, executor, on_done
    )
    return [[k for k, _ in rs] for rs in pairs], [[w for _, w in rs] for rs in pairs]


def _map_replicates(work, scenarios, replicates, seed, days, executor, on_done) -> list[list]:
    """``work`` on every (scenario, seed, days) job, grouped by scenario."""
    scenarios = [as_scenario(s) for s in scenarios]
    base = seed if seed is not None else scenarios[0].seed
    jobs = [(s, replicate_seed(base, r), days) for s in scenarios for r in range(replicates)]
    flat = []
    for result in (executor or InProcess()).map(work, jobs):
        flat.append(result)
        if on_done:
            on_done(len(flat), len(jobs))
    return [flat[i * replicates : (i + 1) * replicates] for i in range(len(scenarios))]


def digest_result(result: RunResult) -> RunDigest:
    """The digest of one run: what comparisons, caches and charts keep of it."""
    return digest(result.records, result.kpis)


def run_digest(job: tuple[str, int]) -> RunDigest:
    """Run ``(scenario YAML, seed)`` and digest it: the unit of work sent to a process.

    Takes YAML text rather than a Scenario so the job is the same key the app caches on.
    """
    yaml_text, seed = job
    return digest_result(run_scenario(scenario_from_yaml(yaml_text), seed=seed))


def scenario_from_yaml(text: str) -> Scenario:
    """Scenario.from_yaml (its safe loader runs in C where libyaml is installed)."""
    return Scenario.from_yaml(text)
