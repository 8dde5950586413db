"""Reorganising over time: scheduled changes and the J-curve that follows each.

A change (``Scenario.changes``) takes effect on its day: the scenario is updated, the
organisation re-formed from the staff there are (hires join, leavers go, teams are
dealt again; skills and ties carry over), BRMs added or retired, and programmes
(glossary, rotation, culture events) started or stopped.

The human side (``mechanisms.change``): productivity then dips and recovers,
``1 - depth * exp(-(t - day) / recovery)``, multiplying everyone's availability.
``depth = dip_depth * size * (1 - management_effect * change_management)`` where the
*size* is the share of people whose team changed (a colleague set less than half the
same) plus ``process_change_size`` for a change in how work flows (priorities, BRMs
introduced or removed); change management also
shortens the recovery, and costs ``cost_per_person`` per affected person at full
investment. Dips of successive changes compound.

Default: changes only where the scenario lists them; each with its J-curve
(``mechanisms.change``). Off switch: ``mechanisms.change.enabled: false`` removes the
dip (changes still happen); a scenario without ``changes`` has none.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simulation.inputs.scenario import Change, Scenario, with_overrides
from simulation.mechanisms.base import Mechanism

if TYPE_CHECKING:
    from simulation.engine.agents import Staff
    from simulation.engine.clock import Clock


class Transitions(Mechanism):
    """Scheduled changes, put into effect on their day, and the dips that follow.

    Args:
        clock: Schedules each change on its day.
        staff: Everyone employed (the model's list: who changed colleagues).
        config: The scenario the run is under now.
        reconfigure: Puts a new scenario into effect (the model re-forms what changed).
        book_cost: Books a programme's cost (programme name, amount).
    """

    def __init__(
        self,
        clock: Clock,
        staff: list[Staff],
        config: Callable[[], Scenario],
        reconfigure: Callable[[Scenario], None],
        book_cost: Callable[[str, float], None],
    ):
        self.clock = clock
        self.staff = staff
        self.config = config
        self.reconfigure = reconfigure
        self.book_cost = book_cost
        self.dips: list[tuple[float, float, float]] = []  # (day, depth, recovery days)
        self.log: list[dict[str, Any]] = []
        self.current = 1.0  # productivity today
        for change in sorted(config().changes, key=lambda c: c.day):
            clock.at(float(change.day), self.apply, change)

    def on_day(self, day: int) -> None:
        """Today's productivity, after every dip so far."""
        self.current = self.productivity(self.clock.now)

    def summary(self) -> dict[str, list[dict[str, Any]]]:
        """Every change put into effect, with its size and dip."""
        return {"changes": self.log}

    def productivity(self, now: float) -> float:
        """The product of every dip's remaining depth at ``now`` (1 = no dip)."""
        factor = 1.0
        for day, depth, recovery in self.dips:
            factor *= 1.0 - depth * math.exp(-(now - day) / recovery)
        return factor

    def apply(self, change: Change, source: str = "scheduled") -> dict[str, Any]:
        """Put ``change`` into effect now; returns its log entry."""
        return self.apply_overrides(change.overrides(), change.label, source)

    def apply_overrides(
        self, overrides: dict[str, Any], label: str = "", source: str = "scheduled"
    ) -> dict[str, Any]:
        """Put ``overrides`` of the current scenario into effect now; returns the log entry."""
        staff, now = self.staff, self.clock.now
        before = self.config()
        mates_before = _colleagues(staff)
        after = with_overrides(before, overrides)
        self.reconfigure(after)
        mates_after = _colleagues(staff)
        stayed = [p for p in mates_before if p in mates_after]
        moved = sum(_jaccard(mates_before[p], mates_after[p]) < 0.5 for p in stayed)
        params = after.mechanisms.change
        size = min(
            1.0,
            moved / max(1, len(staff))
            + params.process_change_size * _process_changes(before, after),
        )
        management = after.levers.change_management
        depth = recovery = cost = 0.0
        if params.enabled and size > 0:
            depth = params.dip_depth * size * (1.0 - params.management_effect * management)
            recovery = params.recovery_days * (1.0 - params.management_effect * management / 2)
            cost = management * params.cost_per_person * size * len(staff)
            if depth > 0:
                self.dips.append((now, depth, recovery))
            if cost > 0:
                self.book_cost("change_management", cost)
        entry = {
            "day": now,
            "label": label or _describe(overrides),
            "source": source,
            "structure": after.structure,
            "size": size,
            "dip_depth": depth,
            "recovery_days": recovery,
            "change_management_cost": cost,
        }
        self.log.append(entry)
        return entry


def _colleagues(staff: list[Staff]) -> dict[Staff, frozenset]:
    return {p: frozenset(m for m in p.unit.members if m is not p) for p in staff}


def _jaccard(a: frozenset, b: frozenset) -> float:
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def _process_changes(before: Scenario, after: Scenario) -> int:
    """How many ways the flow of work changed without anyone moving."""
    changes = int(before.prioritisation != after.prioritisation)
    changes += (before.brms.count == 0) != (after.brms.count == 0)
    return changes


def _describe(overrides: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in overrides.items() if k != "teams") or "change"
