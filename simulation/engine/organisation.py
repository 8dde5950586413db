"""Who works where: hiring people and forming units from them, at the start and again
whenever a scheduled change re-forms the organisation.

Forming units never loses work or people's history: tasks waiting in the old units'
queues are queued again where the new organisation does them, people busy on a task
keep it, and skills and ties carry over (the network is the same graph; only its
bookkeeping by unit is redone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulation.engine.agents import Staff
from simulation.engine.structures import count_interfaces, plan_units
from simulation.engine.units import Unit

if TYPE_CHECKING:
    from simulation.model.org_model import OrgModel


def hire(model: OrgModel, discipline: str, proficiency: float = 1.0) -> Staff:
    """A new person (not yet in a unit). New hires start below full proficiency."""
    config = model.config
    cost = next(d.cost_per_day for d in config.disciplines if d.name == discipline)
    person = Staff(model, discipline, model.side_of[discipline], None, cost)
    person.proficiency[discipline] = proficiency
    level = config.levers.cross_skill
    if level > 0:
        for other, side in model.side_of.items():
            if side == person.side and other != discipline:
                person.proficiency[other] = level
    return person


def organise(model: OrgModel, people: list[Staff]) -> None:
    """Form units from ``people`` under the model's current scenario."""
    config = model.config
    now = model.time
    waiting = []
    for unit in getattr(model, "units", []):
        waiting += unit.drain()
        unit.retire()
    plans = plan_units(config, [p.discipline for p in people])
    value_priority = config.prioritisation == "value"
    units = []
    for index, plan in enumerate(plans):
        unit = Unit(model, index, plan.name, plan.kind, value_priority, created=now)
        for i in plan.members:
            unit.join(people[i])
        units.append(unit)
    model.units = units
    model.teams = [u for u in units if u.kind == "team"]
    model.units_by_discipline = {}
    for unit in units:
        for discipline in dict.fromkeys(m.discipline for m in unit.members):
            model.units_by_discipline.setdefault(discipline, []).append(unit)
    routes = [[s.discipline for s in wt.route] for wt in config.work_types]
    for unit, n in zip(
        units, count_interfaces(plans, [p.discipline for p in people], routes), strict=True
    ):
        unit.interfaces = n
        unit.refresh_skills()
    set_availability(model)
    if hasattr(model, "network"):
        model.network.reindex(people)
    if hasattr(model, "open_items"):
        _rehome(model)
        for item, task in waiting:
            item.unit = model.unit_for(item, task.discipline)
            item.unit.push(item, task, model.time)


def _rehome(model: OrgModel) -> None:
    """Open items get an owning team in the new organisation (or none, in departments)."""
    for item in model.open_items.values():
        item.home = None
    for item in model.open_items.values():
        if model.teams:
            item.home = model.choose_team()
            item.home.owned += 1


def set_availability(model: OrgModel) -> None:
    """Coordination overhead (mechanism 6) and misaligned work (mechanism 5).

    Coordination: ``per_path * min(n - 1, max_paths) + per_interface * interfaces``,
    capped: each person coordinates with their unit's other members (Brooks' n(n-1)/2
    paths, n-1 per person, saturating) and across each interface.
    Misaligned work, for IT staff only: ``base_share * (1 - transparency)``, halved (by
    default) under one shared value-based priority.
    """
    config = model.config
    coord, mis = config.mechanisms.coordination, config.mechanisms.misaligned
    misaligned_share = 0.0
    if mis.enabled:
        misaligned_share = mis.base_share * (1.0 - config.levers.transparency)
        if config.prioritisation == "value":
            misaligned_share *= 1.0 - mis.shared_priority_effect
    for unit in model.units:
        overhead = 0.0
        if coord.enabled:
            paths = min(unit.size - 1, coord.max_paths)
            overhead = min(
                coord.max_share, coord.per_path * paths + coord.per_interface * unit.interfaces
            )
        for person in unit.members:
            person.coordination_share = overhead
            person.misaligned_share = misaligned_share if person.side == "it" else 0.0
