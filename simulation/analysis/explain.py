"""Explain a gap between two designs: what differs, and the mechanisms that carry it.

``python -m simulation explain A.yaml B.yaml`` answers a board's "why?": the gap in a
KPI between design A and design B, split two ways, each as Shapley values (see
:mod:`simulation.analysis.shapley`) with 95% intervals over common random numbers.

1. **What differs** (*factors*): every field that differs between A and B
   (:func:`simulation.analysis.differences.differences`) is a factor, except that the
   fields of the structure (structure, team size, teams, BRMs, prioritisation: the
   catalog's structure dimension) make one factor together, ``--group NAME=F1,F2``
   makes several fields one factor, and names, descriptions and the seed are not
   factors (the study sets the seeds). A coalition of factors is design A with those
   factors' fields set to B's values: the empty coalition is A, the full one is B.
2. **The mechanisms that carry it**: the same gap with only the mechanisms of a set
   ``M`` switched on, in both designs: ``v(M) = KPI(B, M) - KPI(A, M)``, where "on"
   is as each design has it (a mechanism on in B only stays off in A) and every other
   player is off in both, so ``v(all)`` is the gap itself. The players are
   the mechanisms switched on in A or B, except those that cannot act in either
   (:func:`simulation.analysis.idle.mechanism_idle`: rotation without a rotation
   share, turnover at a rate of 0, the J-curve without a change, a shared language
   nothing raises, at the start or later; with common random
   numbers each would get exactly zero, at the price of runs) and those held on
   because they measure a KPI rather than move work (:data:`HELD_ON`). The gap with
   every player off, queueing and the structure alone, is its own line, so the lines
   add up to the full gap.

Exact Shapley values need every coalition: ``2^k`` points. Up to :data:`EXACT_UP_TO`
players the study runs them all; beyond, it samples orders of the players
(:data:`DEFAULT_ORDERS` by default, in antithetic pairs) and states each value's
sampling error. Either way the values add up to the gap exactly (to rounding):
:attr:`Decomposition.adds_up` checks it.

Interactions: with the exact method, the Shapley interaction index of every pair of
factors, each pair's effects alone and together (``--group business=... --group
it=...`` asks what business and IT each bring and what they bring together).

This module designs the study (which points to run) and analyses a KPI matrix
(points x replicates, as :func:`simulation.running.studies.kpi_matrix` returns it); it
runs nothing itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from simulation.analysis import shapley
from simulation.analysis.differences import differences
from simulation.analysis.idle import mechanism_idle
from simulation.catalog import kpis as catalog
from simulation.catalog.levers import LEVERS, STRUCTURE
from simulation.catalog.parameters import mechanism_label
from simulation.errors import ScenarioError
from simulation.inputs.scenario import Mechanisms, Scenario

#: Up to this many players every coalition runs (2^6 = 64 points); beyond, orders are
#: sampled. 64 coalitions of two designs at five replicates are 640 runs, about what
#: the sampled default costs for the eight mechanisms of the ready-made scenarios.
EXACT_UP_TO = 6
#: Orders sampled beyond :data:`EXACT_UP_TO` players: four antithetic pairs, so the
#: sampling error has three degrees of freedom and the default comparison of siloed
#: and converged stays under two minutes on two cores.
DEFAULT_ORDERS = 8
#: Replicates by default: with common random numbers the gap's interval is narrow
#: after five (the siloed-converged lead-time gap is about +-0.5 days).
DEFAULT_REPLICATES = 5

FACTORS = "factors"
MECHANISMS = "mechanisms"
EXACT = "exact"
SAMPLED = "sampled"
#: The line of the mechanism decomposition with every player off.
ALL_OFF = "all_off"
ALL_OFF_LABEL = "every mechanism off (queueing and structure alone)"

#: Mechanisms held on in every coalition: they measure a KPI rather than move work,
#: so switched off the KPI does not exist (customer experience scores make the CX
#: index; nothing else reads them).
HELD_ON: dict[str, str] = {"cx": "it scores the CX KPIs and moves no work"}

#: Fields that are never factors: the study sets every run's seed itself.
NOT_FACTORS = ("seed",)


@dataclass(frozen=True)
class Factor:
    """One factor: fields that change together from A's values to B's.

    Args:
        name: Its short name ("structure", "shared_language", "business").
        label: How tables say it ("the structure", "Shared language").
        fields: Dotted path -> B's value.
        before: Dotted path -> A's value.
    """

    name: str
    label: str
    fields: dict[str, Any]
    before: dict[str, Any]


def parse_groups(texts: Sequence[str]) -> dict[str, list[str]]:
    """``--group NAME=FIELD,FIELD`` options as name -> fields; a malformed one is a
    :class:`ScenarioError` naming it."""
    groups: dict[str, list[str]] = {}
    for text in texts:
        name, _, rest = text.partition("=")
        name = name.strip()
        fields = [f.strip() for f in rest.split(",") if f.strip()]
        if not name or not fields:
            raise ScenarioError("--group", f"{text!r} is not NAME=FIELD,FIELD")
        if name in groups:
            raise ScenarioError("--group", f"{name!r} is given twice")
        groups[name] = fields
    return groups


def factors_between(
    a: Scenario, b: Scenario, groups: dict[str, list[str]] | None = None
) -> list[Factor]:
    """The factors of the gap between ``a`` and ``b``: the groups first, then the
    structure, then every other differing field on its own.

    Refused (:class:`ScenarioError` naming the field): nothing differs; a group naming
    a field that does not differ, or a field in two groups; a differing field whose
    value is a list or is present in only one scenario (a study sets single values).
    """
    found = {d.field: d for d in differences([a, b]) if d.field not in NOT_FACTORS}
    if not found:
        raise ScenarioError("", "nothing differs between the two scenarios")
    for d in found.values():
        _check_single(d.field, d.values)
    factors = []
    taken: set[str] = set()
    for name, paths in (groups or {}).items():
        for path in paths:
            if path not in found:
                raise ScenarioError(f"--group {name}", f"{path} does not differ between A and B")
            if path in taken:
                raise ScenarioError(f"--group {name}", f"{path} is in two groups")
            taken.add(path)
        factors.append(_factor(name, name, [found[p].values for p in paths], paths))
    structure = [p for p, d in found.items() if d.dimension == STRUCTURE and p not in taken]
    if structure:
        values = [found[p].values for p in structure]
        factors.append(_factor("structure", "the structure", values, structure))
    for path, d in found.items():
        if path not in taken and d.dimension != STRUCTURE:
            factors.append(_factor(*_field_names(path), [d.values], [path]))
    return factors


def _check_single(path: str, values: tuple[Any, ...]) -> None:
    if any(v is None for v in values):
        raise ScenarioError(path, "is set in only one of the two scenarios; explain varies "
                            "fields both have")  # fmt: skip
    if any(isinstance(v, list | dict) for v in values):
        raise ScenarioError(path, "a list differs between the two scenarios; explain varies "
                            "single values: make the two files agree on it")  # fmt: skip


def _factor(name: str, label: str, values: list[tuple[Any, ...]], paths: list[str]) -> Factor:
    return Factor(
        name,
        label,
        {p: v[1] for p, v in zip(paths, values, strict=True)},
        {p: v[0] for p, v in zip(paths, values, strict=True)},
    )


def _field_names(path: str) -> tuple[str, str]:
    """(short name, label) of a differing field: its lever's key and label, a
    headcount's ``headcount.dev`` and "dev headcount", else the path twice."""
    for entry in LEVERS:
        if entry.path == path:
            return entry.key, entry.label
    parts = path.split(".")
    if parts[0] == "disciplines" and parts[-1] == "headcount":
        return f"headcount.{parts[1]}", f"{parts[1]} headcount"
    return path, path


def mechanism_players(a: Scenario, b: Scenario) -> tuple[list[str], list[str], list[str]]:
    """The mechanisms of the second decomposition, and those left out: (players, idle,
    held on). Players are switched on in ``a`` or ``b`` and can act in at least one."""
    players, idle, held = [], [], []
    for name in Mechanisms.model_fields:
        if not (getattr(a.mechanisms, name).enabled or getattr(b.mechanisms, name).enabled):
            continue
        if name in HELD_ON:
            held.append(name)
        elif all(mechanism_idle(name, s) for s in (a, b)):
            idle.append(name)
        else:
            players.append(name)
    return players, idle, held


# --------------------------------------------------------------------------- design


@dataclass
class _Points:
    """Points of a study, each set of overrides once."""

    points: list[dict[str, Any]] = field(default_factory=list)
    index: dict[tuple, int] = field(default_factory=dict)

    def add(self, overrides: dict[str, Any]) -> int:
        key = tuple(sorted(overrides.items()))
        if key not in self.index:
            self.index[key] = len(self.points)
            self.points.append(overrides)
        return self.index[key]


def method_for(k: int, orders: int, rng: np.random.Generator) -> tuple[str, list[list[int]]]:
    """Exact (no orders) up to :data:`EXACT_UP_TO` players, else ``orders`` sampled
    orders in antithetic pairs."""
    if k <= EXACT_UP_TO:
        return EXACT, []
    return SAMPLED, [list(o) for o in shapley.antithetic_orders(k, orders, rng)]


def _masks(k: int, method: str, orders: list[list[int]]) -> list[int]:
    return shapley.all_coalitions(k) if method == EXACT else shapley.order_coalitions(orders)


def design(
    a: Scenario,
    b: Scenario,
    kpis: Sequence[str],
    groups: dict[str, list[str]] | None = None,
    orders: int = DEFAULT_ORDERS,
    seed: int = 2026,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The points of the study that explains the gap from ``a`` to ``b`` (overrides of
    ``a``; point 0 is ``a`` itself, point 1 is ``b``) and its spec: the factors, the
    mechanisms, the method of each decomposition and which point is which coalition."""
    factors = factors_between(a, b, groups)
    players, idle, held = mechanism_players(a, b)
    rng = np.random.default_rng(seed)
    points = _Points()
    points.add({})
    everything = {p: v for f in factors for p, v in f.fields.items()}
    points.add(everything)
    factor_method, factor_orders = method_for(len(factors), orders, rng)
    factor_points = []
    for mask in _masks(len(factors), factor_method, factor_orders):
        chosen = [f for i, f in enumerate(factors) if mask >> i & 1]
        factor_points.append(
            [mask, points.add({p: v for f in chosen for p, v in f.fields.items()})]
        )
    mechanism_method, mechanism_orders = method_for(len(players), orders, rng)
    mechanism_points = []
    for mask in _masks(len(players), mechanism_method, mechanism_orders):
        off = {f"mechanisms.{m}.enabled": False for i, m in enumerate(players) if not mask >> i & 1}
        on_b = {**everything, **off}
        mechanism_points.append([mask, points.add(dict(off)), points.add(on_b)])
    spec = {
        "a": a.name,
        "b": b.name,
        "kpis": list(kpis),
        "factors": [
            {"name": f.name, "label": f.label, "fields": f.fields, "before": f.before}
            for f in factors
        ],
        "factor_method": factor_method,
        "factor_orders": factor_orders,
        "factor_points": factor_points,
        "mechanisms": [{"name": m, "label": mechanism_label(m)} for m in players],
        "idle": idle,
        "held_on": held,
        "mechanism_method": mechanism_method,
        "mechanism_orders": mechanism_orders,
        "mechanism_points": mechanism_points,
    }
    return points.points, spec


def point_count(spec: dict[str, Any]) -> int:
    """How many points the study of ``spec`` has."""
    found = [p for _, p in spec["factor_points"]]
    found += [p for _, pa, pb in spec["mechanism_points"] for p in (pa, pb)]
    return max(found) + 1


# --------------------------------------------------------------------------- analysis


@dataclass
class Decomposition:
    """One split of one KPI's gap: lines that add up to the total, per replicate.

    Args:
        kpi: The KPI.
        part: :data:`FACTORS` or :data:`MECHANISMS`.
        method: :data:`EXACT` or :data:`SAMPLED`.
        names: Each line's name (the mechanism split starts with :data:`ALL_OFF`).
        labels: Each line's label.
        lines: Each line's value per replicate, ``[lines, replicates]``.
        total: The gap per replicate (B minus A).
        sampling_se: Each line's sampling error (0 for exact values and the all-off line).
        orders: Orders sampled (0 when exact).
        interactions: For the exact factor split of two or more factors: one row per
            pair (see :func:`interaction_rows`).
    """

    kpi: str
    part: str
    method: str
    names: list[str]
    labels: list[str]
    lines: np.ndarray
    total: np.ndarray
    sampling_se: np.ndarray
    orders: int = 0
    interactions: pd.DataFrame | None = None

    @property
    def replicates(self) -> int:
        """Replicates with every value present."""
        return int(self.complete.sum())

    @property
    def complete(self) -> np.ndarray:
        """Which replicates have every value (a run not finished or failed is NaN)."""
        return ~(np.isnan(self.lines).any(axis=0) | np.isnan(self.total))

    @property
    def adds_up(self) -> float:
        """The largest difference, over replicates, between the sum of the lines and the
        gap: zero to rounding (NaN without a complete replicate)."""
        ok = self.complete
        if not ok.any():
            return math.nan
        return float(np.max(np.abs(self.lines[:, ok].sum(axis=0) - self.total[ok])))

    def table(self) -> pd.DataFrame:
        """One row per line and a last row "total": mean, 95% interval, share of the
        gap and sampling error. A sampled line's interval adds its sampling error to
        the replicates' (in quadrature), so it holds both."""
        ok = self.complete
        rows = []
        total_mean = float(self.total[ok].mean()) if ok.any() else math.nan
        for name, label, values, se in zip(
            self.names, self.labels, self.lines, self.sampling_se, strict=True
        ):
            rows.append(_row(name, label, values[ok], se, total_mean))
        rows.append(_row("total", "total (B - A)", self.total[ok], 0.0, total_mean))
        frame = pd.DataFrame(rows)
        frame.insert(0, "kpi", self.kpi)
        frame.insert(1, "part", self.part)
        frame.insert(2, "method", self.method)
        return frame

    def replicate_frame(self) -> pd.DataFrame:
        """Each line's value per replicate (long format), the total included."""
        rows = []
        for name, values in [*zip(self.names, self.lines, strict=True), ("total", self.total)]:
            for r, value in enumerate(values):
                rows.append(
                    {
                        "kpi": self.kpi,
                        "part": self.part,
                        "line": name,
                        "replicate": r,
                        "value": value,
                    }
                )
        return pd.DataFrame(rows)


def _row(name: str, label: str, values: np.ndarray, se: float, total: float) -> dict[str, Any]:
    n = len(values)
    mean = float(values.mean()) if n else math.nan
    rep_se = float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    se = 0.0 if np.isnan(se) else float(se)
    t = float(special.stdtrit(max(n - 1, 1), 0.975))  # Student's t quantile (t.ppf's own)
    half = t * math.sqrt(rep_se**2 + se**2)
    share = mean / total if total and not math.isnan(total) and abs(total) > 1e-12 else math.nan
    return {
        "line": name,
        "label": label,
        "mean": mean,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "share": share,
        "sampling_se": se,
        "replicates": n,
    }


def _game(points: list[list[int]], matrix: np.ndarray, column: int = 1) -> dict[int, np.ndarray]:
    return {int(entry[0]): matrix[int(entry[column])] for entry in points}


def decompose_factors(spec: dict[str, Any], matrix: np.ndarray, kpi: str) -> Decomposition:
    """The split of ``kpi``'s gap over the factors; ``matrix`` is the KPI over points x
    replicates."""
    k = len(spec["factors"])
    game = _game(spec["factor_points"], matrix)
    lines, se = _shapley(game, k, spec["factor_method"], spec["factor_orders"])
    names = [f["name"] for f in spec["factors"]]
    split = Decomposition(
        kpi,
        FACTORS,
        spec["factor_method"],
        names,
        [f["label"] for f in spec["factors"]],
        lines,
        game[shapley.full(k)] - game[0],
        se,
        len(spec["factor_orders"]),
    )
    if spec["factor_method"] == EXACT and k >= 2:
        split.interactions = interaction_rows(game, k, names, kpi)
    return split


def decompose_mechanisms(spec: dict[str, Any], matrix: np.ndarray, kpi: str) -> Decomposition:
    """The split of ``kpi``'s gap over the mechanisms, after the gap with all off."""
    k = len(spec["mechanisms"])
    gaps = {
        int(mask): matrix[int(pb)] - matrix[int(pa)] for mask, pa, pb in spec["mechanism_points"]
    }
    lines, se = _shapley(gaps, k, spec["mechanism_method"], spec["mechanism_orders"])
    return Decomposition(
        kpi,
        MECHANISMS,
        spec["mechanism_method"],
        [ALL_OFF, *(m["name"] for m in spec["mechanisms"])],
        [ALL_OFF_LABEL, *(m["label"] for m in spec["mechanisms"])],
        np.vstack([gaps[0][None, :], lines]),
        gaps[shapley.full(k)],
        np.concatenate([[0.0], se]),
        len(spec["mechanism_orders"]),
    )


def _shapley(
    game: dict[int, np.ndarray], k: int, method: str, orders: list[list[int]]
) -> tuple[np.ndarray, np.ndarray]:
    if k == 0:
        return np.zeros((0, len(game[0]))), np.zeros(0)
    if method == EXACT:
        return shapley.shapley_exact(game, k), np.zeros(k)
    return shapley.shapley_sampled(game, orders, k), shapley.sampling_error(game, orders, k)


def interaction_rows(
    game: dict[int, np.ndarray], k: int, names: list[str], kpi: str
) -> pd.DataFrame:
    """Every pair of players: each alone (``v({i}) - v(empty)``), both together, and
    the Shapley interaction index with its 95% interval over replicates; sorted by the
    size of the interaction, largest first."""
    rows = []
    for i, j in shapley.pairs(k):
        index = shapley.interaction_index(game, k, i, j)
        ok = ~np.isnan(index)
        row = _row(f"{names[i]} x {names[j]}", "", index[ok], 0.0, math.nan)
        rows.append(
            {
                "kpi": kpi,
                "pair": row["line"],
                "alone_first": float(np.nanmean(game[1 << i] - game[0])),
                "alone_second": float(np.nanmean(game[1 << j] - game[0])),
                "together": float(np.nanmean(game[1 << i | 1 << j] - game[0])),
                "interaction": row["mean"],
                "ci_low": row["ci_low"],
                "ci_high": row["ci_high"],
            }
        )
    frame = pd.DataFrame(rows)
    return frame.reindex(frame["interaction"].abs().sort_values(ascending=False).index)


def explain(
    spec: dict[str, Any], matrices: dict[str, np.ndarray]
) -> list[tuple[Decomposition, Decomposition]]:
    """Both splits of every KPI of ``matrices`` (KPI -> points x replicates)."""
    return [
        (decompose_factors(spec, m, kpi), decompose_mechanisms(spec, m, kpi))
        for kpi, m in matrices.items()
    ]


# --------------------------------------------------------------------------- words


def amount(kpi: str, value: float, signed: bool = True, unit: bool = True) -> str:
    """A contribution to a KPI's gap as a person reads it: '+6.1 days', '-12.0 pts',
    '+0.05' (ratios), '-120k' (money); ``unit=False`` leaves out days and items/week
    (for a table whose heading says them)."""
    if value is None or math.isnan(value):
        return "n/a"
    if value == 0:
        return "0"  # exactly: a line that cannot matter (common random numbers)
    sign = "+" if signed else ""
    if kpi in catalog.percent_kpis():
        return f"{100 * value:{sign}.1f} pts"
    if kpi in catalog.money_kpis():
        return f"{value / 1e3:{sign},.0f}k"
    words = catalog.unit(kpi) if unit else ""
    if abs(value) >= 100:
        number = f"{value:{sign},.0f}"
    elif abs(value) >= 1:
        number = f"{value:{sign}.1f}"
    else:
        number = f"{value:{sign}.2g}"
    return f"{number} {words}" if words in ("days", "items/week") else number


def why_sentences(
    split: Decomposition, mechanisms: Decomposition | None = None, subject: str | None = None
) -> list[str]:
    """A sentence for the main contributors of one KPI's gap: "Lead time: Most of the
    -9.9 days comes from the structure (-9.9 days, 95% CI -10.3 to -9.5)", then the
    next ones, then the mechanisms that carry most of it. ``subject`` replaces the KPI's
    label at the start ("Why" under a heading that names the KPI)."""
    table = split.table()
    total = table.iloc[-1]
    label = subject or catalog.label(split.kpi)
    if math.isnan(total["mean"]):
        return [f"{label}: not enough finished runs to explain the gap."]
    lines = table.iloc[:-1].reindex(
        table.iloc[:-1]["mean"].abs().sort_values(ascending=False).index
    )
    gap = amount(split.kpi, total["mean"])
    if abs(total["mean"]) < 1e-12:
        return [f"{label}: no gap between the two designs."]
    first = lines.iloc[0]
    said = f"({amount(split.kpi, first['mean'])}, 95% CI {_range(split.kpi, first)})"
    if first["share"] > 1.05:
        opening = f"{first['label']} alone brings more than the whole {gap} {said}"
    else:
        lead = "Most" if first["share"] > 0.5 else "The largest part"
        opening = f"{lead} of the {gap} comes from {first['label']} {said}"
    unclear = total["ci_low"] <= 0 <= total["ci_high"]
    doubt = " (the gap itself is not clear: its 95% CI spans zero)" if unclear else ""
    sentences = [f"{label}{doubt}: {opening[0].upper()}{opening[1:]}"]
    for _, row in lines.iloc[1:3].iterrows():
        if abs(row["share"]) >= 0.05:
            sentences.append(f"{row['label']} adds {amount(split.kpi, row['mean'])}")
    text = "; ".join(sentences) + "."
    if mechanisms is not None:
        carried = mechanisms.table().iloc[1:-1]
        carried = carried[carried["share"] >= 0.15].sort_values("share", ascending=False)
        if len(carried):
            names = ", ".join(
                f"{r['label']} ({amount(split.kpi, r['mean'])})"
                for _, r in carried.head(3).iterrows()
            )
            text += f" Mechanisms that carry it: {names}."
    return [text]


def _range(kpi: str, row: pd.Series) -> str:
    return f"{amount(kpi, row['ci_low'])} to {amount(kpi, row['ci_high'])}"
