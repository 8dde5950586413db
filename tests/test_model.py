"""OrgModel: how it builds organisations, what it records, and how Mesa drives it."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from unittest import mock

import mesa
import pandas as pd
import pytest

from simulation import OrgModel
from simulation.analysis.metrics import compute_kpis
from simulation.engine.agents import BRM, Staff
from simulation.model.records import EVENT_LOG_COLUMNS
from simulation.running.runs import run_scenario
from tests.conftest import SCENARIOS, ready_made, short


def test_siloed_builds_one_department_per_discipline():
    model = OrgModel(SCENARIOS / "siloed.yaml")
    assert [u.name for u in model.units] == [
        "business",
        "marketing",
        "sales",
        "support",
        "dev",
        "ops",
    ]
    assert all({m.discipline for m in u.members} == {u.name} for u in model.units)
    assert len(model.agents_by_type[Staff]) == 57
    assert BRM not in model.agents_by_type


def test_converged_teams_mix_disciplines_in_proportion():
    model = OrgModel(SCENARIOS / "converged.yaml")
    assert len(model.teams) == round(57 / 7)
    sizes = [u.size for u in model.units]
    assert max(sizes) - min(sizes) <= 1
    devs = [Counter(m.discipline for m in u.members)["dev"] for u in model.units]
    assert max(devs) - min(devs) <= 1  # spread evenly, not clumped


def test_of_two_teams_the_one_staffed_for_an_item_owns_it():
    """Teams of seven leave half the teams without a salesperson (4 salespeople, 8
    teams): of two teams drawn at random, the one with a salesperson owns a deal, so
    about three deals in four go to such a team, not one in two."""
    model = OrgModel(SCENARIOS / "converged.yaml")
    deal = SimpleNamespace(plan=[SimpleNamespace(discipline=d) for d in ("sales", "dev")])
    with_sales = [team.can_do("sales") for team in model.teams]
    assert 0 < sum(with_sales) < len(with_sales)
    owners = [model.choose_team(deal) for _ in range(400)]
    share = sum(team.can_do("sales") for team in owners) / len(owners)
    assert share > 0.65, f"{share:.0%} of deals went to a team with a salesperson"


def test_custom_teams_follow_the_skill_matrix():
    scenario = short(ready_made("siloed"), 40)
    data = scenario.model_dump(mode="json")
    data["structure"] = "custom"
    data["teams"] = [
        {"name": "Growth", "members": {"business": 3, "marketing": 6, "sales": 4, "dev": 10}},
        {"name": "Care", "members": {"business": 3, "support": 5, "dev": 8}},
        {"name": "Platform", "members": {"dev": 8, "ops": 10}},
    ]
    model = OrgModel(data)
    assert [u.name for u in model.units] == ["Growth", "Care", "Platform"]
    assert Counter(m.discipline for m in model.units[2].members) == {"dev": 8, "ops": 10}
    model.run_model()
    # work flows through the listed teams; teams of 16-23 sharing one backlog lose most
    # of their day to coordination (Brooks' paths, odd.md 7.7), so it flows slowly
    assert compute_kpis(model.records())["delivered"] > 20


def test_aligned_has_brm_agents_that_mediate():
    result = run_scenario(short(ready_made("aligned"), 60), seed=1)
    assert result.kpis["brm_mediations"] > 0
    assert 0 < result.kpis["brm_utilisation"] < 1


def test_brms_that_are_too_few_are_named_as_the_bottleneck():
    assert run_scenario(ready_made("brm_bottleneck"), seed=1).kpis["bottleneck"] == "BRMs"


def test_flat_keyword_arguments_override_the_scenario():
    model = OrgModel(
        SCENARIOS / "aligned.yaml", rng=3, brms__count=5, shared_language=0.9, structure="converged"
    )
    assert model.config.brms.count == 5 and len(model.brms) == 5
    assert model.language.level == 0.9
    assert model.teams


def test_the_daily_series_is_what_mesas_datacollector_collects():
    """DailySeries skips Mesa's per-value copies (issue 11), nothing else: the same frame
    as Mesa's own DataCollector with the same reporters, on a run that reorganises."""
    from simulation.model import org_model
    from simulation.model.daily_series import DailySeries

    def daily() -> pd.DataFrame:
        model = OrgModel(SCENARIOS / "transition_stepwise.yaml", days=180)
        model.run_model()
        return model.datacollector.get_model_vars_dataframe()

    ours = daily()
    with mock.patch.object(
        org_model,
        "DailySeries",
        lambda reporters, row: mesa.DataCollector(model_reporters=reporters),
    ):
        mesas = daily()
    assert isinstance(OrgModel(SCENARIOS / "siloed.yaml").datacollector, DailySeries)
    assert len(ours) == 180 and list(ours.columns) == list(org_model.DAILY_SERIES)
    pd.testing.assert_frame_equal(ours, mesas)


def test_model_runs_under_mesa_batch_run():
    results = mesa.batch_run(
        OrgModel,
        parameters={
            "scenario": str(SCENARIOS / "aligned.yaml"),
            "days": 30,
            "structure": ["aligned", "converged"],
        },
        rng=[1, 2],
        number_processes=1,
        display_progress=False,
    )
    frame = pd.DataFrame(results)
    assert set(frame["structure"]) == {"aligned", "converged"}
    assert frame.groupby(["structure", "rng"])["Step"].max().eq(30).all()
    assert {"wip", "cx_index", "delivered"} <= set(frame.columns)


def test_step_is_one_day_and_stops_at_the_horizon():
    model = OrgModel(short(ready_made("siloed"), 15), rng=1)
    model.step()
    assert model.time == 1.0 and model.steps == 1
    model.run_model()
    assert model.steps == 15 and not model.running
    assert len(model.records().daily) == 15


def test_event_log_has_one_row_per_task_in_process_mining_columns():
    records = run_scenario(short(ready_made("siloed"), 60), seed=2).records
    log = records.events
    assert list(log.columns) == EVENT_LOG_COLUMNS
    assert {
        "case:concept:name",
        "concept:name",
        "org:resource",
        "time:timestamp",
        "start_timestamp",
        "enqueue_timestamp",
    } <= set(log.columns)
    assert (log["enqueue_day"] <= log["start_day"]).all()
    assert (log["start_day"] <= log["end_day"]).all()
    assert pd.api.types.is_datetime64_any_dtype(log["time:timestamp"])
    # a delivered feature has one value row per stage of its route, in order
    item = records.items[records.items["type"] == "feature"].iloc[0]
    rows = log[log["case:concept:name"] == item["item"]]
    route = [s.discipline for s in ready_made("siloed").work_types[0].route]
    assert list(rows.loc[rows["kind"] == "value", "concept:name"]) == route
    assert rows["end_day"].max() == pytest.approx(item["done"])


def test_rework_shows_up_in_the_event_log():
    log = run_scenario(short(ready_made("siloed"), 80), seed=2).records.events
    assert {"value", "wasted", "rework"} <= set(log["kind"])
    assert log.loc[log["kind"] == "rework", "concept:name"].str.endswith("(rework)").all()


def test_kpi_record_has_every_outcome_of_the_design():
    kpis = run_scenario(short(ready_made("aligned"), 80), seed=1).kpis
    expected = {
        "lead_time_p50",
        "lead_time_p85",
        "lead_time_p95",
        "lead_time_mean",
        "throughput_per_week",
        "wip_mean",
        "flow_efficiency",
        "deployments_per_week",
        "change_lead_time_days",
        "change_failure_rate",
        "time_to_restore_days",
        "dora_tier",
        "cx_index",
        "cx_trend_per_month",
        "rework_rate",
        "escaped_defects",
        "rework_effort_share",
        "misaligned_it_share",
        "cost_total",
        "value_total",
        "roi",
        "utilisation",
        "bottleneck",
        "brm_utilisation",
        "cross_unit_ties",
        "modularity_by_unit",
        "modularity_by_discipline",
    }
    assert expected <= set(kpis)
    assert 0 < kpis["flow_efficiency"] < 1
    assert kpis["lead_time_p50"] <= kpis["lead_time_p85"] <= kpis["lead_time_p95"]
    assert kpis["roi"] == pytest.approx(kpis["value_total"] / kpis["cost_total"])


def test_the_daily_series_read_as_it_runs_equals_the_series_read_at_the_end():
    """The live app reads the columns every day; they grow with the rows, unchanged."""
    scenario = short(ready_made("aligned"), 40)
    watched = OrgModel(scenario)
    seen = []
    while watched.running:
        watched.step()
        seen.append(len(watched.datacollector.model_vars["wip"]))
    unwatched = OrgModel(scenario)
    unwatched.run_model()
    assert seen == list(range(1, 41))
    pd.testing.assert_frame_equal(
        watched.datacollector.get_model_vars_dataframe(),
        unwatched.datacollector.get_model_vars_dataframe(),
    )


@pytest.mark.filterwarnings("ignore")  # Mesa's simulators are experimental
def test_a_mesa_simulator_that_takes_over_the_stepping_steps_each_day_once():
    """OrgModel's days end on its own fast event list; Mesa's ABMSimulator stops the
    model's default schedule and steps it itself, and the day is the same day."""
    from mesa.experimental.devs import ABMSimulator

    scenario = short(ready_made("siloed"), 30)
    simulated = OrgModel(scenario)
    simulator = ABMSimulator()
    simulator.setup(simulated)
    simulator.run_for(10)
    stepped = OrgModel(scenario)
    for _ in range(10):
        stepped.step()
    assert simulated.steps == stepped.steps == 10
    assert simulated.datacollector.model_vars == stepped.datacollector.model_vars


def test_daily_series_covers_every_day():
    daily = run_scenario(short(ready_made("converged"), 50), seed=1).records.daily
    assert list(daily["day"]) == list(range(1, 51))
    assert (daily["wip"] == daily["arrivals"] - daily["delivered"]).all()
    assert (daily["queued"] + daily["busy"] + daily["in_handoff"] == daily["wip"]).all()


def test_large_enterprise_builds_more_than_a_thousand_people():
    model = OrgModel(SCENARIOS / "large_enterprise.yaml")
    assert len(model.staff) >= 1000
    assert len(model.brms) == 60


def test_the_documented_mesa_batch_run_example_runs():
    import runpy

    summary = runpy.run_path(str(SCENARIOS.parent / "examples" / "mesa_batch_run.py"))["main"]()
    assert list(summary.index) == [0, 1, 3, 5]
    assert summary.loc[1, "wip"] > summary.loc[5, "wip"]  # one BRM is a queue; five are not


def test_the_same_seed_brings_the_same_demand_to_every_structure():
    """Common random numbers: arrivals and efforts of outside work do not depend on the
    structure, so comparing structures compares structures."""

    def demand(name):
        model = OrgModel(short(ready_made(name), 60), rng=9)
        arrivals = []
        real_admit = model.demand.admit

        def admit(item):
            if not item.raised_by_defect:
                arrivals.append((item.type.name, round(item.arrival, 9), item.stage_efforts))
            real_admit(item)

        model.demand.admit = admit
        model.run_model()
        return arrivals

    siloed, converged = demand("siloed"), demand("converged")
    assert len(siloed) > 100 and siloed == converged
