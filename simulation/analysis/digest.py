"""A run boiled down to what a comparison shows: KPIs and a few small tables.

A full :class:`RunRecords` carries the event log (thousands of rows per run); charts and
summaries across replicates need far less. :func:`digest` keeps the KPI record (the
very dict the command line prints), the daily series, the lead times of the items in
the KPI window, the unit table and the effort split: a few tens of kilobytes that
cache, pickle between processes and ship to a browser cheaply.

A run that reorganises over time also keeps its change log (scheduled changes and PDCA
trials), the PDCA decisions, and its KPIs before, during and after each scheduled change
(:func:`~simulation.analysis.metrics.phase_table`): a few rows each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulation.analysis.metrics import ROLLING_DAYS, phase_table, rolling_lead_time, unit_table
from simulation.model.records import DECISION_COLUMNS, RunRecords

#: Added to the daily series by :func:`digest`: the mean lead time of the items delivered
#: in the ROLLING_DAYS days before each day (metrics.rolling_lead_time), the curve a
#: transition is judged by.
ROLLING_LEAD_TIME = "lead_time_rolling"

#: Columns kept of the change log (records.changes) and of the PDCA decisions.
CHANGE_COLUMNS = ["day", "label", "source", "structure", "dip_depth"]

#: Effort categories as leadership reads them: value work, avoidable rework (waste,
#: rework and failure demand, as ``rework_effort_share`` counts it), misaligned work
#: and coordination.
EFFORT_GROUPS: dict[str, tuple[str, ...]] = {
    "Value work": ("value",),
    "Rework": ("wasted", "rework", "failure_demand"),
    "Misaligned work": ("misaligned",),
    "Coordination": ("coordination",),
}


@dataclass
class RunDigest:
    """One run of one scenario, small enough to cache and chart."""

    kpis: dict[str, Any]
    daily: pd.DataFrame  # every daily series the model collects, one row per day
    lead_times: pd.DataFrame  # type, lead_time of items delivered after the warm-up
    units: pd.DataFrame  # unit_table(): unit, kind, size, utilisation, queue_mean
    effort: dict[str, float]  # person-days in the KPI window by EFFORT_GROUPS label
    brm: dict[str, float]  # count, utilisation, queue_mean
    warmup: int
    horizon: int
    #: the change log: day, label, source ("scheduled" or "pdca"), structure, dip_depth
    changes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHANGE_COLUMNS))
    #: the PDCA policy's decisions (DECISION_COLUMNS); empty without a policy
    decisions: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DECISION_COLUMNS))
    #: metrics.phase_table: KPIs before, during and after each scheduled change
    phases: pd.DataFrame = field(default_factory=pd.DataFrame)


def digest(records: RunRecords, kpis: dict[str, Any]) -> RunDigest:
    """Reduce the records of one run to a :class:`RunDigest`."""
    # every series the model collects (model.org_model.DAILY_SERIES): a few kB per run
    daily = records.daily.astype("float32")
    daily[ROLLING_LEAD_TIME] = rolling_lead_time(
        records.items, daily["day"].to_numpy(dtype=float), width=ROLLING_DAYS
    ).astype("float32")
    daily["day"] = daily["day"].astype("int32")
    items = records.items
    done = items[items["done"] >= records.warmup]
    lead_times = pd.DataFrame(
        {"type": done["type"].astype("category"), "lead_time": done["lead_time"].astype("float32")}
    ).reset_index(drop=True)
    effort = {
        label: float(sum(records.effort.get(key, 0.0) for key in keys))
        for label, keys in EFFORT_GROUPS.items()
    }
    in_window = daily[daily["day"] > records.warmup]
    brm = {
        "count": float(records.brm["count"]),
        "utilisation": float(kpis.get("brm_utilisation", np.nan)),
        "queue_mean": float(in_window["brm_queue"].mean()) if "brm_queue" in daily else np.nan,
    }
    return RunDigest(
        kpis=kpis,
        daily=daily.reset_index(drop=True),
        lead_times=lead_times,
        units=unit_table(records),
        effort=effort,
        brm=brm,
        warmup=records.warmup,
        horizon=records.horizon,
        changes=_log(records.changes, CHANGE_COLUMNS),
        decisions=_log(records.decisions, DECISION_COLUMNS),
        phases=phase_table(records) if _has_rows(records.changes) else pd.DataFrame(),
    )


def _has_rows(frame: pd.DataFrame | None) -> bool:
    return frame is not None and not frame.empty


def _log(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """The listed columns of a log; empty, with those columns, when there is none."""
    if not _has_rows(frame):
        return pd.DataFrame(columns=columns)
    return frame[[c for c in columns if c in frame.columns]].reset_index(drop=True)
