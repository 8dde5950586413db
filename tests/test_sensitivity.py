"""Global sensitivity (issue 13, item 2): the analysis code the ``sensitivity`` command
uses reproduces the published Sobol indices of the Ishigami function and ranks an inert
factor last; the study varies only parameters that can act; on the real model a
parameter that cannot matter gets nothing; the command writes its tables and refuses
bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from simulation.analysis.global_sensitivity import (
    Factor,
    analyse,
    check_budget,
    design,
    design_size,
    evaluate,
    ishigami,
    noise_share,
)
from simulation.analysis.sensitivity_study import (
    chosen_factors,
    decode_design,
    default_factors,
    encode_design,
    factors_to_spec,
    kpi_table,
    screened_factors,
    study_points,
    versus_overrides,
)
from simulation.errors import ScenarioError
from simulation.presentation.sensitivity_charts import sensitivity_charts
from tests.conftest import cli, ready_made

PI = np.pi
ISHIGAMI = [Factor("x1", -PI, PI), Factor("x2", -PI, PI), Factor("x3", -PI, PI)]
#: Published indices for a=7, b=0.1 (Ishigami & Homma 1990; Saltelli et al. 2008).
ISHIGAMI_S1 = [0.314, 0.442, 0.0]
ISHIGAMI_ST = [0.558, 0.442, 0.244]


def test_sobol_reproduces_the_ishigami_indices_within_its_intervals():
    x = design("sobol", ISHIGAMI, samples=1024, seed=3)
    assert len(x) == design_size("sobol", 3, samples=1024) == 1024 * 5
    table = analyse("sobol", ISHIGAMI, x, evaluate(ishigami, x), seed=3)
    for column, published in (("S1", ISHIGAMI_S1), ("ST", ISHIGAMI_ST)):
        error = np.abs(table[column].to_numpy() - published)
        assert (error <= table[f"{column}_conf"].to_numpy()).all(), table
        # and the intervals are tight enough to tell the factors apart
        assert (table[f"{column}_conf"] < 0.1).all(), table
    assert list(table["rank"]) == [1, 2, 3]


def test_morris_ranks_an_inert_factor_last_with_nothing():
    factors = [*ISHIGAMI, Factor("inert", 0.0, 1.0)]
    x = design("morris", factors, trajectories=20, seed=5)
    assert len(x) == design_size("morris", 4, trajectories=20) == 20 * 5
    table = analyse("morris", factors, x, evaluate(ishigami, x), seed=5).set_index("parameter")
    assert table.loc["inert", "mu_star"] == 0 and table.loc["inert", "sigma"] == 0
    assert table.loc["inert", "rank"] == 4
    live = table.drop("inert")
    assert (live["mu_star"] - live["mu_star_conf"] > 0).all(), table
    # x3 acts only through its interaction with x1: its effects vary (sigma > mu)
    assert table.loc["x3", "sigma"] > abs(table.loc["x3", "mu"])


def test_budgets_too_small_for_the_method_are_refused():
    with pytest.raises(ScenarioError, match="--trajectories"):
        check_budget("morris", 5, trajectories=2)
    with pytest.raises(ScenarioError, match="--levels"):
        check_budget("morris", 5, levels=3)
    with pytest.raises(ScenarioError, match=r"--samples.*power of two"):
        check_budget("sobol", 5, samples=48)
    with pytest.raises(ScenarioError, match=r"--parameters.*at least 2"):
        check_budget("sobol", 1)
    with pytest.raises(ScenarioError, match="--method"):
        check_budget("fast", 5)


def test_noise_share_is_the_replicate_variance_of_the_means():
    rng = np.random.default_rng(1)
    signal = np.linspace(0, 10, 50)[:, None]
    assert noise_share(signal + rng.normal(0, 0.01, (50, 4))) < 0.001
    assert noise_share(rng.normal(0, 1, (200, 4))) == pytest.approx(1.0, abs=0.25)
    assert noise_share(signal) is None  # one replicate: not measurable


# --------------------------------------------------------------------------- the study


def test_parameters_that_cannot_act_are_left_out_with_the_reason():
    siloed = ready_made("siloed")
    factors, left_out = default_factors([siloed])
    paths = {f.path for f in factors}
    reasons = {o.path: o.reason for o in left_out}
    assert "mechanisms.rework.p_business_it" in paths
    assert reasons["brms.latency_effect"] == "no BRMs"
    assert reasons["mechanisms.handoff.within_team_days"] == "no teams"
    assert reasons["levers.transparency"].startswith("a design choice")
    assert reasons["disciplines[].cost_per_day"].startswith("set per list item")
    off = siloed.model_copy(deep=True)
    off.mechanisms.rework.enabled = False
    reasons = {o.path: o.reason for o in default_factors([off])[1]}
    assert reasons["mechanisms.rework.p_business_it"] == "the rework mechanism is off"
    # two designs: what acts in either is varied, what differs between them is not
    both, _ = default_factors([siloed, ready_made("aligned")])
    assert "brms.latency_effect" in {f.path for f in both}
    assert "brms.count" not in {f.path for f in both}


def test_named_parameters_resolve_list_items_by_name():
    siloed = ready_made("siloed")
    factors = chosen_factors(["disciplines.dev.cost_per_day", "team_size"], [siloed])
    assert factors[0] == Factor("disciplines.dev.cost_per_day", 300.0, 1200.0)
    assert factors[1].integer
    with pytest.raises(ScenarioError, match=r"--parameters.*not a parameter"):
        chosen_factors(["mechanisms.rework.nonsense"], [siloed])
    with pytest.raises(ScenarioError, match="no entry named 'design'"):
        chosen_factors(["disciplines.design.cost_per_day"], [siloed])
    with pytest.raises(ScenarioError, match="differs between the designs"):
        chosen_factors(["brms.count"], [siloed, ready_made("aligned")])


def test_a_gap_study_runs_the_same_sample_on_both_designs():
    siloed, converged = ready_made("siloed"), ready_made("converged")
    versus = versus_overrides(siloed, converged)
    assert versus == {"levers.prioritisation": "value", "structure": "converged"}
    factors = [
        Factor("mechanisms.rework.p_business_it", 0.3, 0.7),
        Factor("mechanisms.coordination.department_peers", 1, 4, integer=True),
    ]
    x = design("morris", factors, trajectories=4, seed=1)
    points = study_points(factors, x, versus)
    assert len(points) == 2 * len(x)
    for row, first, second in zip(x, points[0::2], points[1::2], strict=True):
        assert first["mechanisms.rework.p_business_it"] == row[0]
        assert isinstance(first["mechanisms.coordination.department_peers"], int)
        assert second == {**versus, **first}
    np.testing.assert_allclose(
        decode_design(
            {"method": "morris", "levels": 4, "grid": encode_design("morris", factors, x, 4)},
            factors,
            len(x),
        ),
        x,
    )


def _synthetic_spec(method: str, factors, x, versus: bool) -> dict:
    return {
        "method": method,
        "factors": factors_to_spec(factors),
        "levels": 4,
        "grid": encode_design(method, factors, x, 4),
        "seed": 7,
        "versus": {"structure": "converged"} if versus else None,
    }


def test_the_gap_is_analysed_per_sample_on_shared_seeds():
    """A constructed pair of designs: both depend strongly on a and b, but the gap
    B - A depends on c alone; replicate noise is shared by both (common seeds)."""
    factors = [Factor("a", 0, 1), Factor("b", 0, 1), Factor("c", 0, 1)]
    x = design("morris", factors, trajectories=12, seed=2)
    seeds = np.random.default_rng(4).normal(0, 0.5, size=3)  # shared by both designs
    first = 10 * x[:, [0]] + 5 * x[:, [1]] + seeds
    second = first + 2 * x[:, [2]]
    matrix = np.empty((2 * len(x), 3))
    matrix[0::2], matrix[1::2] = first, second
    table, summary = kpi_table(
        _synthetic_spec("morris", factors, x, True), "lead_time_mean", matrix
    )
    table = table.set_index("parameter")
    assert table.loc["c", "rank"] == 1
    assert table.loc["a", "mu_star"] == pytest.approx(0, abs=1e-9)
    assert table.loc["c", "mu_star"] == pytest.approx(2, rel=0.01)
    assert summary["second_better_share"] == 0  # B is slower in every sample
    assert (summary["second_better"], summary["samples"]) == (0, len(x))
    assert summary["noise_share"] == pytest.approx(0, abs=1e-12)
    # the same matrix read as one design sees a and b, not c
    single, _ = kpi_table(
        _synthetic_spec("morris", factors, x, False), "lead_time_mean", matrix[0::2]
    )
    assert single.set_index("parameter").loc["a", "rank"] == 1


def test_a_kpi_with_missing_runs_is_not_analysed():
    factors = [Factor("a", 0, 1), Factor("b", 0, 1)]
    x = design("sobol", factors, samples=8, seed=1)
    matrix = evaluate(lambda r: r[0], x)[:, None]
    matrix[3, 0] = np.nan
    with pytest.raises(ScenarioError, match="1 of 32 samples lack a value"):
        kpi_table(_synthetic_spec("sobol", factors, x, False), "cx_index", matrix)


# --------------------------------------------------------------------------- the command


def _rework_off(folder: Path) -> Path:
    """siloed.yaml with misunderstanding and rework switched off."""
    scenario = ready_made("siloed").model_copy(deep=True)
    scenario.mechanisms.rework.enabled = False
    path = folder / "rework_off.yaml"
    path.write_text(yaml.safe_dump(scenario.model_dump(mode="json")))
    return path


@pytest.fixture(scope="module")
def morris_study(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A small Morris study of the real model: a strong parameter and one of a
    mechanism that is switched off, 30-day runs."""
    folder = tmp_path_factory.mktemp("morris")
    done = cli(
        "sensitivity", str(_rework_off(folder)),
        "--parameters", "mechanisms.handoff.business_it_days", "mechanisms.rework.p_business_it",
        "--trajectories", "4", "--days", "30", "--workers", "1", "--format", "svg",
        "--kpi", "lead_time_mean", "--kpi", "cost_total", "--out", str(folder / "out"),
    )  # fmt: skip
    return folder / "out", done


def test_on_the_model_a_parameter_of_a_switched_off_mechanism_gets_nothing(morris_study):
    out, done = morris_study
    assert done.returncode == 0, done.stderr
    assert "p_business_it cannot act here (the rework mechanism is off)" in done.stderr
    table = pd.read_csv(out / "sensitivity.csv")
    lead = table[table["kpi"] == "lead_time_mean"].set_index("parameter")
    idle = lead.loc["mechanisms.rework.p_business_it"]
    assert idle["mu_star"] == 0 and idle["sigma"] == 0 and idle["rank"] == 2
    strong = lead.loc["mechanisms.handoff.business_it_days"]
    assert strong["mu_star"] - strong["mu_star_conf"] > 0
    # 2 parameters x 4 trajectories -> 12 points, 2 replicates each on shared seeds
    results = pd.read_parquet(out / "results.parquet")
    assert len(results) == 24 and set(results["seed"]) == {2026, 2027}
    assert (out / "charts" / "morris_lead_time_mean.svg").exists()
    assert "Morris mu*" in done.stdout and "mechanisms.handoff.business_it_days" in done.stdout


def test_analyze_reprints_a_sensitivity_study(morris_study):
    out, _ = morris_study
    (out / "sensitivity.csv").unlink()
    again = cli("analyze", str(out), "--no-charts", "--kpi", "lead_time_mean")
    assert again.returncode == 0, again.stderr
    assert "Lead time" in again.stdout and "mechanisms.rework.p_business_it" in again.stdout
    assert set(pd.read_csv(out / "sensitivity.csv")["kpi"]) == {"lead_time_mean"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "fast"], "--method: 'fast' is not one of morris, sobol"),
        (["--parameters", "mechanisms.rework.nope"], "--parameters: 'mechanisms.rework.nope'"),
        (["--trajectories", "3"], "--trajectories: 3 is too few"),
        (["--method", "sobol", "--samples", "4"], "--samples: 4: Sobol needs a power of two"),
        (["--kpi", "happiness"], "--kpi: 'happiness' is not a KPI (known: "),
        (["--versus", "scenarios/transition_stepwise.yaml"], "--versus: differs from"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    done = cli("sensitivity", "scenarios/siloed.yaml", *args, "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {done.stderr.strip().removeprefix('error: ')}"
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_a_screening_keeps_the_top_parameters_over_every_kpi():
    """mu* is compared within a KPI (units differ), then at its best over the KPIs."""
    table = pd.DataFrame(
        {
            "kpi": ["lead"] * 3 + ["cost"] * 3,
            "parameter": ["a", "b", "c"] * 2,
            "mu_star": [10.0, 5.0, 0.0, 0.001, 0.0, 0.002],
        }
    )
    factors = [Factor("a", 0, 1), Factor("b", 0, 1), Factor("c", 0, 1), Factor("d", 0, 1)]
    assert [f.path for f in screened_factors(table, factors, 2)] == ["a", "c"]
    # a parameter with nothing on every KPI is never kept, however large top is
    assert [f.path for f in screened_factors(table, factors, 10)] == ["a", "b", "c"]


def test_screen_needs_a_morris_study_of_the_same_design(morris_study, tmp_path):
    out, _ = morris_study
    other = cli("sensitivity", "scenarios/converged.yaml", "--screen", str(out), "--out",
                str(tmp_path / "o"))  # fmt: skip
    assert other.returncode == 2 and "--screen: screened Siloed departments, not" in other.stderr
    empty = cli("sensitivity", "scenarios/siloed.yaml", "--screen", str(tmp_path))
    assert empty.returncode == 2 and "--screen: holds no study" in empty.stderr


def test_sensitivity_has_help():
    done = cli("sensitivity", "--help")
    assert done.returncode == 0 and "usage:" in done.stdout
    assert "%%" not in done.stdout and "--versus" in done.stdout


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_charts_draw_each_index_with_its_interval(method):
    x = design(method, ISHIGAMI, trajectories=8, samples=64, seed=1)
    table = analyse(method, ISHIGAMI, x, evaluate(ishigami, x), seed=1)
    table.insert(0, "kpi", "lead_time_mean")
    charts = sensitivity_charts(table, {"method": method, "designs": ["A", "B"], "versus": {}})
    spec = charts[f"{method}_lead_time_mean"].to_dict()
    assert "gap B - A" in json.dumps(spec["title"])
    (data,) = spec["datasets"].values()
    drawn = pd.DataFrame(data)
    if method == "sobol":
        for index, column in (("first order (S1)", "S1"), ("total (ST)", "ST")):
            rows = drawn[drawn["index"] == index].set_index("name")
            expected = table.set_index("parameter")
            np.testing.assert_allclose(rows["high"] - rows["value"], expected[f"{column}_conf"])
            np.testing.assert_allclose(rows["value"], expected[column])
    else:
        rows = drawn.set_index("name")
        expected = table.set_index("parameter")
        np.testing.assert_allclose(rows["high"] - rows["mu_star"], expected["mu_star_conf"])


def test_an_interrupted_study_resumes_to_the_same_rows(tmp_path):
    out = tmp_path / "out"
    args = [
        "sensitivity", "scenarios/siloed.yaml", "--days", "30", "--trajectories", "4",
        "--replicates", "1", "--workers", "1", "--no-charts", "--kpi", "lead_time_mean",
        "--parameters", "mechanisms.handoff.business_it_days", "mechanisms.rework.detection",
    ]  # fmt: skip
    assert cli(*args, "--out", str(out)).returncode == 0
    whole = pd.read_parquet(out / "results.parquet")
    (out / "results.parquet").unlink()
    sorted((out / "parts").glob("*.parquet"))[-1].unlink()
    again = cli(*args, "--out", str(out), "--resume")
    assert again.returncode == 0, again.stderr
    assert f"already written). Results: {out}" in again.stdout
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "results.parquet").drop(columns="elapsed_s"),
        whole.drop(columns="elapsed_s"),
    )
    # a different study into the same folder is refused, in one line
    other = cli(*args[:-1], "mechanisms.rework.p_business_it", "--out", str(out), "--resume")
    assert other.returncode == 2 and len(other.stderr.strip().splitlines()) == 1


def test_a_scenario_error_survives_the_trip_back_from_a_worker():
    """A worker that refuses a study's chunk (it runs other source files) sends a
    ScenarioError back; one that cannot be unpickled broke the process pool and read
    "worker processes kept dying" instead of the reason."""
    import pickle

    error = pickle.loads(pickle.dumps(ScenarioError("--cluster", "runs other code", "here")))
    assert (error.field, error.reason, error.source) == ("--cluster", "runs other code", "here")
    assert str(error) == "here: --cluster: runs other code"
