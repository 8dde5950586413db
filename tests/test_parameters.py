"""The parameter catalog covers the scenario schema exactly, agrees with its defaults
and bounds, gives every entry a unit and a source, and the command line prints it."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import subprocess
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path

import annotated_types
import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from simulation import cli
from simulation.catalog.parameters import MECHANISMS, PARAMETERS, REASONED, Parameter
from simulation.inputs.scenario import Scenario
from simulation.presentation.parameter_table import REGENERATE

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "parameters.md"

#: A publication: authors, a year, then the title ("Brooks 1975, The Mythical ...").
CITATION = re.compile(r"^[A-Z][\w'&,. -]* (19|20)\d\d, [A-Z]")


def _unwrap_optional(annotation: typing.Any) -> typing.Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return _unwrap_optional(rest[0])
    return annotation


def _is_model(annotation: typing.Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def schema_leaves(
    model: type[BaseModel] = Scenario, prefix: str = ""
) -> Iterator[tuple[str, FieldInfo]]:
    """(path, field) of every leaf of the schema, in the catalog's notation: list items
    as ``[]``, mapping keys as ``*``."""
    for name, field in model.model_fields.items():
        annotation = _unwrap_optional(field.annotation)
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if _is_model(annotation):
            yield from schema_leaves(annotation, f"{prefix}{name}.")
        elif origin is list and _is_model(args[0]):
            yield from schema_leaves(args[0], f"{prefix}{name}[].")
        elif origin is dict:
            yield f"{prefix}{name}.*", field
        else:
            yield f"{prefix}{name}", field


SCHEMA = dict(schema_leaves())
CATALOG = {p.path: p for p in PARAMETERS}


def schema_default(field: FieldInfo) -> typing.Any:
    return None if field.is_required() else field.get_default(call_default_factory=True)


def scenario_value(path: str) -> typing.Any:
    node: typing.Any = Scenario().model_dump(mode="python")
    for part in path.split("."):
        node = node[part]
    return node


def schema_bounds(field: FieldInfo) -> tuple[float, float]:
    low, high = -math.inf, math.inf
    for bound in field.metadata:
        if isinstance(bound, annotated_types.Ge | annotated_types.Gt):
            low = bound.ge if isinstance(bound, annotated_types.Ge) else bound.gt
        if isinstance(bound, annotated_types.Le | annotated_types.Lt):
            high = bound.le if isinstance(bound, annotated_types.Le) else bound.lt
    return low, high


def test_the_walk_reaches_nested_lists_and_mappings():
    # a walk that stopped early would make the coverage test pass on nothing
    assert len(SCHEMA) > 100
    for path in (
        "mechanisms.rework.p_business_it",
        "work_types[].route[].effort.cv",
        "changes[].teams[].members.*",
        "changes[].levers.glossary",
        "pdca.levers[].step",
    ):
        assert path in SCHEMA


def test_every_schema_field_has_exactly_one_entry():
    paths = [p.path for p in PARAMETERS]
    duplicated = sorted({p for p in paths if paths.count(p) > 1})
    missing = sorted(set(SCHEMA) - set(paths))
    unknown = sorted(set(paths) - set(SCHEMA))
    assert not duplicated, f"listed twice: {duplicated}"
    assert not missing, f"schema fields with no catalog entry: {missing}"
    assert not unknown, f"catalog entries that name no schema field: {unknown}"


@pytest.mark.parametrize("path", sorted(SCHEMA))
def test_default_is_the_schemas(path):
    entry, expected = CATALOG[path], schema_default(SCHEMA[path])
    assert (entry.default, type(entry.default)) == (expected, type(expected))
    if "[]" not in path and not path.endswith("*"):
        assert entry.default == scenario_value(path)


@pytest.mark.parametrize("entry", PARAMETERS, ids=lambda p: p.path)
def test_range_holds_the_default_inside_the_schemas_bounds(entry: Parameter):
    if entry.kind != "parameter":
        assert entry.low is None and entry.high is None, "only parameters have a range"
        return
    assert isinstance(entry.default, int | float) and not isinstance(entry.default, bool)
    assert entry.low is not None and entry.high is not None
    assert entry.low <= entry.default <= entry.high
    assert entry.low < entry.high
    field = SCHEMA[entry.path]
    low, high = schema_bounds(field)
    assert low <= entry.low and entry.high <= high
    for bound in field.metadata:  # a strict bound is not a value one may set
        if isinstance(bound, annotated_types.Gt):
            assert entry.low > bound.gt
        if isinstance(bound, annotated_types.Lt):
            assert entry.high < bound.lt


@pytest.mark.parametrize("entry", PARAMETERS, ids=lambda p: p.path)
def test_entry_has_a_unit_a_source_and_a_description(entry: Parameter):
    assert entry.unit.strip()
    assert entry.description.strip().endswith((".", ")"))
    assert entry.mechanism in MECHANISMS
    if entry.published:
        assert CITATION.match(entry.source), f"not a citation: {entry.source!r}"
    else:
        reason = entry.source.removeprefix(REASONED).strip()
        assert len(reason.split()) >= 3, "a reasoned estimate says why"
    assert entry.source.endswith(".")


def values_at(node: typing.Any, parts: list[str]) -> Iterator[typing.Any]:
    """Every value a catalog path names in a dumped scenario (all items, all keys)."""
    if node is None:
        return
    if not parts:
        yield node
        return
    head, *rest = parts
    if head == "*":
        for value in node.values():
            yield from values_at(value, rest)
    elif head.endswith("[]"):
        for item in node[head.removesuffix("[]")]:
            yield from values_at(item, rest)
    else:
        yield from values_at(node[head], rest)


#: Ranges that scale with the organisation, and the ready-made scenarios that scale it
#: (large_enterprise is the default organisation twentyfold, with 60 BRMs).
SCALED_UP = {"large_enterprise": {"brms.count"}}


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml")))
def test_ready_made_scenarios_lie_in_the_plausible_ranges(name):
    data = Scenario.from_file(ROOT / "scenarios" / f"{name}.yaml").model_dump()
    outside = [
        f"{entry.path} = {value}"
        for entry in PARAMETERS
        if entry.kind == "parameter" and entry.path not in SCALED_UP.get(name, set())
        for value in values_at(data, entry.path.split("."))
        if value is not None and not entry.low <= value <= entry.high
    ]
    assert not outside, f"{name}: outside the catalog's plausible range: {outside}"


def test_mechanism_sections_are_named_after_the_schema():
    for entry in PARAMETERS:
        if entry.path.startswith("mechanisms."):
            assert entry.mechanism == entry.path.split(".")[1]
    assert set(MECHANISMS) >= set(Scenario().mechanisms.model_dump())


def parameters_cli(capsys, *args: str) -> str:
    assert cli.main(["parameters", *args]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "markdown"])
def test_cli_prints_every_path(capsys, fmt):
    out = parameters_cli(capsys, "--format", fmt)
    for entry in PARAMETERS:
        assert entry.path in out


def test_table_is_the_default_format(capsys):
    assert parameters_cli(capsys) == parameters_cli(capsys, "--format", "table")


def test_csv_parses_back(capsys):
    rows = list(csv.DictReader(io.StringIO(parameters_cli(capsys, "--format", "csv"))))
    assert [row["path"] for row in rows] == [p.path for p in PARAMETERS]
    for row, entry in zip(rows, PARAMETERS, strict=True):
        assert row["source"] == entry.source
        assert row["published"] == str(entry.published)
        if entry.kind == "parameter":
            assert float(row["low"]) == entry.low and float(row["high"]) == entry.high
            assert float(row["default"]) == entry.default


def test_json_parses_back(capsys):
    records = json.loads(parameters_cli(capsys, "--format", "json"))
    assert [Parameter(**{k: v for k, v in r.items() if k != "published"}) for r in records] == [
        *PARAMETERS
    ]
    assert [r["published"] for r in records] == [p.published for p in PARAMETERS]


def test_mechanism_option_keeps_only_that_mechanism(capsys):
    records = json.loads(parameters_cli(capsys, "--format", "json", "--mechanism", "rework"))
    assert [r["path"] for r in records] == [
        p.path for p in PARAMETERS if p.path.startswith("mechanisms.rework.")
    ]


@pytest.mark.parametrize(
    ("args", "option"),
    [(["--format", "xml"], "--format"), (["--mechanism", "teleport"], "--mechanism")],
)
def test_unknown_format_or_mechanism_is_one_line(capsys, args, option):
    assert cli.main(["parameters", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"error: {option}: '{args[1]}' is not a")


def test_docs_page_is_up_to_date(capsys):
    expected = parameters_cli(capsys, "--format", "markdown")
    assert DOCS.read_text(encoding="utf-8") == expected, (
        f"docs/parameters.md is out of date with the catalog; regenerate it: {REGENERATE}"
    )


def test_readme_links_the_command_and_counts_sources():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    published = sum(p.published for p in PARAMETERS)
    assert "python -m simulation parameters" in readme
    assert "(docs/parameters.md)" in readme
    assert re.search(rf"{len(PARAMETERS)}\s+entries", readme)
    assert f"{published} name a published source" in readme
    assert f"{len(PARAMETERS) - published} are reasoned estimates" in readme


def test_help_names_the_formats(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["parameters", "--help"])
    assert done.value.code == 0
    assert "table|csv|json|markdown" in capsys.readouterr().out


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """`python -m simulation parameters | head -1` must not print 'error: Broken pipe'."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write: EPIPE, every time
    try:
        done = subprocess.run(
            [sys.executable, "-m", "simulation", "parameters"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            text=True,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 1
