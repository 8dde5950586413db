"""Charts and words that do not mislead (issue 8, helper B).

Every test here failed on the code before the fix it covers: stacked lead-time bands,
a queue axis per organisation, the Workshop counting failure demand as deliveries,
ready-made names on changed scenarios, costs in two units, a team-size lever that does
nothing, charts Vega cannot fit, a drawing stretched off its circles, names injected
into HTML, and sweep charts and sensitivities that average or attribute what the
design cannot tell apart. Layout faults a browser shows are captured in the chart
specs and the page's text.
"""

from __future__ import annotations

import html
import json
import re

import altair as alt
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from simulation.analysis.comparison import card, format_kpi, headline_table
from simulation.analysis.sweep_stats import (
    REFUSED,
    configuration_table,
    design_problem,
    format_sensitivity,
    identical_configurations,
    sensitivity,
)
from simulation.inputs.levers import (
    apply_levers,
    changed_name,
    design_name,
    levers_for,
    relevant_changes,
)
from simulation.inputs.scenario import with_overrides
from simulation.model.records import ItemRow
from simulation.presentation import charts
from simulation.presentation.sweep_charts import kpi_vs_parameter_chart, line_plan, sweep_charts
from simulation.running.batch import load_results
from simulation.running.live import Workshop
from simulation.running.sweep_results import default_colour, line_parameters
from tests.conftest import (
    SCENARIOS,
    cli,
    layers_of,
    mark_type,
    open_app,
    ready_made,
    short_runs,
    swept,
)

#: A scenario name that is HTML: if it reaches a page unescaped, it runs.
EVIL = "<img src=x onerror=alert(1)>"


pytestmark = pytest.mark.usefixtures("in_process")


@pytest.fixture
def chart_widths(monkeypatch) -> list[tuple]:
    """(chart or spec, width) of every chart a page draws: AppTest keeps the width an
    element was drawn at (Element.width_config) out of reach, so record the calls."""
    import streamlit as st
    from streamlit.delta_generator import DeltaGenerator

    calls: list[tuple] = []
    for name in ("vega_lite_chart", "altair_chart"):
        original = getattr(DeltaGenerator, name)

        def record(self, *args, _original=original, **kwargs):
            chart = args[0] if args else kwargs.get("spec", kwargs.get("altair_chart"))
            calls.append((chart, kwargs.get("width", "stretch")))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(DeltaGenerator, name, record)
        # st.<name> was bound to the main container when Streamlit was imported
        monkeypatch.setattr(st, name, lambda *a, _n=name, **k: getattr(st._main, _n)(*a, **k))
    return calls


@pytest.fixture(scope="module")
def small_runs():
    return short_runs(("siloed", "aligned", "brm_bottleneck"))


# --------------------------------------------------------------------------- 1. stacking


def test_lead_time_bands_overlay_each_other_rather_than_stack(small_runs):
    runs, colours = small_runs
    spec = charts.lead_time_chart(
        charts.lead_time_frame(runs), charts.percentile_frame(runs), colours
    ).to_dict()
    areas = [layer for layer in layers_of(spec) if mark_type(layer) == "area"]
    assert areas, "the distribution is shaded"
    for area in areas:
        # Vega-Lite stacks areas that share a colour channel unless told not to
        assert "stack" in area["encoding"]["y"] and area["encoding"]["y"]["stack"] is None


# --------------------------------------------------------------------------- 2. units


def test_the_units_chart_puts_every_queue_on_one_scale_across_the_width(small_runs):
    runs, colours = small_runs
    frame = charts.unit_frame(runs)
    spec = charts.units_chart(frame, colours).to_dict()
    # one view: Vega-Lite fits only single and layered views to the width they are given
    assert not {"vconcat", "hconcat", "concat", "facet"} & set(spec)
    assert spec["width"] == "container"
    assert isinstance(spec["height"], int) and spec["autosize"]["type"] == "fit-x"
    # one queue scale: a bar's length is its queue times the same factor everywhere
    rows = charts.unit_rows(frame, colours)
    units = rows[rows["kind"] == "unit"]
    top = charts._nice_ceiling(float(units["queue"].max()))
    lengths = charts.QUEUE_START + units["queue"] / top - units["queue_start"]
    assert np.allclose(lengths, units["queue"] / top)
    assert set(units["scenario"]) == set(runs), "every organisation is in the one chart"
    assert len(units) == len(frame)
    # the queue panel starts after the utilisation panel (0-100%) ends
    assert charts.QUEUE_START > 1.0
    assert float(units["utilisation"].max()) <= 1.0


def test_compare_draws_the_units_at_the_width_of_the_page(chart_widths):
    at = open_app(s="siloed,aligned,converged", r="1", seed="3101")
    assert not at.exception
    units = [width for spec, width in chart_widths if "queue_start" in json.dumps(spec)]
    assert units == ["stretch"]


# --------------------------------------------------------------------------- 3. one KPI


def test_the_workshop_counts_new_work_delivered_as_compare_does():
    siloed = with_overrides(ready_made("siloed"), {"horizon_days": 80})
    ws = Workshop([siloed], ["S"], seed=5, days=80)
    ws.step(60)
    side = ws.sides[0]
    rows = [ItemRow._make(row) for row in side.model.recorder.item_rows]
    # new work: neither an expedite incident nor one raised by an escaped defect
    new_work = sum(not (row.raised_by_defect or row.expedite) for row in rows)
    assert side.latest["new_work_delivered"] == new_work
    # the reason it matters: silos raise incidents from their own defects
    assert new_work < side.latest["delivered"] == len(rows)


def test_the_workshop_headline_compares_every_side_with_the_first_and_says_new_work():
    at = open_app(s="siloed", r="1", seed="3201")
    at.session_state["ws_pick"] = ["siloed", "aligned", "converged"]
    at.switch_page("ui/workshop.py").run()
    at.get("segmented_control")[0].set_value("20 days/s").run()
    next(b for b in at.button if b.label == "Play").click().run()
    assert not at.exception
    ws = at.session_state["workshop"]
    assert ws.day == 10
    headline = " ".join(m.value for m in at.markdown if "cv-headline" in m.value)
    for other in ("Aligned departments", "Converged teams"):
        assert re.search(
            rf"<b>{other}</b> has delivered <b>\d+ (more|fewer)</b> new items than "
            "Siloed departments",
            headline,
        ), headline
    # each side's big "Delivered" number is its new work, as on Compare
    page = " ".join(m.value for m in at.markdown)
    shown = re.findall(r'cv-big-label">Delivered</div><div class="cv-big">([\d,]+)<', page)
    assert [int(v.replace(",", "")) for v in shown] == [
        side.latest["new_work_delivered"] for side in ws.sides
    ]
    assert "incidents raised by escaped defects left out" in " ".join(c.value for c in at.caption)


# --------------------------------------------------------------------------- 4. names


def test_a_scenario_with_levers_changed_is_named_by_what_changed():
    aligned, siloed = ready_made("aligned"), ready_made("siloed")
    assert apply_levers(aligned, {"brms": 1}).name == "Aligned departments, 1 BRM"
    assert (
        apply_levers(siloed, {"structure": "converged", "team_size": 5}).name
        == "Siloed departments, converged, team size 5"
    )
    # a lever turned twice is named once, with its latest value
    twice = apply_levers(apply_levers(aligned, {"brms": 2}), {"brms": 3})
    assert twice.name == "Aligned departments, 3 BRMs"
    # team size does nothing in departments: it is neither offered nor named there
    assert changed_name(siloed, {"team_size": 5}) == "Siloed departments"
    assert relevant_changes(siloed, {"team_size": 5, "brms": 2}) == {"brms": 2}
    # long names stay within the schema's 120 characters
    long = with_overrides(siloed, {"name": "x" * 118})
    assert len(apply_levers(long, {"brms": 3, "demand": 1.2}).name) <= 120
    # a redesign follows the structure it was switched to
    converged = with_overrides(siloed, {"structure": "converged"})
    assert design_name(siloed, converged) == "Siloed departments, converged"
    assert design_name(siloed, siloed) == "Siloed departments (redesign)"


def test_compare_and_workshop_show_the_changed_name():
    from ui.common import pack

    at = open_app(s="siloed,aligned", r="1", seed="3301", lv=pack({"1": {"brms": 1}}))
    assert not at.exception and not at.error
    page = " ".join(m.value for m in at.markdown)
    assert "Aligned departments, 1 BRM" in page
    assert "**Aligned departments, 1 BRM** delivers items" in page
    at.session_state["ws_pick"] = ["siloed", "aligned"]
    at.switch_page("ui/workshop.py").run()
    assert not at.exception
    assert "Aligned departments, 1 BRM" in " ".join(m.value for m in at.markdown)


def test_design_names_the_redesign_by_the_structure_it_was_switched_to():
    at = open_app(s="siloed", r="1", seed="3401")
    at.switch_page("ui/design.py").run()
    at.selectbox(key="dz_base").set_value("siloed").run()
    assert at.text_input(key="dz_name").proto.placeholder == "Siloed departments (redesign)"
    at.get("segmented_control")[0].set_value("converged").run()
    assert at.text_input(key="dz_name").proto.placeholder == "Siloed departments, converged"
    next(b for b in at.button if b.label == "Send to Compare").click().run()
    assert not at.exception
    assert "design:Siloed departments, converged" in at.session_state["selection"]
    # a name the user types wins
    at.text_input(key="dz_name").set_value("Our teams").run()
    next(b for b in at.button if b.label == "Send to Compare").click().run()
    assert "design:Our teams" in at.session_state["selection"]


# --------------------------------------------------------------------------- 5. units, labels


def test_cost_reads_in_one_unit_on_the_card_and_in_the_table():
    runs = [{"cost_total": 9.03e6 + i * 1e4} for i in range(3)]
    shown = card("cost_total", None, runs)
    assert shown["value"] == "9.04M"
    assert "(k)" not in shown["help"] and "Cost, mean over 3 runs" in shown["help"]
    assert re.search(r"95% CI 9\.\d\dM to 9\.\d\dM\.", shown["help"])
    # the unit beside a value that does not say it: the CX index's scale
    assert "CX index (0-100)" in card("cx_index", None, [{"cx_index": 50.0}])["help"]
    # the table says 'k' in its unit column: its cells are thousands, not millions
    table = headline_table(["A"], [runs]).set_index("KPI")
    assert table.loc["Cost", "unit"] == "k"
    assert table.loc["Cost", "A"].startswith("9,040 (")
    assert "M" not in table.loc["Cost", "A"]
    assert format_kpi("cost_total", 9.03e6) == "9.03M"


def test_four_organisations_keep_their_kpi_labels_whole():
    at = open_app(s="siloed,aligned,converged,brm_bottleneck", r="1", seed="3501")
    assert not at.exception
    css = " ".join(h.proto.body for h in at.get("html"))
    # a card too narrow for two KPIs a row shows one a row rather than cutting them
    assert "[class*='st-key-cmp_card_'] [data-testid='stHorizontalBlock']" in css
    assert "flex-wrap: wrap" in css and "min-width: 8.5rem" in css
    assert len(at.metric) == 4 * 8


def test_the_team_size_lever_shows_only_where_teams_form():
    siloed = ready_made("siloed")
    assert "team_size" not in [lv.key for lv in levers_for(siloed)]
    assert "team_size" in [lv.key for lv in levers_for(siloed, "converged")]
    assert "team_size" in [lv.key for lv in levers_for(ready_made("converged"))]
    # a transition to teams later still uses it
    assert "team_size" in [lv.key for lv in levers_for(ready_made("transition_big_bang"))]

    at = open_app(s="siloed", r="1", seed="3601")
    assert "Team size" not in [s.label for s in at.slider]
    at.selectbox(key="lv|siloed|structure").set_value("converged").run()
    assert not at.exception
    assert "Team size" in [s.label for s in at.slider]


def test_charts_with_heights_per_row_keep_them_and_fit_the_width(small_runs):
    """No "Dropping 'fit-y'" from Vega: no height in steps where Streamlit fits."""
    runs, colours = small_runs
    ws = Workshop([ready_made("siloed")], ["S"], seed=1, days=30)
    ws.step(3)
    built = [
        charts.effort_chart(charts.effort_frame(runs), colours),
        charts.units_chart(charts.unit_frame(runs), colours),
        charts.workshop_units_chart(ws.units()["S"], 5.0),
        charts.workshop_series_chart(ws.history(), "lead_time", {"S": "#000"}, "Lead", days=30),
    ]
    for chart in built:
        spec = chart.to_dict()
        assert isinstance(spec["height"], int), spec["height"]
        assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}


def test_the_workshop_shows_one_legend_and_fixed_axes():
    ws = Workshop([ready_made("siloed")], ["S"], seed=1, days=30)
    units = charts.workshop_units_chart(ws.units()["S"], 5.0).to_dict()
    assert units["encoding"]["color"]["legend"] is None  # the page's legend instead
    empty = charts.workshop_series_chart(ws.history(), "lead_time", {"S": "#000"}, "L", days=30)
    spec = empty.to_dict()
    # day 0: an empty history still has finite axes (no "Infinite extent" warnings),
    # and the x axis is the whole run, so lines grow instead of the axis rescaling
    assert spec["encoding"]["x"]["scale"]["domain"] == [0, 30]
    assert spec["encoding"]["y"]["scale"]["domain"] == [0.0, 1.0]

    at = open_app(s="siloed", r="1", seed="3701")
    at.switch_page("ui/workshop.py").run()
    legends = [m.value for m in at.markdown if "cv-legend" in m.value]
    assert len(legends) == 1
    for text in ("Siloed departments", "Converged teams", *charts.WORKSHOP_STATES):
        assert text in legends[0]
    titles = [m.value for m in at.markdown if 'class="cv-side-title"' in m.value]
    assert titles and all("Siloed" in t or "Converged" in t for t in titles)
    css = " ".join(h.proto.body for h in at.get("html"))
    assert ".cv-side-title" in css and "white-space: nowrap" in css  # titles do not wrap


def test_design_draws_people_inside_their_circles_at_its_own_size(chart_widths):
    from simulation.model.org_model import OrgModel

    seventy_one = with_overrides(
        ready_made("siloed"), {"structure": "converged", "disciplines.dev.headcount": 40}
    )
    people, ties, units = charts.org_frames(OrgModel(seventy_one))
    assert len(people) == 71
    centres = units.set_index("unit")
    for person in people.itertuples():
        unit = centres.loc[person.unit]
        distance = np.hypot(person.x - unit["x"], person.y - unit["y"])
        assert distance < unit["radius"], "everyone sits inside their team's circle"
    spec = charts.org_chart(people, ties, units).to_dict()
    assert spec["autosize"]["type"] == "pad"  # never squeezed or stretched apart

    at = open_app(s="siloed", r="1", seed="3801")
    at.switch_page("ui/design.py").run()
    at.get("segmented_control")[0].set_value("converged").run()
    assert not at.exception
    drawn = [width for chart, width in chart_widths if isinstance(chart, alt.LayerChart)]
    assert drawn and set(drawn) == {"content"}


def test_custom_teams_show_every_discipline_without_scrolling():
    at = open_app(s="siloed", r="1", seed="3901")
    at.switch_page("ui/design.py").run()
    at.selectbox(key="dz_base").set_value("siloed").run()
    at.get("segmented_control")[0].set_value("custom").run()
    columns = json.loads(at.data_editor[0].proto.columns)
    disciplines = [d.name for d in ready_made("siloed").disciplines]
    widths = [columns[d]["width"] for d in disciplines]
    # six narrow columns and the team's name fit the editor's ~400 pixels at 1280 wide
    assert all(isinstance(w, int) and w <= 60 for w in widths)
    assert columns["team"]["width"] == "small"
    assert all(columns[d]["help"] == d for d in disciplines)


# --------------------------------------------------------------------------- 6. escaping


def _no_raw_html(at: AppTest, where: str) -> None:
    texts = [m.proto.body for m in at.markdown] + [c.proto.body for c in at.caption]
    assert not any(EVIL in t for t in texts), f"{where}: the name went out unescaped"
    assert any(html.escape(EVIL) in m.proto.body for m in at.markdown if m.proto.allow_html), (
        f"{where}: the name is shown, escaped"
    )


def test_a_name_that_is_html_is_escaped_on_every_page():
    text = with_overrides(ready_made("converged"), {"name": EVIL}).to_yaml()
    at = open_app(s="siloed", r="1", seed="4001")
    at.file_uploader[0].set_value(("evil.yaml", text.encode(), "application/x-yaml")).run()
    assert not at.exception
    key = f"upload:{EVIL}"
    assert key in at.session_state["selection"]
    next(b for b in at.button if b.label == "Run comparison").click().run()
    assert not at.exception
    _no_raw_html(at, "Compare")

    at.session_state["ws_pick"] = ["siloed", key]
    at.switch_page("ui/workshop.py").run()
    at.get("segmented_control")[0].set_value("20 days/s").run()
    next(b for b in at.button if b.label == "Play").click().run()
    assert not at.exception
    _no_raw_html(at, "Workshop")

    at.session_state["tr_compare"] = [key]
    at.session_state["tr_reps"] = 1
    at.switch_page("ui/transition.py").run()
    assert not at.exception
    _no_raw_html(at, "Transition")


def test_the_flow_of_work_fills_the_width_with_a_panel_per_organisation(small_runs):
    runs, colours = small_runs
    frame = charts.flow_frame(runs, cumulative=False)
    changes = pd.DataFrame(
        [
            {
                "scenario": name,
                "change_day": 40.0,
                "kind": charts.SCHEDULED,
                "change": "",
                "what": "x",
                "detail": "Day 40: x",
                "lane": 0,
            }
            for name in runs
        ]
    )
    spec = charts.flow_chart(frame, colours, cumulative=False, changes=changes).to_dict()
    # one view (a facet of fixed panels overflowed 1280-pixel screens, and left a third
    # of 1920-pixel ones empty), one items axis for every organisation
    assert not {"facet", "hconcat", "vconcat"} & set(spec)
    assert spec["width"] == "container" and spec["autosize"]["type"] == "fit-x"
    tables = {name: pd.DataFrame(rows) for name, rows in spec["datasets"].items() if rows}
    flow = next(t for t in tables.values() if "state" in t)
    ranges = flow.groupby("scenario")["x"].agg(["min", "max"]).sort_values("min")
    assert list(ranges.index) == list(runs)  # in the comparison's order, left to right
    assert (ranges["min"].iloc[1:].to_numpy() > ranges["max"].iloc[:-1].to_numpy()).all()
    assert (flow["x"] - flow["day"]).groupby(flow["scenario"]).nunique().eq(1).all()
    marks = next(t for t in tables.values() if "change_day" in t)
    # each organisation's marker sits at day 40 of its own panel
    for row in marks.itertuples():
        assert row.x - row.change_day == pytest.approx(
            ranges.loc[row.scenario, "min"] - flow[flow["scenario"] == row.scenario]["day"].min()
        )


# --------------------------------------------------------------------------- 7. sweeps


STRUCTURE_LEVERS = {
    "siloed": {"brms.count": 0, "levers.prioritisation": "fifo", "levers.shared_language": 0.2},
    "aligned": {"brms.count": 3, "levers.prioritisation": "value", "levers.shared_language": 0.5},
    "converged": {
        "brms.count": 0,
        "levers.prioritisation": "value",
        "levers.shared_language": 0.5,
    },
}


@pytest.fixture(scope="module")
def structure_demand(tmp_path_factory):
    """structure_demand.yaml in small: a list design that sets levers with each structure."""
    points = [
        {"structure": s, "demand_scale": d, **levers}
        for s, levers in STRUCTURE_LEVERS.items()
        for d in (0.8, 1.0, 1.2)
    ]
    return swept(
        tmp_path_factory.mktemp("sweeps") / "structure_demand",
        chunk_size=6,
        name="Structure x demand (test)",
        design="list",
        points=points,
        parameters=None,
        replicates=2,
    )


@pytest.fixture(scope="module")
def team_sizes(tmp_path_factory):
    return swept(
        tmp_path_factory.mktemp("sweeps") / "team_size",
        chunk_size=6,
        name="Team size (test)",
        base=str(SCENARIOS / "converged.yaml"),
        parameters={"team_size": [9, 10, 12]},
        replicates=2,
    )


PARAMETERS = ["structure", "demand_scale", *STRUCTURE_LEVERS["siloed"]]


def test_sweep_charts_draw_a_line_per_structure_never_averaging_one(structure_demand):
    results = load_results(structure_demand)
    parameters = [p for p in PARAMETERS if p in results]
    table = configuration_table(results, parameters, ["lead_time_mean"])
    colour, line, facet = line_plan(table, parameters, "demand_scale")
    assert colour == "structure"  # not brms.count, the column with fewest values
    assert set(line) == set(parameters) - {"demand_scale"}
    assert facet == []  # the levers come with the structure: no panels needed

    chart = sweep_charts(results, table, parameters, ["lead_time_mean"])
    spec = chart["lead_time_mean_by_demand_scale"].to_dict()
    (points,) = [pd.DataFrame(v) for v in spec["datasets"].values()]
    # a point per configuration (3 structures x 3 demands), each with its own CI
    assert len(points) == 9 and points.groupby("colour")["x"].nunique().eq(3).all()
    assert set(points["colour"]) == set(STRUCTURE_LEVERS)
    expected = table.set_index(["structure", "demand_scale"])
    for row in points.itertuples():
        own = expected.loc[(row.colour, row.x)]
        assert row.mean == pytest.approx(own["lead_time_mean"])
        assert row.low == pytest.approx(own["lead_time_mean_ci_low"])  # never averaged
    assert json.dumps(spec).count('"detail"') >= 1  # a line per combination
    assert charts.STRUCTURE_COLOURS["siloed"] in json.dumps(spec)


def test_sensitivity_refuses_a_design_that_cannot_tell_parameters_apart(structure_demand):
    results = load_results(structure_demand)
    parameters = [p for p in PARAMETERS if p in results]
    src = sensitivity(results, parameters, ["lead_time_mean", "cx_index"])
    assert src.empty
    (note,) = [n for n in src.attrs["notes"] if n.startswith(REFUSED)]
    assert "brms.count" in note and "levers.prioritisation" in note
    assert "fixed by structure" in note and "rank 3 of" in note
    assert "\n" not in note
    assert note in format_sensitivity(src)
    assert "sensitivity" not in sweep_charts(
        results, configuration_table(results, parameters, ["cx_index"]), parameters, ["cx_index"]
    )


def test_sensitivity_warns_about_collinear_parameters():
    rng = np.random.default_rng(1)
    a = np.repeat(np.arange(10.0), 3)
    b = a + rng.normal(0, 1.0, len(a))  # nearly a copy of a
    c = np.tile([0.0, 1.0, 2.0], 10)
    results = pd.DataFrame(
        {"status": "ok", "a": a, "b": b, "c": c, "kpi": a + c + rng.normal(0, 1, len(a))}
    )
    src = sensitivity(results, ["a", "b", "c"], ["kpi"])
    assert not src.empty
    (warning,) = src.attrs["notes"]
    assert re.match(r"Warning: collinear parameters, a and b \(r = \+0\.9\d\):", warning)
    assert warning.count("(r = ") == 1  # one pair: c varies on its own
    assert design_problem(results[["c"]]) is None
    assert format_sensitivity(src).splitlines()[0] == warning


def test_analysis_notes_configurations_whose_runs_are_identical(team_sizes):
    results = load_results(team_sizes)
    same = identical_configurations(results, ["team_size"])
    assert same == [[{"team_size": 9}, {"team_size": 10}]]
    notes = sensitivity(results, ["team_size"], ["lead_time_mean"]).attrs["notes"]
    assert notes == [
        "team_size 9 and 10 give identical runs, KPI for KPI: they form the same teams "
        "(teams = people / team size, rounded)."
    ]


def test_analyze_prints_the_notes(structure_demand, team_sizes):
    for directory, expected in (
        (structure_demand, REFUSED),
        (team_sizes, "team_size 9 and 10 give identical runs"),
    ):
        done = cli("analyze", str(directory), "--no-charts")
        assert done.returncode == 0, done.stderr
        assert expected in done.stdout


def test_the_results_page_builders_colour_by_structure_and_keep_every_line(structure_demand):
    results = load_results(structure_demand)
    parameters = [p for p in PARAMETERS if p in results]
    assert default_colour(results, parameters, "demand_scale") == "structure"
    line = line_parameters(results, parameters, "demand_scale")
    assert "structure" in line and "demand_scale" not in line
    table = configuration_table(results, ["demand_scale", *line], ["cx_index"])
    chart = kpi_vs_parameter_chart(table, "cx_index", "demand_scale", "structure", line=line)
    assert len(chart.layer) == 3  # a layered chart, as the page restyles it
    assert len(table) == 9


def test_a_third_parameter_gets_its_own_panels():
    table = pd.DataFrame(
        [
            {"a": a, "b": b, "c": c, "runs": 2, "k": 1.0, "k_ci_low": 0.5, "k_ci_high": 1.5}
            for a in (1, 2, 3)
            for b in ("x", "y")
            for c in (10, 20)
        ]
    )
    colour, line, facet = line_plan(table, ["a", "b", "c"], "a")
    assert (colour, sorted(line), facet) == ("b", ["b", "c"], ["c"])
    spec = kpi_vs_parameter_chart(table, "k", "a", colour, line, facet).to_dict()
    assert spec["facet"]["field"] == "panel"


def test_transition_cards_say_each_unit_once_and_sentences_name_the_cost():
    from simulation.analysis.transition_outcomes import card, sentences

    runs = [
        {
            "changes": 1,
            "transition_cost": 127_000.0 + i,
            "productivity_lost_days": 130.0,
            "lead_time_end": 8.0,
        }
        for i in range(3)
    ]
    shown = card("transition_cost", None, runs)
    assert shown["value"] == "127k"
    assert "(k)" not in shown["help"] and "127k" not in shown["help"].split("CI")[0]
    text = " ".join(sentences(["Big bang"], [runs]))
    assert "the whole transition" in text and "cost **127k**" in text
