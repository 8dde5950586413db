"""The Streamlit app, page by page, with Streamlit's AppTest (no browser).

Every test drives the real app.py: widgets are set, buttons clicked, and the KPIs,
charts and summary the page shows are checked against the simulation itself. Runs use
two replicates of the ready-made scenarios (a second or two each) and run in this
process (CONVERGE_WORKERS=1), so the tests are quick and deterministic. Each test uses
its own seeds: AppTest keeps st.cache_data between tests in one process.

The building blocks the pages show (levers, paired differences, chart frames and
specs) are tested without Streamlit in test_presentation.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from simulation.analysis.sweep_stats import configuration_table
from simulation.analysis.transition_outcomes import decision_summary, phase_summary
from simulation.inputs.scenario import Scenario, ScenarioError, with_overrides
from simulation.presentation import charts
from simulation.running.batch import load_results
from simulation.running.runs import run_digest
from simulation.running.sweep_results import filter_runs, kpi_columns, open_sweep
from tests.conftest import (
    READY_MADE_NAMES,
    ROOT,
    marks_of,
    open_app,
    open_results,
    ready_made,
    swept,
)

pytestmark = pytest.mark.usefixtures("in_process")


def charts_on(at: AppTest) -> list[dict]:
    """Each chart's Vega-Lite spec, with the data Streamlit ships beside it as tables."""
    specs = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        spec["_tables"] = {
            d.name: pa.ipc.open_stream(d.data.data).read_all().to_pandas()
            for d in chart.proto.datasets
        }
        specs.append(spec)
    return specs


def layout(spec: dict) -> str:
    return json.dumps({k: v for k, v in spec.items() if k != "_tables"})


def rows_of(spec: dict) -> int:
    return sum(len(t) for t in spec["_tables"].values()) + sum(
        len(v) for v in spec.get("datasets", {}).values()
    )


def metric_values(at: AppTest, label: str) -> list[str]:
    return [m.value for m in at.metric if m.label == label]


def days(text: str) -> float:
    match = re.fullmatch(r"([\d.,]+) days", text)
    assert match, f"not a lead time: {text!r}"
    return float(match.group(1).replace(",", ""))


def colour(metric) -> str:
    return type(metric.proto).MetricColor.Name(metric.proto.color)


def errors(at: AppTest) -> str:
    return " ".join(e.value for e in at.error)


def tables_with(spec: dict, column: str) -> list:
    """The data tables of a chart spec that have ``column``."""
    tables = [t for t in spec["_tables"].values() if column in t]
    tables += [pd.DataFrame(v) for v in spec.get("datasets", {}).values() if v and column in v[0]]
    return tables


def chart_with(specs: list[dict], text: str) -> dict:
    found = [s for s in specs if text in layout(s)]
    assert found, f"no chart mentions {text!r}"
    return found[0]


# --------------------------------------------------------------------------- Compare


#: Run in a fresh interpreter: opens Compare under AppTest and records which heavy
#: modules are loaded when the page hands its runs over (runner.run_jobs).
LIGHT_UNTIL_RUNS = """
import json, sys
from streamlit.testing.v1 import AppTest
from ui import runner
heavy = ("pandas", "scipy", "altair", "mesa", "simulation.model.org_model")
seen = []
submit = runner.run_jobs
def spy(jobs, on_progress=None):
    seen.append([m for m in heavy if m in sys.modules])
    return submit(jobs, on_progress)
runner.run_jobs = spy
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.query_params.update(s="siloed,aligned", r="1", seed="4242")
at.run()
print(json.dumps({"seen": seen, "metrics": len(at.metric), "exception": len(at.exception),
                  "stats": "scipy.stats" in sys.modules}))
"""


def test_compare_submits_its_runs_before_the_heavy_modules_load():
    """At server start the first visitor's runs must not wait for pandas, SciPy, Altair
    and the model to import (seconds on two busy cores, done meanwhile by the warm-up
    thread): the page picks and submits them with scenarios and levers only, and
    imports what shows the results after. Nor does it ever need scipy.stats (0.6 s of a
    server's CPU on the first visit): its t quantiles come from scipy.special."""
    done = subprocess.run(
        [sys.executable, "-c", LIGHT_UNTIL_RUNS, str(ROOT / "app.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CONVERGE_WORKERS": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["seen"], "the page never submitted its runs"
    assert found["seen"][0] == [], f"loaded before the runs were submitted: {found['seen'][0]}"
    assert found["metrics"] == 2 * 8 and found["exception"] == 0, found  # and it drew them
    assert not found["stats"], "the Compare page imported scipy.stats"


def test_compare_runs_and_shows_kpis_summary_and_charts():
    at = open_app(s="siloed,aligned,converged", r="2", seed="101")
    assert not at.exception
    assert not at.error

    # eight KPI cards per organisation, deltas against the first
    assert len(at.metric) == 3 * 8
    leads = [days(v) for v in metric_values(at, "Lead time")]
    assert len(leads) == 3
    assert all(1 < lead < 100 for lead in leads)
    assert leads[2] < leads[0], "converged teams should deliver faster than silos"
    cx = [float(v) for v in metric_values(at, "CX index")]
    assert all(0 <= v <= 100 for v in cx) and cx[2] > cx[0]
    assert all(v.endswith("%") for v in metric_values(at, "Change failures"))
    assert all(re.fullmatch(r"[\d.]+x", v) for v in metric_values(at, "ROI"))
    lead_cards = [m for m in at.metric if m.label == "Lead time"]
    assert lead_cards[0].proto.delta == "baseline"
    assert lead_cards[2].proto.delta.startswith("-")  # shorter lead time
    # a shorter lead time is good news (green); less throughput is not (red)
    assert colour(lead_cards[2]) == "GREEN"
    throughput = [m for m in at.metric if m.label == "Throughput"][2]
    delta = throughput.proto.delta
    expected = "GRAY" if delta == "no change" else "RED" if delta.startswith("-") else "GREEN"
    assert colour(throughput) == expected

    # the plain-language summary names the organisations and the paired CI
    summary = " ".join(m.value for m in at.markdown)
    for name in ("Siloed departments", "Aligned departments", "Converged teams"):
        assert name in summary
    assert re.search(
        r"Converged teams\*\* delivers items \*\*\d+% faster\*\* \(95% CI \d+–\d+%\)", summary
    )

    # six charts, each with the scenarios in their own colours and small data
    specs = charts_on(at)
    assert len(specs) == 6
    lead = next(s for s in specs if "Lead time (working days)" in layout(s))
    shown = {n for t in lead["_tables"].values() if "scenario" in t for n in t["scenario"]}
    assert shown == {"Siloed departments", "Aligned departments", "Converged teams"}
    assert charts.STRUCTURE_COLOURS["converged"] in layout(lead)
    for spec in specs:
        assert 0 < rows_of(spec) < 3000, "chart data must stay small"

    # the view lives in the URL
    assert at.query_params["s"] == "siloed,aligned,converged"
    assert at.query_params["r"] == "2"


def test_the_flow_of_work_builds_only_the_view_shown_and_switches(monkeypatch):
    """Open work by state at first; cumulative flow is built when chosen, not before."""
    from ui import figures

    built = []
    flow_spec = figures.flow_spec

    def counted(*args, **kwargs):
        built.append(args[3])
        return flow_spec(*args, **kwargs)

    monkeypatch.setattr(figures, "flow_spec", counted)
    at = open_app(s="siloed,converged", r="2", seed="181")
    assert built == [False]
    assert sum("Items in progress" in layout(s) for s in charts_on(at)) == 1
    assert not any("Items (cumulative)" in layout(s) for s in charts_on(at))
    at.button_group(key="cmp_flow_view").set_value("Cumulative flow").run()
    assert built[-1] is True and not errors(at)
    assert sum("Items (cumulative)" in layout(s) for s in charts_on(at)) == 1
    assert not any("Items in progress" in layout(s) for s in charts_on(at))


def test_a_lever_reruns_only_the_scenario_it_changes():
    at = open_app(s="siloed,converged", r="2", seed="201")
    before = days(metric_values(at, "Lead time")[0])
    assert "from cache" in " ".join(c.value for c in at.caption)

    # the lever panel starts on the first organisation (siloed)
    slider = next(s for s in at.slider if s.label == "Shared language")
    slider.set_value(0.9).run()
    assert not at.exception
    assert any("Press **Run comparison**" in i.value for i in at.info)
    assert "lv" in at.query_params  # the change is in the link

    next(b for b in at.button if b.label == "Run comparison").click().run()
    assert not at.exception
    after = days(metric_values(at, "Lead time")[0])
    assert after < before, "more shared language should mean fewer misunderstandings"
    captions = " ".join(c.value for c in at.caption)
    assert "4 runs (seeds 201-202)" in captions and "(2 from cache)" in captions
    assert not at.info


def test_an_impossible_lever_shows_an_error_not_a_traceback():
    at = open_app(s="siloed", r="1", seed="301")
    headcount = next(n for n in at.number_input if n.label == "dev")
    headcount.set_value(0).run()
    assert not at.exception
    assert "nobody has the discipline 'dev'" in errors(at)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"name: [unclosed\n  structure: siloed", "not valid YAML at line"),
        (b"structure: matrix\n", "structure"),
        (b"brms: {count: -3}\n", "brms.count"),
        (b"\xff\xfe\x00\x01garbage", "not a text file"),
        (b"name: x\n" + b"#" * (1024 * 1024), "the limit is 1 MB"),
        (b"- just\n- a list\n", "expected a mapping"),
    ],
    ids=["malformed", "bad-structure", "negative-brms", "binary", "too-big", "not-a-mapping"],
)
def test_a_bad_upload_shows_an_error_and_the_app_keeps_working(content, expected):
    at = open_app(s="siloed", r="1", seed="401")
    at.file_uploader[0].set_value(("my-org.yaml", content, "application/x-yaml")).run()
    assert not at.exception
    assert expected in errors(at)
    assert "my-org.yaml" in errors(at)
    assert len(at.metric) == 8, "the comparison still shows"


def test_a_valid_upload_joins_the_comparison():
    text = with_overrides(ready_made("aligned"), {"name": "Our plan", "brms.count": 5}).to_yaml()
    at = open_app(s="siloed", r="1", seed="501")
    at.file_uploader[0].set_value(("plan.yaml", text.encode(), "application/x-yaml")).run()
    assert not at.exception and not at.error
    assert "upload:Our plan" in at.multiselect[0].value
    next(b for b in at.button if b.label == "Run comparison").click().run()
    assert len(at.metric) == 16
    assert "Our plan" in " ".join(m.value for m in at.markdown)
    assert at.query_params["s"].endswith("*1")  # the upload travels in the link
    assert "u" in at.query_params


def test_a_link_reproduces_a_custom_scenario_and_levers():
    from ui.common import pack

    custom = with_overrides(ready_made("converged"), {"name": "Linked teams", "team_size": 5})
    at = open_app(
        s="siloed,*1",
        r="1",
        seed="601",
        u=pack({"1": custom.to_yaml()}),
        lv=pack({"0": {"brms": 2}}),
    )
    assert not at.exception and not at.error
    assert "Linked teams" in " ".join(m.value for m in at.markdown)
    assert at.session_state["levers"] == {"siloed": {"brms": 2}}


def test_a_lever_of_a_whole_number_in_a_link_reads_as_that_number():
    # links the app refuses (unknown names, damaged payloads, levers that are not
    # numbers) are tested in test_app_safety.py, each for one plain line
    from ui.common import pack

    at = open_app(s="siloed", r="1", seed="701", lv=pack({"0": {"brms": 2.0}}))
    assert not at.exception and not at.error
    assert at.session_state["levers"] == {"siloed": {"brms": 2}}


def test_downloads_offer_yaml_and_csv():
    at = open_app(s="siloed,converged", r="1", seed="801")
    labels = [b.label for b in at.get("download_button")]
    assert "Download this scenario (YAML)" in labels
    assert "Download every run (CSV)" in labels
    assert "Download the summary (CSV)" in labels


def test_compare_marks_the_changes_of_transition_scenarios():
    at = open_app(s="transition_big_bang,transition_stepwise,pdca", r="2", seed="1401")
    assert not at.exception and not at.error
    # every ready-made scenario is in the library, the transitions with the others
    assert set(READY_MADE_NAMES) <= set(at.session_state["library"])

    specs = charts_on(at)
    assert len(specs) == 8  # the six, plus lead time over time and the J-curve
    throughput = chart_with(specs, "Items delivered per week")
    assert "rule" in marks_of(throughput)
    (markers,) = tables_with(throughput, "change_day")
    scheduled = markers[markers["kind"] == charts.SCHEDULED]
    assert set(zip(scheduled["scenario"], scheduled["change_day"], strict=True)) == {
        ("Transition: big bang", 60.0),
        ("Transition: stepwise", 60.0),
        ("Transition: stepwise", 160.0),
    }
    assert "Cross-functional teams" in set(scheduled["change"])
    trials = markers[markers["kind"] == charts.PDCA_TRIAL]
    assert set(trials["scenario"]) == {"Transition: PDCA"} and len(trials) >= 5
    assert trials["detail"].str.contains("try brms.count = 3").any()
    # the same markers on the CX chart, the lead time over time and in every flow panel
    for text in ("CX index (0-100)", "Lead time, last 20 days", "Items in progress"):
        spec = chart_with(specs, text)
        days = set().union(
            *(set(t["change_day"].dropna()) for t in tables_with(spec, "change_day"))
        )
        assert {60.0, 160.0} <= days, text
    # the J-curve dips after the big bang's change on day 60, and is whole before it
    productivity = chart_with(specs, "Productivity (share of normal)")
    band = next(t for t in tables_with(productivity, "mean") if "scenario" in t)
    big_bang = band[band["scenario"] == "Transition: big bang"].set_index("day")["mean"]
    assert big_bang.loc[:60].min() == pytest.approx(1.0)
    assert big_bang.loc[61:70].min() < 0.9

    page = " ".join(m.value for m in at.markdown)
    assert "**Over time**" in page and "back at its old level" in page
    table = next(
        d.value
        for d in at.dataframe
        if "KPI" in d.value
        and "Transition: PDCA" in d.value
        and d.value["KPI"].str.contains("Transition cost").any()
    )
    cost = table.set_index("KPI").loc["Transition cost (spend + lost time)"]
    assert re.fullmatch(r"\d+k \(\d+k–\d+k\)", cost["Transition: big bang"])
    log = next(d.value for d in at.dataframe if "Change" in d.value and "Day" in d.value)
    assert "Cross-functional teams" in set(log["Change"])


def test_an_organisation_that_delivers_nothing_shows_na_and_a_note():
    short = with_overrides(
        Scenario.from_file(ROOT / "scenarios" / "siloed.yaml"),
        {"horizon_days": 3, "warmup_days": 0, "name": "Three days"},
    )
    at = open_app(s="siloed", r="2", seed="2301")
    at.file_uploader[0].set_value(("short.yaml", short.to_yaml().encode(), "text/yaml")).run()
    next(b for b in at.button if "Run" in b.label).click().run()
    assert not at.exception and not at.error
    notes = [i.value for i in at.info]
    assert any(n.startswith("Three days: Nothing was delivered") for n in notes), notes
    assert ("Lead time", "n/a") in [(m.label, m.value) for m in at.metric]


# --------------------------------------------------------------------------- Design


def test_design_draws_the_organisation_and_sends_it_to_compare():
    at = open_app(s="siloed", r="1", seed="901")
    at.switch_page("ui/design.py").run()
    assert not at.exception
    at.selectbox(key="dz_base").set_value("siloed").run()
    people = {m.label: m.value for m in at.metric}
    assert people["People"] == "57"
    assert people["Units"] == "6"
    assert 0 < float(people["Silo index"]) < 1
    people_table = next(t for t in charts_on(at)[0]["_tables"].values() if "discipline" in t)
    assert len(people_table) == 57

    at.get("segmented_control")[0].set_value("converged").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Units"] == "8"  # 57 people in teams of about seven
    assert float(metrics["Silo index"]) < float(people["Silo index"])

    at.number_input(key="dz_brms").set_value(2).run()
    next(b for b in at.button if b.label == "Send to Compare").click().run()
    assert not at.exception
    assert any("is in the comparison" in s.value for s in at.success)
    assert "design:Siloed departments, converged, 2 BRMs" in at.session_state["selection"]


def test_design_refuses_an_impossible_organisation():
    at = open_app(s="siloed", r="1", seed="1001")
    at.switch_page("ui/design.py").run()
    at.selectbox(key="dz_base").set_value("siloed").run()
    at.session_state["dz_disciplines"] = {
        "edited_rows": {4: {"headcount": 0}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception
    assert "nobody has the discipline 'dev'" in errors(at)


def test_design_custom_teams_from_the_skill_matrix():
    at = open_app(s="siloed", r="1", seed="1101")
    at.switch_page("ui/design.py").run()
    at.selectbox(key="dz_base").set_value("siloed").run()
    at.get("segmented_control")[0].set_value("custom").run()
    assert not at.exception and not at.error
    # the matrix starts from the converged plan: same people, in eight teams
    assert {m.label: m.value for m in at.metric}["Units"] == "8"
    assert len(at.data_editor[0].value) == 8


# --------------------------------------------------------------------------- Workshop


def test_workshop_steps_and_plays_side_by_side():
    at = open_app(s="siloed", r="1", seed="1201")
    at.switch_page("ui/workshop.py").run()
    assert not at.exception
    page = " ".join(m.value for m in at.markdown)
    assert "Day 0 of 250" in page
    assert "Siloed departments" in page and "Converged teams" in page

    next(b for b in at.button if b.label == "Step one day").click().run()
    assert "Day 1 of 250" in " ".join(m.value for m in at.markdown)
    assert len(charts_on(at)) == 4  # units per side, running lead time and CX

    next(b for b in at.button if b.label == "Play").click().run()
    assert not at.exception
    assert at.session_state["ws_playing"]
    assert any(b.label == "Pause" for b in at.button)
    day = at.session_state["workshop"].day
    assert day >= 3  # a played tick moves several days
    next(b for b in at.button if b.label == "Pause").click().run()
    assert at.session_state["workshop"].day == day
    sides = at.session_state["workshop"].sides
    assert sides[0].model.steps == sides[1].model.steps == day


def test_workshop_restart_and_speed():
    at = open_app(s="siloed", r="1", seed="1301")
    at.switch_page("ui/workshop.py").run()
    at.get("segmented_control")[0].set_value("20 days/s").run()
    next(b for b in at.button if b.label == "Play").click().run()
    assert at.session_state["workshop"].day == 10
    headline = " ".join(m.value for m in at.markdown if "cv-headline" in m.value)
    assert "After 10 days, <b>Converged teams</b> has delivered" in headline
    next(b for b in at.button if b.label == "Restart").click().run()
    assert not at.exception
    assert at.session_state["workshop"].day == 0


OVERLOAD = "demand exceeds capacity: open work grows by"


def play_workshop(at: AppTest, days: int) -> AppTest:
    """The Workshop page over ``days`` working days, played at 10 days a tick: each
    AppTest run is one tick of the timer a browser would fire."""
    at.switch_page("ui/workshop.py").run()
    at.slider(key="ws_days").set_value(days).run()
    at.get("segmented_control")[0].set_value("20 days/s").run()
    next(b for b in at.button if b.label == "Play").click().run()
    while not at.session_state["workshop"].finished:
        at.run()
    assert not at.exception
    return at


def side_warnings(at: AppTest) -> list[list[str]]:
    """The warnings under each organisation's title, in the order of the sides."""
    names = [side.name for side in at.session_state["workshop"].sides]
    found = {}
    for column in at.columns:
        titles = [
            n
            for n in names
            if any("cv-side-title" in m.value and f">{n}<" in m.value for m in column.markdown)
        ]
        if len(titles) == 1:
            found[titles[0]] = [w.value for w in column.warning]
    assert sorted(found) == sorted(names)
    return [found[n] for n in names]


def test_workshop_warns_of_the_overloaded_organisation_only():
    from ui.common import pack

    # siloed at three times its demand (the lever's top) beside converged teams as they are
    at = open_app(s="siloed", r="1", seed="1401", lv=pack({"0": {"demand": 3.0}}))
    overloaded, fine = side_warnings(play_workshop(at, 100))
    assert [w for w in overloaded if w.startswith(OVERLOAD)]
    assert not any(OVERLOAD in w for w in fine)


def test_workshop_gives_no_overload_warning_at_the_default_demand():
    at = open_app(s="siloed", r="1", seed="1402")
    warnings = side_warnings(play_workshop(at, 100))
    assert len(warnings) == 2 and not any(OVERLOAD in w for ws in warnings for w in ws)


# --------------------------------------------------------------------------- Transition


def open_transition(seed: int, replicates: int = 2) -> AppTest:
    at = open_app(s="siloed", r="1", seed=str(seed))
    at.session_state["tr_reps"] = replicates
    at.session_state["tr_seed"] = seed
    at.switch_page("ui/transition.py").run()
    assert not at.exception
    return at


def frame_with(at: AppTest, column: str):
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with a {column!r} column"
    return found[0]


def test_transition_page_designs_runs_and_compares_paths():
    at = open_transition(1501)
    assert not at.error
    # the example path and the three ready-made ones ran on the same seeds
    result = at.session_state["tr_result"]
    assert result["names"] == [
        "Your path",
        "Transition: big bang",
        "Transition: stepwise",
        "Transition: PDCA",
    ]
    assert [len(ds) for ds in result["digests"]] == [2, 2, 2, 2]
    ends = [m.value for m in at.metric if m.label == "Lead time at the end"]
    assert len(ends) == 4 and all(1 < days(v) < 60 for v in ends)

    # edit a change: teams on day 150 instead of 120, then run
    at.session_state["tr_changes"] = {
        "edited_rows": {1: {"day": 150}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception and not at.error
    assert any("Press **Run the paths**" in i.value for i in at.info)
    next(b for b in at.button if b.label == "Run the paths").click().run()
    assert not at.exception and not at.error and not at.info

    digests = at.session_state["tr_result"]["digests"]
    design = digests[0]
    assert list(design[0].changes["day"]) == [60.0, 150.0]
    phases = frame_with(at, "Phase")
    ours = phases[phases["Path"] == "Your path"]
    assert list(ours["Change"].unique()) == [
        "Day 60: Shared priorities, 3 BRMs",
        "Day 150: Cross-functional teams",
    ]
    assert list(ours["Phase"]) == ["before", "during", "after"] * 2
    # the numbers shown are the mean over the runs of metrics.phase_table
    expected = phase_summary({"Your path": design})
    assert ours["Lead time"].to_numpy() == pytest.approx(expected["lead_time_mean"].to_numpy())
    assert set(phases["Path"]) == {"Your path", "Transition: big bang", "Transition: stepwise"}

    # the PDCA path's decisions, summarised over runs and logged with reasons per run
    decisions = frame_with(at, "Kept in")
    assert set(decisions["Path"]) == {"Transition: PDCA"}
    assert decisions["Lever"].iloc[0] == "brms.count"
    expected = decision_summary({"Transition: PDCA": digests[3]})
    assert list(decisions["Kept in"]) == [
        f"{k} of {n} runs" for k, n in zip(expected["kept"], expected["runs"], strict=True)
    ]
    log = frame_with(at, "Reason")
    assert set(log["Decision"]) <= {"kept", "reverted", "skipped"} and len(log) >= 5
    assert log["Reason"].str.contains("lead_time_mean").all()

    # the lead time over time marks the designed change days
    lead = chart_with(charts_on(at), "Lead time, last 20 days")
    (markers,) = tables_with(lead, "change_day")
    ours = markers[markers["scenario"] == "Your path"]
    assert list(ours["change_day"]) == [60.0, 150.0]


def test_transition_page_a_pdca_policy_and_send_to_compare():
    # one replicate: what is checked (the trial days, a decision in every run, what is
    # sent) holds run by run; averaging over runs is checked by the test above
    at = open_transition(1601, replicates=1)
    at.toggle(key="tr_pdca_on").set_value(True).run()
    assert not at.exception and not at.error
    at.number_input(key="tr_every").set_value(30).run()
    next(b for b in at.button if b.label == "Run the paths").click().run()
    assert not at.exception and not at.error
    design = at.session_state["tr_result"]["digests"][0]
    assert all(not d.decisions.empty for d in design)
    # after the warm-up, a trial every 30 days, each judged when the next begins
    warmup = ready_made("siloed").warmup_days
    trials = design[0].changes[design[0].changes["source"] == "pdca"]
    assert trials["day"].min() == warmup + 30
    assert design[0].decisions["day"].min() == warmup + 60
    decisions = frame_with(at, "Kept in")
    assert "Your path" in set(decisions["Path"])

    next(b for b in at.button if b.label == "Send to Compare").click().run()
    assert not at.exception
    assert any("is on the Compare page" in s.value for s in at.success)
    chosen = at.session_state["selection"]
    assert chosen[0] == "design:Your path"
    assert chosen[1:] == ["transition_big_bang", "transition_stepwise", "pdca"]
    sent = at.session_state["library"]["design:Your path"].scenario
    assert sent.pdca.enabled and sent.pdca.every_days == 30 and len(sent.changes) == 2
    assert "Download as YAML" in [b.label for b in at.get("download_button")]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({0: {"day": 400}}, "changes[0].day: day 400 is not before the horizon (300 days)"),
        ({1: {"shared_language": 1.5}}, "changes[1].levers.shared_language"),
        ({1: {"headcount": "dev=thirty"}}, "changes[1].headcount: write it as discipline=people"),
        ({1: {"headcount": "qa=3"}}, "changes[1].headcount.qa: 'qa' is not a listed discipline"),
    ],
    ids=["past-the-horizon", "share-above-one", "bad-headcount", "unknown-discipline"],
)
def test_a_bad_change_shows_an_error_naming_the_field(edit, expected):
    at = open_transition(1701, replicates=1)
    at.session_state["tr_changes"] = {"edited_rows": edit, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert expected in errors(at)
    assert not at.metric, "no results for a path that cannot run"


# --------------------------------------------------------------------------- Results


#: 4 points x 2 replicates of 40 days, in chunks of 2 runs.
BRMS_BY_STRUCTURE = {
    "name": "BRMs by structure (test)",
    "parameters": {"structure": ["aligned", "converged"], "brms.count": [0, 3]},
    "replicates": 2,
    "chunk_size": 2,
}


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    return swept(tmp_path_factory.mktemp("sweeps") / "brms", **BRMS_BY_STRUCTURE)


def test_results_page_explores_a_sweep(small_sweep, monkeypatch):
    at = open_results(monkeypatch, small_sweep.parent, str(small_sweep))
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Runs": "8",
        "Configurations": "4",
        "Replicates": "2",
        "Errors": "0",
        "Status": "Complete",
    }
    assert "BRMs by structure (test)" in " ".join(h.value for h in at.subheader)
    assert at.selectbox(key="rs_x").value == "brms.count"
    assert at.selectbox(key="rs_colour").value == "structure"

    # the KPI chart: one point per configuration, the means and CIs of analysis
    specs = charts_on(at)
    assert len(specs) == 2
    kpi_chart = chart_with(specs, "brms.count")
    (points,) = [t for t in tables_with(kpi_chart, "mean") if "x" in t]
    expected = configuration_table(
        load_results(small_sweep), ["brms.count", "structure"], ["lead_time_mean"]
    )
    got = points.sort_values(["x", "colour"])["mean"].to_numpy()
    assert got == pytest.approx(
        expected.sort_values(["brms.count", "structure"])["lead_time_mean"].to_numpy()
    )
    assert charts.STRUCTURE_COLOURS["converged"] in layout(kpi_chart)
    heatmap = chart_with(specs, "SRC")
    assert "rect" in marks_of(heatmap)
    assert "Strongest driver" in " ".join(m.value for m in at.markdown)

    # filter by structure: only the converged runs remain
    at.multiselect(key="rs_f|structure").set_value(["converged"]).run()
    assert not at.exception
    assert "4 of 8 runs pass the filters" in " ".join(c.value for c in at.caption)
    (points,) = [
        t for t in tables_with(chart_with(charts_on(at), "brms.count"), "mean") if "x" in t
    ]
    assert set(points["colour"]) == {"converged"} and len(points) == 2
    table = frame_with(at, "runs")
    assert set(table["structure"]) == {"converged"} and list(table["runs"]) == [2, 2]

    # another KPI, and the downloads
    at.selectbox(key="rs_kpi").set_value("cx_index").run()
    assert "CX index" in layout(chart_with(charts_on(at), "brms.count"))
    labels = [b.label for b in at.get("download_button")]
    assert "Download the configurations (CSV)" in labels


def test_results_page_shows_an_unfinished_sweep(tmp_path, monkeypatch):
    out = swept(tmp_path / "unfinished", **BRMS_BY_STRUCTURE)
    (out / "results.parquet").unlink()
    sorted((out / "parts").glob("*.parquet"))[-1].unlink()  # the last chunk: 2 runs
    at = open_results(monkeypatch, out.parent, str(out))
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Runs"] == "6 of 8"
    assert "showing the 6 of 8 runs written so far" in " ".join(w.value for w in at.warning)
    assert len(charts_on(at)) == 2


def test_results_page_explains_what_is_not_a_sweep(tmp_path, small_sweep, monkeypatch):
    at = open_results(monkeypatch, tmp_path, str(tmp_path / "nowhere"))
    assert not at.exception
    assert "There is no sweep at" in errors(at) and "in the results folder" in errors(at)

    empty = tmp_path / "empty"
    empty.mkdir()
    at.text_input(key="rs_path").set_value(str(empty)).run()
    assert not at.exception
    assert "There is no sweep at" in errors(at) and "in the results folder" in errors(at)

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    (broken / "results.parquet").write_bytes(b"PAR1 this is not parquet")
    at.text_input(key="rs_path").set_value("broken").run()
    assert not at.exception
    assert "broken: the results cannot be read" in errors(at)

    (broken / "results.parquet").write_bytes((small_sweep / "results.parquet").read_bytes())
    at.text_input(key="rs_path").set_value(str(broken) + "/").run()
    assert not at.exception
    assert "manifest.json is not valid JSON" in errors(at)
    assert not at.metric


def test_open_sweep_reads_sweeps_and_refuses_the_rest(small_sweep, tmp_path):
    found = open_sweep(small_sweep)
    assert found.complete and found.runs_done == found.runs_total == 8
    assert found.parameters == ["brms.count", "structure"]
    kpis = kpi_columns(found.results, found.parameters)
    assert kpis[:2] == ["lead_time_mean", "lead_time_p85"]
    assert "seed" not in kpis and "brms.count" not in kpis and "elapsed_s" not in kpis
    only = filter_runs(found.results, {"structure": ["converged"], "brms.count": (1, 5)})
    assert set(only["structure"]) == {"converged"} and set(only["brms.count"]) == {3}
    (tmp_path / "file").write_text("x")
    with pytest.raises(ScenarioError, match="is a file, not a sweep directory"):
        open_sweep(tmp_path / "file")


# --------------------------------------------------------------------------- the app's runner


def test_the_process_pool_gives_the_same_runs_as_this_process(monkeypatch):
    from ui import runner

    short = with_overrides(ready_made("aligned"), {"horizon_days": 40, "warmup_days": 5})
    jobs = [(short.to_yaml(), seed) for seed in range(9000, 9005)]
    monkeypatch.setenv("CONVERGE_WORKERS", "2")

    def not_here(*_):
        raise AssertionError("ran in this process: the pool did not work")

    monkeypatch.setattr(runner, "InProcess", not_here)
    runner.executor.clear()
    try:
        pooled = runner.run_jobs(jobs)
    finally:
        runner.executor().close()
        runner.executor.clear()
    here = [run_digest(job) for job in jobs]
    assert [d.kpis["seed"] for d in pooled] == list(range(9000, 9005))
    for a, b in zip(pooled, here, strict=True):
        assert a.kpis["lead_time_mean"] == b.kpis["lead_time_mean"]
        assert a.kpis["delivered"] == b.kpis["delivered"]
    assert all(runner.cached_run(job) is not None for job in jobs)


def test_the_pools_workers_are_warmed_once_before_they_are_forked(monkeypatch):
    """The app's forkserver runs simulation.running.warm_workers before forking: every
    worker inherits the warm-up instead of paying for it on its first comparison."""
    from simulation.running import warm_workers
    from ui import runner

    monkeypatch.setenv("CONVERGE_WORKERS", "2")
    runner.executor.clear()
    try:
        pool = runner.executor()
        answers = dict(pool.as_completed(warm_workers.warmed_before_fork, range(4)))
    finally:
        runner.executor().close()
        runner.executor.clear()
    assert answers == dict.fromkeys(range(4), True)


def test_warming_up_never_starts_a_second_pool(monkeypatch):
    """Every page calls warm_up: one thread starts the pool, the others get that thread."""
    from ui import runner

    monkeypatch.setenv("CONVERGE_WORKERS", "2")
    runner.executor.clear()
    try:
        first = runner.warm_up()
        assert runner.warm_up() is first
        first.join()
        started = runner.executor()._pool
        assert started is not None
        assert runner.warm_up() is first and runner.executor()._pool is started
    finally:
        runner.executor().close()
        runner.executor.clear()


def test_a_progress_bar_redraws_at_most_once_a_second(monkeypatch):
    """30 runs done within a second redraw the bar twice (the first and the last),
    not 30 times: each redraw costs the browser a render of the page."""
    from ui import runner

    drawn = []

    class Bar:
        def progress(self, value: float, text: str = "") -> None:
            drawn.append(value)

        def empty(self) -> None:
            pass

    def thirty_runs(jobs, on_progress):
        for done in range(1, 31):
            on_progress(done, 30)
        return ["digest"] * len(jobs)

    monkeypatch.setattr(runner.st, "progress", lambda *_, **__: Bar())
    monkeypatch.setattr(runner, "run_jobs", thirty_runs)
    monkeypatch.setattr(runner, "cached_run", lambda job: None)
    monkeypatch.setattr(runner.time, "perf_counter", lambda: 1000.0)  # no time passes
    digests, cached, _ = runner.run_with_progress([("yaml", seed) for seed in range(30)])
    assert (len(digests), cached) == (30, 0)
    assert drawn == [1 / 30, 1.0]


def test_the_charts_are_built_from_the_digests_the_page_holds(monkeypatch):
    """Compare and Transition hand their digests to the chart builders: no run is
    fetched (and unpickled) from the cache again, and the charts are the same."""
    from ui import figures

    short = with_overrides(ready_made("aligned"), {"horizon_days": 40, "warmup_days": 5})
    jobs = tuple((short.to_yaml(), seed) for seed in (9200, 9201))
    held = [[run_digest(job) for job in jobs]]
    built_from_cache = figures.comparison_specs(jobs, ("A",), ("aligned",))

    def no_fetch(*_):
        raise AssertionError("the runs were fetched again")

    monkeypatch.setattr(figures, "run_jobs", no_fetch)
    figures.comparison_specs.clear()
    figures.transition_specs.clear()
    assert figures.comparison_specs(jobs, ("A",), ("aligned",), _digests=held) == built_from_cache
    assert figures.transition_specs(jobs, ("A",), _digests=held)


#: Imports ``sys.argv[1:]`` in order in a fresh process and prints how many frames
#: each ``inspect.stack()`` call made meanwhile walked (Mesa calls it on import).
STACK_DEPTHS = """
import importlib, inspect, json, sys
walked = []
stack = inspect.stack
def counted(*args, **kwargs):
    frames = stack(*args, **kwargs)
    walked.append(len(frames))
    return frames
inspect.stack = counted
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(walked))
"""


def frames_walked(modules: list[str]) -> list[int]:
    """The frames each ``inspect.stack()`` walked while a fresh process imported ``modules``."""
    done = subprocess.run(
        [sys.executable, "-c", STACK_DEPTHS, *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("where", ["server", "workers"])
def test_the_warm_ups_import_mesa_where_its_logger_walks_few_frames(where):
    """Mesa names its logger from inspect.stack() on import, whose cost grows with the
    frames below the call (it reads each one's source and scans the loaded modules). The
    server's warm-up (app.WARM_MODULES, last: the Compare page's server needs no model)
    and the workers' preload (runner.WORKER_PRELOAD, first) import Mesa directly: its
    logger then walks at most two thirds of the frames it walks when Mesa is reached
    through the modules that need it (the model's runs)."""
    import importlib.util

    from ui import runner

    spec = importlib.util.spec_from_file_location("converge_app", ROOT / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)  # neither __main__ nor "app": defines, starts nothing
    modules = list(app.WARM_MODULES if where == "server" else runner.WORKER_PRELOAD)
    reached = [m for m in modules if m != "mesa"]
    if where == "server":  # nothing it warms needs the model: a page that does
        reached.append("simulation.running.runs")
    first, deep = frames_walked(modules), frames_walked(reached)
    assert first and deep, "Mesa no longer reads the stack on import: this order is moot"
    assert first[0] <= deep[0] * 2 / 3, (first, deep)


def test_the_server_starts_its_pool_before_the_first_visit_and_the_pages_reuse_it(monkeypatch):
    """app.warm_server (st.App's lifespan) starts the run pool in the background; the
    first comparison then runs on that pool, already started, not on a new one."""
    import importlib.util

    from ui import runner

    spec = importlib.util.spec_from_file_location("converge_app", ROOT / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)  # neither __main__ nor "app": defines, starts nothing
    short = with_overrides(ready_made("aligned"), {"horizon_days": 40, "warmup_days": 5})
    jobs = [(short.to_yaml(), seed) for seed in range(9100, 9104)]
    monkeypatch.setenv("CONVERGE_WORKERS", "2")
    runner.executor.clear()
    try:
        app.warm_server().join()  # the hook: the thread ends once the pool is asked to start
        pool = runner.executor()
        started = pool._pool
        assert started is not None, "the pool was not started at server start"
        assert [d.kpis["seed"] for d in runner.run_jobs(jobs)] == list(range(9100, 9104))
        assert runner.executor() is pool and pool._pool is started  # reused, not restarted
    finally:
        runner.executor().close()
        runner.executor.clear()


def _chart_places(at: AppTest) -> list[tuple[int, ...]]:
    """Where the page's Vega charts sit in its tree of elements."""

    def walk(node, prefix: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
        found = []
        for index, child in getattr(node, "children", {}).items():
            place = (*prefix, index)
            if "vega" in str(getattr(child, "type", "")):
                found.append(place)
            found += walk(child, place)
        return found

    return walk(at.main)


def test_the_charts_keep_their_places_when_results_go_out_of_date_and_back():
    """A note that comes and goes (out of date, the progress bar, the Why panel) keeps
    a slot either way: the charts below stay where they were, so the browser updates
    them instead of building the page again after every run."""
    at = open_app(s="siloed,converged", r="2", seed="191")
    ran = _chart_places(at)
    assert len(ran) >= 4
    next(n for n in at.number_input if n.key == "cmp_seed").set_value(192).run()
    assert any("Press **Run comparison**" in i.value for i in at.info)
    assert _chart_places(at) == ran
    next(b for b in at.button if b.label == "Run comparison").click().run()
    assert not at.exception and not any("Press **Run comparison**" in i.value for i in at.info)
    assert _chart_places(at) == ran
