"""A run boiled down to what a comparison shows: KPIs and a few small tables.

A full :class:`RunRecords` carries the event log (thousands of rows per run); charts and
summaries across replicates need far less. :func:`digest` keeps the KPI record (the
very dict the command line prints), the daily series, the lead times of the items in
the KPI window, the unit table and the effort split: a few tens of kilobytes that
cache, pickle between processes and ship to a browser cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import yaml

from simulation.metrics import unit_table
from simulation.records import RunRecords
from simulation.runs import RunResult, run_scenario
from simulation.scenario import Scenario, parse_scenario

#: Daily series kept (all the DataCollector columns the charts read).
DAILY_COLUMNS = [
    "day",
    "wip",
    "queued",
    "busy",
    "in_handoff",
    "utilisation",
    "delivered_today",
    "new_work_today",
    "lead_time_today",
    "cx_index",
    "brm_queue",
    "arrivals",
    "delivered",
    "productivity",
]

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
    daily: pd.DataFrame  # DAILY_COLUMNS, one row per day
    lead_times: pd.DataFrame  # type, lead_time of items delivered after the warm-up
    units: pd.DataFrame  # unit_table(): unit, kind, size, utilisation, queue_mean
    effort: dict[str, float]  # person-days in the KPI window by EFFORT_GROUPS label
    brm: dict[str, float]  # count, utilisation, queue_mean
    warmup: int
    horizon: int


def digest(records: RunRecords, kpis: dict[str, Any]) -> RunDigest:
    """Reduce the records of one run to a :class:`RunDigest`."""
    daily = records.daily
    daily = daily[[c for c in DAILY_COLUMNS if c in daily.columns]].astype("float32")
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
    )


def digest_result(result: RunResult) -> RunDigest:
    return digest(result.records, result.kpis)


def run_digest(job: tuple[str, int]) -> RunDigest:
    """Run ``(scenario YAML, seed)`` and digest it: the unit of work sent to a process.

    Takes YAML text rather than a Scenario so the job is the same key the app caches on.
    """
    yaml_text, seed = job
    return digest_result(run_scenario(scenario_from_yaml(yaml_text), seed=seed))


def scenario_from_yaml(text: str) -> Scenario:
    """Scenario.from_yaml, with libyaml's C parser where installed (ten times faster).

    Falls back to Scenario.from_yaml for the same one-line errors on bad YAML.
    """
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        return Scenario.from_yaml(text)
    try:
        data = yaml.load(text, Loader=loader)  # CSafeLoader: the safe loader, in C
    except yaml.YAMLError:
        return Scenario.from_yaml(text)
    return parse_scenario(data)
