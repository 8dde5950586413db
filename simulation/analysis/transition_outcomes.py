"""Transition paths compared over replicates: KPIs, phases, PDCA decisions, sentences.

A transition is judged by its path as well as its destination: how far lead time rises
after a change, how long it takes to get back, how much work the dip costs, and what
each phase (before, during and after a change) delivers. The per-run numbers come from
:mod:`simulation.analysis.metrics` (``transition_kpis``, ``phase_table``) and the PDCA policy's
decision log; this module averages them over the replicates of each path and words
them for leadership. The app's Compare and Transition pages show these tables.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simulation.analysis.comparison import kpi_mean, values
from simulation.analysis.digest import RunDigest
from simulation.analysis.metrics import mean_ci
from simulation.catalog import kpis as catalog

Runs = Mapping[str, Sequence[RunDigest]]  # path name -> replicates
KpiRuns = Sequence[Sequence[dict[str, Any]]]  # runs[path][replicate] -> KPI dict

#: The window KPIs of metrics.phase_table: column -> (title, unit).
PHASE_KPIS = {
    "lead_time_mean": ("Lead time", "days"),
    "new_work_per_week": ("Throughput", "items/week"),
    "cx_index": ("CX index", "0-100"),
    "change_failure_rate": ("Change failures", "%"),
    "delivered": ("Items", "items delivered"),
}
PHASES = ("before", "during", "after")


def is_transition_run(kpis: Mapping[str, Any]) -> bool:
    """True when a run's KPI record shows scheduled changes or PDCA trials."""
    return _present(kpis.get("changes")) or _present(kpis.get("pdca_trials"))


def any_transition(runs: KpiRuns) -> bool:
    """True when any run of any path has scheduled changes or PDCA trials."""
    return any(is_transition_run(k) for rs in runs for k in rs)


# --------------------------------------------------------------------------- formatting


def format_value(key: str, value: float | None, unit: bool = True) -> str:
    """A transition KPI as a person reads it: '18.6 days', '126 person-days', '123k'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if key in ("transition_cost", "transition_spend"):
        return f"{value / 1e6:.2f}M" if abs(value) >= 1e6 else f"{value / 1e3:,.0f}k"
    if key == "pdca_kept":
        return f"{value:.1f}" if not float(value).is_integer() else f"{value:.0f}"
    if key == "productivity_lost_days":
        return f"{value:,.0f}" + (" person-days" if unit else "")
    number = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"
    return number + (" days" if unit else "")


def _unsaid(key: str) -> str:
    """' (unit)' for a card's help where :func:`format_value` leaves the unit unsaid."""
    return " (changes)" if key == "pdca_kept" else ""


def card(key: str, base: Sequence[dict[str, Any]] | None, runs: Sequence[dict[str, Any]]):
    """What a st.metric card of a transition KPI shows, the change against ``base``."""
    value = kpi_mean(runs, key)
    good_up = catalog.higher_is_better(key)
    delta = None
    if base is not None:
        before = kpi_mean(base, key)
        if not (math.isnan(before) or math.isnan(value)):
            diff = value - before
            if key == "pdca_kept":
                delta = f"{diff:+.1f}"
            elif abs(diff) < 1e-9 or (before and abs(diff / before) < 0.005):
                delta = "no change"
            elif before == 0:
                delta = f"{diff:+.1f}"
            else:
                delta = f"{100 * diff / abs(before):+.0f}%"
    label = catalog.label(key)
    v = values(runs, key)
    v = v[~np.isnan(v)]
    _m, low, high = mean_ci(v)
    low = max(0.0, low)
    ci = (
        "" if math.isnan(low) else f" 95% CI {format_value(key, low)} to {format_value(key, high)}."
    )
    missing = len(runs) - len(v)
    note = f" Not reached in {missing} of {len(runs)} runs." if missing and len(v) else ""
    if not len(v):
        has_changes = not math.isnan(kpi_mean(runs, "lead_time_before_change"))
        if key == "recovery_days" and has_changes:
            why, value = "lead time never got back to its old level within the horizon", "never"
        elif key in ("lead_time_before_change", "lead_time_worst_after_change", "recovery_days"):
            why, value = "this path has no scheduled change", "n/a"
        else:
            why, value = "no value in these runs", "n/a"
        return {
            "label": catalog.kpi(key).card or label,
            "value": value,
            "delta": None,
            "delta_color": "off",
            "help": f"{label}{_unsaid(key)}: {why}.",
        }
    return {
        "label": catalog.kpi(key).card or label,
        "value": format_value(key, value),
        "delta": delta,
        "delta_color": "off"
        if delta in (None, "no change")
        else ("normal" if good_up else "inverse"),
        "help": f"{label}{_unsaid(key)}, mean over the {len(v)} runs where it applies.{ci}{note} "
        f"{'Higher' if good_up else 'Lower'} is better.",
    }


# --------------------------------------------------------------------------- tables


def kpi_table(names: Sequence[str], runs: KpiRuns) -> pd.DataFrame:
    """The transition KPIs that apply to any path, 'mean (low–high)' per path."""
    rows = []
    for key in catalog.section(catalog.TRANSITION):
        if all(math.isnan(kpi_mean(rs, key)) for rs in runs):
            continue
        label, unit = catalog.label(key), catalog.unit(key)
        row: dict[str, Any] = {"KPI": label, "unit": unit}
        for name, rs in zip(names, runs, strict=True):
            v = values(rs, key)
            v = v[~np.isnan(v)]
            mean, low, high = mean_ci(v)
            low = max(0.0, low)  # every transition KPI is a count, a duration or a cost
            cell = format_value(key, mean, unit=False)
            if not math.isnan(low):
                cell += (
                    f" ({format_value(key, low, unit=False)}–{format_value(key, high, unit=False)})"
                )
            row[name] = cell
        rows.append(row)
    return pd.DataFrame(rows)


def phase_summary(runs: Runs) -> pd.DataFrame:
    """KPIs before, during and after each scheduled change, mean over replicates.

    One row per path, change and phase: path, change_day, change (its label), phase,
    from_day, to_day, then PHASE_KPIS. Paths without scheduled changes have no rows.
    """
    frames = []
    for name, ds in runs.items():
        tables = [d.phases for d in ds if d.phases is not None and not d.phases.empty]
        if not tables:
            continue
        stacked = pd.concat(tables, ignore_index=True)
        grouped = stacked.groupby(["change_day", "label", "phase"], sort=False)
        table = grouped[["from_day", "to_day", *PHASE_KPIS]].mean().reset_index()
        table.insert(0, "path", name)
        frames.append(table)
    columns = ["path", "change_day", "label", "phase", "from_day", "to_day", *PHASE_KPIS]
    if not frames:
        return pd.DataFrame(columns=columns)
    table = pd.concat(frames, ignore_index=True)[columns]
    table["phase"] = pd.Categorical(table["phase"], categories=PHASES, ordered=True)
    order = {name: i for i, name in enumerate(runs)}
    table = table.sort_values(
        ["path", "change_day", "phase"], key=lambda c: c.map(order) if c.name == "path" else c
    )
    return table.rename(columns={"label": "change"}).reset_index(drop=True)


def decision_summary(runs: Runs) -> pd.DataFrame:
    """The PDCA decisions of each path, one row per trial day, over replicates.

    Columns: path, tried_on (the day the trial began), day (the day it was judged),
    lever, change (the most common 'from → to'), runs (runs that judged a trial that
    day), kept (how many kept it), kept_share, kpi, before and after (the target KPI
    before and during the trial, mean over the runs).
    """
    rows = []
    for name, ds in runs.items():
        logs = [d.decisions for d in ds if d.decisions is not None and not d.decisions.empty]
        if not logs:
            continue
        log = pd.concat(logs, ignore_index=True)
        log = log[log["decision"].isin(["kept", "reverted"])]
        for (day, lever), group in log.groupby(["day", "lever"], sort=True):
            moves = Counter(
                f"{_g(a)} → {_g(b)}" for a, b in zip(group["from"], group["to"], strict=True)
            )
            kept = int((group["decision"] == "kept").sum())
            rows.append(
                {
                    "path": name,
                    "tried_on": float(pd.to_numeric(group["tried_on"]).min()),
                    "day": float(day),
                    "lever": str(lever),
                    "change": moves.most_common(1)[0][0],
                    "runs": len(group),
                    "kept": kept,
                    "kept_share": kept / len(group),
                    "kpi": str(group["kpi"].iloc[0]),
                    "before": float(pd.to_numeric(group["before"]).mean()),
                    "after": float(pd.to_numeric(group["after"]).mean()),
                }
            )
    columns = [
        "path",
        "tried_on",
        "day",
        "lever",
        "change",
        "runs",
        "kept",
        "kept_share",
        "kpi",
        "before",
        "after",
    ]
    return pd.DataFrame(rows, columns=columns)


def decision_log(digest: RunDigest) -> pd.DataFrame:
    """One run's PDCA decisions as logged, with their reasons, for reading."""
    log = digest.decisions
    if log is None or log.empty:
        return pd.DataFrame(columns=["tried_on", "day", "lever", "change", "decision", "reason"])
    return pd.DataFrame(
        {
            "tried_on": pd.to_numeric(log["tried_on"]).astype(float),
            "day": log["day"].astype(float),
            "lever": log["lever"].astype(str),
            "change": [f"{_g(a)} → {_g(b)}" for a, b in zip(log["from"], log["to"], strict=True)],
            "decision": log["decision"].astype(str),
            "reason": log["reason"].astype(str),
        }
    )


# --------------------------------------------------------------------------- sentences


def sentences(names: Sequence[str], runs: KpiRuns) -> list[str]:
    """A plain-language line per path that changes over time, from the numbers alone."""
    lines = []
    for name, rs in zip(names, runs, strict=True):
        if not any(is_transition_run(k) for k in rs):
            continue
        lost = format_value("productivity_lost_days", kpi_mean(rs, "productivity_lost_days"))
        cost = format_value("transition_cost", kpi_mean(rs, "transition_cost"))
        end = format_value("lead_time_end", kpi_mean(rs, "lead_time_end"))
        scheduled = not math.isnan(kpi_mean(rs, "lead_time_before_change"))
        if scheduled:
            before = format_value(
                "lead_time_before_change", kpi_mean(rs, "lead_time_before_change")
            )
            worst = format_value(
                "lead_time_worst_after_change", kpi_mean(rs, "lead_time_worst_after_change")
            )
            recovery = values(rs, "recovery_days")
            back = recovery[~np.isnan(recovery)]
            if len(back) == len(rs):
                recovered = (
                    f"back at its old level {format_value('recovery_days', back.mean())} "
                    "after the first change"
                )
            elif len(back):
                recovered = (
                    f"back at its old level after {format_value('recovery_days', back.mean())} "
                    f"in {len(back)} of {len(rs)} runs"
                )
            else:
                recovered = "never back at its old level within the horizon"
            text = (
                f"**{name}**: lead time {before} before the first change, {worst} at its "
                f"worst after a change, {recovered}, and **{end}** at the end."
            )
        else:
            text = f"**{name}**: lead time **{end}** at the end."
        kept = kpi_mean(rs, "pdca_kept")
        if not math.isnan(kept):
            trials = kpi_mean(rs, "pdca_trials")
            text += (
                f" Its PDCA policy kept {format_value('pdca_kept', kept)} of "
                f"{format_value('pdca_kept', trials)} trial changes on average."
            )
        text += (
            f" The dips cost {lost} of work; the whole transition, that lost work and the "
            f"spend on change management and hiring, cost **{cost}**."
        )
        lines.append(text)
    return lines


# --------------------------------------------------------------------------- helpers


def _present(value: Any) -> bool:
    number = _num(value)
    return not math.isnan(number) and number > 0


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _g(value: Any) -> str:
    number = _num(value)
    return str(value) if math.isnan(number) else f"{number:g}"
