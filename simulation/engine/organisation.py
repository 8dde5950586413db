"""Who works where: hiring people and forming units from them, at the start and again
whenever a scheduled change re-forms the organisation.

Forming units never loses work or people's history: tasks waiting in the old units'
queues are queued again where the new organisation does them, people busy on a task
keep it, and skills and ties carry over (the network is the same graph; only its
bookkeeping by unit is redone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from simulation.engine.agents import Staff
from simulation.engine.structures import count_interfaces, plan_units
from simulation.engine.units import Unit

if TYPE_CHECKING:
    from simulation.engine.agents import Workplace
    from simulation.engine.clock import Clock
    from simulation.engine.streams import Stream
    from simulation.engine.work import Task, WorkItem
    from simulation.inputs.scenario import Coordination, Scenario


def hire(
    workplace: Workplace, config: Scenario, discipline: str, proficiency: float = 1.0
) -> Staff:
    """A new person of ``discipline`` under ``config``, not yet in a unit; cross-skilled
    as the lever says. New hires start below full proficiency."""
    side_of = {d.name: d.side for d in config.disciplines}
    cost = next(d.cost_per_day for d in config.disciplines if d.name == discipline)
    person = Staff(workplace, discipline, side_of[discipline], None, cost)
    person.proficiency[discipline] = proficiency
    level = config.levers.cross_skill
    if level > 0:
        for other, side in side_of.items():
            if side == person.side and other != discipline:
                person.proficiency[other] = level
    return person


@dataclass
class Organisation:
    """The units people work in, and how work finds a unit.

    Args:
        units: Every unit, departments or teams, in the order they were planned.
        draws: The run's routing stream (which of two units takes a task or owns an
            item).
    """

    units: list[Unit]
    draws: Stream
    teams: list[Unit] = field(init=False)
    units_by_discipline: dict[str, list[Unit]] = field(init=False)

    def __post_init__(self) -> None:
        self.teams = [u for u in self.units if u.kind == "team"]
        self.units_by_discipline = {}
        for unit in self.units:
            for discipline in dict.fromkeys(m.discipline for m in unit.members):
                self.units_by_discipline.setdefault(discipline, []).append(unit)

    def retire(self) -> list[tuple[WorkItem, Task]]:
        """A new organisation replaces this one: the tasks waiting here, unit by unit."""
        waiting = []
        for unit in self.units:
            waiting += unit.drain()
            unit.retire()
        return waiting

    def choose_team(self, item: WorkItem | None = None) -> Unit:
        """Power of two choices: of two random teams, the one with specialists for more
        of ``item``'s route owns it, else the less loaded."""
        teams = self.teams
        if len(teams) == 1:
            return teams[0]
        count = len(teams)
        draws = self.draws
        first, second = teams[draws.below(count)], teams[draws.below(count)]
        if item is not None:
            # Work goes to a team staffed for it when the choice offers one: a team
            # lacking a discipline its item needs waits on another team for it.
            needed = {task.discipline for task in item.plan}
            cover_first, cover_second = first.covers(needed), second.covers(needed)
            if cover_first != cover_second:
                return first if cover_first > cover_second else second
        return first if first.owned / first.size <= second.owned / second.size else second

    def unit_for(self, item: WorkItem, discipline: str) -> Unit:
        """The owning team if it can do the task, else a unit that has the discipline
        (the less loaded of two drawn at random)."""
        home = item.home
        if home is not None and discipline in home.queues:  # home.can_do, inline
            return home
        candidates = self.units_by_discipline[discipline]
        if len(candidates) == 1:
            return candidates[0]
        count = len(candidates)
        draws = self.draws
        first, second = candidates[draws.below(count)], candidates[draws.below(count)]
        return first if first.load <= second.load else second

    def home_unit_for(self, discipline: str) -> Unit:
        """Where a new hire of ``discipline`` goes: their department, or the smallest team."""
        if self.teams:
            return min(self.teams, key=lambda u: u.size)
        return self.units_by_discipline[discipline][0]


def organise(config: Scenario, people: list[Staff], clock: Clock, draws: Stream) -> Organisation:
    """Form units from ``people`` under ``config``, now (the people join as they are);
    ``draws`` is the routing stream the organisation chooses between units with."""
    plans = plan_units(config, [p.discipline for p in people])
    value_priority = config.prioritisation == "value"
    units = []
    for index, plan in enumerate(plans):
        unit = Unit(clock, index, plan.name, plan.kind, value_priority, created=clock.now)
        for i in plan.members:
            unit.join(people[i])
        units.append(unit)
    routes = [[s.discipline for s in wt.route] for wt in config.work_types]
    for unit, n in zip(
        units, count_interfaces(plans, [p.discipline for p in people], routes), strict=True
    ):
        unit.interfaces = n
        unit.refresh_skills()
    organisation = Organisation(units, draws)
    set_availability(config, units)
    return organisation


def set_availability(config: Scenario, units: list[Unit]) -> None:
    """Coordination overhead (mechanism 6) and misaligned work (mechanism 5).

    Coordination (see :func:`coordination_share`): Brooks' communication paths among
    the people who share work, plus a standing cost per interface, capped.
    Misaligned work, for IT staff only: ``base_share * (1 - transparency)``, halved (by
    default) under one shared value-based priority.
    """
    coord, mis = config.mechanisms.coordination, config.mechanisms.misaligned
    misaligned_share = 0.0
    if mis.enabled:
        misaligned_share = mis.base_share * (1.0 - config.levers.transparency)
        if config.prioritisation == "value":
            misaligned_share *= 1.0 - mis.shared_priority_effect
    for unit in units:
        overhead = coordination_share(coord, unit) if coord.enabled else 0.0
        for person in unit.members:
            person.coordination_share = overhead
            person.misaligned_share = misaligned_share if person.side == "it" else 0.0


def shared_work_paths(coord: Coordination, unit: Unit) -> int:
    """Colleagues in ``unit`` a member shares work with: Brooks' paths, n - 1 each.

    Brooks (1975) counts n(n-1)/2 communication paths among the people who partition
    one task. A cross-functional team owns its items end to end from one backlog that
    all its members plan, split and hand on among themselves: everyone shares work with
    everyone, n - 1 paths each, with no saturation (a team of 57 sharing one backlog is
    not a working team, and ``max_share`` bounds what it loses). A department's people
    work separate tickets of one discipline: the work they share is with the stages
    upstream and downstream, in other units (the interface term), and inside the
    department only with the few colleagues who review or cover a ticket
    (``department_peers``), however large the department grows.
    """
    if unit.kind == "team":
        return unit.size - 1
    return min(unit.size - 1, coord.department_peers)


def coordination_share(coord: Coordination, unit: Unit) -> float:
    """Share of each member's day ``unit`` loses to coordination.

    ``min(max_share, per_path * shared_work_paths + per_interface * interfaces)``. The
    interface term is a standing cost per unit one exchanges work with (syncs, status
    requests, chasing), not a cost per item: what each crossing costs in days and
    misunderstandings is the handoff and rework mechanisms' (counting it here as well
    would count it twice).
    """
    paths = shared_work_paths(coord, unit)
    return min(coord.max_share, coord.per_path * paths + coord.per_interface * unit.interfaces)
