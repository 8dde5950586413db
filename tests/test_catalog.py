"""The catalog of KPIs and levers: declared once, true to the model and the schema, and
the one place a newcomer edits to add a KPI."""

from __future__ import annotations

import math
import typing
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel

from simulation import cli
from simulation.analysis import metrics
from simulation.analysis.comparison import card, card_kpis, headline_table
from simulation.catalog import kpis as catalog
from simulation.catalog import levers as lever_catalog
from simulation.inputs.scenario import PDCA, Change, LeverChanges, Scenario
from simulation.running import runs as running
from simulation.running.runs import run_scenario
from simulation.running.sweep_results import kpi_columns
from tests.conftest import SCENARIOS, ready_made, short

NEW_KPI = catalog.Kpi(
    "handoffs_per_item",
    "Handoffs per item",
    "handoffs",
    False,
    catalog.ORGANISATION,
    card="Handoffs",
    sweep=True,
)


@pytest.fixture(scope="module")
def transition_and_pdca_kpis() -> list[dict[str, Any]]:
    """The KPI records of a run with scheduled changes and of one with a PDCA policy:
    between them, every KPI compute_kpis knows."""
    return [run_scenario(ready_made(name)).kpis for name in ("transition_stepwise", "pdca")]


# --------------------------------------------------------------------------- KPIs


def test_every_kpi_computed_is_in_the_catalog_and_every_entry_is_computed(
    transition_and_pdca_kpis,
):
    computed = set().union(*transition_and_pdca_kpis) - set(catalog.RUN_FIELDS)
    declared = {entry.key for entry in catalog.KPIS}
    assert computed - declared == set(), "computed but not in the catalog"
    assert declared - computed == set(), "in the catalog but never computed"
    assert len(declared) == len(catalog.KPIS), "a KPI is declared twice"


def test_pdca_targets_of_the_schema_are_the_catalogs():
    allowed = typing.get_args(PDCA.model_fields["target"].annotation)
    assert set(allowed) == set(catalog.pdca_targets())
    for key in allowed:  # the policy needs to know which way is better
        assert catalog.kpi(key).higher_is_better is not None


def test_shares_read_as_differences_and_sections_keep_their_order():
    assert catalog.percent_kpis() <= catalog.difference_kpis()
    # every section's KPIs sit together in the catalog, so every table reads in order
    in_tables = [k.section for k in catalog.KPIS if k.section]
    assert in_tables == sorted(in_tables, key=list(dict.fromkeys(in_tables)).index)
    with pytest.raises(KeyError, match="unknown KPI 'nope'"):
        catalog.kpi("nope")


def test_a_kpi_added_to_the_catalog_shows_in_run_compare_analyze_and_the_app(monkeypatch, capsys):
    """Issue 9's "done when": a KPI is its catalog entry and the line computing it."""
    monkeypatch.setattr(catalog, "KPIS", (*catalog.KPIS, NEW_KPI))
    compute = metrics.compute_kpis

    def with_new_kpi(records):
        kpis = compute(records)
        handoffs = sum(kpis[f"{kind}_handoffs"] for kind in ("team", "cross_unit", "business_it"))
        kpis[NEW_KPI.key] = handoffs / max(kpis["delivered"], 1)
        return kpis

    monkeypatch.setattr(running, "compute_kpis", with_new_kpi)

    # run: the command line's table
    assert cli.main(["run", str(SCENARIOS / "siloed.yaml"), "--days", "40"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "Handoffs per item" in line)
    *_, unit, value = row.split()
    assert unit == "handoffs" and value != "n/a"

    # compare: replicates of two organisations, with the change against the first
    runs = [
        [run_scenario(short(ready_made(name), 40), seed=seed).kpis for seed in (1, 2)]
        for name in ("siloed", "converged")
    ]
    assert all(NEW_KPI.key in k for rs in runs for k in rs)
    table = cli.kpi_table_replicates(runs, ["Siloed", "Converged"])
    row = next(line for line in table.splitlines() if "Handoffs per item" in line)
    assert row.rstrip().endswith("%") and "[" in row
    assert table.index("Handoffs per item") > table.index(catalog.ORGANISATION)

    # analyze: a sweep's default KPIs and the KPIs its results page offers first
    assert NEW_KPI.key in catalog.sweep_kpis()
    results = pd.DataFrame([{**k, "status": "ok"} for rs in runs for k in rs])
    offered = kpi_columns(results)
    assert offered.index(NEW_KPI.key) < offered.index("lead_time_p50")  # with the defaults

    # the app: the KPI table and a card of each organisation
    app_table = headline_table(["Siloed", "Converged"], runs).set_index("KPI")
    assert app_table.loc["Handoffs per item", "unit"] == "handoffs"
    assert app_table.loc["Handoffs per item", "Siloed"] != "n/a"
    assert NEW_KPI.key in card_kpis()
    shown = card(NEW_KPI.key, runs[0], runs[1])
    assert shown["label"] == "Handoffs" and shown["delta_color"] in ("inverse", "off")
    assert "Lower is better" in shown["help"]


def test_without_the_entry_the_kpi_shows_nowhere(monkeypatch, capsys):
    """The other half of the test above: the tables show what the catalog says."""
    monkeypatch.setattr(catalog, "KPIS", tuple(k for k in catalog.KPIS if k.key != "roi"))
    runs = [[{"roi": 0.5, "lead_time_mean": 10.0}]]
    assert "ROI" not in cli.kpi_table(runs[0], ["A"])
    assert "ROI (value / cost)" not in set(headline_table(["A"], runs)["KPI"])
    assert "roi" not in card_kpis() and "roi" not in catalog.sweep_kpis()
    monkeypatch.setattr(
        catalog,
        "KPIS",
        tuple(replace(k, section=None) if k.key == "roi" else k for k in catalog.KPIS),
    )
    assert "ROI" not in cli.kpi_table(runs[0], ["A"])


# --------------------------------------------------------------------------- levers


def field_of(path: str) -> tuple[Any, list[Any]]:
    """The type and the metadata (bounds) of the schema field at a dotted lever path;
    a list is indexed by a name (``disciplines.dev.headcount``)."""
    model: Any = Scenario
    annotation, metadata = None, []
    parts = path.split(".")
    i = 0
    while i < len(parts):
        assert isinstance(model, type) and issubclass(model, BaseModel), path
        assert parts[i] in model.model_fields, f"{path}: no field {parts[i]!r}"
        info = model.model_fields[parts[i]]
        annotation, metadata = info.annotation, list(info.metadata)
        if typing.get_origin(annotation) is list:
            (annotation,) = typing.get_args(annotation)
            i += 1  # the name of an element
        model = annotation
        i += 1
    return annotation, metadata


def all_levers() -> list[lever_catalog.Lever]:
    return [*lever_catalog.LEVERS, lever_catalog.headcount_lever("dev")]


@pytest.mark.parametrize("lever", all_levers(), ids=lambda lever: lever.key)
def test_every_lever_is_a_schema_field_and_its_range_lies_within_the_fields(lever):
    annotation, metadata = field_of(lever.path)
    args = {a for a in typing.get_args(annotation) if a is not type(None)}
    if lever.kind == "choice":
        options = set().union(*(typing.get_args(a) or {a} for a in args)) if args else set()
        assert set(lever.options) <= options, f"{lever.key}: options outside the schema"
        return
    if lever.kind == "toggle":
        assert annotation is bool
        return
    bounds = {type(m): m for m in metadata}
    low = bounds.get(Ge, bounds.get(Gt))
    high = bounds.get(Le, bounds.get(Lt))
    assert low is not None and high is not None, f"{lever.path} has no bounds"
    assert lever.low >= getattr(low, "ge", getattr(low, "gt", -math.inf))
    assert lever.high <= getattr(high, "le", getattr(high, "lt", math.inf))
    assert lever.low < lever.high and 0 < lever.step <= lever.high - lever.low
    if lever.kind == "int":
        assert annotation is int


@pytest.mark.parametrize("lever", all_levers(), ids=lambda lever: lever.key)
def test_what_a_lever_costs_and_where_a_change_sets_it_are_schema_fields(lever):
    if lever.cost is not None:
        field_of(lever.cost)
    if lever.change_field is not None:
        field, _, name = lever.change_field.partition(".")
        assert field in Change.model_fields
        assert not name or name in LeverChanges.model_fields
    assert set(lever.structures) <= set(lever_catalog.STRUCTURES)


def test_pdca_steps_are_paths_a_policy_may_change():
    scenario = ready_made("siloed")
    for path, step in lever_catalog.pdca_steps().items():
        assert step != 0
        policy = {"enabled": True, "levers": [{"path": path, "step": step}]}
        Scenario.model_validate({**scenario.model_dump(mode="json"), "pdca": policy})


def test_unknown_levers_are_refused_by_name():
    with pytest.raises(KeyError, match="unknown lever 'nope'"):
        lever_catalog.lever("nope")
    assert lever_catalog.lever("headcount.ops").path == "disciplines.ops.headcount"
