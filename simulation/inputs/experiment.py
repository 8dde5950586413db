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

Nothing is built for the whole design: a :class:`Plan` counts its points and runs
(``point_count``, ``run_count``) and makes point ``i``, its scenario and run ``i`` from
the index when asked (:meth:`Plan.point`, :meth:`Plan.scenario`, :meth:`Plan.iter_runs`),
in the same order and with the same values as a design expanded whole. A plan of 10^7
runs takes no more memory than one of ten (the lhs design excepted: its hypercube is
drawn whole, ``8 x samples x parameters`` bytes).

Validation: every point of a design of at most :data:`FULLY_CHECKED_POINTS` points must
make a valid scenario, or the experiment is refused before anything runs (one line
naming the field, the reason and the point). A larger design is checked on a sample
before it runs (its first :data:`FIRST_CHECKED_POINTS` points, its last, and for a grid
points that take every value of every axis); a point that still turns out invalid
when its runs are made becomes error rows (status ``error``, the one-line message in
``error``) and the sweep goes on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
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

#: Designs of at most this many points are validated point by point before anything
#: runs; a larger one is validated on a sample (:meth:`Plan.points_checked_up_front`).
#: 10,000 points take about 4 s to check (0.4 ms a scenario); more would delay the start
#: of a large sweep by minutes.
FULLY_CHECKED_POINTS = 10_000

#: Points of a large design checked first (with its last point and, for a grid, every
#: value of every axis).
FIRST_CHECKED_POINTS = 100

#: Values of each grid axis checked up front in a large design (each axis's values
#: beyond are checked when their runs are made).
AXIS_VALUES_CHECKED = 10_000

#: Scenarios kept built: a sweep asks for them point by point, in order.
SCENARIO_CACHE = 64

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
    """An experiment resolved against its base scenario: points, runs and seeds, each
    made on demand from its index (nothing is built for the whole design).

    Args:
        experiment: The validated experiment.
        base: Its base scenario.
        source: The experiment file, named in messages.
        max_runs: Most runs allowed (:data:`MAX_RUNS` unless raised on purpose).
    """

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
        self.point_count = experiment.point_count()
        self.run_count = self.point_count * experiment.replicates
        self._design = _Design(experiment)
        self.parameter_names = self._design.parameter_names()
        # bounded: a sweep asks for the scenarios of a few points at a time, in order
        self.scenario = lru_cache(maxsize=SCENARIO_CACHE)(self._scenario_for)
        # Every point checked must make a valid scenario: refuse the experiment before
        # running (every point of a small design; a sample of a large one).
        for index in self.points_checked_up_front():
            self.scenario(index)

    def point(self, index: int) -> dict[str, Any]:
        """Point ``index`` of the design (parameter path -> value), built on demand."""
        if not 0 <= index < self.point_count:
            raise IndexError(f"point {index} of a design of {self.point_count} points")
        return self._design.point(index)

    def points_checked_up_front(self) -> list[int]:
        """The points validated when the plan is made: all of a design of at most
        :data:`FULLY_CHECKED_POINTS` points; of a larger one, the first
        :data:`FIRST_CHECKED_POINTS`, the last, and (grid) points that between them take
        every value of every axis (up to :data:`AXIS_VALUES_CHECKED` values per axis)."""
        count = self.point_count
        if count <= FULLY_CHECKED_POINTS:
            return list(range(count))
        indices = {*range(FIRST_CHECKED_POINTS), count - 1}
        indices.update(self._design.every_value_indices(AXIS_VALUES_CHECKED))
        return sorted(indices)

    def _scenario_for(self, index: int) -> Scenario:
        point = self.point(index)
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

    def run(self, index: int) -> Run:
        """Run ``index`` of the plan: point ``index // replicates``, replicate the rest."""
        if not 0 <= index < self.run_count:
            raise IndexError(f"run {index} of a plan of {self.run_count} runs")
        point, replicate = divmod(index, self.experiment.replicates)
        return Run(point, replicate, replicate_seed(self.experiment.seed, replicate))

    def iter_runs(self, start: int = 0) -> Iterator[Run]:
        """The runs from run ``start`` on, made one at a time: point by point, each
        point's replicates in order."""
        replicates = self.experiment.replicates
        seeds = [replicate_seed(self.experiment.seed, r) for r in range(replicates)]
        first_point, first_replicate = divmod(start, replicates)
        for point in range(first_point, self.point_count):
            for replicate in range(first_replicate if point == first_point else 0, replicates):
                yield Run(point, replicate, seeds[replicate])

    @property
    def points(self) -> Sequence[dict[str, Any]]:
        """Every point, as a sequence that builds each one when it is read."""
        return LazySequence(self.point_count, self.point)

    @property
    def scenarios(self) -> Sequence[Scenario]:
        """Every point's scenario, as a sequence that builds each one when it is read."""
        return LazySequence(self.point_count, self.scenario)

    @property
    def runs(self) -> Sequence[Run]:
        """Every run of the plan: each point times each replicate, point by point; a
        sequence that makes each run when it is read."""
        return LazySequence(self.run_count, self.run)


class LazySequence(Sequence):
    """A read-only sequence of ``length`` items, item ``i`` made by ``item(i)`` when read.

    Equal to any sequence holding equal items in the same order (a list included).
    """

    def __init__(self, length: int, item: Callable[[int], Any]):
        self._length = length
        self._item = item

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._item(i) for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(index)
        return self._item(index)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable-looking: equal to lists

    def __repr__(self) -> str:
        return f"<{self._length} items made on demand>"


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


class _Design:
    """How a design makes point ``i`` from its index alone, in the order the design has
    always had: grid points in ``itertools.product`` order (the last parameter varies
    fastest), list points as written, random points as rows of the one matrix
    ``rng.random((samples, parameters))`` (row ``i`` read by advancing the generator,
    so no matrix is held), lhs points as rows of scipy's hypercube (drawn whole, as the
    strata are permutations: ``8 x samples x parameters`` bytes)."""

    def __init__(self, experiment: Experiment):
        self.experiment = experiment
        self.names = list(experiment.parameters)
        self.specs = [experiment.parameters[n] for n in self.names]
        self.axes = [_grid_values(s) for s in self.specs] if experiment.design == "grid" else []
        rng = np.random.default_rng(np.random.SeedSequence(experiment.seed, spawn_key=(2**31,)))
        self._rng = rng
        self._start_state = rng.bit_generator.state
        self._unit: np.ndarray | None = None  # the lhs matrix, drawn when first read

    def parameter_names(self) -> list[str]:
        if self.experiment.design == "list":
            return sorted({k for p in self.experiment.points for k in p})
        return sorted(self.names)

    def point(self, index: int) -> dict[str, Any]:
        design = self.experiment.design
        if design == "list":
            return dict(self.experiment.points[index])
        if design == "grid":
            return dict(zip(self.names, self._grid_combo(index), strict=True))
        row = self._lhs_row(index) if design == "lhs" else self._random_row(index)
        return {
            name: _from_unit(spec, u)
            for name, spec, u in zip(self.names, self.specs, row, strict=True)
        }

    def _grid_combo(self, index: int) -> list[Any]:
        combo = []
        for axis in reversed(self.axes):  # mixed radix, the last axis the fastest digit
            index, digit = divmod(index, len(axis))
            combo.append(axis[digit])
        return combo[::-1]

    def _random_row(self, index: int) -> np.ndarray:
        # one 64-bit draw per double (numpy's random()): row i starts i x d draws in
        bits = type(self._rng.bit_generator)()
        bits.state = self._start_state
        bits.advance(index * len(self.specs))
        return np.random.Generator(bits).random(len(self.specs))

    def _lhs_row(self, index: int) -> np.ndarray:
        if self._unit is None:
            rng = np.random.default_rng(
                np.random.SeedSequence(self.experiment.seed, spawn_key=(2**31,))
            )
            sampler = qmc.LatinHypercube(d=len(self.specs), rng=rng)
            self._unit = sampler.random(self.experiment.samples or 1)
        return self._unit[index]

    def every_value_indices(self, most: int) -> list[int]:
        """Grid points that between them take every value of every axis (the k-th takes
        value ``min(k, last)`` of each axis), at most ``most`` of them; none for the
        other designs."""
        if self.experiment.design != "grid":
            return []
        longest = max(len(axis) for axis in self.axes)
        indices = []
        for k in range(min(longest, most)):
            index = 0
            for axis in self.axes:
                index = index * len(axis) + min(k, len(axis) - 1)
            indices.append(index)
        return indices


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
