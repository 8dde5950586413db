"""Compare's "Why?" panel (issue 13) under AppTest: on demand, a sentence per main
contributor and the waterfalls, checked against the analysis itself; an error box for
a gap that cannot be explained. The organisations come in a link: short runs with two
mechanisms on, so the study is a few dozen runs in this process."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from simulation.analysis import explain
from simulation.inputs.scenario import Mechanisms, with_overrides
from simulation.running.runs import run_scenario
from tests.conftest import open_app, ready_made, short

pytestmark = pytest.mark.usefixtures("in_process")


def quick(scenario, **overrides):
    """A 30-day run of ``scenario`` with handoff latency and rework on (and CX held on)."""
    switches = {
        f"mechanisms.{m}.enabled": m in ("handoff", "rework", "cx") for m in Mechanisms.model_fields
    }
    return with_overrides(short(scenario, days=30), {**switches, **overrides})


def app_with(a, b, seed: str):
    from ui.common import pack

    return open_app(s="*0,*1", r="1", seed=seed, u=pack({"0": a.to_yaml(), "1": b.to_yaml()}))


def explain_button(at):
    return next(b for b in at.button if b.label == "Explain the gaps")


def test_the_why_panel_explains_the_gap_on_demand():
    a = quick(ready_made("siloed"), name="Silo A")
    b = with_overrides(a, {"name": "Teams B", "structure": "converged"})
    at = app_with(a, b, seed="3101")
    assert not at.exception and not at.error
    assert "why_result" not in at.session_state  # nothing runs until asked
    at.session_state["why_reps"] = 2
    explain_button(at).click().run(timeout=300)
    assert not at.exception and not at.error
    pair = at.session_state["why_result"]["pairs"][0]
    assert pair["name"] == "Teams B"
    # the panel's numbers are the study's: point 0 is A, point 1 is B, on seeds 3101, 3102
    lead = pair["matrices"]["lead_time_mean"]
    for r, seed in enumerate((3101, 3102)):
        assert lead[0, r] == run_scenario(a, seed=seed).kpis["lead_time_mean"]
        assert lead[1, r] == run_scenario(b, seed=seed).kpis["lead_time_mean"]
    gap = float(np.mean(lead[1] - lead[0]))
    text = " ".join(m.value for m in at.markdown)
    assert "Silo A → Teams B" in text
    assert f"of the {explain.amount('lead_time_mean', gap)} comes from the structure" in text
    titles = ("What differs", "The mechanisms that carry it")
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    waterfalls = [s for s in specs if any(t in json.dumps(s) for t in titles)]
    assert len(waterfalls) == 2
    # another KPI is read from the same runs: nothing reruns
    runs = at.session_state["why_result"]["runs"]
    seconds = at.session_state["why_result"]["seconds"]  # a rerun would time itself anew
    at.selectbox(key="why_kpi").set_value("rework_effort_share").run()
    assert at.session_state["why_result"]["runs"] == runs
    assert at.session_state["why_result"]["seconds"] == seconds
    assert any(m.value.startswith("Effort on rework") for m in at.markdown)
    assert any("runs (" in c.value and "from cache" in c.value for c in at.caption)


def test_a_gap_that_cannot_be_explained_shows_one_line_in_a_box():
    a = quick(ready_made("siloed"), name="Same one")
    b = with_overrides(a, {"name": "Same two"})
    at = app_with(a, b, seed="3201")
    at.session_state["why_reps"] = 2
    explain_button(at).click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Cannot explain this gap: nothing differs between the two scenarios"
    ]


def explain_study(out, seed=7):
    """A small explain study run into ``out`` (in this process)."""
    from simulation.running.studies import Study, run_study

    a = quick(ready_made("siloed"), name="Silo A")
    b = with_overrides(a, {"name": "Teams B", "structure": "converged"})
    points, spec = explain.design(a, b, ["lead_time_mean", "cx_index"])
    run_study(Study("explain", "why study", a, points, 2, seed, spec), out)
    return spec


def test_the_results_page_shows_an_explain_study_as_its_explanation(monkeypatch, tmp_path):
    from tests.conftest import open_results

    explain_study(tmp_path / "study")
    at = open_results(monkeypatch, tmp_path, "study")
    assert not at.exception and not at.error
    text = " ".join(m.value for m in at.markdown)
    assert "Why? Silo A → Teams B" in text
    # the sentence names the main contributor (and says so when the gap is not clear)
    assert re.search(r"Lead time, mean \(new work\).*: .*the structure", text, re.IGNORECASE)
    assert len(at.get("vega_lite_chart")) == 2
    table = at.dataframe[0].value
    assert list(table["label"])[-1] == "total (B - A)"
    at.selectbox(key="rs_why_kpi").set_value("cx_index").run()
    assert any(m.value.startswith("CX index") for m in at.markdown)


def test_a_damaged_explain_study_is_one_line_in_a_box(monkeypatch, tmp_path):
    from simulation.running import batch
    from tests.conftest import open_results

    explain_study(tmp_path / "study")
    manifest = tmp_path / "study" / batch.MANIFEST
    data = json.loads(manifest.read_text())
    del data["experiment"]["study"]["factor_points"]
    manifest.write_text(json.dumps(data))
    at = open_results(monkeypatch, tmp_path, "study")
    assert not at.exception
    assert [e.value for e in at.error] == ["Cannot read this explain study: its spec is damaged."]
