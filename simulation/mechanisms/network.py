"""The social network (mechanism 7): who knows whom, kept in a networkx graph.

Ties are dense inside a unit, present along disciplines across units (chapters,
communities of practice) and sparse otherwise. People who barely know their unit,
as in a newly formed team, make ties there day by day. A tie between the sender of a handoff
and the receiving unit shortens the handoff and makes misunderstandings rarer (see
``handoffs.py``). Ties grow from handoffs that need them and from inclusive-culture
events; cross-unit ties fade when unused. Within-unit ties are renewed daily by
proximity and do not fade.

Default: on, with the densities in ``mechanisms.network``; culture events only as
often as ``levers.culture_events_per_quarter`` says (none by default). Off switch:
``mechanisms.network.enabled: false``. Switched off, there are no ties at all: no
handoff ever benefits from one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import networkx as nx

from simulation.engine.clock import WORKING_DAYS_PER_QUARTER
from simulation.engine.streams import Stream
from simulation.mechanisms.base import Mechanism

if TYPE_CHECKING:
    import numpy as np

    from simulation.engine.agents import Staff
    from simulation.engine.clock import Clock, Recurring
    from simulation.engine.organisation import Organisation
    from simulation.engine.units import Unit
    from simulation.inputs.scenario import Levers, Network

TIE_DECAY_CHECK_DAYS = 21  # monthly


class SocialNetwork(Mechanism):
    """Who knows whom, how ties are made and fade, and the culture events that make them.

    Args:
        params: The mechanism's parameters (``mechanisms.network``).
        rng: The run's random stream.
        clock: Schedules the monthly decay check and the culture events.
        staff: Everyone employed (the model's list, kept up to date by the model).
        organisation: The units people work in now.
        book_cost: Books a programme's cost (programme name, amount).
        transparency: The transparency lever (ties form more readily in the open).
    """

    def __init__(
        self,
        params: Network,
        rng: np.random.Generator,
        clock: Clock,
        staff: list[Staff],
        organisation: Organisation,
        book_cost: Callable[[str, float], None],
        transparency: float = 1.0,
    ):
        self.params = params
        self.rng = rng
        # the draw of every cross-unit handoff has a stream of its own (streams.py)
        (self.contacts,) = Stream.spawned(rng, 1)
        self.clock = clock
        self.staff = staff
        self.organisation = organisation
        self.book_cost = book_cost
        self.handoff_tie_probability = params.handoff_tie_probability * transparency
        self.graph = nx.Graph()
        self.cross_unit_ties = 0
        self._culture_events: Recurring | None = None
        # units where nobody was lonely, with their roster version then: form_ties skips
        # them until someone joins or leaves or one of their members loses a tie
        self._settled: dict[Unit, int] = {}

    def set_transparency(self, transparency: float) -> None:
        """The transparency lever moved: handoffs make ties at the new rate."""
        self.handoff_tie_probability = self.params.handoff_tie_probability * transparency

    # -- the hooks and the programmes

    def start(self, culture_events_per_quarter: float) -> None:
        """Start the monthly decay check and the culture events (when switched on)."""
        if self.params.enabled:
            self.clock.every(TIE_DECAY_CHECK_DAYS, self._decay_check)
        self.set_culture_events(culture_events_per_quarter)

    def set_culture_events(self, per_quarter: float) -> None:
        """Culture events ``per_quarter`` times a quarter from now on (none at 0)."""
        if self._culture_events is not None:
            self._culture_events.stop()
            self._culture_events = None
        if self.params.enabled and per_quarter > 0:
            interval = WORKING_DAYS_PER_QUARTER / per_quarter
            self._culture_events = self.clock.every(interval, self._culture_event)

    def _culture_event(self) -> None:
        self.culture_event(self.staff, self.clock.now)
        self.book_cost("culture", self.params.culture_event_cost)

    def _decay_check(self) -> None:
        self.decay(self.clock.now)

    def on_levers(self, before: Levers, after: Levers) -> None:
        """Transparency, and the culture events when their number changed."""
        self.set_transparency(after.transparency)
        if after.culture_events_per_quarter != before.culture_events_per_quarter:
            self.set_culture_events(after.culture_events_per_quarter)

    def on_day(self, day: int) -> None:
        """Colleagues who know few in their unit get to know someone (``form_ties``)."""
        self.form_ties(self.organisation.units, self.clock.now)

    def on_reorganise(self, organisation: Organisation) -> None:
        """Same graph, new units: redo the bookkeeping of ties by unit."""
        self.organisation = organisation
        self.reindex(self.staff)

    def summary(self) -> dict[str, dict[str, float]]:
        """Ties at the end, and how modular the network is by unit and by discipline."""
        by_discipline: dict[str, set[Staff]] = {}
        for person in self.staff:
            by_discipline.setdefault(person.discipline, set()).add(person)
        units = self.organisation.units
        return {
            "network": {
                "ties": self.graph.number_of_edges(),
                "cross_unit_ties": self.cross_unit_ties,
                "modularity_by_unit": self.modularity([set(u.members) for u in units]),
                "modularity_by_discipline": self.modularity(list(by_discipline.values())),
            }
        }

    # -- building

    def build(self, staff: list[Staff], units: list[Unit], now: float = 0.0) -> None:
        """The starting network: dense in units, along disciplines, sparse otherwise."""
        self.graph.add_nodes_from(staff)
        if not self.params.enabled:
            return
        rng, p = self.rng, self.params
        for unit in units:
            self._random_ties(unit.members, p.within_unit_degree, now)
            self._top_up(unit, now)
        by_discipline: dict[str, list[Staff]] = {}
        for person in staff:
            by_discipline.setdefault(person.discipline, []).append(person)
        if len(units) > 1:
            for people in by_discipline.values():
                self._random_ties(people, p.discipline_degree, now, across_units=True)
            pairs = round(len(staff) * p.cross_unit_degree / 2)
            if pairs and len(staff) > 1:
                picks = rng.integers(0, len(staff), size=(pairs, 2))
                for a, b in picks:
                    self.add_tie(staff[a], staff[b], now)

    def _top_up(self, unit: Unit, now: float) -> None:
        """Everyone starts with at least the usual number of ties in their unit: the
        density that form_ties keeps, so a new organisation starts in its steady state."""
        wanted = min(unit.size - 1, self.params.within_unit_degree)
        for person in unit.members:
            while person.ties_into.get(unit.index, 0) < wanted:
                other = unit.members[int(self.rng.integers(unit.size))]
                self.add_tie(person, other, now)

    def _random_ties(
        self, people: list[Staff], degree: float, now: float, across_units: bool = False
    ) -> None:
        """About ``degree`` ties per person among ``people`` (everyone, if fewer)."""
        n = len(people)
        if n < 2 or degree <= 0:
            return
        if degree >= n - 1 and not across_units:
            for i in range(n):
                for j in range(i + 1, n):
                    self.add_tie(people[i], people[j], now)
            return
        per_person = degree / 2  # each tie has two ends
        draws = self.rng.poisson(per_person, size=n)
        # Everyone's partners in one draw, cut into each person's share: the same numbers
        # as one draw per person (bounded integers below 2**32 take one 32-bit draw each;
        # a test checks it), at a fraction of the calls (5,000 calls at 5,000 staff).
        partners = self.rng.integers(0, n, size=int(draws.sum())).tolist()
        start = 0
        for i, k in enumerate(draws.tolist()):
            for j in partners[start : start + k]:
                if not across_units or people[i].unit is not people[j].unit:
                    self.add_tie(people[i], people[j], now)
            start += k

    # -- ties

    def add_tie(self, a: Staff, b: Staff, now: float) -> bool:
        """``a`` and ``b`` get to know each other; False if they already did (or a is b)."""
        if a is b or self.graph.has_edge(a, b):
            return False
        self.graph.add_edge(a, b, last_used=now)
        a.ties_into[b.unit.index] = a.ties_into.get(b.unit.index, 0) + 1
        b.ties_into[a.unit.index] = b.ties_into.get(a.unit.index, 0) + 1
        if a.unit is not b.unit:
            self.cross_unit_ties += 1
        return True

    def remove_tie(self, a: Staff, b: Staff) -> None:
        """The tie between ``a`` and ``b`` is gone."""
        self.graph.remove_edge(a, b)
        self._settled.pop(a.unit, None)
        self._settled.pop(b.unit, None)
        a.ties_into[b.unit.index] -= 1
        b.ties_into[a.unit.index] -= 1
        if a.unit is not b.unit:
            self.cross_unit_ties -= 1

    def reindex(self, staff: list[Staff]) -> None:
        """Redo the per-unit bookkeeping of ties after people changed units."""
        for person in staff:
            person.ties_into = {}
        self._settled.clear()
        crossing = 0
        for a, b in self.graph.edges():
            a.ties_into[b.unit.index] = a.ties_into.get(b.unit.index, 0) + 1
            b.ties_into[a.unit.index] = b.ties_into.get(a.unit.index, 0) + 1
            crossing += a.unit is not b.unit
        self.cross_unit_ties = crossing

    def forget(self, person: Staff) -> None:
        """Someone leaves: their ties go with them."""
        for other in list(self.graph.neighbors(person)):
            self.remove_tie(person, other)
        self.graph.remove_node(person)

    def welcome(self, person: Staff, now: float) -> None:
        """A new hire joins the network and gets to know some of their unit (one not in a
        unit yet, hired for a re-formed organisation, makes ties there day by day:
        ``form_ties``)."""
        self.graph.add_node(person)
        if self.params.enabled and person.unit is not None:
            count = round(self.params.within_unit_degree)
            self.connect_with_unit(person, person.unit, count, now)

    def handoff_contact(self, sender: Staff, receiver: Staff, now: float) -> None:
        """A cross-unit handoff: the tie is refreshed, or may be made."""
        if not self.params.enabled:
            return
        # the graph's own dict of dicts (networkx keeps it as ``Graph._adj``): read
        # directly, as this runs on every cross-unit handoff
        adjacency = self.graph._adj
        ties = adjacency.get(sender)
        if ties is None or receiver not in adjacency:
            return  # one of them has left: no tie (it would bring them back into the graph)
        edge = ties.get(receiver)
        if edge is not None:
            edge["last_used"] = now
        elif self.contacts.random() < self.handoff_tie_probability:
            self.add_tie(sender, receiver, now)

    def connect_with_unit(self, person: Staff, unit: Unit, count: int, now: float) -> None:
        """``count`` new ties between ``person`` and random members of ``unit``."""
        # a unit retired by a reorganisation (a rotation host) still lists people since
        # let go: no tie with them, which would bring them back into the graph
        members = [m for m in unit.members if m is not person and m in self.graph]
        if not members or count <= 0:
            return
        for j in self.rng.choice(len(members), size=min(count, len(members)), replace=False):
            self.add_tie(person, members[j], now)

    # -- culture and decay

    def form_ties(self, units: list[Unit], now: float) -> int:
        """Colleagues who know fewer in their unit than usual (a new team, a new hire)
        get to know someone there: the unit converges on the density it was built with."""
        if not self.params.enabled or self.params.formation_per_day <= 0:
            return 0
        made = 0
        settled = self._settled
        for unit in units:
            # Ties in a unit are only lost by someone leaving it or by a tie removed:
            # until then, a unit with nobody lonely stays so (and draws nothing).
            if settled.get(unit) == unit.roster_version:
                continue
            wanted = min(unit.size - 1, self.params.within_unit_degree)
            lonely = [p for p in unit.members if p.ties_into.get(unit.index, 0) < wanted]
            if not lonely:
                settled[unit] = unit.roster_version
                continue
            joining = self.rng.random(len(lonely)) < self.params.formation_per_day
            for person, joins in zip(lonely, joining, strict=True):
                if joins:
                    made += self.add_tie(
                        person, unit.members[int(self.rng.integers(unit.size))], now
                    )
        return made

    def culture_event(self, staff: list[Staff], now: float) -> int:
        """Attendees meet people from other units. Returns the number of new ties."""
        n_attend = round(len(staff) * self.params.culture_reach)
        if n_attend < 2:
            return 0
        attendees = [staff[i] for i in self.rng.choice(len(staff), size=n_attend, replace=False)]
        made = 0
        for person in attendees:
            if self.rng.random() < self.params.culture_tie_probability:
                other = attendees[int(self.rng.integers(0, n_attend))]
                if other.unit is not person.unit:
                    made += self.add_tie(person, other, now)
        return made

    def decay(self, now: float) -> int:
        """Unused cross-unit ties fade. Returns how many did."""
        cutoff = now - self.params.decay_after_days
        stale = [
            (a, b)
            for a, b, used in self.graph.edges(data="last_used")
            if a.unit is not b.unit and used < cutoff
        ]
        if not stale:
            return 0
        fade = self.rng.random(len(stale)) < self.params.decay_probability
        for (a, b), gone in zip(stale, fade, strict=True):
            if gone:
                self.remove_tie(a, b)
        return int(fade.sum())

    # -- measures

    def modularity(self, groups: list[set[Staff]]) -> float:
        """Newman modularity of a partition of the staff: near 0 = well mixed, high = silos.

        By discipline it measures functional silos whatever the structure; by unit it
        measures how closed each unit is.
        """
        if self.graph.number_of_edges() == 0:
            return math.nan
        return newman_modularity(self.graph._adj, [g for g in groups if g])


def newman_modularity(adjacency: dict[Any, dict[Any, Any]], groups: list[set[Any]]) -> float:
    """Newman's modularity of ``groups``, a partition of the nodes of the unweighted
    graph whose adjacency (node -> neighbours) is given: what
    ``networkx.community.modularity`` returns, to the last bit (the same integer counts,
    the same arithmetic in the same order; ``tests/test_network.py`` compares them), in
    one pass over each group's neighbours instead of the edge views and the partition
    check, which took 65-120 ms at 5,000 staff."""
    # a self-loop counts twice in a degree (networkx's convention; the model makes none)
    degree = {node: len(nbrs) + (node in nbrs) for node, nbrs in adjacency.items()}
    degree_sum = sum(degree.values())
    if degree_sum == 0:
        return 0
    edges, norm = degree_sum / 2, 1 / degree_sum**2

    def contribution(group: set[Any]) -> float:
        ends_inside = sum(
            sum(1 for other in adjacency[node] if other in group) + (node in adjacency[node])
            for node in group
        )
        group_degree = sum(degree[node] for node in group)
        return ends_inside // 2 / edges - group_degree * group_degree * norm

    return sum(map(contribution, groups))
