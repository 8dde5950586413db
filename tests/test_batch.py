"""Sweeps: experiment files, executors, nothing lost, identical results, analysis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from simulation.analysis.sweep_stats import configuration_table, sensitivity
from simulation.inputs.experiment import load_experiment, plan_from_data
from simulation.inputs.scenario import ScenarioError
from simulation.running import batch
from simulation.running.batch import load_results, sweep
from simulation.running.executors import DaskExecutor, InProcess, LocalProcesses
from tests.conftest import ROOT, SCENARIOS, Hold, cli, experiment_file, parts_written

EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))


def without_timing(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["elapsed_s"]).reset_index(drop=True)


# --------------------------------------------------------------------------- experiments


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_ready_made_experiments_validate(path):
    plan = load_experiment(path)
    assert len(plan.runs) == len(plan.points) * plan.experiment.replicates > 0


def test_the_four_ready_made_experiments_cover_the_issue():
    plans = {p.stem: load_experiment(p) for p in EXPERIMENTS}
    brm = plans["brm_count"]
    assert [p["brms.count"] for p in brm.points] == list(range(9))
    assert {s.structure for s in brm.scenarios} == {"aligned"}
    assert set(plans["language_transparency"].parameter_names) == {
        "levers.shared_language",
        "levers.transparency",
    }
    assert {s.structure for s in plans["team_size"].scenarios} == {"converged"}
    demand = plans["structure_demand"]
    assert {"structure", "demand_scale"} <= set(demand.parameter_names)
    # each structure sets what defines it, so siloed and aligned really differ
    kinds = {(s.structure, s.prioritisation, s.brms.count) for s in demand.scenarios}
    assert kinds == {("siloed", "fifo", 0), ("aligned", "value", 3), ("converged", "value", 0)}
    # ... and nothing else: the ways of working are the same at every point
    ways = {
        (s.levers.shared_language, s.levers.transparency, s.levers.culture_events_per_quarter)
        for s in demand.scenarios
    }
    assert len(ways) == 1


def test_designs_expand_as_documented():
    base = {"base": None, "scenario": {"horizon_days": 30}, "replicates": 2}
    grid = plan_from_data(
        {
            **base,
            "parameters": {"brms.count": [1, 2, 3], "team_size": {"low": 4, "high": 8, "steps": 3}},
        }
    )
    assert len(grid.points) == 9 and {p["team_size"] for p in grid.points} == {4.0, 6.0, 8.0}
    lhs = plan_from_data(
        {
            **base,
            "design": "lhs",
            "samples": 10,
            "parameters": {"levers.transparency": {"low": 0.0, "high": 1.0}},
        }
    )
    values = sorted(p["levers.transparency"] for p in lhs.points)
    # a Latin hypercube puts exactly one sample in each tenth of the range
    assert [int(v * 10) for v in values] == list(range(10))
    rand = plan_from_data(
        {
            **base,
            "design": "random",
            "samples": 5,
            "parameters": {
                "brms.count": {"low": 0, "high": 6, "integer": True},
                "structure": ["siloed", "aligned"],
            },
        }
    )
    assert all(isinstance(p["brms.count"], int) for p in rand.points)
    listed = plan_from_data({**base, "design": "list", "points": [{"team_size": 5}, {"seed": 3}]})
    assert listed.points == [{"team_size": 5}, {"seed": 3}]


def test_replicate_r_of_every_point_runs_with_the_experiment_seed_plus_r():
    plan = plan_from_data(
        {
            "scenario": {"horizon_days": 30},
            "seed": 7,
            "replicates": 3,
            "parameters": {"brms.count": [0, 1]},
        }
    )
    seeds = {(r.point, r.replicate): r.seed for r in plan.runs}
    # common random numbers: every point gets the same seeds, replicate by replicate
    assert seeds == {
        (point, replicate): 7 + replicate for point in (0, 1) for replicate in (0, 1, 2)
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"base": "nope.yaml", "parameters": {"brms.count": [1]}}, "no such file"),
        ({"scenario": {}, "parameters": {"brms.cuont": [1]}}, "parameters.brms.cuont"),
        ({"scenario": {}, "parameters": {"brms.count": [-1]}}, "parameters.brms.count"),
        (
            {
                "scenario": {},
                "parameters": {"levers.transparency": {"low": 0.5, "high": 0.1, "steps": 2}},
            },
            "below low",
        ),
        ({"scenario": {}, "design": "lhs", "parameters": {"brms.count": [1]}}, "samples"),
        ({"scenario": {}, "replicates": 0, "parameters": {"brms.count": [1]}}, "replicates"),
        ({"scenario": {}, "paramters": {}}, "paramters: unknown field"),
    ],
)
def test_malformed_experiments_are_refused_with_the_field(data, message, tmp_path):
    with pytest.raises(ScenarioError, match=message):
        plan_from_data(data, base_dir=tmp_path)


def test_malformed_experiment_on_the_command_line_exits_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(f"base: {SCENARIOS / 'aligned.yaml'}\nparameters: {{brms.count: [two]}}\n")
    done = cli("sweep", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "parameters.brms.count" in done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- sweeps


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """The small experiment swept serially: what every other way must reproduce."""
    tmp = tmp_path_factory.mktemp("reference")
    plan = load_experiment(experiment_file(tmp))
    sweep(plan, tmp / "out", InProcess())
    return tmp / "experiment.yaml", load_results(tmp / "out")


def test_a_sweep_writes_one_row_per_run_with_parameters_seed_and_kpis(reference):
    experiment, results = reference
    assert len(results) == 12 and results["run_id"].is_unique
    assert {"brms.count", "levers.shared_language", "seed", "lead_time_mean", "status"} <= set(
        results.columns
    )
    assert (results["status"] == "ok").all()
    manifest = batch.read_manifest(experiment.parent / "out")
    assert manifest["status"] == "complete" and manifest["runs_done"] == 12
    assert {"python", "mesa", "numpy"} <= set(manifest["versions"])


def test_any_row_is_reproduced_by_run_with_its_seed(reference, tmp_path):
    experiment, results = reference
    plan = load_experiment(experiment)
    row = results.iloc[7]  # point 2, replicate 1: seed 2026 + 1
    assert (int(row["point"]), int(row["replicate"]), int(row["seed"])) == (2, 1, 2027)
    scenario = tmp_path / "point.yaml"
    scenario.write_text(plan.scenarios[int(row["point"])].to_yaml())
    done = cli("run", str(scenario), "--seed", str(row["seed"]), "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    alone = json.loads((tmp_path / "run" / "kpis.json").read_text())
    kpis = [k for k in alone if k in results.columns and k not in ("seed", "scenario")]
    assert len(kpis) > 20
    assert {k: alone[k] for k in kpis} == {k: _plain(row[k]) for k in kpis}


def _plain(value):
    """A parquet cell as JSON would hold it (numpy scalars to Python, NaN to None)."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and value != value else value


EXECUTORS = {
    "processes-1": lambda: LocalProcesses(1),
    "processes-2": lambda: LocalProcesses(2),
    "dask-2": lambda: DaskExecutor("local", workers=2),
}


@pytest.mark.parametrize("kind", list(EXECUTORS))
def test_every_executor_gives_the_rows_of_the_in_process_sweep(reference, tmp_path, kind):
    experiment, expected = reference
    with EXECUTORS[kind]() as executor:
        sweep(load_experiment(experiment), tmp_path / "out", executor, chunk_size=1)
    pd.testing.assert_frame_equal(
        without_timing(load_results(tmp_path / "out")), without_timing(expected)
    )


@pytest.mark.parametrize("runs, workers", [(60, 2), (12, 2), (1000, 2), (7, 1), (100, 8)])
def test_guided_chunks_cover_every_run_shrinking_to_single_runs(runs, workers):
    sizes = batch.guided_chunk_sizes(runs, workers)
    assert sum(sizes) == runs
    assert sizes == sorted(sizes, reverse=True) and max(sizes) <= batch.MAX_CHUNK
    # the last chunks, one per worker at least, are single runs: no worker is left
    # with a big chunk while the others wait
    assert sizes[-workers:] == [1] * workers


def test_guided_chunks_start_big_where_runs_are_many():
    sizes = batch.guided_chunk_sizes(60, 2)
    assert sizes[0] > 1 and len(sizes) < 60


def test_default_chunks_on_two_processes_keep_rows_and_results(reference, tmp_path):
    experiment, expected = reference
    plan = load_experiment(experiment)
    with LocalProcesses(2) as executor:
        sweep(plan, tmp_path / "out", executor)
    sizes = batch.guided_chunk_sizes(len(plan.runs), 2)
    assert len(parts_written(tmp_path / "out")) == len(sizes)
    assert batch.read_manifest(tmp_path / "out")["chunk_size"] == "guided"
    pd.testing.assert_frame_equal(
        without_timing(load_results(tmp_path / "out")), without_timing(expected)
    )


def test_a_part_written_by_a_worker_equals_the_part_the_sweep_writes(tmp_path):
    plan = load_experiment(experiment_file(tmp_path, replicates=2))
    worker, parent = tmp_path / "worker", tmp_path / "parent"
    jobs = batch.plan_jobs(plan, set(), 3, workers=1, daily=True, out=str(worker))
    job = next(jobs)
    assert batch.run_job(job) == batch.ChunkWritten(runs=3, errors=0)  # no rows back
    job.out = None  # as sent to workers that do not see this machine's files
    rows, daily = batch.run_job(job)
    assert batch._written(parent, (rows, daily)) == batch.ChunkWritten(runs=3, errors=0)
    name = "p00000-r0000_p00001-r0000.parquet"
    assert parts_written(worker) == parts_written(parent) == [name]
    # the daily series has no timings: the very same bytes
    assert (worker / "daily" / name).read_bytes() == (parent / "daily" / name).read_bytes()
    by_worker, by_parent = (pd.read_parquet(f / "parts" / name) for f in (worker, parent))
    pd.testing.assert_frame_equal(without_timing(by_worker), without_timing(by_parent))
    assert pq.read_schema(worker / "parts" / name) == pq.read_schema(parent / "parts" / name)


class _OtherMachine(InProcess):
    """An executor whose workers do not see this machine's files (a remote scheduler's)."""

    shares_files = False


@pytest.mark.parametrize(
    "make, handed_back",
    [(lambda: LocalProcesses(2), "ChunkWritten"), (_OtherMachine, "tuple")],
    ids=["local-processes", "remote-workers"],
)
def test_workers_that_see_the_files_hand_back_counts_not_rows(
    reference, tmp_path, make, handed_back
):
    experiment, expected = reference
    seen = []
    with make() as executor:
        real = executor.as_completed

        def recording(fn, jobs, **kwargs):
            for index, result in real(fn, jobs, **kwargs):
                seen.append(type(result).__name__)
                yield index, result

        executor.as_completed = recording
        outcome = sweep(load_experiment(experiment), tmp_path / "out", executor)
    assert set(seen) == {handed_back} and outcome.ran == 12 and outcome.complete
    pd.testing.assert_frame_equal(
        without_timing(load_results(tmp_path / "out")), without_timing(expected)
    )


@pytest.mark.slow
def test_dask_local_cluster_of_two_workers_gives_identical_results(reference, tmp_path):
    experiment, expected = reference
    done = cli(
        "sweep",
        str(experiment),
        "--out",
        str(tmp_path / "out"),
        "--cluster",
        "local",
        "--workers",
        "2",
        "--chunk-size",
        "5",
    )
    assert done.returncode == 0, done.stderr
    assert "on dask (2 workers" in done.stderr
    pd.testing.assert_frame_equal(
        without_timing(load_results(tmp_path / "out")), without_timing(expected)
    )


#: The fourth run of the small experiment: with one run a chunk, three are written first.
FOURTH_RUN = "p00001-r0000"


def test_a_killed_worker_process_does_not_lose_or_double_runs(
    reference, tmp_path, hold_dir, monkeypatch
):
    experiment, expected = reference
    plan = load_experiment(experiment)
    out = tmp_path / "out"
    hold = Hold(hold_dir, FOURTH_RUN)
    monkeypatch.setenv(batch.TEST_HOLD, str(hold_dir))
    errors: list[BaseException] = []
    executor = LocalProcesses(2)

    def run() -> None:
        try:
            sweep(plan, out, executor, chunk_size=1)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        worker = hold.started(FOURTH_RUN, thread.is_alive)
        assert not any(p.startswith(FOURTH_RUN) for p in parts_written(out))
        os.kill(worker, signal.SIGKILL)  # it holds a chunk it has not returned
        thread.join(timeout=300)
    finally:
        hold.release()
        thread.join(timeout=300)
        executor.close()
    assert not errors, errors
    assert executor.restarts == 1  # the pool broke once and was replaced
    pd.testing.assert_frame_equal(without_timing(load_results(out)), without_timing(expected))


@pytest.mark.slow
def test_a_killed_dask_worker_does_not_lose_or_double_runs(
    reference, tmp_path, hold_dir, monkeypatch
):
    experiment, expected = reference
    plan = load_experiment(experiment)
    out = tmp_path / "out"
    hold = Hold(hold_dir, FOURTH_RUN)
    monkeypatch.setenv(batch.TEST_HOLD, str(hold_dir))
    executor = DaskExecutor("local", workers=2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            sweep(plan, out, executor, chunk_size=1)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        worker = hold.started(FOURTH_RUN, thread.is_alive)
        assert not any(p.startswith(FOURTH_RUN) for p in parts_written(out))
        os.kill(worker, signal.SIGKILL)  # Dask runs its chunk again on the other worker
        thread.join(timeout=300)
    finally:
        hold.release()
        thread.join(timeout=300)
        executor.close()
    assert not errors, errors
    pd.testing.assert_frame_equal(without_timing(load_results(out)), without_timing(expected))


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "crash"])
def test_an_interrupted_sweep_resumed_loses_and_doubles_nothing(reference, tmp_path, hold_dir, how):
    experiment, expected = reference
    out = tmp_path / "out"
    hold = Hold(hold_dir, FOURTH_RUN)
    command = [
        sys.executable,
        "-m",
        "simulation",
        "sweep",
        str(experiment),
        "--out",
        str(out),
        "--workers",
        "1",
        "--chunk-size",
        "1",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=hold.env
    )
    hold.started(FOURTH_RUN, lambda: process.poll() is None)
    process.send_signal(how)
    _, stderr = process.communicate(timeout=120)
    assert len(parts_written(out)) == 3  # the three runs before the held one, no more
    if how == signal.SIGINT:
        assert process.returncode == 130 and "--resume" in stderr
        assert batch.read_manifest(out)["status"] == "interrupted"
    else:
        assert batch.read_manifest(out)["status"] == "stopped"
    again = cli("sweep", str(experiment), "--out", str(out))
    assert again.returncode == 2 and "--resume" in again.stderr  # nothing overwritten
    resumed = cli("sweep", str(experiment), "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "(3 already written)" in resumed.stdout
    pd.testing.assert_frame_equal(without_timing(load_results(out)), without_timing(expected))
    assert batch.read_manifest(out)["status"] == "complete"


def test_a_run_that_raises_is_recorded_and_the_sweep_goes_on(reference, tmp_path, monkeypatch):
    experiment, expected = reference
    real = batch.run_scenario
    bad_seed = int(expected.loc[4, "seed"])

    def sometimes_fails(scenario, seed=None, **kw):
        if seed == bad_seed and scenario.brms.count == 3:
            raise RuntimeError("simulated failure")
        return real(scenario, seed=seed, **kw)

    monkeypatch.setattr(batch, "run_scenario", sometimes_fails)
    outcome = sweep(load_experiment(experiment), tmp_path / "out", InProcess())
    results = load_results(tmp_path / "out")
    failed = results[results["status"] == "error"]
    assert outcome.complete and outcome.errors == len(failed) == 2  # two points have 3 BRMs
    assert failed["error"].str.contains("RuntimeError: simulated failure").all()
    assert (results["status"] == "ok").sum() == 10


def test_a_sweep_directory_is_never_mixed_with_another_experiment(reference, tmp_path):
    experiment, _ = reference
    out = tmp_path / "out"
    sweep(load_experiment(experiment), out, InProcess())
    (tmp_path / "other").mkdir()
    other = experiment_file(tmp_path / "other", replicates=2)
    with pytest.raises(ScenarioError, match="different experiment"):
        sweep(load_experiment(other), out, InProcess(), resume=True)


def test_daily_series_are_kept_on_request(tmp_path):
    experiment = experiment_file(tmp_path, replicates=1)
    sweep(load_experiment(experiment), tmp_path / "out", InProcess(), daily=True)
    daily = pd.read_parquet(tmp_path / "out" / "daily.parquet")
    assert daily["run_id"].nunique() == 4 and daily.groupby("run_id")["day"].max().eq(40).all()


# --------------------------------------------------------------------------- analysis


def test_sensitivity_names_the_parameter_that_drives_each_kpi(reference):
    _, results = reference
    params = ["brms.count", "levers.shared_language"]
    src = sensitivity(results, params, ["rework_rate", "business_it_handoff_days"])
    # shared language drives misunderstandings; BRMs drive business-IT handoff time
    assert src.loc["rework_rate", "levers.shared_language"] < -0.5
    assert src.loc["business_it_handoff_days", "brms.count"] < -0.5
    assert abs(src.loc["business_it_handoff_days", "brms.count"]) > abs(
        src.loc["business_it_handoff_days", "levers.shared_language"]
    )
    table = configuration_table(results, params, ["lead_time_mean"])
    assert len(table) == 4 and (table["runs"] == 3).all()
    assert (table["lead_time_mean_ci_low"] <= table["lead_time_mean"]).all()


def test_analyze_prints_tables_and_writes_charts(reference):
    experiment, _ = reference
    out = experiment.parent / "out"
    done = cli("analyze", str(out), "--format", "svg")
    assert done.returncode == 0, done.stderr
    assert "Sensitivity" in done.stdout and "strongest" in done.stdout
    assert "brms.count" in done.stdout.splitlines()[2]
    charts = out / "charts"
    assert (charts / "sensitivity.html").exists()
    svg = (charts / "lead_time_mean_by_brms_count.svg").read_text()
    assert svg.count("<path") > 3  # lines and bands were drawn, not an empty frame


def test_analyze_refuses_a_directory_without_a_sweep(tmp_path):
    done = cli("analyze", str(tmp_path))
    assert done.returncode == 2 and "holds no sweep" in done.stderr
