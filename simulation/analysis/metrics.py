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
from scipy import special

from simulation.analysis.steady_state import steady_state
from simulation.inputs.scenario import CustomerExperience
from simulation.mechanisms.cx import cx_mix
from simulation.model.records import RunRecords, new_work_mask

DAYS_PER_WEEK = 5
DAYS_PER_MONTH = 21

TIERS = ["elite", "high", "medium", "low"]
#: Working days of KPI window a DORA tier needs: a month, the span of DORA's coarsest
#: band (deployment frequency "monthly"); a shorter window cannot tell the tiers apart.
MIN_TIER_DAYS = DAYS_PER_MONTH - 1
#: Deliveries a DORA tier needs: a median of fewer items (a few short tickets in a
#: nearly empty organisation) says nothing of how it delivers.
MIN_TIER_DELIVERIES = 20
DORA_TIER_KEYS = (
    "tier_lead_time",
    "tier_deployment_frequency",
    "tier_change_failure",
    "tier_time_to_restore",
)


def compute_kpis(records: RunRecords) -> dict[str, Any]:
    """The KPI record of one run: a flat dict of numbers plus a few named details.

    Every key but the run's name fields (``catalog.kpis.RUN_FIELDS``) has its entry in
    :mod:`simulation.catalog.kpis`, which says how tables and the app show it.
    """
    window = records.horizon - records.warmup
    items = records.items
    # Columns as numpy arrays, filtered once: a KPI record is a few dozen numbers, and
    # pandas' per-call overhead on a table of a few hundred rows would cost more than
    # the arithmetic (the figures equal pandas' to the last bit: same sums, same order).
    done = _DoneItems(items, items["done"].to_numpy() >= records.warmup)
    # The headline is new work: expedite incidents and failure demand (incidents raised
    # by escaped defects) are short tickets that would pull the mean down whenever
    # there are more of them; they are reported beside it (time to restore, failure
    # demand, incidents per week).
    new = done.new
    lead_time = done["lead_time"]
    delivered = done.count
    new_count = int(new.sum())
    k: dict[str, Any] = {
        "scenario": records.scenario_name,
        "structure": records.structure,
        "seed": records.seed,
        "days": records.horizon,
        "delivered": delivered,
    }
    k.update(_percentiles(lead_time[new], "lead_time"))
    k["lead_time_all_mean"] = float(lead_time.mean()) if delivered else math.nan
    k["throughput_per_day"] = delivered / window
    k["throughput_per_week"] = k["throughput_per_day"] * DAYS_PER_WEEK
    failure = int(done["raised_by_defect"].sum())
    k["new_work_per_week"] = new_count / window * DAYS_PER_WEEK
    k["incidents_per_week"] = (delivered - new_count) / window * DAYS_PER_WEEK
    k["failure_demand_per_week"] = failure / window * DAYS_PER_WEEK
    k["wip_mean"] = records.wip_mean
    k["flow_efficiency"] = _ratio(done["touch_time"][new].sum(), lead_time[new].sum())
    # Little's law relates WIP of every item to the lead time of every item.
    k["littles_law_wip"] = k["throughput_per_day"] * k["lead_time_all_mean"]

    # DORA
    deployable = done["deployable"]
    releases, deploying_units = _release_kpis(records, int(deployable.sum()))
    k.update(releases)
    change_lead = done["done"][deployable] - done["first_it_start"][deployable]
    change_lead = change_lead[~np.isnan(change_lead)]
    k["change_lead_time_days"] = float(np.median(change_lead)) if len(change_lead) else math.nan
    defective = done["latent_defects"] > 0
    k["change_failure_rate"] = _ratio((defective & deployable).sum(), deployable.sum())
    incidents = lead_time[done["expedite"]]
    incidents = incidents[~np.isnan(incidents)]
    # pandas' median as before (Series.median is numpy's median of the values that are
    # not NaN), called directly: the record stays the same to the bit, in a fifth of the time
    k["time_to_restore_days"] = float(np.median(incidents)) if len(incidents) else math.nan
    k.update(dora_tiers(k, it_units=deploying_units))
    k["window_days"] = window
    if window < MIN_TIER_DAYS or delivered < MIN_TIER_DELIVERIES:
        # too short or too empty to tell: no tier, not "elite" (delivery_note says why)
        k.update(dict.fromkeys([*DORA_TIER_KEYS, "dora_tier"], "n/a"))
    # Whether it kept up: lead times count only the items that got through, so an
    # overloaded organisation gets no DORA tier (steady_state.overload_note says why).
    k.update(steady_state(records).kpis())
    if k["overloaded"]:
        k.update(dict.fromkeys([*DORA_TIER_KEYS, "dora_tier"], "n/a"))

    # customers
    daily = records.daily
    days = daily["day"].to_numpy()
    in_window = days > records.warmup
    k.update(_cx_parts(done["cx_score"], new, records))
    k["cx_trend_per_month"] = (
        _slope_arrays(days[in_window], daily["cx_index"].to_numpy()[in_window]) * DAYS_PER_MONTH
    )

    # quality and waste
    k["rework_rate"] = _ratio((done["rework_rounds"] > 0).sum(), delivered)
    k["escaped_defects"] = int(defective.sum())
    k["incidents_from_defects"] = failure
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
    k["value_total"] = float(items["value"].to_numpy().sum())
    k["roi"] = _ratio(k["value_total"], k["cost_total"])

    # organisation
    k.update(_organisation_kpis(records, window))
    k["brm_mediations"] = int(records.brm["mediations"])
    # went direct rather than wait for a BRM (brms.bypass), over the run like mediations
    k["brm_bypassed"] = int(records.extra.get("brm_bypassed", 0))
    k.update({key: value for key, value in records.network.items()})
    k["shared_language_end"] = records.extra.get("shared_language_end", math.nan)
    k.update(transition_kpis(records))
    return k


class _DoneItems:
    """The delivered items' columns as numpy arrays, filtered by ``mask`` on first use.

    Args:
        items: The items table (RunRecords.items).
        mask: Which rows to keep (the items delivered in the KPI window).
    """

    def __init__(self, items: pd.DataFrame, mask: np.ndarray):
        self._items = items
        self._mask = mask
        self._columns: dict[str, np.ndarray] = {}
        self.count = int(mask.sum())
        # new work (records.new_work_mask), as a boolean array
        self.new = ~(self["expedite"] | self["raised_by_defect"])

    def __getitem__(self, name: str) -> np.ndarray:
        column = self._columns.get(name)
        if column is None:
            column = self._items[name].to_numpy()[self._mask]
            if column.dtype == object:  # an all-None column (no IT work): floats, NaN
                column = column.astype(float)
            self._columns[name] = column
        return column


def _organisation_kpis(records: RunRecords, window: int) -> dict[str, Any]:
    """Utilisation, the bottleneck (the busiest unit, or the BRMs) and BRM utilisation."""
    k: dict[str, Any] = {}
    names, busy, staffed, utilisation, queue = _unit_figures(records)
    k["utilisation"] = _ratio(busy.sum(), staffed.sum())
    if len(names):
        # the first unit by utilisation, then mean queue, both descending: what
        # sort_values(..., ascending=False).iloc[0] picks (NaN last, ties in order)
        def rank(i: int) -> tuple[float, float]:
            return (
                -math.inf if math.isnan(utilisation[i]) else utilisation[i],
                -math.inf if math.isnan(queue[i]) else queue[i],
            )

        top = max(range(len(names)), key=rank)
        k["bottleneck"] = str(names[top])
        k["bottleneck_utilisation"] = float(utilisation[top])
    k["brm_utilisation"] = _ratio(records.brm["busy_days"], records.brm["count"] * window)
    if k["brm_utilisation"] > k.get("bottleneck_utilisation", 0.0):
        k["bottleneck"], k["bottleneck_utilisation"] = "BRMs", k["brm_utilisation"]
    return k


def _release_kpis(records: RunRecords, deployed: int) -> tuple[dict[str, float], int]:
    window = records.horizon - records.warmup
    deployments = records.extra.get("deployments")
    if deployments is None:  # releases off
        return {"deployments_per_week": deployed / window * DAYS_PER_WEEK}, (
            _deploying_units(records)
        )
    in_window = [d for d in deployments if d[0] >= records.warmup]
    waits = [w for at, w in records.extra.get("release_waits", []) if at >= records.warmup]
    k = {
        "deployments_per_week": len(in_window) / window * DAYS_PER_WEEK,
        "items_per_deployment": _ratio(sum(d[2] for d in in_window), len(in_window)),
        "release_wait_days": float(np.mean(waits)) if waits else math.nan,
    }
    return k, max(1, len({d[1] for d in in_window}))


def cx_kpis(done: pd.DataFrame, records: RunRecords) -> dict[str, float]:
    """The CX of new work and of incidents (mean scores of the items ``done``), and the
    headline index that mixes them with the scenario's weights (mechanisms/cx.py)."""
    new = new_work_mask(done).to_numpy()
    return _cx_parts(done["cx_score"].to_numpy(dtype=float), new, records)


def _cx_parts(scores: np.ndarray, new: np.ndarray, records: RunRecords) -> dict[str, float]:
    parts = {
        "cx_new_work": _mean_of(scores[new]),
        "cx_incidents": _mean_of(scores[~new]),
    }
    weight = records.extra.get("cx_incident_weight", CustomerExperience().incident_weight)
    parts["cx_index"] = cx_mix(parts["cx_new_work"], parts["cx_incidents"], weight)
    return parts


def delivery_note(kpis: dict[str, Any]) -> str | None:
    """One line for a run, or runs, that delivered nothing in the KPI window, or too
    little, or over too short a window, for a DORA tier (None for one that did)."""
    delivered = kpis.get("delivered", MIN_TIER_DELIVERIES)
    window = kpis.get("window_days", MIN_TIER_DAYS)
    if not delivered:
        return (
            f"Nothing was delivered after the warm-up in {_days(kpis.get('days', math.nan))}: lead "
            "times, quality and DORA figures are n/a. Run longer, or check the demand."
        )
    if window < MIN_TIER_DAYS:
        return (
            f"The KPI window (after the warm-up) is {_days(window)}, too short for a DORA "
            f"tier (at least {MIN_TIER_DAYS}): tiers are n/a. Run longer."
        )
    if delivered < MIN_TIER_DELIVERIES:
        return (
            f"Only {delivered} items were delivered after the warm-up, too few for a DORA "
            f"tier (at least {MIN_TIER_DELIVERIES}): tiers are n/a. Run longer, or check "
            "the demand."
        )
    return None


# --------------------------------------------------------------------------- transitions

#: Days of deliveries averaged for the lead-time curve around a change.
ROLLING_DAYS = 20


def rolling_lead_time(
    items: pd.DataFrame, days: np.ndarray, width: float = ROLLING_DAYS
) -> np.ndarray:
    """Mean lead time of the new work (:func:`new_work_mask`) delivered in the
    ``width`` days before each day: the headline lead time, over time."""
    ordered = items[new_work_mask(items)].sort_values("done")
    done = ordered["done"].to_numpy()
    sums = np.concatenate([[0.0], np.cumsum(ordered["lead_time"].to_numpy())])
    hi = np.searchsorted(done, days, side="left")
    lo = np.searchsorted(done, days - width, side="left")
    count = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (sums[hi] - sums[lo]) / np.maximum(count, 1), np.nan)


def before_start(warmup: float, day: float) -> float:
    """Where the level before a change on ``day`` is measured from: the 40 days before
    it, never the warm-up's ramp; but at least the 20 days before it, even inside the
    warm-up, when the change comes sooner after the warm-up (a 60-day warm-up and a
    change on day 60 would otherwise leave nothing to measure)."""
    return min(max(warmup, day - 2 * ROLLING_DAYS), day - ROLLING_DAYS)


def change_periods(records: RunRecords) -> list[tuple[pd.Series, float, float]]:
    """Each scheduled change with the day it took effect and the day its period ends
    (the next scheduled change, or the horizon). PDCA trials are not periods."""
    changes = records.changes
    if changes is None or changes.empty:
        return []
    scheduled = changes[changes["source"] == "scheduled"].reset_index(drop=True)
    days = [float(d) for d in scheduled["day"]] + [float(records.horizon)]
    return [(change, days[i], days[i + 1]) for i, change in scheduled.iterrows()]


def transition_table(records: RunRecords) -> pd.DataFrame:
    """Per scheduled change: lead time before it, at its worst after it, at the end of
    its period (before the next change), and the days it took to get back to the
    level before it."""
    rows = []
    for change, day, end in change_periods(records):
        days = np.arange(day + 1, end + 1)
        curve = rolling_lead_time(records.items, days)
        before = window_kpis(records, before_start(records.warmup, day), day)["lead_time_mean"]
        recovered = np.nonzero(curve <= before)[0] if not math.isnan(before) else []
        peak = int(np.nanargmax(curve)) if np.isfinite(curve).any() else 0
        after_peak = [r for r in recovered if r >= peak]
        rows.append(
            {
                "day": day,
                "label": change["label"],
                "structure": change["structure"],
                "dip_depth": change["dip_depth"],
                "lead_time_before": before,
                "lead_time_worst": float(np.nanmax(curve))
                if np.isfinite(curve).any()
                else math.nan,
                "lead_time_end": float(curve[-1]) if len(curve) else math.nan,
                "recovery_days": float(days[after_peak[0]] - day) if after_peak else math.nan,
            }
        )
    return pd.DataFrame(rows)


#: Days measured before a change, and at the end of its period, by phase_table.
PHASE_DAYS = 40


def window_kpis(records: RunRecords, start: float, end: float) -> dict[str, float]:
    """Lead time and throughput of new work, CX and change failure rate of the items
    delivered in [start, end)."""
    items = records.items
    done = items[(items["done"] >= start) & (items["done"] < end)]
    new = done[new_work_mask(done)]
    days = max(end - start, 1e-9)
    deployed = done[done["deployable"]]
    return {
        "lead_time_mean": float(new["lead_time"].mean()) if len(new) else math.nan,
        "new_work_per_week": len(new) / days * DAYS_PER_WEEK,
        "cx_index": cx_kpis(done, records)["cx_index"],
        "change_failure_rate": _ratio((deployed["latent_defects"] > 0).sum(), len(deployed)),
        "delivered": len(done),
    }


def phase_table(records: RunRecords) -> pd.DataFrame:
    """KPIs before, during and after each scheduled change: ``before`` is the
    ``PHASE_DAYS`` before it, ``after`` the last ``PHASE_DAYS`` before the next change
    (or the horizon), ``during`` the time between."""
    rows = []
    for change, day, end in change_periods(records):
        settled = max(day, end - PHASE_DAYS)
        for phase, start, stop in (
            ("before", max(0.0, day - PHASE_DAYS), day),
            ("during", day, settled),
            ("after", settled, end),
        ):
            if stop > start:
                rows.append(
                    {
                        "change_day": day,
                        "label": change["label"],
                        "phase": phase,
                        "from_day": start,
                        "to_day": stop,
                        **window_kpis(records, start, stop),
                    }
                )
    return pd.DataFrame(rows)


def transition_kpis(records: RunRecords) -> dict[str, Any]:
    """The path, not only the destination: dip, recovery and cost of the transition."""
    k: dict[str, Any] = {}
    table = transition_table(records)
    costs = records.costs
    spend = costs.get("change_management", 0.0) + costs.get("hiring", 0.0)
    lost = records.extra.get("disruption_days", 0.0)
    k["transition_spend"] = spend
    k["productivity_lost_days"] = lost
    k["transition_cost"] = spend + lost * records.extra.get("mean_cost_per_day", 0.0)
    decisions = records.decisions
    if decisions is not None and not decisions.empty:
        k["pdca_trials"] = int(decisions["decision"].isin(["kept", "reverted"]).sum())
        k["pdca_kept"] = int((decisions["decision"] == "kept").sum())
        end = rolling_lead_time(records.items, np.array([float(records.horizon)]))
        k["lead_time_end"] = float(end[0])
    if table.empty:
        return k
    first = table.iloc[0]
    k["changes"] = len(table)
    k["lead_time_before_change"] = first["lead_time_before"]
    k["lead_time_worst_after_change"] = float(table["lead_time_worst"].max())
    k["dip_lead_time_days"] = float((table["lead_time_worst"] - table["lead_time_before"]).max())
    # Time to recover: from the first change until lead time is back at its level before.
    curve_days = np.arange(first["day"] + 1, records.horizon + 1)
    curve = rolling_lead_time(records.items, curve_days)
    back = np.nonzero(curve <= first["lead_time_before"])[0]
    k["recovery_days"] = float(curve_days[back[0]] - first["day"]) if len(back) else math.nan
    k["lead_time_end"] = float(curve[-1]) if len(curve) else math.nan
    return k


def unit_table(records: RunRecords) -> pd.DataFrame:
    """Per unit of the final organisation: size, utilisation and mean queue over the
    KPI window (or since the unit was formed, if a reorganisation formed it later)."""
    units = records.units.copy()
    _names, _busy, _staffed, utilisation, queue = _unit_figures(records)
    units["utilisation"] = utilisation
    units["queue_mean"] = queue
    return units


def _unit_figures(records: RunRecords) -> tuple[np.ndarray, ...]:
    """Per unit of the final organisation: name, busy days, staffed days, utilisation
    and mean queue after the warm-up (0 for a unit with no day there), as arrays."""
    units = records.units
    names = units["unit"].to_numpy()
    busy = units["busy_days"].to_numpy(dtype=float)
    staffed = units["staffed_days"].to_numpy(dtype=float)
    utilisation = busy / np.maximum(staffed, 1e-9)  # clip(lower=1e-9); NaN stays NaN
    daily = records.unit_daily
    after = daily["day"].to_numpy() > records.warmup
    # unit codes in the order of the final units; units gone by the end get -1. The
    # column has a handful of distinct names: factorised in C, then each name looked up
    # once (an Index.get_indexer on every row's string took ten times as long)
    row_codes, seen = pd.factorize(daily["unit"])
    position = {name: i for i, name in enumerate(names)}
    final = np.array([position.get(name, -1) for name in seen], dtype=np.intp)
    codes = final[row_codes[after]]
    known = codes >= 0
    queued = daily["queued"].to_numpy()[after][known].astype(float)
    # whole queue lengths: their sums are exact, as pandas' compensated group mean is
    sums = np.bincount(codes[known], weights=queued, minlength=len(names))
    counts = np.bincount(codes[known], minlength=len(names))
    with np.errstate(invalid="ignore", divide="ignore"):
        queue = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    return names, busy, staffed, utilisation, queue


def _deploying_units(records: RunRecords) -> int:
    items = records.items
    deployable = items["item"].to_numpy()[items["deployable"].to_numpy(dtype=bool)]
    return max(1, len(records.groups_working_on(deployable)))


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
    """Mean and Student-t confidence interval of one sample (bounds NaN below two values)."""
    _n, mean, low, high = mean_ci_by_row(np.asarray(values, dtype=float)[None, :], confidence)
    return float(mean[0]), float(low[0]), float(high[0])


def mean_ci_by_row(
    table: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and Student-t interval of each row of a 2-D array, NaNs left out.

    One formula for every interval Converge shows: a KPI over replicates (one row) or a
    daily series over replicates (one row per period, in a single pass). A row with no
    values gets NaN throughout; a row with one value, NaN bounds.
    """
    present = ~np.isnan(table)
    n = present.sum(axis=1)
    filled = np.where(present, table, 0.0)
    mean = np.where(n > 0, filled.sum(axis=1) / np.maximum(n, 1), np.nan)
    squares = np.where(present, (table - mean[:, None]) ** 2, 0.0).sum(axis=1)
    sd = np.sqrt(squares / np.maximum(n - 1, 1))
    # Student's t quantile: scipy.stats.t.ppf calls this very function (the same numbers),
    # without importing scipy.stats (0.6 s of CPU for a server's first Compare)
    t = special.stdtrit(np.maximum(n - 1, 1), (1 + confidence) / 2)
    half = np.where(n > 1, t * (sd / np.sqrt(np.maximum(n, 1))), np.nan)
    return n, mean, mean - half, mean + half


def mode(values: list[str]) -> str:
    """The most common value; "n/a" for an empty list."""
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


def _days(n: float) -> str:
    return f"{n:g} day" if n == 1 else f"{n:g} days"


def _mean(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.mean()) if len(values) else math.nan


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else math.nan


def _mean_of(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else math.nan


def _slope_arrays(x: np.ndarray, y: np.ndarray) -> float:
    ok = ~np.isnan(y.astype(float))
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(x[ok].astype(float), y[ok].astype(float), 1)[0])
