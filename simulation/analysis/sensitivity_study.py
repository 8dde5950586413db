"""A sensitivity study of the model: which parameters, which points, and the tables.

The design side answers *what to vary*: the catalog's ``parameter`` entries
(:mod:`simulation.catalog.parameters`, each with a plausible ``low``-``high`` range and
its source) that can change something in the scenario. An entry is left out, with the
reason printed, when it cannot matter or is not an unknown:

- its mechanism is switched off, or the scenario lacks what it acts on (BRM
  parameters without BRMs, rotation without a rotation programme, team handoffs without
  teams, the change curve without a scheduled change, turnover while its annual rate
  is 0, ...; the rules are :mod:`simulation.analysis.idle`'s, which robustness and
  explain share);
- it is a design choice rather than an unknown (the levers, the team size, the BRM
  count, a PDCA policy's settings): varying it mixes "what we choose" into "what we do
  not know";
- it is set per item of a list (``disciplines[].cost_per_day``): the analysis needs
  one factor per concrete field, so such a parameter is run only when named, by item
  (``disciplines.dev.cost_per_day``), in ``--parameters``.

``--parameters`` names the factors instead (any ``parameter`` entry, by concrete path,
including those left out by default). With a second design (``--versus B``), the same
sample of the parameters is applied to both designs (and every replicate uses the same
seed in both: common random numbers), and the output analysed is the gap B - A per
sample; a parameter whose value differs between A and B is part of the design, not an
unknown, and is refused or left out.

The reading side turns the study's KPI matrices (points x replicates,
:func:`simulation.running.studies.kpi_matrix`) into one table per KPI with
:func:`simulation.analysis.global_sensitivity.analyse`: the output of a point is the
mean over its replicates (of the KPI, or of the gap B - A for each replicate's shared
seed), and the share of that output's variance which is replicate noise is reported
beside it (:func:`~simulation.analysis.global_sensitivity.noise_share`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simulation.analysis.differences import differences
from simulation.analysis.global_sensitivity import Factor, analyse, noise_share
from simulation.analysis.idle import acting, idle_reason
from simulation.catalog import kpis as kpi_catalog
from simulation.catalog.parameters import PARAMETERS, Parameter
from simulation.errors import ScenarioError
from simulation.inputs.scenario import Scenario, get_path

#: Entries that are the organisation's choices, not unknowns about its world.
DESIGN_CHOICES = ("team_size", "brms.count")
DESIGN_MECHANISMS = ("levers", "pdca")


#: The output name of the gap between two designs.
GAP = "gap"


@dataclass(frozen=True)
class LeftOut:
    """A catalog parameter the study does not vary, and why.

    Args:
        path: The catalog path.
        reason: Why it is left out, in a few words.
    """

    path: str
    reason: str


# --------------------------------------------------------------------------- which factors


def _not_an_unknown(entry: Parameter) -> str | None:
    """Why the catalog ``entry`` is no factor by default though it may act (a design
    choice, or set per list item), or None."""
    if entry.mechanism in DESIGN_MECHANISMS or entry.path in DESIGN_CHOICES:
        return "a design choice, not an unknown"
    if "[]" in entry.path:
        return "set per list item: name one, e.g. " + _example(entry.path)
    return None


def _example(path: str) -> str:
    """A concrete path for a ``[]`` entry: the first item of each list by its name."""
    names = {"disciplines": "dev", "work_types": "feature", "route": "0", "teams": "team1"}
    parts = path.split(".")
    out = []
    for part in parts:
        if part.endswith("[]"):
            out += [part[:-2], names.get(part[:-2], "NAME")]
        else:
            out.append(part)
    return ".".join(out)


def _ranged() -> list[Parameter]:
    return [p for p in PARAMETERS if p.kind == "parameter" and p.low is not None]


def default_factors(scenarios: Sequence[Scenario]) -> tuple[list[Factor], list[LeftOut]]:
    """The factors a study of ``scenarios`` (one, or two for a gap) varies by default:
    every catalog parameter that can act in at least one of them and does not differ
    between them; and the rest, each with its reason."""
    differing = _differing(scenarios)
    ranged = _ranged()
    can_act = {e.path for e in acting([e for e in ranged if not _not_an_unknown(e)], scenarios)}
    factors, left_out = [], []
    for entry in ranged:
        reason = _not_an_unknown(entry)
        if reason is None and entry.path not in can_act:
            reason = idle_reason(entry, scenarios[0], can_act)
        if reason is None and entry.path in differing:
            reason = "differs between the designs: part of the design, not an unknown"
        if reason is None:
            factors.append(_factor(entry, entry.path))
        else:
            left_out.append(LeftOut(entry.path, reason))
    return factors, left_out


def _differing(scenarios: Sequence[Scenario]) -> set[str]:
    return {d.field for d in differences(scenarios)} if len(scenarios) > 1 else set()


def _factor(entry: Parameter, path: str) -> Factor:
    assert entry.low is not None and entry.high is not None
    return Factor(
        path,
        float(entry.low),
        float(entry.high),
        isinstance(entry.default, int) and not isinstance(entry.default, bool),
    )


def catalog_entry(path: str) -> Parameter | None:
    """The catalog ``parameter`` entry a concrete path is an instance of
    (``disciplines.dev.cost_per_day`` -> ``disciplines[].cost_per_day``), or None."""
    for entry in _ranged():
        if re.fullmatch(_pattern(entry.path), path):
            return entry
    return None


def _pattern(catalog_path: str) -> str:
    parts = []
    for part in catalog_path.split("."):
        if part.endswith("[]"):
            parts += [re.escape(part[:-2]), r"[^.]+"]
        else:
            parts.append(re.escape(part))
    return r"\.".join(parts)


def chosen_factors(paths: Sequence[str], scenarios: Sequence[Scenario]) -> list[Factor]:
    """The factors ``--parameters`` names, each a concrete path of a catalog parameter
    that exists in every scenario and does not differ between them; a
    :class:`ScenarioError` naming ``--parameters`` otherwise."""
    differing = _differing(scenarios)
    factors = []
    for path in dict.fromkeys(paths):
        entry = catalog_entry(path)
        if entry is None:
            raise ScenarioError(
                "--parameters",
                f"{path!r} is not a parameter with a range in the catalog "
                "(python -m simulation parameters lists them)",
            )
        for s in scenarios:
            get_path(s.model_dump(mode="json"), path)  # the item must exist (by name)
        if path in differing:
            raise ScenarioError(
                "--parameters",
                f"{path!r} differs between the designs: it is part of the design, not an unknown",
            )
        factors.append(_factor(entry, path))
    return factors


def idle_factors(factors: Sequence[Factor], scenarios: Sequence[Scenario]) -> list[tuple[str, str]]:
    """The chosen factors that cannot act in any of ``scenarios`` (a mechanism off, no
    BRMs, ...), each with the reason: a study may still vary them, as a check."""
    idle = []
    varied = {factor.path for factor in factors}
    for factor in factors:
        entry = catalog_entry(factor.path)
        if entry is None or _not_an_unknown(entry):
            continue  # a design choice, or a list item named by item: they act
        reasons = [idle_reason(entry, s, varied) for s in scenarios]
        if all(reasons):
            idle.append((factor.path, str(reasons[0])))
    return idle


def screened_factors(table: pd.DataFrame, factors: Sequence[Factor], top: int) -> list[Factor]:
    """The ``top`` factors a Morris screening (its indices, :func:`study_tables`) found
    most influential: each factor's mu* as a share of the largest mu* of the same KPI,
    at its highest over the KPIs, so that one KPI's units do not outweigh another's.
    Factors with nothing on any KPI are never kept."""
    rows = table.dropna(subset=["mu_star"])
    largest = rows.groupby("kpi")["mu_star"].transform("max")
    share = (rows["mu_star"] / largest.where(largest > 0)).fillna(0.0)
    best = share.groupby(rows["parameter"]).max()
    best = best[best > 0].sort_values(ascending=False, kind="stable")
    keep = set(best.index[:top])
    return [f for f in factors if f.path in keep]


# --------------------------------------------------------------------------- which points


def versus_overrides(a: Scenario, b: Scenario) -> dict[str, Any]:
    """The single values that make ``a`` into ``b`` (dotted path -> value); a
    :class:`ScenarioError` when ``b`` differs in a list (its changes, a PDCA policy's
    levers, a skill matrix), which a study cannot set value by value."""
    out = {}
    for found in differences([a, b]):
        value = found.values[1]
        if found.values[0] is None or isinstance(value, (list, dict)) or value is None:
            raise ScenarioError(
                "--versus",
                f"differs from the first design in {found.field}, which is not a "
                "single value: a gap study needs designs that differ in single values",
            )
        out[found.field] = value
    return out


def study_points(
    factors: Sequence[Factor], x: np.ndarray, versus: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """One point per row of the design ``x`` (the factors' values as run); with
    ``versus``, two per row: the first design, then the second with the same values."""
    points = []
    for row in x:
        sample = {f.path: f.value(v) for f, v in zip(factors, row, strict=True)}
        points.append(sample)
        if versus is not None:
            points.append({**versus, **sample})
    return points


def encode_design(method: str, factors: Sequence[Factor], x: np.ndarray, levels: int) -> Any:
    """The design as the study's spec keeps it: Morris' grid as level numbers (small
    integers), Sobol's values as run need no copy (None: its analysis reads only the
    outputs, in order)."""
    if method != "morris":
        return None
    unit = (x - _lows(factors)) / _spans(factors)
    return np.rint(unit * (levels - 1)).astype(int).tolist()


def decode_design(spec: dict[str, Any], factors: Sequence[Factor], samples: int) -> np.ndarray:
    """The design ``x`` in the factors' units from the spec (Morris), or zeros of the
    right shape (Sobol, whose analysis reads only the outputs)."""
    if spec["method"] != "morris":
        return np.zeros((samples, len(factors)))
    grid = np.asarray(spec["grid"], dtype=float) / (spec["levels"] - 1)
    return _lows(factors) + grid * _spans(factors)


def _lows(factors: Sequence[Factor]) -> np.ndarray:
    return np.array([f.low for f in factors])


def _spans(factors: Sequence[Factor]) -> np.ndarray:
    return np.array([f.high - f.low for f in factors])


def factors_to_spec(factors: Sequence[Factor]) -> list[dict[str, Any]]:
    """The factors, JSON-able."""
    return [{"path": f.path, "low": f.low, "high": f.high, "integer": f.integer} for f in factors]


def factors_from_spec(spec: dict[str, Any]) -> list[Factor]:
    """The factors of a study's spec."""
    return [Factor(**f) for f in spec["factors"]]


# --------------------------------------------------------------------------- the tables


def outputs(spec: dict[str, Any], matrix: np.ndarray) -> np.ndarray:
    """The per-sample, per-replicate output of a KPI matrix (points x replicates): the
    KPI itself, or with two designs the gap B - A on each replicate's shared seed."""
    if spec.get("versus") is None:
        return matrix
    return matrix[1::2] - matrix[0::2]


def kpi_table(spec: dict[str, Any], kpi: str, matrix: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """The indices of one KPI (a row per factor, :func:`analyse`'s columns plus
    ``kpi``), and a summary: the output's mean and spread over the samples, the
    replicate-noise share and, with two designs, the share of samples in which the
    second design is better. A KPI with missing runs is a :class:`ScenarioError`."""
    factors = factors_from_spec(spec)
    per_replicate = outputs(spec, matrix)
    missing = int(np.isnan(per_replicate).any(axis=1).sum())
    if missing:
        raise ScenarioError(
            kpi,
            f"{missing} of {len(per_replicate)} samples lack a value (unfinished or "
            "failed runs, or a KPI undefined there)",
        )
    y = per_replicate.mean(axis=1)
    table = analyse(
        spec["method"],
        factors,
        decode_design(spec, factors, len(y)),
        y,
        levels=spec.get("levels", 4),
        seed=spec["seed"],
    )
    table.insert(0, "kpi", kpi)
    summary = {
        "kpi": kpi,
        "mean": float(y.mean()),
        "sd": float(y.std(ddof=1)),
        "low": float(y.min()),
        "high": float(y.max()),
        "noise_share": noise_share(per_replicate),
    }
    if spec.get("versus") is not None:
        better = y < 0 if not kpi_catalog.higher_is_better(kpi) else y > 0
        summary["second_better_share"] = float(better.mean())
        summary["second_better"] = int(better.sum())
        summary["samples"] = len(y)
    return table, summary


def study_tables(
    spec: dict[str, Any], matrices: dict[str, np.ndarray]
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Every KPI's indices (one frame, a row per KPI and factor), the summaries (a row
    per KPI), and a note per KPI that could not be analysed."""
    tables, summaries, notes = [], [], []
    for kpi, matrix in matrices.items():
        try:
            table, summary = kpi_table(spec, kpi, matrix)
        except ScenarioError as exc:
            notes.append(str(exc))
            continue
        tables.append(table)
        summaries.append(summary)
    frame = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    return frame, pd.DataFrame(summaries), notes
