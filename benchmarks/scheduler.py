"""Sweeps through a Dask scheduler address against 2 local processes, on this machine.

A researcher's cluster is a ``dask scheduler`` and ``dask worker`` processes started
apart from the sweep, reached by ``--cluster tcp://HOST:PORT``. Here the scheduler and
two one-thread workers run as separate processes on this machine (with this checkout on
their path), so the figures show what the scheduler path itself costs: connecting (and
the code check of :mod:`simulation.running.same_code`), sending every chunk through the
scheduler, and its heartbeats. The same sweep runs on 2 local processes in the same
round, interleaved, best of ``--repeat`` rounds; the results must be identical.

Printed: runs per second for each, the scheduler's rate as a share of the local
processes', and the overhead per run: wall time x workers minus the runs' own time
(``elapsed_s`` in each row), per run. Run from the repository root:

    .venv/bin/python benchmarks/scheduler.py [--quick] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from _common import ROOT, add_repo_to_path, describe_machine, rule

add_repo_to_path()

from batch import plan  # noqa: E402  (the ready-made scenarios as a list design)

from simulation.running.batch import load_results, sweep  # noqa: E402
from simulation.running.executors import DaskExecutor, LocalProcesses  # noqa: E402

WORKERS = 2


@contextmanager
def dask_process(role: str, scheduler_file: Path, log: Path):
    """``dask scheduler`` or a one-thread ``dask worker``, in a session of its own."""
    args = [sys.executable, "-m", f"distributed.cli.dask_{role}", "--scheduler-file",
            str(scheduler_file), "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
            "--host", "127.0.0.1"]  # fmt: skip
    args += ["--port", "0"] if role == "scheduler" else ["--nthreads", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("w") as sink:
        child = subprocess.Popen(args, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                 start_new_session=True)  # fmt: skip
    try:
        yield child
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def scheduler_address(scheduler_file: Path) -> str:
    """The address, once both workers have joined (Dask waits for the file and them)."""
    from dask.distributed import Client

    with Client(scheduler_file=str(scheduler_file), timeout="120s") as client:
        client.wait_for_workers(WORKERS, timeout=120)
        return client.scheduler.address


def timed(executor, experiment, out: Path) -> tuple[float, float]:
    """Wall seconds of the sweep, and the seconds its runs took by their own clocks."""
    started = time.perf_counter()
    sweep(experiment, out, executor)
    wall = time.perf_counter() - started
    return wall, float(load_results(out)["elapsed_s"].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 replicates instead of 20")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (best of)")
    args = parser.parse_args()
    experiment = plan(4 if args.quick else 20)
    runs = experiment.run_count

    rule("Sweeps through a scheduler address against 2 local processes")
    describe_machine()
    print(f"{runs} runs of the ready-made organisations (250 days); best of {args.repeat}\n")
    best: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as cluster:
        folder = Path(tmp)
        scheduler_file = folder / "scheduler.json"
        cluster.enter_context(dask_process("scheduler", scheduler_file, folder / "s.log"))
        for n in range(WORKERS):
            cluster.enter_context(dask_process("worker", scheduler_file, folder / f"w{n}.log"))
        address = scheduler_address(scheduler_file)
        started = time.perf_counter()
        remote = DaskExecutor(address)
        connect = time.perf_counter() - started
        local = LocalProcesses(WORKERS).start()
        try:
            for round_no in range(args.repeat):
                for name, executor in (("local", local), ("scheduler", remote)):
                    result = timed(executor, experiment, folder / f"{name}{round_no}")
                    if name not in best or result[0] < best[name][0]:
                        best[name] = result
        finally:
            local.close()
            remote.close()
        frames = [
            load_results(folder / f"{name}{r}").drop(columns="elapsed_s")
            for r in range(args.repeat)
            for name in ("local", "scheduler")
        ]
        identical = all(frame.equals(frames[0]) for frame in frames[1:])

    print(f"{'executor':<34}{'seconds':>9}{'runs/s':>9}{'overhead/run':>14}")
    for name, label in (("local", "2 local processes"), ("scheduler", f"scheduler {address}")):
        wall, own = best[name]
        overhead_ms = (wall * WORKERS - own) / runs * 1000
        print(f"{label:<34}{wall:>9.2f}{runs / wall:>9.2f}{overhead_ms:>11.1f} ms")
    share = best["local"][0] / best["scheduler"][0]
    print(f"\nconnect to the scheduler (with the code check): {connect:.2f} s, not in the times")
    print(f"scheduler's rate as a share of 2 local processes': {share:.0%}")
    print(f"results identical through the scheduler and locally: {identical}")


if __name__ == "__main__":
    main()
