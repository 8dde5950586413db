"""Shared language (mechanism 9): how business and IT come to understand each other.

Shared language is one organisation-level number, 0..1. It scales down every
misunderstanding at a boundary (``handoffs.py``). It starts at the scenario's lever and
rises with a glossary initiative (phased in over a few weeks, one-off cost), with each
BRM mediation (translators teach both sides) and with each completed rotation stint
(``rotation.py``). Every rise closes a share of the remaining gap and never passes the
ceiling.

Default: on, starting at the scenario's ``levers.shared_language``. Off switch:
``mechanisms.language.enabled: false``; it then stays at the lever's value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simulation.mechanisms.base import Mechanism

if TYPE_CHECKING:
    from simulation.inputs.scenario import Levers, SharedLanguage


class Language(Mechanism):
    """The organisation's shared language, and the glossary initiative that raises it.

    Args:
        start: The level at the start (the lever), 0..1.
        params: The mechanism's parameters (``mechanisms.language``).
        glossary: Whether a glossary initiative starts now.
        book_cost: Books a programme's cost (programme name, amount).
    """

    def __init__(
        self,
        start: float,
        params: SharedLanguage,
        glossary: bool,
        book_cost: Callable[[str, float], None],
    ):
        self.params = params
        self.book_cost = book_cost
        self.level = min(start, params.ceiling) if params.enabled else start
        self.glossary_days_left = 0
        self.glossary_started = False
        if glossary:
            self.start_glossary()

    def start_glossary(self) -> None:
        """A glossary initiative starts: it phases in over the ramp and costs once."""
        if self.params.enabled:
            self.glossary_days_left = self.params.glossary_ramp_days
            self.glossary_started = self.glossary_days_left > 0
            if self.glossary_started:
                self.book_cost("glossary", self.params.glossary_cost)

    def on_levers(self, before: Levers, after: Levers) -> None:
        """A moved language lever sets the level; a glossary switched on starts."""
        if after.shared_language != before.shared_language:
            self.level = after.shared_language
        if after.glossary and not before.glossary:
            self.start_glossary()

    def raise_by(self, share: float) -> None:
        """Close ``share`` of the gap to full shared language, up to the ceiling."""
        if self.params.enabled and share > 0:
            self.level = min(self.params.ceiling, self.level + share * (1.0 - self.level))

    def on_day(self, day: int) -> None:
        """A day of the glossary's ramp, while it lasts."""
        if self.glossary_days_left > 0:
            self.glossary_days_left -= 1
            step = self.params.glossary_gain / self.params.glossary_ramp_days
            self.level = min(self.params.ceiling, self.level + step)

    def summary(self) -> dict[str, float]:
        """The level reached by the end."""
        return {"shared_language_end": self.level}
