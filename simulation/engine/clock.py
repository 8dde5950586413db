"""The clock: the one way the engine and the mechanisms read time and schedule work.

A narrow surface over the model's event list, in the manner of SimPy's environment
(``env.now``, ``env.schedule``): :attr:`Clock.now`, :meth:`Clock.schedule` (after a
delay), :meth:`Clock.schedule_at` (at a time) and :meth:`Clock.every` (recurring).
Each returns a handle whose ``cancel()`` (or ``stop()``) takes it back;
:meth:`Clock.after` and :meth:`Clock.at` schedule for good, with no handle (the hot
paths). Nothing but the model touches the event list itself, and one hot path pushes
as :meth:`Clock.at` does, inline: the task path (``flow.py``) puts each task's end on
the heap itself, once per task.

Order is the event list's: by time, then priority, then the order of scheduling; a
recurring callback schedules its next run after it has run, as Mesa's
``schedule_recurring`` does, so same-time ties resolve as they always have.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any

from simulation.engine.events import DEFAULT_PRIORITY, Call, FastEventList

#: The calendar the mechanisms count in: working days, not calendar days.
WORKING_DAYS_PER_YEAR = 250
WORKING_DAYS_PER_QUARTER = 63


class Clock:
    """Time and scheduling for everything that acts in a run.

    ``now`` is a plain attribute, set by the loop that runs the event list
    (``events.advance``), so the engine reads the time without a property or Mesa's
    signal machinery in between.

    Args:
        events: The event list the run advances through.
        now: The time at the start.
    """

    __slots__ = ("_events", "_heap", "_order", "now")

    def __init__(self, events: FastEventList, now: float = 0.0):
        self._events = events
        # the heap and its sequence, for at/after (the entries' layout is events.py's)
        self._heap = events._events
        self._order = events._order
        #: The current time, in working days since the start.
        self.now = now

    def schedule(self, delay: float, callback: Callable, arg: Any = None) -> Call:
        """Call ``callback(arg)`` (or ``callback()``) ``delay`` days from now."""
        return self._events.call(self.now + delay, callback, arg)

    def schedule_at(self, time: float, callback: Callable, arg: Any = None) -> Call:
        """Call ``callback(arg)`` (or ``callback()``) at ``time``."""
        return self._events.call(time, callback, arg)

    def after(self, delay: float, callback: Callable, arg: Any = None) -> None:
        """:meth:`schedule` for good, with no handle: the hot paths' way (task ends,
        arrivals, handoffs), one heap entry and nothing else."""
        heappush(self._heap, (self.now + delay, DEFAULT_PRIORITY, next(self._order), callback, arg))

    def at(self, time: float, callback: Callable, arg: Any = None) -> None:
        """:meth:`schedule_at` for good, with no handle (see :meth:`after`)."""
        heappush(self._heap, (time, DEFAULT_PRIORITY, next(self._order), callback, arg))

    def every(
        self, interval: float, callback: Callable[[], None], start: float | None = None
    ) -> Recurring:
        """Call ``callback()`` every ``interval`` days, first at ``start`` (default: one
        interval from now), until the returned handle is stopped."""
        return Recurring(self, interval, callback, start)


class Recurring:
    """A callback that runs every ``interval`` days until stopped.

    Args:
        clock: The clock that schedules each run.
        interval: Days between runs.
        callback: What runs, with no arguments.
        start: The time of the first run (default: one interval from now).
    """

    __slots__ = ("_callback", "_clock", "_next", "_stopped", "interval")

    def __init__(
        self, clock: Clock, interval: float, callback: Callable[[], None], start: float | None
    ):
        self._clock = clock
        self._callback = callback
        self.interval = interval
        self._stopped = False
        first = clock.now + interval if start is None else start
        self._next: Call | None = clock.schedule_at(first, self._run)

    def _run(self) -> None:
        self._callback()
        if self._stopped:  # the callback stopped its own programme
            return
        # the next run is scheduled after this one ran: same-time ties keep their order
        self._next = self._clock.schedule(self.interval, self._run)

    def stop(self) -> None:
        """No more runs."""
        self._stopped = True
        if self._next is not None:
            self._next.cancel()
            self._next = None
