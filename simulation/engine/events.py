"""The event list under Mesa's event-driven time, and the loop that runs it.

OrgModel runs on Mesa's event list: ``run_for``/``run_until``, ``schedule_event`` and the
daily ``step()`` all work as in any Mesa model. Only the list itself is replaced, with
one that keeps the same interface (``add_event``, ``pop_event``, ...) but holds plain
tuples ``(time, priority, seq, fn, arg)`` in a heap (compared in C, not by
``Event.__lt__``). The model's own hot paths (task completions, arrivals, handoffs) post
calls with no handle at all (``Clock.at``/``Clock.after`` push the tuple onto this very
heap): one tuple per event, no object, no weak reference. What may be taken back
(:meth:`FastEventList.call`, Mesa's own events) carries a handle whose ``cancel()``
leaves it in the heap, never to run.

Order is Mesa's: by time, then priority, then creation; Mesa's events and the model's
calls share one sequence, so same-time ties resolve in the order things were scheduled.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from heapq import heapify, heappop, heappush, nsmallest
from typing import Any

from mesa.experimental.mesa_signals import ObservableSignals
from mesa.time import Event, EventList, Priority

#: The priority of the model's own calls (Mesa's default).
DEFAULT_PRIORITY = Priority.DEFAULT.value

#: ``arg`` of a heap entry whose ``fn`` is a handle (a :class:`Call` or a Mesa Event):
#: it runs through ``execute()`` unless cancelled.
HANDLE = object()


class Call:
    """One scheduled call of ``fn(arg)`` (or ``fn()`` when ``arg`` is None) that can be
    taken back.

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
    """Mesa's event list as a heap of tuples, with a fast path for the model's calls.

    It starts empty; :meth:`taking_over` starts it with what Mesa's list held.
    """

    def __init__(self) -> None:
        self._events: list[tuple[float, int, int, Any, Any]] = []
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
        heappush(self._events, (event.time, event.priority, seq, event, HANDLE))

    def call(
        self, time: float, fn: Callable, arg: Any = None, priority: int = DEFAULT_PRIORITY
    ) -> Call:
        """Schedule ``fn(arg)`` at ``time``; the returned handle can cancel it."""
        seq = next(self._order)
        entry = Call(time, fn, arg, priority, seq)
        heappush(self._events, (time, priority, seq, entry, HANDLE))
        return entry

    def again(self, call: Call, time: float) -> Call:
        """Schedule ``call``, which has run, once more at ``time``: a daily call's next
        run, without a new handle each day."""
        call.time = time
        call.seq = seq = next(self._order)
        heappush(self._events, (time, call.priority, seq, call, HANDLE))
        return call

    def _live(self):
        """The entries still to run, as handles (a posted call gets one made for it)."""
        for time, priority, seq, fn, arg in self._events:
            if arg is not HANDLE:
                yield Call(time, fn, arg, priority, seq)
            elif not fn.CANCELED:
                yield fn

    def pop_event(self) -> Event | Call:
        """Take the next event that is not cancelled off the list."""
        events = self._events
        while events:
            time, priority, seq, fn, arg = heappop(events)
            if arg is not HANDLE:
                return Call(time, fn, arg, priority, seq)
            if not fn.CANCELED:
                return fn
        raise IndexError("Event list is empty")

    def peek_ahead(self, n: int = 1) -> list[Event | Call]:
        """The next ``n`` events, without taking them off."""
        if self.is_empty():
            raise IndexError("event list is empty")
        return nsmallest(n, self._live(), key=lambda e: (e.time, e.priority, e.seq))

    def is_empty(self) -> bool:
        """Whether nothing is left to run."""
        return len(self) == 0

    def compact(self) -> None:
        """Drop cancelled events from the heap."""
        # in place: the clock holds this very list (clock.Clock.at)
        self._events[:] = [e for e in self._events if e[4] is not HANDLE or not e[3].CANCELED]
        heapify(self._events)

    def __contains__(self, event: Event) -> bool:
        return not event.CANCELED and any(e[3] is event for e in self._events)

    def __len__(self) -> int:
        return sum(1 for e in self._events if e[4] is not HANDLE or not e[3].CANCELED)

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
    in order, then set the clock to ``until``.

    The time is kept in two places: the model's clock (``model.clock.now``, a plain
    attribute the engine reads) and Mesa's observable ``model.time``; while nobody
    observes the latter, it is set without the signal machinery.
    """
    clock = model.clock
    if until <= clock.now:
        warnings.warn(
            f"end time {until} is larger than time {clock.now}", RuntimeWarning, stacklevel=3
        )
        return
    events = model._event_list._events
    if model._has_subscribers("time", ObservableSignals.CHANGED):
        _advance_observed(model, clock, events, until)
        clock.now = until
        model.time = until
    else:
        # the hot loop: one heap pop, two stores and one call per event
        while events and events[0][0] <= until:
            time, _, _, fn, arg = heappop(events)
            clock.now = model._time = time
            if arg is None:
                fn()
            elif arg is HANDLE:
                if not fn.CANCELED:
                    fn.execute()
            else:
                fn(arg)
        clock.now = model._time = until


def _advance_observed(model, clock, events: list, until: float) -> None:
    """The loop of :func:`advance` when someone observes ``model.time``: each event's
    time goes through Mesa's signal."""
    while events and events[0][0] <= until:
        time, _, _, fn, arg = heappop(events)
        if arg is HANDLE and fn.CANCELED:
            continue
        clock.now = time
        model.time = time
        if arg is None:
            fn()
        elif arg is HANDLE:
            fn.execute()
        else:
            fn(arg)
