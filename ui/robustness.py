"""Compare's "How sure are we?" panel: the organisations being compared, run in many
plausible worlds on demand (issue 13, item 3).

A button runs a robustness study (:mod:`simulation.analysis.robustness`) of the
organisations as the sidebar sets them: every organisation in each of
:data:`APP_WORLDS` plausible worlds (a Latin hypercube over the catalog's parameter
ranges), one run each with the same seed for every organisation, on the server's shared
executor, under a progress bar. The app samples fewer worlds than the command line's
256 so that the answer comes in well under a minute; the panel says so and gives the
command for the full study. The result stays in session state until the organisations
change; bad input (organisations that differ in a schedule of changes) is an error box.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import streamlit as st

from simulation.analysis.comparison import card_kpis
from simulation.analysis.robustness import (
    KpiRobustness,
    analyse_study,
    design_overrides,
    format_outcomes,
    region_sentence,
    robustness_points,
    robustness_spec,
    sample_worlds,
    uncertain_ranges,
)
from simulation.catalog.kpis import label
from simulation.inputs.scenario import Scenario, ScenarioError
from simulation.presentation.robustness_charts import regret_chart, win_share_chart
from ui import common, runner

#: Plausible worlds the app samples (the command line samples 256): 64 worlds x 3
#: organisations x 1 run = 192 runs, about half a minute on two quiet cores.
APP_WORLDS = 64
#: Runs per world and organisation in the app: one (the command line runs two, which
#: also says in how many worlds the winner leads by a 95% interval).
APP_REPLICATES = 1
RESULT = "cmp_sure_result"
COLUMNS = ["Organisation", "Won [95% CI]", "Regret median", "p90", "max"]


def run_robustness(
    scenarios: list[Scenario], names: list[str], seed: int, worlds: int | None = None
) -> list[KpiRobustness]:
    """Run the robustness study of ``scenarios`` in ``worlds`` plausible worlds (default
    :data:`APP_WORLDS`) under a progress bar and analyse it on the headline KPIs (a
    :class:`ScenarioError` for designs a study cannot compare)."""
    from simulation.running.studies import Study, load_study, run_study  # the model: on demand

    worlds = worlds or APP_WORLDS
    ranges = uncertain_ranges(scenarios)
    kpis = card_kpis()
    study = Study(
        kind="robustness",
        name=f"Robustness: {', '.join(names)}",
        base=scenarios[0],
        points=robustness_points(sample_worlds(ranges, worlds, seed), design_overrides(scenarios)),
        replicates=APP_REPLICATES,
        seed=seed,
        spec=robustness_spec(names, ranges, worlds, APP_REPLICATES, kpis),
    )
    total = len(study.points) * APP_REPLICATES
    bar = st.progress(0.0, text=f"Running {total} simulations in {worlds} plausible worlds…")
    out = Path(tempfile.mkdtemp(prefix="converge-robustness-"))
    try:
        run_study(
            study,
            out / "study",
            runner.executor(),
            on_progress=lambda done, _: bar.progress(
                done / total, text=f"Plausible worlds: {done} of {total} runs done"
            ),
        )
        spec, results = load_study(out / "study")
        return analyse_study(results, spec, kpis, seed=seed)
    finally:
        bar.empty()
        shutil.rmtree(out, ignore_errors=True)


def how_sure_panel(scenarios: list[Scenario], names: list[str], seed: int, current: bool) -> None:
    """The panel: a button, then win shares, regret and where the favourite loses.
    ``current``: whether ``scenarios`` are the organisations whose results show."""
    with st.container(border=True, key="cmp_sure"):
        st.markdown("#### How sure are we?")
        st.caption(
            f"Runs every organisation in {APP_WORLDS} plausible worlds: each world draws "
            "every model parameter the organisations leave open from its plausible range "
            "(the parameter catalog), and every organisation runs in it with the same seed. "
            "The panel shows in what share of the worlds each organisation is best, how much "
            "worse than the best it is elsewhere (regret), and where the favourite loses. "
            f"The command line samples 256 worlds with two runs each: `python -m simulation "
            f"robustness A.yaml B.yaml ...`."
        )
        if len(scenarios) < 2 or not current:
            st.info(
                "Compare two or more organisations, and run the comparison, to test how "
                "sure its answer is.",
                icon=":material/info:",
            )
            return
        signature = (tuple(s.model_dump_json() for s in scenarios), seed, APP_WORLDS)
        if st.button("Test against plausible worlds", key="cmp_sure_run", icon=":material/public:"):
            try:
                found = run_robustness(scenarios, names, seed)
            except ScenarioError as exc:
                st.error(common.plain(f"How sure could not run: {exc}"), icon=":material/error:")
                return
            except Exception as exc:  # a model failure must not take the page down
                st.error(
                    f"How sure failed: {exc.__class__.__name__}: {exc}", icon=":material/error:"
                )
                return
            st.session_state[RESULT] = {"signature": signature, "found": found}
        stored = st.session_state.get(RESULT)
        if stored is None:
            return
        if stored["signature"] != signature:
            st.info(
                "The organisations changed since this test: press the button to test them.",
                icon=":material/update:",
            )
        show_result(stored["found"])


@st.cache_data(max_entries=4, show_spinner="Analysing the plausible worlds…")
def _analysed(path: str, key: tuple) -> list[KpiRobustness]:
    # ``key`` (the directory's stamp) is part of the cache key: new rows, new analysis
    from simulation.running.studies import load_study

    spec, results = load_study(Path(path))
    return analyse_study(results, spec)


def study_panel(path: Path, key: tuple, experiment: dict) -> bool:
    """On the Results page: when the sweep in ``path`` is a robustness study, show its
    win shares, regret and losing regions and return True (the page's sweep charts, a
    KPI along each of tens of sampled parameters, say little about it)."""
    study = experiment.get("study") or {}
    if study.get("kind") != "robustness":
        return False
    st.markdown("#### How sure: robustness across plausible worlds")
    st.caption(
        f"{study.get('worlds', '?')} plausible worlds x {len(study.get('designs', []))} "
        f"designs ({', '.join(study.get('designs', []))}), {study.get('replicates', '?')} "
        "runs each with the same seeds for every design; worlds not finished are left out."
    )
    try:
        show_result(_analysed(str(path), key))
    except ScenarioError as exc:
        st.info(common.plain(f"Nothing to show yet: {exc}"), icon=":material/info:")
    return True


def show_result(found: list[KpiRobustness]) -> None:
    """Win shares, the sentences on where each favourite loses, and the regret."""
    st.vega_lite_chart(spec=win_share_chart(found).to_dict(), width="stretch")
    st.markdown("\n".join(f"- {common.plain(region_sentence(r))}" for r in found))
    with st.expander("Regret and the win shares as a table"):
        st.caption(
            "Regret: how much worse than the best organisation of each world, in the "
            "KPI's unit (0: it was the best). Won: share of worlds, 95% Wilson interval."
        )
        for result in found:
            st.markdown(f"**{label(result.kpi)}**")
            st.dataframe(
                [dict(zip(COLUMNS, row, strict=True)) for row in format_outcomes(result)],
                hide_index=True,
                width="stretch",
            )
        st.vega_lite_chart(spec=regret_chart(found).to_dict(), width="stretch")
