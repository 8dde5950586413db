"""Altair charts of a sweep, shared by ``python -m simulation analyze`` and the app's
Results page: each KPI against a parameter with its 95% confidence band, and the
sensitivity heatmap.

A KPI chart never averages over a parameter that varies: it draws a line per
combination of the other parameters, each point a configuration's own mean and CI
(computed from its runs, not averaged from other intervals), coloured by the structure
where it varies, with a panel per value of any further parameter the colour does not
determine (:func:`line_plan`)."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from simulation.analysis.sweep_stats import sensitivity
from simulation.catalog.kpis import find_kpi, label, percent_kpis
from simulation.presentation.charts import STRUCTURE_COLOURS

PALETTE = ["#2F5D8A", "#D1495B", "#2A9D8F", "#E9A23B", "#6C4AB6", "#7A9E4B", "#B5507F", "#8C6D46"]


def kpi_label(kpi: str) -> str:
    """A KPI's axis title: its catalog label and unit ('Lead time (days)'), or its key in words."""
    entry = find_kpi(kpi)
    name, unit = (entry.label, entry.unit) if entry else (kpi.replace("_", " "), "")
    return f"{name} ({unit})" if unit else name


def kpi_vs_parameter_chart(
    table: pd.DataFrame,
    kpi: str,
    x: str,
    colour: str | None = None,
    line: Sequence[str] = (),
    facet: Sequence[str] = (),
) -> alt.LayerChart | alt.FacetChart:
    """Mean of ``kpi`` per value of ``x`` with its 95% CI as a band (numeric x) or error
    bars (text x), from a :func:`~simulation.analysis.sweep_stats.configuration_table`.

    One line per combination of the ``line`` parameters (every parameter that varies
    besides ``x``: a line never averages over one), coloured by ``colour``; with
    ``facet``, one panel per combination of those parameters. Each point and band is a
    configuration's own mean and CI, computed from its runs.
    """
    # Vega-Lite reads "a.b" as a nested field: chart columns get plain names.
    frame = table.rename(columns={x: "x", **({colour: "colour"} if colour else {})})
    x_title, colour_title = x, colour
    x, colour = "x", ("colour" if colour else None)
    scale = 100.0 if kpi in percent_kpis() else 1.0
    frame["mean"] = frame[kpi] * scale
    frame["low"] = frame[f"{kpi}_ci_low"] * scale
    frame["high"] = frame[f"{kpi}_ci_high"] * scale
    frame["line"] = _settings(table, line)
    numeric = pd.api.types.is_numeric_dtype(frame[x])
    x_enc = alt.X(
        f"{x}:{'Q' if numeric else 'N'}",
        title=x_title,
        scale=alt.Scale(zero=False) if numeric else alt.Undefined,
    )
    encodings: dict = {"x": x_enc, "detail": alt.Detail("line:N")}
    tooltip = [
        alt.Tooltip(f"{x}:{'Q' if numeric else 'N'}", title=x_title),
        alt.Tooltip("mean:Q", format=".3g", title="mean"),
        alt.Tooltip("low:Q", format=".3g", title="95% CI low"),
        alt.Tooltip("high:Q", format=".3g", title="95% CI high"),
        alt.Tooltip("runs:Q"),
    ]
    if line:
        tooltip.insert(1, alt.Tooltip("line:N", title="setting"))
    if colour:
        frame[colour] = frame[colour].map(_label)
        encodings["color"] = alt.Color(
            f"{colour}:N",
            title=colour_title,
            scale=_colour_scale(frame[colour], colour_title),
            legend=alt.Legend(symbolOpacity=1),
        )
        tooltip.insert(1, alt.Tooltip(f"{colour}:N", title=colour_title))
    if facet:
        frame["panel"] = _settings(table, facet)
    base = alt.Chart(frame).encode(**encodings)
    y = alt.Y("mean:Q", title=kpi_label(kpi), scale=alt.Scale(zero=False))
    if numeric:
        spread = base.mark_area(opacity=0.18).encode(y="low:Q", y2="high:Q")
        trend = base.mark_line(strokeWidth=2.5).encode(y=y)
    else:
        spread = base.mark_rule(strokeWidth=2).encode(y="low:Q", y2="high:Q")
        trend = base.mark_line(strokeWidth=1, opacity=0.4).encode(y=y)
    points = base.mark_point(filled=True, size=60).encode(y=y, tooltip=tooltip)
    title = f"{label(kpi)} by {x_title}"
    layered = spread + trend + points
    if not facet:
        return layered.properties(title=title, width=420, height=260)
    return layered.properties(width=320, height=220).facet(
        facet=alt.Facet("panel:N", title=", ".join(facet)), columns=3, title=title
    )


def _settings(table: pd.DataFrame, parameters: Sequence[str]) -> pd.Series:
    """Each configuration's values of ``parameters`` as one label: 'a=1, b=x'."""
    if not parameters:
        return pd.Series("", index=table.index)
    return table[list(parameters)].apply(
        lambda row: ", ".join(f"{p}={_label(v)}" for p, v in row.items()), axis=1
    )


def _colour_scale(values: pd.Series, parameter: str | None) -> alt.Scale:
    """Structures in their colours of the app (STRUCTURE_COLOURS), else the palette."""
    shown = list(dict.fromkeys(values))
    if parameter == "structure" and set(shown) <= set(STRUCTURE_COLOURS):
        ordered = [s for s in STRUCTURE_COLOURS if s in shown]
        return alt.Scale(domain=ordered, range=[STRUCTURE_COLOURS[s] for s in ordered])
    return alt.Scale(range=PALETTE)


def line_plan(
    table: pd.DataFrame, parameters: Sequence[str], x: str
) -> tuple[str | None, list[str], list[str]]:
    """How a KPI-against-``x`` chart shows the other parameters, averaging over none:
    (colour, line, facet). ``line``: every other parameter that varies (a line per
    combination). ``colour``: ``structure`` when it varies, else the other parameter
    with the fewest values. ``facet``: the other parameters the colour does not
    determine (in structure_demand.yaml the levers come with the structure: no panels).
    """
    line = [p for p in parameters if p != x and table[p].nunique(dropna=False) > 1]
    if not line:
        return None, [], []
    colour = "structure" if "structure" in line else min(line, key=lambda p: table[p].nunique())
    facet = [p for p in line if p != colour and not _determined_by(table, colour, p)]
    return colour, line, facet


def _determined_by(table: pd.DataFrame, given: str, parameter: str) -> bool:
    """True when each value of ``given`` comes with one value of ``parameter``."""
    return bool(table.groupby(given, dropna=False)[parameter].nunique(dropna=False).max() <= 1)


def sensitivity_chart(src: pd.DataFrame) -> alt.Chart:
    """KPIs x parameters, coloured by the standardised regression coefficient."""
    frame = (
        src.drop(columns=["r2"], errors="ignore")
        .reset_index()
        .melt(id_vars="kpi", var_name="parameter", value_name="src")
    )
    frame["kpi"] = frame["kpi"].map(label)
    base = alt.Chart(frame).encode(
        x=alt.X("parameter:N", title=None, axis=alt.Axis(labelAngle=-20)),
        y=alt.Y("kpi:N", title=None, sort=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("src:Q", title="SRC", scale=alt.Scale(scheme="redblue", domain=[-1, 1])),
        tooltip=["kpi:N", "parameter:N", alt.Tooltip("src:Q", format="+.2f")],
    )
    text = base.mark_text(fontSize=12).encode(text=alt.Text("src:Q", format="+.2f"))
    return (cells + text).properties(
        title="Sensitivity: standardised regression coefficients",
        width=90 * frame["parameter"].nunique(),
        height=26 * frame["kpi"].nunique(),
    )


def sweep_charts(
    results: pd.DataFrame, table: pd.DataFrame, parameters: list[str], kpis: list[str]
) -> dict[str, alt.TopLevelMixin]:
    """Every chart of a sweep, by file name. ``table`` is the configuration table over
    every parameter: each line is one combination of the others (:func:`line_plan`)."""
    x = _x_parameter(table, parameters)
    colour, line, facet = line_plan(table, parameters, x)
    charts: dict[str, alt.TopLevelMixin] = {
        f"{kpi}_by_{_safe(x)}": kpi_vs_parameter_chart(table, kpi, x, colour, line, facet)
        for kpi in kpis
        if kpi in table
    }
    src = sensitivity(results, parameters, kpis)
    if not src.empty:
        charts["sensitivity"] = sensitivity_chart(src)
    return charts


def _x_parameter(table: pd.DataFrame, parameters: list[str]) -> str:
    """The parameter with the most distinct numeric values goes on the x axis."""
    numeric = [p for p in parameters if pd.api.types.is_numeric_dtype(table[p])]
    pool = numeric or parameters
    return max(pool, key=lambda p: table[p].nunique())


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)
