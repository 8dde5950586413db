"""Random draws taken in blocks (engine/streams.py): numpy's numbers, in a fixed order,
one stream per purpose, so switching a mechanism off moves no other's dice."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulation import OrgModel
from simulation.engine.streams import BLOCK, Draws, RowDraws, Stream
from tests.conftest import ready_made, short


def test_a_stream_gives_numpys_own_draws_block_by_block():
    stream = Stream(np.random.default_rng(3))
    twin = np.random.default_rng(3)
    uniforms = [stream.random() for _ in range(BLOCK + 5)]
    first, second = twin.random(BLOCK), twin.random(BLOCK)
    assert uniforms == list(first[::-1]) + list(second[::-1][:5])
    stream, twin = Stream(np.random.default_rng(4)), np.random.default_rng(4)
    assert [stream.exponential(2.5) for _ in range(10)] == list(
        2.5 * twin.standard_exponential(BLOCK)[::-1][:10]
    )


def test_rows_of_draws_are_the_numbers_one_draws_per_column_would_give():
    """A work item's efforts, one per stage, come as a row: the same numbers, in the
    same order, as one Draws per stage drawing side by side from the same generator,
    across a refill of the blocks."""
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    columns = [lambda n: rng.exponential(1.0, n), lambda n: rng.lognormal(0.0, 0.5, n)]
    twins = [lambda n: twin.exponential(1.0, n), lambda n: twin.lognormal(0.0, 0.5, n)]
    rows = RowDraws(columns)
    singles = [Draws(draw) for draw in twins]
    for _ in range(BLOCK + 3):
        assert rows.next() == tuple(draws.next() for draws in singles)


def test_spawning_streams_draws_nothing_from_the_parent():
    rng = np.random.default_rng(9)
    before = rng.bit_generator.state
    a, b = Stream.spawned(rng, 2)
    a.random(), b.exponential(1.0)
    assert rng.bit_generator.state == before
    assert a.random() != b.random()  # two streams, not one twice


def test_below_is_uniform_over_its_range():
    stream = Stream(np.random.default_rng(11))
    counts = np.bincount([stream.below(7) for _ in range(14_000)], minlength=7)
    assert len(counts) == 7  # never 7 or more
    assert stats.chisquare(counts).pvalue > 0.001


def test_exponential_draws_have_the_mean_asked_for():
    stream = Stream(np.random.default_rng(12))
    draws = np.array([stream.exponential(0.4) for _ in range(20_000)])
    half_width = 1.96 * draws.std(ddof=1) / np.sqrt(len(draws))
    assert draws.mean() == pytest.approx(0.4, abs=half_width)


def test_switching_rework_off_leaves_the_handoff_delays_where_they_were():
    """Common random numbers: the delays come from their own stream, so the first
    handoffs (before any rework changes the flow) take the same time either way."""

    def first_delays(**overrides) -> list[float]:
        model = OrgModel(short(ready_made("siloed"), 20), **overrides)
        delays: list[float] = []

        class Recording(Stream):
            def exponential(self, mean: float) -> float:
                delay = super().exponential(mean)
                delays.append(delay / mean)  # the standard exponential behind it
                return delay

        # the same generator, not drawn from yet: the run's own numbers, written down
        model.handoffs.delays = Recording(model.handoffs.delays.generator)
        model.run_model()
        return delays[:20]

    with_rework = first_delays()
    assert len(with_rework) == 20
    assert first_delays(mechanisms__rework__enabled=False) == with_rework
