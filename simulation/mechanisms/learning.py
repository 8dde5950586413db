"""How the organisation learns: shared language (mechanism 9) and rotation (mechanism 8).

Shared language is one organisation-level number, 0..1. It scales down every
misunderstanding at a boundary (``handoffs.py``). It starts at the scenario's lever and
rises with a glossary initiative (phased in over a few weeks, one-off cost), with each
BRM mediation (translators teach both sides) and with each completed rotation stint.
Every rise closes a share of the remaining gap and never passes the ceiling.
Switched off, it stays at the lever's value.

Rotation: each year a share of staff spend a stint in a unit of another discipline
(the other side of the business-IT boundary where there is one). While away they do
no work at home: the productivity dip. They come back with skill in the host
discipline (fewer misunderstandings when they hand work there, and in a team they can
cover it), ties with the host unit, and a slightly higher shared language.
Switched off (or a share of 0), nobody rotates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulation.engine.agents import Staff
    from simulation.engine.units import Unit
    from simulation.inputs.scenario import Rotation, SharedLanguage
    from simulation.model.org_model import OrgModel

WORKING_DAYS_PER_YEAR = 250
MAX_CROSS_SKILL = 0.8  # a rotation never makes someone a full specialist


class Language:
    def __init__(self, start: float, params: SharedLanguage, glossary: bool):
        self.params = params
        self.level = min(start, params.ceiling) if params.enabled else start
        self.glossary_days_left = params.glossary_ramp_days if (glossary and params.enabled) else 0
        self.glossary_started = self.glossary_days_left > 0

    def start_glossary(self) -> None:
        if self.params.enabled:
            self.glossary_days_left = self.params.glossary_ramp_days
            self.glossary_started = True

    def raise_by(self, share: float) -> None:
        """Close ``share`` of the gap to full shared language, up to the ceiling."""
        if self.params.enabled and share > 0:
            self.level = min(self.params.ceiling, self.level + share * (1.0 - self.level))

    def on_day(self) -> None:
        if self.glossary_days_left > 0:
            self.glossary_days_left -= 1
            step = self.params.glossary_gain / self.params.glossary_ramp_days
            self.level = min(self.params.ceiling, self.level + step)


class RotationProgramme:
    def __init__(self, model: OrgModel, share: float, params: Rotation):
        self.model = model
        self.params = params
        self.stints = 0
        self.away = 0
        self.set_share(share)

    def set_share(self, share: float) -> None:
        """Share of staff rotating per year, from now on."""
        self.daily_probability = share / WORKING_DAYS_PER_YEAR if self.params.enabled else 0.0

    def on_day(self, staff: list[Staff]) -> None:
        if self.daily_probability <= 0:
            return
        rng = self.model.rng
        starting = int(rng.binomial(len(staff), self.daily_probability))
        for i in rng.choice(len(staff), size=starting, replace=False) if starting else ():
            person = staff[i]
            if not person.away and person.pending is None:
                self.begin(person)

    def begin(self, person: Staff) -> None:
        host = self._host_for(person)
        if host is None:
            return
        person.rotation_host = host
        if person.busy:
            person.pending = "rotation"
        else:
            self.depart(person)

    def depart(self, person: Staff) -> None:
        person.pending = None
        person.away = True
        person.unit.step_out(person)
        self.away += 1
        self.model.recorder.programme_cost("rotation", self.params.cost_per_stint)
        self.model.clock.schedule(self.params.stint_days, person.come_back)

    def come_back(self, person: Staff) -> None:
        unit, discipline = person.rotation_host
        person.away = False
        self.away -= 1
        self.stints += 1
        gained = person.proficiency.get(discipline, 0.0) + self.params.skill_gain
        person.proficiency[discipline] = min(MAX_CROSS_SKILL, gained)
        person.unit.refresh_skills()
        self.model.network.connect_with_unit(person, unit, self.params.ties_gained, self.model.time)
        self.model.language.raise_by(self.params.language_gain)
        person.unit.step_in(person)

    def _host_for(self, person: Staff) -> tuple[Unit, str] | None:
        """A unit and discipline to learn: the other side's where possible."""
        model = self.model
        others = [d for d in model.units_by_discipline if d != person.discipline]
        other_side = [d for d in others if model.side_of[d] != person.side]
        choices = other_side or others
        if not choices:
            return None
        discipline = choices[int(model.rng.integers(0, len(choices)))]
        units = model.units_by_discipline[discipline]
        return units[int(model.rng.integers(0, len(units)))], discipline
