"""The model against theory: queueing networks, the critical path, Little's law,
and reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from simulation.analysis.metrics import mean_ci
from simulation.analysis.steady_state import littles_law_in_window
from simulation.analysis.theory import (
    chain_lead_time,
    chain_warmup_days,
    erlang_c,
    mmc_sojourn,
    relaxation_time,
)
from simulation.inputs.scenario import Mechanisms, Scenario, parse_scenario
from simulation.running.runs import run_scenario
from tests.conftest import READY_MADE_NAMES, ready_made

ALL_OFF = {name: {"enabled": False} for name in Mechanisms.model_fields}


def chain(
    arrival_rate: float,
    stations: list[tuple[float, int]],
    days: int,
    distribution: str = "exponential",
) -> Scenario:
    """Every mechanism off, one route through ``stations`` of (mean effort, servers).

    The warm-up spans the relaxation of the most loaded station (theory.py), so that the
    start from empty does not bias heavy-load lead times low, but at most half the run.
    """
    names = [f"s{i}" for i in range(len(stations))]
    warmup = min(math.ceil(chain_warmup_days(arrival_rate, stations)), days // 2)
    return parse_scenario(
        {
            "name": "chain",
            "structure": "siloed",
            "horizon_days": days,
            "warmup_days": warmup,
            "disciplines": [
                {"name": n, "side": "it", "headcount": c}
                for n, (_, c) in zip(names, stations, strict=True)
            ],
            "work_types": [
                {
                    "name": "job",
                    "arrival_rate": arrival_rate,
                    "route": [
                        {"discipline": n, "effort": {"distribution": distribution, "mean": mean}}
                        for n, (mean, _) in zip(names, stations, strict=True)
                    ],
                }
            ],
            "levers": {"prioritisation": "fifo"},
            "mechanisms": ALL_OFF,
        }
    )


def test_erlang_c_matches_known_values():
    assert erlang_c(1, 0.8) == pytest.approx(0.8)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert mmc_sojourn(0.8, 1.0, 1) == pytest.approx(5.0)  # M/M/1 at 80%: W = 1 / (mu - lambda) = 5


def test_relaxation_time_grows_like_one_over_the_square_of_spare_capacity():
    # M/M/1: 1 / (mu (1 - sqrt(rho))^2); at 81% load, 1 / (1 - 0.9)^2 = 100 services
    assert relaxation_time(0.81, 1.0, 1) == pytest.approx(100.0)
    # c servers queue like one at rate c * mu
    assert relaxation_time(1.62, 1.0, 2) == pytest.approx(50.0)
    assert relaxation_time(1.0, 1.0, 1) == float("inf")
    # the warm-up a chain needs is set by its most loaded station
    assert chain_warmup_days(0.81, [(1.0, 1), (0.5, 1)]) == pytest.approx(800.0)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("arrival_rate", "stations", "days", "replicates"),
    [
        (0.8, [(1.0, 1)], 8000, 8),  # M/M/1 at 80% load: 5.0 days
        (1.6, [(1.0, 2), (2.0, 4), (0.5, 1)], 5000, 8),  # multi-server, heavy (pure_flow.yaml)
        (0.9, [(1.0, 3), (2.0, 6)], 1500, 12),  # light load: mostly service time
        (4.5, [(2.0, 10), (0.2, 1)], 3000, 10),  # many servers at 90%, then a fast single one
    ],
    ids=["mm1-heavy", "mmc-chain-heavy", "mmc-light", "mmc-many-servers"],
)
def test_pure_flow_agrees_with_queueing_theory(arrival_rate, stations, days, replicates):
    scenario = chain(arrival_rate, stations, days)
    means = np.array(
        [
            run_scenario(scenario, seed=seed).kpis["lead_time_mean"]
            for seed in range(1, replicates + 1)
        ]
    )
    theory = chain_lead_time(arrival_rate, stations)
    _, low, high = mean_ci(means, confidence=0.99)
    assert low <= theory <= high, f"theory {theory:.3f} outside 99% CI [{low:.3f}, {high:.3f}]"
    # and the interval is narrow enough for the check to mean something
    assert (high - low) / 2 < 0.2 * theory


def test_pure_flow_yaml_is_the_queueing_network_it_claims():
    scenario = ready_made("pure_flow")
    assert not any(getattr(scenario.mechanisms, m).enabled for m in ALL_OFF)
    stations = [
        (s.effort.mean, scenario.headcounts()[s.discipline]) for s in scenario.work_types[0].route
    ]
    assert chain_lead_time(scenario.work_types[0].arrival_rate, stations) == pytest.approx(
        8.77, abs=0.01
    )


def test_critical_path_fixed_efforts_and_ample_staff():
    efforts = [(0.5, 200), (2.25, 200), (1.0, 200)]
    scenario = chain(2.0, efforts, 60, distribution="fixed")
    items = run_scenario(scenario, seed=4).records.items
    assert len(items) > 50
    assert np.allclose(items["lead_time"], 3.75, rtol=0, atol=1e-9)


def test_critical_path_holds_with_several_work_types():
    scenario = chain(2.0, [(1.0, 100), (1.0, 100)], 40, distribution="fixed")
    data = scenario.model_dump(mode="json")
    data["work_types"].append(
        {
            "name": "short",
            "arrival_rate": 1.0,
            "route": [{"discipline": "s1", "effort": {"distribution": "fixed", "mean": 0.25}}],
        }
    )
    items = run_scenario(parse_scenario(data), seed=2).records.items
    expected = items["type"].map({"job": 2.0, "short": 0.25})
    assert np.allclose(items["lead_time"], expected, atol=1e-9)


#: Ready-made scenarios that reorganise on purpose during the KPI window: their WIP
#: halves (siloed to converged), so the whole-lead-time form of Little's law is tipped
#: by the window's edges (about 2% on average); only the form that counts the edges is
#: checked for them. The PDCA scenario's trials change BRMs and priorities in the
#: window too: with siloed's weekly release train its gap is -1.3% on seeds 1-5 (+0.1%
#: with releases off, +4.2% with a 60-day warm-up): the window's edges tip it either
#: way, so it is one of them.
REORGANISING = {"transition_big_bang", "transition_stepwise", "pdca"}


@pytest.mark.parametrize("name", READY_MADE_NAMES)
def test_littles_law_holds_on_every_ready_made_scenario(name):
    """Little's law at each scenario's default horizon, ten seeds (five for the
    1,140-person large_enterprise). The form with the
    window's edges counted is exact (up to half a day per open item) on every run; the
    form the KPIs report (throughput x mean lead time) holds within 3% on average (95%
    CI) where WIP is the same at both ends of the window: a warm-up too short for the
    queues to fill (siloed at 20 days) breaks it."""
    scenario = ready_made(name)
    gaps = []
    for seed in range(1, 6 if name == "large_enterprise" else 11):
        result = run_scenario(scenario, seed=seed)
        wip = result.kpis["wip_mean"]
        assert littles_law_in_window(result.records) == pytest.approx(wip, rel=0.03)
        gaps.append(result.kpis["littles_law_wip"] / wip - 1)
    if name not in REORGANISING:
        _, low, high = mean_ci(np.array(gaps))
        assert low > -0.03 and high < 0.03, f"gap 95% CI [{low:+.3f}, {high:+.3f}]"


def test_same_seed_same_results_different_seed_different_results():
    scenario = ready_made("converged")
    first, again = run_scenario(scenario, seed=5), run_scenario(scenario, seed=5)
    assert first.kpis == again.kpis
    pd.testing.assert_frame_equal(first.records.events, again.records.events)
    other = run_scenario(scenario, seed=6)
    assert other.kpis["lead_time_mean"] != first.kpis["lead_time_mean"]


def test_the_scenario_seed_is_the_default_seed():
    scenario = ready_made("aligned").model_copy(update={"horizon_days": 100})
    assert run_scenario(scenario).kpis == run_scenario(scenario, seed=scenario.seed).kpis
