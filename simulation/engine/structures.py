"""Who sits where: departments, cross-functional teams or a custom skill matrix.

- siloed / aligned: one department per discipline. The two differ in levers and
  mechanisms (priorities, BRMs, language), not in who sits where.
- converged: teams of about ``team_size`` people. People are dealt to teams in turn,
  discipline by discipline, so every team mixes disciplines in proportion to headcount;
  a discipline scarcer than the number of teams leaves some teams without it, and their
  stages of it become dependencies on another team.
- custom: the teams listed in the scenario.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

from simulation.inputs.scenario import Scenario


@dataclass
class UnitPlan:
    """A unit to form: its name, kind and members.

    Args:
        name: What the unit is called.
        kind: ``"department"`` or ``"team"``.
        members: Indices into the list of people planned.
    """

    name: str
    kind: str  # "department" or "team"
    members: list[int] = field(default_factory=list)  # indices into the people planned


def people_of(scenario: Scenario) -> list[str]:
    """One discipline per person, in the scenario's order."""
    return [d for d, n in scenario.headcounts().items() for _ in range(n)]


def plan_units(scenario: Scenario, people: list[str] | None = None) -> list[UnitPlan]:
    """Units for ``people`` (one discipline each; default: the scenario's headcounts)."""
    people = people_of(scenario) if people is None else people
    order = {d.name: i for i, d in enumerate(scenario.disciplines)}
    by_discipline: dict[str, list[int]] = {d.name: [] for d in scenario.disciplines}
    for index in sorted(range(len(people)), key=lambda i: (order[people[i]], i)):
        by_discipline[people[index]].append(index)
    if scenario.structure in ("siloed", "aligned"):
        return [
            UnitPlan(name, "department", members)
            for name, members in by_discipline.items()
            if members
        ]
    if scenario.structure == "custom":
        return _custom(scenario, by_discipline)
    n_teams = max(1, round(len(people) / scenario.team_size))
    teams = [UnitPlan(f"Team {i + 1}", "team") for i in range(n_teams)]
    position = 0
    for members in by_discipline.values():
        for index in members:
            teams[position % n_teams].members.append(index)
            position += 1
    return [t for t in teams if t.members]


def _custom(scenario: Scenario, by_discipline: dict[str, list[int]]) -> list[UnitPlan]:
    """The listed teams; anyone left over (hired since) joins the smallest team."""
    pools = {d: list(members) for d, members in by_discipline.items()}
    teams = []
    for team in scenario.teams:
        plan = UnitPlan(team.name, "team")
        for discipline, count in team.members.items():
            taken, pools[discipline] = pools[discipline][:count], pools[discipline][count:]
            plan.members += taken
        teams.append(plan)
    for leftovers in pools.values():
        for index in leftovers:
            min(teams, key=lambda t: len(t.members)).members.append(index)
    return [t for t in teams if t.members]


def count_interfaces(
    plans: list[UnitPlan], people: list[str], routes: list[list[str]]
) -> list[int]:
    """How many other units each unit exchanges work with (for coordination overhead).

    Departments: the departments of the disciplines adjacent to theirs in some route.
    Teams: one interface per route discipline they lack (a dependency), plus one if
    they supply a discipline that other teams lack (they serve as someone's dependency).
    """
    skills = [{people[i] for i in p.members} for p in plans]
    if all(p.kind == "department" for p in plans):
        index = {next(iter(s)): i for i, s in enumerate(skills)}
        partners: list[set[int]] = [set() for _ in plans]
        for route in routes:
            for a, b in itertools.pairwise(route):
                if a != b and a in index and b in index:
                    partners[index[a]].add(index[b])
                    partners[index[b]].add(index[a])
        return [len(p) for p in partners]
    needed = {d for route in routes for d in route}
    # teams having each discipline: counted once, not by comparing every pair of teams
    having = Counter(d for own in skills for d in own)
    interfaces = []
    for own in skills:
        lacks = len(needed - own)
        supplies = any(having[d] < len(skills) for d in needed & own)  # another team lacks d
        interfaces.append(lacks + int(supplies))
    return interfaces
