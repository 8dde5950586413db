"""The charts of a comparison as Vega-Lite specs, built once and shared by every session.

Building Altair charts and converting them costs more than reading cached runs, so the
specs of a comparison are cached like the runs are: keyed on the runs (scenario YAML
and seed) and the names shown. A second visitor, or a link opened again, gets them at
once.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from simulation.analysis.digest import ROLLING_LEAD_TIME, RunDigest
from simulation.presentation import charts
from ui.runner import Job, run_jobs

#: The runs of a page's results, one list per organisation (or path) in order.
Grouped = list[list[RunDigest]]


def runs_by_name(
    jobs: tuple[Job, ...], names: tuple[str, ...], digests: Grouped | None
) -> dict[str, list[RunDigest]]:
    """Each name's runs: from ``digests`` (the page's results, in ``names`` order)
    when given, else from the run cache (``jobs`` are ``names`` equal groups).

    The page passes the digests it holds: fetching them again from the cache would
    unpickle every run once more (a few milliseconds each) before any chart is made."""
    if digests is None:
        flat = run_jobs(list(jobs))
        per = len(flat) // len(names)
        digests = [flat[i * per : (i + 1) * per] for i in range(len(names))]
    return dict(zip(names, digests, strict=True))


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
    jobs: tuple[Job, ...],
    names: tuple[str, ...],
    structures: tuple[str, ...],
    _digests: Grouped | None = None,
) -> dict[str, dict[str, Any]]:
    """Every chart of the Compare page for one comparison (runs in scenario order);
    ``_digests``, the runs of ``jobs`` when the page has them, is not part of the key."""
    runs = runs_by_name(jobs, names, _digests)
    colours = charts.scenario_colours(names, structures)
    warmup = runs[names[0]][0].warmup
    # days on which an organisation changed (scheduled changes, PDCA trials): marked on
    # every chart over time; with any, the productivity dip and lead time are drawn too
    changes = charts.change_frame(runs)
    specs = {
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
                changes=changes,
                change_labels=False,
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
                changes=changes,
                change_labels=False,
            )
        ),
        "effort": spec(charts.effort_chart(charts.effort_frame(runs), colours)),
        "units": spec(charts.units_chart(charts.unit_frame(runs), colours)),
    }
    if not changes.empty:
        specs.update(over_time_specs(runs, colours, changes, warmup))
    return specs


@st.cache_data(show_spinner=False, max_entries=64)
def flow_spec(
    jobs: tuple[Job, ...],
    names: tuple[str, ...],
    structures: tuple[str, ...],
    cumulative: bool,
    _digests: Grouped | None = None,
) -> dict[str, Any]:
    """Compare's flow of work, one of its two views: open work by state, or cumulative
    flow (``cumulative``). Built apart from :func:`comparison_specs` and only for the
    view shown: each is among the dearest charts to build (about a quarter of a second
    of CPU for 3 x 10 runs), and most visitors never switch."""
    runs = runs_by_name(jobs, names, _digests)
    colours = charts.scenario_colours(names, structures)
    return spec(
        charts.flow_chart(
            charts.flow_frame(runs, cumulative=cumulative),
            colours,
            cumulative=cumulative,
            changes=charts.change_frame(runs),
        )
    )


@st.cache_data(show_spinner=False, max_entries=64)
def change_log(
    jobs: tuple[Job, ...], names: tuple[str, ...], _digests: Grouped | None = None
) -> Any:
    """The days each organisation changed (charts.change_frame), for a table."""
    return charts.change_frame(runs_by_name(jobs, names, _digests))


def over_time_specs(
    runs: charts.Runs, colours: dict[str, str], changes: Any, warmup: int
) -> dict[str, dict[str, Any]]:
    """The charts of a transition: productivity (the J-curve) and lead time over time."""
    return {
        "productivity": spec(
            charts.band_chart(
                charts.band_frame(runs, "productivity", period=1, how="mean", bounds=(0, 1)),
                colours,
                "Productivity (share of normal)",
                warmup=warmup,
                value_format=".1%",
                zero=False,
                changes=changes,
                axis_format="%",
                change_labels=False,
            )
        ),
        "lead_over_time": spec(
            charts.band_chart(
                charts.band_frame(runs, ROLLING_LEAD_TIME, period=5, how="mean"),
                colours,
                "Lead time, last 20 days (days)",
                warmup=warmup,
                changes=changes,
                height=400,
            )
        ),
    }


@st.cache_data(show_spinner=False, max_entries=64)
def transition_specs(
    jobs: tuple[Job, ...], names: tuple[str, ...], _digests: Grouped | None = None
) -> dict[str, dict[str, Any]]:
    """The charts of the Transition page for one set of paths (runs in path order);
    ``_digests`` as for :func:`comparison_specs`."""
    runs = runs_by_name(jobs, names, _digests)
    colours = charts.path_colours(names)
    changes = charts.change_frame(runs)
    warmup = runs[names[0]][0].warmup
    specs = over_time_specs(runs, colours, changes, warmup)
    specs["cx"] = spec(
        charts.band_chart(
            charts.band_frame(runs, "cx_index", period=5, how="mean", bounds=(0, 100)),
            colours,
            "CX index (0-100)",
            warmup=warmup,
            value_format=".0f",
            zero=False,
            changes=changes,
            change_labels=False,
        )
    )
    return specs
