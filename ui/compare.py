"""Compare: two to four organisation designs on the same demand and seeds.

Scenario names come from users (uploads, designs, links): they are HTML-escaped where
they go into HTML and Markdown-escaped (common.plain) where they go into Markdown.
"""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any

import streamlit as st

from simulation.analysis.differences import (
    difference_note,
    unique_names,
    ways_of_working,
    with_ways_of_working,
)
from simulation.catalog.levers import HEADCOUNT_PREFIX, STRUCTURES, WAYS_LEVELS, Lever, groups
from simulation.inputs.levers import (
    MAX_NAME,
    change_phrase,
    lever_values,
    levers_for,
    relevant_changes,
)
from simulation.inputs.scenario import Scenario, ScenarioError
from ui import common, runner

if TYPE_CHECKING:
    from simulation.analysis.digest import RunDigest

MAX_SCENARIOS = 4
RESULT = "cmp_result"
#: Compare's "Ways of working" choice (issue 10): each organisation's own, or the same
#: for all so that only the structures differ; value -> (what the choice reads, what a
#: changed organisation's name gets).
WAYS_CHOICES = {
    "own": ("As each organisation's file says", ""),
    "baseline": ("Same for all: the baseline's", "baseline's ways of working"),
    "basic": ("Same for all: basic (shared language 0.2, transparency 0.2)", "basic ways"),
    "mature": ("Same for all: mature (shared language 0.5, transparency 0.6)", "mature ways"),
}

common.page_header(
    "Compare organisation designs",
    "Run up to four organisations on the same demand with the same random seeds, and "
    "see what structure and levers do to delivery speed, customer experience, waste "
    "and cost.",
)
lib = common.library()


# --------------------------------------------------------------------------- links


def restore_from_link() -> None:
    """Once per session: take scenarios, levers, replicates and seed from the URL.

    A link may come from anyone: common.read_link checks it as strictly as an upload,
    and anything wrong becomes one plain line in an error box. Nothing of a bad link
    is applied, so the page opens as if there had been no link."""
    if st.session_state.get("cmp_link_read"):
        return
    st.session_state["cmp_link_read"] = True
    params = st.query_params.to_dict()
    if "s" not in params:
        return
    try:
        linked = common.read_link(params, lib, MAX_SCENARIOS)
        replicates = common.read_link_int(params, "r", 1, 30)
        seed = common.read_link_int(params, "seed", 0, common.MAX_LINK_SEED)
    except ScenarioError as exc:
        st.session_state["cmp_link_error"] = common.plain(f"This link could not be opened: {exc}")
        return
    except Exception as exc:  # whatever else a crafted link provokes: one line, no traceback
        common.log_unexpected(exc)
        st.session_state["cmp_link_error"] = (
            "This link could not be opened: it is damaged, or was made by another version "
            "of Converge."
        )
        return
    keys = []
    for item in linked:
        key = item.key or common.add_to_library(item.scenario, "link")
        keys.append(key)
        if item.levers:
            common.lever_changes()[key] = item.levers
    st.session_state[common.SELECTION] = keys
    if replicates is not None:
        st.session_state["cmp_reps"] = replicates
    if seed is not None:
        st.session_state["cmp_seed"] = seed


def write_link(keys: list[str], replicates: int, seed: int) -> None:
    """Keep the view in the URL, so a copied link reproduces it."""
    tokens, customs, changes = [], {}, {}
    for i, key in enumerate(keys):
        entry = lib[key]
        if entry.origin == "ready-made":
            tokens.append(key)
        else:
            tokens.append(f"*{i}")
            customs[str(i)] = entry.yaml
        if common.lever_changes().get(key):
            changes[str(i)] = common.lever_changes()[key]
    wanted = {"s": ",".join(tokens), "r": str(replicates), "seed": str(seed)}
    if customs:
        wanted["u"] = common.pack(customs)
    if changes:
        wanted["lv"] = common.pack(changes)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


# --------------------------------------------------------------------------- sidebar


def handle_upload() -> None:
    """Add the uploaded scenario to the comparison, or say in one line why not.

    The error box belongs to the file in the uploader: it goes when the file is
    removed or another chosen (the rerun draws the new file's outcome instead)."""
    uploaded = st.session_state.get("cmp_upload")
    if uploaded is None:
        return
    try:
        scenario = common.read_upload(uploaded.name, uploaded.getvalue())
    except ScenarioError as exc:
        st.error(common.plain(f"Could not use this file. {exc}"), icon=":material/error:")
        return
    except Exception as exc:  # whatever else a crafted file provokes: one line, no traceback
        common.log_unexpected(exc)
        st.error(
            common.plain(f"Could not use this file. {uploaded.name}: it cannot be read."),
            icon=":material/error:",
        )
        return
    if st.session_state.get("cmp_upload_done") == uploaded.file_id:
        return
    st.session_state["cmp_upload_done"] = uploaded.file_id
    key = common.add_to_library(scenario, "upload")
    chosen = common.selection()
    if key not in chosen:
        if len(chosen) >= MAX_SCENARIOS:
            chosen.pop()
        chosen.append(key)
    st.session_state.pop("cmp_select", None)
    st.toast(
        common.plain(f"Added '{scenario.name}' to the comparison."), icon=":material/upload_file:"
    )


def on_select() -> None:
    """Keep the multiselect's choice as the session's selection (so other pages see it)."""
    st.session_state[common.SELECTION] = list(st.session_state["cmp_select"])


def lever_widget(target: str, lever: Lever, base_value: Any, value: Any) -> None:
    """Draw one lever's widget for library entry ``target``, showing ``value``.

    Its state key embeds the target, so each scenario keeps its own settings;
    ``on_lever`` records a change against ``base_value``.
    """
    wkey = f"lv|{target}|{lever.key}"
    if wkey not in st.session_state:
        st.session_state[wkey] = value
    kwargs = {
        "key": wkey,
        "help": lever.help or None,
        "on_change": on_lever,
        "args": (target, lever.key, wkey, base_value),
    }
    if lever.key == "structure":  # custom only where the scenario has teams to keep
        options = list(STRUCTURES if lib[target].scenario.teams else STRUCTURES[:3])
        st.selectbox(lever.label, options, **kwargs)
    elif lever.kind == "choice":
        st.radio(
            lever.label,
            list(lever.options),
            horizontal=True,
            format_func=lever.option_text,
            **kwargs,
        )
    elif lever.kind == "toggle":
        st.toggle(lever.label, **kwargs)
    elif lever.is_share:
        st.slider(lever.label, 0.0, 1.0, step=lever.step, **kwargs)
    else:
        # Room above a large organisation's own value (sixty BRMs, teams of twenty).
        high = max(lever.high, 2 * float(base_value), float(value))
        if lever.kind == "int" and lever.key.startswith(HEADCOUNT_PREFIX):
            st.number_input(lever.label, min_value=0, max_value=int(high), step=1, **kwargs)
        elif lever.kind == "int":
            st.slider(lever.label, int(lever.low), int(high), step=int(lever.step), **kwargs)
        else:
            st.slider(lever.label, float(lever.low), float(high), step=float(lever.step), **kwargs)


def on_lever(target: str, lever: str, wkey: str, base_value: Any) -> None:
    """Record a lever's new value for ``target``; forget it when back at the scenario's own."""
    value = st.session_state[wkey]
    changes = common.lever_changes().setdefault(target, {})
    if value == base_value or (isinstance(value, float) and math.isclose(value, base_value)):
        changes.pop(lever, None)
    else:
        changes[lever] = value


def reset_levers(target: str) -> None:
    """Forget every lever change of ``target`` and its widgets' state."""
    common.lever_changes().pop(target, None)
    for key in [k for k in st.session_state if str(k).startswith(f"lv|{target}|")]:
        del st.session_state[key]


def levers_panel(keys: list[str]) -> None:
    """The levers of one chosen scenario, in the catalog's groups, with a reset button."""
    if st.session_state.get("cmp_target") not in keys:
        st.session_state.pop("cmp_target", None)  # it left the comparison
    target = st.selectbox(
        "Adjust the levers of", keys, format_func=lambda k: lib[k].label, key="cmp_target"
    )
    base = lib[target].scenario
    base_values = lever_values(base)
    current = {**base_values, **common.lever_changes().get(target, {})}
    levers = levers_for(base, current["structure"])
    heads = [lv for lv in levers if lv.key.startswith(HEADCOUNT_PREFIX)]
    for title in groups():
        st.markdown(f"**{title}**")
        for lever in levers:
            if lever.group == title and lever not in heads:
                lever_widget(target, lever, base_values[lever.key], current[lever.key])
        if heads and title == heads[0].group:
            with st.expander("Headcount per discipline"):
                for lever in heads:
                    lever_widget(target, lever, base_values[lever.key], current[lever.key])
    changed = common.lever_changes().get(target)
    if changed:
        said = relevant_changes(base, changed)
        st.caption(
            "Changed: " + (", ".join(change_phrase(k, v) for k, v in said.items()) or "nothing")
        )
    st.button(
        "Reset levers", on_click=reset_levers, args=(target,), disabled=not changed, width="stretch"
    )
    try:
        scenario = common.effective(target)
    except ScenarioError:
        return
    st.download_button(
        "Download this scenario (YAML)",
        common.effective_yaml(target),
        file_name=_file_name(scenario),
        mime="application/x-yaml",
        on_click="ignore",
        width="stretch",
        icon=":material/download:",
        help="The scenario with your levers, in the file format `python -m simulation` reads.",
    )


def equal_ways_of_working(
    scenarios: list[Scenario], texts: list[str], choice: str
) -> tuple[list[Scenario], list[str]]:
    """The organisations with the ways of working ``choice`` (:data:`WAYS_CHOICES`)
    applied to every one, and their YAML; an organisation whose ways of working change
    says so in its name."""
    if choice not in WAYS_CHOICES or choice == "own" or not scenarios:
        return scenarios, texts
    ways = ways_of_working(scenarios[0]) if choice == "baseline" else WAYS_LEVELS[choice]
    suffix = f" · {WAYS_CHOICES[choice][1]}"
    out_scenarios, out_texts = [], []
    for scenario, text in zip(scenarios, texts, strict=True):
        changed = with_ways_of_working(scenario, ways)
        if ways_of_working(changed) == ways_of_working(scenario):
            out_scenarios.append(scenario)
            out_texts.append(text)
            continue
        name = scenario.name[: MAX_NAME - len(suffix)] + suffix
        changed = changed.model_copy(update={"name": name})
        out_scenarios.append(changed)
        out_texts.append(changed.to_yaml())
    return out_scenarios, out_texts


def difference_markdown(names: list[str], scenarios: list[Scenario]) -> str:
    """What else differs besides the structure, as Markdown (``names`` Markdown-safe)."""
    first, *rest = difference_note(names, scenarios)
    if not rest:
        return first
    if not rest[0].startswith(" "):  # "The structure is the same." comes first
        first, rest = f"{first} {rest[0]}", rest[1:]
    return first + "\n" + "\n".join(f"- {line.strip()}" for line in rest)


def warmup_warning(runs: list[RunDigest]) -> str | None:
    """The warm-up line (issue 10) for one organisation's replicates: MSER-5 on their
    mean daily WIP, against the warm-up they ran with."""
    wip = wip_table([d.daily["wip"].to_numpy() for d in runs if "wip" in d.daily])
    return replicates_warmup_note(wip, runs[0].warmup, [d.kpis for d in runs]) if runs else None


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _file_name(scenario: Scenario) -> str:
    stem = "".join(c if c.isalnum() else "-" for c in scenario.name.lower()).strip("-")
    return f"{stem or 'scenario'}.yaml"


with st.sidebar:
    restore_from_link()
    st.subheader("Scenarios", anchor=False)
    picker = st.container()
    st.file_uploader(
        "Add your own scenario",
        type=["yaml", "yml"],
        key="cmp_upload",
        max_upload_size=common.MAX_UPLOAD_MB,
        help="A scenario file in the format of scenarios/*.yaml "
        f"(at most {common.MAX_UPLOAD_MB} MB).",
    )
    handle_upload()
    with picker:
        if "cmp_select" not in st.session_state:
            st.session_state["cmp_select"] = [k for k in common.selection() if k in lib]
        keys = st.multiselect(
            "Organisations to compare (the first is the baseline)",
            list(lib),
            format_func=lambda k: lib[k].label,
            max_selections=MAX_SCENARIOS,
            key="cmp_select",
            on_change=on_select,
        )
    st.selectbox(
        "Ways of working",
        list(WAYS_CHOICES),
        format_func=lambda choice: WAYS_CHOICES[choice][0],
        key="cmp_ways",
        help="Shared language, transparency, cross-skill, rotation, culture events, "
        "glossary and change management. The same for all shows what the structures "
        "alone do; compare an organisation with itself under another choice for the "
        "effect of the ways of working.",
    )
    st.subheader("Runs", anchor=False)
    first_seed = lib[keys[0]].scenario.seed if keys else 1
    if "cmp_seed" not in st.session_state:
        st.session_state["cmp_seed"] = first_seed
    if "cmp_reps" not in st.session_state:
        st.session_state["cmp_reps"] = 10
    replicates = st.slider(
        "Replicates per scenario",
        1,
        30,
        key="cmp_reps",
        help="Runs per scenario. Replicate i uses seed + i in every "
        "scenario, so differences come from the designs, not from luck.",
    )
    seed = int(st.number_input("First seed", min_value=0, step=1, key="cmp_seed"))
    run_clicked = st.button(
        "Run comparison", type="primary", width="stretch", icon=":material/play_arrow:"
    )
    if keys:
        st.subheader("Levers", anchor=False)
        levers_panel(keys)

if st.session_state.get("cmp_link_error"):
    st.error(st.session_state["cmp_link_error"], icon=":material/link_off:")

if not keys:
    st.info(
        "Pick at least one organisation in the sidebar (two or more to compare).",
        icon=":material/arrow_back:",
    )
    st.stop()

write_link(keys, replicates, seed)

# --------------------------------------------------------------------------- scenarios

scenarios: list[Scenario] = []
texts: list[str] = []
problems = []
for key in keys:
    try:
        texts.append(common.effective_yaml(key))
        scenarios.append(common.effective(key))
    except ScenarioError as exc:
        problems.append(common.plain(f"{lib[key].label} cannot run with these levers: {exc}"))
for problem in problems:
    st.error(problem, icon=":material/error:")
if problems:
    st.stop()
scenarios, texts = equal_ways_of_working(scenarios, texts, st.session_state.get("cmp_ways", "own"))

names = unique_names([s.name for s in scenarios])
structures = [s.structure for s in scenarios]
jobs = runner.replicate_jobs(texts, seed, replicates)
signature = tuple(jobs)

# --------------------------------------------------------------------------- running


result = runner.results(RESULT, jobs, len(names), run_clicked, names=names, structures=structures)

# What shows the results is imported once they are in, not at the top: pandas, SciPy
# and Altair take seconds to import on a busy two-core machine. At server start the
# warm-up thread (app.warm_server) imports them while the first visitor's runs go,
# instead of the runs waiting for them (the page above needs only scenarios and levers).
from simulation.analysis.comparison import (  # noqa: E402
    card,
    card_kpis,
    headline_table,
    runs_frame,
    summary_frame,
    summary_sentences,
)
from simulation.analysis.metrics import delivery_note, mode  # noqa: E402
from simulation.analysis.steady_state import replicates_overload_note  # noqa: E402
from simulation.analysis.transition_outcomes import (  # noqa: E402
    any_transition,
    kpi_table,
    sentences,
)
from simulation.analysis.warmup import replicates_warmup_note, wip_table  # noqa: E402
from simulation.catalog.kpis import TRANSITION  # noqa: E402
from ui import figures, why  # noqa: E402
from ui.robustness import how_sure_panel  # noqa: E402

colours = common.colours_for(names, structures)
# Notes that come and go keep a slot of their own either way: one that appeared or went
# would move every element below it, and the browser would build them all again.
stale_note = st.empty()
if result["signature"] != signature:
    stale_note.info(
        "You changed the organisations, levers or runs since these results. "
        "Press **Run comparison** to update them.",
        icon=":material/update:",
    )
    names, structures = result["names"], result["structures"]
    colours = common.colours_for(names, structures)

digests: list[list[RunDigest]] = result["digests"]
kpis = [[d.kpis for d in ds] for ds in digests]
runs_map = dict(zip(names, digests, strict=True))

# --------------------------------------------------------------------------- KPI cards

st.subheader("Headline results", anchor=False)
horizons = {(ds[0].horizon, ds[0].warmup) for ds in digests}
span = (
    f"{digests[0][0].horizon} working days each (the first {digests[0][0].warmup} are "
    "warm-up and left out)"
    if len(horizons) == 1
    else "each over its own horizon (warm-up left out)"
)
n_runs = len(digests[0])
base_note = (
    f"Changes are against {common.plain(names[0])}; green is better. " if len(names) > 1 else ""
)
seeds = [int(d.kpis["seed"]) for d in digests[0]]
seed_span = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
st.caption(
    f"{'Mean of ' + str(n_runs) + ' runs' if n_runs > 1 else 'One run'} per organisation, "
    f"{span}. {base_note}{_runs(result['runs'])} ({seed_span}) in "
    f"{result['seconds']:.1f} s ({result['cached']} from cache)."
)
# In a narrow card the two KPIs of a row would cut their labels and values short
# ("Lead ...", "17.8 ..."): they wrap to one a row instead. Four cards get smaller type.
CARD_CSS = (
    "<style>[class*='st-key-cmp_card_'] [data-testid='stHorizontalBlock'] "
    "{ flex-wrap: wrap; row-gap: .25rem; }"
    "[class*='st-key-cmp_card_'] [data-testid='stColumn'] { min-width: 8.5rem; }"
    + (
        "[data-testid='stMetricValue'] { font-size: 1.3rem; }"
        "[data-testid='stMetricLabel'] p { font-size: .8rem; }"
        if len(names) >= 4
        else ""
    )
    + "</style>"
)
st.html(CARD_CSS)
for i, column in enumerate(st.columns(len(names), gap="medium")):
    name = names[i]
    tier = mode([str(k.get("dora_tier", "n/a")) for k in kpis[i]])
    with column.container(border=True, key=f"cmp_card_{i}"):
        st.markdown(
            common.scenario_chip(name, colours[name])
            + f'<div class="cv-chip-detail">{structures[i]} · DORA tier {escape(tier)}'
            + (" · baseline" if i == 0 else f" · vs {escape(names[0])}")
            + "</div>",
            unsafe_allow_html=True,
        )
        overloaded = replicates_overload_note(kpis[i])
        if overloaded:
            st.warning(f"{common.plain(name)}: {overloaded}", icon=":material/warning:")
        warm = warmup_warning(digests[i])
        if warm:
            st.warning(f"{common.plain(name)}: {warm}", icon=":material/warning:")
        keys = card_kpis()
        for pair in (keys[j : j + 2] for j in range(0, len(keys), 2)):
            for cell, key in zip(st.columns(2, gap="small"), pair, strict=False):
                c = card(key, kpis[0] if i else None, kpis[i])
                if i == 0:  # a grey "baseline" keeps every column's cards the same height
                    c.update(delta="baseline", delta_color="off", delta_arrow="off")
                if overloaded and key.startswith("lead_time"):  # survivors only
                    c["label"] = f"{c['label']} (delivered only)"
                    c["help"] = f"{c['help'] or ''} Of delivered items only: {overloaded}."
                cell.metric(
                    c["label"],
                    c["value"],
                    c["delta"],
                    delta_color=c["delta_color"],
                    delta_arrow=c["delta_arrow"],
                    help=c["help"],
                )

with st.container(border=True):
    st.markdown("#### What the numbers say")
    shown = [common.plain(name) for name in names]  # Markdown-safe
    current = result["signature"] == signature  # the organisations in the sidebar ran
    said = summary_sentences(shown, kpis, scenarios if current else None)
    st.markdown("\n".join(f"- {line}" for line in said))
    difference_slot = st.empty()
    if current and len(scenarios) > 1:
        difference_slot.markdown(difference_markdown(shown, scenarios))
    for name, runs in zip(shown, kpis, strict=True):
        if runs and all(delivery_note(k) for k in runs):
            st.info(f"{name}: {delivery_note(runs[0])}", icon=":material/info:")
    transitions = any_transition(kpis)
    if transitions:
        st.markdown("**Over time**")
        st.markdown("\n".join(f"- {line}" for line in sentences(shown, kpis)))
    if len(names) > 1 and len(digests[0]) > 1:
        st.caption(
            "95% confidence intervals of differences are paired by seed: replicate i "
            "of every organisation runs with the same seed."
        )

if current and len(scenarios) > 1:  # issue 13: why each gap, on demand
    why.why_panel(names, scenarios, seed)
else:
    st.empty()  # the panel's slot, so that what follows keeps its place

# how sure (issue 13): the comparison tested against plausible worlds, on demand
how_sure_panel(scenarios, names, seed, current=result["signature"] == signature)

# --------------------------------------------------------------------------- charts

specs = figures.comparison_specs(
    result["signature"], tuple(names), tuple(structures), _digests=digests
)
changing = "productivity" in specs
MARKERS = (
    " Dashed lines mark scheduled changes, dotted ones PDCA trials (hover for what changed)."
    if changing
    else ""
)


def show(name: str, stretch: bool = True) -> None:
    """Draw one of the comparison's charts by name, full width unless ``stretch`` is false."""
    st.vega_lite_chart(spec=specs[name], width="stretch" if stretch else "content")


def show_flow(cumulative: bool) -> None:
    """Draw the flow of work's view chosen (built only when shown)."""
    flow = figures.flow_spec(
        result["signature"], tuple(names), tuple(structures), cumulative, _digests=digests
    )
    st.vega_lite_chart(spec=flow, width="stretch")


left, right = st.columns(2, gap="large")
with left:
    st.markdown("#### How long items take")
    st.caption(
        "Share of delivered items by lead time, all runs pooled (the axis stops at the "
        "99th percentile of all organisations); dashed: 85% of items are delivered "
        "within this many days."
    )
    show("lead")
with right:
    st.markdown("#### Throughput over time")
    st.caption(
        "New work delivered per week (incidents raised by escaped defects left out): "
        "mean across runs, shaded 95% confidence band." + MARKERS
    )
    show("throughput")

left, right = st.columns(2, gap="large")
with left:
    st.markdown("#### Customer experience over time")
    st.caption("CX index (0-100, trailing 30 days): mean across runs, shaded 95% band." + MARKERS)
    show("cx")
with right:
    st.markdown("#### Where the effort goes")
    st.caption(
        "Staff time at work after warm-up: value work, avoidable rework (wasted "
        "work, rework and fixing escaped defects), misaligned IT work and "
        "coordination."
    )
    show("effort")

if changing:
    st.markdown("#### Lead time over time")
    st.caption(
        "Mean lead time of the items delivered in the last 20 days, mean across runs "
        "with its 95% band." + MARKERS
    )
    show("lead_over_time")
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("#### Productivity: the J-curve")
        st.caption(
            "Share of normal working capacity: after a change people learn new teams and "
            "ways of working, then recover. Mean across runs, shaded 95% band."
        )
        show("productivity")
    with right:
        st.markdown("#### What changed when")
        st.caption("Scheduled changes, and the trials of PDCA policies (in how many runs).")
        log = figures.change_log(result["signature"], tuple(names), _digests=digests)
        st.dataframe(
            log.rename(columns={"scenario": "Organisation", "change_day": "Day", "what": "Change"})[
                ["Day", "Organisation", "Change"]
            ],
            hide_index=True,
            width="stretch",
            height=320,
            column_config={"Day": st.column_config.NumberColumn(format="%d", width="small")},
        )

st.markdown("#### Flow of work")
if "cmp_flow_view" not in st.session_state:
    st.session_state["cmp_flow_view"] = "Work in progress by state"
view = st.segmented_control(
    "View",
    ["Work in progress by state", "Cumulative flow"],
    key="cmp_flow_view",
    label_visibility="collapsed",
)
if view == "Cumulative flow":
    st.caption(
        "Cumulative flow: items delivered so far (grey) and, stacked on them, the "
        "items still open by where they are; the top edge is all items that "
        "arrived. Mean across runs."
        + (" Dark lines: the days the organisation changed." if changing else "")
    )
    show_flow(cumulative=True)
else:
    st.caption(
        "Open items by where they are, mean across runs: orange is work waiting in "
        "a queue, violet is work travelling between units, blue is being worked on."
        + (" Dark lines: the days the organisation changed." if changing else "")
    )
    show_flow(cumulative=False)

st.markdown("#### Utilisation and queues per unit")
st.caption(
    "How busy each department or team is and how many items wait for it, mean "
    "after warm-up; every organisation's queues on one scale. The bottleneck is the unit "
    "most runs find busiest."
)
show("units")

# --------------------------------------------------------------------------- details

with st.expander("All KPIs with 95% confidence intervals, and downloads"):
    # the transition KPIs have their own table, in their own units
    table = headline_table(names, kpis, exclude=(TRANSITION,))
    present = ~(table[names] == "n/a").all(axis=1)  # KPIs no organisation here has
    st.dataframe(table[present], hide_index=True, width="stretch")
    if transitions:
        st.markdown("**Transition** (the path: dips, recovery and what it cost)")
        st.dataframe(kpi_table(names, kpis), hide_index=True, width="stretch")
    c1, c2 = st.columns(2)
    # The files are made when asked for (a callable), not on every run of the page:
    # the summary's intervals alone took a tenth of a second per comparison.
    c1.download_button(
        "Download every run (CSV)",
        lambda: runs_frame(names, kpis).to_csv(index=False),
        file_name="converge-runs.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
    )
    c2.download_button(
        "Download the summary (CSV)",
        lambda: summary_frame(names, kpis).to_csv(index=False),
        file_name="converge-summary.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
    )
