"""Studies run as sweeps: the experiment a study writes, its spec in the manifest,
common random numbers across points, and the refusals."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.analysis.sweep_stats import kpi_matrix
from simulation.errors import ScenarioError
from simulation.running import batch
from simulation.running.studies import Study, load_study, run_study, study_spec
from tests.conftest import ready_made, short, swept


def small_study(**fields) -> Study:
    values = {
        "kind": "explain",
        "name": "two BRM counts",
        "base": short(ready_made("aligned"), days=40),
        "points": [{"brms.count": 0}, {"brms.count": 3}],
        "replicates": 3,
        "spec": {"factors": {"brms": ["brms.count"]}},
    }
    return Study(**(values | fields))


def test_a_study_runs_as_a_sweep_and_keeps_its_spec(tmp_path):
    study = small_study()
    outcome = run_study(study, tmp_path / "out")
    assert outcome.complete and outcome.ran == 6
    spec, results = load_study(tmp_path / "out")
    assert spec == {"kind": "explain", "factors": {"brms": ["brms.count"]}}
    assert list(results["brms.count"]) == [0, 0, 0, 3, 3, 3]
    # replicate r runs with seed + r at every point: common random numbers
    assert list(results["seed"]) == [2026, 2027, 2028] * 2


def test_kpi_matrix_lines_up_replicates_across_points(tmp_path):
    run_study(small_study(), tmp_path / "out")
    _, results = load_study(tmp_path / "out")
    matrix = kpi_matrix(results, "delivered", points=2, replicates=3)
    for row in results.itertuples():
        assert matrix[row.point, row.replicate] == row.delivered
    shuffled = results.sample(frac=1, random_state=1).reset_index(drop=True)
    np.testing.assert_array_equal(kpi_matrix(shuffled, "delivered", 2, 3), matrix)
    missing = kpi_matrix(results.iloc[:-1], "delivered", 2, 3)  # an unfinished run
    assert np.isnan(missing[1, 2]) and np.isfinite(missing[:, :2]).all()


def test_a_resumed_study_must_be_the_same_study(tmp_path):
    out = tmp_path / "out"
    run_study(small_study(), out)
    (out / batch.RESULTS).unlink()
    other = small_study(spec={"factors": {"brms": ["brms.count"], "x": []}})
    with pytest.raises(ScenarioError, match="holds a different experiment"):
        run_study(other, out, resume=True)
    assert run_study(small_study(), out, resume=True).ran == 0


def test_a_study_point_must_set_single_values():
    with pytest.raises(ScenarioError) as error:
        small_study(points=[{"brms.count": 1}, {"disciplines": []}]).plan()
    assert str(error.value) == (
        "points[1].disciplines: a study varies single values, not lists or mappings"
    )


def test_a_plain_sweep_is_not_a_study(tmp_path):
    out = swept(tmp_path / "out")
    assert study_spec(out) is None
    assert "study" not in batch.read_manifest(out)["experiment"]
    with pytest.raises(ScenarioError, match="holds a sweep, not a study"):
        load_study(out)


@pytest.mark.parametrize("kind", ["explain", "robustness", "sensitivity"])
def test_analysing_a_study_without_finished_runs_is_one_line(kind, tmp_path, capsys):
    from simulation import cli

    out = tmp_path / "out"
    run_study(small_study(kind=kind), out)
    for written in [out / batch.RESULTS, *(out / batch.PARTS).glob("*.parquet")]:
        written.unlink()
    assert cli.main(["analyze", str(out)]) == 2
    assert capsys.readouterr().err.strip().endswith("holds no finished runs yet")
