"""BRMs never make things worse, and each one adds less (issue 10, docs/odd.md section 1).

Patterns, each asserted on paired replicates (common seeds) with 95% confidence
intervals of the paired differences:

- one BRM is not worse than none, on aligned.yaml and aligned_mature.yaml: business-IT
  handoffs go direct when the wait for a BRM would eat what mediation saves
  (``brms.bypass``); before it, one BRM took 53.9 days against 12.1 with none;
- diminishing returns: no BRM shortens lead time more than the one before it (over 0,
  1, 2, 3 and 6 BRMs, the last three per BRM), and the first more than each of the
  last three;
- incidents first: with scarce BRMs and no bypass, incidents jump the BRMs' queue
  (``brms.incidents_first``) and are restored sooner than in arrival order.

Each test also shows it can fail: with the switch off the same comparison goes the
other way.
"""

from __future__ import annotations

from functools import cache
from itertools import pairwise

import numpy as np

from simulation.analysis.metrics import mean_ci
from simulation.running.runs import run_scenario
from tests.conftest import ready_made, short

SEEDS = range(1, 9)
DAYS = 150
#: One BRM may be this much slower than none (days) and still count as not worse: the
#: noise of a mean lead time, not a cost anyone would notice.
TOLERANCE_DAYS = 0.25


Settings = tuple[tuple[str, object], ...]


@cache
def kpis_by_seed(name: str, overrides: Settings) -> list[dict]:
    """The KPIs of ready-made ``name`` with ``overrides``, one record per seed of SEEDS
    (each run made once, whichever tests ask for it)."""
    scenario = short(ready_made(name), DAYS, **dict(overrides))
    return [run_scenario(scenario, seed=s).kpis for s in SEEDS]


def kpi_by_seed(name: str, kpi: str, overrides: Settings) -> np.ndarray:
    """``kpi`` of ready-made ``name`` with ``overrides``, one value per seed of SEEDS."""
    return np.array([kpis[kpi] for kpis in kpis_by_seed(name, overrides)])


def lead_times(name: str, brms: int, **overrides: object) -> np.ndarray:
    """Mean lead time per seed with ``brms`` BRMs (with none, how BRMs work is moot)."""
    if brms == 0:
        overrides = {k: v for k, v in overrides.items() if not k.startswith("brms.")}
    settings = (("brms.count", brms), *sorted(overrides.items()))
    return kpi_by_seed(name, "lead_time_mean", settings)


def interval(diffs: np.ndarray) -> str:
    mean, low, high = mean_ci(diffs)
    return f"{mean:+.2f} days [{low:+.2f}, {high:+.2f}]"


def one_brm_not_worse(name: str, **overrides: object) -> bool:
    _, _, high = mean_ci(lead_times(name, 1, **overrides) - lead_times(name, 0, **overrides))
    return high <= TOLERANCE_DAYS


def test_one_brm_is_not_worse_than_none():
    for name in ("aligned", "aligned_mature"):
        diffs = lead_times(name, 1) - lead_times(name, 0)
        assert one_brm_not_worse(name), f"{name}: one BRM minus none {interval(diffs)}"


def test_as_before_issue_10_one_brm_is_far_worse_than_none():
    # the same comparison fails when every business-IT handoff waits for the BRM in
    # arrival order (both switches off: the model before issue 10)
    old = {"brms.bypass": False, "brms.incidents_first": False}
    assert not one_brm_not_worse("aligned_mature", **old)


def gains(name: str, **overrides: object) -> dict[str, np.ndarray]:
    """Lead time saved per seed by each step in BRMs: 0->1, 1->2, 2->3, and 3->6 per BRM."""
    lt = {n: lead_times(name, n, **overrides) for n in (0, 1, 2, 3, 6)}
    return {
        "0->1": lt[0] - lt[1],
        "1->2": lt[1] - lt[2],
        "2->3": lt[2] - lt[3],
        "3->6 per BRM": (lt[3] - lt[6]) / 3,
    }


def growing(steps: dict[str, np.ndarray]) -> list[str]:
    """The consecutive steps where the later gain is larger than the earlier one (the
    95% CI of earlier - later entirely below 0): none if returns diminish."""
    names = list(steps)
    return [
        f"{a} then {b}: {interval(steps[a] - steps[b])}"
        for a, b in pairwise(names)
        if mean_ci(steps[a] - steps[b])[2] < 0
    ]


def test_brms_show_diminishing_returns():
    for name in ("aligned", "aligned_mature"):
        steps = gains(name)
        assert not growing(steps), f"{name}: a later BRM gains more: {growing(steps)}"
        first_over_last = steps["0->1"] - steps["3->6 per BRM"]
        assert mean_ci(first_over_last)[1] > 0, (
            f"{name}: the first BRM should gain more than each of the last three: "
            + interval(first_over_last)
        )


def test_senders_who_wait_whenever_it_pays_dissipate_the_first_brm():
    # Naor 1969: senders who join the queue until the wait eats the whole saving leave
    # the first BRM less to give than the second: the test above fails
    steps = gains("aligned_mature", **{"brms.bypass_wait_share": 1.0})
    assert growing(steps)


def restore_days(incidents_first: bool) -> np.ndarray:
    """Time to restore per seed with one BRM, every handoff waiting for them."""
    settings = (
        ("brms.count", 1),
        ("brms.bypass", False),
        ("brms.incidents_first", incidents_first),
    )
    return kpi_by_seed("aligned_mature", "time_to_restore_days", settings)


def test_incidents_jump_the_queue_of_scarce_brms():
    # with the switch doing nothing, both sides are the same runs and the CI is [0, 0]
    diffs = restore_days(True) - restore_days(False)
    _, _, high = mean_ci(diffs)
    assert high < 0, f"incidents first minus arrival order: {interval(diffs)}"
