"""KPIs of one run, DORA tiers, and statistics over replicates.

Every KPI is computed here from :class:`RunRecords` and nothing else. Flow statistics
(lead time, throughput, WIP, quality) cover the KPI window: items delivered after the
warm-up. Cost and value cover the whole horizon (the budget view: programme costs paid
on day 0 count).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simulation.records import RunRecords

DAYS_PER_WEEK = 5
DAYS_PER_MONTH = 21

TIERS = ["elite", "high", "medium", "low"]

#: KPIs shown in tables, in order: key -> (label, unit, higher is better).
HEADLINE: dict[str, tuple[str, str, bool]] = {
    "lead_time_mean": ("Lead time, mean", "days", False),
    "lead_time_p50": ("Lead time, median", "days", False),
    "lead_time_p85": ("Lead time, 85th pct", "days", False),
    "lead_time_p95": ("Lead time, 95th pct", "days", False),
    "throughput_per_week": ("Throughput, all items", "items/week", True),
    "new_work_per_week": ("Throughput, new work", "items/week", True),
    "failure_demand_per_week": ("Failure demand (defect incidents)", "items/week", False),
    "wip_mean": ("Work in progress", "items", False),
    "flow_efficiency": ("Flow efficiency", "%", True),
    "deployments_per_week": ("Deployments", "per week", True),
    "change_lead_time_days": ("Lead time for changes (DORA)", "days", False),
    "change_failure_rate": ("Change failure rate", "%", False),
    "time_to_restore_days": ("Time to restore", "days", False),
    "cx_index": ("CX index", "0-100", True),
    "rework_rate": ("Items reworked", "%", False),
    "escaped_defects": ("Escaped defects", "items", False),
    "rework_effort_share": ("Effort on rework", "%", False),
    "misaligned_it_share": ("IT effort misaligned", "%", False),
    "coordination_share": ("Effort on coordination", "%", False),
    "business_it_handoff_days": ("Business-IT handoff", "days", False),
    "cross_unit_handoff_days": ("Cross-unit handoff", "days", False),
    "team_handoff_days": ("In-team handoff", "days", False),
    "utilisation": ("Utilisation", "%", False),
    "brm_utilisation": ("BRM utilisation", "%", False),
    "cost_total": ("Cost", "k", False),
    "value_total": ("Value delivered", "k", True),
    "roi": ("ROI (value / cost)", "x", True),
    "cross_unit_ties": ("Cross-unit ties", "ties", True),
    "modularity_by_discipline": ("Network modularity (silos)", "", False),
}

PERCENT_KPIS = {k for k, (_, unit, _) in HEADLINE.items() if unit == "%"}
#: KPIs on a scale where a percentage change means nothing: compare differences.
DIFFERENCE_KPIS = PERCENT_KPIS | {"modularity_by_discipline", "modularity_by_unit", "cx_index"}


def compute_kpis(records: RunRecords) -> dict[str, Any]:
    """The KPI record of one run: a flat dict of numbers plus a few named details."""
    window = records.horizon - records.warmup
    items = records.items
    done = items[items["done"] >= records.warmup]
    lead = done["lead_time"].to_numpy()
    k: dict[str, Any] = {
        "scenario": records.scenario_name,
        "structure": records.structure,
        "seed": records.seed,
        "days": records.horizon,
        "delivered": len(done),
    }
    k.update(_percentiles(lead, "lead_time"))
    k["throughput_per_day"] = len(done) / window
    k["throughput_per_week"] = k["throughput_per_day"] * DAYS_PER_WEEK
    # Failure demand (incidents raised by escaped defects) is work, but not new value:
    # a manager's "throughput" is the new work.
    failure = int(done["raised_by_defect"].sum())
    k["new_work_per_week"] = (len(done) - failure) / window * DAYS_PER_WEEK
    k["failure_demand_per_week"] = failure / window * DAYS_PER_WEEK
    k["wip_mean"] = records.wip_mean
    k["flow_efficiency"] = _ratio(done["touch_time"].sum(), done["lead_time"].sum())
    k["littles_law_wip"] = k["throughput_per_day"] * k["lead_time_mean"]

    # DORA
    deployed = done[done["deployable"]]
    k["deployments_per_week"] = len(deployed) / window * DAYS_PER_WEEK
    change_lead = (deployed["done"] - deployed["first_it_start"]).dropna().to_numpy()
    k["change_lead_time_days"] = float(np.median(change_lead)) if len(change_lead) else math.nan
    k["change_failure_rate"] = _ratio((deployed["latent_defects"] > 0).sum(), len(deployed))
    incidents = done[done["expedite"]]
    k["time_to_restore_days"] = (
        float(incidents["lead_time"].median()) if len(incidents) else math.nan
    )
    k.update(dora_tiers(k, it_units=_deploying_units(records)))

    # customers
    daily = records.daily
    in_window = daily[daily["day"] > records.warmup]
    cx = in_window["cx_index"].dropna()
    k["cx_index"] = float(cx.mean()) if len(cx) else math.nan
    k["cx_trend_per_month"] = _slope(in_window["day"], in_window["cx_index"]) * DAYS_PER_MONTH

    # quality and waste
    k["rework_rate"] = _ratio((done["rework_rounds"] > 0).sum(), len(done))
    k["escaped_defects"] = int((done["latent_defects"] > 0).sum())
    k["incidents_from_defects"] = int(done["raised_by_defect"].sum())
    effort = records.effort
    busy = sum(effort.values())
    k["value_effort_share"] = _ratio(effort.get("value", 0.0), busy)
    waste = effort.get("wasted", 0.0) + effort.get("rework", 0.0)
    productive = busy - effort.get("coordination", 0.0) - effort.get("misaligned", 0.0)
    k["rework_effort_share"] = _ratio(waste + effort.get("failure_demand", 0.0), productive)
    k["coordination_share"] = _ratio(effort.get("coordination", 0.0), busy)
    k["misaligned_share"] = _ratio(effort.get("misaligned", 0.0), busy)
    k["misaligned_it_share"] = _ratio(
        records.it_effort.get("misaligned", 0.0), sum(records.it_effort.values())
    )
    for kind in ("team", "cross_unit", "business_it"):
        count, total = records.handoffs.get(kind, (0, 0.0))
        k[f"{kind}_handoffs"] = count
        k[f"{kind}_handoff_days"] = _ratio(total, count)

    # cost and value
    k["cost_total"] = sum(records.costs.values())
    k["programme_cost"] = sum(v for key, v in records.costs.items() if key not in ("staff", "brms"))
    k["value_total"] = float(items["value"].sum())
    k["roi"] = _ratio(k["value_total"], k["cost_total"])

    # organisation
    units = unit_table(records)
    staffed = units["size"].sum()
    k["utilisation"] = _ratio(units["busy_days"].sum(), staffed * window)
    if len(units):
        top = units.sort_values(["utilisation", "queue_mean"], ascending=False).iloc[0]
        k["bottleneck"] = str(top["unit"])
        k["bottleneck_utilisation"] = float(top["utilisation"])
    k["brm_utilisation"] = _ratio(records.brm["busy_days"], records.brm["count"] * window)
    if k["brm_utilisation"] > k.get("bottleneck_utilisation", 0.0):
        k["bottleneck"], k["bottleneck_utilisation"] = "BRMs", k["brm_utilisation"]
    k["brm_mediations"] = int(records.brm["mediations"])
    k.update({key: value for key, value in records.network.items()})
    k["shared_language_end"] = records.extra.get("shared_language_end", math.nan)
    return k


def unit_table(records: RunRecords) -> pd.DataFrame:
    """Per unit: size, utilisation and mean queue over the KPI window."""
    window = records.horizon - records.warmup
    units = records.units.copy()
    units["utilisation"] = units["busy_days"] / (units["size"].clip(lower=1) * window)
    daily = records.unit_daily
    queue = daily[daily["day"] > records.warmup].groupby("unit", sort=False)["queued"].mean()
    units["queue_mean"] = units["unit"].map(queue).fillna(0.0)
    return units


def _deploying_units(records: RunRecords) -> int:
    events = records.events
    it = events[
        events["case:concept:name"].isin(records.items.loc[records.items["deployable"], "item"])
    ]
    return max(1, it["org:group"].nunique()) if len(it) else 1


# --------------------------------------------------------------------------- DORA


def tier_lead_time(days: float) -> str:
    """DORA lead time for changes: elite < 1 day, high < 1 week, medium < 1 month."""
    return _tier(days, [1, DAYS_PER_WEEK, DAYS_PER_MONTH])


def tier_time_to_restore(days: float) -> str:
    """DORA time to restore: elite < 1 hour, high < 1 day, medium < 1 week."""
    return _tier(days, [1 / 8, 1, DAYS_PER_WEEK])


def tier_change_failure(rate: float) -> str:
    """DORA 2023 cluster values: elite ~5%, high ~10%, medium ~15%, low far above."""
    return _tier(rate, [0.05, 0.10, 0.15])


def tier_deployment_frequency(per_week_per_unit: float) -> str:
    """DORA: elite on demand (daily or more), high weekly, medium monthly, low rarer."""
    if math.isnan(per_week_per_unit):
        return "n/a"
    for tier, at_least in zip(TIERS, [DAYS_PER_WEEK, 1, 1 / 4.3], strict=False):
        if per_week_per_unit >= at_least:
            return tier
    return "low"


def dora_tiers(k: dict[str, Any], it_units: int = 1) -> dict[str, str]:
    """Tier per DORA metric and overall. Deployment frequency is per deploying unit,
    as DORA asks it of a team. Overall is the median tier, rounded towards low."""
    tiers = {
        "tier_lead_time": tier_lead_time(k["change_lead_time_days"]),
        "tier_deployment_frequency": tier_deployment_frequency(
            k["deployments_per_week"] / max(1, it_units)
        ),
        "tier_change_failure": tier_change_failure(k["change_failure_rate"]),
        "tier_time_to_restore": tier_time_to_restore(k["time_to_restore_days"]),
    }
    ranks = sorted(TIERS.index(t) for t in tiers.values() if t in TIERS)
    tiers["dora_tier"] = TIERS[ranks[len(ranks) // 2]] if ranks else "n/a"
    return tiers


def _tier(value: float, bounds: list[float]) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    for tier, bound in zip(TIERS, bounds, strict=False):
        if value < bound:
            return tier
    return "low"


# --------------------------------------------------------------------------- replicates


def summarise(runs: list[dict[str, Any]], confidence: float = 0.95) -> pd.DataFrame:
    """Mean, 95% confidence interval (Student t) and spread of every numeric KPI."""
    frame = pd.DataFrame(runs)
    numeric = frame.select_dtypes(include="number").drop(columns=["seed"], errors="ignore")
    rows = []
    for kpi in numeric.columns:
        values = numeric[kpi].dropna().to_numpy(dtype=float)
        mean, low, high = mean_ci(values, confidence)
        rows.append(
            {
                "kpi": kpi,
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
                "std": float(np.std(values, ddof=1)) if len(values) > 1 else math.nan,
                "n": len(values),
            }
        )
    return pd.DataFrame(rows).set_index("kpi")


def mean_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.mean(values))
    if n == 1:
        return mean, math.nan, math.nan
    sem = float(np.std(values, ddof=1)) / math.sqrt(n)
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * sem
    return mean, mean - half, mean + half


def mode(values: list[str]) -> str:
    counts = pd.Series(values).value_counts()
    return str(counts.index[0]) if len(counts) else "n/a"


# --------------------------------------------------------------------------- helpers


def _percentiles(values: np.ndarray, prefix: str) -> dict[str, float]:
    if len(values) == 0:
        return {f"{prefix}_{n}": math.nan for n in ("mean", "p50", "p85", "p95")}
    p50, p85, p95 = np.percentile(values, [50, 85, 95])
    return {
        f"{prefix}_mean": float(values.mean()),
        f"{prefix}_p50": float(p50),
        f"{prefix}_p85": float(p85),
        f"{prefix}_p95": float(p95),
    }


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else math.nan


def _slope(x: pd.Series, y: pd.Series) -> float:
    ok = y.notna()
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(x[ok].to_numpy(float), y[ok].to_numpy(float), 1)[0])
