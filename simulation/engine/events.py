"""A faster event list for Mesa's event-driven time.

OrgModel runs on Mesa's event list: ``run_for``/``run_until``, ``schedule_event`` and the
daily ``step()`` all work as in any Mesa model. Only the list itself is replaced, with
one that keeps the same interface (``add_event``, ``pop_event``, ...) but orders the heap
by tuples (compared in C, not by ``Event.__lt__``), and adds :meth:`call`: a slotted,
strongly referenced event for the model's own hot paths (task completions, handoffs,
arrivals), with no weak references or per-event dictionaries. On the pure-flow chain
this halves the cost of an event (see benchmarks/flow_vs_simpy.py).

Order is Mesa's: by time, then priority, then creation; Mesa's own events and calls
share one sequence, so same-time ties resolve in the order things were scheduled.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from heapq import heapify, heappop, heappush, nsmallest
from typing import Any

from mesa.experimental.mesa_signals import ObservableSignals
from mesa.time import Event, EventList, Priority

_DEFAULT = Priority.DEFAULT.value


class Call:
    """One scheduled call of ``fn(arg)`` (or ``fn()`` when there is no argument).

    Args:
        time: When it runs.
        fn: What runs.
        arg: Its one argument, or None for none.
        priority: Mesa's priority (lower runs first at the same time).
        seq: Its place in the order of scheduling (earlier runs first at a tie).
    """

    __slots__ = ("CANCELED", "arg", "fn", "priority", "seq", "time")

    def __init__(self, time: float, fn: Callable, arg: Any, priority: int, seq: int):
        self.time = time
        self.fn = fn
        self.arg = arg
        self.priority = priority
        self.seq = seq
        self.CANCELED = False

    def execute(self) -> None:
        """Run the call."""
        if self.arg is None:
            self.fn()
        else:
            self.fn(self.arg)

    def cancel(self) -> None:
        """Take it back: it stays in the heap but never runs."""
        self.CANCELED = True


class FastEventList(EventList):
    """Mesa's event list, ordered by tuples and with a fast path for the model's calls.

    It starts empty; :meth:`taking_over` starts it with what Mesa's list held.
    """

    def __init__(self) -> None:
        self._events: list[tuple[float, int, int, Event | Call]] = []
        self._order = itertools.count()

    @classmethod
    def taking_over(cls, events: EventList) -> FastEventList:
        """A fast list holding what Mesa's list held (its daily step, already scheduled)."""
        fast = cls()
        while not events.is_empty():
            fast.add_event(events.pop_event())  # in order, the canceled left behind
        return fast

    def add_event(self, event: Event | Call) -> None:
        """Schedule a Mesa event (or a call put back)."""
        # An event keeps its place in the sequence when Mesa puts it back (it does so
        # with the first event beyond the time it runs until).
        seq = getattr(event, "seq", None)
        if seq is None:
            seq = event.seq = next(self._order)
        heappush(self._events, (event.time, event.priority, seq, event))

    def call(self, time: float, fn: Callable, arg: Any = None, priority: int = _DEFAULT) -> Call:
        """Schedule ``fn(arg)`` at ``time``: the fast path (no weak references)."""
        seq = next(self._order)
        entry = Call(time, fn, arg, priority, seq)
        heappush(self._events, (time, priority, seq, entry))
        return entry

    def pop_event(self) -> Event | Call:
        """Take the next event that is not cancelled off the list."""
        events = self._events
        while events:
            event = heappop(events)[3]
            if not event.CANCELED:
                return event
        raise IndexError("Event list is empty")

    def peek_ahead(self, n: int = 1) -> list[Event | Call]:
        """The next ``n`` events, without taking them off."""
        if self.is_empty():
            raise IndexError("event list is empty")
        return [e[3] for e in nsmallest(n, (e for e in self._events if not e[3].CANCELED))]

    def compact(self) -> None:
        """Drop cancelled events from the heap."""
        self._events = [e for e in self._events if not e[3].CANCELED]
        heapify(self._events)

    def __contains__(self, event: Event) -> bool:
        return not event.CANCELED and any(e[3] is event for e in self._events)

    def __len__(self) -> int:
        return sum(1 for e in self._events if not e[3].CANCELED)

    def __repr__(self) -> str:
        return f"FastEventList({len(self)} events)"

    def remove(self, event: Event) -> None:
        """Cancel ``event``."""
        event.cancel()

    def clear(self) -> None:
        """Drop every event."""
        self._events.clear()


def advance(model, until: float) -> None:
    """Mesa's ``Model._advance_time`` on the fast list: run every event due by ``until``
    in order, then set the clock to ``until``. The clock is Mesa's observable ``time``;
    while nobody observes it, it is set without the signal machinery."""
    if until <= model.time:
        warnings.warn(
            f"end time {until} is larger than time {model.time}", RuntimeWarning, stacklevel=3
        )
        return
    events = model._event_list._events
    observed = model._has_subscribers("time", ObservableSignals.CHANGED)
    while events and events[0][0] <= until:
        event = heappop(events)[3]
        if event.CANCELED:
            continue
        if observed:
            model.time = event.time
        else:
            model._time = event.time
        event.execute()
    model.time = until
