"""How sure: which design wins across the worlds we cannot rule out, and when it loses.

A comparison of designs answers for one world: the model's parameters at their
defaults. Most of those parameters are reasoned estimates with a plausible range
(:mod:`simulation.catalog.parameters`). Robustness analysis in the sense of decision
making under deep uncertainty (Lempert, Popper & Bankes 2003, *Shaping the Next One
Hundred Years*, RAND) runs every design in many *plausible worlds*, a space-filling
sample of those ranges, and asks per KPI:

- **win share**: in what share of the worlds each design is the best (95% Wilson
  interval over the worlds sampled; ties are shared);
- **regret**: how much worse than the best design of that world each design is, in the
  KPI's unit (median, 90th percentile, maximum over the worlds; zero for the winner);
- **where the favourite loses**: scenario discovery (Bryant & Lempert 2010,
  "Thinking inside the box", *Technological Forecasting and Social Change* 77) with PRIM,
  the patient rule induction method (Friedman & Fisher 1999, "Bump hunting in
  high-dimensional data", *Statistics and Computing* 9): a box of parameter ranges
  where the favourite's losses concentrate, with its *coverage* (share of all losses
  inside it) and *density* (share of the worlds inside it that are losses).

PRIM is implemented here (:func:`prim`, about sixty lines of numpy) rather than taken
from a library: the well-kept implementations come with heavy dependencies
(ema_workbench pulls in scikit-learn, matplotlib, ipyparallel and more; scikit-learn
alone has no PRIM), and the method is small enough to test directly
(``tests/test_robustness.py`` recovers known boxes).

Which worlds. Every ``parameter`` entry of the catalog whose range the designs leave
open: not a decision (a lever, the structure, the team size, the BRM count: those are
what designs choose; the demand scale is a lever the app offers, but how much demand
arrives is an unknown, so it stays), not a field the designs set differently, not an
entry of a list (a discipline's cost is a fact of the organisation modelled; ask for
``disciplines.dev.cost_per_day`` by name), and not a parameter of a mechanism that is
switched off, or has nothing to act on, in every design (the rules of
:mod:`simulation.analysis.idle`, which sensitivity studies and explain share).
The worlds are a scrambled Latin hypercube (McKay, Beckman & Conover 1979), through
:mod:`scipy.stats.qmc`.

Which runs. Every world runs with every design (the world's values set over the
design's), and replicate ``r`` of every point runs with the same seed: common random
numbers (:mod:`simulation.running.studies`), so a difference between designs in one
world is the designs' and not the dice's. A world's value of a design is the mean of
its replicates. Its winner carries the replicates' noise; a world is *decided* when the
winner's paired lead over the runner-up has a 95% t-interval (over replicates) that
excludes zero, and the analysis says how many are.

Whether a box means something. With tens of parameters and a few hundred worlds, PRIM
finds some box in pure noise. The box's clarity (the harmonic mean of coverage and
density, its F1 score) is therefore compared with the best box PRIM finds when the
losses are shuffled across worlds (:data:`SHUFFLES` times): the share of shuffles that
do as well is the box's p-value, and a box that shuffles match often (p > 0.05) is not
reported as a region.

Pure analysis: no running, no I/O. The command line and the app run the study
(:mod:`simulation.running.studies`) and hand its results here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from simulation.analysis.comparison import format_kpi
from simulation.analysis.differences import differences, resolved_fields
from simulation.analysis.idle import acting
from simulation.analysis.sweep_stats import kpi_matrix
from simulation.catalog import kpis as catalog
from simulation.catalog.levers import LEVERS
from simulation.catalog.parameters import PARAMETERS, Parameter
from simulation.errors import ScenarioError
from simulation.inputs.scenario import Scenario

#: Fields no world varies: what the designs decide (the levers, except how much demand
#: arrives, which nobody decides).
DECISIONS = frozenset(lever.path for lever in LEVERS) - {"demand_scale"}
#: PRIM: the share of the box's worlds one peel removes (Friedman & Fisher's alpha).
PEEL_ALPHA = 0.05
#: PRIM stops before the box holds fewer than this share of the worlds.
MIN_MASS = 0.05
#: At most this many parameters name a region: a longer list reads as noise.
MAX_RESTRICTIONS = 3
#: A restriction is dropped when the box without it is at most this much less dense.
PRUNE_TOLERANCE = 0.05
#: Shuffled-loss trials a box's clarity is tested against, and the p-value above which
#: it is not reported.
SHUFFLES = 49
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Range:
    """One parameter the worlds vary, over its plausible range.

    Args:
        path: The dotted scenario field ("mechanisms.handoff.cross_unit_days").
        low: Lowest plausible value.
        high: Highest plausible value.
        integer: Whether the field takes whole numbers.
        source: Where the range comes from (the catalog's source).
    """

    path: str
    low: float
    high: float
    integer: bool = False
    source: str = ""

    def value(self, unit: float) -> float | int:
        """The value at ``unit`` (0 to 1) along the range; whole numbers get equal
        shares of the unit interval."""
        if self.integer:
            span = int(self.high) - int(self.low) + 1
            return min(int(self.low) + int(unit * span), int(self.high))
        return float(self.low + unit * (self.high - self.low))

    def to_json(self) -> dict[str, Any]:
        """The range as a study's spec holds it."""
        return {
            "path": self.path,
            "low": self.low,
            "high": self.high,
            "integer": self.integer,
            "source": self.source,
        }


def range_from_json(data: dict[str, Any]) -> Range:
    """A :class:`Range` from :meth:`Range.to_json`."""
    return Range(
        str(data["path"]),
        float(data["low"]),
        float(data["high"]),
        bool(data.get("integer")),
        str(data.get("source", "")),
    )


def _range(entry: Parameter, path: str | None = None) -> Range:
    integer = isinstance(entry.default, int) and not isinstance(entry.default, bool)
    assert entry.low is not None and entry.high is not None
    return Range(path or entry.path, float(entry.low), float(entry.high), integer, entry.source)


def _catalog_entry(path: str) -> Parameter | None:
    """The catalog's entry for ``path``; a named list item (``disciplines.dev.
    cost_per_day``) finds its list's entry (``disciplines[].cost_per_day``)."""
    entries = {p.path: p for p in PARAMETERS if p.kind == "parameter"}
    if path in entries:
        return entries[path]
    parts = path.split(".")
    if len(parts) == 3:
        return entries.get(f"{parts[0]}[].{parts[2]}")
    return None


def uncertain_ranges(designs: Sequence[Scenario], chosen: Sequence[str] = ()) -> list[Range]:
    """The parameters the worlds vary for ``designs``, in catalog order: ``chosen``
    (dotted paths, named list items allowed) or, when empty, every parameter the module
    docstring lets in. A chosen path that is no parameter, or that the designs set
    differently, is a :class:`ScenarioError` naming ``--parameters``."""
    fields = [resolved_fields(design) for design in designs]
    designed = {d.field for d in differences(designs)}
    if chosen:
        return [_chosen(path, fields, designed) for path in dict.fromkeys(chosen)]
    candidates = [
        entry
        for entry in PARAMETERS
        if entry.kind == "parameter"
        and "[]" not in entry.path
        and entry.path not in DECISIONS
        and entry.path not in designed
    ]
    return [_range(entry) for entry in acting(candidates, designs)]


def _chosen(path: str, fields: list[dict[str, Any]], designed: set[str]) -> Range:
    entry = _catalog_entry(path)
    if entry is None or path not in fields[0]:
        raise ScenarioError(
            "--parameters",
            f"{path!r} is not a parameter with a plausible range "
            "(python -m simulation parameters lists them)",
        )
    if path in designed:
        raise ScenarioError(
            "--parameters", f"{path!r} differs between the designs: it is what they compare"
        )
    return _range(entry, path)


def sample_worlds(ranges: Sequence[Range], worlds: int, seed: int) -> list[dict[str, Any]]:
    """``worlds`` plausible worlds: a scrambled Latin hypercube over ``ranges``
    (reproducible from ``seed``); each world maps path -> value."""
    if worlds < 1:
        raise ScenarioError("--worlds", f"must be at least 1, not {worlds}")
    if not ranges:
        raise ScenarioError("--parameters", "no parameter is left to vary")
    # here, not at the top: the Compare page imports this module, and scipy.stats would
    # cost its server 0.6 s of CPU before the first results
    from scipy.stats import qmc

    units = qmc.LatinHypercube(d=len(ranges), rng=np.random.default_rng(seed)).random(worlds)
    return [{r.path: r.value(u) for r, u in zip(ranges, row, strict=True)} for row in units]


def design_overrides(designs: Sequence[Scenario]) -> list[dict[str, Any]]:
    """Each design as overrides of the first (the base): every field that differs
    between the designs, at the design's value (the base's own values included, so that
    every point's row names its design's structure). A field that is a list or absent
    in one design is a :class:`ScenarioError`: a study sets single values."""
    if len(designs) < 2:
        raise ScenarioError("designs", "robustness compares at least two designs")
    found = differences(designs)
    for difference in found:
        for index, value in enumerate(difference.values):
            if value is None or isinstance(value, list | dict):
                raise ScenarioError(
                    f"designs[{index}].{difference.field}",
                    "differs between the designs as a list or an absent field; a "
                    "robustness study compares designs that differ in single values",
                )
    return [{d.field: d.values[index] for d in found} for index in range(len(designs))]


def robustness_points(
    worlds: Sequence[dict[str, Any]], overrides: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The study's points, world by world: point ``w * designs + d`` is world ``w`` with
    design ``d`` (the design's overrides over the world's values)."""
    return [world | design for world in worlds for design in overrides]


def robustness_spec(
    names: Sequence[str],
    ranges: Sequence[Range],
    worlds: int,
    replicates: int,
    kpis: Sequence[str],
) -> dict[str, Any]:
    """What the analysis needs from the study's manifest (JSON-able)."""
    return {
        "designs": list(names),
        "parameters": [r.to_json() for r in ranges],
        "worlds": worlds,
        "replicates": replicates,
        "kpis": list(kpis),
    }


# --------------------------------------------------------------------------- analysis


def wilson(successes: float, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a share (Wilson 1927): sound near 0 and 1, where
    the normal approximation is not; ``(nan, nan)`` for no trials."""
    if trials <= 0:
        return math.nan, math.nan
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials**2))
    half /= 1 + z * z / trials
    return max(0.0, centre - half), min(1.0, centre + half)


def _signed(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Values turned so that more is better."""
    return values if higher_is_better else -values


def win_matrix(means: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Worlds x designs: 1 for the best design of a world, shared equally on a tie;
    every row sums to 1. ``means`` must have no NaN."""
    signed = _signed(means, higher_is_better)
    best = signed == signed.max(axis=1, keepdims=True)
    return best / best.sum(axis=1, keepdims=True)


def regret_matrix(means: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Worlds x designs: how much worse than the world's best each design is, in the
    KPI's unit (0 for the best, never negative)."""
    signed = _signed(means, higher_is_better)
    return signed.max(axis=1, keepdims=True) - signed


def decided_worlds(values: np.ndarray, higher_is_better: bool) -> np.ndarray | None:
    """Per world (``values``: worlds x designs x replicates), whether its winner beats
    its runner-up by a paired 95% t-interval over replicates that excludes zero; None
    with fewer than two replicates."""
    if values.shape[2] < 2:
        return None
    signed = _signed(values, higher_is_better)
    order = np.argsort(-signed.mean(axis=2), axis=1)
    rows = np.arange(len(values))
    lead = signed[rows, order[:, 0]] - signed[rows, order[:, 1]]
    n = lead.shape[1]
    t = special.stdtrit(n - 1, 0.975)  # Student's t quantile (t.ppf's own)
    half = t * lead.std(axis=1, ddof=1) / math.sqrt(n)
    return lead.mean(axis=1) - half > 0


@dataclass(frozen=True)
class Box:
    """A box of the unit cube (one interval per parameter), with how well it holds
    the cases of interest.

    Args:
        low: Lower edge per parameter (0 to 1 of its range).
        high: Upper edge per parameter.
        coverage: Share of all cases that lie inside.
        density: Share of the box's points that are cases.
        mass: Share of all points inside.
    """

    low: np.ndarray
    high: np.ndarray
    coverage: float
    density: float
    mass: float

    @property
    def f1(self) -> float:
        """Harmonic mean of coverage and density: one number for how clear the box is."""
        total = self.coverage + self.density
        return 2 * self.coverage * self.density / total if total else 0.0


def _box(low: np.ndarray, high: np.ndarray, units: np.ndarray, cases: np.ndarray) -> Box:
    inside = ((units >= low) & (units <= high)).all(axis=1)
    hits = cases[inside].sum()
    return Box(
        low.copy(),
        high.copy(),
        coverage=float(hits / cases.sum()) if cases.sum() else 0.0,
        density=float(hits / inside.sum()) if inside.any() else 0.0,
        mass=float(inside.mean()),
    )


def prim(
    units: np.ndarray, cases: np.ndarray, alpha: float = PEEL_ALPHA, min_mass: float = MIN_MASS
) -> list[Box]:
    """PRIM's peeling trajectory (Friedman & Fisher 1999): starting from the whole unit
    cube, repeatedly cut the ``alpha`` share of the box's points off the one face
    (lower or upper, of one parameter) that leaves the highest share of ``cases``
    inside, until the box would hold under ``min_mass`` of the points or no cut raises
    the density. ``units``: points x parameters in [0, 1]; ``cases``: bool per point.
    Returns the boxes from the whole cube to the last."""
    cases = np.asarray(cases, dtype=bool)
    low, high = np.zeros(units.shape[1]), np.ones(units.shape[1])
    inside = np.ones(len(units), dtype=bool)
    trajectory = [_box(low, high, units, cases)]
    minimum = max(1, math.ceil(min_mass * len(units)))
    while True:
        points, hits = units[inside], cases[inside].astype(float)
        if len(points) < 3:  # nothing left to peel from both sides
            break
        # the alpha share of the box's points on either side of each parameter (a sort
        # rather than np.quantile: PRIM peels points, and this is several times faster)
        cut = max(1, int(alpha * len(points)))
        ordered = np.sort(points, axis=0)
        lower, upper = ordered[cut], ordered[len(points) - 1 - cut]
        keep_low, keep_high = points >= lower, points <= upper  # each column: one cut
        keeps = np.concatenate([keep_low, keep_high], axis=1)
        counts = keeps.sum(axis=0)
        usable = (counts >= minimum) & (counts < len(points))
        if not usable.any():
            break
        density = np.where(usable, hits @ keeps / np.maximum(counts, 1), -1.0)
        best = int(np.argmax(density))
        if density[best] <= hits.mean():
            break
        column = best % units.shape[1]
        if best < units.shape[1]:
            low[column] = lower[column]
        else:
            high[column] = upper[column]
        inside &= (units[:, column] >= low[column]) & (units[:, column] <= high[column])
        trajectory.append(_box(low, high, units, cases))
    return trajectory


def clearest_box(trajectory: Sequence[Box]) -> Box:
    """The box of a peeling trajectory with the best balance of coverage and density
    (the highest F1; Bryant & Lempert 2010 leave the choice to the analyst, and this is
    the choice that needs none)."""
    return max(trajectory, key=lambda box: (box.f1, -box.mass))


def pruned(box: Box, units: np.ndarray, cases: np.ndarray) -> Box:
    """``box`` with the restrictions that add little dropped: one at a time, the
    restriction whose removal costs the least density, while that costs at most
    :data:`PRUNE_TOLERANCE` or more than :data:`MAX_RESTRICTIONS` are left."""
    current = box
    while True:
        restricted = [j for j in range(len(current.low)) if _restricts(current, j)]
        if not restricted:
            return current
        candidates = []
        for j in restricted:
            low, high = current.low.copy(), current.high.copy()
            low[j], high[j] = 0.0, 1.0
            candidates.append(_box(low, high, units, cases))
        wider = max(candidates, key=lambda b: (b.density, b.coverage))
        too_many = len(restricted) > MAX_RESTRICTIONS
        if not too_many and current.density - wider.density > PRUNE_TOLERANCE:
            return current
        current = wider


def _restricts(box: Box, j: int) -> bool:
    return bool(box.low[j] > 0.0 or box.high[j] < 1.0)


def box_p_value(units: np.ndarray, cases: np.ndarray, f1: float, seed: int = 0) -> float:
    """The share of :data:`SHUFFLES` trials, with ``cases`` shuffled across the points,
    in which PRIM's clearest box is at least as clear (F1) as ``f1``; the observed
    trial counts as one, so the smallest value is 1 / (SHUFFLES + 1)."""
    rng = np.random.default_rng(seed)
    matched = sum(
        clearest_box(prim(units, rng.permutation(cases))).f1 >= f1 for _ in range(SHUFFLES)
    )
    return (1 + matched) / (SHUFFLES + 1)


@dataclass(frozen=True)
class Restriction:
    """One side of a region: a parameter below, above or between values.

    Args:
        path: The parameter.
        low: The region's lower edge in the parameter's unit (None: its range's low end).
        high: The region's upper edge (None: its range's high end).
    """

    path: str
    low: float | None
    high: float | None

    def text(self) -> str:
        """In words: "X is under 0.3", "X is over 2", "X is between 1 and 2"."""
        if self.low is None:
            return f"{self.path} is under {_number(self.high)}"
        if self.high is None:
            return f"{self.path} is over {_number(self.low)}"
        return f"{self.path} is between {_number(self.low)} and {_number(self.high)}"


def _number(value: float | None) -> str:
    return "?" if value is None else f"{value:.3g}"


@dataclass(frozen=True)
class LosingRegion:
    """Where the favourite loses: a PRIM box named in parameters.

    Args:
        restrictions: The parameters that bound the region.
        coverage: Share of the favourite's losses inside the region.
        density: Share of the region's worlds in which it loses.
        mass: Share of all worlds inside the region.
        base_rate: Share of all worlds in which it loses.
        p_value: How often a box this clear appears with the losses shuffled.
    """

    restrictions: tuple[Restriction, ...]
    coverage: float
    density: float
    mass: float
    base_rate: float
    p_value: float

    @property
    def clear(self) -> bool:
        """Whether the region is unlikely to be noise (p at most :data:`SIGNIFICANCE`)."""
        return bool(self.restrictions) and self.p_value <= SIGNIFICANCE


def _restriction(box: Box, j: int, r: Range) -> Restriction:
    low = r.low + box.low[j] * (r.high - r.low) if box.low[j] > 0 else None
    high = r.low + box.high[j] * (r.high - r.low) if box.high[j] < 1 else None
    return Restriction(r.path, low, high)


def losing_region(
    units: np.ndarray, lost: np.ndarray, ranges: Sequence[Range], seed: int = 0
) -> LosingRegion | None:
    """The region of parameters where ``lost`` (bool per world) concentrates: PRIM's
    clearest box, pruned, named in ``ranges``; None when nothing or everything is
    lost (there is no region to find)."""
    lost = np.asarray(lost, dtype=bool)
    if not lost.any() or lost.all():
        return None
    clearest = clearest_box(prim(units, lost))
    box = pruned(clearest, units, lost)
    restricted = [j for j in range(len(ranges)) if _restricts(box, j)]
    restricted.sort(key=lambda j: box.high[j] - box.low[j])  # narrowest first
    return LosingRegion(
        restrictions=tuple(_restriction(box, j, ranges[j]) for j in restricted),
        coverage=box.coverage,
        density=box.density,
        mass=box.mass,
        base_rate=float(lost.mean()),
        p_value=box_p_value(units, lost, clearest.f1, seed),
    )


@dataclass(frozen=True)
class DesignOutcome:
    """How one design fares on one KPI across the worlds.

    Args:
        design: Its name.
        win_share: Share of the worlds it wins (ties shared).
        win_low: 95% Wilson interval of the share, low end.
        win_high: High end.
        regret_median: Median regret over the worlds (the KPI's unit).
        regret_p90: 90th percentile of regret.
        regret_max: Largest regret.
    """

    design: str
    win_share: float
    win_low: float
    win_high: float
    regret_median: float
    regret_p90: float
    regret_max: float


@dataclass(frozen=True)
class KpiRobustness:
    """The robustness of the designs on one KPI.

    Args:
        kpi: The KPI's key.
        designs: One outcome per design, in the designs' order.
        favourite: The design with the largest win share.
        worlds: Worlds with a value for every design.
        decided: Worlds whose winner leads by a 95% interval (None: one replicate).
        region: Where the favourite loses (None: it never or always does).
    """

    kpi: str
    designs: tuple[DesignOutcome, ...]
    favourite: str
    worlds: int
    decided: int | None
    region: LosingRegion | None = None
    wins: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    regret: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)


def replicate_means(values: np.ndarray) -> np.ndarray:
    """Worlds x designs: the mean over the replicates that have a value (NaN where
    none has), without numpy's warning for an empty mean."""
    finite = np.isfinite(values)
    counts = finite.sum(axis=2)
    totals = np.where(finite, values, 0.0).sum(axis=2)
    return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


def analyse_kpi(
    values: np.ndarray,
    units: np.ndarray,
    ranges: Sequence[Range],
    names: Sequence[str],
    kpi: str,
    higher_is_better: bool | None = None,
    seed: int = 0,
) -> KpiRobustness:
    """Win shares, regret and the favourite's losing region on ``kpi``.

    ``values``: worlds x designs x replicates (NaN: not run); ``units``: worlds x
    parameters, each in [0, 1] of its range. Worlds without a value for every design
    are left out. ``higher_is_better`` defaults to the catalog's.
    """
    higher = catalog.higher_is_better(kpi) if higher_is_better is None else higher_is_better
    means = replicate_means(values)
    complete = np.isfinite(means).all(axis=1)
    means, values, units = means[complete], values[complete], units[complete]
    if not len(means):
        raise ScenarioError(kpi, "no world has a value for every design yet")
    wins = win_matrix(means, higher)
    regret = regret_matrix(means, higher)
    outcomes = tuple(
        DesignOutcome(
            name,
            float(wins[:, d].mean()),
            *wilson(float(wins[:, d].sum()), len(wins)),
            *(float(v) for v in np.quantile(regret[:, d], [0.5, 0.9])),
            float(regret[:, d].max()),
        )
        for d, name in enumerate(names)
    )
    favourite = int(np.argmax([o.win_share for o in outcomes]))
    decided = decided_worlds(values, higher) if np.isfinite(values).all() else None
    return KpiRobustness(
        kpi=kpi,
        designs=outcomes,
        favourite=names[favourite],
        worlds=len(means),
        decided=None if decided is None else int(decided.sum()),
        region=losing_region(units, wins[:, favourite] < 0.5, ranges, seed),
        wins=wins,
        regret=regret,
    )


def study_arrays(
    results: pd.DataFrame, spec: dict[str, Any], kpi: str
) -> tuple[np.ndarray, np.ndarray]:
    """From a robustness study's rows: ``kpi`` as worlds x designs x replicates (NaN:
    not finished or failed) and the worlds' parameters as worlds x parameters in [0, 1]
    of their ranges (NaN for a world with no row yet)."""
    ranges = [range_from_json(r) for r in spec["parameters"]]
    worlds, designs = int(spec["worlds"]), len(spec["designs"])
    replicates = int(spec["replicates"])
    values = kpi_matrix(results, kpi, worlds * designs, replicates)
    units = np.full((worlds, len(ranges)), np.nan)
    if results.empty:
        return values.reshape(worlds, designs, replicates), units
    first = results.drop_duplicates("point")
    first = first[first["point"] < worlds * designs]
    world = first["point"].to_numpy(int) // designs
    for j, r in enumerate(ranges):
        if r.path in first.columns:
            span = (r.high - r.low) or 1.0
            units[world, j] = (first[r.path].to_numpy(float) - r.low) / span
    return values.reshape(worlds, designs, replicates), units


def analyse_study(
    results: pd.DataFrame, spec: dict[str, Any], kpis: Sequence[str] = (), seed: int = 0
) -> list[KpiRobustness]:
    """Every KPI of a robustness study (``kpis``, default the spec's), in order."""
    ranges = [range_from_json(r) for r in spec["parameters"]]
    found = []
    for kpi in kpis or spec["kpis"]:
        values, units = study_arrays(results, spec, kpi)
        found.append(analyse_kpi(values, units, ranges, spec["designs"], kpi, seed=seed))
    return found


# --------------------------------------------------------------------------- in words


def region_sentence(result: KpiRobustness) -> str:
    """Where the favourite loses on the KPI, in one or two sentences."""
    label = catalog.label(result.kpi)
    favourite = result.favourite
    share = next(o.win_share for o in result.designs if o.design == favourite)
    if share >= 1.0:
        return f"{favourite} is best on {label} in every one of the {result.worlds} worlds."
    lost = round((1 - share) * result.worlds)
    head = f"{favourite} is best on {label} in {share:.0%} of the {result.worlds} worlds"
    region = result.region
    if region is None or not region.clear:
        why = (
            ""
            if region is None
            else f" (the clearest box is as clear as chance: p = {region.p_value:.2f})"
        )
        return (
            f"{head}; its {lost} losses are spread over the plausible ranges, with no "
            f"region that names them{why}."
        )
    where = " and ".join(r.text() for r in region.restrictions)
    return (
        f"{head}. It loses mostly when {where}: it loses in {region.density:.0%} of "
        f"those worlds ({region.mass:.0%} of all), against {region.base_rate:.0%} overall, "
        f"and they hold {region.coverage:.0%} of its losses (p = {region.p_value:.2f} "
        "against shuffled losses)."
    )


def summary_frame(found: Sequence[KpiRobustness]) -> pd.DataFrame:
    """One row per KPI and design: win share with its interval, regret, favourite."""
    return pd.DataFrame(
        [
            {
                "kpi": r.kpi,
                "design": o.design,
                "favourite": o.design == r.favourite,
                "win_share": o.win_share,
                "win_ci_low": o.win_low,
                "win_ci_high": o.win_high,
                "regret_median": o.regret_median,
                "regret_p90": o.regret_p90,
                "regret_max": o.regret_max,
                "worlds": r.worlds,
                "decided_worlds": r.decided,
            }
            for r in found
            for o in r.designs
        ]
    )


def regions_frame(found: Sequence[KpiRobustness]) -> pd.DataFrame:
    """One row per KPI: the favourite, its losing region in words and figures."""
    rows = []
    for r in found:
        region = r.region
        rows.append(
            {
                "kpi": r.kpi,
                "favourite": r.favourite,
                "region": " and ".join(x.text() for x in region.restrictions) if region else "",
                "clear": bool(region and region.clear),
                "coverage": region.coverage if region else math.nan,
                "density": region.density if region else math.nan,
                "mass": region.mass if region else math.nan,
                "loss_rate": region.base_rate if region else 0.0,
                "p_value": region.p_value if region else math.nan,
                "sentence": region_sentence(r),
            }
        )
    return pd.DataFrame(rows)


def worlds_frame(
    results: pd.DataFrame, spec: dict[str, Any], found: Sequence[KpiRobustness]
) -> pd.DataFrame:
    """One row per world and design: the world's parameters, and per KPI the design's
    mean over replicates, whether it won (its share of the win) and its regret."""
    ranges = [range_from_json(r) for r in spec["parameters"]]
    names = spec["designs"]
    worlds = int(spec["worlds"])
    frame = pd.DataFrame(
        {"world": np.repeat(np.arange(worlds), len(names)), "design": names * worlds}
    )
    _, units = study_arrays(results, spec, "")
    for j, r in enumerate(ranges):
        frame[r.path] = np.repeat(r.low + units[:, j] * (r.high - r.low), len(names))
    for r in found:
        values, _ = study_arrays(results, spec, r.kpi)
        means = replicate_means(values)
        complete = np.isfinite(means).all(axis=1)
        frame[r.kpi] = means.reshape(-1)
        for column, matrix in (("win", r.wins), ("regret", r.regret)):
            full = np.full(means.shape, np.nan)
            full[complete] = matrix
            frame[f"{r.kpi}_{column}"] = full.reshape(-1)
    return frame


def format_outcomes(result: KpiRobustness) -> list[list[str]]:
    """Table rows for one KPI: design, win share [95% CI], regret median / p90 / max."""
    return [
        [
            o.design + (" *" if o.design == result.favourite else ""),
            f"{o.win_share:.0%} [{o.win_low:.0%}, {o.win_high:.0%}]",
            format_kpi(result.kpi, o.regret_median),
            format_kpi(result.kpi, o.regret_p90),
            format_kpi(result.kpi, o.regret_max),
        ]
        for o in result.designs
    ]
