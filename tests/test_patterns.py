"""Patterns the literature reports, reproduced by the model's mechanisms with its defaults.

Each test runs scenarios on common seeds (paired replicates) and judges the 95%
confidence interval of the paired difference, so a pattern is there and not by chance.
Horizons are short and replicates few: the effects tested are large.
"""

from __future__ import annotations

import numpy as np

from simulation.analysis.metrics import mean_ci
from simulation.inputs.scenario import Scenario, with_overrides
from simulation.running.runs import run_scenario
from tests.conftest import ready_made, short

CONVERGED = ready_made("converged")
SILOED = ready_made("siloed")


def paired_difference(
    base: Scenario, other: Scenario, kpi: str, seeds: range
) -> tuple[float, float, float]:
    """Mean and 95% CI of ``kpi`` in ``other`` minus in ``base``, seed by seed."""
    diffs = np.array(
        [
            run_scenario(other, seed=s).kpis[kpi] - run_scenario(base, seed=s).kpis[kpi]
            for s in seeds
        ]
    )
    return mean_ci(diffs)


def scaled(scenario: Scenario, factor: int) -> Scenario:
    """``scenario`` with every headcount and arrival rate times ``factor`` (and teams
    ``factor`` times as large): the same organisation, its units ``factor`` times bigger."""
    change: dict = {
        f"disciplines.{d.name}.headcount": d.headcount * factor for d in scenario.disciplines
    }
    change |= {
        f"work_types.{w.name}.arrival_rate": w.arrival_rate * factor for w in scenario.work_types
    }
    if scenario.structure == "converged":
        change["team_size"] = scenario.team_size * factor
    return with_overrides(scenario, change)


# --------------------------------------------------------------------------- team size


def test_team_size_has_an_optimum_inside_five_to_nine():
    """Skelton & Pais 2019, Brooks 1975: teams of about 5-9 do best. Small teams lack
    scarce disciplines and hand those stages to other teams; large teams pay for more
    communication paths (coordination, odd.md 7.7). Teams of nine, the best size in 5-9
    with the defaults, beat both."""
    base = short(CONVERGED, 120)
    seeds = range(1, 9)
    best = with_overrides(base, {"team_size": 9})
    for other_size in (3, 19):
        other = with_overrides(base, {"team_size": other_size})
        mean, low, high = paired_difference(best, other, "lead_time_mean", seeds)
        assert low > 0, (
            f"teams of {other_size} should take longer than teams of 9: "
            f"{mean:+.2f} days [{low:+.2f}, {high:+.2f}]"
        )


def test_a_department_coordinates_no_more_as_it_grows_but_a_team_does():
    """Brooks: paths among the people who share a piece of work. A department's people
    work separate tickets, so doubling every department (with its demand) leaves what
    each person loses to coordination as it was; doubling every team doubles its paths."""
    seeds = range(1, 5)
    siloed = short(SILOED, 60)
    mean, low, high = paired_difference(siloed, scaled(siloed, 2), "coordination_share", seeds)
    assert low > -0.01 and high < 0.01, (
        "departments twice as large should coordinate as much: "
        f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]"
    )
    converged = short(CONVERGED, 60)
    mean, low, high = paired_difference(
        converged, scaled(converged, 2), "coordination_share", seeds
    )
    assert low > 0.1, (
        f"teams twice as large should coordinate much more: {mean:+.4f} [{low:+.4f}, {high:+.4f}]"
    )
