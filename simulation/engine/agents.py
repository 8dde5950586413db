"""The people: Staff who do the work and BRMs who mediate between business and IT.

A person needs little of the organisation they work in, and :class:`Workplace` names
it: the task path their work goes through (``flow.py``). ``OrgModel`` is one; a test
can be another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import mesa

from simulation.engine.work import EFFORT_USES, Task, WorkItem

if TYPE_CHECKING:
    from simulation.engine.flow import TaskFlow
    from simulation.engine.units import Unit


class Workplace(Protocol):
    """What Staff need from the (Mesa) model they work in."""

    flow: TaskFlow


class Staff(mesa.Agent):
    """A person with a discipline, skills, a unit and a share of the day left for work.

    ``availability`` is the share of a working day left after coordination overhead
    (mechanism 6) and, for IT staff, misaligned work (mechanism 5). A task of ``effort``
    person-days takes ``effort / (proficiency * availability)`` days of this person's time,
    and that time is booked to value, waste, coordination and misaligned work in those
    proportions (``flow.py`` starts and finishes their tasks).

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
        """Begin ``task`` of ``item`` at ``now`` (``flow.py`` books it and its end)."""
        self.model.flow.start(self, item, task, now)


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
