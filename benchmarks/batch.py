"""Sweeps against the machine's own limit: serial, 2 local workers, a Dask LocalCluster.

First the machine's limit: a pure-Python CPU-bound loop (no I/O, no numpy, so no
native threads) runs alone, then two copies side by side in two processes. The limit is
``2 x t_one / t_two``, each time the best of the rounds as the sweeps' are: 2.0 on two
free cores, less on a shared or hyperthreaded box. No
sweep on 2 workers can beat it, so the sweep's speed-up is judged as a share of it.
The same is measured with the model's own runs (each ready-made organisation, two
seeds, alone then side by side): runs that slow each other down more than the loop does
(the cores share caches and memory) set a lower ceiling, which the script prints beside
the target to tell the runs' share of a gap from the sweep's.

Then a sweep of the ready-made scenarios (siloed, aligned, converged: 250 days each) runs
three ways through ``simulation.running.batch.sweep`` and the executors of
``simulation.running.executors``, as ``python -m simulation sweep`` does:

- serially in this process;
- on 2 local processes (``--workers 2``), target: a speed-up of at least 90% of the
  machine's limit;
- on a Dask LocalCluster of 2 workers (``--cluster local``), target: at least 85% of the
  local processes' rate once started (cluster and pool start-up are timed apart).

120 runs (40 replicates; ``--quick``: 4) of 40-70 ms each (about 7 s on one core), so
that a fixed cost (the first chunk's imports, the last chunk's tail, a worker idle while
the other finishes its last run) weighs little: with 60 runs, as until the runs got
three times faster (issue 11), one run's tail was 3% of a 2-worker sweep. The machine is shared:
every measurement is the best of ``--repeat`` rounds, interleaved (limit, serial, then
local and Dask, in turns first, so that load rising or falling through a round favours
neither). Beside wall times it prints the CPU each sweep cost, this process and every
process it started together (workers, and for Dask the scheduler and nannies in this
process): what an executor adds per run, far less sensitive to other load than wall
time; and apart, what this process used (for local processes: the sweep's own loop and
its gather of the parts, the serial share). The three results must be identical (the
script checks). Run from the repository root:

    .venv/bin/python benchmarks/batch.py [--quick] [--repeat N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import psutil  # Dask's own dependency: there wherever this benchmark can run

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import describe_machine, rule  # noqa: E402
from simulation.inputs.experiment import plan_from_data  # noqa: E402
from simulation.running.batch import load_results, sweep  # noqa: E402
from simulation.running.executors import DaskExecutor, InProcess, LocalProcesses  # noqa: E402

#: Share of the machine's limit 2 workers must reach (issue 11: within 10%).
TARGET_SHARE_OF_LIMIT = 0.90
#: Dask's rate against local processes once both are started (issue 11: within 15%).
TARGET_DASK_SHARE = 0.85
#: Iterations of the CPU-bound loop: about a second alone on this kind of machine.
LOOP_ITERATIONS = 8_000_000


def cpu_loop(iterations: int = LOOP_ITERATIONS) -> float:
    """Seconds a pure-Python integer loop takes in this process (no I/O, no threads)."""
    started = time.perf_counter()
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return time.perf_counter() - started


def machine_limit() -> tuple[float, float, float]:
    """(t_one, t_two, limit): the loop alone, then two copies side by side in two
    processes (each timed in its own process; the slower one counts)."""
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        pool.map(int, range(2))  # the processes exist before anything is timed
        one = pool.apply(cpu_loop)
        two = max(pool.map(cpu_loop, [LOOP_ITERATIONS] * 2, chunksize=1))
    return one, two, 2 * one / two


#: The ready-made organisations.
ORGANISATIONS = ("siloed", "aligned", "converged")

#: Ready-made organisations the model's own limit runs, two seeds each (:func:`model_limit`).
MODEL_LIMIT_SEEDS = (1, 2)


def model_runs(seeds: tuple[int, ...] = MODEL_LIMIT_SEEDS) -> float:
    """Seconds the ready-made organisations take in this process, one run per seed each
    (scenarios read before the clock starts)."""
    from simulation.model.org_model import as_scenario
    from simulation.running.runs import run_scenario

    scenarios = [as_scenario(ROOT / "scenarios" / f"{n}.yaml") for n in ORGANISATIONS]
    started = time.perf_counter()
    for scenario in scenarios:
        for seed in seeds:
            run_scenario(scenario, seed=seed)
    return time.perf_counter() - started


def model_limit() -> tuple[float, float, float]:
    """(t_one, t_two, limit) as :func:`machine_limit`, with the model's runs instead of
    the tight loop: what 2 workers could reach if sending, writing and gathering cost
    nothing. Below the loop's limit when runs slow each other down side by side more
    than the loop does (memory and caches shared by the two cores): that share of the
    gap is the runs', not the sweep's."""
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        pool.map(model_runs, [(1,)] * 2, chunksize=1)  # imported and warm in both
        one = pool.apply(model_runs)
        two = max(pool.map(model_runs, [MODEL_LIMIT_SEEDS] * 2, chunksize=1))
    return one, two, 2 * one / two


def plan(replicates: int):
    scenarios = [str(ROOT / "scenarios" / f"{n}.yaml") for n in ORGANISATIONS]
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


def cpu_of_process_tree() -> tuple[float, float]:
    """CPU seconds used so far by this process, and by the processes it started (still
    running: read before their executor closes)."""
    me = psutil.Process()
    mine = sum(me.cpu_times()[:2])
    children = 0.0
    for process in me.children(recursive=True):
        try:
            used = process.cpu_times()
        except psutil.Error:  # ended meanwhile
            continue
        children += used.user + used.system
    return mine, children


def timed_sweep(executor, experiment, out: Path) -> tuple[float, float, float]:
    """Wall seconds of the sweep, the CPU seconds it cost (see cpu_of_process_tree),
    and the part of them this process used (the sweep's loop and its gather, and for
    Dask the scheduler and nannies; the rest is the workers')."""
    parent, children = cpu_of_process_tree()
    started = time.perf_counter()
    sweep(experiment, out, executor)
    wall = time.perf_counter() - started
    parent_after, children_after = cpu_of_process_tree()
    parent_cpu = parent_after - parent
    return wall, parent_cpu + children_after - children, parent_cpu


def start_local() -> LocalProcesses:
    """2 local worker processes, started."""
    return LocalProcesses(2).start()


def start_dask() -> DaskExecutor:
    """A Dask LocalCluster of 2 workers, started."""
    return DaskExecutor("local", workers=2)


def one_round(experiment, tmp: Path, round_no: int) -> dict[str, float]:
    """One interleaved round: the machine's limit, then the sweep three ways (local
    processes and Dask in turns first)."""
    one, two, limit = machine_limit()
    times = {"loop_one": one, "loop_two": two, "limit": limit}
    times["model_one"], times["model_two"], times["model_limit"] = model_limit()
    times["serial"], times["serial_cpu"], times["serial_parent"] = timed_sweep(
        InProcess(), experiment, tmp / f"serial{round_no}"
    )
    pools = [("local", start_local), ("dask", start_dask)]
    for key, start in pools if round_no % 2 == 0 else pools[::-1]:
        started = time.perf_counter()
        executor = start()
        times[f"{key}_startup"] = time.perf_counter() - started
        try:
            times[key], times[f"{key}_cpu"], times[f"{key}_parent"] = timed_sweep(
                executor, experiment, tmp / f"{key}{round_no}"
            )
        finally:
            executor.close()
    return times


def identical_results(tmp: Path, rounds: int) -> bool:
    """Whether every sweep of every round wrote the same results (timings apart)."""
    names = [f"{kind}{r}" for r in range(rounds) for kind in ("serial", "local", "dask")]
    frames = [load_results(tmp / n).drop(columns="elapsed_s") for n in names]
    return all(f.equals(frames[0]) for f in frames[1:])


def limit_of_best(rounds: list[dict[str, float]], what: str) -> tuple[float, float, float]:
    """(t_one, t_two, limit) of ``what`` ("loop" or "model"): the best time alone and the
    best side by side over the rounds, and 2 x their ratio."""
    one, two = (min(r[f"{what}_{k}"] for r in rounds) for k in ("one", "two"))
    return one, two, 2 * one / two


def verdict(value: float, target: float) -> str:
    """PASS or MISS against a target."""
    return "PASS" if value >= target else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 replicates instead of 40")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (best of)")
    args = parser.parse_args()
    replicates = 4 if args.quick else 40
    experiment = plan(replicates)
    runs = len(experiment.runs)

    rule("Sweeps against the machine's limit: serial, 2 local processes, Dask of 2")
    describe_machine()
    print(
        f"{runs} runs: 3 ready-made organisations x {replicates} replicates, 250 days "
        f"each; best of {args.repeat} interleaved rounds\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        rounds = [one_round(experiment, Path(tmp), r) for r in range(args.repeat)]
        identical = identical_results(Path(tmp), args.repeat)

    limits = [r["limit"] for r in rounds]
    best = {k: min(r[k] for r in rounds) for k in ("serial", "local", "dask")}
    # The limit is taken as the sweep's speed-up is: each time the best of the rounds
    # (the least disturbed), then their ratio. The best of each round's own ratio would
    # pick the round whose lone loop the machine's other load slowed most (up to 2.28x
    # on 2 cores, more than two cores can give).
    loop_one, loop_two, limit = limit_of_best(rounds, "loop")
    print(
        f"machine limit (CPU-bound loop, 2 x alone / two side by side, best times): "
        f"{limit:.2f}x (loop alone {loop_one:.2f} s, two side by side {loop_two:.2f} s; "
        f"each round's own: {', '.join(f'{x:.2f}' for x in limits)})\n"
    )
    print(
        f"{'executor':<30}{'seconds':>10}{'runs/s':>10}{'ms/run':>10}{'speed-up':>10}"
        f"{'CPU ms/run':>12}{'in parent':>11}"
    )
    for name, key in (
        ("serial (1 process)", "serial"),
        ("2 local processes", "local"),
        ("Dask LocalCluster, 2 workers", "dask"),
    ):
        seconds = best[key]
        cpu = min(r[f"{key}_cpu"] for r in rounds)
        parent = min(r[f"{key}_parent"] for r in rounds)
        print(
            f"{name:<30}{seconds:>10.2f}{runs / seconds:>10.2f}{1000 * seconds / runs:>10.0f}"
            f"{best['serial'] / seconds:>9.2f}x{1000 * cpu / runs:>12.0f}"
            f"{1000 * parent / runs:>11.1f}"
        )
    for key in ("serial", "local", "dask"):
        shown = [
            f"{r[key]:.2f} s ({1000 * r[f'{key}_cpu'] / runs:.0f} CPU ms/run, "
            f"{1000 * r[f'{key}_parent'] / runs:.1f} in this process)"
            for r in rounds
        ]
        print(f"  {key} rounds: " + ", ".join(shown))
    print(
        f"\nstart-up, not in the sweep times: local processes "
        f"{min(r['local_startup'] for r in rounds):.1f} s, Dask cluster "
        f"{min(r['dask_startup'] for r in rounds):.1f} s"
    )
    ideal = best["serial"] / limit  # 2 workers at the machine's limit
    print(
        f"overhead per run against the limit: 2 local processes "
        f"{(best['local'] - ideal) / runs * 1000:+.1f} ms, Dask "
        f"{(best['dask'] - ideal) / runs * 1000:+.1f} ms"
    )
    *_, model_limit = limit_of_best(rounds, "model")
    print(
        f"the model's own limit (its runs alone / two side by side, best times, as the "
        f"loop): {model_limit:.2f}x, {model_limit / limit:.0%} of the loop's; 2 workers "
        f"reach {best['serial'] / best['local'] / model_limit:.0%} of it"
    )
    # each round against its own limit: the machine's load changes between rounds
    model_limits = [r["model_limit"] for r in rounds]
    print(
        f"per round, the model's own limit: "
        f"{', '.join(f'{x:.2f}' for x in model_limits)}; the runs' share of the loop's "
        f"limit: {', '.join(f'{r["model_limit"] / r["limit"]:.0%}' for r in rounds)}; "
        f"2 workers' share of the model's limit: "
        f"{', '.join(f'{r["serial"] / r["local"] / r["model_limit"]:.0%}' for r in rounds)}"
    )
    shares = [r["serial"] / r["local"] / r["limit"] for r in rounds]
    dask_shares = [r["local"] / r["dask"] for r in rounds]
    print(
        "per round: 2 workers' share of that round's limit "
        + ", ".join(f"{x:.0%}" for x in shares)
        + "; Dask against local "
        + ", ".join(f"{x:.0%}" for x in dask_shares)
    )
    cpu = {key: min(r[f"{key}_cpu"] for r in rounds) / runs for key in ("serial", "local", "dask")}
    print(
        f"CPU per run, best rounds: 2 local processes {1000 * (cpu['local'] - cpu['serial']):+.0f}"
        f" ms against serial, Dask {1000 * (cpu['dask'] - cpu['local']):+.0f} ms "
        f"({cpu['dask'] / cpu['local'] - 1:+.0%}) against local processes"
    )
    print(f"results identical across executors and rounds: {identical}")
    speed_up = best["serial"] / best["local"]
    share = speed_up / limit
    dask_share = best["local"] / best["dask"]
    print(
        f"\n2 workers: {speed_up:.2f}x serial = {share:.0%} of the machine's limit "
        f"{limit:.2f}x   target >= {TARGET_SHARE_OF_LIMIT:.0%}  "
        f"{verdict(share, TARGET_SHARE_OF_LIMIT)}"
    )
    print(
        f"Dask: {dask_share:.0%} of local processes' rate once started   target >= "
        f"{TARGET_DASK_SHARE:.0%}  {verdict(dask_share, TARGET_DASK_SHARE)}"
    )


if __name__ == "__main__":
    main()
