"""The scenario: everything one simulation run needs, as a validated pydantic model.

A scenario is the single file that travels between the app, the command line and
batch sweeps. It is strict: unknown keys, impossible organisations and out-of-range
levers are refused with one line naming the field path and the reason
(:class:`ScenarioError`).

It is also bounded, because a scenario may come from anyone (an upload, a link): every
number must be finite, and every size has an upper bound that no real organisation
needs to exceed (:mod:`simulation.limits`, each with its reason), with one more guard
on the total work a run would simulate. Together with the YAML budget of
:mod:`simulation.inputs.safe_yaml`, no scenario file can hang a run or exhaust memory.

Every mechanism of the model has a section under ``mechanisms`` with an ``enabled``
switch and its parameters. Each default is documented beside it with its source or the
reasoning behind it; ``model.py`` and the modules it calls read these values and
nothing else.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from simulation.catalog.kpis import pdca_targets
from simulation.errors import ScenarioError, quote
from simulation.inputs.safe_yaml import dump_yaml, load_yaml, read_text_file
from simulation.limits import (
    MAX_ARRIVAL_RATE,
    MAX_BRMS,
    MAX_CHANGES,
    MAX_DEGREE,
    MAX_DELAY_DAYS,
    MAX_DISCIPLINES,
    MAX_EFFORT_CV,
    MAX_EFFORT_DAYS,
    MAX_EXPECTED_ITEMS,
    MAX_HORIZON_DAYS,
    MAX_MONEY,
    MAX_ROUTE_STAGES,
    MAX_SEED,
    MAX_STAFF,
    MAX_TEAM_SIZE,
    MAX_TEAMS,
    MAX_WORK_TYPES,
    MIN_EFFORT_DAYS,
)

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Days = Annotated[float, Field(ge=0.0, le=MAX_DELAY_DAYS)]
PositiveDays = Annotated[float, Field(gt=0.0, le=MAX_DELAY_DAYS)]
Money = Annotated[float, Field(ge=0.0, le=MAX_MONEY)]
Headcount = Annotated[int, Field(ge=0, le=MAX_STAFF)]

#: Names used in dotted paths (``disciplines.dev.headcount``): a letter first, then
#: letters, digits, spaces, '-' or '_'; no dots, no '__' (both separate a path's
#: parts), and not digits only (that is an index).
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9 _-]{0,39}")


def _usable_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name) or "__" in name:
        raise ValueError(
            f"@@{quote(name)} is not a usable name: start with a letter, then letters, "
            "digits, spaces, '-' or '_' (no '__'; 40 characters at most)"
        )
    return name


Name = Annotated[str, AfterValidator(_usable_name)]

#: The disciplines on the IT side of the business-IT boundary unless a scenario says otherwise.
Side = Literal["business", "it"]


class Strict(BaseModel):
    """Base for every section: unknown keys are an error, values are checked on
    assignment, and numbers must be finite (no .inf, no .nan)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- people


class Discipline(Strict):
    """A kind of specialist (business analysts, developers, ...) and how many there are.

    Args:
        name: Short name, used in routes (e.g. 'dev').
        side: Business or IT: which side of the business-IT boundary it sits on.
        headcount: People of this discipline.
        cost_per_day: Fully loaded cost per person per working day.
    """

    name: Name = Field(description="Short name, used in routes (e.g. 'dev').")
    side: Side = Field(description="Which side of the business-IT boundary it sits on.")
    headcount: Headcount = Field(description="People of this discipline.")
    cost_per_day: Money = Field(
        600.0,
        description="Fully loaded cost per person per working day. Reasoned estimate for a "
        "Western European firm (salary x ~1.4 overheads / ~220 days).",
    )


class Team(Strict):
    """A team of the ``custom`` structure: a row of the skill matrix."""

    name: Name
    members: dict[str, Headcount] = Field(description="Headcount per discipline in this team.")


class BRMs(Strict):
    """Business Relationship Managers mediate handoffs across the business-IT boundary."""

    count: int = Field(0, ge=0, le=MAX_BRMS, description="Number of BRM agents.")
    mediation_days: PositiveDays = Field(
        0.25,
        description="Mean BRM time per mediated handoff (exponential). A two-hour "
        "translation meeting; reasoned estimate.",
    )
    cost_per_day: Money = Field(800.0, description="Cost per BRM per day.")
    latency_effect: Probability = Field(
        0.6,
        description="Share of the handoff delay a BRM removes (they know whom to call).",
    )
    rework_effect: Probability = Field(
        0.5,
        description="Share of misunderstandings a BRM prevents (the BRM factor of mechanism 3).",
    )
    bypass: bool = Field(
        True,
        description="A business-IT handoff goes direct, unmediated, when the expected wait "
        "for a BRM is longer than the mediation is expected to save. False: every one "
        "waits for a BRM.",
    )
    bypass_wait_share: Probability = Field(
        0.15,
        description="Share of a mediation's expected saving a sender will spend waiting "
        "for a BRM before going direct (brms.bypass).",
    )
    incidents_first: bool = Field(
        True,
        description="BRMs mediate expedite items (incidents) before the others waiting. "
        "False: in arrival order only.",
    )


# --------------------------------------------------------------------------- work


class Effort(Strict):
    """How much work one stage of an item takes, drawn per item from a distribution.

    Args:
        distribution: ``lognormal`` (right-skewed, the default), ``exponential`` or
            ``fixed`` (always the mean).
        mean: Mean effort in person-days.
        cv: Coefficient of variation (lognormal only).
    """

    distribution: Literal["lognormal", "exponential", "fixed"] = "lognormal"
    mean: Annotated[float, Field(ge=MIN_EFFORT_DAYS, le=MAX_EFFORT_DAYS)] = Field(
        description="Mean effort in person-days."
    )
    cv: Annotated[float, Field(ge=0.0, le=MAX_EFFORT_CV)] = Field(
        1.0,
        description="Coefficient of variation (lognormal only). Knowledge-work task sizes "
        "are right-skewed with CV near 1 (reasoned estimate).",
    )


class Stage(Strict):
    """One step of a work type's route: the discipline that does it and its effort.

    Args:
        discipline: Name of the discipline that works this stage.
        effort: The effort of the stage.
    """

    discipline: Name
    effort: Effort


class WorkType(Strict):
    """A kind of work customers ask for (features, incidents, ...), arriving at random.

    Args:
        name: Short name of the work type.
        arrival_rate: Poisson arrivals per working day.
        route: The stages an item passes through, in order.
        value: Business value when delivered on time.
        expectation_days: Lead time the customer expects (or time to restore).
        class_of_service: ``expedite`` items jump the queues; ``standard`` ones wait
            their turn.
        customer_facing: Whether customers see it (and so whether it counts for CX).
    """

    name: Name
    arrival_rate: Annotated[float, Field(ge=0.0, le=MAX_ARRIVAL_RATE)] = Field(
        description="Poisson arrivals per working day."
    )
    route: list[Stage] = Field(min_length=1, max_length=MAX_ROUTE_STAGES)
    value: Money = Field(0.0, description="Business value when delivered on time.")
    expectation_days: Annotated[float, Field(gt=0.0, le=MAX_HORIZON_DAYS)] = Field(
        20.0, description="Lead time the customer expects (or time to restore, for incidents)."
    )
    class_of_service: Literal["standard", "expedite"] = "standard"
    customer_facing: bool = True


# --------------------------------------------------------------------------- levers


#: At most one culture event a working day (63 a quarter).
CultureEvents = Annotated[float, Field(ge=0.0, le=63.0)]


class Levers(Strict):
    """What leadership can change without reorganising."""

    shared_language: Probability = Field(
        0.2, description="Organisation-wide shared vocabulary, 0 (none) to 1 (one language)."
    )
    transparency: Probability = Field(
        0.2, description="Visibility of work and goals across units, 0..1."
    )
    prioritisation: Literal["fifo", "value"] | None = Field(
        None,
        description="fifo: each unit serves its queue in arrival order (local priorities); "
        "value: one shared value-based priority (WSJF-like). Default: fifo when siloed, "
        "value otherwise.",
    )
    cross_skill: Probability = Field(
        0.0,
        description="Initial proficiency of everyone in the other disciplines of their own side "
        "(0: specialists only).",
    )
    rotation_share: Probability = Field(
        0.0, description="Share of staff who do a rotation stint in another unit each year."
    )
    culture_events_per_quarter: CultureEvents = Field(
        0.0, description="Inclusive-culture events (cross-unit meetups) per quarter."
    )
    glossary: bool = Field(False, description="Run a shared-glossary initiative at the start.")
    change_management: Probability = Field(
        0.0,
        description="Investment in change management (communication, training, coaching), "
        "0..1: shallower, shorter dips after a reorganisation, at a cost per person.",
    )


# --------------------------------------------------------------------------- mechanisms


class Mechanism(Strict):
    """Base of every mechanism's settings: each can be switched off on its own, to see
    what it contributes.

    Args:
        enabled: Whether the mechanism acts in a run.
    """

    enabled: bool = True


class HandoffLatency(Mechanism):
    """Delay before a handed-off item reaches the next queue (exponential)."""

    within_team_days: Days = Field(
        0.02,
        description="Inside a team: minutes, not days (JPL Team X concurrent design studies).",
    )
    cross_unit_days: Days = Field(
        2.0,
        description="Between departments on the same side: days (a ticket waits for the "
        "next triage; a weekly meeting alone averages 2.5 days of wait).",
    )
    business_it_days: Days = Field(
        4.0,
        description="Between departments across the business-IT boundary: longer still "
        "(request forms, approvals, a second triage); reasoned estimate.",
    )
    transparency_effect: Probability = Field(
        0.5, description="Share of cross-unit delay removed at full transparency."
    )
    tie_effect: Probability = Field(
        0.5, description="Share of the delay removed when the sender knows someone there."
    )


class Rework(Mechanism):
    """Misunderstandings at boundaries, found downstream (rework) or escaping (defects)."""

    p_business_it: Probability = Field(
        0.5,
        description="Base chance a requirement is misunderstood across the business-IT "
        "boundary. Calibrated with the others so the siloed default spends ~25% of task "
        "effort on boundary rework: about half of the 40-50% avoidable rework of Boehm & "
        "Basili (2001), of which boundary misunderstandings are a leading source.",
    )
    p_cross_unit: Probability = Field(0.25, description="Between departments on one side.")
    p_within_team: Probability = Field(0.05, description="Between disciplines in one team.")
    detection: Probability = Field(
        0.7,
        description="Share of misunderstandings the receiving stage finds; the rest escape "
        "as production defects.",
    )
    wasted_share: Probability = Field(
        0.6, description="Share of the receiving stage's effort wasted before it is found."
    )
    rework_share: Probability = Field(
        0.8, description="Effort to redo, as a share of the upstream stage's effort."
    )
    tie_effect: Probability = Field(
        0.3, description="Share of misunderstandings avoided when sender and receiver have a tie."
    )


class Defects(Mechanism):
    """Escaped defects raise incidents: silos that mis-specify create their own load."""

    incident_type: str = Field(
        "incident", description="Work type raised for an escaped defect (must exist)."
    )
    surface_days: PositiveDays = Field(
        10.0, description="Mean delay before a customer hits the defect (exponential)."
    )


class MisalignedWork(Mechanism):
    """A share of IT capacity spent on work that serves no business goal."""

    base_share: Probability = Field(
        0.25,
        description="Share with no transparency and local priorities. With the siloed "
        "default transparency (0.2) this gives 20%: above the 'at least ~10% of IT spend' "
        "of the alignment literature.",
    )
    shared_priority_effect: Probability = Field(
        0.5, description="Share removed by one shared value-based priority."
    )


class Coordination(Mechanism):
    """Share of each person's day lost to coordination (hidden work): Brooks' paths
    among the people who share work, plus a standing cost per interface."""

    per_path: Probability = Field(
        0.03,
        description="Per colleague one shares work with (Brooks' n(n-1)/2 paths, n-1 per "
        "person): everyone in a cross-functional team, a few peers in a department.",
    )
    department_peers: int = Field(
        2,
        ge=0,
        le=MAX_STAFF,
        description="Colleagues in their own department a person shares a ticket with "
        "(a reviewer, someone who covers): departments work separate tickets.",
    )
    per_interface: Probability = Field(
        0.03, description="Per other unit this unit hands work to or from."
    )
    max_share: Annotated[float, Field(ge=0.0, le=0.9)] = Field(
        0.7,
        description="Upper bound of one person's share: high enough that an oversized "
        "team feels Brooks' paths (VDT studies put an organisation's hidden work at 30-50%).",
    )


Degree = Annotated[float, Field(ge=0.0, le=MAX_DEGREE)]


class Network(Mechanism):
    """Social ties (networkx): dense inside units, sparse across, grown and decaying."""

    within_unit_degree: Degree = Field(6.0, description="Ties per person inside the unit.")
    discipline_degree: Degree = Field(
        2.0, description="Ties per person to the same discipline in other units (chapters)."
    )
    cross_unit_degree: Degree = Field(0.5, description="Random ties per person across units.")
    formation_per_day: Probability = Field(
        0.1,
        description="Chance per day that someone who knows fewer than the usual number of "
        "their unit makes a new tie there: new teams take weeks to form (Tuckman).",
    )
    handoff_tie_probability: Probability = Field(
        0.05,
        description="Chance a cross-unit handoff without a tie creates one, at full "
        "transparency; scaled by transparency (through an opaque ticket queue nobody "
        "learns who did their work).",
    )
    culture_reach: Probability = Field(0.3, description="Share of staff at a culture event.")
    culture_tie_probability: Probability = Field(
        0.5, description="Chance an attendee makes a new cross-unit tie."
    )
    culture_event_cost: Money = Field(3000.0, description="Cost per culture event.")
    decay_after_days: PositiveDays = Field(
        60.0, description="Cross-unit ties unused this long may fade."
    )
    decay_probability: Probability = Field(
        0.3, description="Chance per monthly check that an unused cross-unit tie fades."
    )


class Rotation(Mechanism):
    """Staff spend a stint in another unit: away now, cross-skilled and connected later."""

    stint_days: PositiveDays = Field(20.0, description="Four working weeks away.")
    skill_gain: Probability = Field(0.3, description="Proficiency gained in the host discipline.")
    ties_gained: int = Field(
        3, ge=0, le=int(MAX_DEGREE), description="New ties with the host unit."
    )
    language_gain: Probability = Field(
        0.002, description="Rise of the shared language per completed stint (x remaining gap)."
    )
    cost_per_stint: Money = Field(2000.0, description="Programme cost per stint.")


class SharedLanguage(Mechanism):
    """Organisation-level shared language, raised by a glossary, rotation and BRMs."""

    glossary_gain: Probability = Field(
        0.2, description="Rise from the glossary initiative, phased in over ramp days."
    )
    glossary_ramp_days: PositiveDays = Field(40.0)
    glossary_cost: Money = Field(40000.0, description="One-off cost of the glossary.")
    brm_gain: Probability = Field(
        0.0005, description="Rise per BRM mediation (x remaining gap): translators teach."
    )
    ceiling: Probability = Field(0.95, description="Shared language never gets perfect.")


class CustomerExperience(Mechanism):
    """Each customer-facing item scores 0..100 from lead time and defects."""

    lateness_penalty: Annotated[float, Field(ge=0.0, le=100.0)] = Field(
        1.0, description="Score = 100 * exp(-penalty * lateness), lateness = lead/expected - 1."
    )
    defect_penalty: Probability = Field(0.5, description="Share of the score lost to a defect.")
    window_days: PositiveDays = Field(30.0, description="Trailing window of the CX index.")
    incident_weight: Probability = Field(
        0.25,
        description="Weight of incidents' CX in the headline CX index; new work has the "
        "rest (mechanisms/cx.py).",
    )


class Value(Mechanism):
    """Value delivered decays with lead time (cost of delay)."""

    half_life_days: Annotated[float, Field(gt=0.0, le=MAX_HORIZON_DAYS)] = Field(
        60.0, description="Lead time at which an item has lost half its value."
    )
    defect_loss: Probability = Field(0.3, description="Share of value lost to an escaped defect.")


class ChangeCurve(Mechanism):
    """The human side of change: after a change, productivity dips and recovers (a
    J-curve). Depth grows with the share of people whose team changed."""

    dip_depth: Probability = Field(
        0.3,
        description="Productivity lost right after a change that moves everyone, without "
        "change management. Reasoned estimate: new teams form and storm for weeks "
        "(Tuckman 1965); the Satir change model's chaos phase.",
    )
    recovery_days: PositiveDays = Field(
        40.0,
        description="Time constant of the recovery: the dip is e^-1 of its depth after this "
        "many days, nearly gone after three times as many (a quarter to half a year).",
    )
    process_change_size: Probability = Field(
        0.2,
        description="Size of a change that moves nobody but changes how work flows (shared "
        "priorities, BRMs introduced or removed), as a share of a full reorganisation.",
    )
    management_effect: Probability = Field(
        0.6,
        description="Share of the dip that full change management prevents; it also "
        "shortens the recovery by half this share.",
    )
    cost_per_person: Money = Field(
        1500.0,
        description="Change-management cost per affected person at full investment.",
    )


class Turnover(Mechanism):
    """People leave (taking skills and ties) and are replaced; new hires ramp up."""

    annual_rate: Probability = Field(
        0.0,
        description="Share of staff leaving per year; 0 = off (the default). About 0.13 is "
        "typical in tech (industry attrition surveys).",
    )
    hire_delay_days: Days = Field(30.0, description="Days to fill a vacancy.")
    ramp_up_days: Days = Field(
        60.0, description="Days for a new hire to reach full proficiency (0 = at once)."
    )
    start_proficiency: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        0.5, description="A new hire's proficiency on day one."
    )
    hire_cost: Money = Field(8000.0, description="Recruiting cost per hire.")


class Releases(Mechanism):
    """Deployable work waits for the next release: a weekly change-approval train in
    departments, continuous deployment by teams (mechanisms/releases.py)."""

    department_interval_days: Days = Field(
        5.0,
        description="Days between release trains where IT is organised in departments "
        "(a weekly change-approval board); 0 = continuous.",
    )
    team_interval_days: Days = Field(
        0.0,
        description="Days between releases where the organisation is formed of teams "
        "(0 = each team deploys when ready).",
    )


class Mechanisms(Strict):
    """The settings of every mechanism, each with its published or reasoned defaults.

    Args:
        handoff: Delay of handoffs within and across units.
        rework: Work sent back for misunderstandings.
        defects: Defects injected and escaping.
        misaligned: Work that turns out not to be wanted.
        coordination: Time spent coordinating across units.
        network: The informal network of who knows whom.
        rotation: Rotation stints in other units.
        language: How a shared language grows.
        cx: The customer experience index.
        value: Business value of delivered work.
        change: The productivity dip after a reorganisation.
        turnover: People leaving and being replaced.
        releases: How deployable work is released.
    """

    handoff: HandoffLatency = Field(default_factory=HandoffLatency)
    rework: Rework = Field(default_factory=Rework)
    defects: Defects = Field(default_factory=Defects)
    misaligned: MisalignedWork = Field(default_factory=MisalignedWork)
    coordination: Coordination = Field(default_factory=Coordination)
    network: Network = Field(default_factory=Network)
    rotation: Rotation = Field(default_factory=Rotation)
    language: SharedLanguage = Field(default_factory=SharedLanguage)
    cx: CustomerExperience = Field(default_factory=CustomerExperience)
    value: Value = Field(default_factory=Value)
    change: ChangeCurve = Field(default_factory=ChangeCurve)
    turnover: Turnover = Field(default_factory=Turnover)
    releases: Releases = Field(default_factory=Releases)

    def all_off(self) -> Mechanisms:
        """A copy with every mechanism switched off: the pure queueing network."""
        return self.model_copy(
            update={
                name: getattr(self, name).model_copy(update={"enabled": False})
                for name in type(self).model_fields
            }
        )


# --------------------------------------------------------------------------- scenario


def _default_work_types() -> list[WorkType]:
    def stage(discipline: str, mean: float) -> Stage:
        return Stage(discipline=discipline, effort=Effort(mean=mean))

    return [
        WorkType(
            name="feature",
            arrival_rate=1.0,
            value=20000,
            expectation_days=30,
            route=[
                stage("business", 1.0),
                stage("dev", 4.0),
                stage("ops", 0.8),
                stage("marketing", 1.0),
            ],
        ),
        WorkType(
            name="campaign",
            arrival_rate=0.8,
            value=8000,
            expectation_days=15,
            route=[stage("marketing", 2.0), stage("dev", 1.5), stage("ops", 0.5)],
        ),
        WorkType(
            name="incident",
            arrival_rate=0.8,
            value=0,
            expectation_days=1,
            class_of_service="expedite",
            route=[
                stage("support", 0.2),
                stage("ops", 0.3),
                stage("dev", 0.5),
                stage("support", 0.1),
            ],
        ),
        WorkType(
            name="deal",
            arrival_rate=0.6,
            value=15000,
            expectation_days=20,
            route=[
                stage("sales", 1.0),
                stage("business", 0.8),
                stage("dev", 2.0),
                stage("ops", 0.4),
            ],
        ),
    ]


def _default_disciplines() -> list[Discipline]:
    return [
        Discipline(name="business", side="business", headcount=6, cost_per_day=650),
        Discipline(name="marketing", side="business", headcount=6, cost_per_day=550),
        Discipline(name="sales", side="business", headcount=4, cost_per_day=550),
        Discipline(name="support", side="business", headcount=5, cost_per_day=400),
        Discipline(name="dev", side="it", headcount=26, cost_per_day=700),
        Discipline(name="ops", side="it", headcount=10, cost_per_day=650),
    ]


class LeverChanges(Strict):
    """Levers set by a scheduled change; the ones left out keep their value."""

    shared_language: Probability | None = None
    transparency: Probability | None = None
    prioritisation: Literal["fifo", "value"] | None = None
    cross_skill: Probability | None = None
    rotation_share: Probability | None = None
    culture_events_per_quarter: CultureEvents | None = None
    glossary: bool | None = None
    change_management: Probability | None = None


class Change(Strict):
    """A change on a given day: any of a new structure, team size or teams, BRM count,
    headcount per discipline (hires or departures) and levers."""

    day: int = Field(
        ge=1, le=MAX_HORIZON_DAYS, description="Working day on which the change takes effect."
    )
    label: str = Field("", max_length=200)
    structure: Literal["siloed", "aligned", "converged", "custom"] | None = None
    team_size: int | None = Field(None, ge=1, le=MAX_TEAM_SIZE)
    teams: list[Team] | None = Field(None, max_length=MAX_TEAMS)
    brms: int | None = Field(None, ge=0, le=MAX_BRMS, description="The new number of BRMs.")
    headcount: dict[str, Headcount] | None = Field(
        None, description="New headcount per discipline: hires, or departures."
    )
    levers: LeverChanges | None = None

    def overrides(self) -> dict[str, Any]:
        """The change as dotted-path overrides of a scenario."""
        out: dict[str, Any] = {}
        for name in ("structure", "team_size"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.teams is not None:
            out["teams"] = [t.model_dump(mode="json") for t in self.teams]
        if self.brms is not None:
            out["brms.count"] = self.brms
        for discipline, count in (self.headcount or {}).items():
            out[f"disciplines.{discipline}.headcount"] = count
        if self.levers is not None:
            for name, value in self.levers.model_dump(exclude_none=True).items():
                out[f"levers.{name}"] = value
        return out


#: The KPIs a PDCA policy may target (the catalog's pdca_target entries).
PDCA_TARGETS = pdca_targets()


#: What a PDCA policy may change: decisions of the organisation, not the world it
#: lives in (demand, mechanisms) nor the run itself (horizon, seed, warm-up).
PDCA_PATHS = (
    "levers.<name>",
    "brms.count",
    "team_size",
    "disciplines.<name>.headcount",
)
#: Largest step or bound of a PDCA lever (every field it may change is below this).
MAX_PDCA_VALUE = float(MAX_STAFF)


class PDCALever(Strict):
    """A scenario field a PDCA policy may try changing, by ``step`` a trial, within bounds.

    Args:
        path: Dotted path of the field; only decisions of the organisation (see
            ``PDCA_PATHS``), not the world it lives in.
        step: How much one trial changes it (signed).
        min: Lowest value a trial may set (None: no bound of its own).
        max: Highest value a trial may set (None: no bound of its own).
    """

    path: str = Field(
        max_length=100, description="Dotted path of the scenario field to try changing."
    )
    step: Annotated[float, Field(ge=-MAX_PDCA_VALUE, le=MAX_PDCA_VALUE)] = Field(
        description="How much one trial changes it (signed)."
    )
    min: Annotated[float, Field(ge=-MAX_PDCA_VALUE, le=MAX_PDCA_VALUE)] | None = None
    max: Annotated[float, Field(ge=-MAX_PDCA_VALUE, le=MAX_PDCA_VALUE)] | None = None

    @model_validator(mode="after")
    def _bounds_in_order(self) -> PDCALever:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise _field_error("min", f"{self.min:g} is above max ({self.max:g})")
        return self


class PDCA(Strict):
    """Plan-Do-Check-Act: every ``every_days`` days, check the trial change against the
    period before it; keep it if the target KPI improved beyond noise, else revert it;
    then try the next lever of the list."""

    enabled: bool = False
    every_days: int = Field(40, ge=5, le=MAX_HORIZON_DAYS, description="Length of one trial.")
    settle_days: int = Field(
        10,
        ge=0,
        le=MAX_HORIZON_DAYS,
        description="Days after a change before the KPI is measured (work in flight).",
    )
    target: Literal[PDCA_TARGETS] = Field("lead_time_mean", description="KPI to improve.")
    min_effect: Probability = Field(
        0.03, description="Smallest relative improvement worth keeping."
    )
    z: Annotated[float, Field(ge=0.0, le=10.0)] = Field(
        1.0,
        description="Improvement must also exceed z standard errors of the difference.",
    )
    levers: list[PDCALever] = Field(default_factory=list, max_length=50)


class Scenario(Strict):
    """One organisation, its demand and its levers: the input of one simulation run."""

    name: str = Field("Untitled scenario", min_length=1, max_length=120)
    description: str = Field("", max_length=5_000)
    structure: Literal["siloed", "aligned", "converged", "custom"] = "siloed"
    seed: int = Field(1, ge=0, le=MAX_SEED)
    horizon_days: int = Field(250, ge=1, le=MAX_HORIZON_DAYS, description="Working days simulated.")
    warmup_days: int = Field(
        20,
        ge=0,
        le=MAX_HORIZON_DAYS,
        description="Days excluded from KPI statistics while queues fill.",
    )
    disciplines: list[Discipline] = Field(
        default_factory=_default_disciplines, min_length=1, max_length=MAX_DISCIPLINES
    )
    team_size: int = Field(
        7,
        ge=1,
        le=MAX_TEAM_SIZE,
        description="Converged team size; 5-9 (Team Topologies, two-pizza teams).",
    )
    teams: list[Team] = Field(
        default_factory=list, max_length=MAX_TEAMS, description="Custom structure only."
    )
    brms: BRMs = Field(default_factory=BRMs)
    work_types: list[WorkType] = Field(
        default_factory=_default_work_types, min_length=1, max_length=MAX_WORK_TYPES
    )
    demand_scale: Annotated[float, Field(ge=0.0, le=10.0)] = Field(
        1.0, description="Multiplies every work type's arrival rate (1 = as listed)."
    )
    levers: Levers = Field(default_factory=Levers)
    mechanisms: Mechanisms = Field(default_factory=Mechanisms)
    changes: list[Change] = Field(
        default_factory=list,
        max_length=MAX_CHANGES,
        description="Scheduled changes: a transition over time.",
    )
    pdca: PDCA = Field(default_factory=PDCA)

    # -- cross-field checks: an impossible organisation is refused before it runs

    @model_validator(mode="after")
    def _check_consistency(self) -> Scenario:
        names = [d.name for d in self.disciplines]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise _field_error(f"disciplines[{i}].name", f"'{name}' is listed twice")
        staffed = self.headcounts()
        if sum(staffed.values()) == 0:
            raise _field_error("disciplines", "the organisation has nobody in it")
        if sum(staffed.values()) > MAX_STAFF:
            raise _field_error(
                "disciplines",
                f"{sum(staffed.values()):,} people in all; the limit is {MAX_STAFF:,}",
            )
        for t, team in enumerate(self.teams):
            for disc in team.members:
                if disc not in names:
                    raise _field_error(
                        f"teams[{t}].members.{disc}", f"'{disc}' is not a listed discipline"
                    )
        if self.structure == "custom":
            if not self.teams:
                raise _field_error("teams", "the custom structure needs at least one team")
            for i, d in enumerate(self.disciplines):
                in_teams = sum(team.members.get(d.name, 0) for team in self.teams)
                if d.headcount and in_teams != d.headcount:
                    raise _field_error(
                        f"disciplines[{i}].headcount",
                        f"{d.headcount} {d.name} people but the teams hold {in_teams}",
                    )
        type_names = [w.name for w in self.work_types]
        for w, work in enumerate(self.work_types):
            if work.name in type_names[:w]:
                raise _field_error(f"work_types[{w}].name", f"'{work.name}' is listed twice")
            for s, stage in enumerate(work.route):
                if stage.discipline not in names:
                    raise _field_error(
                        f"work_types[{w}].route[{s}].discipline",
                        f"'{stage.discipline}' is not a discipline of this organisation "
                        f"(known: {', '.join(names)})",
                    )
                if staffed[stage.discipline] == 0:
                    raise _field_error(
                        f"work_types[{w}].route[{s}].discipline",
                        f"nobody has the discipline '{stage.discipline}' (headcount 0)",
                    )
        if (
            self.mechanisms.defects.enabled
            and self.mechanisms.defects.incident_type not in type_names
        ):
            raise _field_error(
                "mechanisms.defects.incident_type",
                f"'{self.mechanisms.defects.incident_type}' is not a work type "
                "(switch defects off or add that type)",
            )
        if self.warmup_days >= self.horizon_days:
            raise _field_error(
                "warmup_days",
                f"{self.warmup_days} must be shorter than horizon_days ({self.horizon_days})",
            )
        self._check_expected_work()
        self._check_changes(names)
        self._check_pdca()
        return self

    def _check_expected_work(self) -> None:
        """Guard on the total work of a run: every rate and the horizon may be within
        bounds, and their product still take hours and gigabytes."""
        per_day = self.demand_scale * sum(w.arrival_rate for w in self.work_types)
        expected = per_day * self.horizon_days
        if expected > MAX_EXPECTED_ITEMS:
            raise _field_error(
                "work_types",
                f"about {expected:,.0f} items would arrive in {self.horizon_days} days "
                f"({per_day:,.4g} a day); the limit is {MAX_EXPECTED_ITEMS:,} a run: lower "
                "the arrival rates, demand_scale or horizon_days",
            )

    def _check_changes(self, names: list[str]) -> None:
        headcounts = self.headcounts()
        needed = {s.discipline for w in self.work_types for s in w.route}
        structure, teams = self.structure, self.teams
        in_order = sorted(enumerate(self.changes), key=lambda pair: pair[1].day)
        for c, change in in_order:
            if change.day >= self.horizon_days:
                raise _field_error(
                    f"changes[{c}].day",
                    f"day {change.day} is not before the horizon ({self.horizon_days} days)",
                )
            for discipline, count in (change.headcount or {}).items():
                if discipline not in names:
                    raise _field_error(
                        f"changes[{c}].headcount.{discipline}",
                        f"'{discipline}' is not a listed discipline",
                    )
                headcounts[discipline] = count
                if count == 0 and discipline in needed:
                    raise _field_error(
                        f"changes[{c}].headcount.{discipline}",
                        f"leaves nobody with '{discipline}', which routes need",
                    )
            structure = change.structure or structure
            teams = change.teams if change.teams is not None else teams
            if structure == "custom" and not teams:
                raise _field_error(
                    f"changes[{c}].teams", "a change to the custom structure needs teams"
                )
            for t, team in enumerate(change.teams or []):
                for discipline in team.members:
                    if discipline not in names:
                        raise _field_error(
                            f"changes[{c}].teams[{t}].members.{discipline}",
                            f"'{discipline}' is not a listed discipline",
                        )
        if self.changes:
            self._check_each_change_runs(in_order)

    def _check_each_change_runs(self, in_order: list[tuple[int, Change]]) -> None:
        """The organisation after each change, in day order, must itself be valid: the
        run applies the very same overrides on the day (transitions.py), and a change
        that validate passes must not stop a run halfway (custom teams that do not
        hold the headcount, a change leaving more people than the limit...)."""
        data = self.model_dump(mode="json")
        data["changes"], data["pdca"] = [], {"enabled": False}
        for c, change in in_order:
            for path, value in change.overrides().items():
                _set_path(data, resolve_path(path), value, path)
            try:
                Scenario.model_validate(data)
            except ValidationError as exc:
                error = scenario_error_from(exc)
                raise _field_error(
                    f"changes[{c}]",
                    f"on day {change.day} the organisation would be invalid: "
                    f"{error.field + ': ' if error.field else ''}{error.reason}",
                ) from None

    def _check_pdca(self) -> None:
        if not self.pdca.enabled:
            return
        if not self.pdca.levers:
            raise _field_error("pdca.levers", "the PDCA policy needs at least one lever")
        data = self.model_dump(mode="json")
        for i, lever in enumerate(self.pdca.levers):
            if not _pdca_may_change(lever.path):
                raise _field_error(
                    f"pdca.levers[{i}].path",
                    f"{quote(lever.path)} is not something a PDCA policy changes; it may "
                    f"change {', '.join(PDCA_PATHS)}",
                )
            try:
                current = get_path(data, lever.path)
            except ScenarioError as exc:
                raise _field_error(f"pdca.levers[{i}].path", exc.reason) from None
            if not isinstance(current, int | float) or isinstance(current, bool):
                raise _field_error(
                    f"pdca.levers[{i}].path", f"'{lever.path}' is not a number the policy can step"
                )
            if lever.step == 0:
                raise _field_error(f"pdca.levers[{i}].step", "a step of 0 changes nothing")
        if self.pdca.settle_days >= self.pdca.every_days:
            raise _field_error("pdca.settle_days", "must be shorter than every_days")
        if self.pdca.every_days >= self.horizon_days:
            raise _field_error(
                "pdca.every_days",
                f"{self.pdca.every_days} leaves no trial within horizon_days ({self.horizon_days})",
            )

    # -- derived views the model reads

    def headcounts(self) -> dict[str, int]:
        """People per discipline; in the custom structure the teams are the truth."""
        if self.structure == "custom" and self.teams:
            return {
                d.name: sum(team.members.get(d.name, 0) for team in self.teams)
                for d in self.disciplines
            }
        return {d.name: d.headcount for d in self.disciplines}

    @property
    def prioritisation(self) -> Literal["fifo", "value"]:
        """The queue order in effect: the lever's when set, else fifo for a siloed
        organisation (local priorities) and value for the others (one shared priority).
        """
        if self.levers.prioritisation is not None:
            return self.levers.prioritisation
        return "fifo" if self.structure == "siloed" else "value"

    @property
    def total_staff(self) -> int:
        """Everyone employed at the start: the sum of the headcounts."""
        return sum(self.headcounts().values())

    # -- YAML in and out

    def to_yaml(self) -> str:
        """The scenario as YAML with every field written: the normalised form the app stores."""
        return dump_yaml(self.model_dump(mode="json"))

    @classmethod
    def from_yaml(cls, text: str, source: str | None = None) -> Scenario:
        """Parse and validate a scenario from YAML; ScenarioError naming ``source`` otherwise."""
        # a copy of the data: validation must not see (or change) another run's dicts
        return parse_scenario(copy.deepcopy(_yaml_data(text, source)), source)

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        """Read and validate a scenario file; ScenarioError naming the file otherwise."""
        return cls.from_yaml(read_text_file(path), source=str(path))


@functools.lru_cache(maxsize=16)
def _yaml_data(text: str, source: str | None) -> Any:
    """The data of a YAML text, loaded once per text (and source) while it is recent.

    Why: the same scenario text is parsed again for every run of it (each replicate the
    app runs gets the YAML, each ``run_scenario(path)`` reads the file): 1.7 ms of a
    ~5 ms build for a 3 kB scenario, against 0.1 ms to copy the data. Errors are not
    kept (a text that fails is parsed, and fails, again). At most 16 texts of at most
    1 MB (safe_yaml.MAX_BYTES) are kept.
    """
    return load_yaml(text, source)


def _pdca_may_change(path: str) -> bool:
    parts = path.replace("__", ".").split(".")
    match parts:
        case ["levers", _] | ["brms", "count"] | ["team_size"]:
            return True
        case ["disciplines", _, "headcount"]:
            return True
    return False


def _field_error(field: str, reason: str) -> ValueError:
    # Raised inside validators; pydantic wraps it and parse_scenario unwraps it again.
    return ValueError(f"@{field}@{reason}")


def format_location(loc: tuple[Any, ...]) -> str:
    """('work_types', 0, 'route', 1, 'discipline') -> 'work_types[0].route[1].discipline'.

    Pydantic adds the names of its validators to locations inside unions
    ('function-after[_ordered(), Range]', 'list[any]'): they mean nothing to a user and
    are left out."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _INTERNAL_LOCATION.search(str(part)):
            out += ("." if out else "") + str(part)
    return out


_INTERNAL_LOCATION = re.compile(r"[\[\](){}]")
_PLAIN_BOUNDS = (
    ("greater than or equal to", "at least"),
    ("less than or equal to", "at most"),
    ("greater than", "above"),
    ("less than", "below"),
)


def plain_reason(error: dict[str, Any]) -> str:
    """A pydantic error in the words of this project, quoting the value short."""
    kind, message, ctx = error["type"], error["msg"], error.get("ctx") or {}
    if message.startswith("Value error, @"):
        return message.removeprefix("Value error, @").partition("@")[2]
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; see `python -m simulation schema`)"
    if kind == "missing":
        return "required field is missing"
    if kind == "finite_number":
        return f"must be a finite number (got {quote(error.get('input'))})"
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    message = re.sub(r"^Input should (be|have)", r"must \1", message)
    for long, short in _PLAIN_BOUNDS:
        message = message.replace(long, short)
    message = re.sub(r"^Input", "the value", message)
    if "input" in error and kind not in ("too_long", "too_short", "value_error"):
        message += f" (got {quote(error['input'])})"
    elif ctx.get("actual_length") is not None and kind == "too_long":
        message = message.split(" after validation")[0]
    return message


def scenario_error_from(exc: ValidationError, source: str | None = None) -> ScenarioError:
    """The first problem of a pydantic error as one ScenarioError (with a count of the rest)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = format_location(first["loc"])
    if first["msg"].startswith("Value error, @"):
        field_part = first["msg"].removeprefix("Value error, @").partition("@")[0]
        field = ".".join(p for p in (field, field_part) if p)
    reason = plain_reason(first)
    # the other branches of a union fail at the same field: they are not more problems
    fields = {format_location(e["loc"]) for e in errors}
    more = sum(1 for f in fields if not field.startswith(f))
    if more:
        reason += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ScenarioError(field, reason, source)


def parse_scenario(data: Any, source: str | None = None) -> Scenario:
    """Validate already-loaded data (a dict) into a Scenario, or raise ScenarioError."""
    if data is None:
        raise ScenarioError("", "the file is empty", source)
    if not isinstance(data, dict):
        raise ScenarioError("", f"expected a mapping of scenario fields, got {_kind(data)}", source)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise scenario_error_from(exc, source) from None


def _kind(value: Any) -> str:
    return {str: "text", list: "a list", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file."""
    return Scenario.from_file(path)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (what ``python -m simulation schema`` prints)."""
    return Scenario.model_json_schema()


# --------------------------------------------------------------------------- overrides


def with_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """A new, validated scenario with values set by dotted path ('brms.count': 3).

    Paths index lists by position or by name: 'disciplines.dev.headcount' and
    'work_types.feature.arrival_rate' both work. A bare leaf name that occurs once in
    the schema ('shared_language') is accepted too, so flat keyword arguments work.
    """
    if not overrides:
        return scenario
    data = scenario.model_dump(mode="json")
    for path, value in overrides.items():
        _set_path(data, resolve_path(path), value, path)
    return parse_scenario(data)


def horizon_overrides(scenario: Scenario, days: int) -> dict[str, int]:
    """The fields that run ``scenario`` for ``days`` instead (``--days``, an experiment's
    ``days``): the horizon, and the warm-up cut to at most half of it, so a shorter run
    still has a window to measure (a 40-day run of a 60-day warm-up measures days 20-40,
    not one day)."""
    return {"horizon_days": days, "warmup_days": min(scenario.warmup_days, days // 2)}


def resolve_path(path: str) -> list[str]:
    """Split a dotted path (``__`` works as a dot) into its parts.

    A single name that is not a top-level field is looked up as a leaf of the schema
    ('shared_language' -> levers.shared_language); ScenarioError when it is ambiguous.
    """
    parts = path.replace("__", ".").split(".")
    if len(parts) == 1 and parts[0] not in Scenario.model_fields:
        matches = [p for p in _leaf_paths(Scenario) if p[-1] == parts[0]]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            options = ", ".join(".".join(m) for m in matches)
            raise ScenarioError(path, f"ambiguous; use one of {options}")
    return parts


def _leaf_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[list[str]]:
    paths: list[list[str]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += _leaf_paths(annotation, (*prefix, name))
        else:
            paths.append([*prefix, name])
    return paths


def get_path(data: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of a dumped scenario (lists by index or name)."""
    node: Any = data
    for part in resolve_path(path):
        if isinstance(node, list):
            node = node[_list_index(node, part, path)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise ScenarioError(path, f"'{part}' is not a field here")
    return node


def _set_path(data: Any, parts: list[str], value: Any, original: str) -> None:
    node = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            index = _list_index(node, part, original)
            if last:
                node[index] = value
            node = node[index]
        elif isinstance(node, dict):
            if part not in node:
                raise ScenarioError(original, f"'{part}' is not a field here")
            if last:
                node[part] = copy.deepcopy(value)
            node = node[part]
        else:
            raise ScenarioError(original, f"cannot go into '{part}'")


def _list_index(items: list[Any], key: str, original: str) -> int:
    if key.isdigit():
        index = int(key)
        if index < len(items):
            return index
        raise ScenarioError(original, f"index {index} is out of range")
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == key:
            return index
    raise ScenarioError(original, f"no entry named '{key}'")
