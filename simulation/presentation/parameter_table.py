"""The parameter catalog for people and programs: a text table, CSV, JSON, and the
Markdown page ``docs/parameters.md``.

Every format holds every entry it is given, in catalog order; CSV and JSON carry all
fields of an entry (and whether its source is published) so that they parse back.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields

from simulation.catalog.parameters import Default, Parameter

#: The command that writes docs/parameters.md; the page names it and a test runs it.
REGENERATE = "python -m simulation parameters --format markdown > docs/parameters.md"


def as_csv(parameters: Sequence[Parameter]) -> str:
    """One row per entry with every field; an empty cell is ``None``."""
    columns = [f.name for f in fields(Parameter)] + ["published"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for parameter in parameters:
        writer.writerow(_record(parameter))
    return out.getvalue().rstrip("\n")


def as_json(parameters: Sequence[Parameter]) -> str:
    """A JSON list of entries, each with every field and ``published``."""
    return json.dumps([_record(p) for p in parameters], indent=2)


def as_text(parameters: Sequence[Parameter]) -> str:
    """A table for the terminal: one section per mechanism, the source in full."""
    header = ["path", "kind", "default", "range", "unit", "source"]
    rows: list[list[str]] = []
    for mechanism, group in _by_mechanism(parameters):
        rows.append([mechanism])
        rows += [
            [f"  {p.path}", p.kind, format_value(p.default), _range(p), p.unit, p.source]
            for p in group
        ]
    widths = [max(len(row[i]) for row in [header, *rows] if len(row) > 1) for i in range(5)]

    def line(cells: list[str]) -> str:
        if len(cells) == 1:
            return cells[0]
        padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=False)]
        return "  ".join([*padded, cells[-1]])

    rule = "  ".join("-" * width for width in widths) + "  ------"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def as_markdown(parameters: Sequence[Parameter]) -> str:
    """The page docs/parameters.md: what the columns mean, then a table per mechanism."""
    published = sum(p.published for p in parameters)
    kinds = {kind: sum(p.kind == kind for p in parameters) for kind in _KIND_WORDS}
    counts = ", ".join(f"{n} {_KIND_WORDS[kind]}" for kind, n in kinds.items())
    lines = [
        "# Parameters",
        "",
        "Every field of a scenario file, with its default, the range a sensitivity "
        "analysis should cover, its unit and where its value comes from. Generated from "
        "`simulation/catalog/parameters.py` (edit the catalog, not this page) by",
        "",
        f"    {REGENERATE}",
        "",
        f"{len(parameters)} fields: {counts}. {published} name a published source; "
        f"{len(parameters) - published} are reasoned estimates, each with its reason.",
        "",
        "- **path**: dotted, as in experiment files. `[]` stands for any item of a list "
        "(an experiment names the item: `disciplines.dev.headcount`), `*` for any key of "
        "a mapping (a discipline's name).",
        "- **kind**: *parameter*, a number of the model with a plausible range; *setting*, "
        "a switch, a choice, a run setting or a fact about the organisation modelled, with "
        "no generic range; *identifier*, a name or label with no effect on results.",
        "- **default**: the schema's; `-` when the field is required (each item states "
        "it) or, in a scheduled change, left as it was.",
        "- **range**: plausible values for a sensitivity analysis, inside the input limits "
        "of `simulation/limits.py`.",
        "- **source**: a publication (author year, title), or *reasoned estimate* and why.",
    ]
    for mechanism, group in _by_mechanism(parameters):
        lines += [
            "",
            f"## {mechanism}",
            "",
            "| path | kind | default | range | unit | description | source |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            "| "
            + " | ".join(
                _cell(text)
                for text in (
                    f"`{p.path}`",
                    p.kind,
                    format_value(p.default),
                    _range(p),
                    p.unit,
                    p.description,
                    p.source,
                )
            )
            + " |"
            for p in group
        ]
    return "\n".join(lines)


#: The formats of ``python -m simulation parameters --format``.
FORMATS: dict[str, Callable[[Sequence[Parameter]], str]] = {
    "table": as_text,
    "csv": as_csv,
    "json": as_json,
    "markdown": as_markdown,
}


def format_value(value: Default) -> str:
    """A default as a scenario file spells it; ``-`` for none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        return f"{value:,g}"
    return value if value else '""'


_KIND_WORDS = {"parameter": "parameters", "setting": "settings", "identifier": "identifiers"}


def _record(parameter: Parameter) -> dict[str, object]:
    return {**asdict(parameter), "published": parameter.published}


def _range(parameter: Parameter) -> str:
    if parameter.low is None or parameter.high is None:
        return ""
    return f"{format_value(parameter.low)} to {format_value(parameter.high)}"


def _by_mechanism(parameters: Sequence[Parameter]) -> list[tuple[str, list[Parameter]]]:
    groups: dict[str, list[Parameter]] = {}
    for parameter in parameters:
        groups.setdefault(parameter.mechanism, []).append(parameter)
    return list(groups.items())


def _cell(text: str) -> str:
    # a '|' inside a cell would end it
    return text.replace("|", "\\|")
