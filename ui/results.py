"""Results: open a batch sweep's output and explore it.

A sweep directory (``python -m simulation sweep ... --out DIR``) is read with
simulation.running.batch; the statistics are simulation.analysis.sweep_stats and the charts
simulation.presentation.sweep_charts, the very functions of ``python -m simulation analyze``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from simulation.analysis.sweep_stats import (
    configuration_table,
    sensitivity,
    strongest_drivers,
)
from simulation.catalog import kpis as catalog
from simulation.inputs.scenario import ScenarioError
from simulation.presentation.charts import STRUCTURE_COLOURS
from simulation.presentation.sweep_charts import kpi_vs_parameter_chart, sensitivity_chart
from simulation.running.sweep_results import (
    Sweep,
    best_configuration,
    default_colour,
    default_x,
    filter_runs,
    find_sweeps,
    is_range_filter,
    kpi_columns,
    kpi_title,
    open_sweep,
    stamp,
    value_text,
)
from ui import common, why
from ui.robustness import study_panel
from ui.sensitivity import show_sensitivity

RESULTS_ROOT = common.results_root()
NO_COLOUR = "(none)"
MAX_PATH_CHARS = 500
#: The one answer for any path the page will not open: outside the results folder,
#: missing or not a sweep alike, so that a visitor learns nothing about the server.
NOT_OPENED = (
    "There is no sweep at {path} in the results folder (results/ beside the app, or the "
    f"folder {common.RESULTS_ROOT_ENV} names)."
)

common.page_header(
    "Results of a sweep",
    "Open the output of a batch sweep and explore it: any KPI against a parameter with "
    "its 95% confidence band, filtered by structure and by the other parameters, and "
    "which parameter moves which KPI most.",
)


@st.cache_data(show_spinner=False, max_entries=16)
def load_sweep(path: str, key: tuple) -> Sweep:
    """The sweep at ``path``, read again whenever ``key`` (its files' stamp) changes."""
    return open_sweep(path)


def shown_path(path: Path) -> str:
    """A sweep directory as the picker shows it: relative to the results root."""
    return common.shown_sweep(path, RESULTS_ROOT)


# --------------------------------------------------------------------------- choosing

found = [p for p in find_sweeps(RESULTS_ROOT) if common.sweep_dir(str(p), RESULTS_ROOT)]
if "rs_path" not in st.session_state:
    st.session_state["rs_path"] = st.query_params.get("sweep", "")[:MAX_PATH_CHARS]
with st.sidebar:
    st.subheader("Sweep", anchor=False)
    if found:
        options = [shown_path(p) for p in found]
        if st.session_state.get("rs_pick") not in options:
            st.session_state.pop("rs_pick", None)
        st.selectbox(
            "Sweeps in the results folder",
            options,
            key="rs_pick",
            help="Directories in the results folder that hold a sweep's manifest.json, "
            "newest first.",
        )
    else:
        st.caption(
            "No sweeps in the results folder yet: `python -m simulation sweep "
            "experiments/brm_count.yaml --out results/brm` makes one."
        )
    st.text_input(
        "Or open a directory",
        key="rs_path",
        max_chars=MAX_PATH_CHARS,
        placeholder="brm",
        help="A sweep's --out directory, inside the results folder (results/ beside the "
        f"app, or the folder {common.RESULTS_ROOT_ENV} names). Paths start there.",
    )
    st.button("Reload", icon=":material/refresh:", help="Read the directory again.")

typed = st.session_state.get("rs_path", "").strip()
chosen = typed or st.session_state.get("rs_pick") or ""
if not chosen:
    st.info(
        "Choose a sweep in the sidebar, or type the path of a sweep directory.",
        icon=":material/arrow_back:",
    )
    st.stop()

path = common.sweep_dir(chosen, RESULTS_ROOT)
if path is None:
    st.error(
        common.plain(NOT_OPENED.format(path=common.short_quote(chosen))),
        icon=":material/folder_off:",
    )
    st.stop()
try:
    sweep = load_sweep(str(path), stamp(path))
except ScenarioError as exc:  # a sweep's directory whose files are damaged
    st.error(
        common.plain(f"Cannot open this sweep. {shown_path(path)}: {exc.reason}"),
        icon=":material/folder_off:",
    )
    st.stop()
except Exception as exc:  # whatever else a damaged directory throws: one line, no traceback
    common.log_unexpected(exc)
    st.error(
        common.plain(f"Cannot open this sweep. {shown_path(path)}: its files cannot be read."),
        icon=":material/folder_off:",
    )
    st.stop()
if st.query_params.get("sweep") != chosen:
    st.query_params.from_dict({"sweep": chosen})
if show_sensitivity(sweep):  # a sensitivity study has its own view (ui/sensitivity.py)
    st.stop()

# --------------------------------------------------------------------------- overview

experiment = sweep.experiment
st.subheader(sweep.name, anchor=False)
about = [
    f"`{shown_path(sweep.path)}`",
    f"{experiment.get('design', '?')} design",
    f"seed {experiment.get('seed', '?')}",
]
if sweep.manifest.get("finished"):
    about.append(f"finished {str(sweep.manifest['finished'])[:16].replace('T', ' ')} UTC")
st.caption(
    " · ".join(about)
    + (f"  \n{experiment['description']}" if experiment.get("description") else "")
)

if (experiment.get("study") or {}).get("kind") == "explain":  # issue 13: an explain study
    why.study_view(experiment, sweep.results)
    st.stop()

ok = sweep.ok
configurations = (
    ok.groupby(sweep.parameters, dropna=False).ngroups if sweep.parameters and len(ok) else 0
)
cols = st.columns(5)
cols[0].metric(
    "Runs",
    f"{sweep.runs_done:,}" + ("" if sweep.complete else f" of {sweep.runs_total:,}"),
    help="Runs written to the directory (of those the experiment plans).",
)
cols[1].metric("Configurations", f"{configurations:,}", help="Distinct parameter settings.")
cols[2].metric("Replicates", str(experiment.get("replicates", "?")), help="Runs per setting.")
cols[3].metric(
    "Errors",
    f"{sweep.errors:,}",
    help="Runs that raised; they are left out of every statistic.",
)
cols[4].metric("Status", sweep.status.capitalize())

if not sweep.complete:
    st.warning(
        f"This sweep is {sweep.status}: showing the {sweep.runs_done:,} of "
        f"{sweep.runs_total:,} runs written so far. Finish it with "
        "`python -m simulation sweep EXPERIMENT.yaml --out "
        f"{shown_path(sweep.path)} --resume`.",
        icon=":material/hourglass_top:",
    )
if sweep.errors:
    with st.expander(f"{sweep.errors} runs failed"):
        failed = sweep.results[sweep.results["status"] == "error"]
        st.dataframe(
            failed[["run_id", *sweep.parameters, "seed", "error"]],
            hide_index=True,
            width="stretch",
        )
# robustness (issue 13): a robustness study shows who wins where instead of sweep charts
if study_panel(sweep.path, stamp(path), experiment):
    st.stop()
if ok.empty:
    st.info("No run has finished without an error yet: nothing to plot.", icon=":material/info:")
    st.stop()
if not sweep.parameters:
    st.info(
        "This sweep varies no parameter: every run is the same configuration.",
        icon=":material/info:",
    )

# --------------------------------------------------------------------------- filters

filters: dict[str, Any] = {}
with st.sidebar:
    st.subheader("Filter runs", anchor=False)
    structures = sorted(ok["structure"].dropna().astype(str).unique()) if "structure" in ok else []
    if len(structures) > 1:
        key = "rs_f|structure"
        if any(v not in structures for v in st.session_state.get(key, [])):
            st.session_state.pop(key, None)
        filters["structure"] = (
            st.multiselect("Structure", structures, default=structures, key=key) or structures
        )
    elif structures:
        st.caption(f"Every run: **{structures[0]}** structure.")
    for parameter in [p for p in sweep.parameters if p != "structure"]:
        values = ok[parameter]
        if values.nunique() <= 1:
            continue
        key = f"rs_f|{parameter}"
        if is_range_filter(values):
            low, high = float(values.min()), float(values.max())
            if not isinstance(st.session_state.get(key), tuple):
                st.session_state.pop(key, None)
            filters[parameter] = st.slider(parameter, low, high, (low, high), key=key)
        else:
            options = sorted(values.dropna().unique().tolist())
            if any(v not in options for v in st.session_state.get(key, [])):
                st.session_state.pop(key, None)
            filters[parameter] = (
                st.multiselect(parameter, options, default=options, key=key, format_func=value_text)
                or options
            )

runs = filter_runs(ok, filters)
shown = len(runs)
if not shown:
    st.info(
        "No run passes these filters: widen them in the sidebar.", icon=":material/filter_alt_off:"
    )
    st.stop()
if shown < len(ok):
    st.caption(f"{shown:,} of {len(ok):,} runs pass the filters.")

# --------------------------------------------------------------------------- KPI chart

kpis = kpi_columns(ok, sweep.parameters)
varied = [p for p in sweep.parameters if runs[p].nunique() > 1]
picks = st.columns([1.4, 1, 1])


def pick(column, label: str, options: list[str], key: str, default: str, **kwargs) -> str:
    """A selectbox whose remembered choice falls back to ``default`` once not an option."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default
    return column.selectbox(label, options, key=key, **kwargs)


kpi = pick(picks[0], "KPI", kpis, "rs_kpi", kpis[0] if kpis else "", format_func=kpi_title)
x_options = sweep.parameters or ["(none)"]
x = pick(picks[1], "Along", x_options, "rs_x", default_x(runs, sweep.parameters) or x_options[0])
colour_options = [NO_COLOUR, *[p for p in sweep.parameters if p != x]]
colour_default = default_colour(runs, sweep.parameters, x) or NO_COLOUR
colour_pick = pick(picks[2], "Colour by", colour_options, "rs_colour", colour_default)
colour = None if colour_pick == NO_COLOUR else colour_pick

if not sweep.parameters:
    st.stop()
group = [x] + ([colour] if colour else [])
table = configuration_table(runs, group, [kpi])
pooled = [p for p in varied if p not in group]

chart_col, note_col = st.columns([2.2, 1], gap="large")
with chart_col:
    chart = kpi_vs_parameter_chart(table, kpi, x, colour)
    # the app's look on the analyze command's chart: structures in their colours, a
    # legend that reads at a glance, whole numbers on an axis of whole numbers
    whole = pd.api.types.is_numeric_dtype(table[x]) and (table[x] % 1 == 0).all()
    for layer in chart.layer:
        if whole:
            layer.encoding.x.axis = alt.Axis(tickMinStep=1, format="d")
        if colour:
            layer.encoding.color.legend = alt.Legend(
                orient="top", symbolOpacity=1, symbolStrokeWidth=3, labelLimit=260
            )
        if colour == "structure":
            values = [v for v in STRUCTURE_COLOURS if v in set(table["structure"].astype(str))]
            layer.encoding.color.scale = alt.Scale(
                domain=values, range=[STRUCTURE_COLOURS[v] for v in values]
            )
    st.altair_chart(chart.properties(width="container", height=420, title=""), width="stretch")
    caption = (
        "Mean over the runs of each setting, with its 95% confidence interval "
        f"({'shaded band' if pd.api.types.is_numeric_dtype(table[x]) else 'error bars'})."
    )
    if pooled:
        caption += (
            f" Pooled over {', '.join(pooled)}: filter to one value each to see single "
            "configurations."
        )
    st.caption(caption)

with note_col, st.container(border=True):
    st.markdown("#### What the sweep says")
    best = best_configuration(configuration_table(runs, varied or group, [kpi]), kpi)
    shares = catalog.percent_kpis()
    scale = 100.0 if kpi in shares else 1.0
    unit = "%" if kpi in shares else f" {catalog.unit(kpi)}".rstrip()
    if best is not None:
        row = best["row"]
        setting = ", ".join(f"{p} = {value_text(row[p])}" for p in (varied or group))
        word = "highest" if best["higher_is_better"] else "lowest"
        st.markdown(
            f"Best {kpi_title(kpi).split(' (')[0].lower()} ({word}): "
            f"**{row[kpi] * scale:.3g}{unit}** "
            f"(95% CI {row[kpi + '_ci_low'] * scale:.3g} to {row[kpi + '_ci_high'] * scale:.3g}) "
            f"at **{setting}**, over {int(row['runs'])} runs."
        )
    src = (
        sensitivity(runs, varied, [k for k in catalog.sweep_kpis() if k in runs])
        if varied
        else None
    )
    if src is not None and not src.empty and kpi in src.index:
        drivers = strongest_drivers(src)
        driver = drivers[kpi]
        st.markdown(
            f"Strongest driver: **{driver.replace('=', ' = ')}** (standardised coefficient "
            f"{src.loc[kpi, driver]:+.2f}; the parameters explain "
            f"{100 * src.loc[kpi, 'r2']:.0f}% of its variation, R²)."
        )
    st.caption(f"{shown:,} runs, {len(table):,} points on the chart.")

# --------------------------------------------------------------------------- sensitivity

st.markdown("#### Which parameter moves which KPI")
if src is None or src.empty:
    st.info(
        "Sensitivity needs at least one parameter that varies across the selected runs "
        "(and more runs than parameters).",
        icon=":material/info:",
    )
else:
    st.caption(
        "Standardised regression coefficients (SRC): the change in a KPI, in standard "
        "deviations, for one standard deviation of the parameter, the others held fixed. "
        "Blue raises the KPI, red lowers it; the closer to ±1, the stronger."
    )
    heatmap = sensitivity_chart(src)
    for layer in heatmap.layer:  # the chart is wide here: parameter names read level, whole
        layer.encoding.x.axis = alt.Axis(labelAngle=0, labelLimit=320, labelFontSize=12)
    # Streamlit fits the whole chart (axes, legend) into the height: room for the labels
    st.altair_chart(
        heatmap.properties(title="", height=34 * len(src) + 90, width="container"),
        width="stretch",
    )

# --------------------------------------------------------------------------- table

st.markdown("#### Every configuration")
columns = [k for k in dict.fromkeys([kpi, *catalog.sweep_kpis()]) if k in runs]
full = configuration_table(runs, sweep.parameters, columns)
view = full[[*sweep.parameters, "runs"]].copy()
for k in columns:
    factor = 100.0 if k in catalog.percent_kpis() else 1.0
    view[kpi_title(k)] = full[k] * factor
    if k == kpi:
        view[f"{kpi_title(k)}: 95% CI from"] = full[f"{k}_ci_low"] * factor
        view[f"{kpi_title(k)}: to"] = full[f"{k}_ci_high"] * factor
st.dataframe(
    view,
    hide_index=True,
    width="stretch",
    column_config={
        c: st.column_config.NumberColumn(c, format="%.3g")
        for c in view.columns
        if c not in sweep.parameters and c != "runs"
    },
)
d1, d2 = st.columns(2)
d1.download_button(
    "Download the configurations (CSV)",
    full.to_csv(index=False),
    file_name=f"{sweep.path.name}-configurations.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
    width="stretch",
    help="Mean and 95% CI of each KPI per configuration, for the filtered runs.",
)
d2.download_button(
    "Download the filtered runs (CSV)",
    runs.to_csv(index=False),
    file_name=f"{sweep.path.name}-runs.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
    width="stretch",
)
