"""The run's tables are built column by column for speed; they must equal the tables
pandas builds from the rows directly (same columns, types and values)."""

from __future__ import annotations

import pandas as pd
import pytest

from simulation import OrgModel
from simulation.model import records
from simulation.running.runs import run_scenario
from tests.conftest import ready_made, short


@pytest.fixture(scope="module")
def recorder() -> records.Recorder:
    """The recorder of a short siloed run: rework, IT and business work, many units."""
    model = OrgModel(short(ready_made("siloed"), days=60), rng=3)
    while model.running:
        model.step()
    return model.recorder


def _same(fast: pd.DataFrame, plain: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    assert list(fast.dtypes) == list(plain.dtypes)


def test_the_event_log_equals_the_one_built_from_rows(recorder):
    assert len(recorder.event_rows) > 100
    _same(records.event_log(recorder.event_rows), records._event_log_reference(recorder.event_rows))


def test_the_items_table_equals_the_one_built_from_rows(recorder):
    rows = recorder.item_rows
    _same(records._items_table(rows), pd.DataFrame(rows, columns=records.ITEM_COLUMNS))


def test_the_unit_series_equals_the_one_built_from_rows(recorder):
    rows = recorder.unit_rows
    _same(records._unit_daily_table(rows), pd.DataFrame(rows, columns=records.UNIT_DAILY_COLUMNS))


@pytest.mark.parametrize(
    "column",
    [
        [1.5, None, 2.0],  # None among floats: NaN, float
        [None, None, None],  # nothing: objects
        [1, 2.5, 3],  # ints among floats: float
        [1, 2, 3],  # whole numbers: int
        [True, False, True],  # booleans: bool
    ],
)
def test_columns_are_typed_as_pandas_types_rows(column):
    rows = [(i, "a", value) for i, value in enumerate(column)]
    fast = pd.DataFrame(records._columns(rows, ["id", "name", "x"], text={"name"}))
    _same(fast, pd.DataFrame(rows, columns=["id", "name", "x"]))


def test_an_empty_run_has_typed_empty_tables():
    assert records._items_table([]).dtypes.to_dict() == {
        k: pd.api.types.pandas_dtype(v) for k, v in records.ITEM_DTYPES.items()
    }
    assert list(records.event_log([]).columns) == records.EVENT_LOG_COLUMNS


def _unit_table_reference(run: records.RunRecords) -> pd.DataFrame:
    """unit_table as pandas says it: a group mean of the queue after the warm-up."""
    units = run.units.copy()
    units["utilisation"] = units["busy_days"] / units["staffed_days"].clip(lower=1e-9)
    daily = run.unit_daily
    queue = daily[daily["day"] > run.warmup].groupby("unit", sort=False)["queued"].mean()
    units["queue_mean"] = units["unit"].map(queue).fillna(0.0)
    return units


def test_unit_table_equals_a_group_mean_across_a_reorganisation():
    from simulation.analysis.metrics import unit_table

    # the units change on the way: units of the old structure leave rows behind
    run = run_scenario(ready_made("transition_big_bang"), seed=1).records
    assert set(run.unit_daily["unit"]) - set(run.units["unit"])
    _same(unit_table(run), _unit_table_reference(run))
