"""A 1,000,000-run design: how soon its sweep starts, the parent's memory, runs per second.

The design: a grid of 10,000 points (BRMs 0-9 x shared language, 10 steps x
transparency, 100 steps) x 100 replicates = 1,000,000 runs of the aligned scenario,
``DAYS`` days each, allowed with ``max_runs`` (``sweep --max-runs``). Each executor
(1 and 2 local processes, a Dask scheduler with 2 workers: a LocalCluster, or
``--cluster tcp://HOST:PORT``) sweeps it in a fresh interpreter of its own, so that each
peak memory is its own, and the sweep is stopped (as Ctrl-C does) once ``--runs`` runs
are written. For each it prints:

- time from reading the design to the first job submitted (the workers already started;
  their start-up apart), target: within seconds;
- the parent's peak resident memory (Linux ``VmHWM``; ``ru_maxrss`` elsewhere), target:
  under 500 MB; and the size of what was written;
- runs per second once the first job is out, the mean time inside a run (each row's
  ``elapsed_s``) and the overhead per run: ``wall x workers / runs - mean run time``, what
  sending, collecting and writing cost each run (idle workers at the end included);
- whether the rows of the runs of point 0 equal those of a small design of that point
  alone (same seeds, same values: the large design changes nothing but its size).

Run from the repository root:

    .venv/bin/python benchmarks/large_design.py [--quick] [--runs N] [--cluster ADDRESS]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import describe_machine, rule  # noqa: E402

#: Days of each run: short runs, so that the overhead per run shows.
DAYS = 20
#: The parent's memory target (issue 12).
TARGET_PARENT_MB = 500
#: Seconds from reading the design to the first job submitted: "within seconds".
TARGET_START_S = 10.0


def design(replicates: int = 100) -> dict:
    """The 10,000-point grid of the benchmark, as experiment fields."""
    return {
        "name": "a million runs",
        "base": str(ROOT / "scenarios" / "aligned.yaml"),
        "design": "grid",
        "parameters": {
            "brms.count": list(range(10)),
            "levers.shared_language": {"low": 0.1, "high": 0.9, "steps": 10},
            "levers.transparency": {"low": 0.0, "high": 1.0, "steps": 100},
        },
        "replicates": replicates,
        "days": DAYS,
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (VmHWM; ru_maxrss where no /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def folder_mb(folder: Path) -> float:
    """Size of the files under ``folder`` in MB."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


class Enough(KeyboardInterrupt):
    """Stops the sweep the way Ctrl-C does, once enough runs are written."""


def one_sweep(kind: str, workers: int, runs: int, out: Path) -> dict:
    """Sweep the million-run design on one executor until ``runs`` runs are written
    (run in a fresh interpreter: ``--one``)."""
    from simulation.inputs.experiment import plan_from_data
    from simulation.running.batch import load_results, sweep
    from simulation.running.executors import DaskExecutor, LocalProcesses

    started = time.perf_counter()
    if kind == "processes":  # one worker too: the runs off the parent, as with two
        executor = LocalProcesses(workers).start()
    else:
        executor = DaskExecutor(kind, workers=workers)
    startup = time.perf_counter() - started
    first_submit: list[float] = []
    submit = executor._submit

    def timed_submit(fn, job):
        if not first_submit:
            first_submit.append(time.perf_counter())
        return submit(fn, job)

    executor._submit = timed_submit
    written: list[tuple[int, float]] = []

    def stop_when_enough(done: int, _: int) -> None:
        written.append((done, time.perf_counter()))
        if done >= runs:
            raise Enough

    memory_before = peak_rss_mb()
    began, cpu = time.perf_counter(), time.process_time()
    plan = plan_from_data(design(), max_runs=10**6)
    planned, plan_cpu = time.perf_counter() - began, time.process_time() - cpu
    try:
        sweep(plan, out, executor, on_progress=stop_when_enough)
    except Enough:
        pass
    finally:
        executor.close()
    done, stopped = written[-1]
    rows = load_results(out)
    return {
        "executor": kind,
        "workers": executor.workers,
        "startup_s": startup,
        "plan_s": planned,
        "plan_cpu_s": plan_cpu,
        "first_job_s": first_submit[0] - began,
        "runs": done,
        "wall_s": stopped - first_submit[0],
        "mean_run_s": float(rows["elapsed_s"].mean()),
        "peak_mb_before": memory_before,
        "peak_mb": peak_rss_mb(),
        "written_mb": folder_mb(out),
        "total": plan.run_count,
    }


def point_zero_matches(out: Path) -> tuple[bool, int]:
    """Whether the large sweep's rows of point 0 equal a small design of point 0 alone
    (run here, in this process); and how many rows were compared."""
    import pandas as pd

    from simulation.inputs.experiment import plan_from_data
    from simulation.running.batch import load_results, sweep
    from simulation.running.executors import InProcess

    large = load_results(out)
    large = large[large["point"] == 0].drop(columns="elapsed_s").reset_index(drop=True)
    big = plan_from_data(design(), max_runs=10**6)
    small = {
        **design(len(large)),
        "design": "list",
        "parameters": {},
        "points": [big.point(0)],
    }
    with tempfile.TemporaryDirectory() as tmp:
        sweep(plan_from_data(small), Path(tmp) / "small", InProcess())
        alone = load_results(Path(tmp) / "small").drop(columns="elapsed_s")
    alone = alone[large.columns]  # the large design's rows carry no other columns
    try:
        pd.testing.assert_frame_equal(large, alone)
    except AssertionError:
        return False, len(large)
    return True, len(large)


def in_fresh_interpreter(kind: str, workers: int, runs: int, out: Path) -> dict:
    """:func:`one_sweep` in a new Python process (its own peak memory)."""
    done = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(workers), str(runs), str(out)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"the sweep on {kind} x {workers} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400, help="runs to write per executor")
    parser.add_argument("--quick", action="store_true", help="100 runs per executor")
    parser.add_argument("--cluster", default="local", help="Dask scheduler (default: local)")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, workers, runs, out = args.one
        print(json.dumps(one_sweep(kind, int(workers), int(runs), Path(out))))
        return
    runs = 100 if args.quick else args.runs

    rule("A 1,000,000-run design: start, parent memory, runs per second")
    describe_machine()
    print(
        f"10,000 points x 100 replicates = 1,000,000 runs of aligned.yaml, {DAYS} days "
        f"each; each executor stopped after {runs} runs\n"
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        sweeps = (("processes", 1), ("processes", 2), (args.cluster, 2))
        for number, (kind, workers) in enumerate(sweeps):
            out = Path(tmp) / f"sweep{number}"
            results.append(in_fresh_interpreter(kind, workers, runs, out))
        same, compared = point_zero_matches(out)

    print(
        f"{'executor':<24}{'start-up':>9}{'plan':>7}{'1st job':>9}{'runs':>6}"
        f"{'runs/s':>8}{'ms/run':>8}{'overhead':>10}{'parent MB':>11}{'written':>9}"
    )
    for r in results:
        kind = "local processes" if r["executor"] == "processes" else f"Dask {r['executor']}"
        name = f"{kind} x {r['workers']}"
        rate = r["runs"] / r["wall_s"]
        overhead = r["wall_s"] * r["workers"] / r["runs"] - r["mean_run_s"]
        print(
            f"{name:<24}{r['startup_s']:>8.1f}s{r['plan_s']:>6.1f}s{r['first_job_s']:>8.1f}s"
            f"{r['runs']:>6}{rate:>8.1f}{1000 * r['mean_run_s']:>8.1f}"
            f"{1000 * overhead:>8.1f}ms{r['peak_mb']:>11.0f}{r['written_mb']:>8.2f}M"
        )
    print(
        "\nstart-up: the workers (not counted in 1st job); plan: reading and checking the "
        "design;\n1st job: from reading the design to the first job submitted; ms/run: "
        "inside a run;\noverhead: wall x workers / runs - ms/run; parent MB: the parent's "
        "peak resident memory;\nwritten: the sweep directory after those runs"
    )
    first = max(r["first_job_s"] for r in results)
    plan_cpu = min(r["plan_cpu_s"] for r in results)
    print(
        f"reading and checking the design: {plan_cpu:.1f} s of CPU (best of the three; "
        "the wall time above is longer on a loaded machine)"
    )
    peak = max(r["peak_mb"] for r in results)
    print(f"\nrows of point 0 equal a small design of point 0 alone: {same} ({compared} rows)")
    print(
        f"first job within {first:.1f} s   target <= {TARGET_START_S:.0f} s  "
        f"{verdict(first <= TARGET_START_S)}"
    )
    print(
        f"parent's peak memory {peak:.0f} MB   target < {TARGET_PARENT_MB} MB  "
        f"{verdict(peak < TARGET_PARENT_MB)}"
    )


if __name__ == "__main__":
    main()
