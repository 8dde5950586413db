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
from dataclasses import dataclass, field

from simulation.scenario import Scenario


@dataclass
class UnitPlan:
    name: str
    kind: str  # "department" or "team"
    members: list[str] = field(default_factory=list)  # one discipline per person


def plan_units(scenario: Scenario) -> list[UnitPlan]:
    headcounts = scenario.headcounts()
    if scenario.structure in ("siloed", "aligned"):
        return [UnitPlan(name, "department", [name] * n) for name, n in headcounts.items() if n > 0]
    if scenario.structure == "custom":
        order = list(headcounts)
        return [
            UnitPlan(
                team.name,
                "team",
                [d for d in order for _ in range(team.members.get(d, 0))],
            )
            for team in scenario.teams
            if sum(team.members.values()) > 0
        ]
    total = sum(headcounts.values())
    n_teams = max(1, round(total / scenario.team_size))
    teams = [UnitPlan(f"Team {i + 1}", "team") for i in range(n_teams)]
    position = 0
    for discipline, n in headcounts.items():
        for _ in range(n):
            teams[position % n_teams].members.append(discipline)
            position += 1
    return teams


def count_interfaces(plans: list[UnitPlan], routes: list[list[str]]) -> list[int]:
    """How many other units each unit exchanges work with (for coordination overhead).

    Departments: the departments of the disciplines adjacent to theirs in some route.
    Teams: one interface per route discipline they lack (a dependency), plus one if
    they supply a discipline that other teams lack (they serve as someone's dependency).
    """
    if all(p.kind == "department" for p in plans):
        index = {p.name: i for i, p in enumerate(plans)}
        partners: list[set[int]] = [set() for _ in plans]
        for route in routes:
            for a, b in itertools.pairwise(route):
                if a != b and a in index and b in index:
                    partners[index[a]].add(index[b])
                    partners[index[b]].add(index[a])
        return [len(p) for p in partners]
    needed = {d for route in routes for d in route}
    skills = [set(p.members) for p in plans]
    interfaces = []
    for own in skills:
        lacks = len(needed - own)
        supplies = any((needed & own) - other for other in skills if other is not own)
        interfaces.append(lacks + int(supplies))
    return interfaces
