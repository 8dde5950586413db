"""Tables and Altair charts of a sensitivity study, shared by ``python -m simulation
sensitivity``/``analyze`` and the app's Results page.

- Morris: mu* (how much the KPI moves over the parameter's range, on average) against
  sigma (how much that movement depends on the other parameters), with mu*'s 95%
  bootstrap interval as a horizontal bar. Near the origin: inert. Far right, low:
  a strong, simple effect. High: interactions or non-linearity.
- Sobol: first-order (S1) and total (ST) indices as bars with their 95% bootstrap
  intervals, the parameters sorted by ST. ST - S1 is what the parameter does only
  together with others.

Indices come from :func:`simulation.analysis.sensitivity_study.study_tables`; a KPI
in percent (a share) shows its Morris effects in percentage points.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from simulation.catalog.kpis import find_kpi, money_kpis, percent_kpis
from simulation.presentation.sweep_charts import kpi_label

#: Parameters a chart or a printed table shows, most influential first.
TOP = 12


def short_name(path: str) -> str:
    """A parameter's path without the ``mechanisms.`` every mechanism parameter starts with."""
    return path.removeprefix("mechanisms.")


def output_title(kpi: str, spec: dict[str, Any]) -> str:
    """What a table or chart of ``kpi`` shows: the KPI, or its gap between the designs."""
    designs = spec.get("designs") or []
    if spec.get("versus") is not None and len(designs) == 2:
        return f"{kpi_label(kpi)}: gap {designs[1]} - {designs[0]}"
    return f"{kpi_label(kpi)}: {designs[0]}" if designs else kpi_label(kpi)


def _scale(kpi: str) -> float:
    """Percent KPIs (shares) show in percent, money KPIs in thousands, as every table."""
    if kpi in percent_kpis():
        return 100.0
    return 0.001 if kpi in money_kpis() else 1.0


def level_unit(kpi: str) -> str:
    """The unit of ``kpi``'s own values as shown."""
    if kpi in percent_kpis():
        return "%"
    entry = find_kpi(kpi)
    if entry is None or not entry.unit or entry.unit[0].isdigit():  # "0-100": a scale
        return ""
    return entry.unit


def effect_unit(kpi: str) -> str:
    """The unit of a Morris effect on ``kpi`` (per full range of the parameter)."""
    if kpi in percent_kpis():
        return "percentage points"
    entry = find_kpi(kpi)
    if entry is None or not entry.unit:
        return "KPI units"
    return "index points" if entry.unit[0].isdigit() else entry.unit


def _frame(table: pd.DataFrame, kpi: str, method: str, top: int | None = TOP) -> pd.DataFrame:
    rows = table[table["kpi"] == kpi].copy()
    rows["name"] = rows["parameter"].map(short_name)
    if method == "morris":
        scale = _scale(kpi)
        for column in ("mu", "mu_star", "mu_star_conf", "sigma"):
            rows[column] = rows[column] * scale
        rows["low"] = (rows["mu_star"] - rows["mu_star_conf"]).clip(lower=0)
        rows["high"] = rows["mu_star"] + rows["mu_star_conf"]
    rows = rows.sort_values("rank")
    return rows if top is None else rows.head(top)


def morris_chart(table: pd.DataFrame, kpi: str, spec: dict[str, Any]) -> alt.LayerChart:
    """mu* against sigma of ``kpi``'s most influential parameters, mu*'s 95% interval
    as a bar, each point named."""
    rows = _frame(table, kpi, "morris")
    unit = effect_unit(kpi)
    base = alt.Chart(rows).encode(
        y=alt.Y("sigma:Q", title=f"sigma ({unit})", scale=alt.Scale(zero=True)),
        tooltip=[
            alt.Tooltip("parameter:N"),
            alt.Tooltip("mu_star:Q", title="mu*", format=".3g"),
            alt.Tooltip("mu_star_conf:Q", title="mu* ± (95%)", format=".3g"),
            alt.Tooltip("sigma:Q", format=".3g"),
            alt.Tooltip("rank:Q"),
        ],
    )
    bars = base.mark_rule(color="#2F5D8A", opacity=0.5).encode(
        x=alt.X(
            "low:Q",
            title=f"mu*: mean |effect| over the range ({unit})",
            scale=alt.Scale(zero=True),
        ),
        x2="high:Q",
    )
    points = base.mark_circle(size=70, color="#2F5D8A").encode(x="mu_star:Q")
    names = base.mark_text(align="left", dx=6, dy=-6, fontSize=11).encode(
        x="mu_star:Q", text="name:N"
    )
    return (bars + points + names).properties(
        title=f"Morris screening: {output_title(kpi, spec)}", width=520, height=320
    )


def sobol_chart(table: pd.DataFrame, kpi: str, spec: dict[str, Any]) -> alt.LayerChart:
    """S1 and ST of ``kpi``'s most influential parameters as bars with 95% intervals."""
    rows = _frame(table, kpi, "sobol")
    order = list(rows["name"])
    long = pd.concat(
        [
            pd.DataFrame({"name": rows["name"], "index": label, "value": rows[c],
                          "low": rows[c] - rows[f"{c}_conf"], "high": rows[c] + rows[f"{c}_conf"]})
            for c, label in (("S1", "first order (S1)"), ("ST", "total (ST)"))
        ],
        ignore_index=True,
    )  # fmt: skip
    y = alt.Y("name:N", sort=order, title=None)
    offset = alt.YOffset("index:N", sort=["first order (S1)", "total (ST)"])
    colour = alt.Color(
        "index:N",
        title="index",
        scale=alt.Scale(domain=["first order (S1)", "total (ST)"], range=["#2A9D8F", "#2F5D8A"]),
    )
    base = alt.Chart(long).encode(y=y, yOffset=offset)
    bars = base.mark_bar().encode(
        x=alt.X("value:Q", title="share of the output's variance"),
        color=colour,
        tooltip=[
            alt.Tooltip("name:N", title="parameter"),
            alt.Tooltip("index:N"),
            alt.Tooltip("value:Q", format=".3f"),
            alt.Tooltip("low:Q", title="95% low", format=".3f"),
            alt.Tooltip("high:Q", title="95% high", format=".3f"),
        ],
    )
    whiskers = base.mark_rule(color="#333333").encode(x="low:Q", x2="high:Q")
    return (bars + whiskers).properties(
        title=f"Sobol indices: {output_title(kpi, spec)}", width=520, height=alt.Step(11)
    )


def sensitivity_charts(table: pd.DataFrame, spec: dict[str, Any]) -> dict[str, alt.LayerChart]:
    """One chart per KPI of the study's indices, named ``METHOD_KPI``."""
    method = spec["method"]
    draw = morris_chart if method == "morris" else sobol_chart
    if table.empty:
        return {}
    return {f"{method}_{kpi}": draw(table, kpi, spec) for kpi in dict.fromkeys(table["kpi"])}


def display_table(
    table: pd.DataFrame, kpi: str, method: str, top: int | None = TOP
) -> pd.DataFrame:
    """``kpi``'s indices as a page or a terminal shows them: rank, parameter, the
    method's estimates each with its 95% interval in words, the ``top`` most
    influential first (None: all)."""
    rows = _frame(table, kpi, method, top)
    if method == "morris":
        shown = {
            "rank": rows["rank"],
            "parameter": rows["parameter"],
            "mu*": [_pm(m, c) for m, c in zip(rows["mu_star"], rows["mu_star_conf"], strict=True)],
            "sigma": rows["sigma"].map(_num),
            "mu": rows["mu"].map(_num),
        }
    else:
        shown = {
            "rank": rows["rank"],
            "parameter": rows["parameter"],
            "S1": [_pm(v, c, 3) for v, c in zip(rows["S1"], rows["S1_conf"], strict=True)],
            "ST": [_pm(v, c, 3) for v, c in zip(rows["ST"], rows["ST_conf"], strict=True)],
        }
    return pd.DataFrame(shown).reset_index(drop=True)


def _num(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"


def _pm(value: float, half: float, decimals: int | None = None) -> str:
    if decimals is not None:
        return f"{value:.{decimals}f} ± {half:.{decimals}f}"
    return f"{_num(value)} ± {_num(half)}"


def constant(summary: dict[str, Any]) -> bool:
    """Whether the output summarised took one value in every sample (then every index
    is 0 and a table of them says nothing)."""
    return summary["high"] - summary["low"] <= 1e-12 * max(1.0, abs(summary["mean"]))


def summary_line(summary: dict[str, Any], spec: dict[str, Any]) -> str:
    """One line on an output: its mean and range over the samples, the replicate
    noise in it, and with two designs how often the second is better."""
    kpi = summary["kpi"]
    scale = _scale(kpi)
    unit = level_unit(kpi)
    gap = "gap " if spec.get("versus") is not None else ""
    sep = "" if unit in ("%", "") else " "
    if constant(summary):
        return (
            f"{gap}{_num(summary['mean'] * scale)}{sep}{unit} in every sample: no parameter "
            "varied here acts on it"
        )
    text = (
        f"{gap}mean {_num(summary['mean'] * scale)}{sep}{unit} over the samples "
        f"(from {_num(summary['low'] * scale)} to {_num(summary['high'] * scale)})"
    )
    noise = summary.get("noise_share")
    if noise is not None and noise == noise:
        text += f"; replicate noise is {noise:.0%} of its variance"
    else:
        text += "; replicate noise not measured (one replicate)"
    better, samples = summary.get("second_better"), summary.get("samples")
    if better is not None and better == better and samples:
        # counts, not a rounded share: 359 of 360 must not read as 100%
        designs = spec.get("designs") or ["A", "B"]
        text += f"; {designs[1]} is better in {int(better)} of {int(samples)} samples"
    return text
