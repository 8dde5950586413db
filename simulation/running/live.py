"""Live runs for workshops: organisations stepped a day at a time, side by side.

A :class:`Workshop` holds one :class:`OrgModel` per structure, all built with the same
seed and the same demand settings, and steps them together. After each day it takes a
:func:`snapshot` of every model (a small dict of what a room watches: items waiting,
items being worked on, the running lead time, the CX index) and keeps the history for
the running charts. It only reads the models; it never changes how they run.

"Delivered" means what it means on the Compare page: new work, the items customers
asked for. Incidents raised by escaped defects are failure demand, work a silo made
for itself; counting them as deliveries would reward the structure that makes most
defects. ``delivered`` (every item finished) is kept for the flow balance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from simulation.inputs.scenario import Scenario
from simulation.model.org_model import OrgModel

#: Trailing window of the running lead time, in working days.
LEAD_TIME_WINDOW = 20


def snapshot(model: OrgModel) -> dict[str, Any]:
    """The state of a model at the end of its latest day, as plain numbers."""
    series = model.datacollector.model_vars
    delivered = series["new_work_today"][-LEAD_TIME_WINDOW:]
    leads = series["lead_time_today"][-LEAD_TIME_WINDOW:]
    # Mean lead time of the new work delivered in the window (the headline lead time):
    # weight each day's mean by the new work it delivered.
    pairs = [(n, lt) for n, lt in zip(delivered, leads, strict=True) if n and not math.isnan(lt)]
    count = sum(n for n, _ in pairs)
    running_lead = sum(n * lt for n, lt in pairs) / count if count else math.nan
    present = sum(u.present for u in model.units)
    return {
        # as Compare's throughput (metrics.compute_kpis: new_work_per_week), from day 1
        "new_work_delivered": int(sum(series["new_work_today"])),
        "day": model.steps,
        "wip": model.wip,
        "queued": model.queued,
        "busy": model.busy,
        "in_handoff": model.in_handoff,
        "utilisation": model.busy / present if present else math.nan,
        "arrivals": model.recorder.arrivals,
        "delivered": model.recorder.completed,
        "lead_time": running_lead,
        "cx_index": model.cx_index,
        "brm_queue": model.brm_queue,
    }


def unit_snapshot(model: OrgModel, top: int = 12) -> pd.DataFrame:
    """Items at each unit now (being worked on, waiting), plus those between units.

    Rows are long format (unit, state, items) for a stacked bar. Organisations with
    many teams keep their ``top`` most loaded units.
    """
    units = sorted(model.units, key=lambda u: u.queued + u.busy, reverse=True)[:top]
    units = sorted(units, key=lambda u: u.index)
    rows = []
    for unit in units:
        rows.append(
            {
                "unit": unit.name,
                "state": "Being worked on",
                "order": 0,
                "items": unit.busy,
                "people": unit.present,
            }
        )
        rows.append(
            {
                "unit": unit.name,
                "state": "Waiting in a queue",
                "order": 1,
                "items": unit.queued,
                "people": unit.present,
            }
        )
    between = "Between units"
    rows.append(
        {"unit": between, "state": "In handoff", "order": 2, "items": model.in_handoff, "people": 0}
    )
    if model.brm_count:
        rows.append(
            {
                "unit": "BRM queue",
                "state": "Waiting in a queue",
                "order": 1,
                "items": model.brm_queue,
                "people": model.brm_count,
            }
        )
    return pd.DataFrame(rows)


@dataclass
class Side:
    """One organisation of a workshop."""

    name: str
    structure: str
    model: OrgModel
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def latest(self) -> dict[str, Any]:
        """The latest daily snapshot, or an empty one before the first step."""
        return self.history[-1] if self.history else snapshot_empty()


def snapshot_empty() -> dict[str, Any]:
    """A snapshot of day 0: zero counts, NaN for the rates nothing has been measured for yet."""
    return {
        "new_work_delivered": 0,
        "day": 0,
        "wip": 0,
        "queued": 0,
        "busy": 0,
        "in_handoff": 0,
        "utilisation": math.nan,
        "arrivals": 0,
        "delivered": 0,
        "lead_time": math.nan,
        "cx_index": math.nan,
        "brm_queue": 0,
    }


class Workshop:
    """Two or three organisations stepped together, one working day at a time.

    Every side gets the same seed; give them the same demand (work types and rates) so
    the difference a room sees comes from the structure. ``days`` shortens the horizon.
    """

    def __init__(
        self, scenarios: list[Scenario], names: list[str], seed: int, days: int | None = None
    ):
        if not scenarios:
            raise ValueError("a workshop needs at least one organisation")
        self.seed = seed
        self.sides = [
            Side(name, s.structure, OrgModel(s, rng=seed, days=days))
            for s, name in zip(scenarios, names, strict=True)
        ]
        self.horizon = max(side.model.horizon for side in self.sides)

    @property
    def day(self) -> int:
        """Working days stepped so far (by the side that has run longest)."""
        return max(side.model.steps for side in self.sides)

    @property
    def finished(self) -> bool:
        """True once every side has reached its horizon."""
        return not any(side.model.running for side in self.sides)

    def step(self, days: int = 1) -> None:
        """Advance every side by ``days`` working days (those still running)."""
        for _ in range(max(0, days)):
            for side in self.sides:
                if side.model.running:
                    side.model.step()
                    side.history.append(snapshot(side.model))

    def history(self) -> pd.DataFrame:
        """Every side's daily snapshots: one row per side and day."""
        frames = [
            pd.DataFrame(side.history).assign(side=side.name) for side in self.sides if side.history
        ]
        if not frames:
            return pd.DataFrame(columns=["side", *snapshot_empty()])
        return pd.concat(frames, ignore_index=True)

    def units(self) -> dict[str, pd.DataFrame]:
        """Every side's items per unit now, by side name (see :func:`unit_snapshot`)."""
        return {side.name: unit_snapshot(side.model) for side in self.sides}

    def differences(self) -> list[dict[str, Any]]:
        """Every side after the first against the first, so far: new work delivered
        (more or fewer items) and the running lead time (days less or more, NaN while
        either side has delivered nothing in the window)."""
        if len(self.sides) < 2:
            return []
        first = self.sides[0].latest
        return [
            {
                "name": side.name,
                "against": self.sides[0].name,
                "more_new_work": side.latest["new_work_delivered"] - first["new_work_delivered"],
                "lead_time_saved": first["lead_time"] - side.latest["lead_time"],
            }
            for side in self.sides[1:]
        ]
