"""Opening a sweep's output directory for exploring: what the app's Results page reads.

A sweep directory (written by ``python -m simulation sweep``, :mod:`simulation.running.batch`)
holds ``manifest.json`` and ``results.parquet``, or only ``parts/*.parquet`` while a
sweep runs or after it stopped. :func:`open_sweep` reads either, with
:func:`~simulation.running.batch.load_results` and :func:`~simulation.running.batch.read_manifest`,
and turns anything that is not a readable sweep into one :class:`ScenarioError` line
naming the path and the reason. The rest picks KPIs and parameters and filters runs;
the statistics and charts are :mod:`simulation.analysis.sweep_stats` and
:mod:`simulation.presentation.sweep_charts`, the same as ``python -m simulation analyze``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.analysis.sweep_stats import BOOKKEEPING, parameter_columns
from simulation.catalog.kpis import find_kpi, higher_is_better, sweep_kpis
from simulation.inputs.scenario import ScenarioError
from simulation.running.batch import MANIFEST, PARTS, RESULTS, load_results, read_manifest

#: A numeric parameter with more values than this is filtered by range, not by value.
MAX_LISTED_VALUES = 12


@dataclass
class Sweep:
    """A sweep directory as read: its manifest, its rows, and what varies."""

    path: Path
    manifest: dict[str, Any]
    results: pd.DataFrame
    parameters: list[str]

    @property
    def experiment(self) -> dict[str, Any]:
        """The experiment as the manifest recorded it; empty when it did not."""
        return self.manifest.get("experiment") or {}

    @property
    def name(self) -> str:
        """The experiment's name, or the directory's when the manifest has none."""
        return str(self.experiment.get("name") or self.path.name)

    @property
    def status(self) -> str:
        """The status in the manifest ("running", "complete", "interrupted", ...) or "unknown"."""
        return str(self.manifest.get("status", "unknown"))

    @property
    def runs_total(self) -> int:
        """Runs the sweep plans; the rows read when the manifest does not say."""
        return int(self.manifest.get("runs_total") or len(self.results))

    @property
    def runs_done(self) -> int:
        """Runs written so far (ok or error)."""
        return len(self.results)

    @property
    def errors(self) -> int:
        """Runs that raised an error."""
        if self.results.empty or "status" not in self.results:
            return 0
        return int((self.results["status"] == "error").sum())

    @property
    def complete(self) -> bool:
        """True when the results are gathered and every planned run is in them."""
        return (self.path / RESULTS).exists() and self.runs_done >= self.runs_total

    @property
    def ok(self) -> pd.DataFrame:
        """The runs that finished without an error."""
        if self.results.empty or "status" not in self.results:
            return self.results
        return self.results[self.results["status"] == "ok"]


def find_sweeps(root: Path, depth: int = 2) -> list[Path]:
    """Directories under ``root`` (to ``depth`` levels) that hold a manifest.json,
    newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for level in range(1, depth + 1):
        pattern = "/".join(["*"] * level) + f"/{MANIFEST}"
        found += [p.parent for p in root.glob(pattern) if p.is_file()]
    return sorted(set(found), key=lambda p: (-_mtime(p / MANIFEST), str(p)))


def stamp(path: Path) -> tuple[float, float, int, float]:
    """Changes whenever a sweep writes: a cache key for its contents."""
    path = Path(path)
    parts = sorted((path / PARTS).glob("*.parquet")) if (path / PARTS).is_dir() else []
    return (
        _mtime(path / MANIFEST),
        _mtime(path / RESULTS),
        len(parts),
        max((_mtime(p) for p in parts), default=0.0),
    )


def open_sweep(path: str | Path) -> Sweep:
    """Read a sweep directory; ScenarioError (one line, naming the path) otherwise."""
    path = Path(path).expanduser()
    where = str(path)
    if not path.exists():
        raise ScenarioError("", "no such directory", where)
    if not path.is_dir():
        raise ScenarioError("", "is a file, not a sweep directory", where)
    try:
        results = load_results(path)  # ScenarioError when there is no manifest.json
        manifest = read_manifest(path)
    except ScenarioError:
        raise
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            "", f"manifest.json is not valid JSON (line {exc.lineno}: {exc.msg})", where
        ) from None
    except PermissionError:
        raise ScenarioError("", "cannot be read (permission denied)", where) from None
    except (OSError, ValueError, KeyError) as exc:  # pyarrow's errors are ValueErrors
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScenarioError("", f"the results cannot be read ({reason})", where) from None
    if not isinstance(manifest, dict):
        raise ScenarioError("", "manifest.json does not describe a sweep", where)
    if not results.empty and "status" not in results:
        raise ScenarioError("", "the results have no status column: not a sweep's", where)
    return Sweep(path, manifest, results, parameter_columns(results, manifest))


# --------------------------------------------------------------------------- choices


def kpi_columns(results: pd.DataFrame, parameters: Sequence[str] = ()) -> list[str]:
    """KPIs a user can plot: the catalog's sweep KPIs first, then every other numeric
    column of the runs (not bookkeeping, not a parameter, not all missing)."""
    numeric = [
        c
        for c in results.columns
        if c not in BOOKKEEPING
        and c not in parameters
        and pd.api.types.is_numeric_dtype(results[c])
        and not pd.api.types.is_bool_dtype(results[c])
        and results[c].notna().any()
    ]
    first = [k for k in sweep_kpis() if k in numeric]
    return first + sorted(c for c in numeric if c not in first)


def kpi_title(kpi: str) -> str:
    """A KPI as the Results page names it: catalog label and unit, or its key in words."""
    entry = find_kpi(kpi)
    label, unit = (entry.label, entry.unit) if entry else (kpi.replace("_", " ").capitalize(), "")
    return f"{label} ({unit})" if unit else label


def default_x(results: pd.DataFrame, parameters: Sequence[str]) -> str | None:
    """The parameter with the most distinct numeric values (as the analyze command)."""
    if not parameters:
        return None
    numeric = [p for p in parameters if pd.api.types.is_numeric_dtype(results[p])]
    pool = numeric or list(parameters)
    return max(pool, key=lambda p: results[p].nunique())


def default_colour(results: pd.DataFrame, parameters: Sequence[str], x: str | None) -> str | None:
    """``structure`` when it varies, else the other parameter with the fewest distinct
    values (as the analyze command: sweep_charts.line_plan)."""
    others = [p for p in parameters if p != x and results[p].nunique() > 1]
    if not others:
        return None
    return "structure" if "structure" in others else min(others, key=lambda p: results[p].nunique())


def line_parameters(results: pd.DataFrame, parameters: Sequence[str], x: str) -> list[str]:
    """The parameters besides ``x`` that vary in ``results``: a KPI chart draws a line
    per combination of them (sweep_charts.kpi_vs_parameter_chart's ``line``) from the
    configuration table over ``[x, *these]``, so no point averages over a parameter
    that varies and each CI comes from its configuration's runs."""
    return [p for p in parameters if p != x and results[p].nunique(dropna=False) > 1]


def is_range_filter(values: pd.Series) -> bool:
    """Numeric with many distinct values (a random or Latin-hypercube design)."""
    return (
        pd.api.types.is_numeric_dtype(values)
        and not pd.api.types.is_bool_dtype(values)
        and values.nunique() > MAX_LISTED_VALUES
    )


def filter_runs(results: pd.DataFrame, filters: Mapping[str, Any]) -> pd.DataFrame:
    """The runs whose column values pass every filter: a list of allowed values, or a
    (low, high) tuple for a range (inclusive)."""
    keep = pd.Series(True, index=results.index)
    for column, allowed in filters.items():
        if column not in results:
            continue
        values = results[column]
        if isinstance(allowed, tuple) and len(allowed) == 2:
            low, high = allowed
            keep &= values.between(low, high)
        else:
            keep &= values.isin(list(allowed))
    return results[keep]


def best_configuration(table: pd.DataFrame, kpi: str) -> dict[str, Any] | None:
    """The configuration with the best mean of ``kpi`` (the catalog says which way)."""
    if kpi not in table or table[kpi].notna().sum() == 0:
        return None
    higher = higher_is_better(kpi)
    row = table.loc[table[kpi].idxmax() if higher else table[kpi].idxmin()]
    return {"row": row, "higher_is_better": higher}


def value_text(value: Any) -> str:
    """A parameter value for a label: floats to four significant digits, NaN as n/a."""
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
