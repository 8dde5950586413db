"""What customers and the business get: CX scores (mechanism 10) and value (mechanism 11).

CX: a customer-facing item scores ``100 * exp(-lateness_penalty * lateness)`` where
lateness = max(0, lead time / expected lead time - 1): on time scores 100, twice as
long as promised scores 37 at the default penalty. An escaped defect costs a share of
the score. Incidents score the same way on their time to restore against their
expectation. The CX index is the mean score of items finished in a trailing window.

Value: an item's business value halves every ``half_life_days`` of lead time (cost of
delay) and loses a share to an escaped defect.
"""

from __future__ import annotations

import math
from collections import deque

from simulation.engine.work import WorkItem
from simulation.inputs.scenario import CustomerExperience, Value


def cx_score(item: WorkItem, params: CustomerExperience) -> float:
    lateness = max(0.0, item.lead_time / item.type.expectation_days - 1.0)
    score = 100.0 * math.exp(-params.lateness_penalty * lateness)
    if item.latent_defects:
        score *= 1.0 - params.defect_penalty
    return score


def value_delivered(item: WorkItem, params: Value) -> float:
    if not params.enabled:
        return item.type.value
    value = item.type.value * 0.5 ** (item.lead_time / params.half_life_days)
    if item.latent_defects:
        value *= 1.0 - params.defect_loss
    return value


class CXIndex:
    """Running mean of CX scores over a trailing window of days."""

    def __init__(self, params: CustomerExperience):
        self.params = params
        self._scores: deque[tuple[float, float]] = deque()
        self._sum = 0.0

    def add(self, when: float, score: float) -> None:
        self._scores.append((when, score))
        self._sum += score

    def value(self, now: float) -> float:
        cutoff = now - self.params.window_days
        while self._scores and self._scores[0][0] < cutoff:
            self._sum -= self._scores.popleft()[1]
        return self._sum / len(self._scores) if self._scores else math.nan
