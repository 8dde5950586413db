"""Escaped defects feed back (mechanism 4): a defect that escaped comes back as work.

A misunderstanding nobody detected stays in the item (``handoffs.py``); when the item
is delivered, each such item's defect surfaces after an exponential delay (mean
``surface_days``) as an incident of the ``incident_type`` work type: failure demand,
work the organisation made for itself. Silos that mis-specify create their own load.

Default: on, surfacing as ``incident`` items after 10 days on average. Off switch:
``mechanisms.defects.enabled: false``; escaped defects then cost CX and value
(``cx.py``, ``value.py``) but raise no incidents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simulation.engine.streams import Stream
from simulation.mechanisms.base import Mechanism

if TYPE_CHECKING:
    import numpy as np

    from simulation.engine.clock import Clock
    from simulation.engine.work import Demand, WorkItem
    from simulation.inputs.scenario import Defects


class EscapedDefects(Mechanism):
    """Incidents raised by the defects delivered items carry.

    Args:
        params: The mechanism's parameters (``mechanisms.defects``).
        rng: The run's random stream; the delays to surfacing come from a stream
            spawned from it (``engine/streams.py``).
        clock: Schedules each incident.
        demand: Makes the incident items (from their own random stream).
        admit: Takes each incident into the organisation.
    """

    def __init__(
        self,
        params: Defects,
        rng: np.random.Generator,
        clock: Clock,
        demand: Demand,
        admit: Callable[[WorkItem], None],
    ):
        self.params = params
        (self.surfacing,) = Stream.spawned(rng, 1)
        self.clock = clock
        self.demand = demand
        self.admit = admit

    def delivered(self, item: WorkItem) -> None:
        """``item`` was delivered: an escaped defect in it will surface later."""
        if item.latent_defects and self.params.enabled:
            delay = self.surfacing.exponential(self.params.surface_days)
            self.clock.after(delay, self._surfaces, item)

    def _surfaces(self, item: WorkItem) -> None:
        incident_type = self.demand.by_name[self.params.incident_type]
        self.admit(self.demand.new_item(incident_type, raised_by_defect=True))
