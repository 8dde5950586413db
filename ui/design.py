"""Design: shape an organisation, see who works with whom, send it to Compare.

A design is named by what changed ("Siloed departments, converged, team size 5") until
the user names it: levers.design_name.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from simulation.catalog.levers import STRUCTURES
from simulation.inputs.levers import design_name
from simulation.inputs.scenario import Scenario, ScenarioError, with_overrides
from simulation.model.org_model import OrgModel
from simulation.presentation import charts
from ui import common

common.page_header(
    "Design an organisation",
    "Set headcount, structure and teams, and see the organisation drawn: people by "
    "discipline, grouped by department or team, with the ties between them. Then send "
    "the design to Compare to see how it performs.",
)
lib = common.library()
#: Pixels wide of the organisation's picture: it fits the page's right-hand column
#: from 1280 pixels wide screens up.
ORG_WIDTH = 620


@st.cache_data(show_spinner=False, max_entries=64)
def picture(yaml_text: str) -> dict[str, Any]:
    """Build (not run) the organisation and measure its network: small frames only."""
    model = OrgModel(Scenario.from_yaml(yaml_text))
    people, ties, units = charts.org_frames(model)
    table = pd.DataFrame(
        {
            "Unit": [u.name for u in model.units],
            "Kind": [u.kind for u in model.units],
            "People": [u.size for u in model.units],
            "Disciplines": [
                ", ".join(f"{d} {n}" for d, n in _count([m.discipline for m in u.members]))
                for u in model.units
            ],
            "Coordination overhead": [
                u.members[0].coordination_share if u.members else 0.0 for u in model.units
            ],
        }
    )
    return {
        "people": people,
        "ties": ties,
        "units": units,
        "table": table,
        "network": model.network_summary(),
        "brms": model.brm_count,
    }


def _two_places(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.2f}"


def _count(items: list[str]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return list(counts.items())


def reset_design() -> None:
    """Forget the editor's widgets (``dz_`` keys but the base) when the base changes."""
    for key in [k for k in st.session_state if str(k).startswith("dz_") and k != "dz_base"]:
        del st.session_state[key]


def teams_table(scenario: Scenario) -> pd.DataFrame:
    """The skill matrix: the scenario's teams, or the converged plan to start from."""
    disciplines = [d.name for d in scenario.disciplines]
    if scenario.teams:
        rows = [
            {"team": t.name, **{d: t.members.get(d, 0) for d in disciplines}}
            for t in scenario.teams
        ]
    else:
        rows = [
            {"team": name, **{d: members.count(d) for d in disciplines}}
            for name, members in converged_teams(scenario.to_yaml())
        ]
    return pd.DataFrame(rows, columns=["team", *disciplines])


@st.cache_data(show_spinner=False, max_entries=32)
def converged_teams(yaml_text: str) -> list[tuple[str, list[str]]]:
    """The teams the converged structure would form: a starting point for a custom one."""
    model = OrgModel(with_overrides(Scenario.from_yaml(yaml_text), {"structure": "converged"}))
    return [(u.name, [m.discipline for m in u.members]) for u in model.units]


def teams_from(table: pd.DataFrame, disciplines: list[str]) -> list[dict[str, Any]]:
    """The edited skill matrix as teams; empty rows dropped, unnamed ones numbered."""
    teams = []
    for i, row in table.reset_index(drop=True).iterrows():
        name = str(row.get("team") or "").strip() or f"Team {i + 1}"
        members = {d: int(row[d]) if pd.notna(row[d]) else 0 for d in disciplines}
        if sum(members.values()) > 0:
            teams.append({"name": name, "members": members})
    return teams


# --------------------------------------------------------------------------- editor

keys = list(lib)
if "dz_base" not in st.session_state:
    chosen = [k for k in common.selection() if k in lib]
    st.session_state["dz_base"] = chosen[0] if chosen else keys[0]
controls, view = st.columns([1, 1.6], gap="large")
with controls:
    base_key = st.selectbox(
        "Start from",
        keys,
        format_func=lambda k: lib[k].label,
        key="dz_base",
        on_change=reset_design,
    )
    base = lib[base_key].scenario
    disciplines = [d.name for d in base.disciplines]
    name_box = st.container()  # the name goes here, once the design it names is known
    options = list(STRUCTURES)
    structure = (
        st.segmented_control(
            "Structure",
            options,
            default=base.structure,
            key="dz_structure",
            help="siloed and aligned: one department per discipline; converged: cross-functional "
            "teams of about the team size; custom: the teams you list below.",
        )
        or base.structure
    )
    overrides: dict[str, Any] = {"structure": structure}
    if structure == "custom":
        st.markdown("**Teams** (people per discipline; add or delete rows)")
        # narrow columns: every discipline in sight without scrolling sideways
        matrix = st.data_editor(
            teams_table(base),
            key="dz_teams",
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            column_config={
                "team": st.column_config.TextColumn(
                    "Team", required=True, max_chars=40, width="small"
                ),
                **{
                    d: st.column_config.NumberColumn(
                        d, help=d, min_value=0, max_value=500, step=1, default=0, width=48
                    )
                    for d in disciplines
                },
            },
        )
        teams = teams_from(matrix, disciplines)
        overrides["teams"] = teams
        for d in disciplines:
            overrides[f"disciplines.{d}.headcount"] = sum(t["members"][d] for t in teams)
    else:
        st.markdown("**Headcount and cost per discipline**")
        frame = pd.DataFrame(
            [
                {
                    "discipline": d.name,
                    "side": d.side,
                    "headcount": d.headcount,
                    "cost_per_day": d.cost_per_day,
                }
                for d in base.disciplines
            ]
        )
        edited = st.data_editor(
            frame,
            key="dz_disciplines",
            num_rows="fixed",
            hide_index=True,
            width="stretch",
            disabled=["discipline", "side"],
            column_config={
                "discipline": st.column_config.TextColumn("Discipline"),
                "side": st.column_config.TextColumn("Side"),
                "headcount": st.column_config.NumberColumn(
                    "People", min_value=0, max_value=5000, step=1
                ),
                "cost_per_day": st.column_config.NumberColumn(
                    "Cost per day", min_value=0, step=10, format="%.0f"
                ),
            },
        )
        for _, row in edited.iterrows():
            d = row["discipline"]
            if pd.notna(row["headcount"]):
                overrides[f"disciplines.{d}.headcount"] = int(row["headcount"])
            if pd.notna(row["cost_per_day"]):
                overrides[f"disciplines.{d}.cost_per_day"] = float(row["cost_per_day"])
        if structure == "converged":
            overrides["team_size"] = st.slider(
                "Team size",
                3,
                max(15, base.team_size),
                value=base.team_size,
                key="dz_team_size",
                help="People per cross-functional team; 5-9 is the usual advice.",
            )
    overrides["brms.count"] = int(
        st.number_input(
            "Business Relationship Managers",
            0,
            max(200, 2 * base.brms.count),
            value=base.brms.count,
            step=1,
            key="dz_brms",
            help="BRMs mediate handoffs across the business-IT boundary; a handoff goes "
            "direct when the wait for a BRM would cost more than mediation saves.",
        )
    )

try:
    design = with_overrides(base, overrides)
except ScenarioError as exc:
    with view:
        st.error(f"This organisation cannot be built: {exc}", icon=":material/error:")
    st.stop()
with name_box:
    automatic = design_name(base, design)
    typed = st.text_input(
        "Name of the design",
        key="dz_name",
        max_chars=80,
        placeholder=automatic,
        help="Left empty, the design is named by what you changed.",
    )
design = design.model_copy(update={"name": typed.strip() or automatic})

# --------------------------------------------------------------------------- picture

with view:
    try:
        pic = picture(design.to_yaml())
    except Exception as exc:  # a model that cannot be built must not take the page down
        st.error(f"The organisation could not be drawn: {exc}", icon=":material/error:")
        st.stop()
    net = pic["network"]
    m = st.columns(5)
    m[0].metric("People", f"{design.total_staff:,}")
    m[1].metric("Units", len(pic["table"]), help="Departments or teams.")
    m[2].metric("Ties", f"{int(net['ties']):,}", help="Working relationships at the start.")
    m[3].metric(
        "Across units",
        f"{int(net['cross_unit_ties']):,}",
        help="Ties between people of different units: the bridges handoffs use.",
    )
    m[4].metric(
        "Silo index",
        _two_places(net["modularity_by_discipline"]),
        help="Network modularity by discipline: near 0, people mix across disciplines; "
        "high, they cluster with their own. By unit it is "
        f"{_two_places(net['modularity_by_unit'])}. n/a: the network mechanism is off.",
    )
    # drawn at its own size: stretched to the column, people would leave their circles
    st.altair_chart(
        charts.org_chart(pic["people"], pic["ties"], pic["units"], width=ORG_WIDTH),
        width="content",
    )
    shown = len(pic["ties"])
    if shown < net["ties"]:
        st.caption(f"Showing {shown:,} of {int(net['ties']):,} ties (all cross-unit ties first).")
    st.dataframe(
        pic["table"],
        hide_index=True,
        width="stretch",
        column_config={
            "Coordination overhead": st.column_config.ProgressColumn(
                "Coordination overhead",
                help="Share of each member's day lost to coordination.",
                min_value=0.0,
                max_value=1.0,
                format="percent",
            )
        },
    )


def send_to_compare(yaml_text: str) -> None:
    """Add the designed scenario to the library and to Compare's selection (replacing
    the last one when four are chosen already).
    """
    sent = Scenario.from_yaml(yaml_text)
    key = common.add_to_library(sent, "design")
    chosen = common.selection()
    if key not in chosen:
        if len(chosen) >= 4:
            chosen.pop()
        chosen.append(key)
    st.session_state.pop("cmp_select", None)
    st.session_state["cmp_sent"] = sent.name


with controls:
    st.button(
        "Send to Compare",
        type="primary",
        on_click=send_to_compare,
        args=(design.to_yaml(),),
        width="stretch",
        icon=":material/compare_arrows:",
        help="Adds this design to the organisations compared on the Compare page.",
    )
    st.download_button(
        "Download as YAML",
        design.to_yaml(),
        file_name="organisation-design.yaml",
        mime="application/x-yaml",
        on_click="ignore",
        width="stretch",
        icon=":material/download:",
    )
    if st.session_state.get("cmp_sent"):
        st.success(
            common.plain(f"'{st.session_state['cmp_sent']}' is in the comparison.")
            + " Open **Compare** and press Run.",
            icon=":material/check_circle:",
        )
        st.page_link("ui/compare.py", label="Go to Compare", icon=":material/arrow_forward:")
