"""What can act in a scenario (simulation/analysis/idle.py): the rules hold in runs, and
sensitivity, robustness and explain read them alike, later changes and PDCA included."""

from __future__ import annotations

import pytest

from simulation.analysis import explain
from simulation.analysis.idle import idle_reason, mechanism_idle
from simulation.analysis.robustness import uncertain_ranges
from simulation.analysis.sensitivity_study import chosen_factors, default_factors, idle_factors
from simulation.catalog.parameters import PARAMETERS
from simulation.errors import ScenarioError
from simulation.inputs.scenario import get_path, with_overrides
from simulation.running.runs import run_scenario
from tests.conftest import ready_made, short


def _varied(scenario):
    return {f.path for f in default_factors([scenario])[0]}


def _worlds(scenario):
    return {r.path for r in uncertain_ranges([scenario])}


@pytest.mark.parametrize("name", ["siloed", "aligned", "converged"])
def test_a_parameter_called_idle_changes_no_kpi(name):
    """Every catalog parameter the rules call idle in a ready-made scenario is set to
    the other end of its range: not one KPI of the run moves."""
    scenario = short(ready_made(name), days=60)
    before = run_scenario(scenario, seed=4).kpis
    data = scenario.model_dump(mode="json")
    checked = 0
    for entry in PARAMETERS:
        if entry.kind != "parameter" or "[]" in entry.path or entry.low is None:
            continue
        if idle_reason(entry, scenario) is None:
            continue
        value = entry.high if get_path(data, entry.path) != entry.high else entry.low
        try:
            moved = with_overrides(scenario, {entry.path: value})
        except ScenarioError:
            continue  # a value the scenario's other fields do not allow
        assert run_scenario(moved, seed=4).kpis == before, (name, entry.path)
        checked += 1
    assert checked >= 5, name


def test_a_pdca_policy_that_may_hire_brms_keeps_their_parameters():
    """scenarios/pdca.yaml starts with no BRMs and lets its policy hire some: BRM
    parameters can act, so both studies vary them."""
    scenario = ready_made("pdca")
    assert scenario.brms.count == 0
    assert "brms.mediation_days" in _varied(scenario)
    assert "brms.mediation_days" in _worlds(scenario)
    no_policy = with_overrides(scenario, {"pdca.enabled": False})
    assert "brms.mediation_days" not in _varied(no_policy)
    assert "brms.mediation_days" not in _worlds(no_policy)


def test_turnover_is_varied_at_rate_zero_in_both_studies():
    """The ready-made scenarios have no turnover, but its annual rate is an unknown (0 to
    0.2): both studies vary it, and the other turnover parameters act wherever they
    raise it. A scenario with turnover switched off leaves them all out."""
    turnover = {p.path for p in PARAMETERS if p.path.startswith("mechanisms.turnover.")}
    aligned = ready_made("aligned")
    assert aligned.mechanisms.turnover.annual_rate == 0
    rate = "mechanisms.turnover.annual_rate"
    assert rate in _varied(aligned) and rate in _worlds(aligned)
    assert "mechanisms.turnover.hire_delay_days" in _varied(aligned)
    # named without the rate, a detail of turnover is a check that should move nothing
    (hire_cost,) = chosen_factors(["mechanisms.turnover.hire_cost"], [aligned])
    assert idle_factors([hire_cost], [aligned]) == [
        ("mechanisms.turnover.hire_cost", "turnover is idle (annual_rate 0)")
    ]
    with_rate = chosen_factors(["mechanisms.turnover.hire_cost", rate], [aligned])
    assert idle_factors(with_rate, [aligned]) == []
    off = with_overrides(aligned, {"mechanisms.turnover.enabled": False})
    assert not turnover & _varied(off)
    assert not turnover & _worlds(off)


def test_a_change_that_never_rotates_leaves_rotation_idle():
    """The big bang changes the structure and some levers, never the rotation share:
    rotation has nothing to do before or after, and explain leaves it out."""
    scenario = short(ready_made("transition_big_bang"), days=90)
    assert scenario.changes and mechanism_idle("rotation", scenario)
    _, idle, _ = explain.mechanism_players(scenario, scenario)
    assert "rotation" in idle
    before = run_scenario(scenario, seed=2).kpis
    off = with_overrides(scenario, {"mechanisms.rotation.enabled": False})
    assert run_scenario(off, seed=2).kpis == before


def test_a_change_that_starts_rotation_makes_it_a_player():
    big_bang = ready_made("transition_big_bang")
    rotating = with_overrides(big_bang, {"changes.0.levers.rotation_share": 0.2})
    players, idle, _ = explain.mechanism_players(rotating, rotating)
    assert "rotation" in players and "rotation" not in idle
    assert "mechanisms.rotation.stint_days" in _varied(rotating)
