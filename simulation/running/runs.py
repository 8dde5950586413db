"""Running scenarios: one run, or replicates of several scenarios on an executor.

Replicate ``r`` of a scenario with seed ``s`` runs with seed ``s + r``
(:mod:`simulation.inputs.seeds`), so any replicate can be rerun alone with
``python -m simulation run --seed``. Every scenario in a comparison gets the same
seeds: common random numbers, so differences come from the scenarios. Where the runs
go (this process, local processes, Dask) is the executor's business
(:mod:`simulation.running.executors`); the results are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    """Run one scenario to its horizon; ``on_day(day, horizon)`` reports progress."""
    model = OrgModel(scenario, rng=seed, days=days)
    while model.running:
        model.step()
        if on_day is not None:
            on_day(model.steps, model.horizon)
    records = model.records()
    return RunResult(records, compute_kpis(records))


def replicate_kpis(job: tuple[Scenario, int, int | None]) -> dict[str, Any]:
    """One replicate, KPIs only: the unit of work sent to a process."""
    scenario, seed, days = job
    return run_scenario(scenario, seed=seed, days=days).kpis


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
    scenarios = [as_scenario(s) for s in scenarios]
    base = seed if seed is not None else scenarios[0].seed
    jobs = [(s, replicate_seed(base, r), days) for s in scenarios for r in range(replicates)]
    flat = []
    for result in (executor or InProcess()).map(replicate_kpis, jobs):
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
