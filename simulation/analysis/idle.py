"""What can act in a scenario: one set of rules for every study that asks.

A parameter of a mechanism that is switched off, or that has nothing to act on (BRM
parameters without BRMs, rotation's without a rotation programme, team handoffs
without teams, ...), changes nothing whatever its value; so does a mechanism with
nothing to act on. Three analyses ask, and all three ask here:

- a sensitivity study leaves such parameters out of its factors
  (:mod:`simulation.analysis.sensitivity_study`), with the reason printed;
- a robustness study leaves them out of its plausible worlds
  (:mod:`simulation.analysis.robustness`): varying them would change nothing but the
  list PRIM searches;
- explain leaves such mechanisms out of its players (:mod:`simulation.analysis.explain`):
  with common random numbers each would get exactly zero, at the price of runs.

What may happen later counts: a scheduled change may set a lever, add BRMs or change
the structure, and a PDCA policy may set any lever it lists or the BRM count, so a rule
looks at the start, every change and the policy. Each rule cites what the
mechanism's own module says gives it work.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from simulation.catalog.parameters import Parameter
from simulation.inputs.scenario import Scenario

#: Structures made of teams and of departments.
TEAM_STRUCTURES = ("converged", "custom")
DEPARTMENT_STRUCTURES = ("siloed", "aligned")


# --------------------------------------------------------------------------- what a scenario may do


def structures(s: Scenario) -> set[str]:
    """The structures ``s`` has at some point: at the start or after a change."""
    return {s.structure, *(c.structure for c in s.changes if c.structure)}


def _pdca_sets(s: Scenario, path: str) -> bool:
    return s.pdca.enabled and any(lever.path.replace("__", ".") == path for lever in s.pdca.levers)


def lever_ever(s: Scenario, name: str, test: Callable[[Any], bool]) -> bool:
    """Whether lever ``name`` passes ``test`` at the start or after a scheduled change, or
    a PDCA policy may set it (to what, the run decides)."""
    values = [getattr(s.levers, name), *(getattr(c.levers, name) for c in s.changes if c.levers)]
    return any(v is not None and test(v) for v in values) or _pdca_sets(s, f"levers.{name}")


def has_brms(s: Scenario) -> bool:
    """Whether ``s`` employs BRMs at some point (or a PDCA policy may hire them)."""
    return (
        s.brms.count > 0 or any((c.brms or 0) > 0 for c in s.changes) or _pdca_sets(s, "brms.count")
    )


def changes_ever(s: Scenario) -> bool:
    """Whether the organisation changes during the run: a scheduled change or PDCA."""
    return bool(s.changes) or s.pdca.enabled


def _rotates(s: Scenario) -> bool:
    # rotation.py: "Off switch: ... (or a share of 0)": no stints start
    return lever_ever(s, "rotation_share", lambda v: v > 0)


def _language_rises(s: Scenario) -> bool:
    # language.py: the level rises only with a glossary, BRM mediations and stints
    return lever_ever(s, "glossary", bool) or _rotates(s) or has_brms(s)


def _value_priority(s: Scenario) -> bool:
    return s.prioritisation == "value" or any(c.structure or c.levers for c in s.changes)


# --------------------------------------------------------------------------- parameters


def _starts(*prefixes: str) -> Callable[[str], bool]:
    return lambda path: path.startswith(prefixes)


def _is(*paths: str) -> Callable[[str], bool]:
    return lambda path: path in paths


def _brm_parameter(path: str) -> bool:
    # the count itself is what brings BRMs, so it always acts
    return (path.startswith("brms.") and path != "brms.count") or path == (
        "mechanisms.language.brm_gain"
    )


@dataclass(frozen=True)
class Rule:
    """When some catalog parameters can act.

    Args:
        applies_to: Which entries (by path) the rule is about.
        acts: Whether they can act in the scenario.
        reason: Why not, in a few words.
        unless_varied: A parameter that gives them work wherever a study moves it (the
            rule holds only while the study leaves it at the scenario's value).
    """

    applies_to: Callable[[str], bool]
    acts: Callable[[Scenario], bool]
    reason: str
    unless_varied: str | None = None


#: The turnover rate: 0 to 0.2 a year in the catalog, an unknown like any other.
TURNOVER_RATE = "mechanisms.turnover.annual_rate"


def _turnover_detail(path: str) -> bool:
    return path.startswith("mechanisms.turnover.") and path != TURNOVER_RATE


#: Every rule. Most rest on what studies never vary (levers, structure, BRM count,
#: changes, PDCA); turnover's rests on its rate, which studies do vary.
PARAMETER_RULES: tuple[Rule, ...] = (
    Rule(_brm_parameter, has_brms, "no BRMs"),
    # people.py: "(or an annual rate of 0) stops" leaving and hiring
    Rule(
        _turnover_detail,
        lambda s: s.mechanisms.turnover.annual_rate > 0,
        "turnover is idle (annual_rate 0)",
        unless_varied=TURNOVER_RATE,
    ),
    Rule(_starts("mechanisms.rotation."), _rotates, "no rotation programme"),
    Rule(
        _starts("mechanisms.network.culture_"),
        lambda s: lever_ever(s, "culture_events_per_quarter", lambda v: v > 0),
        "no culture events",
    ),
    Rule(
        _starts("mechanisms.language.glossary_"),
        lambda s: lever_ever(s, "glossary", bool),
        "no glossary initiative",
    ),
    Rule(
        _is("mechanisms.language.ceiling"),
        _language_rises,
        "nothing raises the shared language (no glossary, rotation or BRMs)",
    ),
    Rule(_starts("mechanisms.change."), changes_ever, "no scheduled change"),
    Rule(
        _is("mechanisms.change.management_effect", "mechanisms.change.cost_per_person"),
        lambda s: lever_ever(s, "change_management", lambda v: v > 0),
        "no change management",
    ),
    Rule(
        _is(
            "mechanisms.handoff.within_team_days",
            "mechanisms.rework.p_within_team",
            "mechanisms.releases.team_interval_days",
        ),
        lambda s: bool(structures(s) & set(TEAM_STRUCTURES)),
        "no teams",
    ),
    Rule(
        _is(
            "mechanisms.coordination.department_peers",
            "mechanisms.releases.department_interval_days",
        ),
        lambda s: bool(structures(s) & set(DEPARTMENT_STRUCTURES)),
        "no departments",
    ),
    Rule(
        _is("mechanisms.misaligned.shared_priority_effect"),
        _value_priority,
        "no shared value-based priority",
    ),
    Rule(
        _starts("mechanisms.value."),
        lambda s: any(w.value > 0 for w in s.work_types),
        "no work type has a value",
    ),
    Rule(_starts("pdca."), lambda s: s.pdca.enabled, "no PDCA policy"),
)


def idle_reason(entry: Parameter, s: Scenario, varied: Collection[str] = ()) -> str | None:
    """Why the catalog ``entry`` cannot act in ``s`` (its mechanism is off, or a rule of
    :data:`PARAMETER_RULES`) while a study varies the parameters ``varied``, or None
    when it can."""
    switch = getattr(s.mechanisms, entry.mechanism, None)
    if switch is not None and not switch.enabled:
        return f"the {entry.mechanism} mechanism is off"
    for rule in PARAMETER_RULES:
        if rule.unless_varied in varied:
            continue
        if rule.applies_to(entry.path) and not rule.acts(s):
            return rule.reason
    return None


def acting(entries: Iterable[Parameter], scenarios: Sequence[Scenario]) -> list[Parameter]:
    """The ``entries`` that can act in at least one of ``scenarios`` when a study varies
    them all together: those that act as the scenarios stand, and those that act once
    another of these is varied (the turnover details, with the rate)."""
    entries = list(entries)

    def can_act(entry: Parameter, varied: Collection[str]) -> bool:
        return any(idle_reason(entry, s, varied) is None for s in scenarios)

    first = {e.path for e in entries if can_act(e, ())}
    return [e for e in entries if e.path in first or can_act(e, first)]


# --------------------------------------------------------------------------- mechanisms


def _language_idle(s: Scenario) -> bool:
    # language.py: the level starts at the lever (capped at the ceiling) and rises only
    # with a glossary, BRM mediations and completed rotation stints; a lever set later
    # moves it too
    params = s.mechanisms.language
    set_later = any(c.levers and c.levers.shared_language is not None for c in s.changes)
    return (
        s.levers.shared_language <= params.ceiling
        and not set_later
        and not _pdca_sets(s, "levers.shared_language")
        and not lever_ever(s, "glossary", bool)
        and (not has_brms(s) or params.brm_gain <= 0)
        and (not _rotates(s) or s.mechanisms.rotation.language_gain <= 0)
    )


#: When a switched-on mechanism has nothing to act on in a scenario.
MECHANISM_IDLE_WHEN: dict[str, Callable[[Scenario], bool]] = {
    "rotation": lambda s: not _rotates(s),
    # people.py: "(or an annual rate of 0) stops" leaving and hiring
    "turnover": lambda s: s.mechanisms.turnover.annual_rate <= 0,
    # transitions.py: the J-curve follows a change; without one there is none
    "change": lambda s: not changes_ever(s),
    "language": _language_idle,
}


def mechanism_idle(name: str, s: Scenario) -> bool:
    """Whether mechanism ``name`` can change nothing in ``s``: switched off, or with
    nothing to act on (:data:`MECHANISM_IDLE_WHEN`)."""
    if not getattr(s.mechanisms, name).enabled:
        return True
    rule = MECHANISM_IDLE_WHEN.get(name)
    return rule is not None and rule(s)
