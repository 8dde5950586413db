"""Large designs (issue 12, item 4): plans made lazily, sweeps submitted and gathered in
bounded pieces, with the points, rows and files of a design expanded whole."""

from __future__ import annotations

import itertools
import json
import re
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy.stats import qmc

from simulation.inputs import experiment as experiment_module
from simulation.inputs.experiment import Experiment, Range, plan_from_data, run_id
from simulation.inputs.scenario import ScenarioError
from simulation.running import batch
from simulation.running.batch import load_results, sweep
from simulation.running.executors import InProcess
from tests.conftest import cli, experiment_data, experiment_file, parts_written

# --------------------------------------------------------------------------- points


def expanded_whole(experiment: Experiment) -> list[dict]:
    """The design's points as Converge built them before plans were lazy: every point in
    one list (itertools.product for grids, one draw of the unit matrix for samples)."""
    if experiment.design == "list":
        return [dict(p) for p in experiment.points]
    names = list(experiment.parameters)
    specs = [experiment.parameters[n] for n in names]

    def grid_values(spec):
        if isinstance(spec, Range):
            values = np.linspace(spec.low, spec.high, spec.steps)
            return [round(float(v)) if spec.integer else float(v) for v in values]
        return list(spec)

    def from_unit(spec, u):
        if isinstance(spec, Range):
            value = spec.low + u * (spec.high - spec.low)
            return round(float(value)) if spec.integer else float(value)
        return spec[min(int(u * len(spec)), len(spec) - 1)]

    if experiment.design == "grid":
        axes = [grid_values(s) for s in specs]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)]
    rng = np.random.default_rng(np.random.SeedSequence(experiment.seed, spawn_key=(2**31,)))
    if experiment.design == "lhs":
        unit = qmc.LatinHypercube(d=len(specs), rng=rng).random(experiment.samples)
    else:
        unit = rng.random((experiment.samples, len(specs)))
    return [{n: from_unit(s, u) for n, s, u in zip(names, specs, row, strict=True)} for row in unit]


RANGES = {
    "levers.shared_language": {"low": 0.1, "high": 0.9, "steps": 4},
    "brms.count": {"low": 0, "high": 6, "steps": 3, "integer": True},
    "levers.transparency": [0.2, 0.5, 0.8],
}

DESIGNS = [
    {"design": "grid", "parameters": RANGES},
    {"design": "grid", "parameters": {"brms.count": [0, 1, 2, 3, 4]}},
    {"design": "list", "parameters": None, "points": [{"brms.count": 1}, {"team_size": 5}]},
    *(
        {"design": kind, "samples": 37, "seed": seed, "parameters": parameters}
        for kind in ("random", "lhs")
        for seed in (0, 2026)
        for parameters in (
            {
                k: {"low": 0.0, "high": 1.0}
                for k in ("levers.transparency", "levers.shared_language")
            },
            {
                "brms.count": {"low": 0, "high": 6, "integer": True},
                "levers.transparency": {"low": 0.1, "high": 0.9},
            },
        )
    ),
    {
        "design": "random",
        "samples": 25,
        "parameters": {"brms.count": [0, 2, 4], "levers.transparency": {"low": 0, "high": 1}},
    },
]


@pytest.mark.parametrize("fields", DESIGNS, ids=lambda f: f["design"])
def test_points_made_by_index_are_the_points_of_the_design_expanded_whole(fields):
    plan = plan_from_data(experiment_data(replicates=2, **fields))
    reference = expanded_whole(plan.experiment)
    assert plan.point_count == len(reference) and plan.run_count == 2 * len(reference)
    assert [plan.point(i) for i in range(plan.point_count)] == reference
    assert plan.points == reference  # read in any order, too
    assert [plan.point(i) for i in reversed(range(plan.point_count))] == reference[::-1]
    runs = [(p, r) for p in range(len(reference)) for r in range(2)]
    assert [(r.point, r.replicate) for r in plan.iter_runs()] == runs
    assert [(r.point, r.replicate) for r in plan.iter_runs(3)] == runs[3:]
    assert list(plan.runs) == list(plan.iter_runs())


def test_random_rows_drawn_in_blocks_equal_one_draw():
    # what makes point i of a random design computable alone: rows follow each other
    # in the generator's stream, d draws a row
    def rng():
        return np.random.default_rng(np.random.SeedSequence(5, spawn_key=(2**31,)))

    whole = rng().random((50, 3))
    blocked = rng()
    assert np.array_equal(np.vstack([blocked.random((10, 3)) for _ in range(5)]), whole)


# --------------------------------------------------------------------------- size


def test_a_plan_of_ten_million_runs_counts_and_starts_without_building_them():
    data = experiment_data(
        parameters={
            "brms.count": list(range(10)),
            "levers.shared_language": {"low": 0.0, "high": 1.0, "steps": 100},
            "levers.transparency": {"low": 0.0, "high": 1.0, "steps": 100},
        },
        replicates=100,
    )
    with pytest.raises(ScenarioError, match="10,000,000 runs"):
        plan_from_data(data)  # refused unless raised on purpose
    plan = plan_from_data(data, max_runs=10**7)
    tracemalloc.start()
    try:
        assert plan.run_count == 10**7 and len(plan.runs) == 10**7
        jobs = batch.plan_jobs(plan, set(), None, workers=2)
        first = next(jobs)
        last = plan.runs[-1]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [r.id for r in first.runs] == [f"p00000-r{r:04d}" for r in range(batch.MAX_CHUNK)]
    assert (last.point, last.replicate) == (99_999, 99)
    assert plan.point(99_999) == {
        "brms.count": 9,
        "levers.shared_language": 1.0,
        "levers.transparency": 1.0,
    }
    # a list of 10^7 runs alone would take gigabytes
    assert peak < 2_000_000, f"{peak:,} bytes"


@pytest.fixture
def checked_on_a_sample(monkeypatch):
    """Designs of more than 2 points count as large: validated on a sample."""
    monkeypatch.setattr(experiment_module, "FULLY_CHECKED_POINTS", 2)
    monkeypatch.setattr(experiment_module, "FIRST_CHECKED_POINTS", 1)


def test_a_large_grid_is_refused_up_front_for_any_bad_axis_value(checked_on_a_sample):
    data = experiment_data(
        parameters={"levers.shared_language": [0.2, 0.4, 0.6], "brms.count": [0, 1, -1, 2]}
    )
    # -1 first appears at point 2 and never in the first or last point
    with pytest.raises(ScenarioError, match=r"parameters\.brms\.count.*at point"):
        plan_from_data(data)


def test_an_invalid_point_found_late_becomes_error_rows(checked_on_a_sample, tmp_path):
    points = [{"brms.count": 1}, {"brms.count": 2}, {"brms.count": -1}, {"brms.count": 0}]
    plan = plan_from_data(experiment_data(parameters=None, design="list", points=points))
    out = tmp_path / "out"
    outcome = sweep(plan, out, InProcess(), chunk_size=4)
    results = load_results(out)
    assert outcome.complete and outcome.errors == 3
    failed = results[results["status"] == "error"]
    assert list(failed["point"]) == [2, 2, 2] and list(failed["brms.count"]) == [-1] * 3
    assert failed["error"].str.contains(r"points\.brms\.count: .*\(at point 2: ").all()
    assert not failed["error"].str.contains("\n").any()
    assert (results["status"] == "ok").sum() == 9


# --------------------------------------------------------------------------- sweeps


def part_ranges(out) -> list[tuple[str, str]]:
    return [tuple(name.removesuffix(".parquet").split("_")) for name in parts_written(out)]


def test_a_resumed_sweep_writes_parts_that_never_overlap(tmp_path):
    data = experiment_data(days=20)
    out = tmp_path / "out"
    sweep(plan_from_data(data), out, InProcess(), chunk_size=1)
    expected = load_results(out)
    # an interrupted sweep: holes between runs already written
    for name in parts_written(out)[1:3] + parts_written(out)[5:8]:
        (out / "parts" / name).unlink()
    (out / "results.parquet").unlink()
    outcome = sweep(plan_from_data(data), out, InProcess(), resume=True, chunk_size=4)
    assert (outcome.skipped, outcome.ran) == (7, 5)
    ranges = part_ranges(out)
    assert all(first <= last for first, last in ranges)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges)), ranges
    timing = ["elapsed_s"]
    pd.testing.assert_frame_equal(
        load_results(out).drop(columns=timing), expected.drop(columns=timing)
    )


def gathered_in_memory(folder, order, tmp_path) -> pd.DataFrame:
    """What gathering did before it streamed: every part concatenated, sorted, written
    to one file; read back."""
    parts = sorted(folder.glob("*.parquet"))
    frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    frame.sort_values(order).reset_index(drop=True).to_parquet(
        tmp_path / "old.parquet", index=False
    )
    return pd.read_parquet(tmp_path / "old.parquet")


@pytest.mark.parametrize(
    "fields",
    [
        {},
        # some points lack a parameter: an int column with missing values, a bool column
        {
            "design": "list",
            "parameters": None,
            "points": [
                {"brms.count": 3},
                {"brms.count": 0, "levers.transparency": 0.5},
                {"mechanisms.rotation.enabled": False},
                {"brms.count": 1},
            ],
        },
    ],
    ids=["grid", "list with missing values"],
)
def test_streamed_gathering_equals_concatenating_every_part(fields, tmp_path, monkeypatch):
    real = batch.run_scenario

    def point_one_fails(scenario, seed=None, **kw):
        if scenario.brms.count == 0:  # a whole chunk of errors: a part with no KPIs
            raise RuntimeError("simulated failure")
        return real(scenario, seed=seed, **kw)

    monkeypatch.setattr(batch, "run_scenario", point_one_fails)
    monkeypatch.setattr(batch, "GATHER_ROWS", 4)  # several batches, parts across them
    out = tmp_path / "out"
    plan = plan_from_data(experiment_data(days=20, **fields))
    sweep(plan, out, InProcess(), chunk_size=3, daily=True)
    errors_only = pd.read_parquet(out / "parts" / "p00001-r0000_p00001-r0002.parquet")
    assert (errors_only["status"] == "error").all() and "rework_rate" not in errors_only
    results = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(results, gathered_in_memory(out / "parts", ["run_id"], tmp_path))
    assert pq.ParquetFile(out / "results.parquet").metadata.num_row_groups > 1  # streamed
    daily = pd.read_parquet(out / "daily.parquet")
    pd.testing.assert_frame_equal(
        daily, gathered_in_memory(out / "daily", ["run_id", "day"], tmp_path)
    )


def test_a_part_reads_as_pandas_reads_it(tmp_path, monkeypatch):
    real = batch.run_scenario

    def point_one_fails(scenario, seed=None, **kw):
        if scenario.brms.count == 0:  # a part of errors only, without the KPI columns
            raise RuntimeError("simulated failure")
        return real(scenario, seed=seed, **kw)

    monkeypatch.setattr(batch, "run_scenario", point_one_fails)
    points = [{"brms.count": 3}, {"brms.count": 0}, {"mechanisms.rotation.enabled": False}]
    plan = plan_from_data(experiment_data(days=20, design="list", parameters=None, points=points))
    sweep(plan, tmp_path / "out", InProcess(), chunk_size=2, daily=True)
    parts = sorted((tmp_path / "out").glob("*/*.parquet"))
    assert {p.parent.name for p in parts} == {"parts", "daily"} and len(parts) > 6
    for part in parts:
        read, expected = batch.read_part(part), pd.read_parquet(part)
        pd.testing.assert_frame_equal(read, expected, check_exact=True)
        assert read.dtypes.equals(expected.dtypes) and read.index.equals(expected.index)


def test_gathering_keeps_run_order_past_five_digit_point_numbers(tmp_path):
    # p100000 sorts before p99999 as text: gathering orders runs by their numbers
    out = tmp_path / "out"
    (out / "parts").mkdir(parents=True)
    for point in (99_999, 100_000, 100_001):
        ids = [run_id(point, r) for r in range(2)]
        frame = pd.DataFrame({"run_id": ids, "point": point, "replicate": [0, 1]})
        frame.to_parquet(out / "parts" / f"{ids[0]}_{ids[1]}.parquet", index=False)
    assert batch.gather(out) == 6
    results = pd.read_parquet(out / "results.parquet")
    assert list(results["point"]) == [99_999, 99_999, 100_000, 100_000, 100_001, 100_001]
    assert list(results["replicate"]) == [0, 1] * 3


def test_an_unfinished_sweep_reads_in_run_order_past_five_digit_point_numbers(tmp_path):
    # before gathering, load_results reads the parts: in run order too, not as text
    out = tmp_path / "out"
    (out / "parts").mkdir(parents=True)
    (out / batch.MANIFEST).write_text(json.dumps({"status": "stopped"}))
    for point in (100_000, 99_999):
        ids = [run_id(point, r) for r in range(2)]
        frame = pd.DataFrame({"run_id": ids, "point": point, "replicate": [0, 1]})
        frame.to_parquet(out / "parts" / f"{ids[0]}_{ids[1]}.parquet", index=False)
    results = batch.load_results(out)
    assert list(results["point"]) == [99_999, 99_999, 100_000, 100_000]


def test_the_command_line_reports_runs_per_second(tmp_path):
    experiment = experiment_file(tmp_path, replicates=1, days=10)
    done = cli("sweep", str(experiment), "--out", str(tmp_path / "out"), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^4 runs in [\d.]+ s \([\d.]+ runs/s\)\.$", done.stdout, re.MULTILINE)


def test_a_resumed_sweeps_progress_counts_only_its_own_runs(tmp_path, monkeypatch):
    from simulation import cli as command_line

    bars = []

    class Bar:
        """Stands in for tqdm: records how it was made and what it was told."""

        def __init__(self, **options):
            self.options, self.n, self.updates = options, options.get("initial", 0), []
            bars.append(self)

        def update(self, step):
            self.n += step
            self.updates.append(step)

        def close(self):
            pass

    monkeypatch.setattr(command_line, "_progress", Bar)
    experiment = experiment_file(tmp_path, replicates=1, days=10)
    out = tmp_path / "out"
    sweep(plan_from_data(experiment_data(replicates=1, days=10)), out, InProcess(), chunk_size=1)
    for name in parts_written(out)[2:]:  # two of four runs lost
        (out / "parts" / name).unlink()
    args = ["sweep", str(experiment), "--out", str(out), "--workers", "1", "--resume"]
    assert command_line.main(args) == 0
    (bar,) = bars
    # the rate and time left count the two runs of this call, not the two written before
    assert bar.options["initial"] == 2 and bar.options["total"] == 4
    assert bar.n == 4 and sum(bar.updates) == 2
