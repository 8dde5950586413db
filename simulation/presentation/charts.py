"""Altair charts of runs and organisations, shared by the app and batch reports.

Two kinds of functions: ``*_frame`` functions aggregate run digests into the small
tables a chart needs (a few hundred rows at most: means and 95% bands across replicates,
histograms instead of raw lead times), and ``*_chart`` functions draw those tables.
Keeping the two apart lets a report save the numbers behind every figure, and keeps
what reaches a browser small.

Colours are fixed per structure (siloed red, aligned amber, converged teal, custom
purple) so a scenario looks the same on every chart and page.

Runs that reorganise over time carry a change log: :func:`change_frame` turns it into
one marker per scenario and day, and the over-time charts (:func:`band_chart`,
:func:`flow_chart`) draw those markers as vertical rules with the change's label and a
tooltip: dashed for a scheduled change, dotted for a PDCA trial.

Charts that compare organisations put them on one scale (one queue axis, one items
axis) and in one view where they sit side by side: Vega-Lite stretches single and
layered views to the width Streamlit gives them, never a concatenation or a facet.
Overlaid distributions are not stacked. Heights set per row come with ``fit-x``
autosizing (FIT_WIDTH), so the rows keep their height and Vega drops no fit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import altair as alt
import numpy as np
import pandas as pd

from simulation.analysis.digest import EFFORT_GROUPS, RunDigest
from simulation.analysis.metrics import mean_ci_by_row, mode

if TYPE_CHECKING:
    from simulation.model.org_model import OrgModel

Runs = Mapping[str, Sequence[RunDigest]]  # scenario name -> replicates

# --------------------------------------------------------------------------- palette

STRUCTURE_COLOURS = {
    "siloed": "#C8553D",  # brick red: friction
    "aligned": "#D89A1E",  # amber: better, still departments
    "converged": "#1B8A8F",  # teal: flow
    "custom": "#6A4C93",  # purple
}
#: For a second scenario of a structure already shown (e.g. two aligned variants).
EXTRA_COLOURS = ["#2F5D8A", "#7A9E4B", "#B5507F", "#8C6D46", "#4F4F8F", "#3E7C59"]

DISCIPLINE_COLOURS = {
    # business side in warm tones, IT side in cool ones: the boundary shows at a glance
    "business": "#D1603D",
    "marketing": "#E9A23B",
    "sales": "#B0794B",
    "support": "#D94F70",
    "dev": "#2E6FA8",
    "ops": "#35A29F",
}
_MORE_DISCIPLINE_COLOURS = ["#7E57C2", "#8D6E63", "#607D8B", "#9CCC65", "#F06292", "#4DB6AC"]

EFFORT_COLOURS = {
    "Value work": "#1B8A8F",
    "Rework": "#C8553D",
    "Misaligned work": "#D89A1E",
    "Coordination": "#8A9BA8",
}

STATE_COLOURS = {
    # apart from the scenario colours: a state is never mistaken for a structure
    "Delivered": "#D5DBE3",
    "Being worked on": "#2E6FA8",
    "In handoff": "#9B8FC4",
    "Waiting in a queue": "#EE8E3E",
}

GRID = "#E6E9EE"

#: For charts whose height is set in pixels per row: fit the width they are given, keep
#: the height of the plot as set (the app's default, "fit", would squeeze the rows to
#: make room for axes and legends; with a height in steps Vega drops the fit, warning).
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
#: For drawings whose proportions matter (the organisation): exactly the size set.
NO_FIT = alt.AutoSizeParams(type="pad", contains="padding")

#: Transition paths compared on the Transition page: the user's design first (the app's
#: teal), the ready-made paths after it. A path is not a structure (every path starts
#: siloed), so these stay apart from STRUCTURE_COLOURS' meaning.
PATH_COLOURS = ["#1B8A8F", "#2F5D8A", "#D89A1E", "#B5507F", "#6A4C93", "#7A9E4B"]


def scenario_colours(names: Sequence[str], structures: Sequence[str]) -> dict[str, str]:
    """A colour per scenario: its structure's colour, or a distinct extra for repeats."""
    colours: dict[str, str] = {}
    used: set[str] = set()
    extras = iter(EXTRA_COLOURS * 4)
    for name, structure in zip(names, structures, strict=True):
        colour = STRUCTURE_COLOURS.get(structure)
        if colour is None or colour in used:
            colour = next(c for c in extras if c not in used)
        colours[name] = colour
        used.add(colour)
    return colours


def path_colours(names: Sequence[str]) -> dict[str, str]:
    """A colour per transition path, in order (PATH_COLOURS)."""
    return {name: PATH_COLOURS[i % len(PATH_COLOURS)] for i, name in enumerate(names)}


def discipline_colours(disciplines: Sequence[str]) -> dict[str, str]:
    """A colour per discipline: fixed ones for the usual disciplines, extras for the rest."""
    more = iter(_MORE_DISCIPLINE_COLOURS * 4)
    return {d: DISCIPLINE_COLOURS.get(d) or next(more) for d in disciplines}


def _scale(colours: Mapping[str, str]) -> alt.Scale:
    return alt.Scale(domain=list(colours), range=list(colours.values()))


def _legend_colour(colours: Mapping[str, str], title: str | None = None) -> alt.Color:
    return alt.Color(
        "scenario:N",
        scale=_scale(colours),
        title=title,
        # two columns: four long scenario names still fit a half-width chart
        legend=alt.Legend(
            orient="top", columns=2, labelLimit=260, symbolOpacity=1, symbolStrokeWidth=3
        ),
    )


# --------------------------------------------------------------------------- frames


def lead_time_frame(runs: Runs, bins: int = 40) -> pd.DataFrame:
    """Share of delivered items per lead-time bin, per scenario (replicates pooled).

    Bins are shared by all scenarios and stop at the 99th percentile of all lead times,
    so a few extreme items do not squash the picture (shares stay shares of all items).
    """
    pooled = {
        name: np.concatenate([d.lead_times["lead_time"].to_numpy() for d in ds])
        for name, ds in runs.items()
        if ds
    }
    everything = np.concatenate(list(pooled.values())) if pooled else np.array([])
    if len(everything) == 0:
        return pd.DataFrame(columns=["scenario", "start", "end", "share"])
    top = max(float(np.percentile(everything, 99)), 1.0)
    edges = np.linspace(0.0, top, bins + 1)
    rows = []
    for name, lead in pooled.items():
        counts, _ = np.histogram(lead, bins=edges)
        share = counts / max(1, len(lead))
        rows += [
            {"scenario": name, "start": float(a), "end": float(b), "share": float(s)}
            for a, b, s in zip(edges[:-1], edges[1:], share, strict=True)
        ]
    return pd.DataFrame(rows)


def percentile_frame(runs: Runs) -> pd.DataFrame:
    """Median and 85th-percentile lead time per scenario (mean over replicates)."""
    rows = []
    for name, ds in runs.items():
        for key, label in (("lead_time_p50", "median"), ("lead_time_p85", "85th percentile")):
            vals = np.array([d.kpis.get(key, math.nan) for d in ds], dtype=float)
            vals = vals[~np.isnan(vals)]  # runs that delivered nothing have none
            rows.append(
                {
                    "scenario": name,
                    "percentile": label,
                    "days": float(vals.mean()) if len(vals) else math.nan,
                }
            )
    return pd.DataFrame(rows)


def band_frame(
    runs: Runs,
    column: str,
    period: int = 5,
    how: str = "mean",
    scale: float = 1.0,
    bounds: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Mean and 95% band across replicates of a daily series, per ``period`` days.

    ``how="sum"`` adds the days of a period (e.g. items delivered per week), ``"mean"``
    averages them (e.g. the CX index). Values are multiplied by ``scale``; the band is
    clipped to ``bounds`` (a score cannot leave its range).
    """
    frames = []
    for name, ds in runs.items():
        if not ds:
            continue
        # days x replicates, then one group-by for all replicates at once
        table = pd.concat([d.daily.set_index("day")[column] for d in ds], axis=1)
        table = table[table.index >= 1] * scale
        period_end = ((table.index - 1) // period + 1) * period
        grouped = table.groupby(period_end)
        per_period = grouped.sum(min_count=1) if how == "sum" else grouped.mean()
        values = per_period.to_numpy(dtype=float)
        n, mean, low, high = mean_ci_by_row(values)
        # one replicate: a band of zero width at the line, not a gap
        low, high = np.where(n == 1, mean, low), np.where(n == 1, mean, high)
        present = ~np.isnan(values)
        floor = np.where(present, values, np.inf).min(axis=1)
        # counts and scores: a band below zero means nothing
        low = np.where(floor >= 0, np.maximum(low, 0.0), low)
        if bounds is not None:
            low, high = np.clip(low, *bounds), np.clip(high, *bounds)
        frame = pd.DataFrame(
            {
                "scenario": name,
                "day": per_period.index.astype(int),
                "mean": mean,
                "low": low,
                "high": high,
            }
        )
        frames.append(frame[~np.isnan(frame["mean"])])
    if not frames:
        return pd.DataFrame(columns=["scenario", "day", "mean", "low", "high"])
    return pd.concat(frames, ignore_index=True)


def flow_frame(runs: Runs, period: int = 5, cumulative: bool = True) -> pd.DataFrame:
    """Items by state over time, mean over replicates, one row per scenario, day, state.

    With ``cumulative`` the states stack on the items delivered so far: a cumulative
    flow diagram whose top edge is cumulative arrivals; without it, work in progress
    by state.
    """
    states = {"busy": "Being worked on", "in_handoff": "In handoff", "queued": "Waiting in a queue"}
    if cumulative:
        states = {"delivered": "Delivered", **states}
    rows = []
    for name, ds in runs.items():
        if not ds:
            continue
        mean = pd.concat([d.daily.set_index("day")[list(states)] for d in ds]).groupby(level=0)
        table = mean.mean()
        table = table[(table.index % period == 0) | (table.index == table.index.max())]
        for day, row in table.iterrows():
            for order, (column, label) in enumerate(states.items()):
                rows.append(
                    {
                        "scenario": name,
                        "day": int(day),
                        "state": label,
                        "order": order,
                        "items": float(row[column]),
                    }
                )
    return pd.DataFrame(rows, columns=["scenario", "day", "state", "order", "items"])


def unit_frame(runs: Runs, top: int = 12) -> pd.DataFrame:
    """Utilisation and mean queue per unit (and the BRMs), mean over replicates.

    ``bottleneck`` marks the unit most runs name as the bottleneck (``compute_kpis``).
    Large organisations keep their ``top`` busiest units.
    """
    frames = []
    for name, ds in runs.items():
        if not ds:
            continue
        units = pd.concat([d.units for d in ds])
        table = (
            units.groupby("unit", sort=False)
            .agg(
                size=("size", "first"),
                disciplines=("disciplines", "first"),
                utilisation=("utilisation", "mean"),
                queue=("queue_mean", "mean"),
            )
            .reset_index()
        )
        if ds[0].brm["count"] > 0:
            table.loc[len(table)] = {
                "unit": "BRMs",
                "size": int(ds[0].brm["count"]),
                "disciplines": "mediation",
                "utilisation": float(np.nanmean([d.brm["utilisation"] for d in ds])),
                "queue": float(np.nanmean([d.brm["queue_mean"] for d in ds])),
            }
        bottleneck = mode([str(d.kpis["bottleneck"]) for d in ds if d.kpis.get("bottleneck")])
        table["bottleneck"] = table["unit"] == bottleneck
        table = table.sort_values(["bottleneck", "utilisation"], ascending=False)
        table = table.head(top).sort_values("utilisation", ascending=False)
        frames.append(table.assign(scenario=name, units_total=len(ds[0].units)))
    if not frames:
        return pd.DataFrame(
            columns=[
                "scenario",
                "unit",
                "size",
                "disciplines",
                "utilisation",
                "queue",
                "bottleneck",
                "units_total",
            ]
        )
    return pd.concat(frames, ignore_index=True)


def effort_frame(runs: Runs) -> pd.DataFrame:
    """Where the staff's busy time went, per scenario: share and person-days per group.

    ``start`` and ``end`` place each group on a 0-1 bar (stacked in EFFORT_GROUPS order).
    """
    rows = []
    for name, ds in runs.items():
        if not ds:
            continue
        days = {g: float(np.mean([d.effort.get(g, 0.0) for d in ds])) for g in EFFORT_GROUPS}
        total = sum(days.values()) or 1.0
        start = 0.0
        for order, (group, value) in enumerate(days.items()):
            share = value / total
            rows.append(
                {
                    "scenario": name,
                    "effort": group,
                    "order": order,
                    "person_days": value,
                    "share": share,
                    "start": start,
                    "end": start + share,
                }
            )
            start += share
    columns = ["scenario", "effort", "order", "person_days", "share", "start", "end"]
    return pd.DataFrame(rows, columns=columns)


CHANGE_FRAME_COLUMNS = ["scenario", "change_day", "kind", "change", "what", "detail", "lane"]
SCHEDULED, PDCA_TRIAL = "Scheduled change", "PDCA trial"


def change_frame(runs: Runs, max_label: int = 30) -> pd.DataFrame:
    """One marker per scenario and day on which its organisation changed.

    Scheduled changes are the same in every replicate; PDCA trials can differ (what a
    policy tries next depends on what it kept), so each marker says in how many runs
    each change happened and, for PDCA, how often the trial it ended was kept.
    Columns: scenario, change_day, kind (SCHEDULED or PDCA_TRIAL), change (a short
    label for the chart; empty for PDCA trials, which come too often to label),
    what (every change of that day, in words), detail (the tooltip: day and what) and
    lane (the scenario's row for labels, 0 for the first scenario with markers).
    Changes on the last day (a PDCA check at the horizon) have no days left to show
    and are left out.
    """
    rows = []
    lane = 0
    for name, ds in runs.items():
        if not ds:
            continue
        logs = [d.changes for d in ds if d.changes is not None and not d.changes.empty]
        if not logs:
            continue
        n = len(ds)
        changes = pd.concat(logs, ignore_index=True)
        changes = changes[changes["day"] < ds[0].horizon]
        decisions = [d.decisions for d in ds if d.decisions is not None and not d.decisions.empty]
        judged = pd.concat(decisions, ignore_index=True) if decisions else pd.DataFrame()
        for day, group in changes.groupby("day", sort=True):
            scheduled = bool((group["source"] == "scheduled").any())
            labels = group["label"].value_counts(sort=False)
            # a PDCA day first reverts the last trial (where it failed), then tries the next
            order = sorted(labels.index, key=lambda label: "revert" not in str(label))
            parts = [
                _short_pdca(str(label))
                if count >= n
                else f"{_short_pdca(str(label))} ({count} of {n} runs)"
                for label, count in labels[order].items()
            ]
            if not judged.empty:
                verdicts = judged[
                    (judged["day"] == day) & judged["decision"].isin(["kept", "reverted"])
                ]
                if len(verdicts):
                    kept = int((verdicts["decision"] == "kept").sum())
                    runs_word = "run" if len(verdicts) == 1 else "runs"
                    parts.insert(0, f"previous trial kept in {kept} of {len(verdicts)} {runs_word}")
            first = (
                str(group.loc[group["source"] == "scheduled", "label"].iloc[0]) if scheduled else ""
            )
            short = first if len(first) <= max_label else first[: max_label - 1] + "…"
            rows.append(
                {
                    "scenario": name,
                    "change_day": float(day),
                    "kind": SCHEDULED if scheduled else PDCA_TRIAL,
                    "change": short if scheduled else "",
                    "what": "; ".join(parts),
                    "detail": f"Day {float(day):g}: " + "; ".join(parts),
                    "lane": lane,
                }
            )
        lane += 1
    return pd.DataFrame(rows, columns=CHANGE_FRAME_COLUMNS)


def _short_pdca(label: str) -> str:
    return label.removeprefix("PDCA: ")


def change_layers(
    changes: pd.DataFrame, colours: Mapping[str, str], labels: bool = True
) -> list[alt.Chart]:
    """Vertical rules at the change days in each scenario's colour, with the change's
    label at the top of the plot (one row per scenario, so labels of different
    scenarios on the same day do not overlap) and its detail as a tooltip."""
    if changes is None or changes.empty:
        return []
    frame = changes.assign(label_y=4 + 14 * changes["lane"])
    # no legend settings of its own: the lines' legend names the scenarios (a layer
    # saying legend=None beside one that has a legend makes Vega-Lite warn of a conflict)
    colour = alt.Color("scenario:N", scale=_scale(colours))
    return _change_marks(alt.Chart(frame), colour, labels)


def _change_marks(
    base: alt.Chart, colour: Any, labels: bool, x: str = "change_day"
) -> list[alt.Chart]:
    """Rules (and labels) at the change days; ``x`` is the field placing them."""
    x = alt.X(f"{x}:Q")
    tooltip = [
        alt.Tooltip("scenario:N", title="Scenario"),
        alt.Tooltip("kind:N", title="What"),
        alt.Tooltip("detail:N", title="Change"),
    ]
    scheduled = alt.datum.kind == SCHEDULED
    rules = base.mark_rule().encode(
        x=x,
        color=colour,
        strokeDash=alt.StrokeDashValue(
            **alt.condition(scheduled, alt.value([6, 3]), alt.value([2, 3]))
        ),
        strokeWidth=alt.StrokeWidthValue(**alt.condition(scheduled, alt.value(2), alt.value(1.2))),
        opacity=alt.OpacityValue(**alt.condition(scheduled, alt.value(0.9), alt.value(0.6))),
    )
    # a wide, invisible rule on top: the thin one is hard to hover
    hover = base.mark_rule(strokeWidth=12, opacity=0).encode(x=x, tooltip=tooltip)
    layers = [rules, hover]
    if labels:
        text = (
            base.transform_filter(alt.datum.change != "")
            .mark_text(align="left", baseline="top", dx=4, fontSize=11, fontWeight="bold")
            .encode(
                x=x,
                y=alt.Y("label_y:Q", scale=None, axis=None),
                text=alt.Text("change:N"),
                color=colour,
                tooltip=tooltip,
            )
        )
        layers.append(text)
    return layers


# --------------------------------------------------------------------------- charts


def lead_time_chart(
    hist: pd.DataFrame, marks: pd.DataFrame, colours: Mapping[str, str]
) -> alt.LayerChart:
    """Lead-time distributions overlaid, with each scenario's 85th percentile dashed."""
    base = alt.Chart()  # ``hist`` is given to the layer: see units_chart
    x = alt.X("start:Q", title="Lead time (working days)", scale=alt.Scale(nice=False))
    y = alt.Y("share:Q", title="Share of items delivered", axis=alt.Axis(format="%"))
    tooltip = [
        alt.Tooltip("scenario:N", title="Scenario"),
        alt.Tooltip("start:Q", title="From (days)", format=".1f"),
        alt.Tooltip("end:Q", title="To (days)", format=".1f"),
        alt.Tooltip("share:Q", title="Share of items", format=".1%"),
    ]
    # overlaid, not stacked: each shaded area is its own scenario's distribution
    overlaid = alt.Y(
        "share:Q", title="Share of items delivered", stack=None, axis=alt.Axis(format="%")
    )
    area = base.mark_area(interpolate="step-after", opacity=0.18).encode(
        x=x, y=overlaid, color=_legend_colour(colours)
    )
    line = base.mark_line(interpolate="step-after", strokeWidth=2).encode(
        x=x, y=y, color=_legend_colour(colours), tooltip=tooltip
    )
    p85 = marks[marks["percentile"] == "85th percentile"]
    rules = (
        alt.Chart(p85)
        .mark_rule(strokeDash=[6, 4], strokeWidth=2)
        .encode(
            x=alt.X("days:Q"),
            color=alt.Color("scenario:N", scale=_scale(colours)),  # the areas' legend
            tooltip=[
                alt.Tooltip("scenario:N", title="Scenario"),
                alt.Tooltip("percentile:N", title="Lead time"),
                alt.Tooltip("days:Q", title="Days", format=".1f"),
            ],
        )
    )
    return alt.layer(area, line, rules, data=hist).properties(height=300)


def band_chart(
    frame: pd.DataFrame,
    colours: Mapping[str, str],
    y_title: str,
    warmup: int | None = None,
    value_format: str = ".1f",
    zero: bool = True,
    changes: pd.DataFrame | None = None,
    axis_format: str | None = None,
    height: int = 280,
    change_labels: bool = True,
) -> alt.LayerChart:
    """Mean over replicates as a line, its 95% confidence band shaded; with
    ``changes`` (:func:`change_frame`), the days the organisation changed marked, with
    their labels at the top (``change_labels``; leave them out on narrow charts, where
    the tooltips still name each change)."""
    base = alt.Chart(frame)
    x = alt.X("day:Q", title="Working day", scale=alt.Scale(nice=False))
    axis = alt.Axis(format=axis_format) if axis_format else alt.Axis()
    y_scale = alt.Scale(zero=zero)
    labelled = change_labels and changes is not None and (changes["change"] != "").any()
    if labelled and len(frame):
        # head room for the labels: a row per scenario above the lines
        low = 0.0 if zero else float(np.nanmin(frame["low"]))
        high = float(np.nanmax(frame["high"]))
        rows = int(changes["lane"].max()) + 1
        y_scale = alt.Scale(zero=zero, domainMax=high + (high - low) * 0.09 * (rows + 1))
    band = base.mark_area(opacity=0.2).encode(
        x=x,
        y=alt.Y("low:Q", title=y_title, scale=y_scale, axis=axis),
        y2=alt.Y2("high:Q"),
        color=_legend_colour(colours),
    )
    line = base.mark_line(strokeWidth=2.5).encode(
        x=x,
        y=alt.Y("mean:Q", title=y_title, axis=axis),
        color=_legend_colour(colours),
        tooltip=[
            alt.Tooltip("scenario:N", title="Scenario"),
            alt.Tooltip("day:Q", title="Up to day"),
            alt.Tooltip("mean:Q", title="Mean", format=value_format),
            alt.Tooltip("low:Q", title="95% CI from", format=value_format),
            alt.Tooltip("high:Q", title="95% CI to", format=value_format),
        ],
    )
    layers = [band, line, *change_layers(changes, colours, labels=change_labels)]
    if warmup:
        layers.insert(0, _warmup_rect(warmup))
    return alt.layer(*layers).properties(height=height)


def _warmup_rect(warmup: int) -> alt.Chart:
    frame = pd.DataFrame({"start": [0], "end": [warmup], "label": ["warm-up (not in KPIs)"]})
    return (
        alt.Chart(frame)
        .mark_rect(color="#EEF0F3", opacity=0.8)
        .encode(x=alt.X("start:Q"), x2=alt.X2("end:Q"), tooltip=alt.Tooltip("label:N", title=""))
    )


#: The gap between two organisations' panels of :func:`flow_chart`, as a share of a
#: panel's days.
PANEL_GAP = 0.12


def flow_chart(
    frame: pd.DataFrame,
    colours: Mapping[str, str],
    cumulative: bool = True,
    changes: pd.DataFrame | None = None,
) -> alt.LayerChart:
    """A stacked-area flow diagram per scenario, side by side, on one items axis; with
    ``changes`` (:func:`change_frame`), each panel marks the days its organisation
    changed (in dark grey: the colours here are the states of work).

    One view, not a facet, so it fills the width it is given (Vega-Lite stretches only
    single and layered views; a facet of fixed panels overflowed narrow screens and
    left wide ones a third empty): each scenario's days are shifted to its own stretch
    of the x axis (``x``), whose labels give the day again.
    """
    title = "Items (cumulative)" if cumulative else "Items in progress"
    states = [s for s in STATE_COLOURS if cumulative or s != "Delivered"]
    names = [n for n in colours if n in set(frame["scenario"])]
    days = float(frame["day"].max()) if len(frame) else 1.0
    span = math.ceil(days * (1 + PANEL_GAP))  # whole days: the axis labels are day % span
    offset = {name: i * span for i, name in enumerate(names)}
    flow = frame.assign(x=frame["day"] + frame["scenario"].map(offset))
    x = alt.X(
        "x:Q",
        title="Working day",
        scale=alt.Scale(domain=[0, span * max(1, len(names)) - span + days], nice=False),
        axis=alt.Axis(
            values=[offset[n] + d for n in names for d in _day_ticks(days)],
            labelExpr=f"format(datum.value % {span}, 'd')",
            grid=False,
        ),
    )
    area = alt.Chart(flow).mark_area(opacity=0.9)
    encoding = {
        "x": x,
        "y": alt.Y("items:Q", title=title, stack="zero"),
        "color": alt.Color(
            "state:N",
            title=None,
            scale=alt.Scale(domain=states, range=[STATE_COLOURS[s] for s in states]),
            # room between the legend and the plot for the organisations' names
            legend=alt.Legend(orient="top", offset=26),
        ),
        "order": alt.Order("order:Q", sort="ascending"),
        "tooltip": [
            alt.Tooltip("scenario:N", title="Scenario"),
            alt.Tooltip("day:Q", title="Day"),
            alt.Tooltip("state:N", title="State"),
            alt.Tooltip("items:Q", title="Items (mean)", format=".1f"),
        ],
    }
    # a layer per scenario: one stack would join the panels across their gaps
    areas = [area.transform_filter(alt.datum.scenario == name).encode(**encoding) for name in names]
    # each name in its scenario's colour, as a value: a second colour scale beside the
    # states' would need independent scales, and those repeat the legend per layer
    headers = [
        alt.Chart(pd.DataFrame({"scenario": [name], "x": [offset[name] + days / 2]}))
        .mark_text(fontSize=13, fontWeight="bold", baseline="bottom", dy=-6, color=colours[name])
        .encode(x=alt.X("x:Q"), y=alt.YValue(0), text=alt.Text("scenario:N"))
        for name in names
    ]
    layers = [*areas, *headers]
    if changes is not None and not changes.empty:
        marks = changes[changes["scenario"].isin(names)]
        marks = marks.assign(x=marks["change_day"] + marks["scenario"].map(offset))
        # no labels: the panels are narrow; the tooltip names the change
        layers += _change_marks(alt.Chart(marks), alt.value("#374151"), labels=False, x="x")
    return alt.layer(*layers).properties(width="container", height=240, autosize=FIT_WIDTH)


def _day_ticks(days: float) -> list[float]:
    """Round days for one panel's axis: about four, from 0."""
    step = _nice_ceiling(days / 4, steps=(1, 2, 5))
    return [step * k for k in range(int(days / step + 1e-9) + 1)]


#: Where the queue panel of :func:`units_chart` starts on its x axis, whose first
#: stretch (0 to 1) is utilisation: the gap leaves room for the bottleneck tag.
QUEUE_START = 1.45
UNIT_ROW_PX = 22


def units_chart(frame: pd.DataFrame, colours: Mapping[str, str]) -> alt.LayerChart:
    """Per scenario: how busy each unit is and how long its queue, bottleneck marked.

    One view, so it fills the width it is given (Vega-Lite stretches single and layered
    views only), with a row per unit grouped under a row naming each scenario. Its x
    axis holds two panels: utilisation (0-100%) and, from QUEUE_START, the mean queue
    on ONE scale for every scenario, so equal bars are equal queues.
    """
    rows = unit_rows(frame, colours)
    queue_top = _nice_ceiling(float(rows["queue"].max()) if len(rows) else 0.0)
    rows["queue_end"] = QUEUE_START + rows["queue"] / queue_top
    queue_ticks = _ticks(queue_top)
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0, *(QUEUE_START + t / queue_top for t in queue_ticks)]
    label = (
        f"datum.value <= 1.0001 ? format(datum.value, '.0%') : "
        f"format((datum.value - {QUEUE_START}) * {queue_top}, '~g')"
    )
    x = alt.X(
        "start:Q",
        title=None,
        scale=alt.Scale(domain=[0, QUEUE_START + 1.0], nice=False),
        axis=alt.Axis(values=ticks, labelExpr=label, labelFlush=True),
    )
    order = list(rows["row"])
    y = alt.Y(
        "row:N",
        title=None,
        sort=order,
        scale=alt.Scale(paddingInner=0.25),
        axis=alt.Axis(labelExpr="substring(datum.value, 10)", labelLimit=160, ticks=False),
    )
    colour = alt.Color("scenario:N", scale=_scale(colours), legend=None)
    tooltip = [
        alt.Tooltip("scenario:N", title="Scenario"),
        alt.Tooltip("unit:N", title="Unit"),
        alt.Tooltip("size:Q", title="People"),
        alt.Tooltip("disciplines:N", title="Disciplines"),
        alt.Tooltip("utilisation:Q", title="Utilisation", format=".0%"),
        alt.Tooltip("queue:Q", title="Items waiting (mean)", format=".2f"),
    ]
    # the layers share ``rows``, given once to the layer (each chart given the same
    # frame would make Altair hash the frame's text form to hoist it: 20 ms a chart)
    units = alt.Chart().transform_filter("datum.kind == 'unit'")
    emphasis = alt.condition("datum.bottleneck", alt.value(1.0), alt.value(0.55))
    outline = alt.condition("datum.bottleneck", alt.value("#222"), alt.value(None))
    busy = units.mark_bar(cornerRadiusEnd=3).encode(
        x=x,
        x2=alt.X2("utilisation:Q"),
        y=y,
        color=colour,
        opacity=alt.OpacityValue(**emphasis),
        tooltip=tooltip,
        stroke=alt.StrokeValue(**outline),
    )
    tag = (
        units.transform_filter("datum.bottleneck")
        .mark_text(align="left", dx=4, fontWeight="bold", color="#222", text="◀ bottleneck")
        .encode(x=alt.X("utilisation:Q"), y=y)
    )
    queue = units.mark_bar(cornerRadiusEnd=3, opacity=0.55).encode(
        x=alt.X("queue_start:Q"), x2=alt.X2("queue_end:Q"), y=y, color=colour, tooltip=tooltip
    )
    headers = (
        alt.Chart()
        .transform_filter("datum.kind != 'unit'")
        .mark_text(align="left", baseline="middle", fontWeight="bold", fontSize=13)
        .encode(
            x=alt.X("start:Q"),
            y=y,
            text=alt.Text("title:N"),
            color=alt.ColorValue(
                **alt.condition("datum.kind == 'scenario'", colour, alt.value("#4a5563"))
            ),
        )
    )
    return alt.layer(busy, tag, queue, headers, data=rows).properties(
        width="container", height=UNIT_ROW_PX * max(1, len(rows)), autosize=FIT_WIDTH
    )


def unit_rows(frame: pd.DataFrame, colours: Mapping[str, str]) -> pd.DataFrame:
    """The rows of :func:`units_chart`: a row naming the two panels, then per scenario
    a row with its name and a row per unit. ``row`` sorts them (a 10-character prefix
    the axis leaves out, then the unit's name)."""
    out = [
        _header_row(0, "panel", "Utilisation (share of time busy)", 0.0),
        _header_row(0, "panel", "Items waiting in its queue (mean)", QUEUE_START),
    ]
    for i, name in enumerate(colours, start=1):
        part = frame[frame["scenario"] == name]
        if part.empty:
            continue
        shown, total = len(part), int(part["units_total"].iloc[0])
        more = f" (the {shown} busiest of {total} units)" if total > shown else ""
        out.append(_header_row(i, "scenario", f"{name}{more}", 0.0, scenario=name))
        for j, unit in enumerate(part.itertuples(index=False), start=1):
            out.append(
                {
                    "row": f"{i:04d}-{j:04d}:{unit.unit}",
                    "kind": "unit",
                    "title": "",
                    "scenario": name,
                    "unit": unit.unit,
                    "size": unit.size,
                    "disciplines": unit.disciplines,
                    "utilisation": float(unit.utilisation),
                    "queue": float(unit.queue),
                    "bottleneck": bool(unit.bottleneck),
                    "start": 0.0,
                    "queue_start": QUEUE_START,
                }
            )
    return pd.DataFrame(out)


def _header_row(i: int, kind: str, title: str, start: float, scenario: str = "") -> dict[str, Any]:
    # two headers share the panel row: the same row key, told apart by where they start
    return {
        "row": f"{i:04d}-0000:",
        "kind": kind,
        "title": title,
        "scenario": scenario,
        "unit": "",
        "size": 0,
        "disciplines": "",
        "utilisation": 0.0,
        "queue": 0.0,
        "bottleneck": False,
        "start": start,
        "queue_start": QUEUE_START,
    }


def _nice_ceiling(value: float, steps: Sequence[float] = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8)) -> float:
    """The smallest of ``steps`` times a power of ten at or above ``value`` (1 for 0)."""
    if not value > 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (*steps, 10) if m * power >= value * (1 - 1e-12))


def _ticks(top: float) -> list[float]:
    """Round ticks from 0 up to ``top``: about five, at 1, 2 or 5 times a power of ten."""
    step = _nice_ceiling(top / 5, steps=(1, 2, 5))
    return [step * k for k in range(int(top / step + 1e-9) + 1)]


def effort_chart(frame: pd.DataFrame, colours: Mapping[str, str]) -> alt.LayerChart:
    """One 100% bar per scenario: value work against rework, misalignment, coordination."""
    groups = list(EFFORT_COLOURS)
    frame = frame.assign(
        mid=(frame["start"] + frame["end"]) / 2,
        label=[f"{s:.0%}" if s >= 0.06 else "" for s in frame["share"]],
    )
    y = alt.Y(
        "scenario:N",
        title=None,
        sort=list(colours),
        scale=alt.Scale(paddingInner=0.35),
        axis=alt.Axis(labelLimit=220, labelFontWeight="bold", labelFontSize=12),
    )
    bars = (
        alt.Chart()  # the frame is given to the layer: see units_chart
        .mark_bar()
        .encode(
            y=y,
            x=alt.X(
                "start:Q",
                title="Share of staff time at work",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            x2=alt.X2("end:Q"),
            color=alt.Color(
                "effort:N",
                title=None,
                scale=alt.Scale(domain=groups, range=[EFFORT_COLOURS[g] for g in groups]),
                legend=alt.Legend(orient="top", columns=2),
            ),
            tooltip=[
                alt.Tooltip("scenario:N", title="Scenario"),
                alt.Tooltip("effort:N", title="Effort"),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
                alt.Tooltip("person_days:Q", title="Person-days", format=",.0f"),
            ],
        )
    )
    text = (
        alt.Chart()
        .mark_text(color="white", fontWeight="bold", fontSize=12)
        .encode(y=y, x=alt.X("mid:Q"), text=alt.Text("label:N"))
    )
    return alt.layer(bars, text, data=frame).properties(
        height=46 * max(1, frame["scenario"].nunique()), autosize=FIT_WIDTH
    )


# --------------------------------------------------------------------------- organisation


def org_frames(
    model: OrgModel, max_ties: int = 1500, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Positions of people and ties for drawing an organisation (built, not run).

    Units sit on a grid; each unit's people fill a disc (a sunflower spiral, grouped by
    discipline), so a unit's size reads as its area. Returns (people, ties, units), in
    layout units where one person takes about one unit of area. Large organisations
    keep at most ``max_ties`` ties, cross-unit ties first (they carry the story).
    """
    units = model.units
    cols = max(1, math.ceil(math.sqrt(len(units))))
    radius = {u.name: math.sqrt(max(1, u.size) + 0.5) + 0.6 for u in units}
    cell = 2.0 * max(radius.values(), default=1.0) + 2.0  # room for the label
    golden = math.pi * (3 - math.sqrt(5))
    degree = dict(model.network.graph.degree())
    people_rows, unit_rows, position = [], [], {}
    for index, unit in enumerate(units):
        cx, cy = (index % cols) * cell, -(index // cols) * cell
        members = sorted(unit.members, key=lambda m: m.discipline)
        for i, person in enumerate(members):
            r = math.sqrt(i + 0.5)
            x, y = cx + r * math.cos(i * golden), cy + r * math.sin(i * golden)
            position[person] = (x, y)
            people_rows.append(
                {
                    "x": x,
                    "y": y,
                    "discipline": person.discipline,
                    "unit": unit.name,
                    "side": person.side,
                    "ties": degree.get(person, 0),
                }
            )
        unit_rows.append(
            {
                "x": cx,
                "y": cy,
                "label_y": cy + radius[unit.name] + 0.7,
                "radius": radius[unit.name],
                "unit": unit.name,
                "size": unit.size,
            }
        )
    within, across = [], []
    for a, b in model.network.graph.edges():
        (within if a.unit is b.unit else across).append((a, b))
    rng = np.random.default_rng(seed)
    keep_across = min(len(across), max_ties)
    keep_within = min(len(within), max_ties - keep_across)
    chosen = [
        (across[i], "across units")
        for i in sorted(rng.choice(len(across), keep_across, replace=False))
    ]
    chosen += [
        (within[i], "within a unit")
        for i in sorted(rng.choice(len(within), keep_within, replace=False))
    ]
    tie_rows = [
        {
            "x": position[a][0],
            "y": position[a][1],
            "x2": position[b][0],
            "y2": position[b][1],
            "tie": kind,
        }
        for (a, b), kind in chosen
    ]
    return (
        pd.DataFrame(people_rows),
        pd.DataFrame(tie_rows, columns=["x", "y", "x2", "y2", "tie"]),
        pd.DataFrame(unit_rows),
    )


def org_chart(
    people: pd.DataFrame,
    ties: pd.DataFrame,
    units: pd.DataFrame,
    width: int = 700,
    max_height: int = 640,
) -> alt.LayerChart:
    """People coloured by discipline, grouped by unit, with the ties between them.

    Drawn at a fixed width with equal scales on both axes, so units stay round.
    """
    colours = discipline_colours(list(dict.fromkeys(people["discipline"])))
    x0 = float((units["x"] - units["radius"]).min()) - 0.5
    x1 = float((units["x"] + units["radius"]).max()) + 0.5
    y0 = float((units["y"] - units["radius"]).min()) - 0.5
    y1 = float(units["label_y"].max()) + 1.0
    # pixels per layout unit, the same on both axes; tall layouts shrink to fit a screen
    px = min(width / max(1e-9, x1 - x0), max_height / max(1e-9, y1 - y0))
    width, height = round((x1 - x0) * px), round((y1 - y0) * px)
    axis = alt.Axis(title=None, labels=False, ticks=False, domain=False, grid=False)
    x = alt.X("x:Q", axis=axis, scale=alt.Scale(domain=[x0, x1], nice=False, zero=False))
    y = alt.Y("y:Q", axis=axis, scale=alt.Scale(domain=[y0, y1], nice=False, zero=False))
    discs = (
        alt.Chart(units.assign(area=(units["radius"] * px) ** 2 * math.pi))
        .mark_circle(color="#EEF1F5", opacity=1, stroke="#D5DAE1", strokeWidth=1)
        .encode(
            x=x,
            y=y,
            size=alt.Size("area:Q", scale=None, legend=None),
            tooltip=[alt.Tooltip("unit:N", title="Unit"), alt.Tooltip("size:Q", title="People")],
        )
    )
    lines = (
        alt.Chart(ties)
        .mark_rule()
        .encode(
            x=x,
            y=y,
            x2="x2:Q",
            y2="y2:Q",
            color=alt.Color(
                "tie:N",
                title="Ties",
                scale=alt.Scale(
                    domain=["within a unit", "across units"], range=["#B8C2CE", "#39424E"]
                ),
                legend=alt.Legend(orient="bottom"),
            ),
            opacity=alt.condition(
                alt.datum.tie == "across units", alt.value(0.55), alt.value(0.45)
            ),
            strokeWidth=alt.condition(
                alt.datum.tie == "across units", alt.value(1.0), alt.value(0.6)
            ),
        )
    )
    dot = max(8.0, min(170.0, 0.55 * px * px * math.pi / 4))  # about a person's share of area
    dots = (
        alt.Chart(people)
        .mark_circle(opacity=1, stroke="white", strokeWidth=0.8)
        .encode(
            x=x,
            y=y,
            size=alt.value(dot),
            color=alt.Color(
                "discipline:N",
                title="Discipline",
                scale=alt.Scale(domain=list(colours), range=list(colours.values())),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("unit:N", title="Unit"),
                alt.Tooltip("discipline:N", title="Discipline"),
                alt.Tooltip("side:N", title="Side"),
                alt.Tooltip("ties:Q", title="Ties"),
            ],
        )
    )
    labels = (
        alt.Chart(units)
        .mark_text(fontSize=13, fontWeight="bold", color="#1F2937")
        .encode(
            x=x,
            y=alt.Y(
                "label_y:Q", axis=axis, scale=alt.Scale(domain=[y0, y1], nice=False, zero=False)
            ),
            text="unit:N",
        )
    )
    return (
        alt.layer(discs, lines, dots, labels)
        # exactly this size: fitted to a column, x and y would scale apart and people
        # would leave their unit's circle
        .properties(width=width, height=max(120, height), autosize=NO_FIT)
        .resolve_scale(color="independent")
        .configure_view(stroke=None)
    )


# --------------------------------------------------------------------------- workshop


#: The states of work on the Workshop's unit charts, in stacking order.
WORKSHOP_STATES = ["Being worked on", "Waiting in a queue", "In handoff"]
WORKSHOP_ROW_PX = 22


def workshop_units_chart(frame: pd.DataFrame, x_max: float, rows: int = 0) -> alt.Chart:
    """Items at each unit right now: being worked on, and waiting. Big type for a room.

    No legend: the page shows one legend for every side (a legend per narrow chart
    was clipped). The height is in pixels, not a step per row, so Streamlit can fit
    the chart to its column without Vega dropping the fit; ``rows`` (the most units
    of any side) gives every side the same height, so their axes line up.
    """
    order = list(dict.fromkeys(frame["unit"]))
    return (
        alt.Chart(frame)
        .mark_bar(cornerRadiusEnd=2)
        .encode(
            y=alt.Y(
                "unit:N", title=None, sort=order, axis=alt.Axis(labelFontSize=16, labelLimit=200)
            ),
            x=alt.X(
                "items:Q",
                title="Items",
                scale=alt.Scale(domain=[0, max(5.0, x_max)]),
                axis=alt.Axis(labelFontSize=15, titleFontSize=16, tickMinStep=1),
            ),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(
                    domain=WORKSHOP_STATES, range=[STATE_COLOURS[s] for s in WORKSHOP_STATES]
                ),
                legend=None,
            ),
            order=alt.Order("order:Q", sort="ascending"),
            tooltip=[
                alt.Tooltip("unit:N", title="Unit"),
                alt.Tooltip("state:N", title="State"),
                alt.Tooltip("items:Q", title="Items"),
            ],
        )
        .properties(height=WORKSHOP_ROW_PX * max(1, rows, len(order)), autosize=FIT_WIDTH)
    )


def workshop_series_chart(
    history: pd.DataFrame,
    column: str,
    colours: Mapping[str, str],
    y_title: str,
    value_format: str = ".1f",
    domain: tuple[float, float] | None = None,
    days: int | None = None,
    height: int = 180,
) -> alt.Chart:
    """One line per side over the days so far, big type for a projector.

    ``days`` (the horizon) fixes the x axis, so the lines grow to the right rather than
    the axis rescaling every tick; without ``domain`` the y axis runs from 0 to the
    highest value so far. Both are set in numbers, so an empty history (day 0) draws
    empty axes without Vega warnings about infinite extents. No legend: the page names
    each side in its colour once for all charts.
    """
    frame = history[["side", "day", column]].dropna()
    top = float(frame[column].max()) if len(frame) else 1.0
    y_domain = list(domain) if domain else [0.0, max(1.0, top)]
    x_domain = [0, max(1, days or int(frame["day"].max() if len(frame) else 1))]
    return (
        alt.Chart(frame)
        .mark_line(strokeWidth=4)
        .encode(
            x=alt.X(
                "day:Q",
                title="Working day",
                scale=alt.Scale(domain=x_domain, nice=False),
                axis=alt.Axis(labelFontSize=15, titleFontSize=16),
            ),
            y=alt.Y(
                f"{column}:Q",
                title=y_title,
                scale=alt.Scale(domain=y_domain),
                axis=alt.Axis(labelFontSize=15, titleFontSize=16),
            ),
            color=alt.Color("side:N", title=None, scale=_scale(colours), legend=None),
            tooltip=[
                alt.Tooltip("side:N", title="Organisation"),
                alt.Tooltip("day:Q", title="Day"),
                alt.Tooltip(f"{column}:Q", title=y_title, format=value_format),
            ],
        )
        .properties(height=height, autosize=FIT_WIDTH)
    )


__all__ = [
    "DISCIPLINE_COLOURS",
    "EFFORT_COLOURS",
    "PATH_COLOURS",
    "STATE_COLOURS",
    "STRUCTURE_COLOURS",
    "WORKSHOP_STATES",
    "band_chart",
    "band_frame",
    "change_frame",
    "change_layers",
    "discipline_colours",
    "effort_chart",
    "effort_frame",
    "flow_chart",
    "flow_frame",
    "lead_time_chart",
    "lead_time_frame",
    "org_chart",
    "org_frames",
    "path_colours",
    "percentile_frame",
    "scenario_colours",
    "unit_frame",
    "unit_rows",
    "units_chart",
    "workshop_series_chart",
    "workshop_units_chart",
]
