"""Altair charts of a sweep, shared by ``python -m simulation analyze`` and the app's
Results page: each KPI against a parameter with its 95% confidence band, and the
sensitivity heatmap."""

from __future__ import annotations

import altair as alt
import pandas as pd

from simulation.analysis import sensitivity
from simulation.metrics import HEADLINE, PERCENT_KPIS

PALETTE = ["#2F5D8A", "#D1495B", "#2A9D8F", "#E9A23B", "#6C4AB6", "#7A9E4B", "#B5507F", "#8C6D46"]


def kpi_label(kpi: str) -> str:
    label, unit, _ = HEADLINE.get(kpi, (kpi.replace("_", " "), "", True))
    return f"{label} ({unit})" if unit else label


def kpi_vs_parameter_chart(
    table: pd.DataFrame, kpi: str, x: str, colour: str | None = None
) -> alt.LayerChart:
    """Mean of ``kpi`` per value of ``x`` with its 95% CI as a band (numeric x) or error
    bars (text x); one line per value of ``colour`` when given."""
    # Vega-Lite reads "a.b" as a nested field: chart columns get plain names.
    frame = table.rename(columns={x: "x", **({colour: "colour"} if colour else {})})
    x_title, colour_title = x, colour
    x, colour = "x", ("colour" if colour else None)
    scale = 100.0 if kpi in PERCENT_KPIS else 1.0
    frame["mean"] = frame[kpi] * scale
    frame["low"] = frame[f"{kpi}_ci_low"] * scale
    frame["high"] = frame[f"{kpi}_ci_high"] * scale
    numeric = pd.api.types.is_numeric_dtype(frame[x])
    x_enc = alt.X(
        f"{x}:{'Q' if numeric else 'N'}",
        title=x_title,
        scale=alt.Scale(zero=False) if numeric else alt.Undefined,
    )
    encodings: dict = {"x": x_enc}
    tooltip = [
        alt.Tooltip(f"{x}:{'Q' if numeric else 'N'}", title=x_title),
        alt.Tooltip("mean:Q", format=".3g", title="mean"),
        alt.Tooltip("low:Q", format=".3g", title="95% CI low"),
        alt.Tooltip("high:Q", format=".3g", title="95% CI high"),
        alt.Tooltip("runs:Q"),
    ]
    if colour:
        frame[colour] = frame[colour].map(_label)
        encodings["color"] = alt.Color(
            f"{colour}:N", title=colour_title, scale=alt.Scale(range=PALETTE)
        )
        tooltip.insert(1, alt.Tooltip(f"{colour}:N", title=colour_title))
    base = alt.Chart(frame).encode(**encodings)
    y = alt.Y("mean:Q", title=kpi_label(kpi), scale=alt.Scale(zero=False))
    if numeric:
        spread = base.mark_area(opacity=0.18).encode(y="low:Q", y2="high:Q")
        line = base.mark_line(strokeWidth=2.5).encode(y=y)
    else:
        spread = base.mark_rule(strokeWidth=2).encode(y="low:Q", y2="high:Q")
        line = base.mark_line(strokeWidth=1, opacity=0.4).encode(y=y)
    points = base.mark_point(filled=True, size=60).encode(y=y, tooltip=tooltip)
    return (spread + line + points).properties(
        title=f"{HEADLINE.get(kpi, (kpi,))[0]} by {x_title}", width=420, height=260
    )


def sensitivity_chart(src: pd.DataFrame) -> alt.Chart:
    """KPIs x parameters, coloured by the standardised regression coefficient."""
    frame = (
        src.drop(columns=["r2"], errors="ignore")
        .reset_index()
        .melt(id_vars="kpi", var_name="parameter", value_name="src")
    )
    frame["kpi"] = frame["kpi"].map(lambda k: HEADLINE.get(k, (k,))[0])
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
    """Every chart of a sweep, by file name."""
    x = _x_parameter(table, parameters)
    others = [p for p in parameters if p != x]
    colour = min(others, key=lambda p: table[p].nunique()) if others else None
    # average over any further parameters so each (x, colour) pair is one point
    if len(others) > 1:
        keep = [x, colour]
        table = table.groupby(keep, as_index=False).mean(numeric_only=True)
    charts: dict[str, alt.TopLevelMixin] = {
        f"{kpi}_by_{_safe(x)}": kpi_vs_parameter_chart(table, kpi, x, colour)
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
