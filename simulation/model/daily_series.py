"""The daily series: Mesa's DataCollector, collected as one row a day.

Mesa's ``DataCollector.collect`` calls every reporter and deep-copies every value, every
day, in case a reporter returns something mutable; profiled on a long chain that was a
fifth of a run (issue 11). Here the model hands over the whole day as one tuple of
numbers read from counters it keeps anyway (``OrgModel.daily_row``), and the columns are
made from the rows only when someone reads them. The result is the same ``model_vars``
and data frame as Mesa's own DataCollector with the reporters of
``org_model.DAILY_SERIES`` (a test compares them): ``model.datacollector`` still serves
Mesa's ``get_model_vars_dataframe`` and ``mesa.batch_run``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mesa
import pandas as pd

from simulation.model.records import typed_columns


class DailySeries(mesa.DataCollector):
    """A model-level DataCollector fed one row of numbers a day.

    Args:
        model_reporters: Column name -> Mesa reporter; only the names (and their order)
            are used here, the values come from ``row``.
        row: Today's values, a tuple in the order of ``model_reporters``.
    """

    def __init__(
        self,
        model_reporters: dict[str, str | Callable[[Any], Any]],
        row: Callable[[], tuple],
    ):
        self._names = list(model_reporters)
        self._row = row
        self._rows: list[tuple] = []
        self._columns: dict[str, list] = {}
        self._columns_rows = -1  # the rows the columns were made from
        super().__init__(model_reporters=model_reporters)

    def collect(self, model: mesa.Model) -> None:
        """Append today's row (Mesa's ``collect``, minus the reporters and the copies)."""
        self._collection_steps.append(model.clock.now)
        self._rows.append(self._row())

    @property
    def model_vars(self) -> dict[str, list]:
        """Column name -> the day-by-day values (Mesa's layout), made from the rows."""
        done = self._columns_rows
        if done < 0:
            self._columns = {name: [] for name in self._names}
            done = 0
        if done < len(
            self._rows
        ):  # extend with the days since the last read (the live app reads daily)
            new = zip(*self._rows[done:], strict=True)
            for column, values in zip(self._columns.values(), new, strict=True):
                column.extend(values)
        self._columns_rows = len(self._rows)
        return self._columns

    @model_vars.setter
    def model_vars(self, value: dict) -> None:
        """Mesa's ``__init__`` sets an empty dict of columns: the rows stand in for it."""
        if value:
            raise AttributeError("the daily series are made from the model's rows")

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        """Mesa's data frame of the series, each column typed from the rows in one numpy
        pass (``records.typed_columns``: the types pandas gives the lists, in half the
        time)."""
        if not self._rows:
            return super().get_model_vars_dataframe()
        return pd.DataFrame(typed_columns(self._rows, self._names, text=set()), copy=False)
