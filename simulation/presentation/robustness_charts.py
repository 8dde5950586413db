"""Altair charts of a robustness study, shared by ``python -m simulation robustness``,
``analyze`` and the app's How-sure panel: each design's win share per KPI with its 95%
interval, and the distribution of each design's regret per KPI."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from simulation.analysis.robustness import KpiRobustness
from simulation.catalog.kpis import label, money_kpis, percent_kpis, unit
from simulation.presentation.sweep_charts import PALETTE


def _colour(designs: Sequence[str]) -> alt.Scale:
    return alt.Scale(domain=list(designs), range=PALETTE[: len(designs)])


def win_share_chart(found: Sequence[KpiRobustness]) -> alt.LayerChart:
    """Per KPI, one bar per design: the share of worlds it wins, with its 95% Wilson
    interval as an error bar."""
    frame = pd.DataFrame(
        [
            {
                "kpi": label(r.kpi),
                "design": o.design,
                "share": 100 * o.win_share,
                "low": 100 * o.win_low,
                "high": 100 * o.win_high,
            }
            for r in found
            for o in r.designs
        ]
    )
    designs = list(dict.fromkeys(frame["design"])) if not frame.empty else []
    y = alt.Y("kpi:N", title=None, sort=None)
    offset = alt.YOffset("design:N", sort=designs)
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=y,
            yOffset=offset,
            x=alt.X("share:Q", title="worlds won (%)", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("design:N", title="design", scale=_colour(designs), sort=designs),
            tooltip=[
                "kpi:N",
                "design:N",
                alt.Tooltip("share:Q", format=".0f", title="won (%)"),
                alt.Tooltip("low:Q", format=".0f", title="95% CI low"),
                alt.Tooltip("high:Q", format=".0f", title="95% CI high"),
            ],
        )
    )
    whiskers = (
        alt.Chart(frame)
        .mark_rule(color="black")
        .encode(y=y, yOffset=offset, x="low:Q", x2="high:Q")
    )
    return (bars + whiskers).properties(
        title="Share of plausible worlds each design wins (95% interval)", width=420
    )


def regret_chart(found: Sequence[KpiRobustness]) -> alt.VConcatChart:
    """Per KPI, a box plot of each design's regret over the worlds: how much worse than
    the best design of each world, in the KPI's unit (0: it was the best)."""
    panels = []
    for r in found:
        # shares read in points, money in thousands (the catalog's unit "k")
        scale = 100.0 if r.kpi in percent_kpis() else 1e-3 if r.kpi in money_kpis() else 1.0
        frame = pd.DataFrame(
            {
                "design": [o.design for o in r.designs for _ in range(len(r.regret))],
                "regret": (r.regret.T.reshape(-1) * scale) if r.regret.size else [],
            }
        )
        designs = [o.design for o in r.designs]
        shown = "points" if r.kpi in percent_kpis() else unit(r.kpi)
        panels.append(
            alt.Chart(frame)
            .mark_boxplot(extent="min-max")
            .encode(
                y=alt.Y("design:N", title=None, sort=designs),
                x=alt.X("regret:Q", title=f"regret: {label(r.kpi)} ({shown})"),
                color=alt.Color("design:N", scale=_colour(designs), legend=None),
            )
            .properties(width=420, height=22 * len(designs))
        )
    return alt.vconcat(*panels).properties(
        title="Regret: how much worse than the best design of each world"
    )


def robustness_charts(found: Sequence[KpiRobustness]) -> dict[str, alt.TopLevelMixin]:
    """The study's charts by file name (``charts/<name>.html`` and an image)."""
    return {"win_shares": win_share_chart(found), "regret": regret_chart(found)}
