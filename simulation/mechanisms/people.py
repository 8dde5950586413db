"""People coming and going: headcount changes, turnover, and new hires ramping up.

Turnover (an option: ``mechanisms.turnover.annual_rate``, 0 by default): each day some
staff leave, taking their skills and their ties; each vacancy is filled after
``hire_delay_days`` by a hire in the same discipline and unit. Every new hire, from
turnover or a scheduled headcount change, starts at ``start_proficiency`` and reaches
full proficiency linearly over ``ramp_up_days``. Someone busy when told to leave
finishes their task first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulation.engine.organisation import hire
from simulation.mechanisms.learning import WORKING_DAYS_PER_YEAR

if TYPE_CHECKING:
    from simulation.engine.agents import Staff
    from simulation.engine.units import Unit
    from simulation.model.org_model import OrgModel


class PeopleFlow:
    def __init__(self, model: OrgModel):
        self.model = model
        self.ramping: list[Staff] = []
        self._vacancies: list[_Vacancy] = []  # kept alive for their events
        self.leavers = 0
        self.hires = 0

    @property
    def params(self):
        return self.model.config.mechanisms.turnover

    # -- daily

    def on_day(self) -> None:
        self._ramp_up()
        params = self.params
        if not params.enabled or params.annual_rate <= 0:
            return
        model = self.model
        present = [p for p in model.staff if p.pending is None and not p.away]
        leaving = int(model.rng.binomial(len(present), params.annual_rate / WORKING_DAYS_PER_YEAR))
        for i in model.rng.choice(len(present), size=leaving, replace=False) if leaving else ():
            person = present[i]
            vacancy = _Vacancy(self, person.discipline, person.unit)
            self._vacancies.append(vacancy)
            model.clock.schedule(params.hire_delay_days, vacancy.fill)
            self.release(person)

    def _ramp_up(self) -> None:
        if not self.ramping:
            return
        days = self.params.ramp_up_days
        still = []
        for person in self.ramping:
            step = (1.0 - self.params.start_proficiency) / days if days > 0 else 1.0
            level = min(1.0, person.proficiency[person.discipline] + step)
            person.proficiency[person.discipline] = level
            if level < 1.0:
                still.append(person)
        self.ramping = still

    # -- joining and leaving

    def recruit(self, discipline: str) -> Staff:
        """A new hire, ramping up, not yet in a unit."""
        params = self.params
        start = params.start_proficiency if params.ramp_up_days > 0 else 1.0
        person = hire(self.model, discipline, start)
        if start < 1.0:
            self.ramping.append(person)
        self.hires += 1
        self.model.recorder.programme_cost("hiring", params.hire_cost)
        return person

    def place(self, person: Staff, unit: Unit) -> None:
        """Add a hire to a unit of the current organisation and introduce them."""
        model = self.model
        model.staff.append(person)
        unit.join(person)  # joins idle...
        unit.refresh_skills()
        model.network.welcome(person, model.time)
        model.refresh_availability()
        del unit.idle[person.discipline][person]
        unit.pull_next(person)  # ...and takes waiting work, if any

    def release(self, person: Staff) -> None:
        """``person`` leaves: now if idle, after their task if busy."""
        if person.busy:
            person.pending = "leave"
        else:
            self.depart(person)

    def depart(self, person: Staff) -> None:
        model = self.model
        person.pending = None
        person.unit.leave(person)
        model.staff.remove(person)
        model.network.forget(person)
        if person in self.ramping:
            self.ramping.remove(person)
        self.leavers += 1
        model.recorder.depart(person)
        person.remove()
        model.refresh_availability()


class _Vacancy:
    def __init__(self, flow: PeopleFlow, discipline: str, unit: Unit):
        self.flow, self.discipline, self.unit = flow, discipline, unit

    def fill(self) -> None:
        flow = self.flow
        flow._vacancies.remove(self)
        unit = self.unit if not self.unit.retired else flow.model.home_unit_for(self.discipline)
        flow.place(flow.recruit(self.discipline), unit)
