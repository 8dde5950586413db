"""The charts of a comparison as Vega-Lite specs, built once and shared by every session.

Building Altair charts and converting them costs more than reading cached runs, so the
specs of a comparison are cached like the runs are: keyed on the runs (scenario YAML
and seed) and the names shown. A second visitor, or a link opened again, gets them at
once.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from simulation import charts
from ui.runner import Job, run_jobs


def spec(chart: Any) -> dict[str, Any]:
    """An Altair chart as a Vega-Lite dict, without Altair's 300-pixel default view size
    (Streamlit's own conversion leaves it out too, so charts fill their column).

    Not validated here: tests/test_app.py validates every chart builder against the
    Vega-Lite schema, which would cost a third of a second per comparison here.
    """
    result = chart.to_dict(validate=False)
    view = result.get("config", {}).get("view", {})
    for key in ("continuousWidth", "continuousHeight"):
        if view.get(key) == 300:
            del view[key]
    return result


@st.cache_data(show_spinner=False, max_entries=64)
def comparison_specs(
    jobs: tuple[Job, ...], names: tuple[str, ...], structures: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    """Every chart of the Compare page for one comparison (runs in scenario order)."""
    digests = run_jobs(list(jobs))
    per = len(digests) // len(names)
    runs = {name: digests[i * per : (i + 1) * per] for i, name in enumerate(names)}
    colours = charts.scenario_colours(names, structures)
    warmup = digests[0].warmup
    return {
        "lead": spec(
            charts.lead_time_chart(
                charts.lead_time_frame(runs), charts.percentile_frame(runs), colours
            )
        ),
        "throughput": spec(
            charts.band_chart(
                charts.band_frame(runs, "new_work_today", period=5, how="sum"),
                colours,
                "Items delivered per week",
                warmup=warmup,
            )
        ),
        "cx": spec(
            charts.band_chart(
                charts.band_frame(runs, "cx_index", period=5, how="mean", bounds=(0, 100)),
                colours,
                "CX index (0-100)",
                warmup=warmup,
                value_format=".0f",
                zero=False,
            )
        ),
        "effort": spec(charts.effort_chart(charts.effort_frame(runs), colours)),
        "wip": spec(
            charts.flow_chart(charts.flow_frame(runs, cumulative=False), colours, cumulative=False)
        ),
        "cfd": spec(
            charts.flow_chart(charts.flow_frame(runs, cumulative=True), colours, cumulative=True)
        ),
        "units": spec(charts.units_chart(charts.unit_frame(runs), colours)),
    }
