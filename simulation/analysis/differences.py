"""What differs between scenarios besides their structure.

A comparison of a siloed and a converged organisation reads as the structure's effect
only when nothing else differs. Issue 10 found the ready-made scenarios also differed
in shared language, transparency and priorities, and the app called the whole gap
"converged teams: faster". This module diffs resolved scenarios field by field and
sorts every difference by the catalog's dimensions (:func:`simulation.catalog.levers.dimension`),
so ``compare`` and the Compare page can say what else differs, and the plain-language
summary can say whose effect a difference is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simulation.catalog.levers import DIMENSIONS, LABEL, MEASUREMENT, STRUCTURE, WAYS, dimension
from simulation.inputs.scenario import Scenario, with_overrides

ONLY_STRUCTURE = "Only the structure differs."
BESIDES = "Besides the structure, these differ:"
SAME_STRUCTURE = "The structure is the same."
NOTHING = "Nothing differs between these scenarios."


@dataclass(frozen=True)
class Difference:
    """One scenario field whose value is not the same in every scenario.

    Args:
        field: Its dotted path ("levers.transparency", "disciplines.dev.headcount").
        dimension: What it is (a :data:`simulation.catalog.levers.DIMENSIONS` entry).
        values: Its value in each scenario, in the scenarios' order (None: absent).
    """

    field: str
    dimension: str
    values: tuple[Any, ...]


def resolved_fields(scenario: Scenario) -> dict[str, Any]:
    """Every field of ``scenario`` at its dotted path, as the run sees it.

    Lists of named entries (disciplines, work types, teams) are keyed by name, so two
    scenarios line up by discipline rather than by position; other lists (scheduled
    changes, the levers of a PDCA policy) stay whole.
    The prioritisation is the one in effect (the structure's default when unset).
    """
    data = scenario.model_dump(mode="json")
    data["levers"]["prioritisation"] = scenario.prioritisation
    flat: dict[str, Any] = {}
    _flatten(data, "", flat)
    return flat


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list) and value and all(_named(item) for item in value):
        for item in value:
            _flatten(item, f"{path}.{item['name']}", out)
    else:
        out[path] = value


def _named(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("name"), str)


def differences(scenarios: Sequence[Scenario]) -> list[Difference]:
    """Every field that differs between ``scenarios`` (names and descriptions left out),
    ordered by dimension (structure first) and then by field."""
    fields = [resolved_fields(s) for s in scenarios]
    paths = sorted({p for f in fields for p in f})
    found = []
    for path in paths:
        values = tuple(f.get(path) for f in fields)
        if any(v != values[0] for v in values[1:]):
            kind = dimension(path)
            if kind != LABEL:
                found.append(Difference(path, kind, values))
    return sorted(found, key=lambda d: (DIMENSIONS.index(d.dimension), d.field))


def besides_structure(scenarios: Sequence[Scenario]) -> list[Difference]:
    """The differences that are not part of the structure (nor of when measurement
    starts: each organisation is measured after its own warm-up)."""
    return [d for d in differences(scenarios) if d.dimension not in (STRUCTURE, MEASUREMENT)]


def structure_differs(scenarios: Sequence[Scenario]) -> bool:
    """Whether any structure-defining field differs."""
    return any(d.dimension == STRUCTURE for d in differences(scenarios))


def ways_of_working_differ(scenarios: Sequence[Scenario]) -> bool:
    """Whether any way of working differs."""
    return any(d.dimension == WAYS for d in differences(scenarios))


def ways_of_working(scenario: Scenario) -> dict[str, Any]:
    """The ways of working of ``scenario``: dotted path -> value."""
    return {
        path: value for path, value in resolved_fields(scenario).items() if dimension(path) == WAYS
    }


def with_ways_of_working(scenario: Scenario, ways: dict[str, Any]) -> Scenario:
    """``scenario`` with the ways of working ``ways`` (dotted path -> value), the
    structure and everything else untouched: to hold ways of working equal."""
    wanted = {path: value for path, value in ways.items() if dimension(path) == WAYS}
    return with_overrides(scenario, wanted)


def difference_note(names: Sequence[str], scenarios: Sequence[Scenario]) -> list[str]:
    """What ``compare`` prints: "Only the structure differs.", or "Besides the
    structure, these differ:" and one line per field, "dimension: field: value (name),
    value (name)" (after "The structure is the same." when it is). Structure-defining
    fields are not listed: they are what the comparison is about.
    """
    found = differences(scenarios)
    if not found:
        return [NOTHING]
    windows = [
        f"  each measured after its own warm-up: {d.field}: {_per_scenario(d, names)}"
        for d in found
        if d.dimension == MEASUREMENT
    ]
    others = [d for d in found if d.dimension not in (STRUCTURE, MEASUREMENT)]
    if not others:
        return [ONLY_STRUCTURE if len(windows) < len(found) else NOTHING, *windows]
    same = [] if any(d.dimension == STRUCTURE for d in found) else [SAME_STRUCTURE]
    lines = [f"  {d.dimension}: {d.field}: {_per_scenario(d, names)}" for d in others]
    return [*same, BESIDES, *lines, *windows]


def _per_scenario(found: Difference, names: Sequence[str]) -> str:
    return ", ".join(
        f"{_short(value)} ({name})" for value, name in zip(found.values, names, strict=True)
    )


def _short(value: Any, limit: int = 90) -> str:
    """A value in one short piece: a schedule of changes by day and label, a PDCA
    policy's levers by path, anything else cut at ``limit`` characters."""
    if value is None:
        return "absent"
    if isinstance(value, list) and not value:
        return "none"
    if isinstance(value, list) and all(isinstance(i, dict) for i in value):
        value = "; ".join(_entry(item) for item in value)
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _entry(item: dict[str, Any]) -> str:
    if "day" in item:
        return f"day {item['day']} {item.get('label') or ''}".strip()
    return str(item.get("path", item))


def unique_names(names: Sequence[str]) -> list[str]:
    """Names made unique for display: a second 'Siloed' becomes 'Siloed (2)'.

    Here rather than beside the comparison's statistics: the app names the
    organisations of a comparison before it runs them, and this module imports no
    pandas or SciPy, so the runs can start before those are loaded."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out
