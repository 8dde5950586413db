"""The people: Staff who do the work and BRMs who mediate between business and IT."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from simulation.work import FAILURE_DEMAND, REWORK, VALUE, WASTED, Task, WorkItem

if TYPE_CHECKING:
    from simulation.model import OrgModel
    from simulation.units import Unit


class Staff(mesa.Agent):
    """A person with a discipline, skills, a unit and a share of the day left for work.

    ``availability`` is the share of a working day left after coordination overhead
    (mechanism 6) and, for IT staff, misaligned work (mechanism 5). A task of ``effort``
    person-days takes ``effort / (proficiency * availability)`` days of this person's time,
    and that time is booked to value, waste, coordination and misaligned work in those
    proportions.
    """

    def __init__(
        self, model: OrgModel, discipline: str, side: str, unit: Unit, cost_per_day: float
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
        self.away = False  # on a rotation stint
        self.leave_when_done = False
        self.rotation_host: tuple[Unit, str] | None = None
        # where the time went, in days
        self.time_spent = dict.fromkeys(
            (VALUE, WASTED, REWORK, FAILURE_DEMAND, "coordination", "misaligned"), 0.0
        )

    @property
    def availability(self) -> float:
        return max(0.05, 1.0 - self.coordination_share - self.misaligned_share)

    @property
    def busy(self) -> bool:
        return self.task is not None

    def skill(self, discipline: str) -> float:
        return self.proficiency.get(discipline, 0.0)

    def start(self, item: WorkItem, task: Task) -> None:
        self.item, self.task = item, task
        now = self.model.time
        self.busy_since = now
        self.model.task_started(item, self)
        duration = task.effort / (self.skill(task.discipline) * self.availability)
        self.model.schedule_event(self.finish, after=duration)

    def finish(self) -> None:
        """Event callback: the current task is done."""
        item, task = self.item, self.task
        spent = self.model.time - self.busy_since
        productive = spent * (1.0 - self.coordination_share - self.misaligned_share)
        # Fixing an escaped defect is failure demand: avoidable rework by another name.
        use = FAILURE_DEMAND if item.raised_by_defect and task.kind == VALUE else task.kind
        self.time_spent[use] += productive
        self.time_spent["coordination"] += spent * self.coordination_share
        self.time_spent["misaligned"] += spent * self.misaligned_share
        item.touch_time += productive
        self.model.recorder.task_row(item, task, self, self.busy_since)
        self.item = self.task = None
        self.unit.task_finished()
        if self.leave_when_done:
            self.model.rotation.depart(self)
        else:
            self.unit.pull_next(self)
        self.model.task_done(item, task, self)

    def come_back(self) -> None:
        """Event callback: a rotation stint is over."""
        self.model.rotation.come_back(self)


class BRM(mesa.Agent):
    """A Business Relationship Manager: one mediation at a time, from a shared queue."""

    def __init__(self, model: OrgModel):
        super().__init__(model)
        self.item: WorkItem | None = None
        self.mediations = 0
        self.busy_time = 0.0
        self.busy_since = 0.0

    def mediate(self, item: WorkItem, mean_days: float) -> None:
        self.item = item
        self.busy_since = self.model.time
        self.model.schedule_event(self.finish, after=float(self.model.rng.exponential(mean_days)))

    def finish(self) -> None:
        item = self.item
        self.busy_time += self.model.time - self.busy_since
        self.mediations += 1
        self.item = None
        self.model.handoffs.mediation_done(self, item)
