"""The Results page's view of a sensitivity study (``python -m simulation sensitivity``).

When the directory the Results page opens holds a sensitivity study, the page shows
this instead of a sweep's charts: per KPI, which parameters decide it (Morris mu*
against sigma, or Sobol S1/ST bars, each with its 95% bootstrap interval), the table
behind the chart, what the study left out and why, and the indices as CSV. The numbers
are :func:`simulation.analysis.sensitivity_study.study_tables` and the charts
:mod:`simulation.presentation.sensitivity_charts`, as ``analyze`` prints them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from simulation.analysis.sensitivity_study import study_tables
from simulation.analysis.sweep_stats import kpi_matrix
from simulation.catalog import kpis as catalog
from simulation.presentation.sensitivity_charts import (
    display_table,
    effect_unit,
    output_title,
    sensitivity_charts,
    summary_line,
)
from simulation.running.sweep_results import Sweep, stamp

METHOD_NAMES = {"morris": "Morris screening", "sobol": "Sobol indices"}


def study_of(sweep: Sweep) -> dict[str, Any] | None:
    """The sensitivity study the sweep directory holds, or None."""
    study = sweep.experiment.get("study")
    if isinstance(study, dict) and study.get("kind") == "sensitivity":
        return study
    return None


@st.cache_data(show_spinner="Computing the indices…", max_entries=8)
def _tables(path: str, key: tuple, _sweep: Sweep, spec: dict[str, Any]) -> tuple:
    """The study's indices, summaries and notes, computed again whenever ``key`` (the
    directory's stamp) changes."""
    experiment = _sweep.experiment
    points, replicates = len(experiment.get("points") or []), int(experiment["replicates"])
    kpis = [k for k in spec.get("kpis") or [] if k in _sweep.results.columns]
    matrices = {k: kpi_matrix(_sweep.results, k, points, replicates) for k in kpis}
    return study_tables(spec, matrices)


def show_sensitivity(sweep: Sweep) -> bool:
    """Show ``sweep`` as a sensitivity study when it is one (True: the page is done)."""
    spec = study_of(sweep)
    if spec is None:
        return False
    method = spec.get("method", "morris")
    designs = spec.get("designs") or []
    st.subheader(sweep.name, anchor=False)
    about = [
        METHOD_NAMES.get(method, method),
        f"{len(spec.get('factors') or [])} parameters",
        f"{sweep.experiment.get('replicates', '?')} replicates on shared seeds from "
        f"{sweep.experiment.get('seed', '?')}",
        f"{sweep.runs_done:,} of {sweep.runs_total:,} runs",
    ]
    st.caption(" · ".join(about))
    if spec.get("versus") is not None and len(designs) == 2:
        st.markdown(
            f"What decides the gap **{designs[1]} − {designs[0]}**: the same sample of the "
            "unknown parameters runs on both designs, with the same seeds, and each "
            "sample's gap is the output analysed."
        )
    if not sweep.complete or sweep.errors:
        st.warning(
            f"This study is {sweep.status} with {sweep.errors} failed runs: the indices need "
            "every run. Finish it with the same `python -m simulation sensitivity` command "
            f"and `--out {sweep.path.name} --resume`.",
            icon=":material/hourglass_top:",
        )
        return True
    table, summary, notes = _tables(str(sweep.path), stamp(sweep.path), sweep, spec)
    for note in notes:
        st.warning(f"Not analysed: {note}", icon=":material/warning:")
    if table.empty:
        return True
    _show_kpi(table, summary, spec, method)
    _show_left_out(spec)
    st.download_button(
        "Download the indices (CSV)",
        table.to_csv(index=False),
        file_name=f"{sweep.path.name}-sensitivity.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )
    return True


def _show_kpi(table: pd.DataFrame, summary: pd.DataFrame, spec: dict, method: str) -> None:
    kpis = list(dict.fromkeys(table["kpi"]))
    if st.session_state.get("sens_kpi") not in kpis:
        st.session_state["sens_kpi"] = kpis[0]
    kpi = st.selectbox("KPI", kpis, key="sens_kpi", format_func=catalog.label)
    row = summary.set_index("kpi").loc[kpi].to_dict() | {"kpi": kpi}
    st.markdown(f"**{output_title(kpi, spec)}**: {summary_line(row, spec)}.")
    chart = sensitivity_charts(table[table["kpi"] == kpi], spec)[f"{method}_{kpi}"]
    st.altair_chart(chart.properties(width="container"), width="stretch")
    if method == "morris":
        st.caption(
            f"mu*: the mean size of the KPI's change when a parameter moves across its "
            f"range ({effect_unit(kpi)}), with its 95% bootstrap interval as a bar; sigma: "
            "how much that change depends on the other parameters. Near the origin: the "
            "parameter does not matter here. Run Sobol on the few that do."
        )
    else:
        st.caption(
            "S1: the share of the output's variance a parameter explains alone; ST: with "
            "its interactions. Bars: 95% bootstrap intervals; a wide one asks for more "
            "--samples."
        )
    st.dataframe(display_table(table, kpi, method, top=None), hide_index=True, width="stretch")


def _show_left_out(spec: dict) -> None:
    for path, reason in spec.get("idle") or []:
        st.info(
            f"{path} cannot act here ({reason}): it was varied as a check, and should "
            "show nothing.",
            icon=":material/info:",
        )
    left_out = spec.get("left_out") or []
    if not left_out:
        return
    with st.expander(f"{len(left_out)} catalog parameters not varied, and why"):
        st.dataframe(
            pd.DataFrame(left_out, columns=["parameter", "why"]), hide_index=True, width="stretch"
        )
