"""Did the run reach a steady state? Arrivals against deliveries, the WIP trend, the
age of open work, and the warm-up the data suggest.

Lead time counts only the items that got through. An organisation that cannot keep up
delivers mostly what jumps the queue (expedited incidents), so its mean lead time can
look fine while open work grows without bound. This module says so plainly: the
verdict ``overloaded`` and one sentence (:func:`overload_note`) that every front shows.

Everything here is computed from :class:`RunRecords` alone, like every KPI.

The rules and their thresholds (reasoned estimates, not sourced values):

* WIP trend: the ordinary least squares slope of weekly mean WIP (batch means of the
  daily WIP after the warm-up) against the week, in items a week. Weekly means of a
  queue are still autocorrelated, so the slope's standard error is inflated by the
  AR(1) factor ``sqrt((1 + r) / (1 - r))`` of the residuals' lag-1 autocorrelation
  ``r`` (clipped to 0..0.9), the usual effective-sample-size correction; the 95%
  interval then uses Student t with ``n - 2`` degrees of freedom.
* Overloaded: the slope's interval lies above zero AND deliveries fall clearly short of
  arrivals (fewer than :data:`DELIVERY_SHORTFALL` of them) both in the KPI window and
  in its second half. All are needed: a noisy stable run can deliver 5% less than
  arrives in one window by chance but shows no trend; a queue still filling after a
  short warm-up (siloed over 80 days) grows and falls short over the window, but
  catches up in its second half, while an overloaded one falls short throughout. At
  the ready-made scenarios' defaults deliveries are within ~5% of arrivals; at ten
  times the demand, a third of them. Each shortfall must also exceed
  :data:`SHORTFALL_NOISE_SDS` standard deviations of the arrivals' count (Poisson:
  the square root of it): over the few weeks the Workshop judges live, a queue still
  filling after its warm-up, or a quiet fortnight, delivers 10-30% less than arrived
  (a dozen items of forty), which is no overload.
* Warm-up: MSER-5 (White 1997; Hoad, Robinson and Davies 2010): the daily WIP in
  batches of 5 days, truncated where the squared standard error of the mean of the rest
  is smallest, searched over the first half of the run (beyond it the rule is
  unreliable). It is reported (``warmup_suggested_days``), not applied: the KPI window
  stays the scenario's. On one run of these queues it is noisy (5 to 160 days across
  seeds of the same scenario: slow WIP swings look like a warm-up), so no front warns
  on one run's figure; :mod:`simulation.analysis.warmup` applies it to the mean WIP of
  a comparison's replicates and says when the warm-up is too short. The mean WIP of ten
  seeds shows siloed still filling until about day 60 (48 at day 20, 79 at day 60, 86
  at day 80), hence siloed.yaml's 60-day warm-up.
* Age of open work: the records keep the items delivered, and the daily count of
  arrivals; the open items of each day's arrivals are the arrivals less the deliveries
  among them, each aged from the middle of its arrival day (to within half a day).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from simulation.model.records import RunRecords

DAYS_PER_WEEK = 5

#: Overloaded needs deliveries below this share of arrivals in the KPI window (and a
#: WIP trend whose interval is above zero). 0.9: the ready-made scenarios deliver
#: 95-105% of what arrives in one 230-day window, run to run; 10% short is well beyond
#: that noise and, at their sizes, tens of items a month piling up.
DELIVERY_SHORTFALL = 0.9

#: Overloaded also needs each shortfall (arrivals less deliveries) above this many
#: standard deviations of the arrivals' count (sqrt of it, Poisson). 2 (about 95%):
#: on the Workshop's default organisations (siloed, aligned, converged; seeds 1-10,
#: 250 days, judged every 5 days) the live line showed 33 times without it, all within
#: 13 weeks of the warm-up, and 7 times with it; at three and ten times their demand
#: siloed and aligned are flagged on the same day as without it (converged at three
#: times on the same day in 3 seeds of 4, 25 days later in one). Over a full 230-day
#: window the 10% of DELIVERY_SHORTFALL is already above 2 sds (~7% there).
SHORTFALL_NOISE_SDS = 2.0

#: Batch size of MSER-5, in days.
MSER_BATCH_DAYS = 5

#: Fewest weeks after the warm-up needed to judge a trend; fewer gives no verdict.
MIN_WEEKS = 4

#: The lag-1 autocorrelation used for the standard error's inflation is clipped here:
#: above it, a short series gives an unbounded factor.
MAX_AUTOCORRELATION = 0.9


@dataclass(frozen=True)
class SteadyState:
    """Whether a run kept up with its demand.

    Args:
        arrivals_per_week: Items that arrived in the KPI window, a week.
        deliveries_per_week: Items delivered in the KPI window, a week.
        wip_growth_per_week: OLS slope of weekly mean WIP after the warm-up.
        wip_growth_ci_low: Low end of its 95% interval (NaN with too few weeks).
        wip_growth_ci_high: High end of its 95% interval.
        overloaded: Demand exceeds capacity (the rule in the module's docstring).
        open_items: Items open at the horizon.
        open_age_p50: Median age of the open items at the horizon, days.
        open_age_p85: 85th percentile of that age, days.
        warmup_suggested_days: The warm-up MSER-5 finds in the daily WIP, days.
        warmup_days: The scenario's warm-up, days.
    """

    arrivals_per_week: float
    deliveries_per_week: float
    wip_growth_per_week: float
    wip_growth_ci_low: float
    wip_growth_ci_high: float
    overloaded: bool
    open_items: int
    open_age_p50: float
    open_age_p85: float
    warmup_suggested_days: float
    warmup_days: int

    def kpis(self) -> dict[str, Any]:
        """The KPI record's entries (see :mod:`simulation.catalog.kpis`)."""
        return {
            "arrivals_per_week": self.arrivals_per_week,
            "wip_growth_per_week": self.wip_growth_per_week,
            "wip_growth_ci_low": self.wip_growth_ci_low,
            "wip_growth_ci_high": self.wip_growth_ci_high,
            "overloaded": int(self.overloaded),
            "open_items": self.open_items,
            "open_age_p50": self.open_age_p50,
            "open_age_p85": self.open_age_p85,
            "warmup_suggested_days": self.warmup_suggested_days,
        }


def steady_state(records: RunRecords) -> SteadyState:
    """The steady-state verdict of one run."""
    window = records.horizon - records.warmup
    delivered = int((records.items["done"].to_numpy() >= records.warmup).sum())
    arrivals = records.arrivals_in_window
    slope, low, high = wip_trend(records.daily, records.warmup)
    ages = open_ages(records)
    overloaded = not records.daily.empty and is_overloaded(records.daily, records.warmup, low)
    p50, p85 = np.percentile(ages, [50, 85]) if len(ages) else (math.nan, math.nan)
    return SteadyState(
        arrivals_per_week=arrivals / window * DAYS_PER_WEEK,
        deliveries_per_week=delivered / window * DAYS_PER_WEEK,
        wip_growth_per_week=slope,
        wip_growth_ci_low=low,
        wip_growth_ci_high=high,
        overloaded=overloaded,
        open_items=len(ages),
        open_age_p50=float(p50),
        open_age_p85=float(p85),
        warmup_suggested_days=float(mser5(_daily_wip(records)) * MSER_BATCH_DAYS),
        warmup_days=records.warmup,
    )


# --------------------------------------------------------------------------- the pieces


def _daily_wip(records: RunRecords) -> np.ndarray:
    daily = records.daily
    if daily.empty or "wip" not in daily:
        return np.array([])
    return daily["wip"].to_numpy(dtype=float)


def is_overloaded(daily: pd.DataFrame, warmup: int, growth_ci_low: float) -> bool:
    """The rule (module docstring): WIP grows, its interval above zero, and deliveries
    fall short of :data:`DELIVERY_SHORTFALL` of arrivals, and by more than
    :data:`SHORTFALL_NOISE_SDS` of the arrivals' noise, over the KPI window and over
    its second half (a queue still filling after a short warm-up catches up there)."""
    if math.isnan(growth_ci_low) or growth_ci_low <= 0:
        return False
    end = int(daily["day"].iloc[-1])
    return all(
        arrived > 0
        and delivered < DELIVERY_SHORTFALL * arrived
        and arrived - delivered > SHORTFALL_NOISE_SDS * math.sqrt(arrived)
        for arrived, delivered in (
            _flow(daily, warmup, end),
            _flow(daily, (warmup + end) // 2, end),
        )
    )


def _flow(daily: pd.DataFrame, start: int, end: int) -> tuple[int, int]:
    """Items arrived and delivered after day ``start`` up to day ``end``, from the
    cumulative ``arrivals`` and ``delivered`` columns."""
    days = daily["day"].to_numpy()
    counts = np.column_stack([daily["arrivals"].to_numpy(), daily["delivered"].to_numpy()])
    (after,) = np.flatnonzero(days == end)
    before = np.flatnonzero(days == start)
    start_counts = counts[before[0]] if len(before) else np.zeros(2, counts.dtype)
    arrived, delivered = counts[after] - start_counts
    return int(arrived), int(delivered)


def wip_trend(daily: pd.DataFrame, warmup: int) -> tuple[float, float, float]:
    """Slope of weekly mean WIP after the warm-up, items a week, with its 95% interval
    (autocorrelation-corrected, see the module's docstring); NaN bounds with fewer than
    :data:`MIN_WEEKS` whole weeks."""
    if daily.empty:
        return math.nan, math.nan, math.nan
    # numpy, not daily.loc: the same values, a tenth of the time (a KPI record is read
    # for every run of a sweep)
    wip = daily["wip"].to_numpy(dtype=float)[daily["day"].to_numpy() > warmup]
    weeks = len(wip) // DAYS_PER_WEEK
    if weeks < 2:
        return math.nan, math.nan, math.nan
    means = wip[: weeks * DAYS_PER_WEEK].reshape(weeks, DAYS_PER_WEEK).mean(axis=1)
    return trend_with_interval(means)


def trend_with_interval(series: np.ndarray, confidence: float = 0.95) -> tuple[float, ...]:
    """OLS slope of ``series`` against its index, and its interval with the standard
    error inflated for lag-1 autocorrelation of the residuals."""
    n = len(series)
    x = np.arange(n, dtype=float)
    slope, intercept = np.polyfit(x, series, 1)
    if n < MIN_WEEKS:
        return float(slope), math.nan, math.nan
    residuals = series - (slope * x + intercept)
    sxx = float(((x - x.mean()) ** 2).sum())
    se = math.sqrt(float((residuals**2).sum()) / (n - 2) / sxx)
    r = _lag1_autocorrelation(residuals)
    se *= math.sqrt((1 + r) / (1 - r))
    # Student t's quantile: the function scipy.stats.t.ppf calls (same value), without
    # its argument checks (a tenth of a millisecond, in every run's KPIs)
    half = float(special.stdtrit(n - 2, (1 + confidence) / 2)) * se
    return float(slope), float(slope - half), float(slope + half)


def _lag1_autocorrelation(residuals: np.ndarray) -> float:
    denominator = float((residuals**2).sum())
    if denominator == 0:
        return 0.0
    r = float((residuals[1:] * residuals[:-1]).sum()) / denominator
    return min(max(r, 0.0), MAX_AUTOCORRELATION)


def mser5(series: np.ndarray) -> int:
    """MSER-5: the number of 5-day batches to truncate from the start of ``series``
    (0 for a series too short to judge)."""
    batches = len(series) // MSER_BATCH_DAYS
    if batches < 4:
        return 0
    z = series[: batches * MSER_BATCH_DAYS].reshape(batches, MSER_BATCH_DAYS).mean(axis=1)
    best, best_d = math.inf, 0
    for d in range(batches // 2 + 1):
        rest = z[d:]
        mser = float(((rest - rest.mean()) ** 2).sum()) / len(rest) ** 2
        if mser < best - 1e-12:
            best, best_d = mser, d
    return best_d


def open_ages(records: RunRecords) -> np.ndarray:
    """Age at the horizon of each item still open, days (see the module's docstring)."""
    daily = records.daily
    if daily.empty or "arrivals" not in daily:
        return np.array([])
    days = daily["day"].to_numpy(dtype=int)
    arrived = np.diff(daily["arrivals"].to_numpy(dtype=int), prepend=0)
    # an item that arrived at time t is counted at the end of day floor(t) + 1
    delivered_day = np.floor(records.items["arrival"].to_numpy(dtype=float)).astype(int) + 1
    delivered = np.bincount(np.clip(delivered_day, 0, None), minlength=days.max() + 1)[days]
    still_open = np.clip(arrived - delivered, 0, None)
    return np.repeat(records.horizon - (days - 0.5), still_open)


def live_overload_note(daily: pd.DataFrame, warmup: int) -> str | None:
    """The overload line for a run still going, from its daily series so far (with the
    cumulative ``arrivals`` and ``delivered`` columns); None until the verdict is clear:
    at least :data:`MIN_WEEKS` weeks after the warm-up and the rule met."""
    if daily.empty or int(daily["day"].iloc[-1]) < warmup + MIN_WEEKS * DAYS_PER_WEEK:
        return None
    slope, low, _ = wip_trend(daily, warmup)
    if not is_overloaded(daily, warmup, low):
        return None
    return overload_note({"overloaded": 1, "wip_growth_per_week": slope})


def littles_law_in_window(records: RunRecords) -> float:
    """Little's law with the window's edges counted: the time every item spent in the
    system inside the KPI window, over the window's length.

    ``littles_law_wip`` (throughput x mean lead time of the items delivered in the
    window) counts whole lead times, so work that entered before the window opens or is
    still open when it closes tips it when WIP differs between the window's two ends:
    a queue still filling, or a transition that halves WIP on purpose. This form is
    exact for any window (the sample-path form of the law, Stidham 1974), up to the
    half-day to which the open items' arrivals are known (:func:`open_ages`): it checks
    that the model's WIP and its items' times agree.
    """
    window = records.horizon - records.warmup
    items = records.items
    done = items[items["done"] >= records.warmup]
    inside = (done["done"] - done["arrival"].clip(lower=records.warmup)).sum()
    open_since = records.horizon - open_ages(records)
    inside += (records.horizon - np.maximum(open_since, records.warmup)).sum()
    return float(inside) / window if window > 0 else math.nan


# --------------------------------------------------------------------------- sentences


def overload_note(kpis: dict[str, Any]) -> str | None:
    """The one line every front shows for an overloaded run (None for one that keeps
    up); for replicates, pass their mean."""
    if not kpis.get("overloaded"):
        return None
    growth = kpis.get("wip_growth_per_week", math.nan)
    return (
        f"demand exceeds capacity: open work grows by {growth:.0f} items a week; "
        "lead times are of delivered items only"
    )


def replicates_overload_note(runs: list[dict[str, Any]]) -> str | None:
    """The overload line for replicates of one configuration: said when any of them is
    overloaded, with how many when not all are, and the mean growth of those that are."""
    flagged = [r for r in runs if r.get("overloaded")]
    if not flagged:
        return None
    growth = float(np.mean([r.get("wip_growth_per_week", math.nan) for r in flagged]))
    note = overload_note({"overloaded": 1, "wip_growth_per_week": growth})
    if len(flagged) < len(runs):
        note = f"in {len(flagged)} of {len(runs)} replicates, {note}"
    return note
