"""The main levers leadership turns, as named overrides of a scenario.

A lever is a short name ("brms", "shared_language", "headcount.dev", "demand") for one
or more fields of the scenario file. The app keeps only the levers a user changed, so a
link or a saved view stays short and the scenario file stays the single source of
truth: :func:`apply_levers` turns them into an ordinary, validated :class:`Scenario`
with :func:`with_overrides`, the same function the command line uses.

A scenario with levers changed is no longer the ready-made one: :func:`changed_name`
names it by what changed ("Aligned departments, 1 BRM"), so every page, chart and
download says which variant it shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from simulation.inputs.scenario import Scenario, ScenarioError, with_overrides

STRUCTURES = ("siloed", "aligned", "converged", "custom")


@dataclass(frozen=True)
class Lever:
    key: str
    label: str
    path: str  # dotted scenario path; "" for levers computed from several fields
    kind: str  # "choice", "int", "share", "float"
    low: float = 0.0
    high: float = 1.0
    step: float = 0.05
    help: str = ""


PRIORITIES = ("fifo", "value")

#: Levers besides headcount (which has one lever per discipline, see headcount_lever).
LEVERS: dict[str, Lever] = {
    lever.key: lever
    for lever in (
        Lever(
            "structure",
            "Structure",
            "structure",
            "choice",
            help="siloed: a department per discipline with local FIFO priorities; aligned: "
            "the same departments with one shared priority; converged: cross-functional "
            "teams.",
        ),
        Lever(
            "priorities",
            "Priorities",
            "levers.prioritisation",
            "choice",
            help="fifo: each unit serves its own queue first come, first served; value: "
            "one shared value-based priority (WSJF-like) across units.",
        ),
        Lever(
            "team_size",
            "Team size",
            "team_size",
            "int",
            3,
            15,
            1,
            "People per cross-functional team (converged structure).",
        ),
        Lever(
            "brms",
            "Business Relationship Managers",
            "brms.count",
            "int",
            0,
            20,
            1,
            "BRMs translate at the business-IT boundary; too few become a queue.",
        ),
        Lever(
            "shared_language",
            "Shared language",
            "levers.shared_language",
            "share",
            help="Organisation-wide shared vocabulary, 0 (none) to 1 (one language).",
        ),
        Lever(
            "transparency",
            "Transparency",
            "levers.transparency",
            "share",
            help="Visibility of work and goals across units.",
        ),
        Lever(
            "rotation",
            "Rotation",
            "levers.rotation_share",
            "share",
            help="Share of staff who spend a stint in another unit each year.",
        ),
        Lever(
            "culture",
            "Culture events per quarter",
            "levers.culture_events_per_quarter",
            "float",
            0.0,
            12.0,
            1.0,
            "Inclusive cross-unit meetups per quarter.",
        ),
        Lever(
            "demand",
            "Demand multiplier",
            "demand_scale",
            "float",
            0.0,
            3.0,
            0.05,
            "Scales the arrival rate of every work type (1 = as in the scenario).",
        ),
    )
}

HEADCOUNT_PREFIX = "headcount."


def headcount_lever(discipline: str) -> Lever:
    return Lever(
        f"{HEADCOUNT_PREFIX}{discipline}",
        discipline,
        f"disciplines.{discipline}.headcount",
        "int",
        0,
        2000,
        1,
        f"People whose main discipline is {discipline}.",
    )


def levers_for(scenario: Scenario, structure: str | None = None) -> list[Lever]:
    """The levers that apply to ``scenario``, headcount per discipline included.

    ``structure`` is the structure in effect when the user has changed it (the
    scenario's own otherwise). Headcount is not a lever of the custom structure: there
    the teams are the truth. Team size only shapes converged teams, so it is offered
    only where there are (or will be, after a scheduled change) converged teams: a
    slider that does nothing would suggest it does something.
    """
    levers = [LEVERS["structure"]]
    if scenario.structure != "custom":
        levers += [headcount_lever(d.name) for d in scenario.disciplines]
    levers += [
        LEVERS[k]
        for k in (
            "priorities",
            *(["team_size"] if forms_teams(scenario, structure) else []),
            "brms",
            "shared_language",
            "transparency",
            "rotation",
            "culture",
            "demand",
        )
    ]
    return levers


def forms_teams(scenario: Scenario, structure: str | None = None) -> bool:
    """Whether the team size shapes anything: converged teams now (``structure``, the
    scenario's own by default) or after one of its scheduled changes."""
    now = structure or scenario.structure
    return now == "converged" or any(c.structure == "converged" for c in scenario.changes)


def lever_values(scenario: Scenario) -> dict[str, Any]:
    """Current value of every lever of ``scenario``."""
    values: dict[str, Any] = {
        "structure": scenario.structure,
        "priorities": scenario.prioritisation,
        "team_size": scenario.team_size,
        "brms": scenario.brms.count,
        "shared_language": scenario.levers.shared_language,
        "transparency": scenario.levers.transparency,
        "rotation": scenario.levers.rotation_share,
        "culture": scenario.levers.culture_events_per_quarter,
        "demand": scenario.demand_scale,
    }
    for d in scenario.disciplines:
        values[f"{HEADCOUNT_PREFIX}{d.name}"] = d.headcount
    return values


def changed_levers(scenario: Scenario, values: dict[str, Any]) -> dict[str, Any]:
    """Only the levers in ``values`` that differ from ``scenario``'s own."""
    current = lever_values(scenario)
    return {k: v for k, v in values.items() if k in current and current[k] != v}


def coerce_lever(key: str, value: Any) -> Any:
    """``value`` as the type lever ``key`` takes (levers read from a link are text or JSON).

    Raises ScenarioError for an unknown lever or a value of the wrong kind.
    """
    lever = (
        headcount_lever(key.removeprefix(HEADCOUNT_PREFIX))
        if key.startswith(HEADCOUNT_PREFIX)
        else LEVERS.get(key)
    )
    if lever is None:
        raise ScenarioError(key, "unknown lever")
    try:
        if lever.kind == "int":
            return int(value)
        if lever.kind in ("share", "float"):
            return float(value)
    except (TypeError, ValueError):
        raise ScenarioError(key, f"expected a number, got {value!r}") from None
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
        if key.startswith(HEADCOUNT_PREFIX):
            discipline = key.removeprefix(HEADCOUNT_PREFIX)
            if discipline not in {d.name for d in scenario.disciplines}:
                raise ScenarioError(key, f"'{discipline}' is not a discipline of this scenario")
            overrides[headcount_lever(discipline).path] = int(value)
        elif key in LEVERS:
            lever = LEVERS[key]
            overrides[lever.path] = int(value) if lever.kind == "int" else value
        else:
            raise ScenarioError(key, "unknown lever")
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
