"""Cost per work item as the organisation grows from 60 to 250, 1,000, 2,500 and 5,000 people.

The default organisation (``Scenario()``: 57 staff, four work types) is scaled by one
factor applied to every discipline headcount, every work-type arrival rate and the
BRM count, so the load per person stays the same and the number of items grows with
headcount. Each size runs 100 days in the aligned structure (departments; 3 BRMs per
57 staff, as in scenarios/aligned.yaml, since the default has none) and in the
converged one (teams of 7, no BRMs). A flat cost per delivered item means the engine
scales linearly with organisation size; target: within 1.5x across headcounts.

When a structure misses the target (or with ``--profile``) the largest case is
profiled with cProfile and the functions whose own time per item grew most are listed.

    .venv/bin/python benchmarks/scaling.py [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import time
from dataclasses import dataclass

from _common import (
    ROOT,
    GcTime,
    add_repo_to_path,
    describe_machine,
    gc_time,
    profile_components,
    rule,
    timed_phases,
    verdict,
)

add_repo_to_path()

from simulation.analysis.metrics import compute_kpis  # noqa: E402
from simulation.inputs.scenario import Scenario, parse_scenario  # noqa: E402
from simulation.model.org_model import OrgModel  # noqa: E402
from simulation.running.runs import collector_waiting  # noqa: E402

DAYS = 100
HEADCOUNTS = (60, 250, 1_000, 2_500, 5_000)
STRUCTURES = ("aligned", "converged")
BASE_BRMS = {"aligned": 3, "converged": 0}
TEAM_SIZE = 7
TARGET_SPREAD = 1.5


def scaled_scenario(structure: str, headcount: int, days: int) -> Scenario:
    """The default organisation scaled to about ``headcount`` people, demand alike."""
    base = Scenario()
    factor = headcount / base.total_staff
    data = base.model_dump(mode="json")
    data.update(
        name=f"{structure} x{factor:.1f}",
        structure=structure,
        team_size=TEAM_SIZE,
        horizon_days=days,
        warmup_days=min(base.warmup_days, days - 1),
    )
    for discipline in data["disciplines"]:
        discipline["headcount"] = max(1, round(discipline["headcount"] * factor))
    for work_type in data["work_types"]:
        work_type["arrival_rate"] *= factor
    data["brms"]["count"] = round(BASE_BRMS[structure] * factor)
    return parse_scenario(data)


@dataclass
class Timing:
    """Wall time of the phases of one run (seconds) and what it produced."""

    build: float
    run: float
    records: float
    kpis: float
    catch_up: float  # the young collection the run left to do (see timed_run)
    gc: float  # garbage-collector CPU time, included in the phases above
    cpu: float  # CPU time of the whole run (this process)
    delivered: int
    units: int

    @property
    def total(self) -> float:
        return self.build + self.run + self.records + self.kpis + self.catch_up


def timed_run(scenario: Scenario) -> Timing:
    """One run, phase by phase; the same steps as ``simulation.running.runs.run_scenario``.

    The collector waits during a run (``runs.collector_waiting``), so what the run
    allocated is still young when it ends: the young collection that follows (which
    also frees the model, a cycle, once it is dropped) is charged to the run as
    ``catch_up``, so that waiting is not counted as saving work it only postponed.
    """
    gc.collect()  # every run starts from the same collector state
    with gc_time() as collector:
        cpu = time.process_time()
        phases, model, records = timed_phases(lambda: OrgModel(scenario))
        delivered, units = len(records.items), len(model.units)
        del model, records
        caught_up = time.perf_counter()
        gc.collect(0)
        caught_up = time.perf_counter() - caught_up
        cpu = time.process_time() - cpu
    return Timing(
        phases["build"],
        phases["run"],
        phases["records"],
        phases["kpis"],
        caught_up,
        collector.seconds,
        cpu,
        delivered,
        units,
    )


#: Rounds over the sizes: each round runs every size in turn, so that a burst of other
#: load on the shared machine falls on all of them alike, not on whichever size happened
#: to be running (until 2026-11-28 each size ran all its repetitions in one go, and one
#: run of the script gave 5,000 staff 127 us an item, the next 190).
ROUNDS = 3


def runs_per_round(staff: int) -> int:
    """Runs of a size in each round, best kept: many of the short runs, one of the long.

    A 60-staff run takes ~50 ms, so one burst of load from another process can double
    it, and the smallest organisation is the yardstick of every ratio: five a round
    cost a quarter of a second. A run of 500 staff or more takes a second or more: one.
    """
    if staff < 100:
        return 5
    return 3 if staff < 500 else 1


def best_timing(runs: list[Timing]) -> Timing:
    """The run with the least wall time, with the least CPU time of any run."""
    best = min(runs, key=lambda t: t.total)
    best.cpu = min(t.cpu for t in runs)
    return best


def rounds(scenarios: list[Scenario]) -> tuple[list[list[Timing]], list[float]]:
    """Every size's runs over :data:`ROUNDS` rounds, and each round's own ratio of CPU
    per item, largest organisation over smallest (how much the rounds agree)."""
    runs: list[list[Timing]] = [[] for _ in scenarios]
    ratios = []
    for _ in range(ROUNDS):
        per_item = []
        for scenario, kept in zip(scenarios, runs, strict=True):
            these = [timed_run(scenario) for _ in range(runs_per_round(scenario.total_staff))]
            kept.extend(these)
            per_item.append(min(t.cpu for t in these) / these[0].delivered)
        ratios.append(per_item[-1] / per_item[0])
        print(".", end="", flush=True, file=sys.stderr)  # progress, apart from the table
    print(file=sys.stderr)
    return runs, ratios


@dataclass
class Profiled:
    """One cProfile'd run: per function, own time (us) and calls per delivered item."""

    own_us: dict[str, float]
    calls: dict[str, float]
    stats: pstats.Stats
    collector: GcTime
    delivered: int


def profile_run(scenario: Scenario) -> Profiled:
    """cProfile one run (build, run, records, KPIs), normalised per delivered item."""
    gc.collect()
    profiler = cProfile.Profile()
    with gc_time() as collector, collector_waiting():  # as run_scenario runs it
        profiler.enable()
        model = OrgModel(scenario)
        while model.running:
            model.step()
        records = model.records()
        compute_kpis(records)
        profiler.disable()
    stats = pstats.Stats(profiler)
    delivered = max(1, len(records.items))
    own_us: dict[str, float] = {}
    calls: dict[str, float] = {}
    table = stats.stats  # type: ignore[attr-defined]
    for (filename, line, name), (_, ncalls, tottime, _, _) in table.items():
        short = filename.split("site-packages/")[-1].removeprefix(f"{ROOT}/")
        key = f"{short}:{line}({name})"
        own_us[key] = tottime / delivered * 1e6
        calls[key] = ncalls / delivered
    return Profiled(own_us, calls, stats, collector, delivered)


def explain_growth(small: Scenario, large: Scenario, top: int = 12) -> None:
    """Profile both sizes; list the functions whose own time per item grew most."""
    before, after = profile_run(small), profile_run(large)
    print(f"cProfile of {large.total_staff:,} staff (own time by component):")
    components = profile_components(after.stats)
    total = sum(components.values())
    for key, seconds in sorted(components.items(), key=lambda kv: -kv[1]):
        print(f"  {key:<52} {seconds:6.2f} s  {seconds / total:6.1%}")
    for label, run, scenario in (("small", before, small), ("large", after, large)):
        print(
            f"garbage collection, {label} ({scenario.total_staff:,} staff): "
            f"{run.collector.seconds:.2f} s, {run.collector.seconds / run.delivered * 1e6:.0f} "
            f"us/item, {run.collector.full_collections} full collections"
        )
    print(
        "(cProfile charges a GC pause to the function that allocated when it began:\n"
        " mostly weakref.py __new__, called by mesa's schedule_event)"
    )
    print(
        f"\nper delivered item, {small.total_staff:,} -> {large.total_staff:,} staff "
        "(own time in us under cProfile; calls), largest growth first:"
    )
    growth = {k: v - before.own_us.get(k, 0.0) for k, v in after.own_us.items()}
    print(f"  {'function':<60}{'us':>7}{'-> us':>7}{'+us':>7}{'calls':>7}{'-> calls':>9}")
    for key, extra in sorted(growth.items(), key=lambda kv: -kv[1])[:top]:
        print(
            f"  {key[-60:]:<60}{before.own_us.get(key, 0.0):>7.1f}{after.own_us[key]:>7.1f}"
            f"{extra:>7.1f}{before.calls.get(key, 0.0):>7.1f}{after.calls[key]:>9.1f}"
        )
    print(f"\ntop {top} functions by own time, {large.total_staff:,} staff:")
    after.stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    """Time every structure at every size and compare cost per delivered item."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 -> 500 -> 1,000 staff, 50 days")
    parser.add_argument("--profile", action="store_true", help="profile the largest case anyway")
    parser.add_argument(
        "--no-profile", action="store_true", help="no cProfile breakdown, even on a MISS"
    )
    args = parser.parse_args()
    days = 50 if args.quick else DAYS
    headcounts = (60, 500, 1_000) if args.quick else HEADCOUNTS

    rule(f"Scaling: cost per delivered item, {days} days per run")
    describe_machine()
    timed_run(scaled_scenario("aligned", headcounts[0], days))  # warm caches and lazy imports
    print(
        f"{'':<45}{'  ' + '-' * 20 + ' wall seconds ' + '-' * 16:<52}"
        f"{'  ' + '-' * 9 + ' CPU ' + '-' * 8:<24}"
    )
    print(
        f"{'structure':<11}{'staff':>7}{'units':>6}{'BRMs':>6}{'runs':>5}{'delivered':>10}"
        f"{'build':>7}{'run':>7}{'rec+kpi':>8}{'(gc)':>6}{'total':>7}{'us/item':>9}"
        f"{'x small':>8}{'total':>7}{'us/item':>9}{'x small':>8}"
    )
    missed: list[str] = []
    for structure in STRUCTURES:
        wall_us: list[float] = []
        cpu_us: list[float] = []
        scenarios = [scaled_scenario(structure, headcount, days) for headcount in headcounts]
        runs, round_ratios = rounds(scenarios)
        for scenario, these in zip(scenarios, runs, strict=True):
            t = best_timing(these)
            wall_us.append(t.total / t.delivered * 1e6)
            cpu_us.append(t.cpu / t.delivered * 1e6)
            print(
                f"{structure:<11}{scenario.total_staff:>7,}{t.units:>6}"
                f"{scenario.brms.count:>6}{len(these):>5}{t.delivered:>10,}{t.build:>7.2f}"
                f"{t.run:>7.2f}{t.records + t.kpis + t.catch_up:>8.2f}{t.gc:>6.2f}{t.total:>7.2f}"
                f"{wall_us[-1]:>9.0f}{wall_us[-1] / wall_us[0]:>8.2f}"
                f"{t.cpu:>7.2f}{cpu_us[-1]:>9.0f}{cpu_us[-1] / cpu_us[0]:>8.2f}",
                flush=True,
            )
        missed_here = False
        for label, values in (("wall", wall_us), ("CPU", cpu_us)):
            spread = max(values) / min(values)
            ok = spread <= TARGET_SPREAD
            missed_here |= not ok
            print(
                f"{'':<11}{structure}, {label:<4} per item: largest/smallest "
                f"{values[-1] / values[0]:.2f}x, max/min {spread:.2f}x   "
                f"target <= {TARGET_SPREAD}x  {verdict(ok)}"
            )
        print(
            f"{'':<11}{structure}, each round's own largest/smallest (CPU): "
            + ", ".join(f"{r:.2f}x" for r in round_ratios)
        )
        print()
        if missed_here:
            missed.append(structure)

    for structure in STRUCTURES if args.profile else [] if args.no_profile else missed:
        rule(f"Where the extra time per item goes: {structure}")
        explain_growth(
            scaled_scenario(structure, headcounts[0], days),
            scaled_scenario(structure, headcounts[-1], days),
        )


if __name__ == "__main__":
    main()
