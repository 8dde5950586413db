"""Fair comparisons by construction (issue 10): the ready-made structures differ only in
their structure, the ways of working are a dimension of their own, each has its own
effect with a paired 95% interval, and compare and the summary say what else differs."""

from __future__ import annotations

import math

import pytest

from simulation.analysis.comparison import paired_change, summary_sentences
from simulation.analysis.differences import (
    BESIDES,
    ONLY_STRUCTURE,
    difference_note,
    differences,
    resolved_fields,
)
from simulation.catalog.levers import (
    FIELD_DIMENSIONS,
    LEVERS,
    MEASUREMENT,
    STAFFING,
    STRUCTURE,
    WAYS,
    dimension,
    ways_of_working_levers,
)
from simulation.inputs.scenario import Scenario, with_overrides
from simulation.running.runs import run_replicates
from tests.conftest import READY_MADE_NAMES, SCENARIOS, cli, open_app, ready_made, short

STRUCTURES = ("siloed", "aligned", "converged")
MATURE = tuple(f"{name}_mature" for name in STRUCTURES)
REPLICATES = 6
DAYS = 150


# --------------------------------------------------------------------------- the catalog


def test_the_catalog_names_the_ways_of_working_of_the_issue():
    ways = {entry.key for entry in ways_of_working_levers()}
    assert {"shared_language", "transparency", "rotation", "culture", "glossary"} <= ways
    assert {"structure", "team_size", "brms", "priorities"}.isdisjoint(ways)
    assert dimension("levers.prioritisation") == STRUCTURE  # shared priorities: "aligned"
    assert dimension("brms.count") == dimension("brms.mediation_days") == STRUCTURE


@pytest.mark.parametrize("name", READY_MADE_NAMES)
def test_every_field_of_every_ready_made_scenario_has_a_listed_dimension(name):
    lever_paths = {entry.path for entry in LEVERS}
    for path in resolved_fields(ready_made(name)):
        top = path.split(".")[0]
        assert path in lever_paths or top in FIELD_DIMENSIONS, path


# --------------------------------------------------------------------------- the files


@pytest.mark.parametrize("group", [STRUCTURES, MATURE])
def test_ready_made_structures_differ_only_in_their_structure(group):
    found = differences([ready_made(name) for name in group])
    # besides the structure, at most when measurement starts (siloed fills up later)
    assert found and {d.dimension for d in found} - {MEASUREMENT} == {STRUCTURE}
    assert {d.field for d in found if d.dimension == MEASUREMENT} <= {"warmup_days"}


@pytest.mark.parametrize("name", STRUCTURES)
def test_mature_variants_differ_only_in_ways_of_working(name):
    found = differences([ready_made(name), ready_made(f"{name}_mature")])
    found = [d for d in found if d.dimension != MEASUREMENT]
    assert {d.field for d in found} == {"levers.shared_language", "levers.transparency"}
    assert {d.dimension for d in found} == {WAYS}


def test_brm_bottleneck_differs_from_aligned_only_in_its_brms():
    found = differences([ready_made("aligned"), ready_made("brm_bottleneck")])
    assert {d.field for d in found} == {"brms.count", "brms.mediation_days"}


@pytest.mark.parametrize("name", STRUCTURES + MATURE)
def test_each_file_says_what_defines_its_structure(name):
    text = (SCENARIOS / f"{name}.yaml").read_text()
    assert "define the structure" in text or "defines the structure" in text


# --------------------------------------------------------------------------- the diff


def test_the_diff_reports_exactly_the_fields_that_differ():
    base = ready_made("siloed")
    other = with_overrides(
        base,
        {
            "levers.transparency": 0.5,
            "disciplines.dev.headcount": 30,
            "structure": "converged",
            "name": "Another name",
        },
    )
    found = {d.field: d for d in differences([base, other])}
    # the name is a label; siloed.yaml sets its prioritisation, so it stays fifo
    assert set(found) == {"levers.transparency", "disciplines.dev.headcount", "structure"}
    assert found["levers.transparency"].dimension == WAYS
    assert found["levers.transparency"].values == (0.2, 0.5)
    assert found["disciplines.dev.headcount"].dimension == STAFFING
    assert found["structure"].dimension == STRUCTURE


def test_an_unset_prioritisation_is_compared_as_the_one_in_effect():
    implicit = Scenario(structure="siloed")
    explicit = Scenario(structure="siloed", levers={"prioritisation": "fifo"})
    assert differences([implicit, explicit]) == []


def test_the_note_lists_ways_of_working_per_scenario():
    names = ["Silo", "Teams"]
    teams = ready_made("converged_mature").model_copy(update={"warmup_days": 20})
    note = difference_note(names, [ready_made("siloed"), teams])
    assert note[0] == BESIDES
    assert "  ways of working: levers.shared_language: 0.2 (Silo), 0.5 (Teams)" in note
    assert "  ways of working: levers.transparency: 0.2 (Silo), 0.6 (Teams)" in note
    # the structure's own fields are not listed; when measurement starts is, apart
    assert len([line for line in note if "own warm-up" not in line]) == 3
    assert "  each measured after its own warm-up: warmup_days: 60 (Silo), 20 (Teams)" in note
    fair = difference_note(names, [ready_made("siloed"), ready_made("converged")])
    assert fair == [ONLY_STRUCTURE]  # both measured after 60 days


# --------------------------------------------------------------------------- the summary


def _runs(lead: float) -> list[dict]:
    return [
        {"lead_time_mean": lead + i, "cost_total": 100.0, "dora_tier": "high"} for i in range(3)
    ]


def test_the_summary_calls_a_gap_the_structures_only_when_nothing_else_differs():
    runs = [_runs(20.0), _runs(10.0)]
    names = ["Silo", "Teams"]
    fair = summary_sentences(names, runs, [ready_made("siloed"), ready_made("converged")])
    assert "this is the structure's effect" in fair[1]
    mixed = summary_sentences(names, runs, [ready_made("siloed"), ready_made("converged_mature")])
    assert "structure's effect" not in mixed[1]
    assert "structure and ways of working" in mixed[1]
    assert "shared language 0.2 vs 0.5" in mixed[1]
    assert "not the structure's alone" in mixed[1]
    within = summary_sentences(names, runs, [ready_made("siloed"), ready_made("siloed_mature")])
    assert "only the ways of working" in within[1] and "structure's effect" not in within[1]


# --------------------------------------------------------------------------- compare


def test_compare_prints_what_else_differs():
    args = ("--replicates", "2", "--days", "30")
    mixed = cli(
        "compare", str(SCENARIOS / "siloed.yaml"), str(SCENARIOS / "converged_mature.yaml"), *args
    )
    assert mixed.returncode == 0, mixed.stderr
    assert BESIDES in mixed.stdout
    assert "levers.shared_language: 0.2 (Siloed departments), 0.5 (" in mixed.stdout
    fair = cli("compare", str(SCENARIOS / "siloed.yaml"), str(SCENARIOS / "converged.yaml"), *args)
    assert fair.returncode == 0, fair.stderr
    assert ONLY_STRUCTURE in fair.stdout and BESIDES not in fair.stdout


# --------------------------------------------------------------------------- the effects


@pytest.fixture(scope="module")
def lead_times() -> dict[str, list[dict]]:
    """KPIs of paired replicates (same seeds) of the three structures at both levels
    of ways of working, over a shortened horizon."""
    names = STRUCTURES + MATURE
    runs = run_replicates([short(ready_made(n), DAYS) for n in names], REPLICATES, seed=11)
    return dict(zip(names, runs, strict=True))


def _difference(lead_times, base: str, other: str) -> tuple[float, float, float]:
    return paired_change(lead_times[base], lead_times[other], "lead_time_mean", relative=False)


@pytest.mark.parametrize("ways", ["", "_mature"])
@pytest.mark.parametrize("structure", ["aligned", "converged"])
def test_structure_has_its_own_effect_at_equal_ways_of_working(lead_times, structure, ways):
    mean, low, high = _difference(lead_times, f"siloed{ways}", f"{structure}{ways}")
    assert not math.isnan(low)
    assert high < 0, (mean, low, high)  # faster than siloed, the 95% CI excludes zero


@pytest.mark.parametrize("structure", STRUCTURES)
def test_ways_of_working_have_their_own_effect_within_a_structure(lead_times, structure):
    mean, low, high = _difference(lead_times, structure, f"{structure}_mature")
    assert not math.isnan(low)
    assert high < 0, (mean, low, high)  # mature ways of working are faster, CI excludes 0


# --------------------------------------------------------------------------- the app


def test_compare_page_holds_ways_of_working_equal_and_says_what_else_differs():
    at = open_app(s="siloed,converged_mature", r="1", seed="7")
    assert not at.exception and not at.error
    said = " ".join(m.value for m in at.markdown)
    assert BESIDES in said and "levers.shared_language: 0.2 (Siloed departments)" in said
    assert "not the structure's alone" in said
    at.selectbox(key="cmp_ways").select("mature").run()
    next(b for b in at.button if b.label == "Run comparison").click().run()
    assert not at.exception and not at.error
    said = " ".join(m.value for m in at.markdown)
    assert ONLY_STRUCTURE in said and "this is the structure's effect" in said
    assert "Siloed departments · mature ways" in said  # the changed one says so
