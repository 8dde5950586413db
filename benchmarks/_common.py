"""Small helpers shared by the benchmark scripts: repo path, timing and verdicts.

The scripts are run as ``python benchmarks/NAME.py`` from the repository root, so this
folder is on ``sys.path`` and the repository root is added here for ``simulation``.
"""

from __future__ import annotations

import cProfile
import gc
import os
import platform
import pstats
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def add_repo_to_path() -> None:
    """Make ``import simulation`` work whatever the current directory is."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def best_of[T](fn: Callable[[], T], repeats: int) -> tuple[float, float, T]:
    """Best wall time and best CPU time of ``repeats`` calls of ``fn``, and its last result.

    The best repetition is the one least disturbed by other load. CPU time (this
    process only) is printed beside wall time because it is far less sensitive to other
    processes competing for the cores.
    """
    best_wall = best_cpu = float("inf")
    result: T
    for _ in range(max(1, repeats)):
        gc.collect()  # start each repetition from the same collector state
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return best_wall, best_cpu, result


@dataclass
class GcTime:
    """CPU time spent in Python's cyclic garbage collector while a block ran."""

    seconds: float = 0.0
    full_collections: int = 0  # generation-2 passes, which walk every tracked object


@contextmanager
def gc_time() -> Iterator[GcTime]:
    """Measure garbage-collection pauses inside the ``with`` block (via ``gc.callbacks``),
    in CPU time of the collecting thread: on a loaded machine a pause measured by the
    wall clock also counts the time the process waited for a core (several times the
    collector's own work at a load average of 8 on 2 cores)."""
    totals = GcTime()
    started = 0.0

    def callback(phase: str, info: dict[str, Any]) -> None:
        nonlocal started
        if phase == "start":
            started = time.thread_time()
        else:
            totals.seconds += time.thread_time() - started
            totals.full_collections += info["generation"] == 2

    gc.callbacks.append(callback)
    try:
        yield totals
    finally:
        gc.callbacks.remove(callback)


def describe_machine() -> None:
    """Print what the figures depend on: Python, core count and current load."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load} (other load inflates wall times, CPU times far less)"
    )


def verdict(ok: bool) -> str:
    """PASS/MISS label printed next to a target."""
    return "PASS" if ok else "MISS"


def rule(title: str = "") -> None:
    """A section heading in the printed report."""
    print(f"\n== {title} " + "=" * max(0, 76 - len(title)) if title else "=" * 80)


def _component(filename: str) -> str:
    if "/mesa/" in filename:
        return "mesa: event list, Observable model.time, agents"
    if "/simulation/" in filename:
        return "simulation/: Converge model code"
    return "other (pandas, pydantic, networkx, stdlib, ...)"


def profile_components(stats: pstats.Stats) -> dict[str, float]:
    """Own time (tottime) by component.

    Builtins (heapq, getattr, ...) and ``weakref.py`` count for whoever called them:
    a heappop called by mesa's event list is mesa's time. numpy's Generator methods are
    invisible to cProfile, so random draws count in their caller's own time.
    """
    table = stats.stats  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, callers) in table.items():
        if filename == "~" or filename.endswith("weakref.py"):
            for (caller_file, _, _), caller_stats in callers.items():
                key = _component(caller_file)
                out[key] = out.get(key, 0.0) + caller_stats[2]
        else:
            key = _component(filename)
            out[key] = out.get(key, 0.0) + tottime
    return out


def profile_call(fn: Callable[[], object], top: int = 15) -> None:
    """cProfile ``fn``; print own time by component, then the top functions by own time."""
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    fn()
    profiler.disable()
    elapsed = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    components = profile_components(stats)
    total = sum(components.values())
    print(f"profiled run: {elapsed:.1f} s wall (cProfile roughly doubles it)")
    for key, seconds in sorted(components.items(), key=lambda kv: -kv[1]):
        print(f"  {key:<52} {seconds:6.2f} s  {seconds / total:6.1%}")
    stats.sort_stats("tottime").print_stats(top)


def timed_phases(make_model: Callable[[], Any]) -> tuple[dict[str, float], Any, Any]:
    """One run in the steps of ``simulation.running.runs.run_scenario``, each phase timed:
    seconds of ``build``, ``run`` (day by day, as Mesa steps), ``records`` and ``kpis``;
    with the model and its records. As there, the garbage collector waits while the run
    goes on (``runs.collector_waiting``)."""
    from simulation.analysis.metrics import compute_kpis
    from simulation.running.runs import collector_waiting

    with collector_waiting():
        start = time.perf_counter()
        model = make_model()
        built = time.perf_counter()
        while model.running:
            model.step()
        ran = time.perf_counter()
        records = model.records()
        recorded = time.perf_counter()
        compute_kpis(records)
        done = time.perf_counter()
    phases = {
        "build": built - start,
        "run": ran - built,
        "records": recorded - ran,
        "kpis": done - recorded,
    }
    return phases, model, records
