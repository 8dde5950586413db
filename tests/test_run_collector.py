"""run_scenario lets Python's cyclic garbage collector wait while a run goes on
(runs.collector_waiting): the threshold is raised for the run and restored after it,
however runs nest or overlap, and the results are the same as with the default."""

from __future__ import annotations

import gc
import threading

import pytest

from simulation.running import runs
from tests.conftest import ready_made, short


def test_the_threshold_is_raised_during_a_run_and_restored_after_it(monkeypatch):
    seen: list[tuple[int, ...]] = []
    before = gc.get_threshold()
    run = runs.run_scenario(
        short(ready_made("converged"), days=30),
        seed=1,
        on_day=lambda *_: seen.append(gc.get_threshold()),
    )
    assert run.kpis["delivered"] > 0
    assert {t[0] for t in seen} == {runs.RUN_GC_THRESHOLD}
    assert gc.get_threshold() == before


def test_overlapping_runs_restore_the_threshold_only_when_the_last_one_ends():
    before = gc.get_threshold()
    first_inside, second_done = threading.Event(), threading.Event()
    seen_after_second: list[int] = []

    def first() -> None:
        with runs.collector_waiting():
            first_inside.set()
            second_done.wait(timeout=30)
            seen_after_second.append(gc.get_threshold()[0])

    thread = threading.Thread(target=first)
    thread.start()
    assert first_inside.wait(timeout=30)
    with runs.collector_waiting():
        assert gc.get_threshold()[0] == runs.RUN_GC_THRESHOLD
    second_done.set()
    thread.join(timeout=30)
    assert seen_after_second == [runs.RUN_GC_THRESHOLD]
    assert gc.get_threshold() == before


def test_the_threshold_is_restored_when_a_run_fails():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), runs.collector_waiting():
        raise RuntimeError("a run failed")
    assert gc.get_threshold() == before


@pytest.mark.parametrize("name", ["siloed", "transition_big_bang"])
def test_results_do_not_depend_on_when_the_collector_runs(monkeypatch, name):
    scenario = short(ready_made(name), days=100)
    waiting = runs.run_scenario(scenario, seed=2).kpis
    monkeypatch.setattr(runs, "RUN_GC_THRESHOLD", None)
    default = runs.run_scenario(scenario, seed=2).kpis
    assert repr(waiting) == repr(default)  # repr: NaN equals NaN
