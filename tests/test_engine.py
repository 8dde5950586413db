"""The small parts, alone: the clock, a unit's dispatch, a handoff, the mechanism hooks.

In the manner of SimPy's own tests: a tiny world, a few scheduled things, and the exact
sequence of what happened when.
"""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace

import mesa
import numpy as np
import pytest

from simulation import OrgModel
from simulation.engine.agents import Staff
from simulation.engine.clock import Clock
from simulation.engine.events import FastEventList, advance
from simulation.engine.flow import TaskFlow
from simulation.engine.units import Unit
from simulation.engine.work import Task, WorkItem
from simulation.inputs.scenario import Scenario
from simulation.mechanisms.base import Mechanism
from simulation.mechanisms.handoffs import CROSS_UNIT, Handoffs
from simulation.mechanisms.language import Language
from tests.conftest import ready_made, short


class Bench(mesa.Model):
    """A bare Mesa model that is a Workplace: a clock, a task flow at full productivity
    with no releases, and a log of every task finished, handoff begun and item
    delivered."""

    def __init__(self) -> None:
        super().__init__(rng=1)
        self._event_list = FastEventList.taking_over(self._event_list)
        self.clock = Clock(self._event_list)
        self.log: list[tuple] = []
        self.handoffs: Handoffs | None = None
        self.flow = TaskFlow(
            self.clock,
            task_rows=TaskLog(self.log),
            it_disciplines=set(),
            releases=SimpleNamespace(enabled=False),
            contact=self.contact,
            deliver=self.deliver,
        )
        self.flow.pass_on = self.pass_on
        self.flow.pace = SimpleNamespace(current=1.0)

    def _advance_time(self, until: float) -> None:
        advance(self, until)

    def contact(self, sender: Staff, receiver: Staff, now: float) -> None:
        self.log.append(("contact", now, sender.unique_id, receiver.unique_id))

    def pass_on(self, item: WorkItem, sender: Staff, finished: Task, now: float) -> None:
        self.log.append(("pass_on", now, item.id))
        if self.handoffs is not None:
            self.handoffs.pass_on(item, sender, finished, now)

    def deliver(self, item: WorkItem) -> None:
        self.log.append(("delivered", self.clock.now, item.id))


class TaskLog(list):
    """The task rows, each also written to the bench's log as it is appended."""

    def __init__(self, log: list[tuple]):
        super().__init__()
        self.log = log

    def append(self, row: tuple) -> None:
        super().append(row)
        item, resource, started, ended = row[0], row[4], row[7], row[8]
        self.log.append(("done", ended, item, resource, started))


def person(bench: Bench, discipline: str, unit: Unit, side: str = "it") -> Staff:
    staff = Staff(bench, discipline, side, None, 100.0)
    unit.join(staff)
    return staff


#: The work type of the bench's items (the event log names it).
WORK = SimpleNamespace(name="work")


def item(number: int, *tasks: Task, rank: int = 1) -> WorkItem:
    return WorkItem(id=number, type=WORK, arrival=0.0, plan=deque(tasks), rank=rank)


# -- the clock


def test_same_time_callbacks_run_in_the_order_they_were_scheduled():
    bench = Bench()
    ran = []
    bench.clock.schedule(2.0, ran.append, "b")
    bench.clock.schedule_at(1.0, ran.append, "a")
    bench.clock.schedule(2.0, ran.append, "c")
    bench.clock.schedule_at(0.5, lambda: ran.append(("now", bench.clock.now)))
    bench.run_until(3.0)
    assert ran == [("now", 0.5), "a", "b", "c"]
    assert bench.clock.now == 3.0


def test_calls_for_good_and_with_a_handle_share_one_order_with_mesas_events():
    """The hot paths' calls (at/after: no handle), cancellable ones and Mesa's own
    events tie-break in the order they were scheduled; Mesa's view of the list sees
    all but the cancelled."""
    bench = Bench()
    ran = []

    def mesas() -> None:
        ran.append("mesa")

    bench.clock.after(1.0, ran.append, "after")
    bench.schedule_event(mesas, at=1.0)  # Mesa holds a weak reference: keep it alive
    bench.clock.schedule(1.0, ran.append, "cancelled").cancel()
    bench.clock.at(1.0, ran.append, "at")
    bench.clock.schedule_at(1.0, ran.append, "handle")
    events = bench._event_list
    # the daily step, and four of the five above (the cancelled one is not counted)
    assert len(events) == 5
    assert [e.time for e in events.peek_ahead(5)] == [1.0] * 5
    bench.run_until(1.5)
    assert ran == ["after", "mesa", "at", "handle"]
    assert bench.clock.now == bench.time == 1.5


def test_a_cancelled_callback_never_runs():
    bench = Bench()
    ran = []
    bench.clock.schedule(1.0, ran.append, "kept")
    bench.clock.schedule(1.0, ran.append, "cancelled").cancel()
    bench.run_until(2.0)
    assert ran == ["kept"]


def test_a_call_put_back_with_again_takes_a_new_place_in_the_order_and_can_be_cancelled():
    """The day's end re-schedules its one handle each day (FastEventList.again): it goes
    after what was scheduled for the same time before it, and cancelling it still works."""
    bench = Bench()
    ran = []
    events = bench._event_list
    handle = events.call(1.0, lambda: ran.append(("daily", bench.clock.now)))
    bench.run_until(1.5)
    bench.clock.at(2.0, ran.append, "scheduled before")
    assert events.again(handle, 2.0) is handle
    bench.clock.at(2.0, ran.append, "scheduled after")
    bench.run_until(2.5)
    events.again(handle, 3.0).cancel()
    bench.run_until(4.0)
    assert ran == [("daily", 1.0), "scheduled before", ("daily", 2.0), "scheduled after"]


def test_a_recurring_callback_runs_every_interval_until_stopped():
    bench = Bench()
    ran = []
    programme = bench.clock.every(3.0, lambda: ran.append(bench.clock.now), start=1.0)
    bench.clock.schedule_at(7.5, programme.stop)
    bench.run_until(20.0)
    assert ran == [1.0, 4.0, 7.0]


def test_a_recurring_callback_schedules_its_next_run_after_it_ran():
    """What the callback schedules for the time of the next run comes first (as with
    Mesa's schedule_recurring), so same-time ties keep the order the model always had."""
    bench = Bench()
    ran = []

    def tick() -> None:
        ran.append(("tick", bench.clock.now))
        bench.clock.schedule(2.0, ran.append, ("echo", bench.clock.now + 2.0))

    bench.clock.every(2.0, tick)
    bench.run_until(4.5)
    assert ran == [("tick", 2.0), ("echo", 4.0), ("tick", 4.0)]


# -- a unit's dispatch


def test_a_unit_gives_tasks_to_the_longest_idle_specialist_then_the_cross_skilled():
    bench = Bench()
    dev = Unit(bench.clock, 0, "dev", "department", value_priority=False)
    ann, bob = person(bench, "dev", dev), person(bench, "dev", dev)
    cat = person(bench, "ops", dev)
    cat.proficiency["dev"] = 0.5  # takes twice as long
    dev.refresh_skills()
    for number in (1, 2, 3, 4):
        bench.flow.push(dev, item(number), Task("dev", 1.0), 0.0)
    assert (ann.item.id, bob.item.id, cat.item.id) == (1, 2, 3)
    assert (dev.busy, dev.queued) == (3, 1)
    bench.run_until(5.0)
    done = [entry for entry in bench.log if entry[0] == "done"]
    assert done == [
        ("done", 1.0, 1, ann.unique_id, 0.0),
        ("done", 1.0, 2, bob.unique_id, 0.0),
        ("done", 2.0, 3, cat.unique_id, 0.0),  # scheduled first, so first at t = 2
        ("done", 2.0, 4, ann.unique_id, 1.0),  # Ann was free first and took the waiting one
    ]
    assert (dev.busy, dev.queued) == (0, 0)
    assert dev.busy_area() == pytest.approx(1.0 + 1.0 + 2.0 + 1.0)


def test_a_route_task_shared_by_items_takes_each_items_own_effort():
    """A route's value tasks are built once and shared by its items (work.Demand): a
    task with no effort of its own takes its item's draw for its stage."""
    bench = Bench()
    dev = Unit(bench.clock, 0, "dev", "department", value_priority=False)
    person(bench, "dev", dev), person(bench, "dev", dev)
    stage = Task("dev", None)  # stage 0 of a route
    for number, effort in ((1, 0.5), (2, 2.0)):
        work = WorkItem(id=number, type=WORK, arrival=0.0, plan=deque(), stage_efforts=(effort,))
        bench.flow.push(dev, work, stage, 0.0)
    bench.run_until(3.0)
    assert [entry[:3] for entry in bench.log if entry[0] == "done"] == [
        ("done", 0.5, 1),
        ("done", 2.0, 2),
    ]


def test_items_of_a_type_share_their_routes_tasks_but_not_their_plans_or_efforts():
    model = OrgModel(short(ready_made("pure_flow"), 5))
    work_type = model.config.work_types[0]
    first, second = model.demand.new_item(work_type), model.demand.new_item(work_type)
    assert all(a is b for a, b in zip(first.plan, second.plan, strict=True))
    assert first.stage_efforts != second.stage_efforts
    assert [second.effort_of(task) for task in second.plan] == list(second.stage_efforts)
    first.plan.popleft()  # one item moving on leaves the other's plan as it was
    assert len(second.plan) == len(first.plan) + 1 == len(work_type.route)


def test_a_unit_covers_the_disciplines_its_members_have_as_their_own():
    bench = Bench()
    team = Unit(bench.clock, 0, "team", "team", value_priority=False)
    ann, bob = person(bench, "dev", team), person(bench, "dev", team)
    cat = person(bench, "ops", team)
    cat.proficiency["test"] = 1.0  # a skill, not their own discipline
    assert team.covers({"dev", "ops", "test"}) == 2
    team.leave(cat)
    assert team.covers({"dev", "ops", "test"}) == 1
    team.leave(ann)
    assert team.covers({"dev"}) == 1  # Bob is still here
    team.leave(bob)
    assert team.covers({"dev"}) == 0
    assert team.roster_version == 6  # three joins, three leaves


def test_expedite_items_jump_the_queue():
    bench = Bench()
    dev = Unit(bench.clock, 0, "dev", "department", value_priority=False)
    ann = person(bench, "dev", dev)
    for number, rank in ((1, 1), (2, 1), (3, 1), (4, 0)):
        bench.flow.push(dev, item(number, rank=rank), Task("dev", 1.0), 0.0)
    bench.run_until(10.0)
    order = [entry[2] for entry in bench.log if entry[0] == "done"]
    assert order == [1, 4, 2, 3]
    assert ann.time_spent["value"] == pytest.approx(4.0)


# -- a handoff


def handoffs_for(bench: Bench, target: Unit, seed: int, warmup: float = 0.0) -> Handoffs:
    scenario = Scenario()
    mechanisms = scenario.mechanisms
    rework_off = mechanisms.rework.model_copy(update={"enabled": False})
    language = Language(0.0, mechanisms.language, False, lambda name, amount: None)
    handoffs = Handoffs(
        mechanisms.handoff,
        rework_off,
        scenario.brms,
        mechanisms.language.brm_gain,
        0.0,
        {"dev": "it", "ops": "it"},
        np.random.default_rng(seed),
        bench.clock,
        [],
        lambda item, discipline: target,
        bench.flow.push,
        language,
        warmup,  # handoffs that arrive before it are not counted
        lambda days: None,
    )
    bench.handoffs = handoffs
    return handoffs


def test_a_cross_unit_handoff_arrives_after_its_exponential_delay():
    bench = Bench()
    dev = Unit(bench.clock, 0, "dev", "department", value_priority=False)
    ops = Unit(bench.clock, 1, "ops", "department", value_priority=False)
    ann, olga = person(bench, "dev", dev), person(bench, "ops", ops)
    handoffs = handoffs_for(bench, ops, seed=5)
    work = item(7, Task("dev", 1.0), Task("ops", 0.5))
    work.unit = dev
    work.current = work.plan.popleft()
    bench.flow.push(dev, work, work.current, 0.0)
    bench.run_until(30.0)
    mean = Scenario().mechanisms.handoff.cross_unit_days  # no transparency, no tie, no BRM
    # the first draw of the delays' stream, spawned first from the handoffs' generator
    delays = np.random.default_rng(5).spawn(1)[0].standard_exponential(256)
    delay = mean * delays[-1]
    arrives = 1.0 + delay
    assert bench.log == [
        ("done", 1.0, 7, ann.unique_id, 0.0),
        ("pass_on", 1.0, 7),
        ("contact", arrives, ann.unique_id, olga.unique_id),
        ("done", arrives + 0.5, 7, olga.unique_id, arrives),
        ("delivered", arrives + 0.5, 7),
    ]
    assert handoffs.completed == {CROSS_UNIT: [1, arrives - 1.0]}


def test_a_handoff_to_the_same_discipline_in_the_same_unit_is_instant_and_draws_nothing():
    bench = Bench()
    dev = Unit(bench.clock, 0, "dev", "department", value_priority=False)
    ann, bob = person(bench, "dev", dev), person(bench, "dev", dev)
    handoffs = handoffs_for(bench, dev, seed=5)
    streams = (handoffs.delays, handoffs.mediations, handoffs.misunderstandings)
    before = [stream.generator.bit_generator.state for stream in streams]
    work = item(8, Task("dev", 1.0), Task("dev", 1.0))
    work.unit = dev
    work.current = work.plan.popleft()
    bench.flow.push(dev, work, work.current, 0.0)
    bench.run_until(5.0)
    assert bench.log == [
        ("done", 1.0, 8, ann.unique_id, 0.0),
        ("pass_on", 1.0, 8),
        ("done", 2.0, 8, bob.unique_id, 1.0),  # Bob has been idle longer than Ann
        ("delivered", 2.0, 8),
    ]
    assert ann.time_spent["value"] == bob.time_spent["value"] == 1.0
    assert [stream.generator.bit_generator.state for stream in streams] == before
    assert handoffs.completed == {}  # no boundary crossed: no handoff to count


def test_handoffs_are_counted_from_the_end_of_the_warm_up():
    """A handoff counts by when it arrives: the first item's arrives before the warm-up
    ends and is left out, the second's after and is counted, with the days it took."""
    bench = Bench()
    dev = Unit(bench.clock, 0, "dev", "department", value_priority=False)
    ops = Unit(bench.clock, 1, "ops", "department", value_priority=False)
    person(bench, "dev", dev)
    olga = person(bench, "ops", ops)
    handoffs = handoffs_for(bench, ops, seed=5, warmup=3.0)
    for number, start in ((1, 0.0), (2, 3.0)):
        work = item(number, Task("dev", 0.5), Task("ops", 0.5))
        work.unit = dev
        work.current = work.plan.popleft()
        bench.clock.schedule_at(
            start, lambda w=work, t=start: bench.flow.push(dev, w, w.current, t)
        )
    bench.run_until(40.0)
    # Olga is idle when each item reaches ops: her task starts as it arrives
    first, second = (e[4] for e in bench.log if e[0] == "done" and e[3] == olga.unique_id)
    assert first < 3.0 <= second  # the delays are exponential: seed 5 gives these
    assert handoffs.completed == {CROSS_UNIT: [1, second - 3.5]}


# -- the mechanism hooks


class Recording(Mechanism):
    """A mechanism that only writes down when its hooks are called."""

    def __init__(self, name: str, log: list, model: OrgModel):
        self.name, self.log, self.model = name, log, model

    def on_day(self, day: int) -> None:
        self.log.append((self.name, "day", day, self.model.clock.now))

    def on_reorganise(self, organisation) -> None:
        self.log.append((self.name, "reorganise", self.model.clock.now, len(organisation.units)))

    def summary(self) -> dict[str, int]:
        return {f"{self.name}_days": sum(1 for e in self.log if e[:2] == (self.name, "day"))}


def test_on_day_is_called_once_a_day_at_the_end_of_the_day_in_order():
    model = OrgModel(short(ready_made("siloed"), 4), rng=1)
    log: list = []
    model.add_mechanism(Recording("first", log, model))
    model.add_mechanism(Recording("second", log, model))
    model.run_model()
    assert log == [
        (name, "day", day, float(day)) for day in (1, 2, 3, 4) for name in ("first", "second")
    ]
    extra = model.records().extra
    assert (extra["first_days"], extra["second_days"]) == (4, 4)


def test_on_reorganise_is_called_with_the_new_organisation_when_units_are_reformed():
    data = short(ready_made("siloed"), 12).model_dump(mode="json")
    data["changes"] = [{"day": 5, "structure": "converged"}]
    model = OrgModel(data, rng=1)
    log: list = []
    model.add_mechanism(Recording("probe", log, model))
    model.run_model()
    reorganised = [entry for entry in log if entry[1] == "reorganise"]
    assert reorganised == [("probe", "reorganise", 5.0, len(model.units))]
    assert {u.kind for u in model.units} == {"team"}


def test_a_mechanism_that_overrides_nothing_changes_nothing():
    scenario = short(ready_made("aligned"), 40)
    plain = OrgModel(scenario, rng=3)
    probed = OrgModel(scenario, rng=3)
    probed.add_mechanism(Mechanism())
    plain.run_model()
    probed.run_model()
    a, b = plain.records(), probed.records()
    assert len(a.items) > 20
    assert a.items.equals(b.items)
    assert a.events.equals(b.events)
    assert a.daily.equals(b.daily)
    assert a.extra == b.extra and a.costs == b.costs


def test_team_interfaces_are_what_comparing_every_pair_of_teams_gives():
    """count_interfaces counts teams per discipline instead of comparing every pair
    (714 teams at 5,000 staff); the answer is the pairwise definition's."""
    import random

    from simulation.engine.structures import UnitPlan, count_interfaces

    def pairwise(plans, people, routes):
        skills = [{people[i] for i in p.members} for p in plans]
        needed = {d for route in routes for d in route}
        return [
            len(needed - own)
            + int(any((needed & own) - other for other in skills if other is not own))
            for own in skills
        ]

    draw = random.Random(3)
    disciplines = ["analyst", "designer", "developer", "tester", "ops"]
    for _ in range(200):
        people = [draw.choice(disciplines) for _ in range(draw.randint(2, 40))]
        order = list(range(len(people)))
        draw.shuffle(order)
        cuts = sorted(draw.sample(range(1, len(people)), k=min(len(people) - 1, 5)))
        groups = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(people)], strict=True)]
        plans = [UnitPlan(f"team {i}", "team", g) for i, g in enumerate(groups)]
        routes = [draw.sample(disciplines, k=draw.randint(1, 5)) for _ in range(3)]
        assert count_interfaces(plans, people, routes) == pairwise(plans, people, routes)
