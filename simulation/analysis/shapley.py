"""Shapley values of a game played once per replicate: exact, or by permutation sampling.

A *game* gives each coalition ``S`` of ``k`` players (a set of factors, or of
mechanisms) a value per replicate: ``values[S]`` is an array over replicates, and
replicate ``r`` of every coalition ran on the same random numbers (common random
numbers), so ``v_r(S)`` differs between coalitions only by what the coalitions change.
A coalition is a bit mask: player ``i`` is in ``S`` when bit ``i`` is set.

The Shapley value of player ``i`` is its marginal contribution ``v(S + i) - v(S)``
averaged over every order in which the players could join. Computed per replicate it is
a linear function of that replicate's values, so its mean over replicates is the
Shapley value of the mean game, and the spread over replicates gives a t-interval.

- :func:`shapley_exact` weighs all ``2^k`` coalitions (:func:`all_coalitions`).
- :func:`shapley_sampled` averages the marginal contributions along sampled orders
  (:func:`antithetic_orders`: each order and its reverse, which lowers the variance
  where effects are monotone). Along one order the contributions telescope to
  ``v(N) - v(empty)``, so in both methods the values add up to the total exactly
  (to rounding); sampling adds an error to each player's value alone, which
  :func:`sampling_error` states.
- :func:`interaction_index` is the Shapley interaction index of a pair (Grabisch &
  Roubens 1999); for two players it is the Harsanyi dividend
  ``v(12) - v(1) - v(2) + v(empty)``: what the pair brings together beyond each alone.

Pure functions of arrays: nothing runs here, so every property can be tested on a
synthetic game.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import combinations

import numpy as np

#: A game: coalition bit mask -> value per replicate.
Game = Mapping[int, np.ndarray]


def full(k: int) -> int:
    """The grand coalition of ``k`` players as a bit mask."""
    return (1 << k) - 1


def all_coalitions(k: int) -> list[int]:
    """Every coalition of ``k`` players (``2^k`` bit masks, the empty one first)."""
    return list(range(1 << k))


def antithetic_orders(k: int, count: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """``count`` orders of ``k`` players: random ones, each followed by its reverse
    (``count`` is rounded up to an even number)."""
    orders: list[tuple[int, ...]] = []
    while len(orders) < count:
        order = tuple(int(i) for i in rng.permutation(k))
        orders += [order, order[::-1]]
    return orders


def order_coalitions(orders: Sequence[Sequence[int]]) -> list[int]:
    """The coalitions the orders pass through (each prefix), each once, in first-seen
    order; the empty and the grand coalition included."""
    seen: dict[int, None] = {}
    for order in orders:
        mask = 0
        seen.setdefault(mask, None)
        for player in order:
            mask |= 1 << player
            seen.setdefault(mask, None)
    return list(seen)


def shapley_exact(values: Game, k: int) -> np.ndarray:
    """Every player's Shapley value per replicate, from all ``2^k`` coalitions:
    an array ``[k, replicates]``."""
    weights = [math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)]
    phi = np.zeros((k, len(values[0])))
    for mask in all_coalitions(k):
        size = mask.bit_count()
        for player in range(k):
            if not mask >> player & 1:
                phi[player] += weights[size] * (values[mask | 1 << player] - values[mask])
    return phi


def marginal_contributions(values: Game, orders: Sequence[Sequence[int]], k: int) -> np.ndarray:
    """Each player's marginal contribution along each order, per replicate: an array
    ``[orders, k, replicates]``; each order's contributions sum to ``v(N) - v(empty)``."""
    out = np.zeros((len(orders), k, len(values[0])))
    for index, order in enumerate(orders):
        mask = 0
        for player in order:
            out[index, player] = values[mask | 1 << player] - values[mask]
            mask |= 1 << player
    return out


def shapley_sampled(values: Game, orders: Sequence[Sequence[int]], k: int) -> np.ndarray:
    """Every player's Shapley value per replicate, estimated from ``orders``: an array
    ``[k, replicates]``, the mean of :func:`marginal_contributions` over the orders."""
    return marginal_contributions(values, orders, k).mean(axis=0)


def sampling_error(values: Game, orders: Sequence[Sequence[int]], k: int) -> np.ndarray:
    """The standard error each player's sampled value owes to the choice of orders.

    Orders come in antithetic pairs (an order and its reverse), which are not
    independent, so the error is the spread of the pairs' means (of the replicates'
    mean contribution) over the number of pairs. It still holds some replicate noise
    (divided by the replicates), so it errs on the large side. NaN below two pairs."""
    per_order = marginal_contributions(values, orders, k).mean(axis=2)  # [orders, k]
    pairs = per_order[: len(orders) // 2 * 2].reshape(-1, 2, k).mean(axis=1)
    if len(pairs) < 2:
        return np.full(k, np.nan)
    return pairs.std(axis=0, ddof=1) / math.sqrt(len(pairs))


def interaction_index(values: Game, k: int, i: int, j: int) -> np.ndarray:
    """The Shapley interaction index of players ``i`` and ``j`` per replicate: the
    weighted mean, over the coalitions ``S`` of the other players, of
    ``v(S+ij) - v(S+i) - v(S+j) + v(S)``, with weights ``|S|!(k-|S|-2)!/(k-1)!``.
    Positive: together they bring more than the sum of each alone."""
    pair = 1 << i | 1 << j
    total = np.zeros(len(values[0]))
    for mask in all_coalitions(k):
        if mask & pair:
            continue
        size = mask.bit_count()
        weight = math.factorial(size) * math.factorial(k - size - 2) / math.factorial(k - 1)
        total += weight * (
            values[mask | pair] - values[mask | 1 << i] - values[mask | 1 << j] + values[mask]
        )
    return total


def pairs(k: int) -> list[tuple[int, int]]:
    """Every pair of ``k`` players, in order."""
    return list(combinations(range(k), 2))


def game_from(v: Callable[[frozenset[int]], float], k: int, masks: Sequence[int]) -> dict:
    """A one-replicate game from a function of the set of players (for tests and
    examples): ``{mask: array([v(players of mask)])}``."""
    return {
        mask: np.array([float(v(frozenset(p for p in range(k) if mask >> p & 1)))])
        for mask in masks
    }
