"""Explaining a gap (issue 13, item 1): Shapley values of the factors that differ and of
the mechanisms that carry the gap, on synthetic games with known answers and on short
real studies with common random numbers; the command line and its refusals."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml

from simulation.analysis import explain, shapley
from simulation.analysis.sweep_stats import kpi_matrix
from simulation.catalog.parameters import mechanism_label
from simulation.errors import ScenarioError
from simulation.inputs.scenario import Mechanisms, with_overrides
from simulation.presentation.explain_report import interaction_text
from simulation.running.runs import run_scenario
from simulation.running.studies import Study, load_study, run_study
from tests.conftest import cli, ready_made, short

# --------------------------------------------------------------------------- synthetic games


def two_player_game(a: float, b: float, c: float, k: int = 3) -> dict[int, np.ndarray]:
    """v(S) = a*[0 in S] + b*[1 in S] + c*[0 and 1 in S]; players 2.. are dummies."""

    def v(players: frozenset[int]) -> float:
        return a * (0 in players) + b * (1 in players) + c * ({0, 1} <= players)

    return shapley.game_from(v, k, shapley.all_coalitions(k))


def test_exact_shapley_splits_an_interaction_evenly_and_gives_a_dummy_zero():
    game = two_player_game(a=3.0, b=-1.0, c=4.0)
    phi = shapley.shapley_exact(game, 3)[:, 0]
    np.testing.assert_allclose(phi, [3.0 + 2.0, -1.0 + 2.0, 0.0], atol=1e-12)
    assert phi.sum() == pytest.approx(game[shapley.full(3)][0] - game[0][0])


def test_an_interaction_shows_up_as_an_interaction():
    game = two_player_game(a=3.0, b=-1.0, c=4.0)
    assert shapley.interaction_index(game, 3, 0, 1)[0] == pytest.approx(4.0)
    assert shapley.interaction_index(game, 3, 0, 2)[0] == pytest.approx(0.0)
    assert shapley.interaction_index(game, 3, 1, 2)[0] == pytest.approx(0.0)
    additive = two_player_game(a=3.0, b=-1.0, c=0.0)
    assert shapley.interaction_index(additive, 3, 0, 1)[0] == pytest.approx(0.0)
    # the analysis names it, with each alone and both together
    rows = explain.interaction_rows(game, 3, ["x", "y", "z"], "lead_time_mean")
    top = rows.iloc[0]
    assert top["pair"] == "x x y" and top["interaction"] == pytest.approx(4.0)
    assert (top["alone_first"], top["alone_second"], top["together"]) == pytest.approx((3, -1, 6))


def rich_game(k: int, replicates: int, seed: int) -> dict[int, np.ndarray]:
    """Main effects, pair interactions and a three-way term, with replicate noise
    shared by every coalition's replicate r (as common random numbers are)."""
    rng = np.random.default_rng(seed)
    main = rng.normal(0, 2, k)
    pair = rng.normal(0, 1, (k, k))
    noise = rng.normal(0, 0.3, (k, replicates))
    game = {}
    for mask in shapley.all_coalitions(k):
        members = [i for i in range(k) if mask >> i & 1]
        value = sum(main[i] for i in members) + sum(
            pair[i, j] for i in members for j in members if i < j
        )
        value += 5.0 * (len(members) >= 3 and {0, 1, 2} <= set(members))
        game[mask] = np.full(replicates, float(value)) + noise[members].sum(axis=0)
    return game


def test_sampled_shapley_agrees_with_exact_within_its_stated_error():
    k, replicates = 9, 4
    game = rich_game(k, replicates, seed=5)
    exact = shapley.shapley_exact(game, k).mean(axis=1)
    orders = shapley.antithetic_orders(k, 60, np.random.default_rng(11))
    sampled = shapley.shapley_sampled(game, orders, k)
    error = shapley.sampling_error(game, orders, k)
    assert (error > 0).all()
    # within three standard errors for every player (a 0.3% chance each if unbiased)
    assert (np.abs(sampled.mean(axis=1) - exact) <= 3 * error).all()
    # and it adds up exactly in every replicate, whatever the orders
    total = game[shapley.full(k)] - game[0]
    np.testing.assert_allclose(sampled.sum(axis=0), total, atol=1e-9)


def test_an_order_s_marginal_contributions_telescope_to_the_total():
    k = 5
    game = rich_game(k, 3, seed=2)
    orders = shapley.antithetic_orders(k, 2, np.random.default_rng(1))
    assert orders[1] == orders[0][::-1]
    contributions = shapley.marginal_contributions(game, orders, k)
    for per_order in contributions:
        np.testing.assert_allclose(per_order.sum(axis=0), game[shapley.full(k)] - game[0])


def synthetic_spec(k_factors: int, players: int, method: str = "exact") -> dict:
    """An explain spec over a synthetic design: the points are numbered as
    :func:`explain.design` numbers them (mask order), A and B first."""
    factor_points = [[mask, mask] for mask in range(1 << k_factors)]
    offset = 1 << k_factors
    mechanism_points = [
        [mask, offset + 2 * mask, offset + 2 * mask + 1] for mask in range(1 << players)
    ]
    return {
        "a": "A",
        "b": "B",
        "kpis": ["lead_time_mean"],
        "factors": [{"name": f"f{i}", "label": f"f{i}"} for i in range(k_factors)],
        "factor_method": method,
        "factor_orders": [],
        "factor_points": factor_points,
        "mechanisms": [{"name": f"m{i}", "label": f"m{i}"} for i in range(players)],
        "mechanism_method": method,
        "mechanism_orders": [],
        "mechanism_points": mechanism_points,
    }


def test_the_mechanism_split_starts_with_every_mechanism_off_and_adds_up():
    spec = synthetic_spec(1, 2)
    matrix = np.zeros((2 + 8, 2))
    # gap with nothing on: 1; mechanism 0 adds 3 to B only, mechanism 1 adds 1 to A only
    for mask, pa, pb in spec["mechanism_points"]:
        matrix[pa] = 10 + (mask >> 1 & 1)
        matrix[pb] = 11 + 3 * (mask & 1)
    split = explain.decompose_mechanisms(spec, matrix, "lead_time_mean")
    table = split.table().set_index("line")
    assert table.loc[explain.ALL_OFF, "mean"] == pytest.approx(1.0)
    assert table.loc["m0", "mean"] == pytest.approx(3.0)
    assert table.loc["m1", "mean"] == pytest.approx(-1.0)
    assert table.loc["total", "mean"] == pytest.approx(3.0)
    assert split.adds_up == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------- the design


def test_the_structure_is_one_factor_and_other_fields_their_own():
    a, b = ready_made("siloed_mature"), ready_made("converged")
    factors = explain.factors_between(a, b)
    assert [f.name for f in factors] == ["structure", "shared_language", "transparency"]
    assert factors[0].fields == {"levers.prioritisation": "value", "structure": "converged"}
    assert factors[0].before == {"levers.prioritisation": "fifo", "structure": "siloed"}
    grouped = explain.factors_between(
        a, b, explain.parse_groups(["ways=levers.shared_language,levers.transparency"])
    )
    assert [f.name for f in grouped] == ["ways", "structure"]


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (["x=levers.cross_skill"], "--group x: levers.cross_skill does not differ"),
        (["x=levers.transparency", "y=levers.transparency"], "levers.transparency is in two"),
        (["x="], "--group: 'x=' is not NAME=FIELD,FIELD"),
    ],
)
def test_a_bad_group_is_one_line_naming_it(groups, message):
    a, b = ready_made("siloed_mature"), ready_made("converged")
    with pytest.raises(ScenarioError, match=message):
        explain.factors_between(a, b, explain.parse_groups(groups))


def test_identical_designs_and_differing_lists_are_refused():
    a = ready_made("siloed")
    with pytest.raises(ScenarioError, match="nothing differs"):
        explain.factors_between(a, with_overrides(a, {"seed": 99, "name": "Other"}))
    changed = a.model_copy(update={"changes": ready_made("transition_stepwise").changes})
    with pytest.raises(ScenarioError, match=r"^changes: a list differs"):
        explain.factors_between(a, changed)


def test_design_points_start_with_a_and_b_and_cover_every_coalition():
    a, b = ready_made("siloed_mature"), ready_made("converged")
    points, spec = explain.design(a, b, ["lead_time_mean"])
    assert points[0] == {} and points[1] == {
        "levers.prioritisation": "value",
        "structure": "converged",
        "levers.shared_language": 0.2,
        "levers.transparency": 0.2,
    }
    assert spec["factor_method"] == explain.EXACT and len(spec["factor_points"]) == 8
    players = [m["name"] for m in spec["mechanisms"]]
    assert spec["idle"] == ["rotation", "language", "change", "turnover"]
    assert spec["held_on"] == ["cx"] and "cx" not in players
    assert len(players) > explain.EXACT_UP_TO and spec["mechanism_method"] == explain.SAMPLED
    assert len(spec["mechanism_orders"]) == explain.DEFAULT_ORDERS
    assert explain.point_count(spec) == len(points)
    for mask, pa, pb in spec["mechanism_points"]:
        off = {f"mechanisms.{m}.enabled": False for i, m in enumerate(players) if not mask >> i & 1}
        assert points[pa] == off and points[pb] == {**points[1], **off}


def test_idle_mechanisms_change_nothing_in_either_design():
    """The rules of :func:`idle.mechanism_idle` hold: switching an idle mechanism off
    leaves every KPI of the run as it was (so leaving it out costs nothing)."""
    for name in ("siloed", "aligned", "converged"):
        scenario = short(ready_made(name), days=40)
        _, idle, _ = explain.mechanism_players(scenario, scenario)
        assert idle, name
        before = run_scenario(scenario, seed=3).kpis
        off = with_overrides(scenario, {f"mechanisms.{m}.enabled": False for m in idle})
        after = run_scenario(off, seed=3).kpis
        assert after == before, name


def test_a_mechanism_that_acts_is_not_idle():
    scenario = with_overrides(ready_made("siloed"), {"levers.rotation_share": 0.2})
    players, idle, _ = explain.mechanism_players(scenario, scenario)
    assert "rotation" in players and "language" in players and "rotation" not in idle


def test_every_mechanism_has_a_catalog_label():
    from simulation.catalog.parameters import PARAMETERS

    switches = {p.path: p.description for p in PARAMETERS}
    labels = [mechanism_label(name) for name in Mechanisms.model_fields]
    assert len(set(labels)) == len(labels)
    for name, label in zip(Mechanisms.model_fields, labels, strict=True):
        assert f"Switches {label}" in switches[f"mechanisms.{name}.enabled"]
        assert "(" not in label


# --------------------------------------------------------------------------- real studies


def few_mechanisms(scenario, keep=("handoff", "rework")):
    """``scenario`` with only the mechanisms ``keep`` switched on (cx held on): a study
    of four coalitions, for speed."""
    return with_overrides(
        scenario,
        {f"mechanisms.{m}.enabled": m in (*keep, "cx") for m in Mechanisms.model_fields},
    )


def small_study(a, b, kpis, replicates=3, **design):
    points, spec = explain.design(a, b, kpis, **design)
    return Study("explain", "test", a, points, replicates, 7, spec), spec


def test_a_factor_that_cannot_matter_gets_exactly_zero_and_the_split_adds_up(tmp_path):
    """B differs from A in its structure and in the length of a rotation stint, but
    nobody rotates: with common random numbers the stint's contribution is exactly 0 in
    every replicate, the structure gets the whole gap, and the lines add up."""
    a = few_mechanisms(short(ready_made("siloed"), days=40))
    b = with_overrides(a, {"structure": "converged", "mechanisms.rotation.stint_days": 40.0})
    kpis = ["lead_time_mean", "rework_effort_share"]
    study, spec = small_study(a, b, kpis)
    assert [f["name"] for f in spec["factors"]] == ["structure", "mechanisms.rotation.stint_days"]
    run_study(study, tmp_path / "out")
    _, results = load_study(tmp_path / "out")
    for kpi in kpis:
        matrix = kpi_matrix(results, kpi, explain.point_count(spec), 3)
        factors = explain.decompose_factors(spec, matrix, kpi)
        mechanisms = explain.decompose_mechanisms(spec, matrix, kpi)
        stint = factors.lines[1]
        assert (stint == 0.0).all(), kpi
        assert (factors.lines[0] == factors.total).all(), kpi
        assert (factors.total != 0).any(), kpi
        assert factors.adds_up <= 1e-9 and mechanisms.adds_up <= 1e-9
        np.testing.assert_allclose(mechanisms.total, factors.total)
    # without rework nobody misunderstands anything: rework's share of effort is all
    # rework's, and the gap with every mechanism off is zero
    matrix = kpi_matrix(results, "rework_effort_share", explain.point_count(spec), 3)
    rework = explain.decompose_mechanisms(spec, matrix, "rework_effort_share").table()
    line = rework.set_index("line")
    assert line.loc[explain.ALL_OFF, "mean"] == 0.0
    assert line.loc["rework", "mean"] != 0.0


# --------------------------------------------------------------------------- command line


def scenario_files(folder, a, b):
    paths = []
    for name, scenario in (("a", a), ("b", b)):
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(scenario.model_dump(mode="json")))
        paths.append(str(path))
    return paths


def test_the_command_prints_the_splits_and_analyze_reprints_them(tmp_path):
    a = few_mechanisms(short(ready_made("siloed"), days=30))
    b = with_overrides(a, {"structure": "converged", "levers.transparency": 0.6})
    files = scenario_files(tmp_path, a, b)
    out = tmp_path / "study"
    done = cli("explain", *files, "--replicates", "2", "--kpi", "lead_time_mean",
               "--workers", "1", "--out", str(out), "--format", "svg")  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "Lead time, mean (new work) (days):" in text
    assert re.search(r"\n  Why.*: .*the structure", text, re.IGNORECASE)
    assert "What differs: exact Shapley values over 2 factors (all 4 coalitions)" in text
    assert "the structure" in text and "Transparency" in text
    assert "every mechanism off (queueing and structure alone)" in text
    assert "handoff latency" in text and "misunderstanding and rework" in text
    assert text.count("The contributions add up to the gap in every replicate") == 2
    assert "Largest interaction: structure x transparency" in text
    for name in ("contributions.csv", "replicates.csv", "interactions.csv"):
        assert (out / name).exists()
    assert (out / "charts" / "explain_lead_time_mean.svg").exists()
    again = cli("analyze", str(out), "--no-charts")
    assert again.returncode == 0, again.stderr
    start = text.index("Lead time, mean")
    assert again.stdout.startswith(text[start : text.index("Wrote", start)])
    # a study is a sweep: the same --out is refused without --resume, and resumed it
    # runs nothing more and prints the same explanation
    args = ["explain", *files, "--replicates", "2", "--kpi", "lead_time_mean",
            "--workers", "1", "--out", str(out), "--no-charts"]  # fmt: skip
    refused = cli(*args)
    assert refused.returncode == 2 and "add --resume" in refused.stderr
    resumed = cli(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("0 runs in")
    assert text[start : text.index("Wrote", start)] in resumed.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.yaml", "scenarios/siloed.yaml"], "missing.yaml"),
        (["scenarios/siloed.yaml", "scenarios/converged.yaml", "--kpi", "speed"],
         "--kpi: 'speed' is not a KPI"),
        (["scenarios/siloed.yaml", "scenarios/siloed.yaml"], "nothing differs"),
        (["scenarios/siloed.yaml", "scenarios/converged.yaml", "--group", "x=structure,y"],
         "--group x: y does not differ"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    done = cli("explain", *args, "--out", str(tmp_path / "never"))
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "never").exists()


def test_explain_has_help_and_analyze_still_refuses_a_folder_without_a_sweep(tmp_path):
    done = cli("explain", "--help")
    assert done.returncode == 0 and "usage:" in done.stdout and "%%" not in done.stdout
    empty = cli("analyze", str(tmp_path))
    assert empty.returncode == 2 and "holds no sweep" in empty.stderr


def test_the_command_line_defaults_are_the_analysis_defaults():
    from simulation import cli as command_line

    assert command_line.EXPLAIN_REPLICATES == explain.DEFAULT_REPLICATES
    assert command_line.EXPLAIN_ORDERS == explain.DEFAULT_ORDERS
    assert command_line.EXPLAIN_EXACT_UP_TO == explain.EXACT_UP_TO


def test_many_factors_are_sampled_and_an_additive_gap_is_split_exactly():
    """Eight differing fields: too many for every coalition, so orders are sampled;
    on an additive game every order gives each factor its own effect, so the sampled
    values are exact, their sampling error zero, and they add up."""
    a = ready_made("siloed")
    changes = {f"disciplines.{d.name}.headcount": d.headcount + 1 for d in a.disciplines}
    changes |= {"levers.shared_language": 0.4, "levers.transparency": 0.5}
    b = with_overrides(a, changes)
    points, spec = explain.design(a, b, ["lead_time_mean"])
    assert len(spec["factors"]) == 8 and spec["factor_method"] == explain.SAMPLED
    names = [f["name"] for f in spec["factors"]]
    assert names[:2] == ["shared_language", "transparency"] and "headcount.dev" in names
    effects = np.arange(1.0, 9.0)
    matrix = np.full((len(points), 3), np.nan)
    for mask, point in spec["factor_points"]:
        chosen = [i for i in range(8) if mask >> i & 1]
        matrix[point] = effects[chosen].sum() + np.array([0.0, 0.1, -0.1])
    split = explain.decompose_factors(spec, matrix, "lead_time_mean")
    np.testing.assert_allclose(split.lines.mean(axis=1), effects)
    np.testing.assert_allclose(split.sampling_se, 0.0, atol=1e-12)
    assert split.adds_up <= 1e-12
    assert split.interactions is None
    assert "--group brings the factors down" in interaction_text(split)[0]


def test_the_why_sentence_names_the_main_contributor_with_its_interval():
    spec = synthetic_spec(2, 1)
    spec["factors"] = [{"name": "structure", "label": "the structure"},
                       {"name": "ways", "label": "ways"}]  # fmt: skip
    matrix = np.zeros((4 + 4, 3))
    noise = np.array([0.0, 0.2, -0.2])
    for mask, point in spec["factor_points"]:
        matrix[point] = 20 - 7.6 * (mask & 1) + 3.6 * (mask >> 1 & 1) + noise * (mask & 1)
    for mask, pa, pb in spec["mechanism_points"]:
        matrix[pa], matrix[pb] = 20.0, 20.0 - 4.0 * mask
    factors = explain.decompose_factors(spec, matrix, "lead_time_mean")
    mechanisms = explain.decompose_mechanisms(spec, matrix, "lead_time_mean")
    (sentence,) = explain.why_sentences(factors, mechanisms)
    assert sentence.startswith(
        "Lead time, mean (new work): The structure alone brings more than the whole "
        "-4.0 days (-7.6 days, 95% CI -8.1 days to -7.1 days); ways adds +3.6 days."
    )
    assert sentence.endswith("Mechanisms that carry it: m0 (-4.0 days).")
