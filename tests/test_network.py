"""The social network's measures against networkx's own."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from simulation.mechanisms.network import newman_modularity


def _partition(nodes: list[int], groups: int, rng: np.random.Generator) -> list[set[int]]:
    labels = rng.integers(0, groups, size=len(nodes))
    return [
        g
        for g in ({n for n, k in zip(nodes, labels, strict=True) if k == i} for i in range(groups))
        if g
    ]


@pytest.mark.parametrize("seed", range(6))
def test_modularity_is_networkx_to_the_last_bit(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    graph = nx.gnm_random_graph(n, int(rng.integers(1, 4 * n)), seed=seed)
    if seed == 0:
        graph.add_edge(1, 1)  # a self-loop, as networkx counts it
    for groups in (1, 3, int(rng.integers(2, 40))):
        partition = _partition(list(graph), groups, rng)
        assert newman_modularity(graph._adj, partition) == nx.community.modularity(graph, partition)


def test_modularity_of_no_edges_is_zero_as_in_networkx():
    graph = nx.empty_graph(4)
    partition = [{0, 1}, {2, 3}]
    assert newman_modularity(graph._adj, partition) == nx.community.modularity(graph, partition)


@pytest.mark.parametrize("name", ["converged", "transition_big_bang"])
def test_skipping_settled_units_changes_nothing(name, monkeypatch):
    """form_ties skips a unit where nobody was lonely until someone joins or leaves it
    or one of its members loses a tie: with leavers, hires, rotation and (big bang) a
    reorganisation, a run gives the same KPIs as one that scans every unit every day."""
    from simulation.inputs.scenario import with_overrides
    from simulation.mechanisms.network import SocialNetwork
    from simulation.running.runs import run_scenario
    from tests.conftest import ready_made, short

    scenario = short(
        with_overrides(
            ready_made(name),
            {"mechanisms.turnover.annual_rate": 0.2, "levers.rotation_share": 0.1},
        ),
        days=150,
    )
    skipping = run_scenario(scenario, seed=3).kpis
    scan_all = SocialNetwork.form_ties

    def scanning_every_unit(self, units, now):
        self._settled.clear()
        return scan_all(self, units, now)

    monkeypatch.setattr(SocialNetwork, "form_ties", scanning_every_unit)
    assert run_scenario(scenario, seed=3).kpis == skipping


def test_a_settled_unit_is_scanned_again_once_someone_loses_ties():
    """A department where nobody is lonely is skipped; once a member loses their ties
    there, form_ties gets them back to the usual density."""
    from simulation.model.org_model import OrgModel
    from tests.conftest import ready_made, short

    model = OrgModel(short(ready_made("aligned"), days=20), seed=1)
    for _ in range(5):
        model.step()
    network, units = model.network, model.organisation.units
    network.form_ties(units, model.clock.now)
    unit = max(units, key=lambda u: u.size)
    assert unit in network._settled  # nobody lonely: skipped from now on
    person = unit.members[0]
    for other in [o for o in network.graph.neighbors(person) if o.unit is unit]:
        network.remove_tie(person, other)
    assert person.ties_into.get(unit.index, 0) == 0
    for _ in range(300):
        network.form_ties(units, model.clock.now)
    wanted = min(unit.size - 1, network.params.within_unit_degree)
    assert person.ties_into[unit.index] >= wanted


def test_a_settled_unit_is_scanned_again_once_someone_joins():
    from simulation.model.org_model import OrgModel
    from tests.conftest import ready_made, short

    model = OrgModel(short(ready_made("aligned"), days=20), seed=1)
    model.step()
    network, units = model.network, model.organisation.units
    network.form_ties(units, model.clock.now)
    unit = max(units, key=lambda u: u.size)
    assert unit in network._settled
    newcomer = model.hire(unit.members[0].discipline)
    network.graph.add_node(newcomer)
    unit.join(newcomer)  # no welcome: nobody here knows them yet
    for _ in range(300):
        network.form_ties(units, model.clock.now)
    assert newcomer.ties_into[unit.index] >= min(unit.size - 1, network.params.within_unit_degree)
