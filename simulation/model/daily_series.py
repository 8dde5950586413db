"""The daily series: Mesa's DataCollector, collected without its per-value copies.

Mesa's ``DataCollector.collect`` deep-copies every reported value, every day, in case a
reporter returns something mutable; profiled on a long chain that was a fifth of a run
(issue 11). Every daily reporter here returns a number, so the values are stored as
they are. The result is the same ``model_vars`` and data frame: ``model.datacollector``
still serves Mesa's ``get_model_vars_dataframe`` and ``mesa.batch_run``.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

import mesa


class DailySeries(mesa.DataCollector):
    """A model-level DataCollector whose reporters return numbers (no copies taken).

    Args:
        model_reporters: Column name -> the model's attribute name, or a function of
            the model; each returns an int or a float.
    """

    def __init__(self, model_reporters: dict[str, str | Callable[[Any], Any]]):
        super().__init__(model_reporters=model_reporters)
        self._readers = [
            (self.model_vars[name], attrgetter(reporter) if isinstance(reporter, str) else reporter)
            for name, reporter in model_reporters.items()
        ]

    def collect(self, model: mesa.Model) -> None:
        """Append today's value of every reporter (Mesa's ``collect``, minus the copies)."""
        self._collection_steps.append(model.time)
        for column, read in self._readers:
            column.append(read(model))
