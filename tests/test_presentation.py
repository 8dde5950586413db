"""The building blocks the app's pages show, without Streamlit: levers, the transition
designer's tables, run digests, paired differences, summary sentences and cards, and the
charts' frames and Vega-Lite specs. The pages themselves are tested in test_app.py."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from simulation.analysis.comparison import (
    card,
    format_delta,
    paired_change,
    summary_sentences,
)
from simulation.analysis.digest import ROLLING_LEAD_TIME
from simulation.analysis.metrics import phase_table, rolling_lead_time
from simulation.inputs.levers import apply_levers, changed_levers, lever_values
from simulation.inputs.scenario import Scenario, ScenarioError, with_overrides
from simulation.presentation import charts
from simulation.presentation.transition_table import (
    change_rows,
    changes_from_rows,
    design_transition,
    empty_changes,
    pdca_from_form,
    pdca_rows,
)
from simulation.running.live import Workshop
from simulation.running.runs import run_digest, run_scenario
from tests.conftest import ready_made, short_runs


def test_transition_design_round_trips_the_ready_made_paths():
    for name in ("transition_big_bang", "transition_stepwise"):
        ready = ready_made(name)
        table = change_rows(ready.changes)
        designed = design_transition(ready, table, name=ready.name)
        assert designed.changes == ready.changes
    pdca = ready_made("pdca")
    form = pdca_from_form(True, 40, 10, "lead_time_mean", pdca_rows(pdca.pdca))
    assert design_transition(pdca, empty_changes(), form).pdca == pdca.pdca
    # blank rows are ignored; empty cells change nothing; hires parse
    table = empty_changes(
        [{"day": 30, "structure": "converged", "headcount": "dev=30, ops=12"}, {}]
    )
    assert changes_from_rows(table) == [
        {"day": 30, "structure": "converged", "headcount": {"dev": 30, "ops": 12}}
    ]
    with pytest.raises(ScenarioError, match=r"pdca\.levers\[0\]\.path"):
        rows = pdca_rows(pdca.pdca).assign(path="brms.nothing")
        design_transition(pdca, empty_changes(), pdca_from_form(True, 40, 10, "cx_index", rows))


def test_a_digest_keeps_the_change_log_decisions_and_phases():
    stepwise = with_overrides(ready_made("transition_stepwise"), {"horizon_days": 200})
    result = run_scenario(stepwise, seed=4)
    digest = run_digest((stepwise.to_yaml(), 4))
    assert list(digest.changes["day"]) == [60.0, 160.0]
    assert list(digest.changes["source"]) == ["scheduled", "scheduled"]
    assert digest.phases.equals(phase_table(result.records))
    days_ = digest.daily["day"].to_numpy(dtype=float)
    expected = rolling_lead_time(result.records.items, days_)
    assert digest.daily[ROLLING_LEAD_TIME].to_numpy() == pytest.approx(expected, nan_ok=True)
    pdca = run_digest((with_overrides(ready_made("pdca"), {"horizon_days": 150}).to_yaml(), 4))
    assert set(pdca.changes["source"]) == {"pdca"} and not pdca.decisions.empty
    assert pdca.phases.empty  # PDCA trials are not phases


def test_change_markers_count_runs_and_leave_out_the_last_day():
    pdca = with_overrides(ready_made("pdca"), {"horizon_days": 140})
    stepwise = with_overrides(ready_made("transition_stepwise"), {"horizon_days": 200})
    runs = {
        "PDCA": [run_digest((pdca.to_yaml(), seed)) for seed in (1, 2, 3)],
        "Stepwise": [run_digest((stepwise.to_yaml(), seed)) for seed in (1, 2, 3)],
        "Siloed": [run_digest((ready_made("siloed").to_yaml(), 1))],
    }
    frame = charts.change_frame(runs)
    assert set(frame["scenario"]) == {"PDCA", "Stepwise"}  # no changes, no markers
    stepwise_rows = frame[frame["scenario"] == "Stepwise"]
    assert list(stepwise_rows["change_day"]) == [60.0, 160.0]
    assert list(stepwise_rows["lane"]) == [1, 1]
    assert stepwise_rows["change"].iloc[0].startswith("Align (BRMs")
    trials = frame[frame["scenario"] == "PDCA"]
    assert list(trials["change_day"]) == [60.0, 100.0]  # the check on day 140 is the end
    assert (trials["change"] == "").all() and (trials["kind"] == charts.PDCA_TRIAL).all()
    kept = sum(
        int((d.decisions["day"] == 100.0).sum() and d.decisions.iloc[0]["decision"] == "kept")
        for d in runs["PDCA"]
    )
    assert f"previous trial kept in {kept} of 3 runs" in trials["detail"].iloc[1]
    # the charts that draw them are valid Vega-Lite with small data
    colours = charts.scenario_colours(list(runs), ["siloed"] * 3)
    built = [
        charts.band_chart(
            charts.band_frame(runs, ROLLING_LEAD_TIME), colours, "Lead time", changes=frame
        ),
        charts.band_chart(
            charts.band_frame(runs, "productivity", period=1, bounds=(0, 1)),
            colours,
            "Productivity",
            changes=frame,
            change_labels=False,
            axis_format="%",
        ),
        charts.flow_chart(charts.flow_frame(runs), colours, changes=frame),
    ]
    for chart in built:
        spec = chart.to_dict()  # validates against the Vega-Lite schema
        rows = sum(len(v) for v in spec.get("datasets", {}).values())
        assert 0 < rows < 3000
        assert "change_day" in json.dumps(spec)


def test_levers_apply_and_round_trip():
    siloed = ready_made("siloed")
    changed = apply_levers(
        siloed,
        {
            "brms": 3,
            "demand": 1.5,
            "headcount.dev": 30,
            "shared_language": 0.6,
            "priorities": "value",
        },
    )
    assert changed.brms.count == 3
    assert changed.headcounts()["dev"] == 30
    assert changed.levers.shared_language == 0.6
    assert changed.demand_scale == 1.5
    assert changed.work_types == siloed.work_types  # the rates as listed, scaled in the model
    assert changed_levers(siloed, lever_values(changed)) == {
        "brms": 3,
        "demand": 1.5,
        "headcount.dev": 30,
        "shared_language": 0.6,
        "priorities": "value",
    }
    assert Scenario.from_yaml(changed.to_yaml()) == changed  # what the CLI would read
    with pytest.raises(ScenarioError, match="unknown lever"):
        apply_levers(siloed, {"nonsense": 1})
    with pytest.raises(ScenarioError, match=r"levers\.shared_language"):
        apply_levers(siloed, {"shared_language": 1.5})


def test_paired_change_uses_replicate_pairs():
    base = [{"lead_time_mean": v} for v in (10.0, 20.0, 30.0)]
    other = [{"lead_time_mean": v} for v in (5.0, 10.0, 15.0)]
    mean, low, high = paired_change(base, other, "lead_time_mean")
    assert mean == pytest.approx(-0.5)
    assert low == pytest.approx(-0.5) and high == pytest.approx(-0.5)  # paired: no spread
    diff = paired_change(base, other, "lead_time_mean", relative=False)
    assert diff[0] == pytest.approx(-10.0)
    assert diff[1] < -10.0 < diff[2]


def test_summary_and_cards_read_the_numbers():
    runs = [
        [
            {
                "lead_time_mean": 20.0 + i,
                "cost_total": 100.0,
                "cx_index": 40.0 + i,
                "change_failure_rate": 0.3,
                "roi": 0.6,
                "dora_tier": "low",
                "bottleneck": "dev",
                "bottleneck_utilisation": 0.9,
            }
            for i in range(3)
        ],
        [
            {
                "lead_time_mean": 10.0 + i,
                "cost_total": 100.0,
                "cx_index": 80.0 + i,
                "change_failure_rate": 0.05,
                "roi": 0.9,
                "dora_tier": "high",
            }
            for i in range(3)
        ],
    ]
    lines = summary_sentences(["Silo", "Teams"], runs)
    assert "**Silo** (baseline)" in lines[0] and "**dev** (90% busy)" in lines[0]
    assert "**Teams** delivers items **" in lines[1] and "faster" in lines[1]
    assert "at the same cost" in lines[1]
    assert "+40 points" in lines[1]
    lead = card("lead_time_mean", runs[0], runs[1])
    assert lead["value"] == "11.0 days" and lead["delta"] == "-48%"
    assert lead["delta_color"] == "inverse"
    assert card("cx_index", runs[0], runs[1])["delta_color"] == "normal"
    assert format_delta("cost_total", 100.0, 100.2) == "no change"


@pytest.fixture(scope="module")
def small_runs():
    return short_runs(("siloed", "aligned", "converged"))


def test_every_chart_is_valid_vega_lite_with_small_data(small_runs):
    runs, colours = small_runs
    built = [
        charts.lead_time_chart(
            charts.lead_time_frame(runs), charts.percentile_frame(runs), colours
        ),
        charts.band_chart(
            charts.band_frame(runs, "delivered_today", how="sum"), colours, "Items", warmup=10
        ),
        charts.band_chart(charts.band_frame(runs, "cx_index", bounds=(0, 100)), colours, "CX"),
        charts.flow_chart(charts.flow_frame(runs), colours),
        charts.flow_chart(charts.flow_frame(runs, cumulative=False), colours, cumulative=False),
        charts.units_chart(charts.unit_frame(runs), colours),
        charts.effort_chart(charts.effort_frame(runs), colours),
    ]
    for chart in built:
        spec = chart.to_dict()  # validates against the Vega-Lite schema
        rows = sum(len(v) for v in spec.get("datasets", {}).values())
        assert 0 < rows < 3000


def test_chart_frames_agree_with_the_runs(small_runs):
    runs, _ = small_runs
    hist = charts.lead_time_frame(runs)
    shown = hist.groupby("scenario")["share"].sum()
    assert shown.between(0.9, 1.0 + 1e-9).all()  # bins stop at the pooled 99th percentile
    items = {name: sum(len(d.lead_times) for d in ds) for name, ds in runs.items()}
    pooled = sum(shown[n] * items[n] for n in items) / sum(items.values())
    assert pooled == pytest.approx(0.99, abs=0.01)
    band = charts.band_frame(runs, "cx_index", bounds=(0, 100))
    assert (band["low"] <= band["mean"] + 1e-9).all()
    assert (band["mean"] <= band["high"] + 1e-9).all()
    assert band["high"].max() <= 100 and band["low"].min() >= 0
    flow = charts.flow_frame(runs)
    last = flow[flow["day"] == flow["day"].max()].groupby("scenario")["items"].sum()
    for name, ds in runs.items():
        arrivals = np.mean([d.daily["arrivals"].iloc[-1] for d in ds])
        assert last[name] == pytest.approx(arrivals)  # the CFD's top edge is arrivals
    effort = charts.effort_frame(runs)
    assert effort.groupby("scenario")["share"].sum().round(9).eq(1).all()
    units = charts.unit_frame(runs)
    assert units.groupby("scenario")["bottleneck"].sum().eq(1).all()
    brm_row = units[(units["scenario"] == "Aligned departments") & (units["unit"] == "BRMs")]
    assert len(brm_row) == 1


def test_org_frames_place_everyone_and_every_tie():
    from simulation.model.org_model import OrgModel

    model = OrgModel(ready_made("converged"))
    people, ties, units = charts.org_frames(model)
    assert len(people) == 57 and len(units) == len(model.units)
    assert len(ties) == model.network.graph.number_of_edges()
    assert (ties["tie"] == "across units").sum() == model.network.cross_unit_ties
    spec = charts.org_chart(people, ties, units).to_dict()
    assert spec["width"] > 0 and spec["height"] > 0


def test_workshop_model_side_by_side_same_seed():
    siloed, converged = ready_made("siloed"), ready_made("converged")
    ws = Workshop([siloed, converged], ["S", "C"], seed=3, days=30)
    ws.step(30)
    assert ws.finished and ws.day == 30
    history = ws.history()
    assert set(history["side"]) == {"S", "C"} and len(history) == 60
    last = history.groupby("side").last()
    assert (last["wip"] == last["queued"] + last["busy"] + last["in_handoff"]).all()
    assert (last["arrivals"] - last["delivered"] == last["wip"]).all()
    assert not math.isnan(last.loc["C", "lead_time"])
    units = ws.units()["S"]
    assert {"Being worked on", "Waiting in a queue", "In handoff"} >= set(units["state"])
