"""Running scenarios: one run, or replicates of several scenarios on local processes.

Replicate ``i`` of a scenario with seed ``s`` runs with seed ``s + i`` (numpy's
SeedSequence mixes nearby seeds into independent streams), so any replicate can be
rerun alone with ``python -m simulation run --seed``. Every scenario in a comparison
gets the same seeds: common random numbers, so differences come from the scenarios.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation.metrics import compute_kpis
from simulation.model import OrgModel, as_scenario
from simulation.records import RunRecords
from simulation.scenario import Scenario


@dataclass
class RunResult:
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
    workers: int | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> list[list[dict[str, Any]]]:
    """KPIs of ``replicates`` runs of each scenario: ``result[scenario][replicate]``."""
    scenarios = [as_scenario(s) for s in scenarios]
    jobs = [
        (s, (seed if seed is not None else scenarios[0].seed) + r, days)
        for s in scenarios
        for r in range(replicates)
    ]
    flat = list(map_jobs(replicate_kpis, jobs, workers, on_done))
    return [flat[i * replicates : (i + 1) * replicates] for i in range(len(scenarios))]


def process_context() -> multiprocessing.context.BaseContext:
    """How to start worker processes. ``fork`` where it is safe (Linux, and no other
    thread in this process): workers start at once with everything imported. Otherwise
    ``forkserver`` (a clean server process forks the workers; about two seconds to import
    once), or ``spawn`` where there is no forkserver."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform == "linux" and _threads_in_this_process() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["simulation.batch"])
        return context
    return multiprocessing.get_context("spawn")


def _threads_in_this_process() -> int:
    """Operating-system threads, native ones (Arrow's, BLAS's) included."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def map_jobs(
    fn: Callable[[Any], Any],
    jobs: list[Any],
    workers: int | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> Iterable[Any]:
    """``fn`` over ``jobs`` in order, on up to ``workers`` local processes."""
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    results: list[Any] = []
    if workers <= 1:
        for i, job in enumerate(jobs):
            results.append(fn(job))
            if on_done:
                on_done(i + 1, len(jobs))
        return results
    context = process_context()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for i, result in enumerate(pool.map(fn, jobs)):
            results.append(result)
            if on_done:
                on_done(i + 1, len(jobs))
    return results
