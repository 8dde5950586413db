"""Business value (mechanism 11): what a delivered item is worth, given how late it is.

An item's business value halves every ``half_life_days`` of lead time (cost of delay)
and loses a share to an escaped defect.

Default: on, with the half-life in ``mechanisms.value``. Off switch:
``mechanisms.value.enabled: false``; every item is then worth its type's full value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulation.engine.work import WorkItem
    from simulation.inputs.scenario import Value


def value_delivered(item: WorkItem, params: Value) -> float:
    """The value a delivered item brings, after its cost of delay and defects."""
    if not params.enabled:
        return item.type.value
    value = item.type.value * 0.5 ** (item.lead_time / params.half_life_days)
    if item.latent_defects:
        value *= 1.0 - params.defect_loss
    return value
