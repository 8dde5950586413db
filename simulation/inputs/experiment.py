"""Experiment files: a base scenario, the parameters to vary, and how to sample them.

An experiment is validated like a scenario (one line naming the field and the reason,
:class:`~simulation.inputs.scenario.ScenarioError`). Its design expands into *points* (one
set of parameter values each) and each point runs ``replicates`` times.

Designs:

- ``grid``: every combination of every parameter's values (a list, or a range
  ``{low, high, steps}``);
- ``list``: the points written out, ``points: [{brms.count: 1}, ...]``;
- ``random``: ``samples`` points drawn uniformly within each parameter's range (or from
  its list of choices);
- ``lhs``: a Latin hypercube of ``samples`` points (scipy's ``qmc``): each parameter's
  range cut into ``samples`` strata, each stratum sampled once.

Seeds: replicate ``r`` of every point runs with the seed ``seed + r``
(:mod:`simulation.inputs.seeds`, the scheme of every replicate anywhere). A run's seed
therefore depends on the experiment's seed and the run's replicate number alone: any run
can be reproduced on its own with ``run --seed``, and every point sees the same random
numbers replicate by replicate (common random numbers), so differences between points
are the parameters'.

Size: a design is counted before anything is built from it. More than
:data:`MAX_RUNS` runs (points x replicates) is refused with the count and the limit;
``max_runs`` (``sweep --max-runs``) allows more on purpose.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.stats import qmc

from simulation.errors import ScenarioError
from simulation.inputs.safe_yaml import load_yaml, read_text_file
from simulation.inputs.scenario import (
    Scenario,
    horizon_overrides,
    load_scenario,
    parse_scenario,
    scenario_error_from,
    with_overrides,
)
from simulation.inputs.seeds import replicate_seed
from simulation.limits import MAX_HORIZON_DAYS, MAX_RUNS, MAX_SEED

#: Bounds that hold whatever ``max_runs`` says: the design's own numbers.
MAX_COUNT = 10**9

Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]


class Range(BaseModel):
    """A parameter's range: sampled uniformly (random, lhs) or split into ``steps`` grid points.

    Args:
        low: Lowest value.
        high: Highest value; not below ``low``.
        steps: Grid points, ends included (grid design only).
        integer: Round values to whole numbers (for counts such as headcounts).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    low: float
    high: float
    steps: int | None = Field(
        None, ge=2, le=MAX_COUNT, description="Grid points (grid design only)."
    )
    integer: bool = Field(False, description="Round sampled values to whole numbers.")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) is below low ({self.low})")
        return self


ParameterSpec = Range | Annotated[list[Any], Field(min_length=1)]


class Experiment(BaseModel):
    """An experiment file: a base scenario, the parameters to vary and how, and replicates.

    Args:
        name: Shown on tables, charts and the Results page.
        description: What the experiment asks, in words.
        base: Path of the base scenario file, relative to the experiment file.
        scenario: Or the base scenario inline (exactly one of ``base`` and ``scenario``).
        design: ``grid`` (every combination), ``list`` (the given ``points``),
            ``random`` or ``lhs`` (``samples`` points, Latin hypercube for lhs).
        parameters: Dotted scenario path -> a :class:`Range` or a list of values.
        points: The points of the list design, each a mapping of path -> value.
        samples: Points of the random and lhs designs.
        replicates: Runs per point, each with its own seed.
        seed: Seed of the sampling and of replicate 0 (replicate i runs with a seed
            derived from it).
        days: Override every run's horizon (for quick looks).
        study: Written by a study (``explain``, ``sensitivity``, ``robustness``): its
            kind and what its analysis needs (:mod:`simulation.running.studies`).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field("Untitled experiment", max_length=200)
    description: str = Field("", max_length=5_000)
    base: str | None = Field(
        None, description="Path of the base scenario, relative to the experiment file."
    )
    scenario: dict[str, Any] | None = Field(None, description="Or the base scenario inline.")
    design: Literal["grid", "list", "random", "lhs"] = "grid"
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    points: list[dict[str, Any]] = Field(default_factory=list, description="list design only")
    samples: Count | None = Field(None, description="random and lhs designs")
    replicates: Count = 10
    # at most MAX_SEED - MAX_COUNT: the seed of every replicate stays a valid seed
    seed: int = Field(2026, ge=0, le=MAX_SEED - MAX_COUNT)
    days: int | None = Field(
        None, ge=1, le=MAX_HORIZON_DAYS, description="Override every run's horizon."
    )
    study: dict[str, Any] | None = Field(
        None, description="Written by explain, sensitivity and robustness for their analysis."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Experiment:
        if (self.base is None) == (self.scenario is None):
            raise ValueError("@base@give either base (a scenario file) or scenario (inline)")
        if self.design == "list":
            if not self.points:
                raise ValueError("@points@the list design needs points")
        elif not self.parameters:
            raise ValueError(f"@parameters@the {self.design} design needs parameters")
        if self.design in ("random", "lhs") and self.samples is None:
            raise ValueError(f"@samples@the {self.design} design needs samples")
        for path, spec in self.parameters.items():
            if self.design == "grid" and isinstance(spec, Range) and spec.steps is None:
                raise ValueError(f"@parameters.{path}.steps@a range in a grid needs steps")
            if self.design == "lhs" and not isinstance(spec, Range):
                raise ValueError(f"@parameters.{path}@lhs needs a range {{low, high}}")
        return self

    def point_count(self) -> int:
        """Points of the design, counted without building them."""
        if self.design == "list":
            return len(self.points)
        if self.design in ("random", "lhs"):
            return self.samples or 1
        return math.prod(
            spec.steps or 2 if isinstance(spec, Range) else len(spec)
            for spec in self.parameters.values()
        )


class Plan:
    """An experiment resolved against its base scenario: points, runs and seeds."""

    def __init__(
        self,
        experiment: Experiment,
        base: Scenario,
        source: str | None = None,
        max_runs: int = MAX_RUNS,
    ):
        self.experiment = experiment
        self.base = base
        self.source = source
        check_size(experiment, max_runs, source)
        self.points = expand(experiment)
        self.parameter_names = sorted({k for p in self.points for k in p})
        # Every point must make a valid scenario: refuse the experiment before running.
        self.scenarios = [self._scenario_for(i, p) for i, p in enumerate(self.points)]

    def _scenario_for(self, index: int, point: dict[str, Any]) -> Scenario:
        overrides = dict(point)
        if self.experiment.days is not None:
            overrides.update(horizon_overrides(self.base, self.experiment.days))
        try:
            return with_overrides(self.base, overrides)
        except ScenarioError as exc:
            where = "points" if self.experiment.design == "list" else "parameters"
            raise ScenarioError(
                f"{where}.{exc.field}" if exc.field else where,
                f"{exc.reason} (at point {index}: {point})",
                self.source,
            ) from None

    @property
    def runs(self) -> list[Run]:
        """Every run of the plan: each point times each replicate, point by point."""
        reps = self.experiment.replicates
        return [
            Run(point, replicate, replicate_seed(self.experiment.seed, replicate))
            for point in range(len(self.points))
            for replicate in range(reps)
        ]


def check_size(experiment: Experiment, max_runs: int, source: str | None = None) -> None:
    """Refuse a design of more than ``max_runs`` runs before building any of it."""
    points = experiment.point_count()
    runs = points * experiment.replicates
    if runs > max_runs:
        raise ScenarioError(
            "replicates" if points <= max_runs else _size_field(experiment),
            f"the design has {points:,} points x {experiment.replicates:,} replicates = "
            f"{runs:,} runs; the limit is {max_runs:,} (raise it on purpose with "
            "--max-runs)",
            source,
        )


def _size_field(experiment: Experiment) -> str:
    if experiment.design == "list":
        return "points"
    if experiment.design in ("random", "lhs"):
        return "samples"
    return "parameters"


class Run(NamedTuple):
    """The identity of one run."""

    point: int
    replicate: int
    seed: int

    @property
    def id(self) -> str:
        """The run's stable name, as stored in the results (``p00003-r0007``)."""
        return run_id(self.point, self.replicate)


def run_id(point: int, replicate: int) -> str:
    """The stable name of run (point, replicate): zero-padded so that names sort in run
    order, which is how a resumed sweep finds the runs already written.
    """
    return f"p{point:05d}-r{replicate:04d}"


def expand(experiment: Experiment) -> list[dict[str, Any]]:
    """The design's points, in a fixed order."""
    if experiment.design == "list":
        return [dict(p) for p in experiment.points]
    names = list(experiment.parameters)
    specs = [experiment.parameters[n] for n in names]
    if experiment.design == "grid":
        axes = [_grid_values(s) for s in specs]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)]
    rng = np.random.default_rng(np.random.SeedSequence(experiment.seed, spawn_key=(2**31,)))
    n = experiment.samples or 1
    if experiment.design == "lhs":
        unit = qmc.LatinHypercube(d=len(specs), rng=rng).random(n)
    else:
        unit = rng.random((n, len(specs)))
    return [
        {name: _from_unit(spec, u) for name, spec, u in zip(names, specs, row, strict=True)}
        for row in unit
    ]


def _grid_values(spec: ParameterSpec) -> list[Any]:
    if isinstance(spec, Range):
        values = np.linspace(spec.low, spec.high, spec.steps or 2)
        return [round(float(v)) if spec.integer else float(v) for v in values]
    return list(spec)


def _from_unit(spec: ParameterSpec, u: float) -> Any:
    if isinstance(spec, Range):
        value = spec.low + u * (spec.high - spec.low)
        return round(float(value)) if spec.integer else float(value)
    return spec[min(int(u * len(spec)), len(spec) - 1)]


# --------------------------------------------------------------------------- loading


def load_experiment(path: str | Path, max_runs: int = MAX_RUNS) -> Plan:
    """Read, validate and resolve an experiment file, or raise ScenarioError."""
    path = Path(path)
    source = str(path)
    data = load_yaml(read_text_file(path), source)
    return plan_from_data(data, base_dir=path.parent, source=source, max_runs=max_runs)


def plan_from_data(
    data: Any,
    base_dir: Path = Path("."),
    source: str | None = None,
    max_runs: int = MAX_RUNS,
) -> Plan:
    """Validate experiment fields (parsed YAML) and resolve them into a :class:`Plan`.

    ``base_dir`` is where a ``base`` path is read from; ``source`` names the file in
    messages. Raises ScenarioError with the field at fault, including the base
    scenario's own fields (``base (x.yaml): brms.count``).
    """
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise ScenarioError("", f"expected a mapping of experiment fields, got {kind}", source)
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as exc:
        raise scenario_error_from(exc, source) from None
    if experiment.base is not None:
        base_path = base_dir / experiment.base
        try:
            base = load_scenario(base_path)
        except ScenarioError as exc:
            raise ScenarioError(
                f"base ({experiment.base})" + (f": {exc.field}" if exc.field else ""),
                exc.reason,
                source,
            ) from None
    else:
        try:
            base = parse_scenario(experiment.scenario)
        except ScenarioError as exc:
            raise ScenarioError(f"scenario.{exc.field}", exc.reason, source) from None
    return Plan(experiment, base, source, max_runs)
