"""Is the warm-up long enough? MSER-5 on the mean daily WIP of replicates.

A run starts empty, so open work (WIP) fills for a while before it settles; the KPI
window should start after that. :func:`~simulation.analysis.steady_state.mser5` finds
the point in one run's daily WIP, but on one run of these queues it is noisy (5 to 160
days across seeds of one scenario: slow swings of WIP look like a warm-up), so the
per-run figure (``warmup_suggested_days``) is reported and never warned on. The mean
daily WIP over replicates is far less noisy, and the replicates give an interval: this
module says "warm-up may be too short" from them, once per scenario of a comparison.

The rule (reasoned thresholds, checked on the ready-made scenarios):

* The suggested warm-up ``N`` is MSER-5 applied to the mean daily WIP over the
  replicates (day 1 first, searched over the first half of the run).
* The shortfall is, per replicate, the mean WIP over the scenario's KPI window (the days
  after ``warmup_days``) relative to its mean after day ``N`` (the settled level), less
  one; its mean and 95% Student-t interval over the replicates (paired: each replicate
  against itself).
* The warm-up is too short when ``N`` lies past ``warmup_days``, the mean shortfall is
  below ``-WARMUP_SHORTFALL`` (the window holds materially less work than the settled
  level: open work was still rising after the warm-up) and its interval lies below zero
  (not chance). A window that holds *more* work than after ``N`` (a slow decline, or a
  transition that empties the queue) is never flagged: that is not a queue still
  filling.
* Not checked: an overloaded scenario (its open work rises without end; the overload
  line says so), one that reorganises during the run (scheduled changes or PDCA trials
  move the level of open work on purpose; the Transition page's phases judge those),
  and fewer than two replicates (no interval).

On the ready-made scenarios (20 replicates, 250 days) the shortfall is -3% [-3.9,
-2.3] for siloed with a 20-day warm-up, -6% with 5 days and -8% with none, and within
+-1% at its 60-day default; the others at their 20-day defaults are within about 1%
below the settled level (converged -0.5%, brm_bottleneck -0.8%) or above it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.analysis.metrics import mean_ci
from simulation.analysis.steady_state import MSER_BATCH_DAYS, mser5, replicates_overload_note
from simulation.analysis.transition_outcomes import is_transition_run

#: A KPI window whose mean WIP falls short of the settled level by more than this share
#: is flagged. 2%: about the half-width of the 95% interval of the ready-made
#: scenarios' mean lead time at 20 replicates (siloed 18.7 [18.3, 19.2] days, +-2.4%); a
#: bias below it is lost in the noise a comparison already shows, one above it is not.
#: Siloed's 20-day warm-up, which the issue found too short (Little's law off by ~4%),
#: falls 3% short.
WARMUP_SHORTFALL = 0.02


@dataclass(frozen=True)
class WarmupCheck:
    """The warm-up of one scenario's replicates against the one their WIP suggests.

    Args:
        warmup_days: The scenario's warm-up, days.
        suggested_days: MSER-5 on the mean daily WIP over the replicates, days.
        shortfall: Mean WIP over the KPI window relative to its mean after
            ``suggested_days``, less one; mean over the replicates (NaN when the
            suggestion is not past the warm-up).
        shortfall_ci_low: Low end of its 95% interval.
        shortfall_ci_high: High end of its 95% interval.
    """

    warmup_days: int
    suggested_days: int
    shortfall: float
    shortfall_ci_low: float
    shortfall_ci_high: float

    @property
    def too_short(self) -> bool:
        """The rule of the module's docstring: open work still rising after the warm-up,
        materially and beyond chance."""
        return (
            self.suggested_days > self.warmup_days
            and self.shortfall < -WARMUP_SHORTFALL
            and self.shortfall_ci_high < 0
        )


def wip_table(series: Sequence[np.ndarray]) -> np.ndarray:
    """The daily WIP of replicates as one array, a row per replicate (day 1 first), cut
    to the shortest (replicates of one scenario have the same horizon)."""
    if not series:
        return np.empty((0, 0))
    days = min(len(s) for s in series)
    return np.vstack([np.asarray(s, dtype=float)[:days] for s in series])


def warmup_check(wip: np.ndarray, warmup_days: int) -> WarmupCheck | None:
    """Check ``warmup_days`` against the daily WIP of replicates (``wip_table``); None
    with fewer than two replicates or a settled level of no work."""
    if wip.ndim != 2 or wip.shape[0] < 2:
        return None
    suggested = mser5(wip.mean(axis=0)) * MSER_BATCH_DAYS
    if suggested <= warmup_days:
        return WarmupCheck(warmup_days, suggested, math.nan, math.nan, math.nan)
    window = wip[:, warmup_days:].mean(axis=1)
    settled = wip[:, suggested:].mean(axis=1)
    if (settled <= 0).any():
        return None
    shortfall, low, high = mean_ci(window / settled - 1.0)
    return WarmupCheck(warmup_days, suggested, shortfall, low, high)


def warmup_note(check: WarmupCheck | None) -> str | None:
    """The one line every front shows when the warm-up is too short; None otherwise."""
    if check is None or not check.too_short:
        return None
    day = check.suggested_days
    return (
        f"warm-up may be too short: open work still rising until about day {day}; set "
        f"warmup_days to at least {day} (after a warm-up of {check.warmup_days} days, open "
        f"work averages {-check.shortfall:.0%} below its level after day {day})"
    )


def replicates_warmup_note(
    wip: np.ndarray, warmup_days: int, runs: Sequence[dict[str, Any]]
) -> str | None:
    """The warm-up line for replicates of one scenario: their daily WIP (``wip_table``)
    and KPI records; None where the module's docstring says it is not checked."""
    if replicates_overload_note(list(runs)) or any(is_transition_run(k) for k in runs):
        return None
    return warmup_note(warmup_check(wip, warmup_days))
