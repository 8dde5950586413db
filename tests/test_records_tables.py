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
    fast = pd.DataFrame(records.typed_columns(rows, ["id", "name", "x"], text={"name"}))
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


@pytest.fixture(scope="module")
def run_going_on() -> tuple[OrgModel, records.RunRecords, int]:
    """A siloed run's records taken half-way, and the task rows there were then."""
    model = OrgModel(short(ready_made("siloed"), days=60), rng=3)
    while model.steps < 30:
        model.step()
    taken = model.records()
    rows_then = len(model.recorder.event_rows)
    while model.running:  # the run goes on after its records were taken
        model.step()
    assert len(model.recorder.event_rows) > rows_then
    return model, taken, rows_then


def test_the_event_log_made_on_read_is_the_one_of_the_moment_the_records_were_taken(
    run_going_on,
):
    model, taken, rows_then = run_going_on
    _same(taken.events, records.event_log(model.recorder.event_rows[:rows_then]))
    assert taken.events is taken.events  # made once, then kept


def test_units_working_on_items_are_the_same_from_the_rows_and_from_the_event_log(
    run_going_on,
):
    _, taken, _ = run_going_on
    items = taken.items["item"].to_numpy()
    some = items[::3]
    from_rows = taken.groups_working_on(some)  # before the event log is made
    events = taken.events
    expected = set(events.loc[events["case:concept:name"].isin(some), "org:group"])
    assert from_rows == expected and len(expected) > 1
    assert taken.groups_working_on(some) == expected  # and from the event log, made now


def test_records_with_the_event_log_not_yet_made_pickle(run_going_on):
    import pickle

    model, _, _ = run_going_on
    unread, read = model.records(), model.records()
    _ = read.events
    again = pickle.loads(pickle.dumps(unread))
    _same(again.events, read.events)


@pytest.mark.parametrize("columns", [records.CHANGE_COLUMNS, records.DECISION_COLUMNS])
def test_an_empty_log_is_the_plain_empty_table_and_each_run_has_its_own(columns):
    first = records._log_table([], columns)
    _same(first, pd.DataFrame([], columns=columns))
    first.loc[0] = [None] * len(columns)  # a caller may add to its table
    assert records._log_table([], columns).empty


def test_effort_of_everyone_and_of_it_in_one_pass_equals_a_pass_each(recorder):
    everyone, it = recorder._effort_totals_both()
    for it_only, got in ((False, everyone), (True, it)):
        expected = dict(recorder.departed_it if it_only else recorder.departed)
        for person in recorder.staff:
            if not it_only or person.side == "it":
                for use, days in person.time_spent.items():
                    expected[use] = expected.get(use, 0.0) + days
        assert repr(got) == repr(expected) and got
