"""Compare's "Why?" panel: the gap between the baseline and each other organisation,
split over what differs and over the mechanisms that carry it (issue 13).

It runs the points of :func:`simulation.analysis.explain.design` on demand, under a
progress bar, through the app's cached runs on the shared executor (``ui/runner.py``):
each point is the baseline with some of the other's fields, or some mechanisms off,
and replicate ``r`` of every point runs with seed ``seed + r`` (common random numbers),
as ``python -m simulation explain`` does. The result stays in the session until the
organisations, the replicates or the seed change. A pair that cannot be explained
(nothing differs, a scheduled change differs) gets one line in a box.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from simulation.analysis.comparison import card_kpis, values
from simulation.analysis.explain import (
    DEFAULT_REPLICATES,
    decompose_factors,
    decompose_mechanisms,
    design,
    point_count,
    why_sentences,
)
from simulation.analysis.sweep_stats import kpi_matrix
from simulation.catalog.kpis import label
from simulation.errors import ScenarioError
from simulation.inputs.scenario import Scenario, with_overrides
from simulation.presentation.explain_report import waterfall_chart
from ui import common, runner

STATE = "why_result"


def _plan(a: Scenario, b: Scenario, seed: int, replicates: int) -> dict[str, Any]:
    """One pair's study: its spec and the jobs (scenario YAML, seed) of every point and
    replicate, point-major; or the one-line reason it cannot be explained."""
    try:
        points, spec = design(a, b, card_kpis(), seed=seed)
        texts = [with_overrides(a, point).to_yaml() for point in points]
    except ScenarioError as exc:
        return {"error": str(exc)}
    return {"spec": spec, "jobs": runner.replicate_jobs(texts, seed, replicates)}


def _matrices(spec: dict[str, Any], kpis: Sequence[dict], replicates: int) -> dict:
    points = point_count(spec)
    return {key: values(kpis, key).reshape(points, replicates) for key in spec["kpis"]}


def run_pairs(
    names: Sequence[str], scenarios: Sequence[Scenario], seed: int, replicates: int
) -> dict:
    """Run the study of the baseline against each other organisation (one progress bar
    over all of them) and keep each pair's KPI matrices."""
    plans = [_plan(scenarios[0], other, seed, replicates) for other in scenarios[1:]]
    jobs = [job for plan in plans for job in plan.get("jobs", [])]
    digests, cached, seconds = runner.run_with_progress(jobs) if jobs else ([], 0, 0.0)
    pairs, start = [], 0
    for name, plan in zip(names[1:], plans, strict=True):
        if "error" in plan:
            pairs.append({"name": name, "error": plan["error"]})
            continue
        count = len(plan["jobs"])
        kpis = [d.kpis for d in digests[start : start + count]]
        start += count
        pairs.append(
            {
                "name": name,
                "spec": plan["spec"],
                "matrices": _matrices(plan["spec"], kpis, replicates),
            }
        )
    return {"pairs": pairs, "runs": len(jobs), "cached": cached, "seconds": seconds}


def why_panel(names: Sequence[str], scenarios: Sequence[Scenario], seed: int) -> None:
    """The panel: a KPI, replicates, a button; then per other organisation a sentence
    per main contributor and the two waterfalls."""
    with st.container(border=True, key="why_panel"):
        st.markdown("#### Why? What makes each gap")
        st.caption(
            "Splits the gap between the baseline and each other organisation into what "
            "differs (the structure, each lever, each headcount) and the mechanisms that "
            "carry it, as Shapley values with 95% intervals over replicates on common "
            "random numbers. It runs the baseline with each part of the difference, and "
            "with mechanisms switched off: several hundred runs per organisation."
        )
        left, right = st.columns([3, 2])
        kpi = left.selectbox("KPI", card_kpis(), format_func=label, key="why_kpi")
        replicates = int(
            right.number_input(
                "Replicates", 2, 20, DEFAULT_REPLICATES, key="why_reps",
                help="Runs per point; replicate i runs with seed + i at every point.",
            )
        )  # fmt: skip
        signature = (tuple(s.model_dump_json() for s in scenarios), seed, replicates)
        clicked = st.button("Explain the gaps", icon=":material/help:", key="why_run")
        if clicked:
            st.session_state[STATE] = {
                "signature": signature,
                **run_pairs(list(names), list(scenarios), seed, replicates),
            }
        result = st.session_state.get(STATE)
        if result is None:
            st.caption("Press **Explain the gaps** to run the study.")
            return
        if result["signature"] != signature:
            st.info(
                "The organisations or runs changed since this explanation: press "
                "**Explain the gaps** to update it.",
                icon=":material/update:",
            )
        for pair in result["pairs"]:
            _pair(pair, names[0], kpi)
        st.caption(
            f"{result['runs']:,} runs ({result['cached']:,} from cache) in "
            f"{result['seconds']:.0f} s, {replicates} replicates per point. Exact Shapley "
            "values where there are few factors or mechanisms, sampled orders (with their "
            "error in the interval) where there are many; the lines add up to the gap."
        )


def _pair(pair: dict, baseline: str, kpi: str) -> None:
    """One pair's sentences and waterfalls, or its error box."""
    st.markdown(f"**{common.plain(baseline)} → {common.plain(pair['name'])}**")
    if "error" in pair:
        st.error(f"Cannot explain this gap: {pair['error']}", icon=":material/error:")
        return
    show_split(pair["spec"], pair["matrices"][kpi], kpi, (baseline, pair["name"]))


def show_split(
    spec: dict[str, Any], matrix: np.ndarray, kpi: str, names: tuple[str, str]
) -> tuple[Any, Any]:
    """The sentences and both waterfalls of ``kpi`` (``matrix``: points x replicates);
    returns the two splits."""
    factors = decompose_factors(spec, matrix, kpi)
    mechanisms = decompose_mechanisms(spec, matrix, kpi)
    for sentence in why_sentences(factors, mechanisms):
        st.markdown(common.plain(sentence))
    start = float(np.nanmean(matrix[0]))
    charts = st.columns(2)
    for column, split, title in (
        (charts[0], factors, "What differs"),
        (charts[1], mechanisms, "The mechanisms that carry it"),
    ):
        chart = waterfall_chart(split, start, title, names).properties(width="container")
        column.vega_lite_chart(spec=chart.to_dict(), width="stretch")
    return factors, mechanisms


def study_view(experiment: dict[str, Any], results: pd.DataFrame) -> None:
    """The Results page's view of an ``explain`` study (a sweep whose experiment holds
    ``study.kind: explain``): a KPI, its sentences, waterfalls and table. A study whose
    spec cannot be read is one line in a box."""
    try:
        spec = experiment["study"]
        replicates = int(experiment["replicates"])
        points = point_count(spec)
        kpis = [k for k in spec["kpis"] if k in results.columns]
        names = (str(spec["a"]), str(spec["b"]))
    except (KeyError, TypeError, ValueError) as exc:
        common.log_unexpected(exc)
        st.error("Cannot read this explain study: its spec is damaged.", icon=":material/error:")
        return
    st.markdown(f"#### Why? {common.plain(names[0])} → {common.plain(names[1])}")
    if not kpis:
        st.info("This study has no finished runs of its KPIs yet.", icon=":material/info:")
        return
    kpi = st.selectbox("KPI", kpis, format_func=label, key="rs_why_kpi")
    try:
        matrix = kpi_matrix(results, kpi, points, replicates)
        factors, mechanisms = show_split(spec, matrix, kpi, names)
    except (KeyError, TypeError, ValueError, IndexError) as exc:  # coalitions that do not fit
        common.log_unexpected(exc)
        st.error("Cannot read this explain study: its spec is damaged.", icon=":material/error:")
        return
    table = pd.concat([factors.table(), mechanisms.table()])
    st.dataframe(
        table[["part", "label", "mean", "ci_low", "ci_high", "share", "sampling_se"]],
        hide_index=True,
    )
    st.caption(
        "As `python -m simulation analyze` prints it: each line's contribution to the gap "
        "(B - A) with its 95% interval over replicates, its share of the gap and, where "
        "orders were sampled, its sampling standard error (included in the interval)."
    )
