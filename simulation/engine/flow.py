"""The path every task takes: a person starts it, finishes it, and the item moves on.

Each task of each item passes through here: it is pushed into its unit (where someone
idle starts it, or it waits), started (its end goes on the clock), finished (the
person's time is booked, the task recorded, the person takes the next waiting task),
and the item is handed on (``handoffs.py``) or delivered. It runs four to five times
per item, so it is written as a few long functions rather than many small ones: a call
costs as much as the work of a line, and this path was half a run's time when it went
through twenty calls a task (issue 11). Rare paths (a person held for a rotation or a
departure, a cross-skilled colleague or queue, a person back from a stint) go through
the unit's own methods.

Dispatch within a unit (``units.py`` holds the queues): a task goes to the specialist
of its discipline idle longest, else to the idle colleague most proficient in it, else
it waits; a person who finishes takes the best waiting task of their own discipline,
else of one they are cross-skilled in.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Protocol

from simulation.engine.events import DEFAULT_PRIORITY
from simulation.engine.work import DISRUPTION, FAILURE_DEMAND, VALUE

if TYPE_CHECKING:
    from simulation.engine.agents import Staff
    from simulation.engine.clock import Clock
    from simulation.engine.units import Unit
    from simulation.engine.work import Task, WorkItem


class Pace(Protocol):
    """Today's productivity: 1, or less in the J-curve after a change
    (``transitions.Transitions``)."""

    current: float


class Releases(Protocol):
    """What the flow asks of the releases (``releases.Releases``)."""

    enabled: bool

    def task_done(self, item: WorkItem, task: Task, unit: Unit) -> None:
        """``task`` of ``item`` is done in ``unit``."""
        ...

    def due(self, item: WorkItem) -> float | None:
        """When ``item`` moves on: None for now, else the time its release goes out."""
        ...


class TaskFlow:
    """Starts, finishes and dispatches tasks; hands finished items on.

    Args:
        clock: The run's clock (task ends go on its event list).
        task_rows: Where each task done is recorded: a row of the event log, in the
            order of ``records.TASK_FIELDS``.
        it_disciplines: The disciplines on the IT side (an item's first IT task is
            DORA's "commit").
        releases: Whether an item moves on now or when its release goes out.
        contact: Work crossed units from a sender to a receiver at a time (the
            network may tie them); None when nobody needs to know.
        deliver: Takes an item with no tasks left (now, or when its release goes out).

    Two collaborators are set once they are built, as they are built after the flow:
    ``pass_on(item, sender, finished, now)``, the handoff to the next task (the
    handoffs push into this flow), and ``pace``, today's productivity
    (``pace.current``, read when a task starts).
    """

    def __init__(
        self,
        clock: Clock,
        task_rows: list[tuple],
        it_disciplines: set[str],
        releases: Releases,
        contact: Callable[[Staff, Staff, float], None] | None,
        deliver: Callable[[WorkItem], None],
    ):
        self.clock = clock
        self._heap = clock._heap
        self._order = clock._order
        self.task_rows = task_rows
        self.it_disciplines = it_disciplines
        self.releases = releases
        self.contact = contact
        self.deliver = deliver
        self.pass_on: Callable[[WorkItem, Staff, Task, float], None] | None = None
        self.pace: Pace | None = None
        # one bound method for every task's end on the clock, not one made per task
        self._finish = self.finish

    def push(self, unit: Unit, item: WorkItem, task: Task, now: float) -> None:
        """``task`` arrives at ``unit``: someone idle starts it, or it waits."""
        idle = unit.idle.get(task.discipline)
        if idle:  # the specialist idle longest
            staff = idle.popleft()
        else:
            staff = unit.cross_skilled_idle(task.discipline) if unit.cross_skilled else None
            if staff is None:
                unit.enqueue(item, task)
                return
        unit.busy_change(+1, now)
        self.start(staff, item, task, now)

    def start(self, staff: Staff, item: WorkItem, task: Task, now: float) -> None:
        """``staff`` begins ``task`` of ``item`` at ``now``; its end goes on the clock."""
        staff.item = item
        staff.task = task
        staff.busy_since = now
        productivity = self.pace.current
        staff.productivity_at_start = productivity
        sender = item.sender
        if sender is not None and sender.unit is not staff.unit and self.contact is not None:
            self.contact(sender, staff, now)
        # availability: the share of the day left for tasks (at least 5%), times today's
        # productivity (the J-curve)
        share = 1.0 - staff.coordination_share - staff.misaligned_share
        availability = (share if share > 0.05 else 0.05) * productivity
        effort = task.effort
        if effort is None:  # a stage of the route: the item's own (WorkItem.effort_of)
            effort = item.stage_efforts[task.stage]
        duration = effort / (staff.proficiency.get(task.discipline, 0.0) * availability)
        heappush(
            self._heap, (now + duration, DEFAULT_PRIORITY, next(self._order), self._finish, staff)
        )

    def finish(self, staff: Staff) -> None:
        """Event callback: ``staff`` has done their task."""
        item, task = staff.item, staff.task
        now = self.clock.now
        started = staff.busy_since
        spent = now - started
        coordination, misaligned = staff.coordination_share, staff.misaligned_share
        task_time = spent * (1.0 - coordination - misaligned)
        productive = task_time * staff.productivity_at_start
        # Fixing an escaped defect is failure demand: avoidable rework by another name.
        kind = task.kind
        use = FAILURE_DEMAND if item.raised_by_defect and kind == VALUE else kind
        time_spent = staff.time_spent
        time_spent[use] += productive
        # adding a zero changes nothing: skipped, for speed, when there is none to add
        if productive != task_time:
            time_spent[DISRUPTION] += task_time - productive
        if coordination:
            time_spent["coordination"] += spent * coordination
        if misaligned:
            time_spent["misaligned"] += spent * misaligned
        item.touch_time += productive
        unit = staff.unit
        # the event log's row (records.TASK_FIELDS), appended here: once per task
        self.task_rows.append(
            (
                item.id,
                item.type.name,
                task.discipline,
                kind,
                staff.unique_id,
                unit.name,
                item.enqueued_at,
                started,
                now,
            )
        )
        if item.first_it_start is None and task.discipline in self.it_disciplines:
            item.first_it_start = started
        releases = self.releases
        if releases.enabled:
            releases.task_done(item, task, unit)
        staff.item = staff.task = None
        if staff.pending is not None:
            unit.task_finished(now)
            then, staff.when_free = staff.when_free, None
            then(staff)
        else:
            # the next task, in one update of the busy count: one fewer busy and then one
            # more at the same time leaves the busy area as it was (it grows by busy x 0
            # days), so only the area up to now is added
            unit.busy_area_counted += unit.busy * (now - unit.busy_counted_to)
            unit.busy_counted_to = now
            queue = unit.queues.get(staff.discipline)
            if not queue and len(staff.proficiency) > 1:
                queue = unit.best_cross_skilled_queue(staff)
            if queue:
                _, waiting, waiting_task = heappop(queue)
                unit.queued -= 1
                self.start(staff, waiting, waiting_task, now)
            else:
                unit.busy -= 1
                unit.idle[staff.discipline].append(staff)
        if item.plan:
            at = releases.due(item) if releases.enabled else None
            if at is None:
                self.pass_on(item, staff, task, now)
            else:
                self.clock.at(at, self._pass_on_later, (item, staff, task))
        else:
            self.deliver(item)

    def _pass_on_later(self, handoff: tuple[WorkItem, Staff, Task]) -> None:
        """Event callback: the release went out, the handoff begins."""
        item, sender, finished = handoff
        self.pass_on(item, sender, finished, self.clock.now)
