"""Transition: design a path of changes (or a PDCA policy) and compare it with the
ready-made big bang, stepwise and PDCA paths.

Path names come from users: HTML-escaped in HTML, Markdown-escaped (common.plain) in
Markdown.
"""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd
import streamlit as st

from simulation.analysis.differences import unique_names
from simulation.analysis.digest import RunDigest
from simulation.analysis.transition_outcomes import (
    PHASE_KPIS,
    card,
    decision_log,
    decision_summary,
    kpi_table,
    phase_summary,
    sentences,
)
from simulation.catalog.kpis import label, pdca_targets, transition_cards
from simulation.catalog.levers import Lever, change_levers, lever
from simulation.inputs.scenario import Scenario, ScenarioError
from simulation.presentation.charts import path_colours
from simulation.presentation.transition_table import (
    CHANGE_COLUMNS,
    EXAMPLE_CHANGES,
    PDCA_PATHS,
    ROW_STRUCTURES,
    change_rows,
    design_transition,
    empty_changes,
    is_transition,
    pdca_from_form,
    pdca_rows,
)
from ui import common, figures, runner

READY_PATHS = ["transition_big_bang", "transition_stepwise", "pdca"]
MAX_OTHERS = 3
RESULT = "tr_result"
DEFAULT_HORIZON = 300  # the ready-made paths' horizon: designs compare with them day by day
DEFAULT_CHANGE_MANAGEMENT = 0.5  # as in the ready-made paths

common.page_header(
    "Design a transition",
    "No organisation moves from silos to cross-functional teams overnight. Plan the "
    "changes day by day, or let a Plan-Do-Check-Act policy find them, and compare your "
    "path with a big bang, a stepwise path and PDCA: how far delivery dips after each "
    "change, how soon it recovers, and what the transition costs.",
)
lib = common.library()
keys = list(lib)


# --------------------------------------------------------------------------- state


def reset_design() -> None:
    """A new starting organisation: its own changes and policy, or the example path."""
    for key in [
        "tr_rows",
        "tr_last",
        "tr_changes",
        "tr_pdca_rows",
        "tr_pdca_last",
        "tr_pdca_levers",
        "tr_pdca_on",
        "tr_every",
        "tr_settle",
        "tr_target",
        "tr_cm",
        "tr_horizon",
    ]:
        st.session_state.pop(key, None)


def editor_data(rows_key: str, last_key: str, widget_key: str, initial: pd.DataFrame):
    """The table an editor starts from. While the editor is on screen its edits are
    relative to that table, so it stays fixed; when the user comes back from another
    page (Streamlit has forgotten the editor), it starts from the last edited table."""
    if widget_key not in st.session_state or rows_key not in st.session_state:
        last = st.session_state.get(last_key)
        st.session_state[rows_key] = last if last is not None else initial
    return st.session_state[rows_key]


def initial_changes(base: Scenario) -> pd.DataFrame:
    """The table of changes to start from: the base scenario's own, or an example."""
    if base.changes:
        return change_rows(base.changes)
    return empty_changes([dict(row) for row in EXAMPLE_CHANGES])


def lever_column(entry: Lever) -> Any:
    """The column of the table of changes that sets a lever, drawn from its catalog
    entry: a number within its range, a choice, or a tick box."""
    title, tip = entry.title, entry.help or None
    if entry.kind == "choice":
        options = ROW_STRUCTURES if entry.key == "structure" else entry.options
        return st.column_config.SelectboxColumn(title, options=list(options), help=tip)
    if entry.kind == "toggle":
        return st.column_config.CheckboxColumn(title, help=tip)
    if entry.kind == "int":
        return st.column_config.NumberColumn(
            title, min_value=int(entry.low), step=int(entry.step), format="%d", help=tip
        )
    if entry.is_share:
        return st.column_config.NumberColumn(
            title, min_value=0.0, max_value=1.0, step=entry.step, format="%.2f", help=tip
        )
    # Counts per period are open above: the sidebar's slider range is only a suggestion.
    return st.column_config.NumberColumn(
        title, min_value=float(entry.low), step=float(entry.step), help=tip
    )


def send_to_compare(yaml_text: str, others: list[str]) -> None:
    """Add the designed path to the library and make Compare show it first, with the
    paths it is compared with here (four at most).
    """
    key = common.add_to_library(Scenario.from_yaml(yaml_text), "design")
    st.session_state[common.SELECTION] = [key, *[k for k in others if k != key]][:4]
    st.session_state.pop("cmp_select", None)
    st.session_state["tr_sent"] = lib[key].label


# --------------------------------------------------------------------------- sidebar

with st.sidebar:
    st.subheader("Compare with", anchor=False)
    if "tr_compare" not in st.session_state:
        st.session_state["tr_compare"] = [k for k in READY_PATHS if k in lib]
    others = st.multiselect(
        "Paths to compare your design with",
        keys,
        format_func=lambda k: lib[k].label,
        max_selections=MAX_OTHERS,
        key="tr_compare",
        help="The ready-made paths start from the same siloed organisation as the default "
        "design; any scenario of the library can be compared (levers set on Compare apply).",
    )
    st.subheader("Runs", anchor=False)
    st.session_state.setdefault("tr_reps", 10)
    st.session_state.setdefault("tr_seed", 1)
    replicates = st.slider(
        "Replicates per path",
        1,
        30,
        key="tr_reps",
        help="Runs per path; replicate i of every path uses seed + i, so paths that start "
        "alike run alike until their first change.",
    )
    seed = int(st.number_input("First seed", min_value=0, step=1, key="tr_seed"))
    run_clicked = st.button(
        "Run the paths", type="primary", width="stretch", icon=":material/play_arrow:"
    )

# --------------------------------------------------------------------------- design

st.subheader("Your path", anchor=False)
if "tr_base" not in st.session_state or st.session_state["tr_base"] not in lib:
    st.session_state["tr_base"] = "siloed" if "siloed" in lib else keys[0]
top = st.columns([1.3, 1.3, 0.8, 1.2], gap="medium")
base_key = top[0].selectbox(
    "Start from",
    keys,
    format_func=lambda k: lib[k].label,
    key="tr_base",
    on_change=reset_design,
    help="The organisation on day 0. A scenario with changes of its own brings them along.",
)
try:
    base = common.effective(base_key)
except ScenarioError as exc:
    st.error(
        common.plain(f"{lib[base_key].label} cannot run with its levers: {exc}"),
        icon=":material/error:",
    )
    st.stop()
transitional = is_transition(base)
st.session_state.setdefault("tr_name", "Your path")
st.session_state.setdefault(
    "tr_horizon", base.horizon_days if transitional else max(DEFAULT_HORIZON, base.warmup_days + 1)
)
st.session_state.setdefault(
    "tr_cm", base.levers.change_management if transitional else DEFAULT_CHANGE_MANAGEMENT
)
name = top[1].text_input("Name", key="tr_name", max_chars=60)
horizon = int(
    top[2].number_input(
        "Working days",
        min_value=base.warmup_days + 1,
        max_value=2000,
        step=10,
        key="tr_horizon",
        help="How long to simulate (the ready-made paths run 300 days).",
    )
)
CHANGE_MANAGEMENT = lever("change_management")
change_management = top[3].slider(
    CHANGE_MANAGEMENT.label,
    CHANGE_MANAGEMENT.low,
    CHANGE_MANAGEMENT.high,
    step=CHANGE_MANAGEMENT.step,
    key="tr_cm",
    help=CHANGE_MANAGEMENT.help,
)

st.markdown("**Changes**")
st.caption(
    "One row per change; an empty cell changes nothing. Structure moves everyone into "
    "departments (siloed, aligned) or cross-functional teams (converged); headcount hires "
    "or lets go per discipline, written `dev=30, ops=12`. Add rows at the bottom of the table."
)
rows = editor_data("tr_rows", "tr_last", "tr_changes", initial_changes(base))
number = st.column_config.NumberColumn
edited = st.data_editor(
    rows,
    key="tr_changes",
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    placeholder="",
    column_config={
        "day": number(CHANGE_COLUMNS["day"][1], min_value=1, step=1, format="%d", required=True),
        "label": st.column_config.TextColumn(
            CHANGE_COLUMNS["label"][1], max_chars=60, width="medium"
        ),
        **{entry.column: lever_column(entry) for entry in change_levers() if entry.column},
        "headcount": st.column_config.TextColumn(
            CHANGE_COLUMNS["headcount"][1], help="New headcount per discipline: dev=30, ops=12"
        ),
    },
)
st.session_state["tr_last"] = edited

with st.container(border=True):
    if "tr_pdca_on" not in st.session_state:
        st.session_state["tr_pdca_on"] = base.pdca.enabled
    pdca_on = st.toggle(
        "Improve with a PDCA policy as well",
        key="tr_pdca_on",
        help="Plan-Do-Check-Act: every few weeks, try one lever, check the target KPI "
        "against the period before, keep the change if it helped beyond noise, else revert.",
    )
    pdca: dict[str, Any] = {"enabled": False}
    if pdca_on:
        st.session_state.setdefault("tr_every", base.pdca.every_days)
        st.session_state.setdefault("tr_settle", base.pdca.settle_days)
        st.session_state.setdefault("tr_target", base.pdca.target)
        form = st.columns([1, 1, 1.6])
        every = form[0].number_input(
            "Check every (days)", min_value=5, max_value=250, step=5, key="tr_every"
        )
        settle = form[1].number_input(
            "Settle for (days)",
            min_value=0,
            max_value=245,
            step=1,
            key="tr_settle",
            help="Days after a trial change before the KPI counts (work in flight).",
        )
        target = form[2].selectbox(
            "Target KPI",
            list(pdca_targets()),
            key="tr_target",
            format_func=label,
        )
        st.caption(
            "Levers the policy tries, in turn: the scenario field, the step of one trial "
            "(negative to lower it) and the bounds it stays within."
        )
        lever_rows = editor_data(
            "tr_pdca_rows", "tr_pdca_last", "tr_pdca_levers", pdca_rows(base.pdca)
        )
        levers = st.data_editor(
            lever_rows,
            key="tr_pdca_levers",
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            placeholder="",
            column_config={
                "path": st.column_config.SelectboxColumn(
                    "Lever", options=list(PDCA_PATHS), required=True, width="medium"
                ),
                "step": number("Step", format="%.2f", required=True),
                "min": number("At least", format="%.2f"),
                "max": number("At most", format="%.2f"),
            },
        )
        st.session_state["tr_pdca_last"] = levers
        pdca = pdca_from_form(True, int(every), int(settle), str(target), levers)

try:
    design = design_transition(
        base,
        edited,
        pdca,
        name=name.strip() or "Your path",
        horizon_days=horizon,
        change_management=float(change_management),
    )
except ScenarioError as exc:
    st.error(f"This path cannot run: {exc}", icon=":material/error:")
    st.stop()

design_yaml = design.to_yaml()
actions = st.columns([1, 1, 2.4])
actions[0].download_button(
    "Download as YAML",
    design_yaml,
    file_name=f"{''.join(c if c.isalnum() else '-' for c in design.name.lower()).strip('-')}.yaml",
    mime="application/x-yaml",
    on_click="ignore",
    icon=":material/download:",
    width="stretch",
    help="The designed scenario, in the format `python -m simulation` reads.",
)
actions[1].button(
    "Send to Compare",
    on_click=send_to_compare,
    args=(design_yaml, others),
    icon=":material/compare_arrows:",
    width="stretch",
    help="Opens your path with the paths compared here on the Compare page.",
)
if st.session_state.get("tr_sent"):
    with actions[2]:
        st.success(
            common.plain(f"'{st.session_state['tr_sent']}' is on the Compare page."),
            icon=":material/check_circle:",
        )
        st.page_link("ui/compare.py", label="Go to Compare", icon=":material/arrow_forward:")

# --------------------------------------------------------------------------- running

problems = []
texts = [design_yaml]
scenarios = [design]
for key in others:
    try:
        texts.append(common.effective_yaml(key))
        scenarios.append(common.effective(key))
    except ScenarioError as exc:
        problems.append(common.plain(f"{lib[key].label} cannot run with its levers: {exc}"))
for problem in problems:
    st.error(problem, icon=":material/error:")
if problems:
    st.stop()

names = unique_names([s.name for s in scenarios])
jobs = runner.replicate_jobs(texts, seed, replicates)
signature = tuple(jobs)


result = runner.results(RESULT, jobs, len(names), run_clicked, names=names)
st.divider()
stale_note = st.empty()  # a slot either way, so that what follows keeps its place
if result["signature"] != signature:
    stale_note.info(
        "You changed the path, the paths compared or the runs since these results. "
        "Press **Run the paths** to update them.",
        icon=":material/update:",
    )
names = result["names"]
digests: list[list[RunDigest]] = result["digests"]
kpis = [[d.kpis for d in ds] for ds in digests]
runs = dict(zip(names, digests, strict=True))
colours = path_colours(names)

# --------------------------------------------------------------------------- scorecards

st.subheader("How the paths compare", anchor=False)
n_runs = len(digests[0])
st.caption(
    f"{'Mean of ' + str(n_runs) + ' runs' if n_runs > 1 else 'One run'} per path over "
    f"{digests[0][0].horizon} working days; changes are against {common.plain(names[0])}, "
    f"green is better. {result['runs']} runs in {result['seconds']:.1f} s "
    f"({result['cached']} from cache)."
)
for i, column in enumerate(st.columns(len(names), gap="medium")):
    with column.container(border=True):
        detail = "your design" if i == 0 else f"vs {escape(names[0])}"
        st.markdown(
            common.scenario_chip(names[i], colours[names[i]])
            + f'<div class="cv-chip-detail">{detail}</div>',
            unsafe_allow_html=True,
        )
        for key in [entry.key for entry in transition_cards()]:
            c = card(key, kpis[0] if i else None, kpis[i])
            st.metric(
                c["label"],
                c["value"],
                c["delta"] if i else "your path",
                delta_color=c["delta_color"] if i else "off",
                delta_arrow="auto" if i and c["delta"] not in (None, "no change") else "off",
                help=c["help"],
            )

with st.container(border=True):
    st.markdown("#### What the paths say")
    lines = sentences([common.plain(name) for name in names], kpis)
    st.markdown("\n".join(f"- {line}" for line in lines) or "No path changes over time.")
    st.caption(
        "Lead time is the mean of the items delivered in the 20 days before a day; "
        "'back at its old level' counts the days from the first change until it is as "
        "short as in the 40 days before it."
    )

# --------------------------------------------------------------------------- charts

specs = figures.transition_specs(result["signature"], tuple(names), _digests=digests)
st.markdown("#### Lead time over time")
st.caption(
    "Mean lead time of the items delivered in the last 20 days, mean across runs with "
    "its 95% band. Dashed lines: scheduled changes; dotted: PDCA trials (hover for what "
    "changed)."
)
st.vega_lite_chart(spec=specs["lead_over_time"], width="stretch")
left, right = st.columns(2, gap="large")
with left:
    st.markdown("#### Productivity: the J-curve")
    st.caption(
        "Share of normal working capacity: after a change people learn new teams and ways "
        "of working, then recover."
    )
    st.vega_lite_chart(spec=specs["productivity"], width="stretch")
with right:
    st.markdown("#### Customer experience over time")
    st.caption("CX index (0-100, trailing 30 days): mean across runs, shaded 95% band.")
    st.vega_lite_chart(spec=specs["cx"], width="stretch")

# --------------------------------------------------------------------------- phases

st.markdown("#### Before, during and after each change")
phases = phase_summary(runs)
if phases.empty:
    st.info("None of these paths has scheduled changes.", icon=":material/info:")
else:
    st.caption(
        "Before: the 40 days before a change; after: the last 40 days before the next "
        "change (or the end); during: the time between. Mean across runs."
    )
    view = pd.DataFrame(
        {
            "Path": phases["path"],
            "Change": [
                f"Day {d:g}: {label}"
                for d, label in zip(phases["change_day"], phases["change"], strict=True)
            ],
            "Phase": phases["phase"].astype(str),
            "Days": [
                f"{a:g}–{b:g}" for a, b in zip(phases["from_day"], phases["to_day"], strict=True)
            ],
            **{PHASE_KPIS[k][0]: phases[k] for k in PHASE_KPIS},
        }
    )
    view["Change failures"] = 100 * view["Change failures"]
    st.dataframe(
        view,
        hide_index=True,
        width="stretch",
        height=min(36 * (len(view) + 1) + 4, 640),  # every row in sight, up to a screen
        column_config={
            "Lead time": st.column_config.NumberColumn(format="%.1f days"),
            "Throughput": st.column_config.NumberColumn(format="%.1f /week"),
            "CX index": st.column_config.NumberColumn(format="%.0f"),
            "Change failures": st.column_config.NumberColumn(format="%.0f%%"),
            "Items": st.column_config.NumberColumn(
                format="%.0f", help="Items delivered in the phase (mean across runs)."
            ),
        },
    )

# --------------------------------------------------------------------------- PDCA

decisions = decision_summary(runs)
if not decisions.empty:
    st.markdown("#### PDCA decisions")
    st.caption(
        "Each trial: the lever tried, when, and in how many runs the policy kept it "
        "(the target KPI improved beyond noise and the minimum effect) rather than "
        "reverting it. Before and after: the target KPI before and during the trial."
    )
    st.dataframe(
        pd.DataFrame(
            {
                "Path": decisions["path"],
                "Trial": [
                    f"days {a:g}–{b:g}"
                    for a, b in zip(decisions["tried_on"], decisions["day"], strict=True)
                ],
                "Lever": decisions["lever"],
                "Change": decisions["change"],
                "Kept": decisions["kept_share"],
                "Kept in": [
                    f"{k} of {n} runs"
                    for k, n in zip(decisions["kept"], decisions["runs"], strict=True)
                ],
                "Target": [label(k) for k in decisions["kpi"]],
                "Before": decisions["before"],
                "After": decisions["after"],
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "Kept": st.column_config.ProgressColumn(
                "Kept", min_value=0.0, max_value=1.0, format="percent"
            ),
            "Before": st.column_config.NumberColumn(format="%.2f"),
            "After": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    with st.expander("The decision log of one run, with its reasons"):
        pdca_paths = [n for n in names if n in set(decisions["path"])]
        pick = st.columns([1.5, 1])
        path = pick[0].selectbox("Path", pdca_paths, key="tr_log_path")
        replicate = int(
            pick[1].number_input(
                "Run", min_value=1, max_value=len(runs[path]), step=1, key="tr_log_run"
            )
        )
        log = decision_log(runs[path][replicate - 1])
        st.dataframe(
            log.rename(
                columns={
                    "tried_on": "Tried on day",
                    "day": "Judged on day",
                    "lever": "Lever",
                    "change": "Change",
                    "decision": "Decision",
                    "reason": "Reason",
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "Tried on day": st.column_config.NumberColumn(format="%d"),
                "Judged on day": st.column_config.NumberColumn(format="%d"),
            },
        )

# --------------------------------------------------------------------------- details

with st.expander("Transition KPIs with 95% confidence intervals"):
    st.dataframe(kpi_table(names, kpis), hide_index=True, width="stretch")
    st.download_button(
        "Download the phases (CSV)",
        phases.to_csv(index=False),
        file_name="converge-transition-phases.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )
