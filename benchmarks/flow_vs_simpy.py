"""Converge against SimPy on the same pure-flow queueing network, timed side by side.

With every mechanism switched off, Converge is a discrete-event simulator of a Jackson
network of M/M/c stations (see scenarios/pure_flow.yaml). This script runs ~50,000
Poisson arrivals through four stations (c = 1, 2, 3, 1 at 80% load each) in Converge
and in an equivalent SimPy model, in the same process, and prints wall time (best of
3), items per second, the Converge/SimPy ratio (target <= 0.5, issue 11) and both mean lead
times beside the Erlang-C value as a sanity check that both simulate the same system.
Two floors are timed beside them: stock Mesa's event list running as many no-op events,
and the bare chain in plain Python (a heap, FIFO queues, SimPy's records, no model):
what any Python engine costs before its own structure.
Both lead times use the KPI's estimator (items delivered between the warm-up and the
horizon), and the warm-up spans eight relaxation times of a station (theory.py), so that
``--load 0.94`` checks heavy-load accuracy too (issue 10): at that load a station needs
~50 days here (its relaxation time) to forget that it started empty.

    .venv/bin/python benchmarks/flow_vs_simpy.py [--quick] [--profile] [--load 0.94] [--paired]
        [--rates 1,2,5,20]

It ends with the same chain at 1, 2, 5 and 20 items a day (the same number of items,
at most 20,000 days): the fewer items a day, the more daily steps per item.
"""

from __future__ import annotations

import argparse
import gc
import math
import time
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from heapq import heappop, heappush
from itertools import count
from typing import Any

import mesa
import numpy as np
import simpy
from _common import add_repo_to_path, describe_machine, gc_time, profile_call, rule, verdict

add_repo_to_path()

from simulation.analysis.metrics import compute_kpis  # noqa: E402
from simulation.analysis.theory import chain_lead_time, chain_warmup_days  # noqa: E402
from simulation.inputs.scenario import Mechanisms  # noqa: E402
from simulation.limits import MAX_HORIZON_DAYS  # noqa: E402
from simulation.model.org_model import OrgModel  # noqa: E402

ARRIVAL_RATE = 20.0  # items per day: a high rate keeps the number of daily steps small
SERVERS = (1, 2, 3, 1)  # people per station (one discipline = one department = one station)
LOAD = 0.8  # utilisation of every station (--load)
SEED = 1
#: Converge's time over SimPy's on the same chain, at every arrival rate (issue 11).
TARGET = 0.5


def service_means(load: float = LOAD, rate: float = ARRIVAL_RATE) -> list[float]:
    """Mean service time per station (days) that gives ``load`` at ``rate`` items a day."""
    return [c * load / rate for c in SERVERS]


def stations(load: float = LOAD, rate: float = ARRIVAL_RATE) -> list[tuple[float, int]]:
    """The chain as theory.py takes it: (mean service time, servers) per station."""
    return list(zip(service_means(load, rate), SERVERS, strict=True))


def warmup_days(load: float = LOAD, rate: float = ARRIVAL_RATE) -> int:
    """Days before lead times count: eight relaxation times of a station (theory.py)."""
    return math.ceil(chain_warmup_days(rate, stations(load, rate)))


def theory_lead_time(load: float = LOAD, rate: float = ARRIVAL_RATE) -> float:
    """Jackson-network mean lead time of the chain (sum of the M/M/c sojourn times)."""
    return chain_lead_time(rate, stations(load, rate))


# --------------------------------------------------------------------------- Converge


def converge_scenario(days: int, load: float = LOAD, rate: float = ARRIVAL_RATE) -> dict[str, Any]:
    """The pure-flow chain as a scenario dict: siloed, fifo, every mechanism off."""
    names = [f"station{i + 1}" for i in range(len(SERVERS))]
    return {
        "name": "Benchmark: pure flow, 4 stations",
        "structure": "siloed",
        "seed": SEED,
        "horizon_days": days,
        "warmup_days": warmup_days(load, rate),
        "disciplines": [
            {"name": name, "side": "business" if i < 2 else "it", "headcount": c}
            for i, (name, c) in enumerate(zip(names, SERVERS, strict=True))
        ],
        "work_types": [
            {
                "name": "item",
                "arrival_rate": rate,
                "route": [
                    {"discipline": name, "effort": {"distribution": "exponential", "mean": m}}
                    for name, m in zip(names, service_means(load, rate), strict=True)
                ],
            }
        ],
        "levers": {"prioritisation": "fifo"},
        "mechanisms": {name: {"enabled": False} for name in Mechanisms.model_fields},
    }


def run_converge(scenario: dict[str, Any]) -> OrgModel:
    """Construct and run the model to its horizon (the part timed against SimPy)."""
    model = OrgModel(scenario)
    model.run_model()
    return model


# --------------------------------------------------------------------------- SimPy


@dataclass
class SimpyResult:
    """Per completed item: arrival time and lead time (days)."""

    arrivals: list[float]
    lead_times: list[float]


def run_simpy(days: int, load: float = LOAD, rate: float = ARRIVAL_RATE) -> SimpyResult:
    """The same chain in SimPy: one Resource per station, one process per item."""
    rng = np.random.default_rng(SEED)
    env = simpy.Environment()
    stations = [simpy.Resource(env, capacity=c) for c in SERVERS]
    means = service_means(load, rate)
    result = SimpyResult([], [])

    def item(env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        arrival = env.now
        for station, mean in zip(stations, means, strict=True):
            with station.request() as request:
                yield request
                yield env.timeout(float(rng.exponential(mean)))
        result.arrivals.append(arrival)
        result.lead_times.append(env.now - arrival)

    def source(env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        gap = 1.0 / rate
        while True:
            yield env.timeout(float(rng.exponential(gap)))
            env.process(item(env))

    env.process(source(env))
    env.run(until=days)
    return result


def paired_difference(scenario: dict[str, Any], load: float) -> tuple[int, float]:
    """Converge and SimPy on paired streams: SimPy gets the very items Converge admitted
    (arrival times and efforts). Items both delivered, and the largest difference in an
    item's lead time (days): zero unless the engines queue differently (issue 10)."""
    model = OrgModel(scenario)
    admitted: list[Any] = []
    admit = model.demand.admit

    def record_and_admit(item: Any) -> None:
        admitted.append(item)
        admit(item)

    model.demand.admit = record_and_admit
    model.run_model()
    env = simpy.Environment()
    stations = [simpy.Resource(env, capacity=c) for c in SERVERS]
    simpy_lead: dict[int, float] = {}

    def item(work: Any) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(work.arrival - env.now)
        for station, effort in zip(stations, work.stage_efforts, strict=True):
            with station.request() as request:
                yield request
                yield env.timeout(effort)
        simpy_lead[work.id] = env.now - work.arrival

    for work in admitted:
        env.process(item(work))
    env.run(until=scenario["horizon_days"])
    items = model.records().items.set_index("item")["lead_time"]
    both = items.index.intersection(list(simpy_lead))
    gap = max((abs(items[i] - simpy_lead[i]) for i in both), default=0.0)
    return len(both), gap


# --------------------------------------------------------------------------- mesa floor


class _Chain:
    """A callback that reschedules itself: events with no model work at all."""

    def __init__(self, model: mesa.Model, events: int, gap: float):
        self.model, self.left, self.gap = model, events, gap

    def fire(self) -> None:
        self.left -= 1
        if self.left > 0:
            self.model.schedule_event(self.fire, after=self.gap)


def run_mesa_floor(events: int, days: int, concurrent: int = 8) -> int:
    """``events`` no-op events through mesa's event list and daily steps, as Converge uses.

    What Converge would cost with no model code at all: the floor set by mesa.
    """
    model = mesa.Model(rng=SEED)
    chains = [
        _Chain(model, events // concurrent, days / (events // concurrent))
        for _ in range(concurrent)
    ]
    for chain in chains:
        model.schedule_event(chain.fire, after=chain.gap / 2)
    for _ in range(days):
        model.step()
    return sum(events // concurrent - chain.left for chain in chains)


# --------------------------------------------------------------------------- Python floor


def run_bare_python(days: int, load: float = LOAD, rate: float = ARRIVAL_RATE) -> SimpyResult:
    """The same chain with nothing but the queueing: one heap of (time, order, station,
    arrival) tuples, a FIFO queue and an idle count per station, draws taken from numpy
    in blocks, and SimPy's records (each item's arrival and lead time).

    No model, no agents, no mechanisms, no daily step: what a discrete-event chain costs
    in plain Python, the floor any Python engine's own structure (objects, calls,
    records, Mesa) is added to. Its draws come in blocks, as Converge's do; SimPy's
    model pays a numpy call per draw (about 5 an item), part of the gap to SimPy."""
    rng = np.random.default_rng(SEED)
    means = service_means(load, rate)
    block = 4096

    def draws(mean: float) -> Callable[[], float]:
        left: list[float] = []

        def draw() -> float:
            nonlocal left
            if not left:
                left = rng.exponential(mean, block).tolist()
            return left.pop()

        return draw

    gap, service = draws(1.0 / rate), [draws(m) for m in means]
    idle, queues = list(SERVERS), [deque() for _ in SERVERS]
    last = len(SERVERS) - 1
    result = SimpyResult([], [])
    order = count()
    heap: list[tuple[float, int, int, float]] = [(gap(), next(order), -1, 0.0)]
    while heap and heap[0][0] < days:  # as SimPy's run(until=days)
        now, _, station, arrival = heappop(heap)
        if station < 0:  # an arrival: the next one, and this item to station 0
            heappush(heap, (now + gap(), next(order), -1, 0.0))
            arrival = now
        else:  # station finished with the item: its server takes the next, or idles
            if queues[station]:
                waiting = queues[station].popleft()
                heappush(heap, (now + service[station](), next(order), station, waiting))
            else:
                idle[station] += 1
            if station == last:
                result.arrivals.append(arrival)
                result.lead_times.append(now - arrival)
                continue
        station += 1
        if idle[station]:
            idle[station] -= 1
            heappush(heap, (now + service[station](), next(order), station, arrival))
        else:
            queues[station].append(arrival)
    return result


def events_scheduled(model: mesa.Model) -> int:
    """Events that went through the model's event list (its sequence counter)."""
    return next(model._event_list._order)


# --------------------------------------------------------------------------- arrival rates

#: Chain rates of the range (items a day): fewer items a day means more daily steps per
#: item, where Converge's per-day costs (the daily series) weigh most (issue 11).
RATES = (1.0, 2.0, 5.0, 20.0)


def rate_range(rates: list[float], items: int, repeats: int, load: float) -> None:
    """One line per arrival rate: best-of-``repeats`` wall time of Converge and SimPy on
    the same chain with ``items`` arrivals (or 20,000 days, the longest horizon)."""
    print(
        f"{'items/day':>9}{'days':>8}{'items':>9}{'Converge s':>12}{'SimPy s':>9}"
        f"{'ratio':>7}{'us/item':>9}{'lead vs theory':>16}  target"
    )
    for rate in rates:
        days = min(round(items / rate), MAX_HORIZON_DAYS)
        warmup = warmup_days(load, rate)
        scenario = converge_scenario(days, load, rate)
        converge, simpy_phase = Phase(), Phase()
        for _ in range(max(1, repeats)):
            model = timed(converge, lambda sc=scenario: run_converge(sc))
            timed(simpy_phase, lambda d=days, r=rate: run_simpy(d, load, r))
        frame = model.records().items
        lead = frame.loc[frame["done"] >= warmup, "lead_time"].mean()
        done = model.recorder.completed
        ratio = converge.wall / simpy_phase.wall
        print(
            f"{rate:>9g}{days:>8,}{done:>9,}{converge.wall:>12.3f}{simpy_phase.wall:>9.3f}"
            f"{ratio:>7.2f}{converge.wall / done * 1e6:>9.0f}"
            f"{lead / theory_lead_time(load, rate) - 1:>16.1%}  {verdict(ratio <= TARGET)}"
        )


# --------------------------------------------------------------------------- report


@dataclass
class Phase:
    """Best wall time, best CPU time and GC pauses (of the best-wall repetition), seconds."""

    wall: float = math.inf
    cpu: float = math.inf
    gc: float = 0.0

    def keep(self, wall: float, cpu: float, collecting: float) -> None:
        if wall < self.wall:
            self.wall, self.gc = wall, collecting
        self.cpu = min(self.cpu, cpu)


def timed[T](phase: Phase, fn: Callable[[], T]) -> T:
    """Run ``fn()`` once, keep its times in ``phase`` if they are the best, return its result."""
    gc.collect()
    with gc_time() as collector:
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
    phase.keep(wall, cpu, collector.seconds)
    return result


def main() -> None:
    """Run both simulators, print the comparison and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 items instead of 50,000")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions (best is kept)")
    parser.add_argument("--profile", action="store_true", help="also cProfile one Converge run")
    parser.add_argument("--load", type=float, default=LOAD, help="utilisation of every station")
    parser.add_argument(
        "--paired", action="store_true", help="also feed SimPy Converge's items, compare each"
    )
    parser.add_argument(
        "--rates",
        default=",".join(f"{r:g}" for r in RATES),
        help="arrival rates (items a day) of the range table, comma-separated; '' for none",
    )
    args = parser.parse_args()
    if not 0 < args.load < 1:
        parser.error(f"--load: {args.load} must be between 0 and 1 (exclusive)")

    items = 10_000 if args.quick else 50_000
    days = round(items / ARRIVAL_RATE)
    means = service_means(args.load)
    theory = theory_lead_time(args.load)
    warmup = warmup_days(args.load)
    if warmup >= days:
        parser.error(f"--load: {args.load} needs a {warmup}-day warm-up, longer than the run")
    scenario = converge_scenario(days, args.load)

    rule("Pure flow: Converge vs SimPy")
    describe_machine()
    print(
        f"arrival rate {ARRIVAL_RATE:g}/day, {days} days (~{items:,} arrivals), "
        f"stations c = {SERVERS}, mean service {[round(m, 3) for m in means]} days, "
        f"load {args.load:.0%} each, warm-up {warmup} days; best of {args.repeats}"
    )

    # Interleave the repetitions so that background load hits every side alike.
    converge, records_phase, kpis, simpy_phase, floor = Phase(), Phase(), Phase(), Phase(), Phase()
    bare_phase = Phase()
    for _ in range(max(1, args.repeats)):
        model = records = sim = bare = None  # free the previous repetition before timing
        model = timed(converge, lambda: run_converge(scenario))
        converge_events = events_scheduled(model)
        records = timed(records_phase, model.records)
        timed(kpis, lambda r=records: compute_kpis(r))
        sim = timed(simpy_phase, lambda: run_simpy(days, args.load))
        floor_events = timed(floor, lambda n=converge_events - days: run_mesa_floor(n, days))
        bare = timed(bare_phase, lambda: run_bare_python(days, args.load))

    items_frame = records.items
    converge_done = model.recorder.completed
    # the KPI's estimator on both sides: items delivered in [warm-up, horizon)
    converge_lead = items_frame.loc[items_frame["done"] >= warmup, "lead_time"].mean()
    lead_times = np.asarray(sim.lead_times)
    simpy_lead = float(lead_times[np.asarray(sim.arrivals) + lead_times >= warmup].mean())
    simpy_done = len(sim.lead_times)
    bare_lead = np.asarray(bare.lead_times)
    bare_lead = float(bare_lead[np.asarray(bare.arrivals) + bare_lead >= warmup].mean())

    c, p = converge, simpy_phase
    end_to_end = c.wall + records_phase.wall + kpis.wall
    rows: list[tuple[str, str, str]] = [
        ("items completed", f"{converge_done:,}", f"{simpy_done:,}"),
        ("wall time, build + run (s)", f"{c.wall:.3f}", f"{p.wall:.3f}"),
        ("  of which garbage collection (s)", f"{c.gc:.3f}", f"{p.gc:.3f}"),
        ("CPU time, build + run (s)", f"{c.cpu:.3f}", f"{p.cpu:.3f}"),
        ("items / second (wall)", f"{converge_done / c.wall:,.0f}", f"{simpy_done / p.wall:,.0f}"),
        (
            "us per item (wall)",
            f"{c.wall / converge_done * 1e6:.0f}",
            f"{p.wall / simpy_done * 1e6:.0f}",
        ),
        ("model.records() (s)", f"{records_phase.wall:.3f}", "-"),
        ("compute_kpis() (s)", f"{kpis.wall:.3f}", "-"),
        ("end to end (s)", f"{end_to_end:.3f}", f"{p.wall:.3f}"),
        ("mean lead time (days)", f"{converge_lead:.3f}", f"{simpy_lead:.3f}"),
        ("Erlang-C mean lead time (days)", f"{theory:.3f}", f"{theory:.3f}"),
        (
            "deviation from theory",
            f"{converge_lead / theory - 1:.1%}",
            f"{simpy_lead / theory - 1:.1%}",
        ),
        ("mesa events (incl. daily steps)", f"{converge_events:,}", "-"),
        ("stock mesa EventList alone (s)", f"{floor.wall:.3f}", "-"),
    ]
    print(f"\n{'':<34}{'Converge':>14}{'SimPy':>14}")
    for label, ours, theirs in rows:
        print(f"{label:<34}{ours:>14}{theirs:>14}")
    print(
        f"  (mesa alone = {floor_events:,} no-op events + {days} daily steps, no model code:\n"
        f"   the floor mesa's scheduler sets, {floor.wall / p.wall:.2f}x SimPy's whole run)"
    )
    per_item = bare_phase.wall / len(bare.lead_times) * 1e6
    print(
        f"\nbare Python chain (a heap of tuples and FIFO queues, SimPy's records, no model):\n"
        f"  {bare_phase.wall:.3f} s, {per_item:.0f} us an item, mean lead time "
        f"{bare_lead:.3f} days ({bare_lead / theory - 1:.1%} from Erlang C):\n"
        f"  {bare_phase.wall / p.wall:.2f}x SimPy; Converge takes {c.wall / bare_phase.wall:.1f}x "
        "its time, for its own structure"
    )

    ratio = c.wall / p.wall
    print(
        f"\n{'ratio Converge/SimPy, build + run, wall':<42}{ratio:5.2f}   target <= {TARGET:.2f}  "
        f"{verdict(ratio <= TARGET)}"
    )
    print(f"{'ratio Converge/SimPy, build + run, CPU':<42}{c.cpu / p.cpu:5.2f}   (information)")
    print(
        f"{'ratio Converge/SimPy, incl. records+KPIs':<42}{end_to_end / p.wall:5.2f}"
        "   (information)"
    )

    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    if rates:
        rule(f"The same chain at other arrival rates (Converge/SimPy, target <= {TARGET:.2f})")
        rate_range(rates, items, args.repeats, args.load)

    if args.paired:
        rule("Paired streams: SimPy fed Converge's items")
        both, gap = paired_difference(scenario, args.load)
        print(f"items delivered by both: {both:,}; largest lead-time difference {gap:.2e} days")

    if args.profile:
        rule("Where Converge's time goes (cProfile of one build + run)")
        profile_call(lambda: run_converge(scenario))


if __name__ == "__main__":
    main()
