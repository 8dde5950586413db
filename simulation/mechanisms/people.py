"""People coming and going: headcount changes, turnover, and new hires ramping up.

Turnover (an option: ``mechanisms.turnover.annual_rate``, 0 by default): each day some
staff leave, taking their skills and their ties; each vacancy is filled after
``hire_delay_days`` by a hire in the same discipline and unit. A change of headcount
(a scheduled change or a PDCA trial) counts open vacancies as posts already being
filled: it hires only beyond them, and a cut closes open vacancies before anyone is let
go. Every new hire, from
turnover or a scheduled headcount change, starts at ``start_proficiency`` and reaches
full proficiency linearly over ``ramp_up_days``. Someone busy when told to leave
finishes their task first.

Default: no turnover (an annual rate of 0); hires from headcount changes still ramp up.
Off switch: ``mechanisms.turnover.enabled: false`` (or an annual rate of 0) stops
turnover; ``ramp_up_days: 0`` makes hires fully proficient from their first day.
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
    from simulation.inputs.scenario import Turnover
    from simulation.mechanisms.network import SocialNetwork


class PeopleFlow(Mechanism):
    """Turnover, hiring and ramping up.

    Args:
        params: The mechanism's parameters (``mechanisms.turnover``).
        rng: The run's random stream.
        clock: Schedules each vacancy's filling.
        staff: Everyone employed (the model's list: this mechanism adds and removes).
        organisation: The units people work in now.
        hire: Makes a new person of a discipline at a proficiency (not yet in a unit).
        network: Where leavers' ties go and hires make theirs.
        record_departure: Keeps a leaver's working time in the records.
        book_cost: Books a programme's cost (programme name, amount).
        refresh_availability: Recomputes everyone's share of the day for tasks.
    """

    def __init__(
        self,
        params: Turnover,
        rng: np.random.Generator,
        clock: Clock,
        staff: list[Staff],
        organisation: Organisation,
        hire: Callable[[str, float], Staff],
        network: SocialNetwork,
        record_departure: Callable[[Staff], None],
        book_cost: Callable[[str, float], None],
        refresh_availability: Callable[[], None],
    ):
        self.params = params
        self.rng = rng
        self.clock = clock
        self.staff = staff
        self.organisation = organisation
        self.hire = hire
        self.network = network
        self.record_departure = record_departure
        self.book_cost = book_cost
        self.refresh_availability = refresh_availability
        self.ramping: list[Staff] = []
        self.leavers = 0
        self.hires = 0
        #: Vacancies left by leavers and not yet filled, oldest first.
        self.vacancies: list[Vacancy] = []

    # -- the hooks

    def on_day(self, day: int) -> None:
        """New hires ramp up; then today's leavers go, each leaving a vacancy."""
        self._ramp_up()
        params = self.params
        if not params.enabled or params.annual_rate <= 0:
            return
        rng = self.rng
        present = [p for p in self.staff if p.pending is None and not p.away]
        leaving = int(rng.binomial(len(present), params.annual_rate / WORKING_DAYS_PER_YEAR))
        for i in rng.choice(len(present), size=leaving, replace=False) if leaving else ():
            person = present[i]
            vacancy = Vacancy(self, person.discipline, person.unit)
            self.vacancies.append(vacancy)
            self.clock.after(params.hire_delay_days, vacancy.fill)
            self.release(person)

    def on_reorganise(self, organisation: Organisation) -> None:
        """Vacancies of retired units are filled in the new organisation."""
        self.organisation = organisation

    def summary(self) -> dict[str, int]:
        """Hires and leavers over the run."""
        return {"hires": self.hires, "leavers": self.leavers}

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
        person = self.hire(discipline, start)
        if start < 1.0:
            self.ramping.append(person)
        self.hires += 1
        self.book_cost("hiring", params.hire_cost)
        return person

    def open_posts(self, discipline: str) -> int:
        """Vacancies of ``discipline`` being filled."""
        return sum(v.discipline == discipline for v in self.vacancies)

    def close_posts(self, discipline: str, count: int) -> int:
        """Close up to ``count`` open vacancies of ``discipline``, the newest first (their
        hires never start); returns how many were closed."""
        if count <= 0:
            return 0
        closing = [v for v in self.vacancies if v.discipline == discipline][-count:]
        for vacancy in closing:
            vacancy.closed = True
            self.vacancies.remove(vacancy)
        return len(closing)

    def hire_unplaced(self, discipline: str) -> Staff:
        """A hire for a re-formed organisation: employed and in the network now, placed
        in a unit when the units are formed (ties come day by day there: network.py)."""
        person = self.recruit(discipline)  # not in a unit yet
        self.staff.append(person)
        self.network.welcome(person, self.clock.now)
        return person

    def place(self, person: Staff, unit: Unit) -> None:
        """Add a hire to a unit of the current organisation and introduce them."""
        self.staff.append(person)
        unit.join(person)  # joins idle...
        unit.refresh_skills()
        self.network.welcome(person, self.clock.now)
        self.refresh_availability()
        unit.idle[person.discipline].remove(person)
        unit.pull_next(person)  # ...and takes waiting work, if any

    def release(self, person: Staff) -> None:
        """``person`` leaves: now if idle, after their task if busy."""
        if person.busy:
            person.hold("leave", self.depart)
        else:
            self.depart(person)

    def depart(self, person: Staff) -> None:
        """``person`` leaves for good, taking their ties; their time stays on record."""
        person.pending = None
        person.left = True
        person.unit.leave(person)
        self.staff.remove(person)
        self.network.forget(person)
        if person in self.ramping:
            self.ramping.remove(person)
        self.leavers += 1
        self.record_departure(person)
        person.remove()
        self.refresh_availability()


class Vacancy:
    """A leaver's post, filled by a hire of the same discipline after a delay.

    Args:
        flow: The people flow that hires.
        discipline: The leaver's discipline.
        unit: The leaver's unit (a re-formed organisation places the hire anew).
    """

    def __init__(self, flow: PeopleFlow, discipline: str, unit: Unit):
        self.flow, self.discipline, self.unit = flow, discipline, unit
        self.closed = False  # a headcount cut closed it before it was filled

    def fill(self) -> None:
        """Event callback: the hire starts (unless the post was closed)."""
        if self.closed:
            return
        flow = self.flow
        flow.vacancies.remove(self)
        unit = self.unit
        if unit.retired:
            unit = flow.organisation.home_unit_for(self.discipline)
        flow.place(flow.recruit(self.discipline), unit)
