"""Releases: deployable work waits for the next release.

An item whose IT work is done (its last IT task finished, none ahead) is deployed
before it moves on: at once where releases are continuous, or at the next release of
a fixed cadence. Which cadence follows the form of the organisation:

- departments (siloed, aligned): a change-approval board (CAB) approves and releases
  the IT organisation's changes together, on a release train every
  ``department_interval_days`` (default 5 working days: the weekly CAB of ITIL change
  management), leaving at midday of the last day of each interval. One train is one
  deployment of the whole IT organisation.
- teams (converged, custom): each team deploys its own work when it is ready
  (``team_interval_days`` 0: continuous). Each deployment is one item of one team.

Forsgren, Humble & Kim (2018, *Accelerate*, ch. 7) found approval by an external body
associated with lower delivery performance and with no lower change failure rate; the
DORA State of DevOps reports put elite performers at on-demand deployment by the teams
that own the service. So the wait changes lead time and deployment frequency here and
nothing else: misunderstandings and defects are as they would be.

Incidents (expedite items) go out as emergency changes, at once, under every
cadence: they are measured by time to restore, and are not counted as deployments
(deployment frequency says how work is released as a matter of course).

Deployment frequency (``deployments_per_week``) counts these deployments, not items;
its DORA tier divides it by the units that deployed (one release train, or each
team). The wait adds to lead time; ``release_wait_days`` reports it.

Default: on. Off switch: ``mechanisms.releases.enabled: false``: every item moves on
when its IT work is done, and deployment frequency counts deployable items delivered,
as before this mechanism. It draws no random numbers and schedules nothing of its own
when off or continuous, so other mechanisms' draws are unchanged by it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simulation.mechanisms.base import Mechanism

if TYPE_CHECKING:
    from simulation.engine.clock import Clock
    from simulation.engine.units import Unit
    from simulation.engine.work import Task, WorkItem
    from simulation.inputs.scenario import Releases as ReleaseParams

#: Days before the end of each interval at which its train leaves (midday).
TRAIN_OFFSET = 0.5
#: The deploying unit of a departmental release train: the IT organisation as a whole.
RELEASE_TRAIN = "release train"


class Releases(Mechanism):
    """Holds deployable items until their release; records every deployment.

    Args:
        params: The mechanism's parameters (``mechanisms.releases``).
        clock: Schedules each item's release.
        it_disciplines: The disciplines whose work is deployed.
        has_teams: Whether the organisation is formed of teams now (its cadence).
    """

    def __init__(
        self,
        params: ReleaseParams,
        clock: Clock,
        it_disciplines: set[str],
        has_teams: Callable[[], bool],
    ):
        self.params = params
        self.enabled = params.enabled  # read once per task
        self.clock = clock
        self.it_disciplines = it_disciplines
        self.has_teams = has_teams
        self._ready: dict[int, Unit] = {}  # item id -> the unit that finished its IT work
        self._trains: dict[float, int] = {}  # release time -> index in deployments
        #: (time, deploying unit, items) per deployment.
        self.deployments: list[list[Any]] = []
        #: (release time, days waited) per item released.
        self.waits: list[tuple[float, float]] = []

    def task_done(self, item: WorkItem, task: Task, unit: Unit) -> None:
        """``task`` of ``item`` is done in ``unit``: note whether its IT work is."""
        it = self.it_disciplines
        # incidents (rank 0) go out as emergency changes
        if not self.enabled or item.rank == 0 or task.discipline not in it:
            return
        for ahead in item.plan:  # a loop, not any(generator): this runs per IT task
            if ahead.discipline in it:
                return
        self._ready[item.id] = unit

    def due(self, item: WorkItem) -> float | None:
        """``item`` is about to move on (or be delivered): the time its release goes out,
        or None when it moves on now (nothing to deploy, or deployed at once)."""
        if not self._ready:  # the common case, kept cheap: nothing awaits deployment
            return None
        unit = self._ready.pop(item.id, None)
        if unit is None:
            return None
        now = self.clock.now
        interval = self.interval()
        if interval <= 0:
            home = item.home.name if item.home is not None else unit.name
            self.deployments.append([now, home, 1])
            self.waits.append((now, 0.0))
            return None
        # trains leave at midday of the last day of each interval: never at a day's end,
        # where the day's records are taken
        at = math.ceil((now + TRAIN_OFFSET) / interval - 1e-9) * interval - TRAIN_OFFSET
        if at not in self._trains:
            self._trains[at] = len(self.deployments)
            self.deployments.append([at, RELEASE_TRAIN, 0])
        self.deployments[self._trains[at]][2] += 1
        self.waits.append((at, at - now))
        return at

    def interval(self) -> float:
        """Days between releases in the organisation as it is now (0: continuous)."""
        if self.has_teams():
            return self.params.team_interval_days
        return self.params.department_interval_days

    def summary(self) -> dict[str, Any]:
        """Every deployment and every item's wait for its release (none when off)."""
        if not self.params.enabled:
            return {}
        return {
            "deployments": [tuple(d) for d in self.deployments],
            "release_waits": list(self.waits),
        }
