"""The people: Staff who do the work and BRMs who mediate between business and IT.

A person needs little of the organisation they work in, and :class:`Workplace` names
it: the clock, today's productivity, and where a started or finished task is reported.
``OrgModel`` is one; a test can be another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import mesa

from simulation.engine.work import DISRUPTION, EFFORT_USES, FAILURE_DEMAND, VALUE, Task, WorkItem

if TYPE_CHECKING:
    from simulation.engine.clock import Clock
    from simulation.engine.units import Unit


class Workplace(Protocol):
    """What Staff need from the (Mesa) model they work in."""

    clock: Clock

    @property
    def productivity(self) -> float:
        """Today's productivity (1, or less in the J-curve after a change)."""
        ...

    def contact(self, sender: Staff, receiver: Staff, now: float) -> None:
        """Work crossed units from ``sender`` to ``receiver`` (they may get to know each
        other)."""
        ...

    def task_done(self, item: WorkItem, task: Task, staff: Staff, started: float) -> None:
        """``staff`` finished ``task`` of ``item``, begun at ``started`` (for the records)."""
        ...

    def pass_on(self, item: WorkItem, sender: Staff, finished: Task) -> None:
        """``item`` has more tasks: hand it on to the next."""
        ...

    def deliver(self, item: WorkItem) -> None:
        """``item`` has no tasks left: it is delivered."""
        ...


class Staff(mesa.Agent):
    """A person with a discipline, skills, a unit and a share of the day left for work.

    ``availability`` is the share of a working day left after coordination overhead
    (mechanism 6) and, for IT staff, misaligned work (mechanism 5). A task of ``effort``
    person-days takes ``effort / (proficiency * availability)`` days of this person's time,
    and that time is booked to value, waste, coordination and misaligned work in those
    proportions.

    Args:
        model: The Mesa model the person works in (a :class:`Workplace`).
        discipline: Their own discipline (full proficiency in it, unless a new hire).
        side: ``"business"`` or ``"it"``.
        unit: Their unit, or None until they join one.
        cost_per_day: What a day of theirs costs.
    """

    def __init__(
        self,
        model: Workplace,
        discipline: str,
        side: str,
        unit: Unit | None,
        cost_per_day: float,
    ):
        super().__init__(model)
        self.discipline = discipline
        self.side = side
        self.cost_per_day = cost_per_day
        self.unit = unit
        self.proficiency: dict[str, float] = {discipline: 1.0}
        self.coordination_share = 0.0
        self.misaligned_share = 0.0
        self.ties_into: dict[int, int] = {}  # unit index -> number of ties there
        # what the person is doing
        self.item: WorkItem | None = None
        self.task: Task | None = None
        self.busy_since = 0.0
        self.productivity_at_start = 1.0
        self.away = False  # on a rotation stint
        self.left = False  # left the organisation for good
        self.pending: str | None = None  # "rotation" or "leave", once the current task is done
        self.when_free: Callable[[Staff], None] | None = None  # what then happens to them
        self.rotation_host: tuple[Unit, str] | None = None
        # where this person's working time went, in days (records.py adds it up)
        self.time_spent = dict.fromkeys(EFFORT_USES, 0.0)

    @property
    def busy(self) -> bool:
        """Whether they are on a task now."""
        return self.task is not None

    def skill(self, discipline: str) -> float:
        """Proficiency in ``discipline``: 1 for a specialist, 0 for none."""
        return self.proficiency.get(discipline, 0.0)

    def hold(self, reason: str, then: Callable[[Staff], None]) -> None:
        """Once the current task is done, ``then(self)`` instead of taking more work."""
        self.pending = reason
        self.when_free = then

    def start(self, item: WorkItem, task: Task, now: float) -> None:
        """Begin ``task`` of ``item`` at ``now``; its end is scheduled on the clock."""
        # The hot path (once per task): locals, no properties, one heap entry.
        model = self.model
        self.item = item
        self.task = task
        self.busy_since = now
        productivity = model.productivity
        self.productivity_at_start = productivity
        sender = item.sender
        if sender is not None and sender.unit is not self.unit:
            model.contact(sender, self, now)
        # availability: the share of the day left for tasks (at least 5%), times today's
        # productivity (the J-curve)
        share = 1.0 - self.coordination_share - self.misaligned_share
        availability = (share if share > 0.05 else 0.05) * productivity
        duration = task.effort / (self.proficiency.get(task.discipline, 0.0) * availability)
        model.clock.at(now + duration, self.finish)

    def finish(self) -> None:
        """Event callback: the current task is done."""
        model = self.model
        item, task = self.item, self.task
        now = model.clock.now
        started = self.busy_since
        spent = now - started
        coordination, misaligned = self.coordination_share, self.misaligned_share
        task_time = spent * (1.0 - coordination - misaligned)
        productive = task_time * self.productivity_at_start
        # Fixing an escaped defect is failure demand: avoidable rework by another name.
        kind = task.kind
        use = FAILURE_DEMAND if item.raised_by_defect and kind == VALUE else kind
        time_spent = self.time_spent
        time_spent[use] += productive
        # adding a zero changes nothing: skipped, for speed, when there is none to add
        if productive != task_time:
            time_spent[DISRUPTION] += task_time - productive
        if coordination:
            time_spent["coordination"] += spent * coordination
        if misaligned:
            time_spent["misaligned"] += spent * misaligned
        item.touch_time += productive
        model.task_done(item, task, self, started)
        self.item = self.task = None
        if self.pending is not None:
            self.unit.task_finished(now)
            then, self.when_free = self.when_free, None
            then(self)
        else:
            self.unit.finished_next(self, now)
        if item.plan:
            model.pass_on(item, self, task)
        else:
            model.deliver(item)


class BRM(mesa.Agent):
    """A Business Relationship Manager: one mediation at a time, from a shared queue
    (``handoffs.py`` decides whom they mediate and when they are done).

    Args:
        model: The Mesa model they work in.
    """

    def __init__(self, model: mesa.Model):
        super().__init__(model)
        self.item: WorkItem | None = None
        self.retiring = False
        self.busy_since = 0.0

    def take(self, item: WorkItem, now: float) -> None:
        """Start mediating the handoff of ``item`` (``handoffs.py`` schedules its end)."""
        self.item = item
        self.busy_since = now

    @property
    def busy(self) -> bool:
        """Whether they are mediating now."""
        return self.item is not None
