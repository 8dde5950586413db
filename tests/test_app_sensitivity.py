"""The Results page opens a sensitivity study (issue 13, item 2) and shows its own view:
per KPI the Morris chart and table with 95% intervals, what was left out and why; an
unfinished study says how to finish it instead of showing indices it cannot compute."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import cli, open_results

pytestmark = pytest.mark.usefixtures("in_process")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A small gap study: siloed vs converged, two parameters, 30-day runs."""
    root = tmp_path_factory.mktemp("results")
    done = cli(
        "sensitivity", "scenarios/siloed.yaml", "--versus", "scenarios/converged.yaml",
        "--parameters", "mechanisms.handoff.business_it_days", "mechanisms.turnover.hire_cost",
        "--trajectories", "4", "--replicates", "1", "--days", "30", "--workers", "1",
        "--kpi", "lead_time_mean", "--kpi", "cx_index", "--no-charts",
        "--out", str(root / "gap"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root / "gap"


def charts_on(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def test_results_page_shows_a_sensitivity_study(study, monkeypatch):
    at = open_results(monkeypatch, study.parent, str(study))
    assert not at.exception and not at.error
    assert "morris sensitivity of Siloed departments vs Converged teams" in [
        h.value for h in at.subheader
    ]
    text = " ".join(m.value for m in at.markdown)
    assert "gap Converged teams - Siloed departments" in text
    assert "Converged teams is better in" in text and " of 12 samples" in text  # 4 x (2 + 1)
    # the sweep view's metrics and heatmap are not shown for a study
    assert not at.metric
    (chart,) = charts_on(at)
    assert "Morris screening" in json.dumps(chart["title"])
    indices = pd.read_csv(study / "sensitivity.csv")
    (table,) = [df.value for df in at.dataframe if "mu*" in df.value.columns]
    lead = indices[indices["kpi"] == "lead_time_mean"].sort_values("rank")
    assert list(table["parameter"]) == list(lead["parameter"])
    assert table["mu*"].iloc[-1] == "0 ± 0"  # hire cost cannot act: turnover is idle

    at.selectbox(key="sens_kpi").set_value("cx_index").run()
    assert not at.exception
    assert "CX index" in json.dumps(charts_on(at)[0]["title"])
    assert "Download the indices (CSV)" in [b.label for b in at.get("download_button")]
    info = " ".join(i.value for i in at.info)
    assert "mechanisms.turnover.hire_cost cannot act here (turnover is idle" in info


def test_an_unfinished_study_says_how_to_finish(study, tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "unfinished"
    shutil.copytree(study, copy)
    (copy / "results.parquet").unlink()
    sorted((copy / "parts").glob("*.parquet"))[-1].unlink()
    at = open_results(monkeypatch, tmp_path, str(copy))
    assert not at.exception and not at.error
    warning = " ".join(w.value for w in at.warning)
    assert "the indices need every run" in warning and "--resume" in warning
    assert not charts_on(at)
