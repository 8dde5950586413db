"""Customer experience (mechanism 10): how customers feel about what they waited for.

A customer-facing item scores ``100 * exp(-lateness_penalty * lateness)`` where
lateness = max(0, lead time / expected lead time - 1): on time scores 100, twice as
long as promised scores 37 at the default penalty. An escaped defect costs a share of
the score. Incidents score the same way on their time to restore against their
expectation. The CX index is the mean score of items finished in a trailing window.

Default: on, with the penalties in ``mechanisms.cx``. Off switch:
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


class CXIndex:
    """Running mean of CX scores over a trailing window of days.

    Args:
        params: The mechanism's parameters (``mechanisms.cx``; the window's length).
    """

    def __init__(self, params: CustomerExperience):
        self.params = params
        self._scores: deque[tuple[float, float]] = deque()
        self._sum = 0.0

    def add(self, when: float, score: float) -> None:
        """An item scored ``score`` at ``when``."""
        self._scores.append((when, score))
        self._sum += score

    def value(self, now: float) -> float:
        """The mean score of the window that ends ``now`` (NaN when it is empty)."""
        cutoff = now - self.params.window_days
        while self._scores and self._scores[0][0] < cutoff:
            self._sum -= self._scores.popleft()[1]
        return self._sum / len(self._scores) if self._scores else math.nan
