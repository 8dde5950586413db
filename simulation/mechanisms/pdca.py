"""Plan-Do-Check-Act: an adaptive policy that changes one thing at a time and checks.

Every ``every_days`` days (from the end of the warm-up) the policy

- **checks** the running trial: the target KPI over the trial (items delivered from
  ``settle_days`` after the change until now) against the baseline (the same length of
  time before the change);
- **acts**: keeps the change if the KPI improved by more than ``min_effect`` (relative)
  and more than ``z`` standard errors of the difference, and otherwise reverts it;
- **plans and does** the next trial: the next lever of the allowed list (in turn),
  moved by its step within its bounds.

Each decision is recorded with its reason. Trial changes go through the same path as
scheduled changes, so one that re-forms teams has its J-curve too.

Default: off. Switch it on with ``pdca.enabled: true`` and the levers it may try.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.catalog.kpis import kpi
from simulation.inputs.scenario import PDCALever, ScenarioError, get_path
from simulation.mechanisms.base import Mechanism
from simulation.mechanisms.cx import cx_mix

if TYPE_CHECKING:
    from simulation.engine.clock import Clock
    from simulation.inputs.scenario import PDCA, Scenario
    from simulation.mechanisms.transitions import Transitions
    from simulation.model.records import ItemRow


class PDCAPolicy(Mechanism):
    """The policy: a trial at a time, judged on the target KPI, kept or reverted.

    Args:
        params: The policy's parameters (``pdca``).
        warmup: Days of warm-up; the first cycle ends one cycle after it.
        clock: Schedules the cycles.
        config: The scenario the run is under now (where the levers stand).
        transitions: Puts each trial and each revert into effect.
        delivered_between: The items delivered in a span of days, as recorded.
    """

    def __init__(
        self,
        params: PDCA,
        warmup: int,
        clock: Clock,
        config: Callable[[], Scenario],
        transitions: Transitions,
        delivered_between: Callable[[float, float], list[ItemRow]],
    ):
        self.params = params
        self.clock = clock
        self.config = config
        self.transitions = transitions
        self.delivered_between = delivered_between
        self.decisions: list[dict[str, Any]] = []
        self.trial: dict[str, Any] | None = None
        self._next_lever = 0
        if self.params.enabled:
            start = warmup + self.params.every_days
            clock.every(self.params.every_days, self.cycle, start=float(start))

    def summary(self) -> dict[str, list[dict[str, Any]]]:
        """Every decision the policy took, with its reason."""
        return {"decisions": self.decisions}

    def cycle(self) -> None:
        """Check and act on the running trial, then plan and do the next."""
        now = self.clock.now
        length = self.params.every_days - self.params.settle_days
        if self.trial is None:
            baseline = self.measure(now - length, now)
        else:
            # Kept: the trial's own measurement is the new baseline. Reverted: the
            # organisation is back as it was, and so is the baseline (the trial period
            # itself would flatter whatever is tried next).
            baseline = self._check_and_act(now)
        self._plan_and_do(now, baseline)

    # -- check and act

    def _check_and_act(self, now: float) -> tuple[float, float, int]:
        """Judge the trial, keep or revert it; returns the baseline for the next one."""
        trial, params = self.trial, self.params
        self.trial = None
        before = trial["baseline"]
        after = self.measure(trial["day"] + params.settle_days, now)
        higher = kpi(params.target).higher_is_better
        gain = (after[0] - before[0]) * (1 if higher else -1)
        noise = params.z * math.hypot(before[1], after[1])
        needed = max(noise, params.min_effect * abs(before[0]))
        if math.isnan(gain):
            keep, reason = False, "not enough items delivered to judge"
        elif gain > needed:
            keep, reason = (
                True,
                (
                    f"{params.target} improved by {gain:.3g}, more than "
                    f"noise ({noise:.3g}) and the minimum effect"
                ),
            )
        else:
            keep, reason = (
                False,
                (
                    f"{params.target} changed by {gain:+.3g} (better is +); "
                    f"needed more than {needed:.3g}"
                ),
            )
        if not keep:
            self.transitions.apply_overrides(
                {trial["path"]: trial["from"]}, f"PDCA: revert {trial['path']}", "pdca"
            )
        self.decisions.append(
            {
                "day": now,
                "lever": trial["path"],
                "from": trial["from"],
                "to": trial["to"],
                "tried_on": trial["day"],
                "kpi": params.target,
                "before": before[0],
                "after": after[0],
                "decision": "kept" if keep else "reverted",
                "reason": reason,
            }
        )
        return after if keep else before

    # -- plan and do

    def _plan_and_do(self, now: float, baseline: tuple[float, float, int]) -> None:
        levers = self.params.levers
        for _ in range(len(levers)):
            lever = levers[self._next_lever % len(levers)]
            self._next_lever += 1
            current = get_path(self.config().model_dump(mode="json"), lever.path)
            proposed = _stepped(current, lever)
            if proposed == current:
                continue  # at its bound: try the next lever
            try:
                self.transitions.apply_overrides(
                    {lever.path: proposed}, f"PDCA: try {lever.path} = {proposed}", "pdca"
                )
            except ScenarioError as exc:
                self.decisions.append(
                    {
                        "day": now,
                        "lever": lever.path,
                        "from": current,
                        "to": proposed,
                        "decision": "skipped",
                        "reason": exc.reason,
                    }
                )
                continue
            self.trial = {
                "path": lever.path,
                "from": current,
                "to": proposed,
                "day": now,
                "baseline": baseline,
            }
            return

    # -- measuring

    def measure(self, start: float, end: float) -> tuple[float, float, int]:
        """(value, standard error, items) of the target KPI over deliveries in [start, end)."""
        target = self.params.target
        delivered = self.delivered_between(start, end)
        # the headline KPIs count new work (records.new_work_mask): neither an
        # expedite incident nor failure demand; change failures count every deployment
        done = [r for r in delivered if not (r.expedite or r.raised_by_defect)]
        n = len(done)
        if target == "new_work_per_week":
            count = n
            days = max(end - start, 1e-9)
            return count / days * 5, math.sqrt(count) / days * 5, n
        if target == "change_failure_rate":
            deployed = [r for r in delivered if r.deployable]
            if not deployed:
                return math.nan, math.nan, 0
            p = sum(1 for r in deployed if r.latent_defects > 0) / len(deployed)
            return p, math.sqrt(p * (1 - p) / len(deployed)), len(deployed)
        if target == "cx_index":
            return self._cx_index(delivered)
        if target == "lead_time_p85":
            values = np.array([r.lead_time for r in done])
            if len(values) < 10:
                return math.nan, math.nan, len(values)
            # the standard error of a quantile, by the order-statistic (binomial) rule
            ordered = np.sort(values)
            k = math.sqrt(len(values) * 0.85 * 0.15)
            low = ordered[max(0, int(0.85 * len(values) - k))]
            high = ordered[min(len(values) - 1, int(0.85 * len(values) + k))]
            return float(np.percentile(values, 85)), float(high - low) / 2, len(values)
        values = np.array([r.lead_time for r in done])
        return _mean_and_error(values)

    def _cx_index(self, delivered: list[ItemRow]) -> tuple[float, float, int]:
        """The CX index as the KPI mixes it (mechanisms/cx.py), with its standard error:
        the weighted parts' errors combined, a part with under two scores left out."""
        weight = self.config().mechanisms.cx.incident_weight
        parts = []
        for incident in (False, True):
            scores = [
                r.cx_score
                for r in delivered
                if (r.expedite or r.raised_by_defect) == incident and not math.isnan(r.cx_score)
            ]
            parts.append(_mean_and_error(np.array(scores)))
        (new, new_error, n_new), (inc, inc_error, n_inc) = parts
        value = cx_mix(new, inc, weight)
        if math.isnan(new) or math.isnan(inc):
            error = new_error if math.isnan(inc) else inc_error
        else:
            error = math.hypot((1 - weight) * new_error, weight * inc_error)
        return value, error, n_new + n_inc


def _mean_and_error(values: np.ndarray) -> tuple[float, float, int]:
    """Mean, standard error and count (NaN mean and error under two values)."""
    if len(values) < 2:
        return math.nan, math.nan, len(values)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values))), len(values)


def _stepped(current: float, lever: PDCALever) -> float:
    value = current + lever.step
    if lever.min is not None:
        value = max(lever.min, value)
    if lever.max is not None:
        value = min(lever.max, value)
    if isinstance(current, int) and float(lever.step).is_integer():
        value = round(float(value))
    return round(value, 10)
