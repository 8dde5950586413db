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
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulation.metrics import mean_ci

#: KPIs analysed unless asked otherwise.
DEFAULT_KPIS = [
    "lead_time_mean",
    "lead_time_p85",
    "new_work_per_week",
    "cx_index",
    "change_failure_rate",
    "rework_effort_share",
    "misaligned_it_share",
    "roi",
    "business_it_handoff_days",
    "utilisation",
]


def parameter_columns(results: pd.DataFrame, manifest: dict) -> list[str]:
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
    """SRC of every parameter for every KPI, plus each regression's R². Rows: KPIs."""
    ok = results[results["status"] == "ok"]
    design = _design_matrix(ok, parameters)
    if design.empty:
        return pd.DataFrame()
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
    return pd.DataFrame(rows).set_index("kpi") if rows else pd.DataFrame()


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
    if table.empty:
        return "(no parameter varies: nothing to attribute)"
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
