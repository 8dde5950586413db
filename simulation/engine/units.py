"""A unit (department or team): its members, its queues and who is idle.

Each unit keeps one queue per discipline. "Best" in a queue is arrival order under
``fifo`` prioritisation and WSJF under ``value``; expedite items go first in both. The
dispatch itself (who takes an arriving task, what a person takes next) is the task
path's, ``flow.py``; the unit answers its questions (the idle colleague most proficient
in a discipline, the best queue a cross-skilled person can serve).
"""

from __future__ import annotations

import heapq
from collections import deque
from itertools import count
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulation.engine.agents import Staff
    from simulation.engine.clock import Clock
    from simulation.engine.work import Task, WorkItem


class Unit:
    """A department or team: members, a queue per discipline, and who is idle (the task
    path, ``flow.py``, dispatches among them and keeps the busy count up to date).

    Args:
        clock: The run's clock (the unit integrates busy people and members over time).
        index: Its position in the organisation (ties are counted per unit index).
        name: What people call it.
        kind: ``"department"`` or ``"team"``.
        value_priority: Serve queues by WSJF (value-based prioritisation), else in order.
        created: When it was formed.
    """

    def __init__(
        self,
        clock: Clock,
        index: int,
        name: str,
        kind: str,
        value_priority: bool,
        created: float = 0.0,
    ):
        self.clock = clock
        self.created = created  # a reorganisation makes new units
        self.retired = False
        self.index = index
        self.name = name
        self.kind = kind  # "department" or "team"
        self.value_priority = value_priority
        self.members: list[Staff] = []
        # members by their own discipline (covers() runs on every item a team may own)
        self.headcount: dict[str, int] = {}
        #: Counts joins and leaves: whoever caches something about the members
        #: (``network.form_ties``) knows when it went stale.
        self.roster_version = 0
        self.queues: dict[str, list] = {}
        # idle members by primary discipline, idle longest first: a deque, as the task
        # path takes the first and appends at the end (a dict's first key costs 3x)
        self.idle: dict[str, deque[Staff]] = {}
        self.cross_skilled: dict[str, list[Staff]] = {}  # discipline -> non-specialists able
        self.interfaces = 0  # other units this one exchanges work with
        self.busy = 0
        self.queued = 0
        self.owned = 0  # items this team owns end to end (teams only)
        self.away = 0  # members on rotation
        self._order = count()
        #: The integral of busy people over time up to ``busy_counted_to`` (the task path
        #: adds to it inline: ``flow.py``).
        self.busy_area_counted = 0.0
        self.busy_counted_to = created
        self._member_area = 0.0  # integral of members over time (people come and go)
        self._members_since = created

    def __repr__(self) -> str:
        return f"Unit({self.name})"

    # -- membership

    def join(self, staff: Staff) -> None:
        """``staff`` becomes a member, as they are: idle, busy on a task, or away."""
        staff.unit = self
        self._members_change()
        self.members.append(staff)
        self.headcount[staff.discipline] = self.headcount.get(staff.discipline, 0) + 1
        self.roster_version += 1
        self.queues.setdefault(staff.discipline, [])
        idle = self.idle.setdefault(staff.discipline, deque())
        if staff.away:
            self.away += 1
        elif staff.busy:
            self.busy_change(+1)
        else:
            idle.append(staff)

    def leave(self, staff: Staff) -> None:
        """An idle or away person leaves the unit for good."""
        self._members_change()
        self.members.remove(staff)
        if self.headcount[staff.discipline] == 1:
            del self.headcount[staff.discipline]
        else:
            self.headcount[staff.discipline] -= 1
        self.roster_version += 1
        self.not_idle(staff)
        if staff.away:
            self.away -= 1

    def drain(self) -> list[tuple[WorkItem, Task]]:
        """Empty every queue: the waiting tasks, best first."""
        waiting = sorted(
            (entry for queue in self.queues.values() for entry in queue), key=lambda e: e[0]
        )
        for queue in self.queues.values():
            queue.clear()
        self.queued = 0
        return [(item, task) for _, item, task in waiting]

    def retire(self) -> None:
        """A reorganisation replaced this unit: freeze its busy-time account."""
        self.busy_change(-self.busy)
        self.retired = True

    def step_out(self, staff: Staff) -> None:
        """An idle person leaves for a while (rotation)."""
        self.not_idle(staff)
        self.away += 1

    def not_idle(self, staff: Staff) -> None:
        """``staff`` is no longer waiting for work here (if they were)."""
        idle = self.idle[staff.discipline]
        if staff in idle:
            idle.remove(staff)

    def step_in(self, staff: Staff) -> None:
        """They are back: they take work or wait for it."""
        self.away -= 1
        self.pull_next(staff)

    def refresh_skills(self) -> None:
        """Re-index who can cover which discipline (after cross-skilling changes)."""
        self.cross_skilled = {}
        for staff in self.members:
            for discipline, level in staff.proficiency.items():
                if discipline != staff.discipline and level > 0:
                    self.cross_skilled.setdefault(discipline, []).append(staff)
                    self.queues.setdefault(discipline, [])

    def covers(self, disciplines: set[str]) -> int:
        """How many of ``disciplines`` someone here has as their own."""
        return len(self.headcount.keys() & disciplines)

    def can_do(self, discipline: str) -> bool:
        """Whether someone here can do tasks of ``discipline``."""
        return discipline in self.queues

    @property
    def size(self) -> int:
        """Members, away or not."""
        return len(self.members)

    @property
    def present(self) -> int:
        """Members not away on rotation."""
        return len(self.members) - self.away

    def busy_area(self) -> float:
        """Person-days busy since the start."""
        return self.busy_area_counted + self.busy * (self.clock.now - self.busy_counted_to)

    def member_area(self) -> float:
        """Person-days of membership since the unit was formed."""
        return self._member_area + len(self.members) * (self.clock.now - self._members_since)

    def _members_change(self) -> None:
        now = self.clock.now
        self._member_area += len(self.members) * (now - self._members_since)
        self._members_since = now

    def busy_change(self, delta: int, now: float | None = None) -> None:
        """``delta`` more people busy from ``now`` (default: the clock's now)."""
        now = self.clock.now if now is None else now
        self.busy_area_counted += self.busy * (now - self.busy_counted_to)
        self.busy_counted_to = now
        self.busy += delta

    def task_finished(self, now: float) -> None:
        """A member finished a task at ``now`` and takes no other: one fewer busy."""
        self.busy_change(-1, now)

    @property
    def load(self) -> float:
        """Work waiting or in progress per member: the basis for choosing among units."""
        return (self.queued + self.busy) / max(1, len(self.members))

    # -- dispatch (the common path is flow.py's)

    def enqueue(self, item: WorkItem, task: Task) -> None:
        """``task`` waits here for someone to take it."""
        key = (item.rank, -item.priority if self.value_priority else 0.0, next(self._order))
        heapq.heappush(self.queues[task.discipline], (key, item, task))
        self.queued += 1

    def pull_next(self, staff: Staff, now: float | None = None) -> None:
        """``staff`` is free (back from a stint, newly hired, in a new organisation):
        they take the best waiting task they can do, or go idle."""
        queue = self.queues.get(staff.discipline) or self.best_cross_skilled_queue(staff)
        if queue:
            _, item, task = heapq.heappop(queue)
            self.queued -= 1
            now = self.clock.now if now is None else now
            self.busy_change(+1, now)
            staff.start(item, task, now)
        else:
            self.idle[staff.discipline].append(staff)

    def best_cross_skilled_queue(self, staff: Staff) -> list | None:
        """The queue with the best first task among the disciplines ``staff`` is
        cross-skilled in (None if all are empty)."""
        best_queue = None
        if len(staff.proficiency) > 1:
            for discipline, level in staff.proficiency.items():
                queue = self.queues.get(discipline)
                if level > 0 and queue and (best_queue is None or queue[0][0] < best_queue[0][0]):
                    best_queue = queue
        return best_queue

    def cross_skilled_idle(self, discipline: str) -> Staff | None:
        """The idle colleague most proficient in ``discipline``, taken off the idle."""
        best = None
        for staff in self.cross_skilled.get(discipline, ()):
            if staff in self.idle[staff.discipline] and (
                best is None or staff.skill(discipline) > best.skill(discipline)
            ):
                best = staff
        if best is not None:
            self.idle[best.discipline].remove(best)
        return best
