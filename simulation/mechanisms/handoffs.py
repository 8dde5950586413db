"""What happens between two tasks: handoff latency (mechanism 2), BRM mediation and
misunderstanding with rework or escape (mechanism 3).

A boundary has a kind:

- ``team``: the next task is in the same unit, another discipline (inside a team);
- ``cross_unit``: another unit on the same side of the business-IT boundary;
- ``business_it``: another unit across the boundary;
- no boundary: same unit, same discipline (the item just changes hands).

Latency is exponential with a mean per kind, shortened by transparency (cross-unit
kinds), by a tie between the sender and the receiving unit, and by a BRM. A
``business_it`` handoff waits for a free BRM when there are any, is mediated, then
travels with the shortened delay. The BRMs serve one queue, expedite items (incidents)
first and then in arrival order (``brms.incidents_first``).

Bypass (``brms.bypass``): the sender of a business-IT handoff goes direct, unmediated
(the full delay and chance of misunderstanding, no gain in shared language), when the
expected wait for a BRM is longer than a share ``brms.bypass_wait_share`` (0.15) of what
the mediation is expected to save. Both are what a sender can see or know from
experience:

- expected wait: none with a BRM free; else ``(ahead + 1) x brms.mediation_days / busy
  BRMs``, with ``ahead`` the handoffs queued before this one (mediations are
  exponential, so each busy BRM frees at rate 1 / mediation_days whatever they started);
- expected saving: the direct handoff's mean delay minus the mediated one's and the
  mediation's mean, plus the misunderstandings the BRM prevents times what a detected
  one costs: a round trip across the boundary (two direct delays) and the rework and
  wasted effort.

Without it, too few BRMs are a queue that every business-IT handoff waits in, and one
BRM is far worse than none (issue 10); with it, a BRM is only used when worth the wait.
Why only a share of the saving: senders who join whenever it pays them fill the queue
until the wait eats the whole saving (Naor 1969, self-optimising queue joiners), so
one busy BRM saves almost nothing; a queue kept short (the BRM takes a handoff only if
it can start within about a sixth of what it saves) keeps most of the saving with the
work. At 1 (the self-interested rule) one BRM is still no worse than none, but the
first BRM adds less than the second; at 0.3 too, for the lead time of new work; at
0.1-0.15 returns diminish on aligned.yaml and aligned_mature.yaml.

A forward handoff is misunderstood with probability
``p_base(kind) * (1 - shared_language) * (1 - brm_effect) * (1 - tie_effect) *
(1 - sender's skill in the receiving discipline)`` (the cross-skill a rotation brings).
A misunderstanding the receiver detects wastes part of the receiving
task and sends the item back upstream for rework, then forward again (a new handoff,
which can be misunderstood again). One not detected stays latent and escapes as a
production defect when the item is delivered.

Default: all on, with the means and probabilities in ``mechanisms.handoff``,
``mechanisms.rework`` and ``brms``. Off switches: ``mechanisms.handoff.enabled: false``
(work moves instantly), ``mechanisms.rework.enabled: false`` (nothing is
misunderstood), ``brms.bypass: false`` (every business-IT handoff waits for a BRM) and
``brms.incidents_first: false`` (BRMs serve in arrival order); with both BRM switches
off the BRMs work as before issue 10.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simulation.engine.streams import Stream
from simulation.engine.work import REWORK, VALUE, WASTED, Task, WorkItem
from simulation.mechanisms.base import Mechanism

if TYPE_CHECKING:
    import numpy as np

    from simulation.engine.agents import BRM, Staff
    from simulation.engine.clock import Clock
    from simulation.engine.organisation import Organisation
    from simulation.engine.units import Unit
    from simulation.inputs.scenario import BRMs, HandoffLatency, Levers, Rework
    from simulation.mechanisms.language import Language

TEAM, CROSS_UNIT, BUSINESS_IT = "team", "cross_unit", "business_it"

#: After this many misunderstandings an item stops bouncing: later ones escape as
#: defects. Keeps a pathological scenario (p = detection = 1) from looping forever.
MAX_REWORK_ROUNDS = 20


class Handoffs(Mechanism):
    """Moving work between tasks: latency, BRM mediation and misunderstanding.

    Args:
        latency: Handoff latency parameters (``mechanisms.handoff``).
        rework: Misunderstanding parameters (``mechanisms.rework``).
        brm_params: The BRMs' parameters (``brms``).
        brm_language_gain: The share of the language gap each mediation closes.
        transparency: The transparency lever.
        side_of: Each discipline's side, ``"business"`` or ``"it"``.
        rng: The run's random stream; handoffs draw from three streams spawned from it
            (delays, mediations, misunderstandings: ``engine/streams.py``).
        clock: Schedules arrivals after a delay and the end of each mediation.
        brms: The BRMs employed (the model's list, kept up to date by the model).
        route: The unit that does an item's task of a discipline (an organisation's
            ``unit_for``; a reorganisation brings the new one's).
        push: Puts a task into its unit's hands (``flow.TaskFlow.push``).
        language: The shared language (fewer misunderstandings; mediations raise it).
        warmup: Days before handoffs are counted (the KPI window opens).
        record_mediation: Records a completed mediation (days it took).
    """

    def __init__(
        self,
        latency: HandoffLatency,
        rework: Rework,
        brm_params: BRMs,
        brm_language_gain: float,
        transparency: float,
        side_of: dict[str, str],
        rng: np.random.Generator,
        clock: Clock,
        brms: list[BRM],
        route: Callable[[WorkItem, str], Unit],
        push: Callable[[Unit, WorkItem, Task, float], None],
        language: Language,
        warmup: float,
        record_mediation: Callable[[float], None],
    ):
        self.latency = latency
        self.rework = rework
        self.brm_params = brm_params
        self.brm_language_gain = brm_language_gain
        self.transparency = transparency
        self.side_of = side_of
        self.delays, self.mediations, self.misunderstandings = Stream.spawned(rng, 3)
        self.clock = clock
        self.brms = brms
        self.route = route
        self.push = push
        self.language = language
        self.warmup = warmup
        #: Handoffs completed in the KPI window, by kind: [count, days they took].
        self.completed: dict[str, list] = {}
        self.record_mediation = record_mediation
        self.misunderstandings_found = 0
        self.brm_bypassed = 0
        self.idle_brms: deque[BRM] = deque(brms)
        # A heap of (class, arrival number, item): expedite (class 0) first when
        # incidents go first, then arrival order; the number keeps it deterministic.
        self.brm_queue: list[tuple[int, int, WorkItem]] = []
        self._arrival_numbers = itertools.count()
        self._expedite_waiting = 0
        self.mean_days = {
            TEAM: self.latency.within_team_days,
            CROSS_UNIT: self.latency.cross_unit_days,
            BUSINESS_IT: self.latency.business_it_days,
        }
        self.p_base = {
            TEAM: self.rework.p_within_team,
            CROSS_UNIT: self.rework.p_cross_unit,
            BUSINESS_IT: self.rework.p_business_it,
        }

    def on_reorganise(self, organisation: Organisation) -> None:
        """Items are routed among the new units from now on."""
        self.route = organisation.unit_for

    def on_levers(self, before: Levers, after: Levers) -> None:
        """Transparency from now on: cross-unit handoffs are quicker (or slower)."""
        self.transparency = after.transparency

    def summary(self) -> dict[str, Any]:
        """Misunderstandings detected (each sent an item back for rework),
        business-IT handoffs that went direct rather than wait for a BRM, and the
        handoffs completed in the KPI window by kind: (count, days they took)."""
        return {
            "misunderstandings_found": self.misunderstandings_found,
            "brm_bypassed": self.brm_bypassed,
            "handoffs": {k: (int(n), float(days)) for k, (n, days) in self.completed.items()},
        }

    def pass_on(self, item: WorkItem, sender: Staff, finished: Task, now: float) -> None:
        """``finished`` is done and more is planned: move the item to its next queue."""
        upcoming = item.plan[0]
        discipline = upcoming.discipline
        target = self.route(item, discipline)
        item.unit = target
        item.sender = sender
        # The boundary crossed (the module's docstring), worked out here, inline, as
        # this runs once per task.
        if target is sender.unit:
            if discipline == sender.discipline:
                self.arrive(item)  # no boundary: the item just changes hands
                return
            kind = TEAM
        elif self.side_of[discipline] != sender.side:
            kind = BUSINESS_IT
        else:
            kind = CROSS_UNIT
        # a tie with someone in the receiving unit (network.py keeps them by unit)
        tie = sender.ties_into.get(target.index, 0) > 0
        mediated = kind == BUSINESS_IT and len(self.brms) > 0
        if mediated and self.brm_params.bypass:
            mediated = not self._goes_direct(item, sender, finished, upcoming, tie)
            self.brm_bypassed += not mediated
        if self.rework.enabled and upcoming.kind == VALUE:
            self._maybe_misunderstood(item, sender, finished, upcoming, kind, tie, mediated)
        delay = self._mean_delay(kind, tie, mediated)
        item.handoff_kind, item.handoff_started = kind, now
        if mediated:
            item.pending_delay = delay
            self._to_brm(item)
        elif delay > 0:  # _travel, inline: this runs once per task
            self.clock.after(self.delays.exponential(delay), self.arrive, item)
        else:
            self.arrive(item)

    # -- latency

    def _mean_delay(self, kind: str, tie: bool, mediated: bool) -> float:
        """The mean delay of a handoff of ``kind`` (0 with latency off)."""
        if not self.latency.enabled:
            return 0.0
        mean = self.mean_days[kind]
        if kind != TEAM:
            mean *= 1.0 - self.latency.transparency_effect * self.transparency
        if tie:
            mean *= 1.0 - self.latency.tie_effect
        if mediated:
            mean *= 1.0 - self.brm_params.latency_effect
        return mean

    def _travel(self, item: WorkItem, mean_delay: float) -> None:
        if mean_delay <= 0:
            self.arrive(item)
            return
        self.clock.after(self.delays.exponential(mean_delay), self.arrive, item)

    def arrive(self, item: WorkItem) -> None:
        """The item reaches the queue of its next task."""
        now = self.clock.now
        unit = item.unit
        if unit.retired:  # reorganised while the item travelled
            unit = item.unit = self.route(item, item.plan[0].discipline)
        kind = item.handoff_kind
        if kind is not None:
            if now >= self.warmup:  # counted here, inline: this runs once per task
                counts = self.completed.get(kind)
                if counts is None:
                    counts = self.completed[kind] = [0, 0.0]
                counts[0] += 1
                counts[1] += now - item.handoff_started
            item.handoff_kind = None
        item.enqueued_at = now
        item.current = task = item.plan.popleft()
        self.push(unit, item, task, now)

    # -- BRMs

    def _goes_direct(
        self, item: WorkItem, sender: Staff, finished: Task, upcoming: Task, tie: bool
    ) -> bool:
        """Whether the expected wait for a BRM is longer than the share of the
        mediation's expected saving a sender will spend waiting
        (``brms.bypass_wait_share``)."""
        saving = self._expected_saving(item, sender, finished, upcoming, tie)
        return self._expected_brm_wait(item) > self.brm_params.bypass_wait_share * saving

    def _expected_brm_wait(self, item: WorkItem) -> float:
        """Days ``item`` would wait for a BRM: the handoffs ahead of it in the queue,
        plus itself, served by the BRMs at work (each frees at rate 1 / mediation_days,
        mediations being exponential). For a standard item it is a floor: incidents
        that come later go first, which the sender cannot know."""
        if self.idle_brms:
            return 0.0
        # the BRMs employed: one who retires leaves the list at once (OrgModel._match_brms)
        # and takes no more handoffs, even while finishing a mediation
        serving = len(self.brms)
        if serving == 0:
            return math.inf
        first = self.brm_params.incidents_first and item.rank == 0
        ahead = self._expedite_waiting if first else len(self.brm_queue)
        return (ahead + 1) * self.brm_params.mediation_days / serving

    def _expected_saving(
        self, item: WorkItem, sender: Staff, finished: Task, upcoming: Task, tie: bool
    ) -> float:
        """Days a mediation is expected to save: a shorter delay, less the mediation
        itself, and the misunderstandings it prevents, each costing a round trip across
        the boundary plus the rework and the wasted effort."""
        direct = self._mean_delay(BUSINESS_IT, tie, mediated=False)
        mediated = self._mean_delay(BUSINESS_IT, tie, mediated=True)
        saving = direct - mediated - self.brm_params.mediation_days
        if upcoming.kind == VALUE and self.rework.enabled:
            prevented = self._p_misunderstood(
                BUSINESS_IT, tie, False, sender, upcoming
            ) - self._p_misunderstood(BUSINESS_IT, tie, True, sender, upcoming)
            r = self.rework
            redo = r.rework_share * item.stage_efforts[finished.stage]
            effort = redo + r.wasted_share * item.effort_of(upcoming)
            saving += prevented * r.detection * (2 * direct + effort)
        return saving

    def _to_brm(self, item: WorkItem) -> None:
        if self.idle_brms:
            self._mediate(self.idle_brms.popleft(), item)
            return
        expedite = self.brm_params.incidents_first and item.rank == 0
        self._expedite_waiting += expedite
        heapq.heappush(self.brm_queue, (0 if expedite else 1, next(self._arrival_numbers), item))

    def _next_waiting(self) -> WorkItem:
        """The first handoff in the BRMs' queue, taken out of it."""
        cls, _, item = heapq.heappop(self.brm_queue)
        self._expedite_waiting -= cls == 0
        return item

    def _mediate(self, brm: BRM, item: WorkItem) -> None:
        brm.take(item, self.clock.now)
        days = self.mediations.exponential(self.brm_params.mediation_days)
        self.clock.after(days, self._mediation_done, brm)

    def _mediation_done(self, brm: BRM) -> None:
        """Event callback: ``brm`` has mediated their item, which travels on."""
        item = brm.item
        self.record_mediation(self.clock.now - brm.busy_since)
        brm.item = None
        self.language.raise_by(self.brm_language_gain)
        self._travel(item, item.pending_delay)
        if brm.retiring:
            brm.remove()
        else:
            self.brm_available(brm)

    def brm_available(self, brm: BRM) -> None:
        """``brm`` is free (or new): they take the next waiting handoff, or wait."""
        if self.brm_queue:
            self._mediate(brm, self._next_waiting())
        else:
            self.idle_brms.append(brm)

    def retire_brm(self, brm: BRM) -> None:
        """A BRM leaves: now if free, after the current mediation if not. With no BRM
        left, handoffs waiting for one go on unmediated."""
        brm.retiring = True
        if brm in self.idle_brms:
            self.idle_brms.remove(brm)
            brm.remove()
        if not self.brms or all(b.retiring for b in self.brms):
            while self.brm_queue:
                waiting = self._next_waiting()
                self._travel(waiting, waiting.pending_delay)

    # -- misunderstanding

    def _maybe_misunderstood(
        self,
        item: WorkItem,
        sender: Staff,
        finished: Task,
        upcoming: Task,
        kind: str,
        tie: bool,
        mediated: bool,
    ) -> None:
        r = self.rework
        p = self._p_misunderstood(kind, tie, mediated, sender, upcoming)
        draws = self.misunderstandings
        if p <= 0 or draws.random() >= p:
            return
        item.rework_rounds += 1
        if draws.random() < r.detection and item.rework_rounds <= MAX_REWORK_ROUNDS:
            redo = r.rework_share * item.stage_efforts[finished.stage]
            item.plan.appendleft(Task(finished.discipline, redo, REWORK, finished.stage))
            wasted = r.wasted_share * item.effort_of(upcoming)
            item.plan.appendleft(Task(upcoming.discipline, wasted, WASTED, upcoming.stage))
            self.misunderstandings_found += 1
        else:
            item.latent_defects += 1

    def _p_misunderstood(
        self, kind: str, tie: bool, mediated: bool, sender: Staff, upcoming: Task
    ) -> float:
        """The chance a handoff of ``kind`` to ``upcoming`` is misunderstood."""
        p = self.p_base[kind] * (1.0 - self.language.level)
        if mediated:
            p *= 1.0 - self.brm_params.rework_effect
        if tie:
            p *= 1.0 - self.rework.tie_effect
        return p * (1.0 - sender.skill(upcoming.discipline))
