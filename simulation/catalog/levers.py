"""Every lever a user turns, declared once.

A lever is a decision of the organisation that the app offers as a widget: on the
Compare page's sidebar (``group``), as a column of the Transition page's table of
scheduled changes (``change_field``), and as a lever a PDCA policy may step
(``pdca_step``). :mod:`simulation.inputs.levers` applies them to a scenario, and the
app draws its widgets from these entries, so a new lever is one entry here.

The order of :data:`LEVERS` is the order of the widgets and of the table's columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: The widget a lever is: a choice of options, a whole number, a slider over a range,
#: or an on/off switch.
Kind = Literal["choice", "int", "slider", "toggle"]

STRUCTURES = ("siloed", "aligned", "converged", "custom")

ORGANISATION = "Organisation"
WAYS_OF_WORKING = "Ways of working"
DEMAND = "Demand"

# What a scenario field is, so that a comparison can say what else differs besides the
# structure (simulation.analysis.differences). Issue 10: the ready-made siloed and
# converged scenarios also differed in shared language, transparency and priorities, and
# the whole gap was read as the structure's. A structure is what the organisation chart
# and its standing roles are: the kind of units, team size, the BRMs and, because one
# shared priority across units is what "aligned" means, the prioritisation. Ways of
# working are habits and programmes any structure can have: shared language,
# transparency, cross-skilling, rotation, culture events, a glossary and change
# management.
STRUCTURE = "structure"
WAYS = "ways of working"
STAFFING = "staffing"
DEMAND_DIMENSION = "demand"
RUN = "run settings"
#: When measurement starts: each organisation is measured once its queues have filled
#: (a siloed one fills later), so a different warm-up changes the window, not the
#: organisation; comparisons name it but do not count it as a difference in kind.
MEASUREMENT = "measurement"
MODEL = "model parameters"
SCHEDULE = "changes over time"
LABEL = "name"
#: The dimensions, in the order a comparison lists its differences.
DIMENSIONS = (STRUCTURE, WAYS, STAFFING, DEMAND_DIMENSION, SCHEDULE, MODEL, RUN, MEASUREMENT, LABEL)

#: The dimension of every scenario field no lever sets, by its dotted path (a field
#: under a path listed here takes that path's dimension).
FIELD_DIMENSIONS: dict[str, str] = {
    "structure": STRUCTURE,
    "team_size": STRUCTURE,
    "teams": STRUCTURE,  # the custom structure's team list
    "brms": STRUCTURE,  # how many BRMs and how long mediation takes: the aligned role
    "disciplines": STAFFING,
    "work_types": DEMAND_DIMENSION,
    "demand_scale": DEMAND_DIMENSION,
    "changes": SCHEDULE,
    "pdca": SCHEDULE,
    "mechanisms": MODEL,
    "levers": WAYS,  # a lever field without an entry below is a way of working
    "seed": RUN,
    "horizon_days": RUN,
    "warmup_days": MEASUREMENT,
    "name": LABEL,
    "description": LABEL,
}


@dataclass(frozen=True)
class Lever:
    """One lever.

    Args:
        key: Its short name, in links and saved views ("brms").
        path: The dotted scenario field it sets ("brms.count").
        label: What its widget says.
        kind: The widget (:data:`Kind`).
        low: Lowest value a slider or number offers.
        high: Highest value a slider offers (the app leaves room above a large
            organisation's own value).
        step: The step of a slider or number.
        options: The values of a choice; with ``option_labels`` what each reads as.
        option_labels: (value, text) pairs for the options that read otherwise.
        group: The group of Compare's sidebar it shows in; None: only a scheduled
            change or a PDCA policy sets it.
        structures: The structures it does something in.
        cost: The scenario field of what turning it costs; None when it costs nothing
            by itself.
        help: One or two sentences for the widget's tooltip.
        short: The title of its column in the table of changes (the label if empty).
        change_field: The field of a scheduled change that sets it ("brms",
            "levers.transparency"); None when a change cannot.
        pdca_step: The step a PDCA policy starts from; None when a policy may not step it.
        dimension: What it is (:data:`DIMENSIONS`): part of the structure, a way of
            working, staffing or demand.
    """

    key: str
    path: str
    label: str
    kind: Kind
    low: float = 0.0
    high: float = 1.0
    step: float = 0.05
    options: tuple[str, ...] = ()
    option_labels: tuple[tuple[str, str], ...] = ()
    group: str | None = None
    structures: tuple[str, ...] = STRUCTURES
    cost: str | None = None
    help: str = ""
    short: str = ""
    change_field: str | None = None
    pdca_step: float | None = None
    dimension: str = WAYS

    @property
    def title(self) -> str:
        """The title of its column in the table of changes."""
        return self.short or self.label

    @property
    def is_share(self) -> bool:
        """A slider over 0..1: a share, bounded by its whole range."""
        return self.kind == "slider" and (self.low, self.high) == (0.0, 1.0)

    @property
    def column(self) -> str | None:
        """The name of its column in the table of changes (the change's field, without
        ``levers.``); None when a scheduled change cannot set it."""
        return self.change_field.removeprefix("levers.") if self.change_field else None

    def option_text(self, value: str) -> str:
        """How the option ``value`` reads."""
        return dict(self.option_labels).get(value, value)


LEVERS: tuple[Lever, ...] = (
    Lever(
        "structure",
        "structure",
        "Structure",
        "choice",
        options=STRUCTURES,
        group=ORGANISATION,
        help="siloed: a department per discipline with local FIFO priorities; aligned: the "
        "same departments with one shared priority; converged: cross-functional teams.",
        change_field="structure",
        dimension=STRUCTURE,
    ),
    Lever(
        "team_size",
        "team_size",
        "Team size",
        "int",
        3,
        15,
        1,
        group=ORGANISATION,
        structures=("converged",),
        help="People per cross-functional team (converged structure).",
        change_field="team_size",
        pdca_step=-1,
        dimension=STRUCTURE,
    ),
    Lever(
        "brms",
        "brms.count",
        "Business Relationship Managers",
        "int",
        0,
        20,
        1,
        group=ORGANISATION,
        cost="brms.cost_per_day",
        help="BRMs translate at the business-IT boundary; too few become a queue.",
        short="BRMs",
        change_field="brms",
        pdca_step=2,
        dimension=STRUCTURE,
    ),
    Lever(
        "priorities",
        "levers.prioritisation",
        "Priorities",
        "choice",
        options=("fifo", "value"),
        option_labels=(("fifo", "Local (FIFO)"), ("value", "Shared (value)")),
        group=WAYS_OF_WORKING,
        help="fifo: each unit serves its own queue first come, first served; value: one "
        "shared value-based priority (WSJF-like) across units.",
        change_field="levers.prioritisation",
        dimension=STRUCTURE,
    ),
    Lever(
        "shared_language",
        "levers.shared_language",
        "Shared language",
        "slider",
        group=WAYS_OF_WORKING,
        help="Organisation-wide shared vocabulary, 0 (none) to 1 (one language).",
        change_field="levers.shared_language",
        pdca_step=0.15,
    ),
    Lever(
        "transparency",
        "levers.transparency",
        "Transparency",
        "slider",
        group=WAYS_OF_WORKING,
        help="Visibility of work and goals across units.",
        change_field="levers.transparency",
        pdca_step=0.15,
    ),
    Lever(
        "cross_skill",
        "levers.cross_skill",
        "Cross-skill",
        "slider",
        help="Proficiency of everyone in the other disciplines of their own side.",
        change_field="levers.cross_skill",
        pdca_step=0.2,
    ),
    Lever(
        "rotation",
        "levers.rotation_share",
        "Rotation",
        "slider",
        group=WAYS_OF_WORKING,
        cost="mechanisms.rotation.cost_per_stint",
        help="Share of staff who spend a stint in another unit each year.",
        change_field="levers.rotation_share",
        pdca_step=0.05,
    ),
    Lever(
        "culture",
        "levers.culture_events_per_quarter",
        "Culture events per quarter",
        "slider",
        0.0,
        12.0,
        1.0,
        group=WAYS_OF_WORKING,
        cost="mechanisms.network.culture_event_cost",
        help="Inclusive cross-unit meetups per quarter.",
        short="Culture events",
        change_field="levers.culture_events_per_quarter",
        pdca_step=1,
    ),
    Lever(
        "glossary",
        "levers.glossary",
        "Glossary",
        "toggle",
        cost="mechanisms.language.glossary_cost",
        help="Start a shared-glossary initiative.",
        change_field="levers.glossary",
    ),
    Lever(
        "change_management",
        "levers.change_management",
        "Change management",
        "slider",
        cost="mechanisms.change.cost_per_person",
        help="Communication, training and coaching, 0..1: shallower, shorter dips after each "
        "change, at a cost per person affected.",
        change_field="levers.change_management",
    ),
    Lever(
        "demand",
        "demand_scale",
        "Demand multiplier",
        "slider",
        0.0,
        3.0,
        0.05,
        group=DEMAND,
        help="Scales the arrival rate of every work type (1 = as in the scenario).",
        dimension=DEMAND_DIMENSION,
    ),
)

#: Headcount is one lever per discipline: its key and paths name the discipline.
HEADCOUNT_PREFIX = "headcount."
DISCIPLINE = "<discipline>"
HEADCOUNT = Lever(
    f"{HEADCOUNT_PREFIX}{DISCIPLINE}",
    f"disciplines.{DISCIPLINE}.headcount",
    DISCIPLINE,
    "int",
    0,
    2000,
    1,
    group=ORGANISATION,
    # in the custom structure the teams say who works where
    structures=("siloed", "aligned", "converged"),
    cost=f"disciplines.{DISCIPLINE}.cost_per_day",
    help=f"People whose main discipline is {DISCIPLINE}.",
    dimension=STAFFING,
)


def headcount_lever(discipline: str) -> Lever:
    """The headcount lever of one discipline."""

    def named(text: str) -> str:
        return text.replace(DISCIPLINE, discipline)

    return Lever(
        named(HEADCOUNT.key),
        named(HEADCOUNT.path),
        named(HEADCOUNT.label),
        HEADCOUNT.kind,
        HEADCOUNT.low,
        HEADCOUNT.high,
        HEADCOUNT.step,
        group=HEADCOUNT.group,
        structures=HEADCOUNT.structures,
        cost=named(HEADCOUNT.cost or ""),
        help=named(HEADCOUNT.help),
        dimension=HEADCOUNT.dimension,
    )


def lever(key: str) -> Lever:
    """The lever named ``key`` (``headcount.<discipline>`` included); KeyError if none."""
    if key.startswith(HEADCOUNT_PREFIX):
        return headcount_lever(key.removeprefix(HEADCOUNT_PREFIX))
    for entry in LEVERS:
        if entry.key == key:
            return entry
    raise KeyError(f"unknown lever {key!r}")


def sidebar_levers() -> list[Lever]:
    """The levers of Compare's sidebar (those with a group), in order."""
    return [entry for entry in LEVERS if entry.group is not None]


def groups() -> list[str]:
    """The groups of Compare's sidebar, in order."""
    return list(dict.fromkeys(entry.group for entry in sidebar_levers() if entry.group))


def change_levers() -> list[Lever]:
    """The levers a scheduled change can set, in the order of the table's columns."""
    return [entry for entry in LEVERS if entry.change_field is not None]


def pdca_steps() -> dict[str, float]:
    """Scenario path -> default step, of every lever a PDCA policy may step."""
    return {entry.path: entry.pdca_step for entry in LEVERS if entry.pdca_step is not None}


def dimension(path: str) -> str:
    """The dimension of the scenario field at dotted ``path`` ("levers.transparency",
    "disciplines.dev.headcount"): its lever's, else the longest listed path it is under.
    """
    for entry in LEVERS:
        if entry.path == path:
            return entry.dimension
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in FIELD_DIMENSIONS:
            return FIELD_DIMENSIONS[prefix]
    return MODEL  # a field added to the schema and not yet listed: never "structure"


#: Ready-made levels of the ways of working, to hold them equal across organisations
#: (Compare's "Ways of working" choice): "basic" is siloed.yaml's (the schema's
#: defaults), "mature" the old converged.yaml's (shared language 0.5, transparency 0.6).
WAYS_LEVELS: dict[str, dict[str, object]] = {
    "basic": {
        "levers.shared_language": 0.2,
        "levers.transparency": 0.2,
        "levers.cross_skill": 0.0,
        "levers.rotation_share": 0.0,
        "levers.culture_events_per_quarter": 0.0,
        "levers.glossary": False,
        "levers.change_management": 0.0,
    },
    "mature": {
        "levers.shared_language": 0.5,
        "levers.transparency": 0.6,
        "levers.cross_skill": 0.0,
        "levers.rotation_share": 0.0,
        "levers.culture_events_per_quarter": 0.0,
        "levers.glossary": False,
        "levers.change_management": 0.0,
    },
}


def ways_of_working_levers() -> list[Lever]:
    """The levers that are ways of working, in order."""
    return [entry for entry in LEVERS if entry.dimension == WAYS]
