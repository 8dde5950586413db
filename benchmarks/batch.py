"""Sweeps: runs per second serially and on 2 local worker processes, and Dask's cost.

A sweep of the ready-made scenarios (siloed, aligned, converged: 250 days each) runs
three ways through ``simulation.running.batch.sweep`` and the executors of
``simulation.running.executors``, as ``python -m simulation sweep`` does:

- serially in this process;
- on 2 local processes (``--workers 2``), target: at least 1.7x the serial rate;
- on a Dask LocalCluster of 2 workers (``--cluster local``), whose overhead per run is
  printed against the local processes (cluster start-up shown apart).

The three results must be identical (the script checks). Run from the repository root:

    .venv/bin/python benchmarks/batch.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import describe_machine, rule  # noqa: E402
from simulation.inputs.experiment import plan_from_data  # noqa: E402
from simulation.running.batch import load_results, sweep  # noqa: E402
from simulation.running.executors import DaskExecutor, InProcess, LocalProcesses  # noqa: E402

TARGET_SPEED_UP = 1.7


def plan(replicates: int):
    scenarios = [str(ROOT / "scenarios" / f"{n}.yaml") for n in ("siloed", "aligned", "converged")]
    # one point per ready-made scenario: a list design whose base is replaced per point
    return plan_from_data(
        {
            "name": "ready-made scenarios",
            "base": scenarios[0],
            "design": "list",
            "points": [
                {"structure": "siloed"},
                {"structure": "aligned", "brms.count": 3, "levers.prioritisation": "value"},
                {"structure": "converged", "levers.prioritisation": "value"},
            ],
            "replicates": replicates,
        },
        base_dir=ROOT,
    )


def timed_sweep(executor, experiment, out: Path) -> float:
    started = time.perf_counter()
    sweep(experiment, out, executor)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 replicates instead of 20")
    args = parser.parse_args()
    replicates = 4 if args.quick else 20
    experiment = plan(replicates)
    runs = len(experiment.runs)

    rule("Sweeps: serial, 2 local processes, Dask LocalCluster of 2")
    describe_machine()
    print(f"{runs} runs: 3 ready-made organisations x {replicates} replicates, 250 days each\n")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        serial = timed_sweep(InProcess(), experiment, tmp / "serial")
        started = time.perf_counter()
        processes = LocalProcesses(2).start()
        pool_startup = time.perf_counter() - started
        try:
            local = timed_sweep(processes, experiment, tmp / "local")
        finally:
            processes.close()
        started = time.perf_counter()
        dask = DaskExecutor("local", workers=2)
        startup = time.perf_counter() - started
        try:
            on_dask = timed_sweep(dask, experiment, tmp / "dask")
        finally:
            dask.close()
        frames = [
            load_results(tmp / n).drop(columns="elapsed_s") for n in ("serial", "local", "dask")
        ]
        identical = all(f.equals(frames[0]) for f in frames[1:])

    rows = [
        ("serial (1 process)", serial),
        ("2 local processes", local),
        ("Dask LocalCluster, 2 workers", on_dask),
    ]
    print(f"{'executor':<30}{'seconds':>10}{'runs/s':>10}{'ms/run':>10}{'speed-up':>10}")
    for name, seconds in rows:
        print(
            f"{name:<30}{seconds:>10.2f}{runs / seconds:>10.2f}{1000 * seconds / runs:>10.0f}"
            f"{serial / seconds:>9.2f}x"
        )
    print(
        f"\nstart-up, not in the sweep times: local processes {pool_startup:.1f} s, "
        f"Dask cluster {startup:.1f} s"
    )
    overhead = (on_dask - local) / runs * 1000
    print(f"Dask overhead per run against local processes: {overhead:+.0f} ms")
    print(f"results identical across executors: {identical}")
    speed_up = serial / local
    verdict = "PASS" if speed_up >= TARGET_SPEED_UP else "MISS"
    print(f"\n2 workers: {speed_up:.2f}x serial   target >= {TARGET_SPEED_UP}x  {verdict}")


if __name__ == "__main__":
    main()
