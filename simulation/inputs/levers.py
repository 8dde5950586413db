"""The main levers leadership turns, as named overrides of a scenario.

A lever is a short name ("brms", "shared_language", "headcount.dev", "demand") for one
or more fields of the scenario file. The app keeps only the levers a user changed, so a
link or a saved view stays short and the scenario file stays the single source of
truth: :func:`apply_levers` turns them into an ordinary, validated :class:`Scenario`
with :func:`with_overrides`, the same function the command line uses. The levers
themselves (path, widget, range, help) are declared in :mod:`simulation.catalog.levers`.

A scenario with levers changed is no longer the ready-made one: :func:`changed_name`
names it by what changed ("Aligned departments, 1 BRM"), so every page, chart and
download says which variant it shows.
"""

from __future__ import annotations

import re
from typing import Any

from simulation.catalog import levers as catalog
from simulation.catalog.levers import HEADCOUNT_PREFIX, Lever
from simulation.inputs.scenario import Scenario, ScenarioError, with_overrides


def compare_lever(key: str) -> Lever:
    """The lever ``key`` of Compare's sidebar (``headcount.<discipline>`` included).

    Raises ScenarioError naming the lever when Compare offers no such lever.
    """
    try:
        lever = catalog.lever(key)
    except KeyError:
        lever = None
    if lever is None or lever.group is None:
        raise ScenarioError(key, "unknown lever")
    return lever


def levers_for(scenario: Scenario, structure: str | None = None) -> list[Lever]:
    """The levers of Compare's sidebar that apply to ``scenario``, headcount per
    discipline included, in the catalog's order.

    ``structure`` is the structure in effect when the user has changed it (the
    scenario's own otherwise). A lever applies where it does something
    (:attr:`Lever.structures`) in that structure or in one a scheduled change moves
    to: a slider that does nothing would suggest it does something. Headcount follows
    the scenario's own structure: in the custom structure the teams are the truth.
    """
    levers: list[Lever] = []
    for lever in catalog.sidebar_levers():
        if applies(lever, scenario, structure):
            levers.append(lever)
        if lever.key == "structure" and scenario.structure in catalog.HEADCOUNT.structures:
            levers += [catalog.headcount_lever(d.name) for d in scenario.disciplines]
    return levers


def applies(lever: Lever, scenario: Scenario, structure: str | None = None) -> bool:
    """Whether ``lever`` does something in the structure in effect (``structure``, the
    scenario's own by default) or in one a scheduled change moves to."""
    in_play = {structure or scenario.structure, *(c.structure for c in scenario.changes)}
    return bool(in_play & set(lever.structures))


def forms_teams(scenario: Scenario, structure: str | None = None) -> bool:
    """Whether the team size shapes anything: converged teams now or after a change."""
    return applies(catalog.lever("team_size"), scenario, structure)


def lever_values(scenario: Scenario) -> dict[str, Any]:
    """Current value of every lever of Compare's sidebar in ``scenario``."""
    values: dict[str, Any] = {
        lever.key: _read(scenario, lever.path) for lever in catalog.sidebar_levers()
    }
    # unset, the priorities follow the structure: the value in effect is the property
    values["priorities"] = scenario.prioritisation
    for d in scenario.disciplines:
        values[f"{HEADCOUNT_PREFIX}{d.name}"] = d.headcount
    return values


def _read(scenario: Scenario, path: str) -> Any:
    """The value at a dotted path of a scenario's plain fields (no lists)."""
    node: Any = scenario
    for part in path.split("."):
        node = getattr(node, part)
    return node


def changed_levers(scenario: Scenario, values: dict[str, Any]) -> dict[str, Any]:
    """Only the levers in ``values`` that differ from ``scenario``'s own."""
    current = lever_values(scenario)
    return {k: v for k, v in values.items() if k in current and current[k] != v}


def coerce_lever(key: str, value: Any) -> Any:
    """``value`` as the type lever ``key`` takes (levers read from a link are text or JSON).

    Raises ScenarioError for an unknown lever or a value of the wrong kind.
    """
    lever = compare_lever(key)
    try:
        if lever.kind == "int":
            return int(value)
        if lever.kind == "slider":
            return float(value)
    except (TypeError, ValueError):
        raise ScenarioError(key, f"expected a number, got {value!r}") from None
    if lever.kind == "toggle":
        return bool(value)
    return str(value)


def apply_levers(scenario: Scenario, changes: dict[str, Any]) -> Scenario:
    """A validated copy of ``scenario`` with the levers in ``changes`` set, named by
    what changed (:func:`changed_name`).

    Raises :class:`ScenarioError` naming the lever for an unknown lever, and naming the
    scenario field for a value the schema refuses.
    """
    if not changes:
        return scenario
    overrides: dict[str, Any] = {}
    for key, value in changes.items():
        lever = compare_lever(key)  # refuses an unknown lever, naming it
        if key.startswith(HEADCOUNT_PREFIX):
            discipline = key.removeprefix(HEADCOUNT_PREFIX)
            if discipline not in {d.name for d in scenario.disciplines}:
                raise ScenarioError(key, f"'{discipline}' is not a discipline of this scenario")
        overrides[lever.path] = int(value) if lever.kind == "int" else value
    changed = with_overrides(scenario, overrides)  # refuses a bad value, naming its field
    return changed.model_copy(update={"name": changed_name(scenario, changes)})


# --------------------------------------------------------------------------- names

#: The longest name a scenario may have (Scenario.name's max_length).
MAX_NAME = 120
#: A name lists at most this many changes; the rest are counted ("+2 more").
NAMED_CHANGES = 3


def _brms(count: Any) -> str:
    n = int(count)
    return "no BRMs" if n == 0 else f"{n} BRM" if n == 1 else f"{n} BRMs"


def _number(value: Any) -> str:
    return f"{float(value):g}"


#: How each lever reads in a name, and a pattern that recognises that phrase (so a
#: name that already says "2 BRMs" is not extended with "3 BRMs" but corrected).
_PHRASES: dict[str, tuple[Any, str]] = {
    "structure": (str, r"siloed|aligned|converged|custom"),
    "team_size": (lambda v: f"team size {int(v)}", r"team size \d+"),
    "brms": (_brms, r"(no|\d+) BRMs?"),
    "priorities": (
        lambda v: "shared priorities" if v == "value" else "FIFO priorities",
        r"(shared|FIFO) priorities",
    ),
    "shared_language": (lambda v: f"shared language {_number(v)}", r"shared language [\d.]+"),
    "transparency": (lambda v: f"transparency {_number(v)}", r"transparency [\d.]+"),
    "rotation": (lambda v: f"rotation {_number(v)}", r"rotation [\d.]+"),
    "culture": (lambda v: f"{_number(v)} culture events/quarter", r"[\d.]+ culture events/quarter"),
    "demand": (lambda v: f"demand x{_number(v)}", r"demand x[\d.]+"),
}


#: Changes a design makes besides the levers: cost per day of a discipline, teams edited.
COST_PREFIX = "cost."
TEAMS = "teams"


def change_phrase(key: str, value: Any) -> str:
    """One lever change as a name reads it: '1 BRM', 'team size 5', '30 dev'."""
    if key.startswith(HEADCOUNT_PREFIX):
        return f"{value} {key.removeprefix(HEADCOUNT_PREFIX)}"
    if key.startswith(COST_PREFIX):
        return f"{key.removeprefix(COST_PREFIX)} at {_number(value)}/day"
    if key == TEAMS:
        return "teams edited"
    phrase = _PHRASES.get(key)
    try:
        return phrase[0](value) if phrase else f"{key} {value}"
    except (TypeError, ValueError):  # a value the schema will refuse: name it as given
        return f"{key} {value}"


def _phrase_pattern(key: str) -> re.Pattern[str]:
    if key.startswith(HEADCOUNT_PREFIX):
        return re.compile(rf"\d+ {re.escape(key.removeprefix(HEADCOUNT_PREFIX))}")
    if key.startswith(COST_PREFIX):
        return re.compile(rf"{re.escape(key.removeprefix(COST_PREFIX))} at [\d.]+/day")
    if key == TEAMS:
        return re.compile("teams edited")
    return re.compile(_PHRASES[key][1] if key in _PHRASES else re.escape(key) + " .*")


def relevant_changes(scenario: Scenario, changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` without those that do nothing in the structure in effect (team size
    where no converged teams form: :func:`forms_teams`)."""
    teams = forms_teams(scenario, changes.get("structure"))
    return {k: v for k, v in changes.items() if k != "team_size" or teams}


def changed_name(scenario: Scenario, changes: dict[str, Any]) -> str:
    """``scenario``'s name followed by what ``changes`` (lever -> value) change in it:
    "Aligned departments, 1 BRM", "Siloed departments, converged, team size 5".

    Phrases the name already carries for a changed lever are replaced, not repeated
    (a design named "..., 2 BRMs" with 3 BRMs reads "..., 3 BRMs"). At most
    NAMED_CHANGES changes are spelled out; the name never exceeds MAX_NAME characters.
    """
    changes = {
        k: v
        for k, v in relevant_changes(scenario, changes).items()
        if lever_values(scenario).get(k, object()) != v
    }
    if not changes:
        return scenario.name
    base, *said = scenario.name.split(", ")
    patterns = [_phrase_pattern(k) for k in changes]
    kept = [part for part in said if not any(p.fullmatch(part) for p in patterns)]
    phrases = [change_phrase(k, v) for k, v in changes.items()]
    shown = phrases[:NAMED_CHANGES]
    if len(phrases) > NAMED_CHANGES:
        shown.append(f"+{len(phrases) - NAMED_CHANGES} more")
    suffix = ", ".join(["", *kept, *shown])
    room = MAX_NAME - len(suffix)
    if room >= 10:
        return (base if len(base) <= room else base[: room - 1].rstrip() + "…") + suffix
    full = base + suffix  # phrases of absurd values: keep the start, within the limit
    return full if len(full) <= MAX_NAME else full[: MAX_NAME - 1] + "…"


def changes_between(scenario: Scenario, changed: Scenario) -> dict[str, Any]:
    """What differs between two scenarios, in ``changed``'s values: the levers, the cost
    per day of each discipline (``cost.<discipline>``) and, between two custom
    organisations, the teams (``teams``)."""
    changes = changed_levers(scenario, lever_values(changed))
    costs = {d.name: d.cost_per_day for d in scenario.disciplines}
    for d in changed.disciplines:
        if d.name in costs and d.cost_per_day != costs[d.name]:
            changes[f"{COST_PREFIX}{d.name}"] = d.cost_per_day
    if scenario.structure == changed.structure == "custom" and scenario.teams != changed.teams:
        changes[TEAMS] = True
    return changes


def design_name(base: Scenario, design: Scenario) -> str:
    """The name of a design made from ``base``: named by what changed, so it follows
    the structure it was switched to ("Siloed departments, converged, team size 5");
    "<base> (redesign)" while nothing has changed."""
    name = changed_name(base, changes_between(base, design))
    return name if name != base.name else f"{base.name} (redesign)"
