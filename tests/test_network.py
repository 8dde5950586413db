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
