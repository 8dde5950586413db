"""Rotation (mechanism 8): people spend a stint in a unit of another discipline.

Each year a share of staff spend a stint in a unit of another discipline (the other
side of the business-IT boundary where there is one). While away they do no work at
home: the productivity dip. They come back with skill in the host discipline (fewer
misunderstandings when they hand work there, and in a team they can cover it), ties
with the host unit, and a slightly higher shared language (``language.py``).

Default: a share of 0 (``levers.rotation_share``), so nobody rotates unless a scenario
says so. Off switch: ``mechanisms.rotation.enabled: false`` (or a share of 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simulation.engine.clock import WORKING_DAYS_PER_YEAR
from simulation.mechanisms.base import Mechanism

if TYPE_CHECKING:
    import numpy as np

    from simulation.engine.agents import Staff
    from simulation.engine.clock import Clock
    from simulation.engine.organisation import Organisation
    from simulation.engine.units import Unit
    from simulation.inputs.scenario import Levers, Rotation
    from simulation.mechanisms.language import Language
    from simulation.mechanisms.network import SocialNetwork

MAX_CROSS_SKILL = 0.8  # a rotation never makes someone a full specialist


class RotationProgramme(Mechanism):
    """Who goes on a stint, where, and what they bring back.

    Args:
        share: Share of staff rotating per year (the lever).
        params: The mechanism's parameters (``mechanisms.rotation``).
        rng: The run's random stream.
        clock: Schedules each return.
        staff: Everyone employed (the model's list, kept up to date by the model).
        organisation: The units people work in now.
        side_of: Each discipline's side, ``"business"`` or ``"it"``.
        network: Where the ties made on a stint go.
        language: What each completed stint raises a little.
        book_cost: Books a programme's cost (programme name, amount).
    """

    def __init__(
        self,
        share: float,
        params: Rotation,
        rng: np.random.Generator,
        clock: Clock,
        staff: list[Staff],
        organisation: Organisation,
        side_of: dict[str, str],
        network: SocialNetwork,
        language: Language,
        book_cost: Callable[[str, float], None],
    ):
        self.params = params
        self.rng = rng
        self.clock = clock
        self.staff = staff
        self.organisation = organisation
        self.side_of = side_of
        self.network = network
        self.language = language
        self.book_cost = book_cost
        self.stints = 0
        self.away = 0
        self.set_share(share)

    def set_share(self, share: float) -> None:
        """Share of staff rotating per year, from now on."""
        self.daily_probability = share / WORKING_DAYS_PER_YEAR if self.params.enabled else 0.0

    def on_levers(self, before: Levers, after: Levers) -> None:
        """The rotation share from now on."""
        self.set_share(after.rotation_share)

    def on_day(self, day: int) -> None:
        """Today's starters: each present person starts a stint with the daily chance."""
        if self.daily_probability <= 0:
            return
        rng, staff = self.rng, self.staff
        starting = int(rng.binomial(len(staff), self.daily_probability))
        for i in rng.choice(len(staff), size=starting, replace=False) if starting else ():
            person = staff[i]
            if not person.away and person.pending is None:
                self.begin(person)

    def on_reorganise(self, organisation: Organisation) -> None:
        """Hosts are chosen among the new units from now on."""
        self.organisation = organisation

    def begin(self, person: Staff) -> None:
        """``person`` is chosen: they leave now if free, else after their task."""
        host = self._host_for(person)
        if host is None:
            return
        person.rotation_host = host
        if person.busy:
            person.hold("rotation", self.depart)
        else:
            self.depart(person)

    def depart(self, person: Staff) -> None:
        """``person`` steps out of their unit for a stint."""
        person.pending = None
        person.away = True
        person.unit.step_out(person)
        self.away += 1
        self.book_cost("rotation", self.params.cost_per_stint)
        self.clock.after(self.params.stint_days, self.come_back, person)

    def come_back(self, person: Staff) -> None:
        """Event callback: the stint is over; ``person`` is back with skill and ties."""
        unit, discipline = person.rotation_host
        person.away = False
        self.away -= 1
        if person.left:  # let go while away: nobody comes back
            return
        self.stints += 1
        gained = person.proficiency.get(discipline, 0.0) + self.params.skill_gain
        person.proficiency[discipline] = min(MAX_CROSS_SKILL, gained)
        person.unit.refresh_skills()
        self.network.connect_with_unit(person, unit, self.params.ties_gained, self.clock.now)
        self.language.raise_by(self.params.language_gain)
        person.unit.step_in(person)

    def _host_for(self, person: Staff) -> tuple[Unit, str] | None:
        """A unit and discipline to learn: the other side's where possible."""
        by_discipline = self.organisation.units_by_discipline
        others = [d for d in by_discipline if d != person.discipline]
        other_side = [d for d in others if self.side_of[d] != person.side]
        choices = other_side or others
        if not choices:
            return None
        discipline = choices[int(self.rng.integers(0, len(choices)))]
        units = by_discipline[discipline]
        return units[int(self.rng.integers(0, len(units)))], discipline

    def summary(self) -> dict[str, int]:
        """Stints completed by the end."""
        return {"rotation_stints": self.stints}
