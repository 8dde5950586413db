"""The main levers leadership turns, as named overrides of a scenario.

A lever is a short name ("brms", "shared_language", "headcount.dev", "demand") for one
or more fields of the scenario file. The app keeps only the levers a user changed, so a
link or a saved view stays short and the scenario file stays the single source of
truth: :func:`apply_levers` turns them into an ordinary, validated :class:`Scenario`
with :func:`with_overrides`, the same function the command line uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulation.scenario import Scenario, ScenarioError, with_overrides

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


def levers_for(scenario: Scenario) -> list[Lever]:
    """The levers that apply to ``scenario``, headcount per discipline included.

    Headcount is not a lever of the custom structure: there the teams are the truth.
    """
    levers = [LEVERS["structure"]]
    if scenario.structure != "custom":
        levers += [headcount_lever(d.name) for d in scenario.disciplines]
    levers += [
        LEVERS[k]
        for k in (
            "priorities",
            "team_size",
            "brms",
            "shared_language",
            "transparency",
            "rotation",
            "culture",
            "demand",
        )
    ]
    return levers


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
    """A validated copy of ``scenario`` with the levers in ``changes`` set.

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
    return with_overrides(scenario, overrides)
