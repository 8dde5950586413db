"""Robustness (issue 13, item 3): win shares, regret and where the favourite loses,
checked on constructed cases whose answer is known, then on the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import qmc

from simulation.analysis import robustness as rb
from simulation.errors import ScenarioError
from simulation.running.studies import load_study
from tests.conftest import SCENARIOS, cli, open_app, open_results, ready_made

NAMES = ["A", "B"]


def unit_worlds(n: int = 256, d: int = 4, seed: int = 7) -> np.ndarray:
    return qmc.LatinHypercube(d=d, rng=np.random.default_rng(seed)).random(n)


def ranges(d: int = 4) -> list[rb.Range]:
    return [rb.Range(f"x{j}", 0.0, 1.0) for j in range(d)]


def two_designs(b_values: np.ndarray, replicates: int = 1) -> np.ndarray:
    """Worlds x 2 designs x replicates: A is 1 everywhere, B as given."""
    a = np.ones_like(b_values)
    return np.repeat(np.stack([a, b_values], axis=1)[:, :, None], replicates, axis=2)


def test_b_wins_unless_x0_is_under_0_3_and_prim_names_that_region():
    units = unit_worlds()
    values = two_designs(np.where(units[:, 0] < 0.3, 0.5, 2.0))
    result = rb.analyse_kpi(values, units, ranges(), NAMES, "roi", higher_is_better=True)
    assert result.favourite == "B"
    b = result.designs[1]
    assert b.win_share == pytest.approx((units[:, 0] >= 0.3).mean())
    assert b.win_low < b.win_share < b.win_high
    region = result.region
    assert region is not None and region.clear
    assert [r.path for r in region.restrictions] == ["x0"]
    (only,) = region.restrictions
    assert only.low is None and only.high == pytest.approx(0.3, abs=0.03)
    assert region.coverage > 0.9 and region.density > 0.9
    assert "x0 is under 0.3" in rb.region_sentence(result)


def test_a_loss_in_a_corner_of_two_parameters_names_both():
    units = unit_worlds(d=5)
    corner = (units[:, 1] < 0.4) & (units[:, 3] > 0.6)
    # lower is better here: B takes 5 days, A 6, except in the corner where B takes 9
    values = two_designs(np.where(corner, 9.0, 5.0)) + 0.0
    values[:, 0] = 6.0
    result = rb.analyse_kpi(values, units, ranges(5), NAMES, "lead_time_mean")
    assert result.favourite == "B"
    region = result.region
    assert region is not None and region.clear
    found = {r.path: r for r in region.restrictions}
    assert set(found) == {"x1", "x3"}
    assert found["x1"].low is None and found["x1"].high == pytest.approx(0.4, abs=0.05)
    assert found["x3"].high is None and found["x3"].low == pytest.approx(0.6, abs=0.05)


def test_losses_at_random_make_no_clear_region():
    units = unit_worlds()
    lost = np.random.default_rng(3).random(len(units)) < 0.3
    values = two_designs(np.where(lost, 0.5, 2.0))
    result = rb.analyse_kpi(values, units, ranges(), NAMES, "roi", higher_is_better=True)
    assert result.region is not None and not result.region.clear
    assert result.region.p_value > rb.SIGNIFICANCE
    assert "spread over the plausible ranges" in rb.region_sentence(result)


def test_win_shares_add_up_to_one_per_world_and_regret_is_zero_for_the_winner():
    rng = np.random.default_rng(1)
    values = rng.normal(10, 2, size=(64, 3, 2))
    values[:5, 1] = values[:5, 0]  # ties: the win is shared
    units = unit_worlds(64, 3)
    for higher in (True, False):
        result = rb.analyse_kpi(values, units, ranges(3), ["A", "B", "C"], "roi", higher)
        np.testing.assert_allclose(result.wins.sum(axis=1), 1.0)
        assert sum(o.win_share for o in result.designs) == pytest.approx(1.0)
        winners = result.wins > 0
        assert (result.regret[winners] == 0).all() and (result.regret[~winners] > 0).all()
        means = values.mean(axis=2)
        best = means.max(axis=1) if higher else means.min(axis=1)
        np.testing.assert_allclose(
            result.regret.max(axis=1), np.abs(means - best[:, None]).max(axis=1)
        )
    tied = rb.win_matrix(np.array([[1.0, 1.0, 0.0]]), higher_is_better=True)
    np.testing.assert_allclose(tied, [[0.5, 0.5, 0.0]])


def test_a_design_that_wins_everywhere_has_no_losing_region():
    units = unit_worlds(32, 2)
    values = two_designs(np.full(32, 3.0))
    result = rb.analyse_kpi(values, units, ranges(2), NAMES, "roi", higher_is_better=True)
    assert result.favourite == "B" and result.region is None
    assert result.designs[0].regret_median == pytest.approx(2.0)
    assert "in every one of the 32 worlds" in rb.region_sentence(result)


def test_worlds_without_every_design_are_left_out():
    units = unit_worlds(20, 2)
    values = two_designs(np.full(20, 3.0), replicates=2)
    values[3, 1, :] = np.nan  # B never finished in world 3
    values[4, 0, 1] = np.nan  # one replicate of A missing: the other stands for it
    result = rb.analyse_kpi(values, units, ranges(2), NAMES, "roi", higher_is_better=True)
    assert result.worlds == 19


def test_a_handful_of_worlds_is_analysed_too():
    for n in (1, 2, 3):
        units = unit_worlds(n, 2)
        values = two_designs(np.array([3.0, 0.0, 0.5][:n]))
        result = rb.analyse_kpi(values, units, ranges(2), NAMES, "roi", higher_is_better=True)
        assert result.worlds == n and sum(o.win_share for o in result.designs) == 1


def test_wilson_interval_matches_the_published_formula():
    # Newcombe (1998), Statistics in Medicine 17, table I: 81 of 263 -> 0.2553 to 0.3662
    low, high = rb.wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert rb.wilson(0, 10)[0] == 0.0 and rb.wilson(10, 10)[1] == 1.0


def test_a_world_is_decided_only_when_the_lead_is_clear_over_replicates():
    clear = np.array([[[5.0, 5.1, 4.9], [1.0, 1.1, 0.9]]])  # A leads by 4 every time
    noisy = np.array([[[5.0, 1.0, 3.0], [2.0, 4.0, 3.1]]])  # A leads on average only
    values = np.concatenate([clear, noisy])
    decided = rb.decided_worlds(values, higher_is_better=True)
    assert decided.tolist() == [True, False]
    assert rb.decided_worlds(values[:, :, :1], True) is None


def test_prim_peels_towards_the_cases():
    units = unit_worlds(200, 2)
    cases = units[:, 1] > 0.7
    trajectory = rb.prim(units, cases)
    assert trajectory[0].mass == 1.0 and trajectory[0].coverage == 1.0
    densities = [box.density for box in trajectory]
    assert densities == sorted(densities) and densities[-1] == 1.0
    assert all(box.mass >= rb.MIN_MASS for box in trajectory)
    best = rb.clearest_box(trajectory)
    assert best.low[1] == pytest.approx(0.7, abs=0.03) and best.low[0] == 0.0


# --------------------------------------------------------------------------- the design


def structures():
    return [ready_made(name) for name in ("siloed", "aligned", "converged")]


def test_the_worlds_leave_out_decisions_and_mechanisms_with_nothing_to_act_on():
    paths = [r.path for r in rb.uncertain_ranges(structures())]
    assert "mechanisms.handoff.cross_unit_days" in paths
    assert "demand_scale" in paths  # how much demand arrives is an unknown
    assert "brms.latency_effect" in paths  # aligned has BRMs
    for decided in ("structure", "team_size", "brms.count", "levers.shared_language"):
        assert decided not in paths
    for inert in ("mechanisms.rotation.skill_gain", "pdca.z", "mechanisms.change.dip_depth"):
        assert inert not in paths
    assert not any("[]" in p for p in paths)
    siloed_only = [ready_made("siloed"), ready_made("siloed_mature")]
    paths = [r.path for r in rb.uncertain_ranges(siloed_only)]
    assert not any(p.startswith("brms.") for p in paths)
    assert "mechanisms.releases.team_interval_days" not in paths
    off = [s.model_copy(deep=True) for s in siloed_only]
    for s in off:
        s.mechanisms.handoff.enabled = False
    assert not any(r.path.startswith("mechanisms.handoff.") for r in rb.uncertain_ranges(off))


def test_chosen_parameters_are_checked():
    chosen = rb.uncertain_ranges(structures(), ["disciplines.dev.cost_per_day", "demand_scale"])
    assert [(r.path, r.low, r.high) for r in chosen] == [
        ("disciplines.dev.cost_per_day", 300.0, 1200.0),
        ("demand_scale", 0.7, 1.2),
    ]
    with pytest.raises(ScenarioError, match=r"--parameters: 'mechanisms\.nope' is not a parameter"):
        rb.uncertain_ranges(structures(), ["mechanisms.nope"])
    with pytest.raises(ScenarioError, match=r"'brms\.count' differs between the designs"):
        rb.uncertain_ranges(structures(), ["brms.count"])


def test_every_world_runs_every_design_and_the_sample_fills_the_ranges():
    designs = structures()
    found = rb.uncertain_ranges(designs)
    worlds = rb.sample_worlds(found, 40, seed=5)
    assert worlds == rb.sample_worlds(found, 40, seed=5)
    for r in found:
        values = np.array([w[r.path] for w in worlds])
        assert values.min() >= r.low and values.max() <= r.high
        if not r.integer:  # a Latin hypercube puts one world in each 1/40 of the range
            bins = np.floor((values - r.low) / (r.high - r.low) * 40).clip(0, 39)
            assert len(set(bins)) == 40
    peers = next(r for r in found if r.path == "mechanisms.coordination.department_peers")
    assert peers.integer and {w[peers.path] for w in worlds} == {1, 2, 3, 4}
    points = rb.robustness_points(worlds, rb.design_overrides(designs))
    assert len(points) == 120
    assert [p["structure"] for p in points[:6]] == ["siloed", "aligned", "converged"] * 2
    assert points[3]["demand_scale"] == worlds[1]["demand_scale"] == points[5]["demand_scale"]
    assert points[1]["brms.count"] == 3 and points[0]["brms.count"] == 0
    with pytest.raises(ScenarioError, match="--worlds: must be at least 1"):
        rb.sample_worlds(found, 0, seed=5)
    with pytest.raises(ScenarioError, match="at least two designs"):
        rb.design_overrides(designs[:1])


# --------------------------------------------------------------------------- the command


def robustness_cli(out, *extra: str, designs=("siloed", "converged")):
    return cli(
        "robustness",
        *(str(SCENARIOS / f"{name}.yaml") for name in designs),
        "--worlds", "4", "--replicates", "2", "--days", "40",
        "--parameters", "mechanisms.handoff.cross_unit_days", "demand_scale",
        "--kpi", "lead_time_mean", "--kpi", "cost_total",
        "--out", str(out), *extra,
    )  # fmt: skip


def test_the_command_runs_every_design_in_every_world_and_analyze_reprints_it(tmp_path):
    out = tmp_path / "rob"
    done = robustness_cli(out, "--workers", "1", "--format", "svg")
    assert done.returncode == 0, done.stderr
    assert "2 parameters: 4 worlds x 2 designs x 2 replicates = 16 runs" in done.stderr
    assert "Lead time, mean (new work) (lower is better): 4 worlds" in done.stdout
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["kpi"]) == {"lead_time_mean", "cost_total"}
    np.testing.assert_allclose(summary.groupby("kpi")["win_share"].sum(), 1.0)
    worlds = pd.read_csv(out / "worlds.csv")
    assert len(worlds) == 8 and list(worlds["design"][:2]) == [
        "Siloed departments",
        "Converged teams",
    ]
    np.testing.assert_allclose(worlds.groupby("world")["lead_time_mean_win"].sum(), 1.0)
    assert (worlds.loc[worlds["lead_time_mean_win"] == 1, "lead_time_mean_regret"] == 0).all()
    _, results = load_study(out)
    assert results.groupby("point")["seed"].apply(list).map(tuple).nunique() == 1  # CRN
    for chart in ("win_shares", "regret"):
        assert (out / "charts" / f"{chart}.svg").exists()
    again = cli("analyze", str(out), "--no-charts")
    assert again.returncode == 0, again.stderr
    body = done.stdout[done.stdout.index("Lead time") : done.stdout.index("Wrote")]
    assert body in again.stdout
    resumed = robustness_cli(out, "--workers", "1", "--resume", "--no-charts")
    assert resumed.returncode == 0 and "0 runs in" in resumed.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--designs-one"], "error: scenarios: robustness compares two or more designs"),
        (
            ["--parameters", "mechanisms.handoff.nope"],
            "error: --parameters: 'mechanisms.handoff.nope' is not a parameter",
        ),
        (["--worlds", "0"], "argument --worlds: 0 must be at least 1"),
        (["--kpi", "speed"], "error: --kpi: 'speed' is not a KPI (known: "),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    designs = ("siloed",) if args == ["--designs-one"] else ("siloed", "converged")
    extra = [] if args == ["--designs-one"] else args
    done = robustness_cli(tmp_path / "rob", *extra, designs=designs)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "rob").exists()


def test_it_runs_unchanged_on_a_dask_cluster(tmp_path):
    local = robustness_cli(tmp_path / "local", "--workers", "1", "--no-charts")
    dask = robustness_cli(tmp_path / "dask", "--cluster", "local", "--workers", "1", "--no-charts")
    assert local.returncode == dask.returncode == 0, dask.stderr
    assert "on dask" in dask.stderr
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "local" / "worlds.csv"),
        pd.read_csv(tmp_path / "dask" / "worlds.csv"),
    )


# --------------------------------------------------------------------------- the app


@pytest.mark.usefixtures("in_process")
def test_the_compare_page_tests_its_answer_in_plausible_worlds(monkeypatch):
    import ui.robustness

    monkeypatch.setattr(ui.robustness, "APP_WORLDS", 3)
    at = open_app(s="siloed,converged", r="1", seed="1701")
    assert not at.exception
    assert any("How sure are we?" in m.value for m in at.markdown)
    button = next(b for b in at.button if b.label == "Test against plausible worlds")
    assert not [c for c in at.get("vega_lite_chart") if "worlds won" in c.proto.spec]
    button.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    said = "\n".join(m.value for m in at.markdown)
    assert "in the 3 worlds" in said or "every one of the 3 worlds" in said
    assert "Converged teams is best on Lead time" in said
    assert any("worlds won (%)" in c.proto.spec for c in at.get("vega_lite_chart"))
    tables = [t.value for t in at.dataframe if "Won [95% CI]" in t.value.columns]
    assert len(tables) == 8 and tables[0]["Organisation"].iloc[0] == "Siloed departments"
    # the answer stays while the page reruns for anything else
    at.run()
    assert "Converged teams is best on Lead time" in "\n".join(m.value for m in at.markdown)


@pytest.mark.usefixtures("in_process")
def test_organisations_a_study_cannot_compare_get_an_error_box(monkeypatch):
    import ui.robustness

    monkeypatch.setattr(ui.robustness, "APP_WORLDS", 2)
    at = open_app(s="siloed,transition_big_bang", r="1", seed="1801")
    next(b for b in at.button if b.label == "Test against plausible worlds").click().run()
    assert not at.exception
    (error,) = [e.value for e in at.error if "How sure" in e.value]
    assert "changes" in error and "single values" in error


def test_charts_show_win_shares_with_intervals_and_regret_in_the_kpis_unit():
    from simulation.presentation.robustness_charts import regret_chart, win_share_chart

    units = unit_worlds(40, 2)
    cost = two_designs(np.where(units[:, 0] < 0.5, 1.2e6, 0.9e6)) * 1.0
    cost[:, 0] = 1.0e6  # A costs 1.0M; B 0.9M or 1.2M
    found = [rb.analyse_kpi(cost, units, ranges(2), NAMES, "cost_total")]
    chart = regret_chart(found)
    regret = chart.data  # one panel: Altair lifts its data to the top
    assert regret.groupby("design")["regret"].max().to_dict() == pytest.approx(
        {"A": 100.0, "B": 200.0}  # in thousands, the catalog's unit for cost
    )
    bars = win_share_chart(found).data  # lifted from its two layers
    assert bars["share"].sum() == pytest.approx(100.0)
    assert (bars["low"] <= bars["share"]).all() and (bars["share"] <= bars["high"]).all()


@pytest.mark.usefixtures("in_process")
def test_the_results_page_shows_a_robustness_study(tmp_path, monkeypatch):
    assert robustness_cli(tmp_path / "rob", "--workers", "1", "--no-charts").returncode == 0
    at = open_results(monkeypatch, tmp_path, "rob")
    assert not at.exception and not at.error, [e.value for e in at.error]
    said = "\n".join(m.value for m in at.markdown)
    assert "How sure: robustness across plausible worlds" in said
    assert "best on Lead time, mean (new work)" in said and "best on Cost" in said
    assert any("worlds won (%)" in c.proto.spec for c in at.get("vega_lite_chart"))
