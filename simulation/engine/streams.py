"""Random draws one at a time, taken from numpy in blocks.

A model draws most of its random numbers one by one, as events happen: a handoff's
delay, whether it is misunderstood, which of two teams takes an item. One call of numpy
per draw costs 0.7-0.9 us (9 us for ``integers(0, n, size=2)``), about as much as the
rest of the event around it; a draw from a block of 256 costs about 0.05 us. The
numbers are numpy's (PCG64), in a fixed order, so a seed still gives one run.

Each frequent kind of draw gets a :class:`Stream` of its own, spawned from the model's
generator (``rng.spawn``, which draws nothing from it). Besides speed this keeps common
random numbers across scenarios: switching one mechanism off, which stops its draws,
leaves every other mechanism's random numbers where they were, so a comparison or an
attribution (``explain``) measures the mechanism rather than a reshuffle of the dice.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Draws taken from numpy at a time: large enough that the call is paid rarely, small
#: enough that a short run wastes little (256 doubles are 2 kB).
BLOCK = 256


class Draws:
    """Draws of one distribution from a generator, taken in blocks: one call of numpy
    per block rather than per draw (the stream stays reproducible).

    Args:
        draw: Draws ``n`` values of the distribution.
    """

    BLOCK = BLOCK

    def __init__(self, draw: Callable[[int], np.ndarray]):
        self._draw = draw
        self._left: list[float] = []

    def next(self) -> float:
        """The next draw."""
        if not self._left:
            self._left = self._draw(self.BLOCK).tolist()[::-1]
        return self._left.pop()


class RowDraws:
    """Rows of draws, one value from each of several distributions at a time (a work
    item's efforts, one per stage), taken in blocks: each refill draws a block of
    every distribution, in their order, as many :class:`Draws` used side by side
    would (the same numbers in the same order), for one call per row.

    Args:
        draws: For each column, draws ``n`` values of its distribution.
    """

    BLOCK = BLOCK

    def __init__(self, draws: list[Callable[[int], np.ndarray]]):
        self._draws = draws
        self._left: list[tuple[float, ...]] = []

    def next(self) -> tuple[float, ...]:
        """The next row."""
        if not self._left:
            columns = [draw(self.BLOCK).tolist() for draw in self._draws]
            self._left = list(zip(*columns, strict=True))[::-1]
        return self._left.pop()


class Stream:
    """One purpose's random numbers: uniform, exponential and small integers, each
    kind taken from the stream's generator in blocks.

    The hot paths call it once per event, so each method is a list pop with a refill
    when the block runs out (the order within a block is immaterial: it is fixed).

    Args:
        generator: The stream's own generator (spawned from the model's).
    """

    __slots__ = ("_exponential", "_uniform", "generator")

    def __init__(self, generator: np.random.Generator):
        self.generator = generator
        self._uniform: list[float] = []
        self._exponential: list[float] = []

    @classmethod
    def spawned(cls, rng: np.random.Generator, count: int) -> list[Stream]:
        """``count`` new streams spawned from ``rng`` (drawing nothing from it)."""
        return [cls(generator) for generator in rng.spawn(count)]

    def random(self) -> float:
        """A uniform draw in [0, 1)."""
        left = self._uniform
        if not left:
            left = self._uniform = self.generator.random(BLOCK).tolist()
        return left.pop()

    def exponential(self, mean: float) -> float:
        """An exponential draw with mean ``mean`` (numpy's: ``mean`` times a standard
        exponential)."""
        left = self._exponential
        if not left:
            left = self._exponential = self.generator.standard_exponential(BLOCK).tolist()
        return mean * left.pop()

    def below(self, n: int) -> int:
        """A uniform integer in [0, ``n``) (bias below 1e-15 for the sizes of an
        organisation)."""
        return int(self.random() * n)
