"""Workshop: two or three structures run side by side, live, for a room to watch."""

from __future__ import annotations

import math

import streamlit as st

from simulation import charts
from simulation.comparison import unique_names
from simulation.live import LEAD_TIME_WINDOW, Workshop
from simulation.scenario import ScenarioError
from ui import common

TICK_SECONDS = 0.5
SPEEDS = {"2 days/s": 1, "4 days/s": 2, "10 days/s": 5, "20 days/s": 10}  # days per tick
STATE = "workshop"

common.page_header(
    "Workshop: silos and convergence, live",
    "The same people, the same demand (work mix and arrival rates) and the same random "
    "seed; only the structure differs. Press play and watch where work piles up, how long "
    "customers wait and how they feel about it.",
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
    st.session_state["ws_playing"] = not st.session_state.get("ws_playing", False)


def step_once() -> None:
    st.session_state["ws_playing"] = False
    st.session_state[STATE].step(1)


def restart() -> None:
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
        ("Delivered", f"{snap['delivered']:,}", "since day 1"),
    ]
    html = "".join(
        f'<div title="{tip}"><div class="cv-big-label">{label}</div>'
        f'<div class="cv-big">{value}</div></div>'
        for label, value, tip in cells
    )
    return (
        f'<div style="display:grid;grid-template-columns:1fr 1fr;gap:.8rem 1.6rem;'
        f'margin-bottom:.6rem">{html}</div>'
    )


def difference(ws: Workshop) -> str:
    """One sentence for the room: how the last side compares with the first so far."""
    if len(ws.sides) < 2 or ws.day < 10:
        return ""
    first, last = ws.sides[0], ws.sides[-1]
    a, b = first.latest, last.latest
    more = b["delivered"] - a["delivered"]
    text = (
        f"After {ws.day} days, <b>{last.name}</b> has delivered "
        f"<b>{abs(more):,} {'more' if more >= 0 else 'fewer'}</b> items than {first.name}"
    )
    if not any(math.isnan(x) for x in (a["lead_time"], b["lead_time"])):
        gap = a["lead_time"] - b["lead_time"]
        text += f", each in <b>{abs(gap):.1f} days {'less' if gap >= 0 else 'more'}</b> on average"
    return text + "."


def live_view() -> None:
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
    units = ws.units()
    x_max = max(
        (float(f.groupby("unit")["items"].sum().max()) for f in units.values()), default=5.0
    )
    columns = st.columns(len(ws.sides), gap="large")
    for column, side in zip(columns, ws.sides, strict=True):
        colour = colours[side.name]
        with column:
            st.markdown(
                f'<div class="cv-side-title" style="color:{colour}">{side.name}</div>'
                + big_numbers(side.latest),
                unsafe_allow_html=True,
            )
            st.altair_chart(charts.workshop_units_chart(units[side.name], x_max), width="stretch")
    history = ws.history()
    if len(history):
        left, right = st.columns(2, gap="large")
        left.altair_chart(
            charts.workshop_series_chart(
                history, "lead_time", colours, f"Lead time, days (last {LEAD_TIME_WINDOW} days)"
            ),
            width="stretch",
        )
        right.altair_chart(
            charts.workshop_series_chart(
                history, "cx_index", colours, "CX index (0-100)", ".0f", domain=(0, 100)
            ),
            width="stretch",
        )


st.fragment(live_view, run_every=TICK_SECONDS if playing else None)()
