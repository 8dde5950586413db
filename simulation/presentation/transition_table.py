"""Designing a transition as a table: one row per change, and a PDCA policy as a form.

The app's Transition page edits the changes of a scenario as a flat table (day, label,
structure, team size, BRMs, levers, hires) and the PDCA policy as a few fields and a
table of levers. This module turns those tables into the scenario's own ``changes:``
and ``pdca:`` sections and back, and validates the result with the scenario schema, so
a mistake comes back as the usual one-line :class:`ScenarioError` naming the field
(``changes[0].day: day 400 is not before the horizon (300 days)``), and the designed
scenario downloads as the very YAML the command line reads.

Empty cells mean "no change": a change sets only what its row fills in. Rows with
nothing filled in at all are ignored, so a blank row added by mistake is harmless;
``changes[i]`` in an error counts the rows that are kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from simulation.catalog.levers import change_levers, pdca_steps
from simulation.inputs.scenario import PDCA, Change, Scenario, ScenarioError, parse_scenario

#: The table of changes: column -> (field of a Change, or "levers.<name>"; title). The
#: day and label of a change, then a column per lever a change can set (the catalog's,
#: in its order), then the headcount, written 'dev=30, ops=12'.
CHANGE_COLUMNS: dict[str, tuple[str, str]] = {
    "day": ("day", "Day"),
    "label": ("label", "What changes"),
    **{
        lever.column: (lever.change_field, lever.title)
        for lever in change_levers()
        if lever.column and lever.change_field
    },
    "headcount": ("headcount", "Headcount"),
}
INTEGER_COLUMNS = {"day", *(lever.column for lever in change_levers() if lever.kind == "int")}
#: Structures a row can move to (custom needs a skill matrix: the Design page's job).
ROW_STRUCTURES = ("siloed", "aligned", "converged")

#: Scenario fields a PDCA policy may step, with a sensible default step each.
PDCA_PATHS: dict[str, float] = pdca_steps()
PDCA_LEVER_COLUMNS = ["path", "step", "min", "max"]

#: A path to start from when the starting organisation has none of its own: align
#: first (shared priorities, BRMs, a glossary), then cross-functional teams sooner than
#: the ready-made stepwise path does.
EXAMPLE_CHANGES: list[dict[str, Any]] = [
    {
        "day": 60,
        "label": "Shared priorities, 3 BRMs",
        "structure": "aligned",
        "brms": 3,
        "prioritisation": "value",
        "transparency": 0.5,
        "glossary": True,
    },
    {
        "day": 120,
        "label": "Cross-functional teams",
        "structure": "converged",
        "team_size": 7,
        "brms": 1,
        "shared_language": 0.5,
        "transparency": 0.6,
    },
]


# --------------------------------------------------------------------------- changes


def change_rows(changes: Iterable[Change]) -> pd.DataFrame:
    """A scenario's changes as the editable table (teams of custom changes are not
    shown: use the scenario file or the Design page for those)."""
    rows = []
    for change in changes:
        row: dict[str, Any] = {column: None for column in CHANGE_COLUMNS}
        row.update(
            day=change.day,
            label=change.label or None,
            structure=change.structure,
            team_size=change.team_size,
            brms=change.brms,
        )
        if change.levers is not None:
            for name, value in change.levers.model_dump(exclude_none=True).items():
                if name in row:
                    row[name] = value
        if change.headcount:
            row["headcount"] = ", ".join(f"{d}={n}" for d, n in change.headcount.items())
        rows.append(row)
    return empty_changes(rows)


def empty_changes(rows: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """The table of changes with every column typed, so an empty table edits well."""
    frame = pd.DataFrame(rows or [], columns=list(CHANGE_COLUMNS))
    numeric = ["day", *(lv.column for lv in change_levers() if lv.kind in ("int", "slider"))]
    for column in CHANGE_COLUMNS:
        if column in numeric:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        else:  # text, a choice or a tick box
            frame[column] = frame[column].astype("object")
    return frame


def changes_from_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The table as the ``changes:`` list of a scenario (not yet validated)."""
    changes = []
    for record in frame.to_dict("records"):
        values = {k: _cell(record.get(k)) for k in CHANGE_COLUMNS}
        for lever in change_levers():
            if lever.kind == "toggle" and values[lever.column] is False:
                values[lever.column] = None  # an unticked box changes nothing
        if all(v is None for v in values.values()):
            continue  # a blank row
        index = len(changes)
        change: dict[str, Any] = {}
        for column, value in values.items():
            if value is None:
                continue
            target, _title = CHANGE_COLUMNS[column]
            if column in INTEGER_COLUMNS and isinstance(value, float) and value.is_integer():
                value = int(value)
            if column == "headcount":
                value = parse_headcount(str(value), f"changes[{index}].headcount")
            if target.startswith("levers."):
                change.setdefault("levers", {})[target.removeprefix("levers.")] = value
            else:
                change[target] = value
        changes.append(change)
    return changes


def parse_headcount(text: str, field: str) -> dict[str, int]:
    """'dev=28, ops=12' -> {'dev': 28, 'ops': 12}."""
    out: dict[str, int] = {}
    for token in (t.strip() for t in text.replace(";", ",").split(",")):
        if not token:
            continue
        name, sep, count = token.partition("=")
        if not sep:
            name, sep, count = token.partition(":")
        try:
            out[name.strip()] = int(count.strip())
        except ValueError:
            raise ScenarioError(
                field, f"write it as discipline=people, e.g. dev=28, ops=12 (got {token!r})"
            ) from None
    return out


def _cell(value: Any) -> Any:
    """A table cell as a value, None when empty (NaN, None, blank text)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        return value.strip() or None
    if hasattr(value, "item"):  # numpy scalars
        return _cell(value.item())
    return value


# --------------------------------------------------------------------------- PDCA


def pdca_rows(pdca: PDCA) -> pd.DataFrame:
    """A policy's levers as the editable table; a starting set when it has none."""
    levers = [lever.model_dump() for lever in pdca.levers] or [
        {"path": "brms.count", "step": 3, "min": None, "max": 6},
        {"path": "levers.shared_language", "step": 0.15, "min": None, "max": 0.8},
        {"path": "levers.transparency", "step": 0.15, "min": None, "max": 0.8},
    ]
    frame = pd.DataFrame(levers, columns=PDCA_LEVER_COLUMNS)
    for column in ("step", "min", "max"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["path"] = frame["path"].astype("object")
    return frame


def pdca_from_form(
    enabled: bool,
    every_days: int,
    settle_days: int,
    target: str,
    levers: pd.DataFrame,
    min_effect: float | None = None,
) -> dict[str, Any]:
    """The ``pdca:`` section of a scenario from the form (not yet validated)."""
    if not enabled:
        return {"enabled": False}
    rows = []
    for record in levers.to_dict("records"):
        values = {k: _cell(record.get(k)) for k in PDCA_LEVER_COLUMNS}
        if all(v is None for v in values.values()):
            continue
        rows.append({k: v for k, v in values.items() if v is not None or k in ("min", "max")})
    section: dict[str, Any] = {
        "enabled": True,
        "every_days": int(every_days),
        "settle_days": int(settle_days),
        "target": target,
        "levers": rows,
    }
    if min_effect is not None:
        section["min_effect"] = float(min_effect)
    return section


# --------------------------------------------------------------------------- the design


def design_transition(
    base: Scenario,
    changes: pd.DataFrame | list[dict[str, Any]],
    pdca: Mapping[str, Any] | None = None,
    name: str | None = None,
    horizon_days: int | None = None,
    change_management: float | None = None,
) -> Scenario:
    """``base`` (its organisation on day 0) with these changes and PDCA policy.

    Raises ScenarioError naming the field (``changes[0].day``, ``pdca.levers[1].path``)
    when the design cannot run.
    """
    rows = changes_from_rows(changes) if isinstance(changes, pd.DataFrame) else list(changes)
    data = base.model_dump(mode="json")
    data["changes"] = rows
    data["pdca"] = dict(pdca) if pdca is not None else {"enabled": False}
    if name:
        data["name"] = name
    if horizon_days is not None:
        data["horizon_days"] = int(horizon_days)
        data["warmup_days"] = min(data["warmup_days"], max(0, int(horizon_days) - 1))
    if change_management is not None:
        data["levers"]["change_management"] = float(change_management)
    data["description"] = describe(rows, data["pdca"])
    return parse_scenario(data)


def describe(changes: list[dict[str, Any]], pdca: Mapping[str, Any]) -> str:
    """One line saying what the path does, for the scenario's description."""
    parts = [
        f"day {c.get('day')}: {c.get('label') or c.get('structure') or 'levers'}"
        for c in sorted(changes, key=lambda c: c.get("day") or 0)
    ]
    if pdca.get("enabled"):
        parts.append(f"PDCA every {pdca.get('every_days')} days")
    return "Designed on the Transition page: " + ("; ".join(parts) or "no changes") + "."


def is_transition(scenario: Scenario) -> bool:
    """True when the scenario changes over time (scheduled changes or a PDCA policy)."""
    return bool(scenario.changes) or scenario.pdca.enabled


__all__ = [
    "CHANGE_COLUMNS",
    "EXAMPLE_CHANGES",
    "PDCA_LEVER_COLUMNS",
    "PDCA_PATHS",
    "ROW_STRUCTURES",
    "change_rows",
    "changes_from_rows",
    "describe",
    "design_transition",
    "empty_changes",
    "is_transition",
    "parse_headcount",
    "pdca_from_form",
    "pdca_rows",
]
