"""Work items, their tasks, and the demand that brings them (mechanism 1).

A work item is a plain object, not an agent: it never acts, it is acted upon. Its
``plan`` is the list of tasks still ahead; rework inserts tasks into it.

Demand: Poisson arrivals per work-item type, the standard model of independent
customer requests. Efforts are lognormal by default (right-skewed task sizes, CV near
1), or exponential (the queueing-theory case) or fixed (the critical-path check).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from simulation.engine.streams import Draws, RowDraws

if TYPE_CHECKING:
    from simulation.engine.clock import Clock
    from simulation.engine.units import Unit
    from simulation.inputs.scenario import Effort, WorkType

#: Task kinds. Value work moves an item forward; the others are waste.
VALUE, WASTED, REWORK = "value", "wasted", "rework"
#: Effort on incidents raised by escaped defects (booked apart from value work).
FAILURE_DEMAND = "failure_demand"
#: Task time lost to the productivity dip after a change (the J-curve).
DISRUPTION = "disruption"
#: Every use of a person's working time that the records add up.
EFFORT_USES = (VALUE, WASTED, REWORK, FAILURE_DEMAND, DISRUPTION, "coordination", "misaligned")


def effort_draws(effort: Effort, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
    """``n`` efforts in person-days: lognormal with the given mean and CV, exponential,
    or fixed."""
    if effort.distribution == "fixed":
        return lambda n: np.full(n, effort.mean)
    if effort.distribution == "exponential":
        return lambda n: rng.exponential(effort.mean, n)
    sigma2 = math.log1p(effort.cv**2)
    mu = math.log(effort.mean) - sigma2 / 2
    return lambda n: rng.lognormal(mu, math.sqrt(sigma2), n)


@dataclass(slots=True)
class Task:
    """One stage of work for one discipline, or a wasted/rework repetition of one.

    The value tasks of a route are shared by every item of its work type (built once,
    not per arrival: four objects an item were a sixth of a run, issue 11); each item's
    own effort for a stage is in ``WorkItem.stage_efforts``. A task made for one item
    (rework, wasted work) carries its own effort.

    Args:
        discipline: Who can do it.
        effort: Person-days at full proficiency and availability; None for a stage of
            the route, whose effort is the item's (:meth:`WorkItem.effort_of`).
        kind: ``value``, ``wasted`` or ``rework``.
        stage: Its index in the work type's route (for the event log).
    """

    discipline: str
    effort: float | None
    kind: str = VALUE
    stage: int = 0  # index in the original route, for the event log


@dataclass(eq=False, slots=True)
class WorkItem:
    """A piece of work flowing through the organisation; the rest is its state on the way.

    Args:
        id: Its number, in order of arrival.
        type: Its work type.
        arrival: When it arrived.
        plan: The tasks still ahead (rework inserts tasks here).
    """

    # Demand.new_item passes the first ten fields by position: keep their order
    id: int
    type: WorkType
    arrival: float
    plan: deque[Task]
    home: Unit | None = None  # the owning team, where there is one
    deployable: bool = False
    raised_by_defect: bool = False
    rank: int = 1  # 0 = expedite (served first everywhere), 1 = standard
    priority: float = 0.0  # higher first, under value-based prioritisation
    stage_efforts: tuple[float, ...] = ()
    # state along the way
    current: Task | None = None
    unit: Unit | None = None  # where the current task is (queued or in progress)
    enqueued_at: float = 0.0
    sender: object | None = None  # the Staff who finished the previous task
    handoff_kind: str | None = None  # the boundary the item is crossing, if any
    handoff_started: float = 0.0
    pending_delay: float = 0.0  # travel time still due after a BRM mediation
    latent_defects: int = 0
    rework_rounds: int = 0
    touch_time: float = 0.0
    first_it_start: float | None = None  # DORA's "commit": the first IT task starts
    done_at: float | None = None

    def effort_of(self, task: Task) -> float:
        """Person-days ``task`` takes at full proficiency and availability: its own
        effort, or this item's draw for its stage of the route."""
        return self.stage_efforts[task.stage] if task.effort is None else task.effort

    @property
    def lead_time(self) -> float:
        """Days from arrival to delivery (NaN until delivered)."""
        return (self.done_at if self.done_at is not None else math.nan) - self.arrival


class Demand:
    """Poisson arrivals of each work type, scheduled on the clock.

    Each work type draws its arrivals and efforts from its own stream, spawned from the
    model's generator before anything else is drawn; incidents raised by escaped
    defects have one more. So the same seed brings the same demand (the same items at
    the same times with the same efforts) to every structure: common random numbers,
    and a comparison between structures is a comparison of structures.

    Args:
        work_types: The scenario's work types.
        it_disciplines: The disciplines on the IT side (their work is deployed).
        streams: One random stream per work type, and one for incidents, in that order.
        clock: Schedules the arrivals.
        admit: Takes each new item into the organisation.
        scale: Multiplies every arrival rate.
    """

    def __init__(
        self,
        work_types: list[WorkType],
        it_disciplines: set[str],
        streams: list[np.random.Generator],
        clock: Clock,
        admit: Callable[[WorkItem], None],
        scale: float = 1.0,
    ):
        self.clock = clock
        self.admit = admit
        self.next_id = 0
        self._sources = [
            _Source(self, wt, wt.arrival_rate * scale, streams[i])
            for i, wt in enumerate(work_types)
            if wt.arrival_rate * scale > 0
        ]
        self.by_name = {wt.name: wt for wt in work_types}
        self._efforts = {
            (wt.name, from_defect): RowDraws(
                [effort_draws(stage.effort, rng) for stage in wt.route]
            )
            for i, wt in enumerate(work_types)
            for from_defect, rng in ((False, streams[i]), (True, streams[-1]))
        }
        self._deployable = {
            wt.name: any(s.discipline in it_disciplines for s in wt.route) for wt in work_types
        }
        # what every item of a type shares, worked out once (new_item runs per arrival):
        # its route's value tasks, whose efforts are each item's own
        self._plans = {
            wt.name: tuple(
                Task(stage.discipline, None, VALUE, i) for i, stage in enumerate(wt.route)
            )
            for wt in work_types
        }
        # WSJF: cost of delay per day of work. Expedite items jump every queue.
        self._cost_of_delay = {
            wt.name: (wt.value or 1.0) / wt.expectation_days for wt in work_types
        }
        self._rank = {wt.name: 0 if wt.class_of_service == "expedite" else 1 for wt in work_types}

    def start(self) -> None:
        """Schedule the first arrival of each work type."""
        for source in self._sources:
            source.schedule_next()

    def new_item(self, work_type: WorkType, raised_by_defect: bool = False) -> WorkItem:
        """A new item of ``work_type``, arriving now, with its efforts drawn."""
        name = work_type.name
        efforts = self._efforts[name, raised_by_defect].next()  # one per stage
        self.next_id += 1
        # by position, in the order of WorkItem's fields (once per arrival: keywords
        # cost a third more)
        return WorkItem(
            self.next_id,
            work_type,
            self.clock.now,
            deque(self._plans[name]),
            None,  # home
            self._deployable[name],
            raised_by_defect,
            self._rank[name],
            self._cost_of_delay[name] / max(sum(efforts), 1e-9),  # priority
            efforts,
        )


class _Source:
    """Arrivals of one work type: exponential gaps, each arrival schedules the next."""

    def __init__(
        self, demand: Demand, work_type: WorkType, arrival_rate: float, rng: np.random.Generator
    ):
        self.demand = demand
        self.work_type = work_type
        mean_gap = 1.0 / arrival_rate
        self.gaps = Draws(lambda n: rng.exponential(mean_gap, n))

    def schedule_next(self) -> None:
        """The next arrival, one exponential gap from now."""
        self.demand.clock.after(self.gaps.next(), self.arrive)

    def arrive(self) -> None:
        """Event callback: an item of this type arrives."""
        self.demand.admit(self.demand.new_item(self.work_type))
        self.schedule_next()
