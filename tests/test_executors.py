"""Executors: one interface, the same results wherever the jobs run, bounded memory,
workers reused and replaced, and one seed scheme for replicates."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from simulation.errors import ScenarioError
from simulation.inputs.seeds import replicate_seed
from simulation.running import executors, processes
from simulation.running.executors import InProcess, LocalProcesses, executor_for
from simulation.running.processes import WORKER_THREAD_LIMITS, available_cores
from simulation.running.runs import run_replicates
from tests.conftest import SCENARIOS, CountingJobs, cli, ready_made, short

TWO_CORES = pytest.mark.skipif(available_cores() < 2, reason="needs two cores")


def square(x: int) -> int:
    return x * x


def fails_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


def worker_pid(_: object) -> int:
    return os.getpid()


def thread_limits(_: object) -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in WORKER_THREAD_LIMITS}


def dies_once(job: tuple[str, int]) -> int:
    """Kill the worker running it the first time (a marker file says it happened)."""
    marker, x = job
    if x == 5 and not Path(marker).exists():
        Path(marker).touch()
        os._exit(1)  # as a worker killed by the OOM killer would vanish
    return x


@pytest.fixture(params=["in-process", "processes"])
def executor(request):
    with InProcess() if request.param == "in-process" else LocalProcesses(2) as chosen:
        yield chosen


def test_map_keeps_the_order_and_as_completed_names_each_job(executor):
    assert list(executor.map(square, range(50))) == [x * x for x in range(50)]
    finished = dict(executor.as_completed(square, range(50)))
    assert finished == {x: x * x for x in range(50)}


def test_a_job_that_raises_raises_from_the_iterator_and_the_executor_goes_on(executor):
    with pytest.raises(ValueError, match="three"):
        list(executor.map(fails_on_three, range(10)))
    assert list(executor.map(square, range(4))) == [0, 1, 4, 9]


@pytest.mark.parametrize("ordered", [True, False], ids=["map", "as_completed"])
def test_no_more_jobs_are_taken_than_the_window(ordered):
    jobs, window = CountingJobs(100), 5
    running = InProcess()
    results = (
        running.map(square, jobs, window=window)
        if ordered
        else (r for _, r in running.as_completed(square, jobs, window=window))
    )
    ahead = []
    for read, _ in enumerate(results, 1):
        ahead.append(jobs.taken - read)
    assert max(ahead) == window - 1  # at most `window` taken and not yet read
    assert jobs.taken == 100


def test_a_caller_that_stops_reading_takes_no_more_jobs():
    jobs = CountingJobs(100)
    results = InProcess().map(square, jobs)
    assert [next(results), next(results)] == [0, 1]
    results.close()
    assert jobs.taken == 2


@TWO_CORES
def test_local_processes_start_once_and_are_reused():
    with LocalProcesses(2) as pool:
        first = set(pool.map(worker_pid, range(20)))
        second = set(pool.map(worker_pid, range(20)))
    assert os.getpid() not in first
    assert len(first | second) <= 2  # the same workers served both


@TWO_CORES
@pytest.mark.parametrize("ordered", [True, False], ids=["map", "as_completed"])
def test_a_dead_worker_is_replaced_and_its_jobs_run_again(tmp_path, ordered):
    jobs = [(str(tmp_path / "died"), x) for x in range(12)]
    with LocalProcesses(2) as pool:
        if ordered:
            results = list(pool.map(dies_once, jobs))
        else:
            results = [r for _, r in sorted(pool.as_completed(dies_once, jobs))]
    assert (tmp_path / "died").exists()
    assert results == list(range(12))  # none lost, none twice
    assert pool.restarts == 1


def test_executor_for_picks_by_cluster_and_workers():
    assert isinstance(executor_for("none", 1, environ={}), InProcess)
    with executor_for("none", 2, environ={}) as chosen:
        expected = LocalProcesses if available_cores() > 1 else InProcess
        assert type(chosen) is expected
    with pytest.raises(ScenarioError, match=r"^--cluster: 'lcoal' is not"):
        executor_for("lcoal", environ={})


def test_replicate_seeds_are_the_base_seed_plus_the_replicate():
    assert [replicate_seed(41, r) for r in range(3)] == [41, 42, 43]
    with pytest.raises(ValueError):
        replicate_seed(1, -1)


@TWO_CORES
def test_compare_runs_replicate_r_with_seed_plus_r_whatever_the_executor():
    scenarios = [short(ready_made("siloed"), days=40), short(ready_made("converged"), days=40)]
    here = run_replicates(scenarios, 3, seed=100)
    with LocalProcesses(2) as pool:
        elsewhere = run_replicates(scenarios, 3, seed=100, executor=pool)
    pd.testing.assert_frame_equal(table(here), table(elsewhere))  # NaN equals NaN here
    assert [[kpis["seed"] for kpis in runs] for runs in here] == [[100, 101, 102]] * 2
    alone = run_replicates([scenarios[1]], 1, seed=102)
    pd.testing.assert_frame_equal(table(alone), table([here[1][2:]]))  # reruns alone


def table(runs: list[list[dict]]) -> pd.DataFrame:
    return pd.DataFrame([kpis for replicates in runs for kpis in replicates])


def test_the_window_is_a_few_jobs_per_worker():
    assert LocalProcesses(2).default_window == 2 * executors.IN_FLIGHT_PER_WORKER
    assert InProcess().default_window == 1


@pytest.mark.slow
def test_compare_on_a_dask_cluster_writes_the_runs_of_one_process(tmp_path):
    scenarios = [str(SCENARIOS / "siloed.yaml"), str(SCENARIOS / "converged.yaml")]
    common = ["compare", *scenarios, "--replicates", "2", "--days", "30", "--seed", "5"]
    here = cli(*common, "--workers", "1", "--out", str(tmp_path / "here"))
    dask = cli(*common, "--cluster", "local", "--workers", "2", "--out", str(tmp_path / "dask"))
    assert here.returncode == dask.returncode == 0, dask.stderr
    assert "note: runs on dask (2 workers" in dask.stderr
    runs = pd.read_csv(tmp_path / "here" / "runs.csv")
    assert list(runs["seed"]) == [5, 6, 5, 6]
    pd.testing.assert_frame_equal(runs, pd.read_csv(tmp_path / "dask" / "runs.csv"))


def test_local_workers_limit_native_threads_to_one():
    with LocalProcesses(1) as executor:
        (seen,) = executor.map(thread_limits, [0])
    # "1" unless set where the workers started (CI may choose its own value)
    assert seen == {name: os.environ.get(name, "1") for name in WORKER_THREAD_LIMITS}
    assert set(seen.values()) != {None}


def test_thread_limits_keep_what_the_user_set():
    environ = {"MKL_NUM_THREADS": "3"}
    processes.limit_worker_threads(environ)
    assert environ == dict.fromkeys(WORKER_THREAD_LIMITS, "1") | {"MKL_NUM_THREADS": "3"}


def imported(module: str) -> bool:
    import sys

    return module in sys.modules


def profiler_enabled() -> bool:
    import dask

    return dask.config.get("distributed.worker.profile.enabled")


def test_a_dask_local_cluster_has_the_model_imported_before_the_first_job():
    with executors.DaskExecutor("local", workers=1) as executor:
        loaded = executor.client.run(imported, "simulation.running.batch")
        profiling = executor.client.run(profiler_enabled)
    assert list(loaded.values()) == [True]
    assert list(profiling.values()) == [False]  # its samples would cost the jobs time
    assert profiler_enabled()  # this process's configuration is untouched


#: The periodic callbacks LOCAL_CLUSTER_CONFIG slows down, by the setting that times them.
SLOWED_CALLBACKS = {
    "tick": "distributed.admin.tick.interval",
    "monitor": "distributed.admin.system-monitor.interval",
    "memory_monitor": "distributed.worker.memory.monitor-interval",
}


def callback_intervals(dask_worker=None, dask_scheduler=None, server=None) -> dict[str, float]:
    """Milliseconds between calls of a Dask server's slowed periodic callbacks."""
    server = server or dask_worker or dask_scheduler
    callbacks = server.periodic_callbacks
    return {name: callbacks[name].callback_time for name in SLOWED_CALLBACKS if name in callbacks}


def expected_intervals(found: dict[str, float]) -> dict[str, float]:
    """What LOCAL_CLUSTER_CONFIG asks for the callbacks in ``found``, in milliseconds."""
    from dask.utils import parse_timedelta

    config = executors.LOCAL_CLUSTER_CONFIG
    return {name: parse_timedelta(config[SLOWED_CALLBACKS[name]], "s") * 1000 for name in found}


def test_a_dask_local_cluster_runs_its_monitors_as_configured():
    """The scheduler, the nannies and the workers all start with LOCAL_CLUSTER_CONFIG's
    slower tick and monitors (they take the cores from the runs), this process's own
    configuration untouched."""
    import dask
    import distributed  # noqa: F401  (its defaults join dask.config as it is imported)

    before = {setting: dask.config.get(setting) for setting in SLOWED_CALLBACKS.values()}
    with executors.DaskExecutor("local", workers=1) as executor:
        servers = {
            "scheduler": executor.client.run_on_scheduler(callback_intervals),
            **executor.client.run(callback_intervals),
        }
        for name, nanny in executor.cluster.workers.items():
            servers[f"nanny {name}"] = callback_intervals(server=nanny)
    assert len(servers) == 3
    for server, found in servers.items():
        assert "tick" in found and "monitor" in found, server
        assert found == expected_intervals(found), server
    assert {setting: dask.config.get(setting) for setting in before} == before


def test_a_dask_local_cluster_leaves_port_8787_to_whoever_has_it():
    """Another Dask's dashboard on 8787 (the default) must not make ours warn on stderr."""
    import contextlib
    import socket
    import warnings

    other = socket.socket()
    with contextlib.suppress(OSError):  # someone already has it: the case under test
        other.bind(("127.0.0.1", 8787))
        other.listen()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with executors.DaskExecutor("local", workers=1) as executor:
                assert executor.workers == 1
    finally:
        other.close()
    assert not [w for w in caught if "already in use" in str(w.message)]
