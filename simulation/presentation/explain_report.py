"""How an explained gap reads: the tables ``explain`` and ``analyze`` print, and the
waterfall charts they write (Altair; PNG or SVG through vl-convert, as the sweep
charts) and the app's Why panel shows.

A waterfall starts at design A's mean, steps by each contribution (green where the
step is good for the KPI, red where it is bad, grey where the catalog names no good
direction) with its 95% interval as a rule at the step's end, and ends at B's mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from simulation.analysis.explain import (
    EXACT,
    EXACT_UP_TO,
    FACTORS,
    Decomposition,
    amount,
    why_sentences,
)
from simulation.catalog.kpis import find_kpi, label, money_kpis, percent_kpis, unit

GOOD, BAD, NEUTRAL, LEVEL = "#2A9D8F", "#D1495B", "#8C8C8C", "#2F5D8A"


def heading(split: Decomposition, a_name: str, b_name: str, a: float, b: float) -> str:
    """The first line of a KPI's section: both designs' means and the gap."""
    total = split.table().iloc[-1]
    unit_text = f" ({unit(split.kpi)})" if unit(split.kpi) else ""
    return (
        f"{label(split.kpi)}{unit_text}: {a_name} {_level(split.kpi, a)}, {b_name} "
        f"{_level(split.kpi, b)}: gap {amount(split.kpi, total['mean'])} (95% CI "
        f"{amount(split.kpi, total['ci_low'])} to {amount(split.kpi, total['ci_high'])}), "
        f"{split.replicates} replicates"
    )


def _level(kpi: str, value: float) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    if kpi in percent_kpis():
        return f"{100 * value:.1f}%"
    if kpi in money_kpis():
        return f"{value / 1e3:,.0f}k"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def method_text(split: Decomposition) -> str:
    """How the values were computed, in words."""
    count = len(split.names) - (0 if split.part == FACTORS else 1)
    what = "factor" if split.part == FACTORS else "mechanism"
    players = f"{count} {what}{'' if count == 1 else 's'}"
    if split.method == EXACT:
        return f"exact Shapley values over {players} (all {2**count} coalitions)"
    return (
        f"Shapley values over {players}, sampled: {split.orders} orders in "
        f"{split.orders // 2} antithetic pairs; each interval includes the sampling "
        "standard error (column 'sampling se')"
    )


def split_table(split: Decomposition) -> str:
    """The table of one split: line, contribution, 95% CI, share (and sampling error)."""
    table = split.table()
    sampled = split.method != EXACT
    header = ["mechanism" if split.part != FACTORS else "factor", "contribution", "95% CI", "share"]
    if sampled:
        header.append("sampling se")
    rows = []
    for _, row in table.iterrows():
        kpi = split.kpi
        cells = [
            str(row["label"]),
            amount(kpi, row["mean"], unit=False),
            _interval(kpi, row),
            "n/a" if math.isnan(row["share"]) else f"{round(100 * row['share'])}%",
        ]
        if sampled:
            cells.append(amount(kpi, row["sampling_se"], signed=False, unit=False))
        rows.append(cells)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in
                       enumerate(zip(header, widths, strict=True)))]  # fmt: skip
    for r in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(lines)


def _interval(kpi: str, row: pd.Series) -> str:
    return f"{amount(kpi, row['ci_low'], unit=False)} to {amount(kpi, row['ci_high'], unit=False)}"


def adds_up_text(split: Decomposition) -> str:
    """The check that the lines add up to the gap, with its largest rounding error."""
    error = split.adds_up
    if math.isnan(error):
        return "Not checked: no replicate has every run."
    verdict = (
        "add up"
        if error <= 1e-9 * max(1.0, float(np.nanmax(np.abs(split.total))))
        else ("do NOT add up")
    )
    return (
        f"The contributions {verdict} to the gap in every replicate (largest difference "
        f"{error:.1e})."
    )


def interaction_text(split: Decomposition) -> list[str]:
    """The pairs of factors: each alone, together, and their interaction; the largest
    named first."""
    frame = split.interactions
    if split.method != EXACT:
        return [
            "Interactions need every coalition (at most "
            f"{EXACT_UP_TO} factors): --group brings the factors down to that."
        ]
    if frame is None or frame.empty:
        return []
    kpi = split.kpi
    lines = [
        "Interactions (Shapley interaction index; for two factors, v(both) - v(each) + v(none)):"
    ]
    for _, row in frame.iterrows():
        first, second = row["pair"].split(" x ")
        lines.append(
            f"  {first} alone {amount(kpi, row['alone_first'])}, {second} alone "
            f"{amount(kpi, row['alone_second'])}, together {amount(kpi, row['together'])}: "
            f"interaction {amount(kpi, row['interaction'])} (95% CI "
            f"{amount(kpi, row['ci_low'])} to {amount(kpi, row['ci_high'])})"
        )
    top = frame.iloc[0]
    lines.append(f"  Largest interaction: {top['pair']} ({amount(kpi, top['interaction'])}).")
    return lines


def report(
    splits: Sequence[tuple[Decomposition, Decomposition]],
    levels: dict[str, tuple[float, float]],
    a_name: str,
    b_name: str,
    left_out: Sequence[str] = (),
) -> str:
    """The whole printed explanation: per KPI a heading, both splits with their method
    and check, and the interactions."""
    parts = []
    for factors, mechanisms in splits:
        a, b = levels[factors.kpi]
        if no_gap(factors, mechanisms):
            parts.append(
                f"{label(factors.kpi)}: {_level(factors.kpi, a)} in every run of both designs "
                "and of every point: no gap to explain."
            )
            continue
        block = [heading(factors, a_name, b_name, a, b)]
        block += [f"  {line}" for line in why_sentences(factors, mechanisms, "Why")] + [""]
        block += [f"  What differs: {method_text(factors)}", _indent(split_table(factors))]
        block += [f"  {adds_up_text(factors)}", ""]
        block += _indent_lines(interaction_text(factors))
        block += [f"  The mechanisms that carry it: {method_text(mechanisms)}"]
        block += [_indent(split_table(mechanisms)), f"  {adds_up_text(mechanisms)}"]
        parts.append("\n".join(block))
    if left_out:
        parts.append("\n".join(left_out))
    return "\n\n".join(parts)


def no_gap(factors: Decomposition, mechanisms: Decomposition) -> bool:
    """Whether the KPI is the same in every run of the study (every line exactly 0)."""
    lines = np.concatenate([factors.lines, mechanisms.lines, factors.total[None, :]])
    return bool(np.all(lines == 0.0))


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def _indent_lines(lines: list[str]) -> list[str]:
    return [f"  {line}" for line in lines] + ([""] if lines else [])


# --------------------------------------------------------------------------- charts


def waterfall_frame(
    split: Decomposition, start: float, names: tuple[str, str] = ("A", "B")
) -> pd.DataFrame:
    """The steps of a waterfall from ``start`` (design A's mean): a bar for A, one row
    per line with its start, end, the interval of its end, and whether it is good for
    the KPI, and a bar for B; ``names`` are A's and B's."""
    table = split.table()
    scale = 100.0 if split.kpi in percent_kpis() else 1.0
    entry = find_kpi(split.kpi)
    better = entry.higher_is_better if entry else None
    rows = [_level_row(names[0], start * scale, 0)]
    level = start * scale
    for order, (_, row) in enumerate(table.iloc[:-1].iterrows(), start=1):
        step = row["mean"] * scale
        effect = NEUTRAL if better is None or step == 0 else (
            GOOD if (step > 0) == better else BAD
        )  # fmt: skip
        rows.append(
            {
                "order": order,
                "step": str(row["label"]),
                "start": level,
                "end": level + step,
                "low": level + row["ci_low"] * scale,
                "high": level + row["ci_high"] * scale,
                "change": step,
                "colour": effect,
            }
        )
        level += step
    rows.append(_level_row(names[1], level, len(rows)))
    return pd.DataFrame(rows)


def _level_row(name: str, value: float, order: int) -> dict:
    return {
        "order": order,
        "step": name,
        "start": 0.0,
        "end": value,
        "low": math.nan,
        "high": math.nan,
        "change": value,
        "colour": LEVEL,
    }


def waterfall_chart(
    split: Decomposition, start: float, title: str = "", names: tuple[str, str] = ("A", "B")
) -> alt.LayerChart:
    """A horizontal waterfall of one split, from A's mean to B's (the steps in order,
    each with its 95% interval); ``names`` label the first and last bars."""
    frame = waterfall_frame(split, start, names)
    last = len(frame) - 1
    frame["step"] = [s if i in (0, last) else f"{i}. {s}" for i, s in enumerate(frame["step"])]
    order = list(frame["step"])
    y = alt.Y("step:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    axis_title = f"{label(split.kpi)} ({unit(split.kpi)})" if unit(split.kpi) else label(split.kpi)
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=y,
            x=alt.X("start:Q", title=axis_title, scale=alt.Scale(zero=False)),
            x2="end:Q",
            color=alt.Color("colour:N", scale=None, legend=None),
            tooltip=[
                alt.Tooltip("step:N", title="step"),
                alt.Tooltip("change:Q", format=".3g", title="change"),
                alt.Tooltip("low:Q", format=".3g", title="95% CI low (level)"),
                alt.Tooltip("high:Q", format=".3g", title="95% CI high (level)"),
            ],
        )
    )
    rules = (
        alt.Chart(frame.dropna(subset=["low"]))
        .mark_rule(color="#333333")
        .encode(y=y, x="low:Q", x2="high:Q")
    )
    return (bars + rules).properties(title=title, width=420, height=alt.Step(22))


def explain_charts(
    splits: Sequence[tuple[Decomposition, Decomposition]],
    levels: dict[str, tuple[float, float]],
    names: tuple[str, str] = ("A", "B"),
) -> dict[str, alt.VConcatChart]:
    """One chart per KPI: the factors' waterfall above the mechanisms'; ``names`` are
    A's and B's."""
    charts = {}
    for factors, mechanisms in splits:
        start = levels[factors.kpi][0]
        charts[f"explain_{factors.kpi}"] = alt.vconcat(
            waterfall_chart(factors, start, "What differs", names),
            waterfall_chart(mechanisms, start, "The mechanisms that carry it", names),
        )
    return charts
