"""Studies (explain, sensitivity, robustness) run as sweeps, and read back.

A study is an experiment the command line writes for its user: a base scenario, the
points to run (each a set of overrides of the base, e.g. one coalition of factors, one
sample of the parameter ranges, one plausible world under one design), replicates and a
seed, and ``study``: its kind and what its analysis needs (the factors, the ranges, the
designs). It runs through :func:`simulation.running.batch.sweep` like any sweep, so it
runs on every executor (this process, local processes, Dask), writes its rows as they
land, resumes from its parts, and keeps a manifest; ``study`` is part of the experiment,
so a resume that would mix two studies is refused like any other change.

Common random numbers: replicate ``r`` of every point runs with the seed ``seed + r``
(:mod:`simulation.inputs.seeds`). Two points' replicate ``r`` therefore differ only by
their overrides, which is what makes a difference between points (a gap, a contribution,
an elementary effect) measurable with few replicates:
:func:`simulation.analysis.sweep_stats.kpi_matrix` lines them up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.errors import ScenarioError
from simulation.inputs.experiment import Plan, plan_from_data
from simulation.inputs.scenario import Scenario
from simulation.limits import MAX_RUNS
from simulation.running.batch import SweepOutcome, load_results, read_manifest, sweep
from simulation.running.executors import Executor

#: The kinds of study, each with its own analysis.
STUDY_KINDS = ("explain", "sensitivity", "robustness")

#: Values a point may set: each becomes a column of the results.
_SCALARS = (str, int, float, bool, type(None))


@dataclass
class Study:
    """A study as an experiment: ``points`` (overrides of ``base``) x ``replicates``.

    Args:
        kind: One of :data:`STUDY_KINDS`: which analysis reads the results.
        name: Shown on tables, charts and the Results page.
        base: The scenario every point overrides.
        points: One mapping of dotted path -> single value per point, in a fixed order.
        replicates: Runs per point; replicate ``r`` runs with ``seed + r`` everywhere.
        seed: The seed of replicate 0.
        spec: What the analysis needs, JSON-able (factors, ranges, designs, ...).
        days: Override every run's horizon (None: the base's).
    """

    kind: str
    name: str
    base: Scenario
    points: list[dict[str, Any]]
    replicates: int
    seed: int = 2026
    spec: dict[str, Any] = field(default_factory=dict)
    days: int | None = None

    def experiment_data(self) -> dict[str, Any]:
        """The experiment this study is, as an experiment file would hold it."""
        data = {
            "name": self.name,
            "scenario": self.base.model_dump(mode="json"),
            "design": "list",
            "points": self.points,
            "replicates": self.replicates,
            "seed": self.seed,
            "study": {"kind": self.kind, **self.spec},
        }
        if self.days is not None:
            data["days"] = self.days
        return data

    def plan(self, max_runs: int = MAX_RUNS) -> Plan:
        """The study's plan; a point that sets a list or a mapping, or that makes an
        invalid scenario, is a :class:`ScenarioError` naming it."""
        if self.kind not in STUDY_KINDS:
            raise ScenarioError("study.kind", f"{self.kind!r} is not one of {STUDY_KINDS}")
        for index, point in enumerate(self.points):
            for path, value in point.items():
                if not isinstance(value, _SCALARS):
                    raise ScenarioError(
                        f"points[{index}].{path}",
                        "a study varies single values, not lists or mappings",
                    )
        return plan_from_data(self.experiment_data(), source=f"the {self.kind} study",
                              max_runs=max_runs)  # fmt: skip


def run_study(
    study: Study,
    out: Path,
    executor: Executor | None = None,
    *,
    resume: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    allow_code_change: bool = False,
    max_runs: int = MAX_RUNS,
) -> SweepOutcome:
    """Run ``study`` into ``out`` as a sweep (see :func:`simulation.running.batch.sweep`)."""
    return sweep(
        study.plan(max_runs),
        Path(out),
        executor,
        resume=resume,
        on_progress=on_progress,
        allow_code_change=allow_code_change,
    )


def study_spec(out: Path) -> dict[str, Any] | None:
    """The ``study`` of the sweep in ``out`` (its kind and spec), or None for a sweep
    that is not a study."""
    experiment = read_manifest(Path(out)).get("experiment") or {}
    study = experiment.get("study")
    return study if isinstance(study, dict) else None


def load_study(out: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """A study's spec and its rows (whatever has finished); a directory that holds a
    sweep but no study is a :class:`ScenarioError`."""
    results = load_results(Path(out))
    spec = study_spec(out)
    if spec is None:
        raise ScenarioError("", "holds a sweep, not a study", str(out))
    return spec, results
