"""Every field of a scenario, declared once: default, plausible range, unit and source.

:data:`PARAMETERS` has one entry per leaf field of the scenario schema
(:mod:`simulation.inputs.scenario`), so that nothing the model reads is undocumented;
``tests/test_parameters.py`` fails when a field has no entry, an entry names no field,
or a default here differs from the schema's. ``python -m simulation parameters``
prints the table and ``docs/parameters.md`` is generated from it.

Paths are dotted as in experiment files. A list's items are written ``[]``
(``disciplines[].headcount``: the headcount of any discipline; an experiment names the
item, ``disciplines.dev.headcount``), and the keys of a mapping ``*``
(``teams[].members.*``: the people of any discipline in a team).

Each entry is of one kind:

- ``parameter``: a number of the model, with the range a sensitivity analysis should
  cover (``low`` to ``high``): plausible values, not the input limits of
  :mod:`simulation.limits`, inside them and around the default;
- ``setting``: a switch, a choice, a run setting or a fact about the organisation
  being modelled (a headcount, an arrival rate): it has no generic range;
- ``identifier``: a name or a label, with no effect on the results.

A ``source`` is either a publication (author year, title: the value, or the range it
lies in, is taken from it) or ``reasoned estimate: why`` in one sentence; a reasoned
estimate may still name a publication for the form or direction of an effect. A
default of ``None`` means the field is required (each item states it) or, in a
scheduled change, left as it was.

A leaf of the package: it imports nothing from the rest of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from simulation.catalog.kpis import pdca_targets
from simulation.catalog.levers import STRUCTURES


def _choice(options: tuple[str, ...]) -> str:
    """A choice field's unit: its options, from the list that declares them."""
    return "choice: " + ", ".join(options)


#: What an entry is (see the module docstring).
Kind = Literal["parameter", "setting", "identifier"]

#: How a source that is not a publication begins.
REASONED = "reasoned estimate:"

#: A default as the schema holds it (``None``: required, or unchanged by a change).
Default = float | int | str | bool | None


@dataclass(frozen=True, kw_only=True)
class Parameter:
    """One field of the scenario schema.

    Args:
        path: Dotted path; ``[]`` stands for any item of a list, ``*`` for any key of
            a mapping.
        default: The schema's default (``None``: required, or unchanged).
        low: Low end of the plausible range (parameters only).
        high: High end of the plausible range (parameters only).
        unit: What the number counts, or the options of a choice.
        source: A publication (author year, title), or ``reasoned estimate: why``.
        mechanism: The mechanism or section it belongs to (``--mechanism`` filters by it).
        description: What it does, in one sentence.
        kind: ``parameter``, ``setting`` or ``identifier``.
    """

    path: str
    default: Default
    low: float | None = None
    high: float | None = None
    unit: str
    source: str
    mechanism: str
    description: str
    kind: Kind = "parameter"

    @property
    def published(self) -> bool:
        """Whether the source is a publication rather than a reasoned estimate."""
        return not self.source.startswith(REASONED)


SWITCH = "switch (true/false)"
SHARE = "share (0-1)"
PROBABILITY = "probability (0-1)"
MONEY = "money"
TEXT = "text"
PEOPLE = "people"
SWITCHED_ON = (
    "reasoned estimate: every mechanism is on by default; switching one off shows what it "
    "contributes (all off is the pure queueing network)."
)
UNCHANGED = "reasoned estimate: left out, it keeps its value: a change sets only what it names."

_RUN: tuple[Parameter, ...] = (
    Parameter(
        path="name",
        default="Untitled scenario",
        unit=TEXT,
        kind="identifier",
        mechanism="run",
        description="The scenario's name, on tables, charts and downloads.",
        source="reasoned estimate: a placeholder until the scenario is named; no effect on a run.",
    ),
    Parameter(
        path="description",
        default="",
        unit=TEXT,
        kind="identifier",
        mechanism="run",
        description="What the scenario shows, in words.",
        source="reasoned estimate: empty until written; no effect on a run.",
    ),
    Parameter(
        path="seed",
        default=1,
        unit="integer",
        kind="setting",
        mechanism="run",
        description="Random seed; replicate i of a comparison runs with seed + i.",
        source="reasoned estimate: any seed is as good as another; results are compared "
        "over replicates, never over one seed.",
    ),
    Parameter(
        path="horizon_days",
        default=250,
        unit="working days",
        kind="setting",
        mechanism="run",
        description="Working days simulated.",
        source="reasoned estimate: one working year, long enough for quarterly events and "
        "several scheduled changes.",
    ),
    Parameter(
        path="warmup_days",
        default=20,
        unit="working days",
        kind="setting",
        mechanism="run",
        description="Days left out of KPI statistics while queues fill from empty.",
        source="reasoned estimate: four working weeks, longer than the default siloed lead "
        "time of about 18 days, so that KPIs describe a loaded organisation.",
    ),
)

_ORGANISATION: tuple[Parameter, ...] = (
    Parameter(
        path="structure",
        default="siloed",
        unit=_choice(STRUCTURES),
        kind="setting",
        mechanism="organisation",
        description="Who sits where: departments per discipline, the same with shared "
        "priorities and BRMs, cross-functional teams, or listed teams.",
        source="reasoned estimate: silos are the baseline the other structures are compared with.",
    ),
    Parameter(
        path="disciplines[].name",
        default=None,
        unit=TEXT,
        kind="identifier",
        mechanism="organisation",
        description="Short name of a discipline, used in routes (the default organisation "
        "has business, marketing, sales, support, dev and ops).",
        source="reasoned estimate: a label; required for every discipline.",
    ),
    Parameter(
        path="disciplines[].side",
        default=None,
        unit="choice: business, it",
        kind="setting",
        mechanism="organisation",
        description="The side of the business-IT boundary the discipline sits on.",
        source="reasoned estimate: a fact about the organisation modelled; required for "
        "every discipline.",
    ),
    Parameter(
        path="disciplines[].headcount",
        default=None,
        unit=PEOPLE,
        kind="setting",
        mechanism="organisation",
        description="People of the discipline (the default organisation has 57: business 6, "
        "marketing 6, sales 4, support 5, dev 26, ops 10).",
        source="reasoned estimate: a fact about the organisation modelled, so no generic "
        "range; an experiment varies it by name (disciplines.dev.headcount).",
    ),
    Parameter(
        path="disciplines[].cost_per_day",
        default=600.0,
        low=300.0,
        high=1200.0,
        unit="money per person-day",
        mechanism="organisation",
        description="Fully loaded cost of one person of the discipline per working day "
        "(the default organisation sets 400 to 700 by discipline).",
        source="reasoned estimate: a Western European firm's salary x ~1.4 overheads / "
        "~220 working days.",
    ),
    Parameter(
        path="team_size",
        default=7,
        low=3,
        high=12,
        unit=PEOPLE,
        mechanism="organisation",
        description="Size of a converged cross-functional team.",
        source="Skelton & Pais 2019, Team Topologies: a team is a stable group of five to "
        "nine people; 7 is the middle.",
    ),
    Parameter(
        path="teams[].name",
        default=None,
        unit=TEXT,
        kind="identifier",
        mechanism="organisation",
        description="Name of a team of the custom structure.",
        source="reasoned estimate: a label; required for every team.",
    ),
    Parameter(
        path="teams[].members.*",
        default=None,
        unit=PEOPLE,
        kind="setting",
        mechanism="organisation",
        description="People of each discipline in a team of the custom structure (a row of "
        "the skill matrix).",
        source="reasoned estimate: a fact about the organisation modelled; the teams must "
        "hold the headcount of every discipline.",
    ),
)

_BRMS: tuple[Parameter, ...] = (
    Parameter(
        path="brms.count",
        default=0,
        low=0,
        high=8,
        unit="BRMs",
        mechanism="brms",
        description="Business Relationship Managers who mediate business-IT handoffs.",
        source="reasoned estimate: none in silos; the aligned scenario has 3 for 57 staff, "
        "and 0 to 8 spans a BRM bottleneck to idle BRMs (scale it with the staff).",
    ),
    Parameter(
        path="brms.mediation_days",
        default=0.25,
        low=0.1,
        high=1.0,
        unit="days",
        mechanism="brms",
        description="Mean BRM time per mediated handoff (exponential).",
        source="reasoned estimate: a two-hour translation meeting, a quarter of a working day.",
    ),
    Parameter(
        path="brms.cost_per_day",
        default=800.0,
        low=500.0,
        high=1200.0,
        unit="money per person-day",
        mechanism="brms",
        description="Cost per BRM per working day.",
        source="reasoned estimate: a senior role, costed above the 600 of an average discipline.",
    ),
    Parameter(
        path="brms.latency_effect",
        default=0.6,
        low=0.3,
        high=0.9,
        unit=SHARE,
        mechanism="brms",
        description="Share of a business-IT handoff's delay a BRM removes.",
        source="reasoned estimate: a BRM knows whom to call, which removes most but not "
        "all of the wait.",
    ),
    Parameter(
        path="brms.rework_effect",
        default=0.5,
        low=0.2,
        high=0.8,
        unit=SHARE,
        mechanism="brms",
        description="Share of business-IT misunderstandings a BRM prevents.",
        source="reasoned estimate: a translator catches about half of what each side "
        "misreads in the other's request.",
    ),
    Parameter(
        path="brms.bypass",
        default=True,
        unit=SWITCH,
        kind="setting",
        mechanism="brms",
        description="A business-IT handoff goes direct when the expected wait for a BRM is "
        "longer than the mediation is expected to save (false: every one waits).",
        source="reasoned estimate: nobody waits a week for a translator to save a day; "
        "the sender sees the BRMs' queue and goes direct (issue 10: one BRM must never "
        "be worse than none).",
    ),
    Parameter(
        path="brms.bypass_wait_share",
        default=0.15,
        low=0.1,
        high=1.0,
        unit=SHARE,
        mechanism="brms",
        description="Share of a mediation's expected saving a sender will spend waiting "
        "for a BRM before going direct (brms.bypass).",
        source="reasoned estimate: senders who wait whenever it pays them fill the queue "
        "until the wait eats the saving (Naor 1969, self-optimising queue joiners: 1); "
        "a queue kept to about a sixth of the saving keeps most of it, and with the "
        "headline counting new work only, BRMs show diminishing returns on aligned.yaml "
        "and aligned_mature.yaml at 0.1-0.15, not at 0.3 (the first BRM then gains less "
        "than the second).",
    ),
    Parameter(
        path="brms.incidents_first",
        default=True,
        unit=SWITCH,
        kind="setting",
        mechanism="brms",
        description="BRMs mediate expedite items (incidents) before the others waiting "
        "(false: arrival order only).",
        source="reasoned estimate: an expedite class of service jumps every queue "
        "(Anderson 2010, Kanban), the BRMs' too.",
    ),
)

_DEMAND: tuple[Parameter, ...] = (
    Parameter(
        path="work_types[].name",
        default=None,
        unit=TEXT,
        kind="identifier",
        mechanism="demand",
        description="Name of a work type (the default demand has feature, campaign, incident "
        "and deal).",
        source="reasoned estimate: a label; required for every work type.",
    ),
    Parameter(
        path="work_types[].arrival_rate",
        default=None,
        unit="items per working day",
        kind="setting",
        mechanism="demand",
        description="Poisson arrivals of the work type per working day (the default demand: "
        "feature 1.0, campaign 0.8, incident 0.8, deal 0.6).",
        source="reasoned estimate: a fact about the demand modelled, so no generic range; "
        "demand_scale varies all rates at once.",
    ),
    Parameter(
        path="work_types[].route[].discipline",
        default=None,
        unit="discipline name",
        kind="identifier",
        mechanism="demand",
        description="The discipline that does a stage of the work type's route.",
        source="reasoned estimate: a fact about how the work flows; required for every stage.",
    ),
    Parameter(
        path="work_types[].route[].effort.distribution",
        default="lognormal",
        unit="choice: lognormal, exponential, fixed",
        kind="setting",
        mechanism="demand",
        description="Distribution of a stage's effort.",
        source="reasoned estimate: knowledge-work task sizes are right-skewed; exponential "
        "is the queueing-theory case and fixed the critical-path check.",
    ),
    Parameter(
        path="work_types[].route[].effort.mean",
        default=None,
        unit="person-days",
        kind="setting",
        mechanism="demand",
        description="Mean effort of a stage (the default demand: 0.1 to 4 person-days).",
        source="reasoned estimate: a fact about the work modelled, so no generic range; "
        "an experiment varies it by path.",
    ),
    Parameter(
        path="work_types[].route[].effort.cv",
        default=1.0,
        low=0.5,
        high=2.0,
        unit="coefficient of variation",
        mechanism="demand",
        description="Spread of a lognormal effort (ignored by the other distributions).",
        source="reasoned estimate: knowledge-work task sizes are right-skewed with a "
        "coefficient of variation near 1.",
    ),
    Parameter(
        path="work_types[].value",
        default=0.0,
        low=0.0,
        high=50000.0,
        unit="money per item",
        mechanism="demand",
        description="Business value of an item of the type delivered at once (the default "
        "demand: 0 for incidents to 20,000 for features).",
        source="reasoned estimate: no value unless stated; tens of thousands for a "
        "feature or a deal of a mid-sized firm.",
    ),
    Parameter(
        path="work_types[].expectation_days",
        default=20.0,
        low=1.0,
        high=60.0,
        unit="working days",
        mechanism="demand",
        description="Lead time customers expect (time to restore, for incidents); the "
        "default demand sets 1 to 30 by type.",
        source="reasoned estimate: four working weeks for a request of no stated urgency.",
    ),
    Parameter(
        path="work_types[].class_of_service",
        default="standard",
        unit="choice: standard, expedite",
        kind="setting",
        mechanism="demand",
        description="Expedite items go first in every queue.",
        source="reasoned estimate: standard unless urgent; the default demand expedites "
        "incidents only.",
    ),
    Parameter(
        path="work_types[].customer_facing",
        default=True,
        unit=SWITCH,
        kind="setting",
        mechanism="demand",
        description="Whether items of the type count towards the CX index.",
        source="reasoned estimate: work is done for a customer unless said otherwise.",
    ),
    Parameter(
        path="demand_scale",
        default=1.0,
        low=0.7,
        high=1.2,
        unit="x (multiplier)",
        mechanism="demand",
        description="Multiplies every work type's arrival rate.",
        source="reasoned estimate: from slack (70%) to overload (120%) of the default "
        "demand, the span of experiments/structure_demand.yaml.",
    ),
)

_LEVERS: tuple[Parameter, ...] = (
    Parameter(
        path="levers.shared_language",
        default=0.2,
        low=0.0,
        high=0.8,
        unit="scale (0-1)",
        mechanism="levers",
        description="Organisation-wide shared vocabulary: scales every misunderstanding down.",
        source="reasoned estimate: business and IT share little vocabulary in a siloed "
        "organisation.",
    ),
    Parameter(
        path="levers.transparency",
        default=0.2,
        low=0.0,
        high=0.8,
        unit="scale (0-1)",
        mechanism="levers",
        description="Visibility of work and goals across units: shortens cross-unit "
        "handoffs and lowers misaligned work.",
        source="reasoned estimate: silos see little of each other's work and goals.",
    ),
    Parameter(
        path="levers.prioritisation",
        default=None,
        unit="choice: fifo, value (unset: by structure)",
        kind="setting",
        mechanism="levers",
        description="fifo: each unit serves its queue in arrival order; value: one shared "
        "value-based priority. Unset: fifo when siloed, value otherwise.",
        source="reasoned estimate: silos keep local queues, aligned and converged "
        "organisations share one priority (WSJF-like: Reinertsen 2009, The Principles "
        "of Product Development Flow).",
    ),
    Parameter(
        path="levers.cross_skill",
        default=0.0,
        low=0.0,
        high=0.5,
        unit="proficiency (0-1)",
        mechanism="levers",
        description="Initial proficiency of everyone in the other disciplines of their own side.",
        source="reasoned estimate: specialists only, unless the organisation invests in "
        "cross-skilling.",
    ),
    Parameter(
        path="levers.rotation_share",
        default=0.0,
        low=0.0,
        high=0.2,
        unit="share of staff per year",
        mechanism="levers",
        description="Share of staff who do a rotation stint in another unit each year.",
        source="reasoned estimate: no programme unless chosen; a fifth of staff a year is "
        "already an ambitious one.",
    ),
    Parameter(
        path="levers.culture_events_per_quarter",
        default=0.0,
        low=0.0,
        high=6.0,
        unit="events per quarter",
        mechanism="levers",
        description="Inclusive-culture events (cross-unit meetups) per quarter.",
        source="reasoned estimate: none unless chosen; one every two weeks is the most a "
        "programme sustains.",
    ),
    Parameter(
        path="levers.glossary",
        default=False,
        unit=SWITCH,
        kind="setting",
        mechanism="levers",
        description="Run a shared-glossary initiative at the start.",
        source="reasoned estimate: no initiative unless chosen.",
    ),
    Parameter(
        path="levers.change_management",
        default=0.0,
        low=0.0,
        high=1.0,
        unit="scale (0-1)",
        mechanism="levers",
        description="Investment in change management: shallower, shorter dips after a "
        "change, at a cost per affected person.",
        source="reasoned estimate: no investment unless chosen; 0 to 1 spans none to full.",
    ),
)


def _switch(mechanism: str, what: str) -> Parameter:
    """The ``enabled`` switch every mechanism has."""
    return Parameter(
        path=f"mechanisms.{mechanism}.enabled",
        default=True,
        unit=SWITCH,
        kind="setting",
        mechanism=mechanism,
        description=f"Switches {what} on or off.",
        source=SWITCHED_ON,
    )


_HANDOFF: tuple[Parameter, ...] = (
    _switch("handoff", "handoff latency"),
    Parameter(
        path="mechanisms.handoff.within_team_days",
        default=0.02,
        low=0.005,
        high=0.1,
        unit="days",
        mechanism="handoff",
        description="Mean delay of a handoff inside a team (exponential).",
        source="reasoned estimate: minutes, not days, as in the co-located concurrent "
        "design of JPL's Team X.",
    ),
    Parameter(
        path="mechanisms.handoff.cross_unit_days",
        default=2.0,
        low=0.5,
        high=5.0,
        unit="days",
        mechanism="handoff",
        description="Mean delay of a handoff between departments on the same side.",
        source="reasoned estimate: a ticket waits for the next triage; a weekly meeting "
        "alone averages 2.5 working days of wait.",
    ),
    Parameter(
        path="mechanisms.handoff.business_it_days",
        default=4.0,
        low=2.0,
        high=10.0,
        unit="days",
        mechanism="handoff",
        description="Mean delay of a handoff across the business-IT boundary.",
        source="reasoned estimate: request forms, approvals and a second triage double the "
        "cross-unit wait.",
    ),
    Parameter(
        path="mechanisms.handoff.transparency_effect",
        default=0.5,
        low=0.2,
        high=0.8,
        unit=SHARE,
        mechanism="handoff",
        description="Share of a cross-unit delay removed at full transparency.",
        source="reasoned estimate: a receiver who sees work coming picks it up sooner, but "
        "still after finishing the task in hand.",
    ),
    Parameter(
        path="mechanisms.handoff.tie_effect",
        default=0.5,
        low=0.2,
        high=0.8,
        unit=SHARE,
        mechanism="handoff",
        description="Share of a handoff's delay removed when the sender knows someone in "
        "the receiving unit.",
        source="reasoned estimate: a sender with a contact calls instead of filing a ticket.",
    ),
)

_REWORK: tuple[Parameter, ...] = (
    _switch("rework", "misunderstanding and rework"),
    Parameter(
        path="mechanisms.rework.p_business_it",
        default=0.5,
        low=0.3,
        high=0.7,
        unit=PROBABILITY,
        mechanism="rework",
        description="Base chance a handoff across the business-IT boundary is misunderstood.",
        source="Boehm & Basili 2001, Software Defect Reduction Top 10 List: projects spend "
        "40-50% of effort on avoidable rework; calibrated with the other rework parameters "
        "so that the siloed default spends ~25% of task effort on boundary rework.",
    ),
    Parameter(
        path="mechanisms.rework.p_cross_unit",
        default=0.25,
        low=0.1,
        high=0.4,
        unit=PROBABILITY,
        mechanism="rework",
        description="Base chance a handoff between departments on one side is misunderstood.",
        source="reasoned estimate: half the business-IT chance, since departments on one "
        "side share more of their language.",
    ),
    Parameter(
        path="mechanisms.rework.p_within_team",
        default=0.05,
        low=0.01,
        high=0.1,
        unit=PROBABILITY,
        mechanism="rework",
        description="Base chance a handoff between disciplines in one team is misunderstood.",
        source="reasoned estimate: a tenth of the business-IT chance, since a team talks "
        "the item through as it passes it on.",
    ),
    Parameter(
        path="mechanisms.rework.detection",
        default=0.7,
        low=0.5,
        high=0.9,
        unit=PROBABILITY,
        mechanism="rework",
        description="Share of misunderstandings the receiving stage finds; the rest escape "
        "as production defects.",
        source="reasoned estimate: most mismatches show when the next stage starts work; "
        "some only in production.",
    ),
    Parameter(
        path="mechanisms.rework.wasted_share",
        default=0.6,
        low=0.3,
        high=0.9,
        unit=SHARE,
        mechanism="rework",
        description="Share of the receiving stage's effort wasted before a misunderstanding "
        "is found.",
        source="reasoned estimate: the receiver is well into the task before the mismatch shows.",
    ),
    Parameter(
        path="mechanisms.rework.rework_share",
        default=0.8,
        low=0.5,
        high=1.0,
        unit="share of the upstream effort",
        mechanism="rework",
        description="Effort to redo the upstream stage, as a share of its effort.",
        source="reasoned estimate: redoing costs a little less than doing, the context "
        "being known.",
    ),
    Parameter(
        path="mechanisms.rework.tie_effect",
        default=0.3,
        low=0.1,
        high=0.5,
        unit=SHARE,
        mechanism="rework",
        description="Share of misunderstandings avoided when sender and receiver have a tie.",
        source="reasoned estimate: people who know each other check informally what was "
        "meant, but not always.",
    ),
)

_DEFECTS: tuple[Parameter, ...] = (
    _switch("defects", "escaped defects raising incidents"),
    Parameter(
        path="mechanisms.defects.incident_type",
        default="incident",
        unit="work type name",
        kind="setting",
        mechanism="defects",
        description="Work type raised when an escaped defect surfaces (it must exist).",
        source="reasoned estimate: the default demand's incident type.",
    ),
    Parameter(
        path="mechanisms.defects.surface_days",
        default=10.0,
        low=3.0,
        high=30.0,
        unit="days",
        mechanism="defects",
        description="Mean delay before a customer hits an escaped defect (exponential).",
        source="reasoned estimate: customers meet most defects within a few weeks of a release.",
    ),
)

_MISALIGNED: tuple[Parameter, ...] = (
    _switch("misaligned", "misaligned work"),
    Parameter(
        path="mechanisms.misaligned.base_share",
        default=0.25,
        low=0.1,
        high=0.4,
        unit="share of IT time",
        mechanism="misaligned",
        description="Share of IT time spent on work that serves no business goal, with no "
        "transparency and local priorities.",
        source="reasoned estimate: with the siloed transparency of 0.2 this is 20% of IT "
        "time, above the 'at least ~10% of IT spend' of the alignment literature.",
    ),
    Parameter(
        path="mechanisms.misaligned.shared_priority_effect",
        default=0.5,
        low=0.2,
        high=0.8,
        unit=SHARE,
        mechanism="misaligned",
        description="Share of misaligned work removed by one shared value-based priority.",
        source="reasoned estimate: one priority list removes the local pet projects but "
        "not the misreadings of what the business wants.",
    ),
)

_COORDINATION: tuple[Parameter, ...] = (
    _switch("coordination", "coordination overhead"),
    Parameter(
        path="mechanisms.coordination.per_path",
        default=0.03,
        low=0.015,
        high=0.05,
        unit="share of a day per colleague",
        mechanism="coordination",
        description="Share of a person's day spent per colleague they share work with: "
        "everyone in their cross-functional team, a few peers in a department.",
        source="reasoned estimate: Brooks' n(n-1)/2 paths among people who share work "
        "(Brooks 1975, The Mythical Man-Month), n-1 per person; Perry, Staudenmayer & "
        "Votta 1994 (People, organizations, and process improvement) saw developers spend "
        "about 75 minutes a day in unplanned interaction with about seven people, 0.025 "
        "of a day per colleague, and a team's planned rituals (stand-up, planning, "
        "review) add about a quarter of an hour per colleague a week.",
    ),
    Parameter(
        path="mechanisms.coordination.department_peers",
        default=2,
        low=1,
        high=4,
        unit=PEOPLE,
        mechanism="coordination",
        description="Colleagues in their own department a person shares a ticket with: "
        "departments work separate tickets, so this does not grow with headcount.",
        source="reasoned estimate: a ticket of one discipline is shared with a reviewer "
        "and someone who covers it in absence; the rest of the work it shares is with "
        "the stages upstream and downstream, in other departments (per_interface).",
    ),
    Parameter(
        path="mechanisms.coordination.per_interface",
        default=0.03,
        low=0.01,
        high=0.06,
        unit="share of a day per interface",
        mechanism="coordination",
        description="Share of a person's day spent per other unit their unit exchanges "
        "work with: a standing cost, not a cost per item crossing.",
        source="reasoned estimate: about a quarter of an hour a day per interface "
        "(syncs, status requests, chasing); what each item crossing costs in days and "
        "misunderstandings is the handoff and rework mechanisms'.",
    ),
    Parameter(
        path="mechanisms.coordination.max_share",
        default=0.7,
        low=0.5,
        high=0.9,
        unit="share of a day",
        mechanism="coordination",
        description="Upper bound of the share of one person's day lost to coordination.",
        source="reasoned estimate: Virtual Design Team (VDT) studies put an "
        "organisation's hidden work at 30-50% on average; one person in an oversized "
        "team loses more, and a bound of 0.5 would hide Brooks' law (a team of 18 "
        "already pays 0.5 in paths). 0.7 leaves a third of a day for work.",
    ),
)

_NETWORK: tuple[Parameter, ...] = (
    _switch("network", "the social network"),
    Parameter(
        path="mechanisms.network.within_unit_degree",
        default=6.0,
        low=3.0,
        high=10.0,
        unit="ties per person",
        mechanism="network",
        description="Ties per person inside their unit at the start.",
        source="reasoned estimate: the people one works with daily, about a team of seven.",
    ),
    Parameter(
        path="mechanisms.network.discipline_degree",
        default=2.0,
        low=0.0,
        high=4.0,
        unit="ties per person",
        mechanism="network",
        description="Ties per person to the same discipline in other units (chapters, "
        "communities of practice).",
        source="reasoned estimate: a couple of peers of one's own craft elsewhere.",
    ),
    Parameter(
        path="mechanisms.network.cross_unit_degree",
        default=0.5,
        low=0.1,
        high=2.0,
        unit="ties per person",
        mechanism="network",
        description="Random ties per person across units.",
        source="reasoned estimate: one chance acquaintance in another unit for every "
        "second person.",
    ),
    Parameter(
        path="mechanisms.network.formation_per_day",
        default=0.1,
        low=0.03,
        high=0.3,
        unit="probability per day",
        mechanism="network",
        description="Chance per day that someone who knows fewer than the usual number of "
        "their unit makes a new tie there.",
        source="reasoned estimate: a new tie every ten days or so, so that a new team takes "
        "weeks to form (Tuckman 1965, Developmental sequence in small groups).",
    ),
    Parameter(
        path="mechanisms.network.handoff_tie_probability",
        default=0.05,
        low=0.01,
        high=0.15,
        unit=PROBABILITY,
        mechanism="network",
        description="Chance a cross-unit handoff without a tie creates one, at full "
        "transparency (scaled by transparency).",
        source="reasoned estimate: through an opaque ticket queue nobody learns who did "
        "their work; even in the open, few handoffs start an acquaintance.",
    ),
    Parameter(
        path="mechanisms.network.culture_reach",
        default=0.3,
        low=0.1,
        high=0.6,
        unit="share of staff",
        mechanism="network",
        description="Share of staff at a culture event.",
        source="reasoned estimate: about a third of staff come to a voluntary meetup.",
    ),
    Parameter(
        path="mechanisms.network.culture_tie_probability",
        default=0.5,
        low=0.2,
        high=0.8,
        unit=PROBABILITY,
        mechanism="network",
        description="Chance an attendee makes a new cross-unit tie.",
        source="reasoned estimate: about every second attendee meets someone worth calling later.",
    ),
    Parameter(
        path="mechanisms.network.culture_event_cost",
        default=3000.0,
        low=1000.0,
        high=10000.0,
        unit="money per event",
        mechanism="network",
        description="Cost of one culture event.",
        source="reasoned estimate: a venue, food and a day of organising.",
    ),
    Parameter(
        path="mechanisms.network.decay_after_days",
        default=60.0,
        low=30.0,
        high=120.0,
        unit="days",
        mechanism="network",
        description="Cross-unit ties unused this long may fade.",
        source="reasoned estimate: about three months without working together.",
    ),
    Parameter(
        path="mechanisms.network.decay_probability",
        default=0.3,
        low=0.1,
        high=0.5,
        unit="probability per monthly check",
        mechanism="network",
        description="Chance per monthly check that an unused cross-unit tie fades.",
        source="reasoned estimate: an unused contact is mostly gone within a year.",
    ),
)

_ROTATION: tuple[Parameter, ...] = (
    _switch("rotation", "rotation stints"),
    Parameter(
        path="mechanisms.rotation.stint_days",
        default=20.0,
        low=10.0,
        high=60.0,
        unit="days",
        mechanism="rotation",
        description="Length of a rotation stint away from one's unit.",
        source="reasoned estimate: four working weeks away.",
    ),
    Parameter(
        path="mechanisms.rotation.skill_gain",
        default=0.3,
        low=0.1,
        high=0.5,
        unit="proficiency (0-1)",
        mechanism="rotation",
        description="Proficiency gained in the host discipline by a stint.",
        source="reasoned estimate: a month in another discipline teaches its basics, not "
        "the craft.",
    ),
    Parameter(
        path="mechanisms.rotation.ties_gained",
        default=3,
        low=1,
        high=6,
        unit="ties",
        mechanism="rotation",
        description="New ties with the host unit per stint.",
        source="reasoned estimate: the few people one worked closely with during the stint.",
    ),
    Parameter(
        path="mechanisms.rotation.language_gain",
        default=0.002,
        low=0.0005,
        high=0.005,
        unit="share of the remaining gap",
        mechanism="rotation",
        description="Rise of the shared language per completed stint.",
        source="reasoned estimate: each returning person carries a little of the other "
        "side's vocabulary home.",
    ),
    Parameter(
        path="mechanisms.rotation.cost_per_stint",
        default=2000.0,
        low=500.0,
        high=5000.0,
        unit="money per stint",
        mechanism="rotation",
        description="Programme cost of one stint (the time away is counted separately).",
        source="reasoned estimate: organising, mentoring by the host unit and travel.",
    ),
)

_LANGUAGE: tuple[Parameter, ...] = (
    _switch("language", "a shared language that changes over time"),
    Parameter(
        path="mechanisms.language.glossary_gain",
        default=0.2,
        low=0.05,
        high=0.3,
        unit="scale (0-1)",
        mechanism="language",
        description="Rise of the shared language from the glossary initiative.",
        source="reasoned estimate: a glossary fixes the words, not the understanding behind them.",
    ),
    Parameter(
        path="mechanisms.language.glossary_ramp_days",
        default=40.0,
        low=20.0,
        high=80.0,
        unit="days",
        mechanism="language",
        description="Days over which the glossary's rise is phased in.",
        source="reasoned estimate: two months to write it and for people to use it.",
    ),
    Parameter(
        path="mechanisms.language.glossary_cost",
        default=40000.0,
        low=10000.0,
        high=100000.0,
        unit=MONEY,
        mechanism="language",
        description="One-off cost of the glossary initiative.",
        source="reasoned estimate: some 60 person-days of workshops and writing.",
    ),
    Parameter(
        path="mechanisms.language.brm_gain",
        default=0.0005,
        low=0.0001,
        high=0.002,
        unit="share of the remaining gap",
        mechanism="language",
        description="Rise of the shared language per BRM mediation: translators teach.",
        source="reasoned estimate: each mediation teaches both sides a word or two.",
    ),
    Parameter(
        path="mechanisms.language.ceiling",
        default=0.95,
        low=0.8,
        high=1.0,
        unit="scale (0-1)",
        mechanism="language",
        description="Highest shared language the organisation reaches.",
        source="reasoned estimate: a shared language never gets perfect.",
    ),
)

_CX: tuple[Parameter, ...] = (
    _switch("cx", "customer experience scores"),
    Parameter(
        path="mechanisms.cx.lateness_penalty",
        default=1.0,
        low=0.5,
        high=2.0,
        unit="per unit of lateness",
        mechanism="cx",
        description="Score = 100 * exp(-penalty * lateness), lateness = lead time / expected - 1.",
        source="reasoned estimate: twice as long as promised scores 37 of 100.",
    ),
    Parameter(
        path="mechanisms.cx.defect_penalty",
        default=0.5,
        low=0.2,
        high=0.8,
        unit=SHARE,
        mechanism="cx",
        description="Share of an item's score lost to an escaped defect.",
        source="reasoned estimate: a customer who hits a defect is half as happy.",
    ),
    Parameter(
        path="mechanisms.cx.window_days",
        default=30.0,
        low=10.0,
        high=60.0,
        unit="days",
        mechanism="cx",
        description="Trailing window of the CX index.",
        source="reasoned estimate: customers remember the last month or so.",
    ),
    Parameter(
        path="mechanisms.cx.incident_weight",
        default=0.25,
        low=0.1,
        high=0.5,
        unit=SHARE,
        mechanism="cx",
        description="Weight of incidents' CX (time to restore against its expectation) in "
        "the headline CX index; new work's CX has the rest.",
        source="reasoned estimate: customers judge a supplier mostly by what they asked for "
        "and got, partly by how fast it restores service; a quarter is about the share of "
        "incidents among the arrivals of the ready-made demand (0.8 of 3.2 a day), so the "
        "index weighs them as the demand does, not by how many failure demand adds.",
    ),
)

_VALUE: tuple[Parameter, ...] = (
    _switch("value", "the decay of value with lead time"),
    Parameter(
        path="mechanisms.value.half_life_days",
        default=60.0,
        low=20.0,
        high=120.0,
        unit="days",
        mechanism="value",
        description="Lead time at which an item has lost half its value.",
        source="reasoned estimate: half the value gone after a quarter year (cost of "
        "delay: Reinertsen 2009, The Principles of Product Development Flow).",
    ),
    Parameter(
        path="mechanisms.value.defect_loss",
        default=0.3,
        low=0.1,
        high=0.5,
        unit=SHARE,
        mechanism="value",
        description="Share of an item's value lost to an escaped defect.",
        source="reasoned estimate: a defect spoils part of what was delivered, not all.",
    ),
)

_CHANGE: tuple[Parameter, ...] = (
    _switch("change", "the J-curve after a change"),
    Parameter(
        path="mechanisms.change.dip_depth",
        default=0.3,
        low=0.1,
        high=0.5,
        unit="share of productivity",
        mechanism="change",
        description="Productivity lost right after a change that moves everyone, without "
        "change management.",
        source="reasoned estimate: new teams form and storm for weeks (Tuckman 1965, "
        "Developmental sequence in small groups); the Satir change model's chaos phase.",
    ),
    Parameter(
        path="mechanisms.change.recovery_days",
        default=40.0,
        low=20.0,
        high=80.0,
        unit="days",
        mechanism="change",
        description="Time constant of the recovery: the dip is e^-1 of its depth after this "
        "many days.",
        source="reasoned estimate: nearly recovered after three time constants, a quarter "
        "to half a year.",
    ),
    Parameter(
        path="mechanisms.change.process_change_size",
        default=0.2,
        low=0.05,
        high=0.4,
        unit="share of a full reorganisation",
        mechanism="change",
        description="Size of a change that moves nobody but changes how work flows "
        "(priorities, BRMs).",
        source="reasoned estimate: new routines disturb less than new colleagues.",
    ),
    Parameter(
        path="mechanisms.change.management_effect",
        default=0.6,
        low=0.3,
        high=0.8,
        unit=SHARE,
        mechanism="change",
        description="Share of the dip full change management prevents; it also shortens "
        "the recovery by half this share.",
        source="reasoned estimate: communication and coaching soften a change but cannot "
        "remove it.",
    ),
    Parameter(
        path="mechanisms.change.cost_per_person",
        default=1500.0,
        low=500.0,
        high=3000.0,
        unit="money per affected person",
        mechanism="change",
        description="Change-management cost per affected person at full investment.",
        source="reasoned estimate: two to three days of training and coaching per person.",
    ),
)

_TURNOVER: tuple[Parameter, ...] = (
    _switch("turnover", "turnover (idle while annual_rate is 0)"),
    Parameter(
        path="mechanisms.turnover.annual_rate",
        default=0.0,
        low=0.0,
        high=0.2,
        unit="share of staff per year",
        mechanism="turnover",
        description="Share of staff leaving per year (0: nobody leaves).",
        source="reasoned estimate: off by default so departures do not blur comparisons; "
        "about 0.13 is typical in tech (industry attrition surveys).",
    ),
    Parameter(
        path="mechanisms.turnover.hire_delay_days",
        default=30.0,
        low=10.0,
        high=60.0,
        unit="days",
        mechanism="turnover",
        description="Days to fill a vacancy.",
        source="reasoned estimate: about six working weeks from notice to a start date.",
    ),
    Parameter(
        path="mechanisms.turnover.ramp_up_days",
        default=60.0,
        low=20.0,
        high=120.0,
        unit="days",
        mechanism="turnover",
        description="Days for a new hire to reach full proficiency (0: at once).",
        source="reasoned estimate: about three months to learn the systems and the people.",
    ),
    Parameter(
        path="mechanisms.turnover.start_proficiency",
        default=0.5,
        low=0.3,
        high=0.8,
        unit="proficiency (0-1)",
        mechanism="turnover",
        description="A new hire's proficiency on day one.",
        source="reasoned estimate: an experienced hire brings the craft but not the context.",
    ),
    Parameter(
        path="mechanisms.turnover.hire_cost",
        default=8000.0,
        low=3000.0,
        high=20000.0,
        unit="money per hire",
        mechanism="turnover",
        description="Recruiting cost per hire.",
        source="reasoned estimate: advertising, interviews and fees, a month or so of a salary.",
    ),
)


def _unchanged(path: str, unit: str, description: str) -> Parameter:
    """A field of a scheduled change: left out, it keeps its value."""
    return Parameter(
        path=f"changes[].{path}",
        default=None,
        unit=unit,
        kind="setting",
        mechanism="changes",
        description=description,
        source=UNCHANGED,
    )


_CHANGES: tuple[Parameter, ...] = (
    Parameter(
        path="changes[].day",
        default=None,
        unit="working day",
        kind="setting",
        mechanism="changes",
        description="Working day on which a scheduled change takes effect.",
        source="reasoned estimate: required for every change; it is the point of one.",
    ),
    Parameter(
        path="changes[].label",
        default="",
        unit=TEXT,
        kind="identifier",
        mechanism="changes",
        description="What the change is, in words, on charts and tables.",
        source="reasoned estimate: empty until written; no effect on a run.",
    ),
    _unchanged("structure", _choice(STRUCTURES), "The new structure."),
    _unchanged("team_size", PEOPLE, "The new converged team size."),
    Parameter(
        path="changes[].teams[].name",
        default=None,
        unit=TEXT,
        kind="identifier",
        mechanism="changes",
        description="Name of a team of the new custom structure.",
        source="reasoned estimate: a label; required for every team a change lists.",
    ),
    _unchanged("teams[].members.*", PEOPLE, "People of each discipline in a new custom team."),
    _unchanged("brms", "BRMs", "The new number of BRMs."),
    _unchanged("headcount.*", PEOPLE, "New headcount of a discipline: hires, or departures."),
    _unchanged("levers.shared_language", "scale (0-1)", "New shared-language lever."),
    _unchanged("levers.transparency", "scale (0-1)", "New transparency lever."),
    _unchanged("levers.prioritisation", "choice: fifo, value", "New prioritisation."),
    _unchanged("levers.cross_skill", "proficiency (0-1)", "New cross-skill lever."),
    _unchanged("levers.rotation_share", "share of staff per year", "New rotation share."),
    _unchanged(
        "levers.culture_events_per_quarter", "events per quarter", "New culture event rate."
    ),
    _unchanged("levers.glossary", SWITCH, "Starts or stops the glossary initiative."),
    _unchanged("levers.change_management", "scale (0-1)", "New change-management investment."),
)

_PDCA: tuple[Parameter, ...] = (
    Parameter(
        path="pdca.enabled",
        default=False,
        unit=SWITCH,
        kind="setting",
        mechanism="pdca",
        description="Runs the Plan-Do-Check-Act policy.",
        source="reasoned estimate: off unless a scenario sets a policy.",
    ),
    Parameter(
        path="pdca.every_days",
        default=40,
        low=20,
        high=80,
        unit="working days",
        mechanism="pdca",
        description="Length of one trial.",
        source="reasoned estimate: two months, for enough deliveries after the change to "
        "compare with the period before.",
    ),
    Parameter(
        path="pdca.settle_days",
        default=10,
        low=5,
        high=20,
        unit="working days",
        mechanism="pdca",
        description="Days after a change before the KPI is measured (work in flight).",
        source="reasoned estimate: two weeks for items started before the change to leave.",
    ),
    Parameter(
        path="pdca.target",
        default="lead_time_mean",
        unit=_choice(pdca_targets()),
        kind="setting",
        mechanism="pdca",
        description="The KPI the policy tries to improve.",
        source="reasoned estimate: lead time is what silos are slowest at.",
    ),
    Parameter(
        path="pdca.min_effect",
        default=0.03,
        low=0.01,
        high=0.1,
        unit="relative change",
        mechanism="pdca",
        description="Smallest relative improvement worth keeping.",
        source="reasoned estimate: a change of under 3% is not worth the disruption.",
    ),
    Parameter(
        path="pdca.z",
        default=1.0,
        low=0.5,
        high=2.0,
        unit="standard errors",
        mechanism="pdca",
        description="An improvement must also exceed z standard errors of the difference.",
        source="reasoned estimate: one standard error keeps most real gains and drops "
        "most noise over short trials.",
    ),
    Parameter(
        path="pdca.levers[].path",
        default=None,
        unit="dotted path",
        kind="setting",
        mechanism="pdca",
        description="Scenario field a trial changes (levers.*, brms.count, team_size, "
        "disciplines.NAME.headcount).",
        source="reasoned estimate: required for every lever of the policy.",
    ),
    Parameter(
        path="pdca.levers[].step",
        default=None,
        unit="the field's unit",
        kind="setting",
        mechanism="pdca",
        description="How much one trial changes the field (signed).",
        source="reasoned estimate: required for every lever of the policy.",
    ),
    Parameter(
        path="pdca.levers[].min",
        default=None,
        unit="the field's unit",
        kind="setting",
        mechanism="pdca",
        description="Lowest value a trial may set (unset: the field's own bound).",
        source="reasoned estimate: unbounded unless the policy says so.",
    ),
    Parameter(
        path="pdca.levers[].max",
        default=None,
        unit="the field's unit",
        kind="setting",
        mechanism="pdca",
        description="Highest value a trial may set (unset: the field's own bound).",
        source="reasoned estimate: unbounded unless the policy says so.",
    ),
)

#: Every field of the scenario schema, grouped by mechanism in the order of the schema.
_RELEASES: tuple[Parameter, ...] = (
    _switch("releases", "waiting for a release (off: every item deploys when its IT work is done)"),
    Parameter(
        path="mechanisms.releases.department_interval_days",
        default=5.0,
        low=1.0,
        high=21.0,
        unit="days",
        mechanism="releases",
        description="Days between release trains where IT works in departments: a "
        "change-approval board releases the changes it approved together (0 = continuous).",
        source="reasoned estimate: a weekly change-approval board, the common cadence of "
        "ITIL change management; Forsgren, Humble & Kim (2018, Accelerate) found external "
        "change approval associated with lower delivery performance and no lower change "
        "failure rate; 1 to 21 spans a daily to a monthly release.",
    ),
    Parameter(
        path="mechanisms.releases.team_interval_days",
        default=0.0,
        low=0.0,
        high=5.0,
        unit="days",
        mechanism="releases",
        description="Days between releases where the organisation is formed of teams "
        "(0 = each team deploys its work when it is ready).",
        source="reasoned estimate: teams that own their service deploy on demand, as the "
        "DORA State of DevOps reports' elite performers do; up to 5 for teams that still "
        "release weekly.",
    ),
)

PARAMETERS: tuple[Parameter, ...] = (
    *_RUN,
    *_ORGANISATION,
    *_BRMS,
    *_DEMAND,
    *_LEVERS,
    *_HANDOFF,
    *_REWORK,
    *_DEFECTS,
    *_MISALIGNED,
    *_COORDINATION,
    *_NETWORK,
    *_ROTATION,
    *_LANGUAGE,
    *_CX,
    *_VALUE,
    *_CHANGE,
    *_TURNOVER,
    *_RELEASES,
    *_CHANGES,
    *_PDCA,
)

#: The mechanism names entries are grouped by, in catalog order.
MECHANISMS: tuple[str, ...] = tuple(dict.fromkeys(p.mechanism for p in PARAMETERS))


def mechanism_label(name: str) -> str:
    """What the catalog calls mechanism ``name`` ("handoff latency", "misunderstanding
    and rework"): the words of its ``enabled`` switch, without any parenthesis; the
    name itself for a mechanism without a switch."""
    for entry in PARAMETERS:
        if entry.path == f"mechanisms.{name}.enabled":
            words = entry.description.removeprefix("Switches ").removesuffix(" on or off.")
            return words.split(" (")[0]
    return name
