"""Customer experience (mechanism 10): how customers feel about what they waited for.

A customer-facing item scores ``100 * exp(-lateness_penalty * lateness)`` where
lateness = max(0, lead time / expected lead time - 1): on time scores 100, twice as
long as promised scores 37 at the default penalty. An escaped defect costs a share of
the score. Incidents (expedite items and failure demand) score the same way on their
time to restore against their expectation (a day, in the ready-made scenarios).

The index has two parts: the mean score of new work and the mean score of incidents
(over a trailing window for the daily series, over the KPI window for the run's
``cx_new_work`` and ``cx_incidents``). The headline CX index mixes them with fixed
weights: ``incident_weight`` (default 0.25) for incidents, the rest for new work. A
plain mean over items let the count of incidents set the index: in siloed departments
nearly half the scored items were incidents, scored against a one-day expectation, so
the index mostly measured incidents, and more of them lowered it by their number. With
fixed weights more incidents lower the index only by scoring worse. Where one part has
no scored item in the window the index is the other part.

Default: on, with the penalties and weight in ``mechanisms.cx``. Off switch:
``mechanisms.cx.enabled: false``; items then have no score and the index is empty.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulation.engine.work import WorkItem
    from simulation.inputs.scenario import CustomerExperience


def cx_score(item: WorkItem, params: CustomerExperience) -> float:
    """The score, 0..100, a delivered customer-facing item earns."""
    lateness = max(0.0, item.lead_time / item.type.expectation_days - 1.0)
    score = 100.0 * math.exp(-params.lateness_penalty * lateness)
    if item.latent_defects:
        score *= 1.0 - params.defect_penalty
    return score


def cx_mix(new_work: float, incidents: float, incident_weight: float) -> float:
    """The headline CX index from its two parts: ``incident_weight`` for incidents, the
    rest for new work; the part there is when the other has no score (NaN for none)."""
    if math.isnan(incidents):
        return new_work
    if math.isnan(new_work):
        return incidents
    return (1.0 - incident_weight) * new_work + incident_weight * incidents


class _TrailingMean:
    """Mean of the scores added in a trailing window of days."""

    def __init__(self, window_days: float):
        self.window_days = window_days
        self._scores: deque[tuple[float, float]] = deque()
        self._sum = 0.0

    def add(self, when: float, score: float) -> None:
        self._scores.append((when, score))
        self._sum += score

    def value(self, now: float) -> float:
        cutoff = now - self.window_days
        while self._scores and self._scores[0][0] < cutoff:
            self._sum -= self._scores.popleft()[1]
        return self._sum / len(self._scores) if self._scores else math.nan


class CXIndex:
    """The CX index over a trailing window of days: the mean scores of new work and of
    incidents, mixed by :func:`cx_mix`.

    Args:
        params: The mechanism's parameters (``mechanisms.cx``; the window's length and
            the incidents' weight).
    """

    def __init__(self, params: CustomerExperience):
        self.params = params
        self._new_work = _TrailingMean(params.window_days)
        self._incidents = _TrailingMean(params.window_days)

    def add(self, when: float, score: float, incident: bool = False) -> None:
        """An item scored ``score`` at ``when``; ``incident`` for an expedite incident or
        failure demand."""
        (self._incidents if incident else self._new_work).add(when, score)

    def value(self, now: float) -> float:
        """The index of the window that ends ``now`` (NaN when it is empty)."""
        if not (self._new_work._scores or self._incidents._scores):
            return math.nan  # nothing scored yet, or the mechanism is off: a daily read
        return cx_mix(
            self._new_work.value(now), self._incidents.value(now), self.params.incident_weight
        )
