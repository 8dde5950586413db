"""OrgModel: an organisation of Staff and BRMs through which work items flow.

Time is continuous, in working days. Work happens through events on Mesa's event list
(arrivals, task completions, handoff delays, mediations, returns from rotation);
``step()`` is one day: the daily mechanisms run and the DataCollector takes the daily
series. After ``horizon`` days ``running`` turns False, so ``run_model()`` and
``mesa.batch_run`` stop there.

Build it from a scenario (a :class:`Scenario`, a YAML path or a dict) and override any
field with keyword arguments, by dotted path written with ``__`` or by a leaf name that
is unique in the schema::

    OrgModel("scenarios/aligned.yaml", rng=7, brms__count=4, shared_language=0.5)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import mesa
from mesa.time import Priority

from simulation.engine.agents import BRM, Staff
from simulation.engine.clock import Clock
from simulation.engine.events import FastEventList, advance
from simulation.engine.flow import TaskFlow
from simulation.engine.organisation import hire, organise, set_availability
from simulation.engine.streams import Stream
from simulation.engine.structures import people_of
from simulation.engine.units import Unit
from simulation.engine.work import Demand, WorkItem
from simulation.inputs.scenario import (
    Scenario,
    ScenarioError,
    horizon_overrides,
    load_scenario,
    parse_scenario,
    with_overrides,
)
from simulation.limits import MAX_EXPECTED_ITEMS
from simulation.mechanisms.base import Mechanism
from simulation.mechanisms.defects import EscapedDefects
from simulation.mechanisms.handoffs import Handoffs
from simulation.mechanisms.language import Language
from simulation.mechanisms.network import SocialNetwork
from simulation.mechanisms.pdca import PDCAPolicy
from simulation.mechanisms.people import PeopleFlow
from simulation.mechanisms.releases import Releases
from simulation.mechanisms.rotation import RotationProgramme
from simulation.mechanisms.transitions import Transitions
from simulation.model.daily_series import DailySeries
from simulation.model.records import Recorder, RunRecords

#: Work items one run may admit, incidents from escaped defects included: the scenario
#: caps the expected arrivals, this caps what feedback loops add to them (time and
#: memory grow with items: about 2.5 kB and 0.2 ms each).
MAX_ITEMS_ADMITTED = 2 * MAX_EXPECTED_ITEMS

#: The day's end runs first among the events of its time, as Mesa's step does.
DAY_PRIORITY = Priority.HIGH.value


def as_scenario(scenario: Scenario | str | Path | dict | None) -> Scenario:
    """A scenario from a Scenario, a dict, a YAML path, or None (the default)."""
    if scenario is None:
        return Scenario()
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, dict):
        return parse_scenario(scenario)
    return load_scenario(scenario)


class OrgModel(mesa.Model):
    """An organisation of Staff and BRMs through which work items flow (a Mesa model).

    The model owns the random stream, the clock, the people and the organisation they
    work in; it builds the mechanisms with what each needs, keeps them in a list and
    calls their hooks in that order.

    Args:
        scenario: The scenario: a :class:`Scenario`, a YAML path, a dict, or None for
            the default scenario.
        rng: The seed (or generator); default: the scenario's seed.
        days: Run this many days instead of the scenario's horizon.
        **overrides: Fields of the scenario to override, by dotted path written with
            ``__`` or by a leaf name unique in the schema.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path | dict | None = None,
        *,
        rng: Any = None,
        days: int | None = None,
        **overrides: Any,
    ):
        config = with_overrides(as_scenario(scenario), overrides)
        if days is not None:
            config = with_overrides(config, horizon_overrides(config, days))
        super().__init__(rng=config.seed if rng is None else rng)
        # Mesa's daily step generator makes an Event (weak references, a log line) every
        # day; a plain call on the fast list does the same (DayEnds, below).
        self._default_schedule.stop()
        self.config = config
        self.seed = config.seed if rng is None else rng
        self.horizon = config.horizon_days
        self.warmup = config.warmup_days
        self.side_of = {d.name: d.side for d in config.disciplines}
        # Demand's own streams first, so the same seed brings the same demand (work.py).
        demand_streams = self.rng.spawn(len(config.work_types) + 1)
        # Then one for routing (which of two units takes a task), drawn in blocks
        # (engine/streams.py); the mechanisms spawn theirs as they are built.
        (self.routing,) = Stream.spawned(self.rng, 1)
        self.open_items: dict[int, WorkItem] = {}  # arrived, not yet delivered
        # Mesa's event list, in a faster form with the same interface (events.py)
        self._event_list = FastEventList.taking_over(self._event_list)
        self._default_schedule = DayEnds(self)
        self.clock = Clock(self._event_list)
        mechanisms = config.mechanisms
        levers = config.levers

        # Build in this order: it is the order of random draws and of same-time events,
        # so the same seed gives the same run.
        self.staff: list[Staff] = []
        self.recorder = Recorder(config, self.clock, self.staff, self.horizon, self.warmup)
        book_cost = self.recorder.programme_cost
        self.staff += [self.hire(discipline) for discipline in people_of(config)]
        self.organisation = organise(config, self.staff, self.clock, self.routing)
        self.brms: list[BRM] = [BRM(self) for _ in range(config.brms.count)]
        self.language = Language(
            start=levers.shared_language,
            params=mechanisms.language,
            glossary=levers.glossary,
            book_cost=book_cost,
        )
        self.network = SocialNetwork(
            params=mechanisms.network,
            rng=self.rng,
            clock=self.clock,
            staff=self.staff,
            organisation=self.organisation,
            book_cost=book_cost,
            transparency=levers.transparency,
        )
        self.rotation = RotationProgramme(
            share=levers.rotation_share,
            params=mechanisms.rotation,
            rng=self.rng,
            clock=self.clock,
            staff=self.staff,
            organisation=self.organisation,
            side_of=self.side_of,
            network=self.network,
            language=self.language,
            book_cost=book_cost,
        )
        self.people = PeopleFlow(
            params=mechanisms.turnover,
            rng=self.rng,
            clock=self.clock,
            staff=self.staff,
            organisation=self.organisation,
            hire=self.hire,
            network=self.network,
            record_departure=self.recorder.depart,
            book_cost=book_cost,
            refresh_availability=self.refresh_availability,
        )
        self.network.build(self.staff, self.units)
        it_disciplines = self._it_disciplines()
        # draws nothing and schedules nothing until work arrives
        self.releases = Releases(
            params=mechanisms.releases,
            clock=self.clock,
            it_disciplines=it_disciplines,
            has_teams=lambda: bool(self.teams),
        )
        self.flow = TaskFlow(
            clock=self.clock,
            task_rows=self.recorder.event_rows,
            it_disciplines=it_disciplines,
            releases=self.releases,
            # a network switched off ties nobody: no call on every cross-unit task
            contact=self.network.handoff_contact if mechanisms.network.enabled else None,
            deliver=self.deliver,
        )
        self.handoffs = Handoffs(
            latency=mechanisms.handoff,
            rework=mechanisms.rework,
            brm_params=config.brms,
            brm_language_gain=mechanisms.language.brm_gain,
            transparency=levers.transparency,
            side_of=self.side_of,
            rng=self.rng,
            clock=self.clock,
            brms=self.brms,
            route=self.organisation.unit_for,
            push=self.flow.push,
            language=self.language,
            warmup=self.warmup,
            record_mediation=self.recorder.mediation,
        )
        self.flow.pass_on = self.handoffs.pass_on
        self.demand = Demand(
            work_types=config.work_types,
            it_disciplines=it_disciplines,
            streams=demand_streams,
            clock=self.clock,
            admit=self.admit,
            scale=config.demand_scale,
        )
        self.defects = EscapedDefects(
            params=mechanisms.defects,
            rng=self.rng,
            clock=self.clock,
            demand=self.demand,
            admit=self.admit,
        )
        self.network.start(levers.culture_events_per_quarter)
        self.transitions = Transitions(
            clock=self.clock,
            staff=self.staff,
            config=self._current_config,
            reconfigure=self.reconfigure,
            book_cost=book_cost,
        )
        self.pdca = PDCAPolicy(
            params=config.pdca,
            warmup=self.warmup,
            clock=self.clock,
            config=self._current_config,
            transitions=self.transitions,
            delivered_between=self.recorder.delivered_between,
        )
        self.flow.pace = self.transitions
        #: In the order their hooks run each day (productivity first: it sets the day's pace).
        self.mechanisms: list[Mechanism] = [
            self.transitions,
            self.language,
            self.rotation,
            self.people,
            self.network,
            self.handoffs,
            self.defects,
            self.releases,
            self.pdca,
        ]
        self._daily_hooks = _daily_hooks(self.mechanisms)
        self.datacollector = DailySeries(DAILY_SERIES, self.daily_row)
        self.demand.start()

    def _advance_time(self, until: float) -> None:
        advance(self, until)  # Mesa's loop, on the fast event list (events.py)

    def add_mechanism(self, mechanism: Mechanism) -> None:
        """A mechanism beyond the built-in ones (a probe, an experiment): its hooks run
        after theirs, from now on."""
        self.mechanisms.append(mechanism)
        self._daily_hooks = _daily_hooks(self.mechanisms)

    @property
    def brm_count(self) -> int:
        """BRMs employed now."""
        return len(self.brms)

    def _current_config(self) -> Scenario:
        return self.config

    def _it_disciplines(self) -> set[str]:
        return {name for name, side in self.side_of.items() if side == "it"}

    def hire(self, discipline: str, proficiency: float = 1.0) -> Staff:
        """A new person of ``discipline`` under the current scenario, not yet in a unit."""
        return hire(self, self.config, discipline, proficiency)

    # -- the pace of work

    @property
    def productivity(self) -> float:
        """Today's productivity: 1, or less in the J-curve after a change."""
        return self.transitions.current

    # -- changing the organisation (transitions.py decides when, and the J-curve)

    def reconfigure(self, config: Scenario) -> None:
        """Run on under ``config`` from now on: people, units, BRMs, levers and programmes."""
        before, self.config = self.config, config
        people_changed = self._match_headcount(config.headcounts())
        structure_changed = any(
            getattr(before, f) != getattr(config, f)
            for f in ("structure", "team_size", "teams", "prioritisation")
        )
        if structure_changed or people_changed:
            self._reorganise()
        else:
            self.refresh_availability()
        if config.levers.cross_skill != before.levers.cross_skill:
            for person in self.staff:
                for other, side in self.side_of.items():
                    if side == person.side and other != person.discipline:
                        level = person.proficiency.get(other, 0.0)
                        person.proficiency[other] = max(level, config.levers.cross_skill)
            for unit in self.units:
                unit.refresh_skills()
        self._match_brms(config.brms.count)
        for mechanism in self.mechanisms:
            mechanism.on_levers(before.levers, config.levers)
        # queued work starts where people are idle in the new organisation
        for unit in self.units:
            for discipline in list(unit.idle):
                for person in list(unit.idle[discipline]):
                    if any(unit.queues.values()):
                        unit.idle[discipline].remove(person)
                        unit.pull_next(person)

    def _match_headcount(self, target: dict[str, int]) -> bool:
        """Hire or release people so each discipline has its target headcount, counting
        the vacancies being filled (people.py)."""
        staying = [p for p in self.staff if p.pending != "leave"]
        changed = False
        for discipline, wanted in target.items():
            present = [p for p in staying if p.discipline == discipline]
            missing = wanted - len(present) - self.people.open_posts(discipline)
            for _ in range(missing):
                self.people.hire_unplaced(discipline)
                changed = True
            surplus = 0
            if missing < 0:  # too many: open vacancies are closed first, then people go
                too_many = -missing
                surplus = too_many - self.people.close_posts(discipline, too_many)
            if surplus > 0:
                # the most recently hired go first; the idle before the busy
                leaving = sorted(present, key=lambda p: (p.busy, -p.unique_id))[:surplus]
                for person in leaving:
                    self.people.release(person)
                changed = True
        return changed

    def _match_brms(self, wanted: int) -> None:
        while len(self.brms) < wanted:
            brm = BRM(self)
            self.brms.append(brm)
            self.handoffs.brm_available(brm)
        for brm in self.brms[wanted:]:
            self.handoffs.retire_brm(brm)
        del self.brms[wanted:]

    def _reorganise(self) -> None:
        """Re-form the units from the staff there are; waiting work moves with them."""
        waiting = self.organisation.retire()
        self.organisation = organise(self.config, self.staff, self.clock, self.routing)
        for mechanism in self.mechanisms:
            mechanism.on_reorganise(self.organisation)
        # open items get an owning team in the new organisation (or none, in departments)
        for item in self.open_items.values():
            item.home = None
        for item in self.open_items.values():
            if self.teams:
                item.home = self.choose_team(item)
                item.home.owned += 1
        for item, task in waiting:
            item.unit = self.unit_for(item, task.discipline)
            self.flow.push(item.unit, item, task, self.clock.now)

    def refresh_availability(self) -> None:
        """Recompute everyone's share of the day for tasks (after people come or go)."""
        set_availability(self.config, self.units)

    @property
    def units(self) -> list[Unit]:
        """The units of the current organisation."""
        return self.organisation.units

    @property
    def teams(self) -> list[Unit]:
        """The units of the current organisation that are teams (none in departments)."""
        return self.organisation.teams

    @property
    def units_by_discipline(self) -> dict[str, list[Unit]]:
        """The units that have each discipline."""
        return self.organisation.units_by_discipline

    # -- the flow of work

    def admit(self, item: WorkItem) -> None:
        """A new work item arrives (from demand or from a surfacing defect)."""
        organisation = self.organisation
        if organisation.teams:
            item.home = organisation.choose_team(item)
            item.home.owned += 1
        self.open_items[item.id] = item
        recorder = self.recorder
        recorder.arrival()
        if recorder.arrivals > MAX_ITEMS_ADMITTED:
            raise ScenarioError(
                "work_types",
                f"the run admitted over {MAX_ITEMS_ADMITTED:,} work items by day "
                f"{self.time:.0f} (arrivals and incidents from escaped defects); the limit "
                "keeps a run within minutes and a few gigabytes",
            )
        item.unit = organisation.unit_for(item, item.plan[0].discipline)
        self.handoffs.arrive(item)

    def choose_team(self, item: WorkItem | None = None) -> Unit:
        """The team that owns ``item``: of two drawn among those that can do most of
        its route, the less loaded."""
        return self.organisation.choose_team(item)

    def unit_for(self, item: WorkItem, discipline: str) -> Unit:
        """The owning team if it can do the task, else a unit that has the discipline."""
        return self.organisation.unit_for(item, discipline)

    def deliver(self, item: WorkItem) -> None:
        """The last task of ``item`` is done: it is delivered now, or when the release
        that deploys its IT work goes out."""
        at = self.releases.due(item)
        if at is None:
            self._delivered(item)
        else:
            self.clock.at(at, self._delivered, item)

    def _delivered(self, item: WorkItem) -> None:
        item.done_at = self.clock.now
        del self.open_items[item.id]
        if item.home is not None:
            item.home.owned -= 1
        self.recorder.item_done(item)
        self.defects.delivered(item)

    # -- the day

    def step(self) -> None:
        """One working day: each mechanism's day, in order, then the day's records."""
        day = self.steps
        for on_day in self._daily_hooks:
            on_day(day)
        self.recorder.end_of_day(day, self.units, len(self.brms))
        self.datacollector.collect(self)
        self.recorder.new_day()
        if day >= self.horizon:
            self.running = False

    # daily series: one row a day (daily_row), and a property per column for Mesa's own
    # DataCollector (DAILY_SERIES); a test checks the two agree

    def daily_row(self) -> tuple:
        """Today's values of the daily series, in the order of ``DAILY_SERIES``: read
        from counters the model keeps, in one pass over the units."""
        queued = busy = present = 0
        for unit in self.organisation.units:
            queued += unit.queued
            busy += unit.busy
            present += len(unit.members) - unit.away
        recorder = self.recorder
        wip = recorder.wip
        leads = recorder.new_work_lead_today
        return (
            self.steps,
            wip,
            queued,
            busy,
            wip - queued - busy,
            busy / present if present else math.nan,
            len(recorder.completed_today),
            recorder.new_work_today,
            sum(leads) / len(leads) if leads else math.nan,
            recorder.cx_index.value(self.clock.now),
            len(self.handoffs.brm_queue),
            self.language.level,
            self.network.cross_unit_ties,
            self.rotation.away,
            self.transitions.current,
            len(self.staff),
            recorder.arrivals,
            recorder.completed,
        )

    @property
    def day(self) -> int:
        """The day just ended."""
        return self.steps

    @property
    def wip(self) -> int:
        """Items arrived and not yet delivered."""
        return self.recorder.wip

    @property
    def queued(self) -> int:
        """Tasks waiting in a queue."""
        return sum(u.queued for u in self.units)

    @property
    def busy(self) -> int:
        """People on a task."""
        return sum(u.busy for u in self.units)

    @property
    def in_handoff(self) -> int:
        """Items between tasks: travelling, or waiting for a BRM."""
        return self.wip - self.queued - self.busy

    @property
    def utilisation(self) -> float:
        """Share of people present who are busy."""
        present = sum(u.present for u in self.units)
        return self.busy / present if present else math.nan

    @property
    def delivered_today(self) -> int:
        """Items delivered today."""
        return len(self.recorder.completed_today)

    @property
    def new_work_today(self) -> int:
        """New work delivered today: not incidents, not failure demand (records.new_work_mask)."""
        return self.recorder.new_work_today

    @property
    def lead_time_today(self) -> float:
        """Mean lead time of today's deliveries of new work (NaN if none): the
        headline lead time's daily series (incidents have their own, time to restore)."""
        done = self.recorder.new_work_lead_today
        return sum(done) / len(done) if done else math.nan

    @property
    def cx_index(self) -> float:
        """The CX index now: mean score over the trailing window."""
        return self.recorder.cx_index.value(self.time)

    @property
    def brm_queue(self) -> int:
        """Handoffs waiting for a BRM."""
        return len(self.handoffs.brm_queue)

    @property
    def shared_language(self) -> float:
        """The shared language now, 0..1."""
        return self.language.level

    @property
    def cross_unit_ties(self) -> int:
        """Ties between people in different units."""
        return self.network.cross_unit_ties

    @property
    def staff_away(self) -> int:
        """People away on rotation."""
        return self.rotation.away

    @property
    def headcount(self) -> int:
        """People employed."""
        return len(self.staff)

    # -- the end

    def summary(self) -> dict[str, Any]:
        """What every mechanism reports for the records, merged in their order."""
        merged: dict[str, Any] = {}
        for mechanism in self.mechanisms:
            merged.update(mechanism.summary())
        return merged

    def network_summary(self) -> dict[str, float]:
        """Ties now, and how modular the network is by unit and by discipline."""
        return self.network.summary()["network"]

    def records(self) -> RunRecords:
        """Everything the run produced so far, as plain data (see records.py)."""
        return self.recorder.finish(
            config=self.config,
            seed=self.seed,
            daily=self.datacollector.get_model_vars_dataframe().reset_index(drop=True),
            units=self.units,
            brms=len(self.brms),
            summary=self.summary(),
        )


class DayEnds:
    """The end of every day on the model's fast event list: Mesa's ``_do_step`` (one
    more step, then the model's ``step()``), first among the events of its time, as
    Mesa's default schedule runs it. It stands in for that schedule, so a Mesa simulator
    that takes over the stepping stops it as it would Mesa's (``stop()``).

    Args:
        model: The model whose days end.
    """

    def __init__(self, model: OrgModel):
        self.model = model
        self._next = model._event_list.call(1.0, self._run, priority=DAY_PRIORITY)

    def _run(self) -> None:
        model = self.model
        model.steps += 1
        model._user_step()
        if self._next is not None:  # not stopped by the step: the same handle, again
            self._next = model._event_list.again(self._next, model.clock.now + 1.0)

    def stop(self) -> None:
        """No more days end on their own."""
        if self._next is not None:
            self._next.cancel()
            self._next = None


def _daily_hooks(mechanisms: list[Mechanism]) -> list:
    """The ``on_day`` hooks of the mechanisms that have one, in their order: the others'
    are Mechanism's no-op, not worth a call a day."""
    return [m.on_day for m in mechanisms if type(m).on_day is not Mechanism.on_day]


DAILY_SERIES = {
    name: name
    for name in (
        "day",
        "wip",
        "queued",
        "busy",
        "in_handoff",
        "utilisation",
        "delivered_today",
        "new_work_today",
        "lead_time_today",
        "cx_index",
        "brm_queue",
        "shared_language",
        "cross_unit_ties",
        "staff_away",
        "productivity",
        "headcount",
    )
}
DAILY_SERIES["arrivals"] = lambda m: m.recorder.arrivals
DAILY_SERIES["delivered"] = lambda m: m.recorder.completed
