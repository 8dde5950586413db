"""Every lever and mechanism moves its outcome in the documented direction.

Each test runs a baseline and a changed scenario on the same seeds (common random
numbers) and asserts that the 95% confidence interval of the paired difference lies
on the documented side of zero: the effect is there, and not by chance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulation import OrgModel
from simulation.analysis.metrics import mean_ci
from simulation.inputs.scenario import Scenario, with_overrides
from simulation.mechanisms.language import Language
from simulation.running.runs import run_scenario
from tests.conftest import ready_made, short

SEEDS = range(1, 7)


def paired_effect(
    base: Scenario, change: dict, kpi: str, days: int = 150, seeds=SEEDS
) -> tuple[float, float, float]:
    """Mean and 95% CI of (changed - base) in ``kpi`` over common seeds."""
    before = short(base, days)
    after = with_overrides(before, change)
    diffs = np.array(
        [
            run_scenario(after, seed=s).kpis[kpi] - run_scenario(before, seed=s).kpis[kpi]
            for s in seeds
        ]
    )
    return mean_ci(diffs)


def assert_lowers(base, change, kpi, **kw):
    mean, low, high = paired_effect(base, change, kpi, **kw)
    assert high < 0, f"{change} should lower {kpi}: mean change {mean:.4g} [{low:.4g}, {high:.4g}]"


def assert_raises(base, change, kpi, **kw):
    mean, low, high = paired_effect(base, change, kpi, **kw)
    assert low > 0, f"{change} should raise {kpi}: mean change {mean:.4g} [{low:.4g}, {high:.4g}]"


SILOED = ready_made("siloed")
ALIGNED = ready_made("aligned")
CONVERGED = ready_made("converged")


# --------------------------------------------------------------------------- levers


def test_more_shared_language_means_less_rework():
    assert_lowers(SILOED, {"levers.shared_language": 0.7}, "rework_rate")
    assert_lowers(SILOED, {"levers.shared_language": 0.7}, "change_failure_rate")


def test_more_brms_than_the_bottleneck_needs_shortens_business_it_handoffs():
    bottleneck = ready_made("brm_bottleneck")
    assert_lowers(bottleneck, {"brms.count": 5}, "business_it_handoff_days")
    assert_lowers(bottleneck, {"brms.count": 5}, "lead_time_mean")


def test_brms_prevent_misunderstandings():
    assert_raises(ALIGNED, {"brms.count": 0}, "rework_rate")


def test_more_transparency_means_less_misaligned_work_and_faster_handoffs():
    assert_lowers(SILOED, {"levers.transparency": 0.8}, "misaligned_it_share")
    assert_lowers(SILOED, {"levers.transparency": 0.8}, "cross_unit_handoff_days")


def test_shared_value_priority_cuts_misaligned_work():
    assert_lowers(SILOED, {"levers.prioritisation": "value"}, "misaligned_it_share")


def test_glossary_raises_shared_language_and_cuts_rework():
    assert_raises(SILOED, {"levers.glossary": True}, "shared_language_end")
    assert_lowers(SILOED, {"levers.glossary": True}, "rework_rate", days=200)


def test_rotation_takes_people_away_then_spreads_skills_and_language():
    change = {"levers.rotation_share": 1.0}
    assert_raises(SILOED, change, "shared_language_end")
    assert_lowers(SILOED, change, "rework_rate", days=250)
    daily = run_scenario(with_overrides(short(SILOED, 100), change), seed=1).records.daily
    assert daily["staff_away"].max() > 0  # the productivity dip: people are away


def test_culture_events_build_cross_unit_ties():
    assert_raises(SILOED, {"levers.culture_events_per_quarter": 4}, "cross_unit_ties")
    assert_lowers(SILOED, {"levers.culture_events_per_quarter": 4}, "modularity_by_unit")


def test_ties_shorten_handoffs_and_prevent_misunderstandings():
    connected = {"levers.culture_events_per_quarter": 6}  # many cross-unit ties
    stronger = {
        **connected,
        "mechanisms.handoff.tie_effect": 0.9,
        "mechanisms.rework.tie_effect": 0.9,
    }
    weaker = {
        **connected,
        "mechanisms.handoff.tie_effect": 0.0,
        "mechanisms.rework.tie_effect": 0.0,
    }
    base = with_overrides(SILOED, weaker)
    assert_lowers(base, stronger, "business_it_handoff_days")
    assert_lowers(base, stronger, "rework_rate")


def test_cross_skilled_teams_cover_each_other():
    assert_lowers(CONVERGED, {"levers.cross_skill": 0.5}, "lead_time_mean")


def test_bigger_teams_spend_more_time_coordinating():
    assert_raises(CONVERGED, {"team_size": 14}, "coordination_share")


def test_more_demand_means_busier_people_and_longer_waits():
    change = {
        f"work_types.{w}.arrival_rate": r * 1.15
        for w, r in (("feature", 1.0), ("campaign", 0.8), ("incident", 0.8), ("deal", 0.6))
    }
    assert_raises(SILOED, change, "utilisation")
    assert_raises(SILOED, change, "wip_mean")
    # Queues lengthen waits where the bottleneck is busy: with 20 developers, not 26,
    # dev is 70-80% busy (the default siloed organisation, half idle, mostly waits on
    # handoffs, whose delays do not depend on load).
    busier = with_overrides(SILOED, {"disciplines.dev.headcount": 20})
    assert_raises(busier, change, "lead_time_mean", seeds=range(1, 13))


# --------------------------------------------------------------------------- mechanisms off


@pytest.mark.parametrize(
    ("mechanism", "kpi", "direction"),
    [
        ("handoff", "lead_time_mean", "lowers"),
        ("rework", "lead_time_mean", "lowers"),
        ("defects", "throughput_per_week", "lowers"),  # no failure demand
        ("misaligned", "lead_time_mean", "lowers"),
        ("coordination", "lead_time_mean", "lowers"),
        ("network", "cross_unit_ties", "lowers"),
        ("value", "value_total", "raises"),  # no cost of delay, no defect loss
    ],
)
def test_switching_a_mechanism_off_removes_its_effect(mechanism, kpi, direction):
    change = {f"mechanisms.{mechanism}.enabled": False}
    check = assert_lowers if direction == "lowers" else assert_raises
    check(SILOED, change, kpi, seeds=range(1, 9))


def test_switched_off_mechanisms_leave_no_trace():
    off = with_overrides(
        short(SILOED, 80),
        {
            "mechanisms.rework.enabled": False,
            "mechanisms.misaligned.enabled": False,
            "mechanisms.coordination.enabled": False,
            "mechanisms.handoff.enabled": False,
            "mechanisms.network.enabled": False,
            "mechanisms.cx.enabled": False,
        },
    )
    k = run_scenario(off, seed=3).kpis
    assert k["rework_rate"] == 0 and k["escaped_defects"] == 0
    assert k["rework_effort_share"] == 0 and k["misaligned_it_share"] == 0
    assert k["coordination_share"] == 0 and k["cross_unit_ties"] == 0
    assert k["business_it_handoff_days"] == 0
    assert math.isnan(k["cx_index"])


def test_rotation_switched_off_sends_nobody_away():
    off = with_overrides(
        short(SILOED, 80), {"levers.rotation_share": 1.0, "mechanisms.rotation.enabled": False}
    )
    assert run_scenario(off, seed=1).records.daily["staff_away"].max() == 0


def test_escaped_defects_come_back_as_incidents():
    k = run_scenario(short(SILOED, 150), seed=2).kpis
    assert k["escaped_defects"] > 0 and k["incidents_from_defects"] > 0
    off = with_overrides(short(SILOED, 150), {"mechanisms.defects.enabled": False})
    assert run_scenario(off, seed=2).kpis["incidents_from_defects"] == 0


def test_customers_punish_lateness():
    assert_lowers(SILOED, {"mechanisms.cx.lateness_penalty": 3.0}, "cx_index", seeds=range(1, 4))


def test_shorter_value_half_life_delivers_less_value():
    assert_lowers(SILOED, {"mechanisms.value.half_life_days": 20}, "value_total", seeds=range(1, 4))


# --------------------------------------------------------------------------- structures


def test_converged_beats_siloed_on_speed_customers_and_quality():
    change = {
        "structure": "converged",
        "levers.shared_language": 0.5,
        "levers.transparency": 0.6,
        "levers.prioritisation": "value",
    }
    assert_lowers(SILOED, change, "lead_time_mean")
    assert_raises(SILOED, change, "cx_index")
    assert_lowers(SILOED, change, "rework_effort_share")


def test_structures_only_change_the_structure_when_levers_are_equal():
    """The structure alone (same levers) still matters: convergence removes handoffs."""
    assert_lowers(ALIGNED, {"structure": "converged", "brms.count": 0}, "lead_time_mean")


def test_default_scenarios_land_in_the_expected_dora_tiers():
    """Calibration anchor: siloed reads as a medium or low performer, converged as high."""
    siloed = [run_scenario(SILOED, seed=s).kpis["dora_tier"] for s in range(1, 4)]
    converged = [run_scenario(CONVERGED, seed=s).kpis["dora_tier"] for s in range(1, 4)]
    assert set(siloed) <= {"medium", "low"}
    assert set(converged) <= {"high", "elite"}


def test_calibration_anchors_of_the_siloed_default():
    k = run_scenario(SILOED, seed=1).kpis
    assert 0.15 <= k["rework_effort_share"] <= 0.5  # Boehm & Basili: rework is big
    assert k["misaligned_it_share"] >= 0.10  # at least ~10% of IT spend
    # coordination is part of VDT's 30-50% hidden work (with rework and exception
    # handling); a department's people work separate tickets, so theirs is mostly the
    # standing cost of their interfaces (odd.md 7.7)
    assert 0.1 <= k["coordination_share"] <= 0.5


# ------------------------------------------------------------ one mechanism, alone


def test_the_glossary_phases_in_day_by_day_and_costs_once():
    params = Scenario().mechanisms.language.model_copy(
        update={"glossary_ramp_days": 4, "glossary_gain": 0.2, "ceiling": 0.9}
    )
    costs: list[tuple[str, float]] = []
    language = Language(0.3, params, True, lambda name, amount: costs.append((name, amount)))
    levels = []
    for day in range(1, 7):
        language.on_day(day)
        levels.append(language.level)
    assert levels == pytest.approx([0.35, 0.40, 0.45, 0.50, 0.50, 0.50])
    assert costs == [("glossary", params.glossary_cost)]
    assert language.summary() == {"shared_language_end": language.level}


def test_the_language_switched_off_stays_at_the_lever():
    params = Scenario().mechanisms.language.model_copy(update={"enabled": False})
    costs: list[tuple[str, float]] = []
    language = Language(0.3, params, True, lambda name, amount: costs.append((name, amount)))
    language.raise_by(0.5)
    for day in range(1, 30):
        language.on_day(day)
    assert language.level == 0.3 and costs == []


def test_culture_events_follow_the_lever_and_stop_when_it_drops_to_zero():
    model = OrgModel(short(SILOED, 200), rng=4, culture_events_per_quarter=3)
    model.run_until(64.5)  # every 21 days: days 21, 42, 63
    assert model.recorder.programme_costs["culture"] == pytest.approx(
        3 * SILOED.mechanisms.network.culture_event_cost
    )
    model.network.set_culture_events(0)
    model.run_until(150)
    assert model.recorder.programme_costs["culture"] == pytest.approx(
        3 * SILOED.mechanisms.network.culture_event_cost
    )


@pytest.mark.parametrize("n", [2, 57, 1_000, 5_000])
def test_random_ties_draw_everyones_partners_at_once_as_they_were_drawn_one_by_one(n):
    """Network._random_ties draws all partners in one call and cuts it per person: the
    numbers (and so the starting network) must be those of one call per person."""
    at_once, one_by_one = np.random.default_rng(4), np.random.default_rng(4)
    draws = at_once.poisson(1.5, size=n)
    assert list(draws) == list(one_by_one.poisson(1.5, size=n))
    partners = at_once.integers(0, n, size=int(draws.sum())).tolist()
    expected = [j for k in draws for j in one_by_one.integers(0, n, size=k).tolist()]
    assert partners == expected
    assert at_once.random() == one_by_one.random()  # and the draws after them
