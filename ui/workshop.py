"""Workshop: two or three structures run side by side, live, for a room to watch.

Laid out for a projector at 1920x1080: every chart above the fold, one legend for all
of them, and names in the organisations' colours. Names come from users (uploads,
designs): they are HTML-escaped wherever they go into HTML.
"""

from __future__ import annotations

import math
from html import escape

import pandas as pd
import streamlit as st

from simulation.analysis.differences import unique_names
from simulation.analysis.steady_state import live_overload_note
from simulation.inputs.scenario import ScenarioError
from simulation.presentation import charts
from simulation.running.live import LEAD_TIME_WINDOW, Workshop
from ui import common

TICK_SECONDS = 0.5
SPEEDS = {"2 days/s": 1, "4 days/s": 2, "10 days/s": 5, "20 days/s": 10}  # days per tick
STATE = "workshop"

common.page_header(
    "Workshop: silos and convergence, live",
    "The same people, demand and random seed; only the structure differs. Press play and "
    "watch where work piles up, how long customers wait and how they feel about it.",
)
# tighter than the other pages: a room sees the whole page without scrolling
st.html(
    "<style>.stMainBlockContainer { padding-top: 2.5rem; }"
    ".cv-big { font-size: 2.5rem; }"
    ".cv-side-title { font-size: 1.6rem; margin: 0 0 .3rem 0; white-space: nowrap;"
    " overflow: hidden; text-overflow: ellipsis; }"
    ".cv-legend { display: flex; flex-wrap: wrap; gap: .3rem 1.4rem; font-size: 1.05rem;"
    " color: #374151; margin: .2rem 0 .4rem 0; align-items: center; }"
    ".cv-legend span { display: inline-flex; align-items: center; gap: .4rem; }"
    ".cv-key { width: 1rem; height: 1rem; border-radius: .15rem; display: inline-block; }"
    ".cv-line { width: 1.6rem; height: .3rem; border-radius: .15rem; display: inline-block; }"
    "</style>"
)
lib = common.library()

with st.sidebar:
    st.subheader("Set up", anchor=False)
    if "ws_pick" not in st.session_state:
        st.session_state["ws_pick"] = [k for k in ("siloed", "converged") if k in lib]
    picked = st.multiselect(
        "Organisations side by side",
        list(lib),
        max_selections=3,
        format_func=lambda k: lib[k].label,
        key="ws_pick",
        help="Two or three. Levers you set on Compare apply here too.",
    )
    st.session_state.setdefault("ws_seed", 1)
    st.session_state.setdefault("ws_days", 250)
    seed = int(st.number_input("Seed", min_value=0, step=1, key="ws_seed"))
    days = int(st.slider("Working days to run", 20, 500, step=10, key="ws_days"))

if not picked:
    st.info("Pick two or three organisations in the sidebar.", icon=":material/arrow_back:")
    st.stop()

try:
    scenarios = [common.effective(k) for k in picked]
except ScenarioError as exc:
    st.error(f"One of these organisations cannot run: {exc}", icon=":material/error:")
    st.stop()
names = unique_names([s.name for s in scenarios])
colours = common.colours_for(names, [s.structure for s in scenarios])
if any(s.work_types != scenarios[0].work_types for s in scenarios[1:]):
    st.warning(
        "These organisations face different demand, so the difference is not only the structure.",
        icon=":material/warning:",
    )

signature = (tuple(s.to_yaml() for s in scenarios), seed, days)
if st.session_state.get(STATE) is None or st.session_state.get("ws_signature") != signature:
    st.session_state[STATE] = Workshop(scenarios, names, seed=seed, days=days)
    st.session_state["ws_signature"] = signature
    st.session_state["ws_playing"] = False


# --------------------------------------------------------------------------- controls


def toggle_play() -> None:
    """Play or pause the workshop."""
    st.session_state["ws_playing"] = not st.session_state.get("ws_playing", False)


def step_once() -> None:
    """Pause and advance every organisation by one working day."""
    st.session_state["ws_playing"] = False
    st.session_state[STATE].step(1)


def restart() -> None:
    """Drop the running workshop, so the next run starts a new one from the settings."""
    st.session_state[STATE] = None
    st.session_state["ws_playing"] = False


workshop: Workshop = st.session_state[STATE]
playing = bool(st.session_state.get("ws_playing")) and not workshop.finished
with st.container(horizontal=True, vertical_alignment="center", gap="small"):
    st.button(
        "Pause" if playing else "Play",
        on_click=toggle_play,
        type="primary",
        icon=":material/pause:" if playing else ":material/play_arrow:",
        disabled=workshop.finished,
        key="ws_play",
    )
    st.button(
        "Step one day",
        on_click=step_once,
        icon=":material/skip_next:",
        disabled=workshop.finished,
        key="ws_step",
    )
    st.button("Restart", on_click=restart, icon=":material/replay:", key="ws_restart")
    st.session_state.setdefault("ws_speed", "4 days/s")
    st.segmented_control("Speed", list(SPEEDS), key="ws_speed", label_visibility="collapsed")


# --------------------------------------------------------------------------- live view


def big_numbers(snap: dict) -> str:
    """HTML for a side's headline numbers of a snapshot (en dash: not measured yet)."""

    def fmt(value: float, pattern: str) -> str:
        return (
            "–"
            if value is None or (isinstance(value, float) and math.isnan(value))
            else pattern.format(value)
        )

    cells = [
        (
            "Lead time",
            fmt(snap["lead_time"], "{:.1f} d"),
            f"mean of items delivered in the last {LEAD_TIME_WINDOW} days",
        ),
        ("CX index", fmt(snap["cx_index"], "{:.0f}"), "customer experience, 0-100"),
        ("Open items", f"{snap['wip']:,}", "waiting, in progress or in handoff"),
        ("Delivered", f"{snap['new_work_delivered']:,}", DELIVERED_MEANS),
    ]
    html = "".join(
        f'<div title="{tip}"><div class="cv-big-label">{label}</div>'
        f'<div class="cv-big">{value}</div></div>'
        for label, value, tip in cells
    )
    # four across where there is room, two by two in a narrow column
    return (
        '<div style="display:grid;grid-template-columns:repeat(auto-fit, minmax(8.5rem, 1fr));'
        f'gap:.4rem 1.2rem;margin-bottom:.4rem">{html}</div>'
    )


DELIVERED_MEANS = (
    "new work delivered since day 1: the items customers asked for, counted as Compare's "
    "throughput counts them (incidents raised by escaped defects left out)"
)


def difference(ws: Workshop) -> str:
    """A sentence per organisation after the first, each against the first (HTML)."""
    if len(ws.sides) < 2 or ws.day < 10:
        return ""
    lines = []
    for i, diff in enumerate(ws.differences()):
        more = diff["more_new_work"]
        text = (
            f"<b>{escape(diff['name'])}</b> has delivered <b>{abs(more):,} "
            f"{'more' if more >= 0 else 'fewer'}</b> new items than {escape(diff['against'])}"
        )
        saved = diff["lead_time_saved"]
        if not math.isnan(saved):
            text += (
                f", its latest items in <b>{abs(saved):.1f} days "
                f"{'less' if saved >= 0 else 'more'}</b> on average"
            )
        lines.append((f"After {ws.day} days, " if i == 0 else "") + text + ".")
    return " ".join(lines)


def legend(ws: Workshop) -> str:
    """One legend for every chart of the page: the organisations, then the states."""
    sides = "".join(
        f'<span><span class="cv-line" style="background:{colours[side.name]}"></span>'
        f"{escape(side.name)}</span>"
        for side in ws.sides
    )
    states = "".join(
        f'<span><span class="cv-key" style="background:{charts.STATE_COLOURS[state]}"></span>'
        f"{state}</span>"
        for state in charts.WORKSHOP_STATES
    )
    return f'<div class="cv-legend">{sides}<span style="width:1.2rem"></span>{states}</div>'


def live_view() -> None:
    """The live part of the page, rerun on a timer as a fragment while playing: step the
    workshop, then draw the day, the charts and the differences.
    """
    ws: Workshop = st.session_state[STATE]
    if ws is None:
        return
    if st.session_state.get("ws_playing"):
        ws.step(SPEEDS.get(st.session_state.get("ws_speed") or "", 2))
        if ws.finished:
            st.session_state["ws_playing"] = False
            st.rerun()  # the whole page: the Play button shows the run has ended
    st.markdown(
        f'<div class="cv-day">Day {ws.day} of {ws.horizon}'
        f"{' · finished' if ws.finished else ''}</div>",
        unsafe_allow_html=True,
    )
    st.progress(min(1.0, ws.day / max(1, ws.horizon)))
    headline = difference(ws)
    if headline:
        st.markdown(f'<div class="cv-headline">{headline}</div>', unsafe_allow_html=True)
    st.markdown(legend(ws), unsafe_allow_html=True)
    units = ws.units()
    x_max = max(
        (float(f.groupby("unit")["items"].sum().max()) for f in units.values()), default=5.0
    )
    rows = max(f["unit"].nunique() for f in units.values())
    columns = st.columns(len(ws.sides), gap="large")
    for column, side in zip(columns, ws.sides, strict=True):
        colour = colours[side.name]
        with column:
            st.markdown(
                f'<div class="cv-side-title" style="color:{colour}" title="{escape(side.name)}">'
                f"{escape(side.name)}</div>" + big_numbers(side.latest),
                unsafe_allow_html=True,
            )
            overloaded = live_overload_note(pd.DataFrame(side.history), side.model.warmup)
            if overloaded:  # its lead time counts only what got through
                st.warning(overloaded, icon=":material/warning:")
            st.altair_chart(
                charts.workshop_units_chart(units[side.name], x_max, rows=rows), width="stretch"
            )
    history = ws.history()
    if len(history):
        left, right = st.columns(2, gap="large")
        left.altair_chart(
            charts.workshop_series_chart(
                history,
                "lead_time",
                colours,
                f"Lead time, days (last {LEAD_TIME_WINDOW})",
                days=ws.horizon,
            ),
            width="stretch",
        )
        right.altair_chart(
            charts.workshop_series_chart(
                history, "cx_index", colours, "CX index (0-100)", ".0f", (0, 100), ws.horizon
            ),
            width="stretch",
        )
    st.caption(
        f"Delivered: {DELIVERED_MEANS}. Lead time: the mean of the items delivered in the "
        f"last {LEAD_TIME_WINDOW} days. CX index: customer experience over the last 30 days."
    )


st.fragment(live_view, run_every=TICK_SECONDS if playing else None)()
