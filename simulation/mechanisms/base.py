"""What every mechanism offers the model: a few hooks, each doing nothing by default.

A mechanism is built with what it needs (its parameters, the run's random stream, the
clock, and the few collaborators it acts on), never with the model. The model keeps
its mechanisms in a list and, in that order:

- calls :meth:`Mechanism.on_day` once at the end of each day (``step()``);
- calls :meth:`Mechanism.on_reorganise` whenever units are re-formed;
- calls :meth:`Mechanism.on_levers` whenever a change moves the levers;
- merges every :meth:`Mechanism.summary` into the run's records at the end.

Anything else a mechanism does, it schedules on the clock itself. A mechanism that
overrides nothing changes nothing: it draws no random numbers and schedules nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulation.engine.organisation import Organisation
    from simulation.inputs.scenario import Levers


class Mechanism:
    """The hooks a mechanism may override; each does nothing unless it does."""

    def on_day(self, day: int) -> None:
        """The end of working day ``day`` (1, 2, ...), before the day is recorded."""

    def on_reorganise(self, organisation: Organisation) -> None:
        """Units were re-formed: ``organisation`` is the one people work in from now on."""

    def on_levers(self, before: Levers, after: Levers) -> None:
        """A change (scheduled, or a PDCA trial) moved the levers from ``before`` to
        ``after``; the organisation has already been re-formed if it had to be."""

    def summary(self) -> dict[str, Any]:
        """What this mechanism adds to the run's records at the end (by record name)."""
        return {}
