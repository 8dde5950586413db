"""What a sweep says: KPIs per configuration with confidence intervals, and which
parameter moves which KPI most.

Sensitivity uses standardised regression coefficients (SRC): each KPI and each
parameter is scaled to mean 0 and standard deviation 1 over all runs, and the KPI is
regressed on the parameters (ordinary least squares). A coefficient is the change in
the KPI, in standard deviations, for one standard deviation of the parameter with the
others held fixed; with independent parameters (a grid, or a Latin hypercube) the
squared SRCs are the shares of the KPI's variance each parameter explains, and R²
says how much a linear model explains at all (Saltelli et al., *Global Sensitivity
Analysis: The Primer*, 2008). Text parameters (a structure) enter as one indicator per
value but the first.

SRCs mean something only when the parameters vary independently. A list design that
moves several parameters together (structure_demand.yaml sets the levers of each
structure with it) makes the design matrix rank-deficient: no regression can tell the
parameters apart, and least squares would split the effect arbitrarily. Such designs
are refused, naming the columns; nearly collinear ones (|r| > COLLINEAR) are computed
with a warning. Both travel with the table (``attrs["notes"]``) and
:func:`format_sensitivity` prints them. :func:`identical_configurations` finds settings
the model cannot tell apart (team sizes 9 and 10 of 57 people form the same six teams).

The KPIs analysed unless asked otherwise are the catalog's ``sweep`` KPIs
(:func:`simulation.catalog.kpis.sweep_kpis`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulation.analysis.metrics import mean_ci
from simulation.analysis.steady_state import replicates_overload_note

#: Columns of a results table that are bookkeeping, not KPIs.
BOOKKEEPING = {"run_id", "point", "replicate", "seed", "status", "error", "elapsed_s", "days"}
#: Above this |correlation| two design columns are called collinear.
COLLINEAR = 0.9
#: Why settings of a parameter can give identical runs, where the model says so.
SAME_RUNS_BECAUSE = {
    "team_size": "they form the same teams (teams = people / team size, rounded)",
}


def parameter_columns(results: pd.DataFrame, manifest: dict) -> list[str]:
    """The manifest's varied parameters that the results hold as columns, in its order."""
    return [p for p in manifest.get("parameters", []) if p in results.columns]


def configuration_table(
    results: pd.DataFrame, parameters: list[str], kpis: list[str]
) -> pd.DataFrame:
    """One row per configuration: n runs, and mean, ci_low, ci_high of each KPI."""
    ok = results[results["status"] == "ok"]
    rows = []
    for values, group in ok.groupby(parameters or (lambda _: 0), sort=True, dropna=False):
        key = values if isinstance(values, tuple) else (values,)
        row = dict(zip(parameters, key, strict=False)) if parameters else {}
        row["runs"] = len(group)
        for kpi in kpis:
            if kpi in group:
                mean, low, high = mean_ci(group[kpi].dropna().to_numpy(dtype=float))
                row[f"{kpi}"] = mean
                row[f"{kpi}_ci_low"] = low
                row[f"{kpi}_ci_high"] = high
        rows.append(row)
    return pd.DataFrame(rows)


def sensitivity(results: pd.DataFrame, parameters: list[str], kpis: list[str]) -> pd.DataFrame:
    """SRC of every parameter for every KPI, plus each regression's R². Rows: KPIs.

    ``attrs["notes"]`` holds one line per problem of the design: refused (an empty
    table) when the design matrix is rank-deficient, a warning when columns are
    collinear, and the configurations whose runs are identical.
    """
    ok = results[results["status"] == "ok"]
    design = _design_matrix(ok, parameters)
    notes = same_runs_notes(results, parameters)
    if design.empty:
        return _with_notes(pd.DataFrame(), notes)
    problem = design_problem(design)
    if problem and problem.startswith(REFUSED):
        return _with_notes(pd.DataFrame(), [problem, *notes])
    if problem:
        notes.insert(0, problem)
    rows = []
    for kpi in kpis:
        if kpi not in ok:
            continue
        y = ok[kpi].astype(float)
        keep = y.notna().to_numpy()
        x, y = design.to_numpy()[keep], y.to_numpy()[keep]
        if len(y) < design.shape[1] + 2 or np.std(y) == 0:
            continue
        xs = (x - x.mean(axis=0)) / x.std(axis=0)
        ys = (y - y.mean()) / y.std()
        coef, *_ = np.linalg.lstsq(xs, ys, rcond=None)
        fitted = xs @ coef
        r2 = 1 - np.sum((ys - fitted) ** 2) / np.sum(ys**2)
        rows.append({"kpi": kpi, **dict(zip(design.columns, coef, strict=True)), "r2": r2})
    table = pd.DataFrame(rows).set_index("kpi") if rows else pd.DataFrame()
    return _with_notes(table, notes)


REFUSED = "Sensitivity not computed"


def design_problem(design: pd.DataFrame) -> str | None:
    """One line when SRCs of this design matrix would mislead, else None.

    Rank-deficient (some columns are linear combinations of others): refused, naming
    them and the columns that determine them. Full rank, but two columns correlated
    beyond COLLINEAR: a warning naming the pairs.
    """
    if design.shape[1] == 0:
        return None
    # the structure first: the levers a design sets with it read as fixed by it
    design = design[sorted(design.columns, key=lambda c: not c.startswith("structure="))]
    x = design.to_numpy(dtype=float)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    basis, dependent = _independent_columns(x)
    if dependent:
        fixed = _parameters_of([design.columns[i] for i in dependent])
        by = _parameters_of([design.columns[i] for i in _spanning(x, basis, dependent)])
        return (
            f"{REFUSED}: {', '.join(fixed)} {'is' if len(fixed) == 1 else 'are'} fixed by "
            f"{', '.join(by)} in this design (rank {len(basis)} of {design.shape[1]} "
            "columns), so no regression can tell their effects apart; vary them "
            "independently to rank them."
        )
    r = np.atleast_2d(np.corrcoef(x, rowvar=False))
    pairs = [
        f"{design.columns[i]} and {design.columns[j]} (r = {r[i, j]:+.2f})"
        for i in range(len(r))
        for j in range(i + 1, len(r))
        if abs(r[i, j]) > COLLINEAR
    ]
    if pairs:
        return (
            f"Warning: collinear parameters, {'; '.join(pairs)}: their coefficients are "
            "unstable and can trade places; read them together."
        )
    return None


def _independent_columns(x: np.ndarray) -> tuple[list[int], list[int]]:
    """Columns kept in order while each adds rank, and those that add none."""
    basis: list[int] = []
    dependent: list[int] = []
    for i in range(x.shape[1]):
        trial = [*basis, i]
        if np.linalg.matrix_rank(x[:, trial]) == len(trial):
            basis.append(i)
        else:
            dependent.append(i)
    return basis, dependent


def _spanning(x: np.ndarray, basis: list[int], dependent: list[int]) -> list[int]:
    """The columns of ``basis`` that the ``dependent`` columns are combinations of."""
    coef, *_ = np.linalg.lstsq(x[:, basis], x[:, dependent], rcond=None)
    used = np.abs(coef).max(axis=1) > 1e-8
    return [column for column, needed in zip(basis, used, strict=True) if needed]


def _parameters_of(columns: list[str]) -> list[str]:
    """Design columns back to parameter names ('structure=siloed' -> 'structure')."""
    return list(dict.fromkeys(c.split("=", 1)[0] for c in columns))


def _with_notes(table: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    table.attrs["notes"] = list(notes)
    return table


def kpi_columns(results: pd.DataFrame, parameters: list[str]) -> list[str]:
    """Every column of the runs that is an outcome: not bookkeeping, not a parameter."""
    return [c for c in results.columns if c not in BOOKKEEPING and c not in parameters]


def identical_configurations(results: pd.DataFrame, parameters: list[str]) -> list[list[dict]]:
    """Groups of two or more configurations whose runs are identical, seed by seed and
    KPI for KPI (each configuration as {parameter: value} of the parameters that vary)."""
    ok = results[results["status"] == "ok"]
    varied = [p for p in parameters if ok[p].nunique(dropna=False) > 1]
    if not varied or ok.empty:
        return []
    seeds = [c for c in ("seed",) if c in ok]  # runs pair up by seed (common numbers)
    outcomes = [*seeds, *kpi_columns(ok, parameters)]
    groups: dict[tuple, list[dict]] = {}
    for values, runs in ok.groupby(varied, sort=True, dropna=False):
        key = values if isinstance(values, tuple) else (values,)
        runs = runs.sort_values(seeds)[outcomes] if seeds else runs[outcomes]
        fingerprint = tuple(pd.util.hash_pandas_object(runs, index=False))
        groups.setdefault(fingerprint, []).append(dict(zip(varied, key, strict=True)))
    return [same for same in groups.values() if len(same) > 1]


def same_runs_notes(results: pd.DataFrame, parameters: list[str]) -> list[str]:
    """A line per group of configurations with identical runs: "team_size 9 and 10
    give identical runs, KPI for KPI: they form the same teams (...)"."""
    notes = []
    for same in identical_configurations(results, parameters):
        differ = [p for p in same[0] if len({str(c[p]) for c in same}) > 1]
        if len(differ) == 1:
            values = [_value(c[differ[0]]) for c in same]
            what = f"{differ[0]} {_and(values)}"
        else:
            what = _and(
                ["(" + ", ".join(f"{p} {_value(c[p])}" for p in differ) + ")" for c in same]
            )
        why = SAME_RUNS_BECAUSE.get(differ[0]) if len(differ) == 1 else None
        notes.append(
            f"{what} give identical runs, KPI for KPI: "
            + (why or "the model does not tell these settings apart")
            + "."
        )
    return notes


def _value(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def strongest_drivers(table: pd.DataFrame) -> pd.Series:
    """For each KPI, the parameter with the largest |SRC|."""
    coefficients = table.drop(columns=["r2"], errors="ignore")
    return coefficients.abs().idxmax(axis=1)


def _design_matrix(frame: pd.DataFrame, parameters: list[str]) -> pd.DataFrame:
    columns = {}
    for name in parameters:
        values = frame[name]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            if values.std() > 0:
                columns[name] = values.astype(float)
        else:
            levels = sorted(values.astype(str).unique())
            for level in levels[1:]:
                columns[f"{name}={level}"] = (values.astype(str) == level).astype(float)
    return pd.DataFrame(columns, index=frame.index)


def format_sensitivity(table: pd.DataFrame) -> str:
    """The SRC table as text, after the notes on the design (:func:`sensitivity`)."""
    notes = list(table.attrs.get("notes", []))
    if table.empty:
        refused = any(n.startswith(REFUSED) for n in notes)
        return "\n".join(
            notes if refused else [*notes, "(no parameter varies: nothing to attribute)"]
        )
    return "\n".join([*notes, *([""] if notes else []), _sensitivity_text(table)])


def _sensitivity_text(table: pd.DataFrame) -> str:
    drivers = strongest_drivers(table)
    names = ["KPI", *table.columns, "strongest"]
    rows = [
        [str(kpi), *(_signed(v, c) for c, v in row.items()), drivers[kpi]]
        for kpi, row in table.iterrows()
    ]
    widths = [max(len(n), *(len(r[i]) for r in rows)) for i, n in enumerate(names)]
    lines = [
        "  ".join(
            n.ljust(w) if i in (0, len(names) - 1) else n.rjust(w)
            for i, (n, w) in enumerate(zip(names, widths, strict=True))
        )
    ]
    lines += [
        "  ".join(
            c.ljust(w) if i in (0, len(names) - 1) else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    return "\n".join(lines)


def _signed(value: float, column: str) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return f"{value:.2f}" if column == "r2" else f"{value:+.2f}"


def overloaded_notes(results: pd.DataFrame, parameters: list[str]) -> list[str]:
    """A line per configuration in which any run was overloaded (demand beyond
    capacity, :mod:`simulation.analysis.steady_state`): its lead times are of the
    delivered items only. None for results written before the verdict existed."""
    ok = results[results["status"] == "ok"]
    if "overloaded" not in ok or ok.empty:
        return []
    notes = []
    for values, group in ok.groupby(parameters or (lambda _: 0), sort=True, dropna=False):
        note = replicates_overload_note(group.to_dict("records"))
        if note:
            key = values if isinstance(values, tuple) else (values,)
            where = ", ".join(f"{p} {_value(v)}" for p, v in zip(parameters, key, strict=False))
            notes.append(f"{where or 'all runs'}: {note}")
    return notes


def kpi_matrix(results: pd.DataFrame, kpi: str, points: int, replicates: int) -> np.ndarray:
    """``kpi`` as an array of ``points`` x ``replicates``: row ``p``, column ``r`` is run
    ``(p, r)``, so a column holds one set of random numbers across every point. A run
    not finished, failed, or without the KPI is NaN."""
    values = np.full((points, replicates), np.nan)
    if results.empty or kpi not in results.columns:
        return values
    ok = results[(results["status"] == "ok") & results[kpi].notna()]
    ok = ok[(ok["point"] < points) & (ok["replicate"] < replicates)]
    values[ok["point"].to_numpy(int), ok["replicate"].to_numpy(int)] = ok[kpi].to_numpy(float)
    return values
