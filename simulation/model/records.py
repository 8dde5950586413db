"""What a run leaves behind: the raw records from which every KPI is computed.

The model writes into a :class:`Recorder` as it runs, and the mechanisms report into it
through their ``summary()`` at the end; :meth:`Recorder.finish` turns it into
:class:`RunRecords`, plain tables with no reference to the model. The event log
uses the column names process-mining tools read (XES / pm4py conventions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from simulation.engine.work import DISRUPTION, WorkItem
from simulation.mechanisms.cx import CXIndex, cx_score
from simulation.mechanisms.value import value_delivered

if TYPE_CHECKING:
    from simulation.engine.agents import Staff
    from simulation.engine.clock import Clock
    from simulation.engine.units import Unit
    from simulation.inputs.scenario import Scenario

#: The date of day 0 in exported timestamps; one model day is one calendar day there.
EPOCH = pd.Timestamp("2026-01-05")

EVENT_LOG_COLUMNS = [
    "case:concept:name",  # the work item
    "case:type",
    "concept:name",  # the activity: the discipline, marked when wasted or rework
    "kind",  # value / wasted / rework
    "org:resource",  # the person
    "org:group",  # their unit
    "enqueue_day",
    "start_day",
    "end_day",
    "enqueue_timestamp",
    "start_timestamp",
    "time:timestamp",  # completion
]


class ItemRow(NamedTuple):
    """One delivered work item: the fields of ``Recorder.item_rows``, which holds them
    as plain tuples (built once per item; a named tuple costs five times as much)."""

    item: int
    type: str
    arrival: float
    done: float
    lead_time: float
    touch_time: float
    first_it_start: float | None
    deployable: bool
    customer_facing: bool
    expedite: bool
    raised_by_defect: bool
    rework_rounds: int
    latent_defects: int
    cx_score: float
    value: float


ITEM_COLUMNS = list(ItemRow._fields)
_DONE = ITEM_COLUMNS.index("done")
#: Column types of the items table, so that a run that delivered nothing still has a
#: typed table (boolean masks on an empty column of objects would select columns).
ITEM_DTYPES = {
    **dict.fromkeys(ITEM_COLUMNS, "float64"),
    "item": "int64",
    "type": "object",
    **dict.fromkeys(["deployable", "customer_facing", "expedite", "raised_by_defect"], "bool"),
    "rework_rounds": "int64",
    "latent_defects": "int64",
}


class _Later:
    """A table not made yet: the function that makes it and the rows it is made from.

    Args:
        make: Rows -> table (e.g. :func:`event_log`).
        rows: The recorder's rows.
    """

    __slots__ = ("make", "rows")

    def __init__(self, make: Any, rows: list[tuple]):
        self.make = make
        self.rows = rows

    def __call__(self) -> pd.DataFrame:
        return self.make(self.rows)


class _MadeOnRead:
    """A :class:`RunRecords` field whose table is made the first time it is read.

    Why: the event log is the largest table of a run (a row per task) and the one the
    KPIs do not read; building it took 4-5 ms of a 250-day run's ~12 ms of records,
    paid by every run of a sweep or a comparison, most of which never look at it. The
    field takes a table or a :class:`_Later`; reading it (attribute access,
    ``dataclasses.fields``/``asdict``/``replace``, ``==``, ``repr``) makes and keeps the
    table, so callers see a plain data frame. A dataclass field whose default is a
    descriptor is documented Python: raising AttributeError on class access means
    "no default".
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, records: Any, owner: type | None = None) -> pd.DataFrame:
        if records is None:
            raise AttributeError(self.slot)  # no default value (see above)
        value = records.__dict__[self.slot]
        if isinstance(value, _Later):
            value = value()
            records.__dict__[self.slot] = value
        return value

    def __set__(self, records: Any, value: pd.DataFrame | _Later) -> None:
        records.__dict__[self.slot] = value

    def pending_rows(self, records: Any) -> list[tuple] | None:
        """The rows of a table not made yet (None once it is made)."""
        value = records.__dict__[self.slot]
        return value.rows if isinstance(value, _Later) else None


@dataclass
class RunRecords:
    """Everything a run produced, as plain data.

    ``events`` is made from the task rows when first read (:class:`_MadeOnRead`).
    """

    scenario_name: str
    structure: str
    seed: int
    horizon: int
    warmup: int
    items: pd.DataFrame  # one row per delivered item
    events: pd.DataFrame = _MadeOnRead()  # one row per task of each item
    daily: pd.DataFrame  # the DataCollector series, one row per day
    unit_daily: pd.DataFrame  # queue and busy people per unit per day
    units: pd.DataFrame  # per unit: size, kind, busy days in the KPI window
    effort: dict[str, float]  # busy person-days in the KPI window by use
    it_effort: dict[str, float]
    handoffs: dict[str, tuple[int, float]]  # kind -> (count, total days) in the window
    costs: dict[str, float]  # over the whole horizon
    brm: dict[str, float]
    network: dict[str, float]
    wip_mean: float  # time-average WIP over the KPI window
    arrivals_in_window: int
    misunderstandings_found: int
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)  # transitions.py's log
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame)  # the PDCA policy's
    extra: dict[str, Any] = field(default_factory=dict)

    def groups_working_on(self, item_ids: np.ndarray) -> set[str]:
        """The units (the event log's ``org:group``) that did a task of any of these
        items; read from the task rows while the event log is not made."""
        rows = RunRecords.__dict__["events"].pending_rows(self)
        if rows is None:
            events = self.events
            mine = np.isin(events["case:concept:name"].to_numpy(), item_ids)
            return set(events["org:group"].to_numpy()[mine])
        wanted = set(item_ids.tolist())
        item, group = TASK_FIELDS.index("case:concept:name"), TASK_FIELDS.index("org:group")
        return {row[group] for row in rows if row[item] in wanted}


#: What the mechanisms' summaries fill in RunRecords by name; the rest goes to ``extra``.
SUMMARY_FIELDS = ("network", "changes", "decisions", "misunderstandings_found", "handoffs")


class Recorder:
    """The run's raw records as they accumulate.

    Args:
        config: The scenario at the start (parameters of CX, value, BRM cost, sides).
        clock: The run's clock.
        staff: Everyone employed (the model's list, kept up to date by the model).
        horizon: Days the run lasts.
        warmup: Days before the KPI window opens.
    """

    def __init__(
        self, config: Scenario, clock: Clock, staff: list[Staff], horizon: int, warmup: int
    ):
        self.clock = clock
        self.staff = staff
        self.horizon = horizon
        self.warmup = warmup
        self.brm_cost_per_day = config.brms.cost_per_day
        self.cx_params = config.mechanisms.cx
        self.value_params = config.mechanisms.value
        self.cx_index = CXIndex(self.cx_params)
        #: One row per task done, in ``TASK_FIELDS``' order (the task path appends them).
        self.event_rows: list[tuple] = []
        #: One row per item delivered, a plain tuple in ``ItemRow``'s order.
        self.item_rows: list[tuple] = []
        self.unit_rows: list[tuple] = []
        self.programme_costs: dict[str, float] = {}
        self.arrivals = 0
        self.completed = 0
        self.completed_today: list[float] = []  # lead times
        self.new_work_today = 0  # deliveries of new work (new_work_mask)
        self.new_work_lead_today: list[float] = []  # their lead times
        # the working time of people who have left (the others' is on them)
        self.departed: dict[str, float] = {}
        self.departed_it: dict[str, float] = {}
        self.brm_busy = 0.0
        self.mediations = 0
        self.staff_cost = 0.0
        self.brm_cost = 0.0
        # time-average WIP: the integral of WIP over time
        self.wip = 0
        self._wip_area = 0.0
        self._wip_since = 0.0
        self._window_marks: dict[str, Any] = {}

    # -- flow

    def wip_area(self) -> float:
        """Item-days of work in progress since the start."""
        return self._wip_area + self.wip * (self.clock.now - self._wip_since)

    def arrival(self) -> None:
        """A work item arrived: one more in progress (the integral of work in progress
        over time grows up to now first; here and in :meth:`item_done`, inline, as they
        run once per item)."""
        self.arrivals += 1
        now = self.clock.now
        self._wip_area += self.wip * (now - self._wip_since)
        self._wip_since = now
        self.wip += 1

    def depart(self, staff: Staff) -> None:
        """Someone leaves: their time stays in the totals."""
        groups = (self.departed, self.departed_it) if staff.side == "it" else (self.departed,)
        for totals in groups:
            for use, days in staff.time_spent.items():
                totals[use] = totals.get(use, 0.0) + days

    def effort_totals(self, it_only: bool = False) -> dict[str, float]:
        """Person-days by use so far, over everyone who ever worked here."""
        everyone, it = self._effort_totals_both()
        return it if it_only else everyone

    def _effort_totals_both(self) -> tuple[dict[str, float], dict[str, float]]:
        """:meth:`effort_totals` of everyone and of IT in one pass over the staff (each
        total adds the same numbers in the same order as its own pass would)."""
        everyone, it = dict(self.departed), dict(self.departed_it)
        for person in self.staff:
            spent = person.time_spent.items()
            for use, days in spent:
                everyone[use] = everyone.get(use, 0.0) + days
            if person.side == "it":
                for use, days in spent:
                    it[use] = it.get(use, 0.0) + days
        return everyone, it

    def mediation(self, days: float) -> None:
        """A BRM mediation took ``days``."""
        self.brm_busy += days
        self.mediations += 1

    def item_done(self, item: WorkItem) -> None:
        """``item`` was delivered: its row, its CX score and its value."""
        now = self.clock.now  # one fewer in progress (as in arrival)
        self._wip_area += self.wip * (now - self._wip_since)
        self._wip_since = now
        self.wip -= 1
        self.completed += 1
        lead = item.done_at - item.arrival  # WorkItem.lead_time, done
        self.completed_today.append(lead)
        expedite = item.type.class_of_service == "expedite"
        incident = expedite or item.raised_by_defect  # not new work (new_work_mask)
        if not incident:
            self.new_work_today += 1
            self.new_work_lead_today.append(lead)
        score = math.nan
        if self.cx_params.enabled and item.type.customer_facing:
            score = cx_score(item, self.cx_params)
            self.cx_index.add(item.done_at, score, incident)
        wt = item.type
        self.item_rows.append(
            (
                item.id,
                wt.name,
                item.arrival,
                item.done_at,
                lead,
                item.touch_time,
                item.first_it_start,
                item.deployable,
                wt.customer_facing,
                expedite,
                item.raised_by_defect,
                item.rework_rounds,
                item.latent_defects,
                score,
                value_delivered(item, self.value_params),
            )
        )

    def delivered_between(self, start: float, end: float) -> list[ItemRow]:
        """The items delivered in [start, end)."""
        return [ItemRow._make(row) for row in self.item_rows if start <= row[_DONE] < end]

    def programme_cost(self, programme: str, amount: float) -> None:
        """A programme (glossary, rotation, hiring, ...) cost ``amount``."""
        self.programme_costs[programme] = self.programme_costs.get(programme, 0.0) + amount

    # -- the day

    def end_of_day(self, day: int, units: list[Unit], brms: int) -> None:
        """Day ``day`` is over: its costs and each unit's queue; the window opens after
        the warm-up."""
        # once a day, for every person and unit: a list comprehension (its attribute
        # reads are specialised: half the time of map and attrgetter on agents) and a
        # local list, not a generator and a property per unit; sum() as ever
        self.staff_cost += sum([person.cost_per_day for person in self.staff])
        self.brm_cost += self.brm_cost_per_day * brms
        rows = self.unit_rows
        for unit in units:
            rows.append((day, unit.name, unit.queued, unit.busy, len(unit.members) - unit.away))
        if day == self.warmup:
            self._mark_window_start(units)

    def new_day(self) -> None:
        """The day's series were taken: today's deliveries start again from none."""
        self.completed_today.clear()
        self.new_work_today = 0
        self.new_work_lead_today.clear()

    def _mark_window_start(self, units: list[Unit]) -> None:
        effort, it_effort = self._effort_totals_both()
        self._window_marks = {
            "effort": effort,
            "it_effort": it_effort,
            "unit_busy": {u: u.busy_area() for u in units},
            "unit_members": {u: u.member_area() for u in units},
            "wip_area": self.wip_area(),
            "arrivals": self.arrivals,
            "brm_busy": self.brm_busy,
        }

    # -- the end

    def finish(
        self,
        config: Scenario,
        seed: Any,
        daily: pd.DataFrame,
        units: list[Unit],
        brms: int,
        summary: dict[str, Any],
    ) -> RunRecords:
        """The records of the run, as plain data.

        Args:
            config: The scenario at the end (after any changes).
            seed: The seed the run was given.
            daily: The daily series, one row per day.
            units: The units at the end.
            brms: The BRMs employed at the end.
            summary: What the mechanisms reported (``network``, ``changes``,
                ``decisions``, ``misunderstandings_found``, ``handoffs``; the rest goes
                to ``extra``).
        """
        if not self._window_marks:
            self._mark_window_start(units)
        marks = self._window_marks
        effort, it_effort = self._effort_totals_both()
        horizon, warmup = self.horizon, self.warmup
        window = horizon - warmup
        units_table = pd.DataFrame(
            {
                "unit": [u.name for u in units],
                "kind": [u.kind for u in units],
                "size": [u.size for u in units],
                "disciplines": [
                    ", ".join(sorted({m.discipline for m in u.members})) for u in units
                ],
                "busy_days": [u.busy_area() - marks["unit_busy"].get(u, 0.0) for u in units],
                # a unit formed by a reorganisation after the warm-up counts from then
                "window_days": [horizon - max(warmup, u.created) for u in units],
                # person-days of membership in the window: hires and leavers change a
                # unit's size, so utilisation divides by this, not by the size at the end
                "staffed_days": [
                    u.member_area() - marks["unit_members"].get(u, 0.0) for u in units
                ],
            }
        )
        costs = {"staff": self.staff_cost, "brms": self.brm_cost, **self.programme_costs}
        extra = {k: v for k, v in summary.items() if k not in SUMMARY_FIELDS}
        return RunRecords(
            scenario_name=config.name,
            structure=config.structure,
            seed=seed,
            horizon=horizon,
            warmup=warmup,
            items=_items_table(self.item_rows),
            # a copy: a run that goes on after this (the app's live view) adds rows
            events=_Later(event_log, list(self.event_rows)),
            daily=daily,
            unit_daily=_unit_daily_table(self.unit_rows),
            units=units_table,
            effort=_minus(effort, marks["effort"]),
            it_effort=_minus(it_effort, marks["it_effort"]),
            handoffs=summary.get("handoffs", {}),
            costs=costs,
            brm={
                "count": brms,
                "busy_days": self.brm_busy - marks["brm_busy"],
                "mediations": self.mediations,
            },
            network=summary.get("network", {}),
            wip_mean=(self.wip_area() - marks["wip_area"]) / window,
            arrivals_in_window=self.arrivals - marks["arrivals"],
            misunderstandings_found=summary.get("misunderstandings_found", 0),
            changes=_log_table(summary.get("changes", []), CHANGE_COLUMNS),
            decisions=_log_table(summary.get("decisions", []), DECISION_COLUMNS),
            extra={
                **extra,
                "disruption_days": effort[DISRUPTION],
                "cx_incident_weight": self.cx_params.incident_weight,
                "mean_cost_per_day": self.staff_cost / (horizon * max(1, len(self.staff))),
            },
        )


CHANGE_COLUMNS = [
    "day",
    "label",
    "source",
    "structure",
    "size",
    "dip_depth",
    "recovery_days",
    "change_management_cost",
]
DECISION_COLUMNS = [
    "day",
    "lever",
    "from",
    "to",
    "tried_on",
    "kpi",
    "before",
    "after",
    "decision",
    "reason",
]


#: An empty log per column list: most runs change nothing and have no PDCA policy, and
#: a copy of an empty table costs a twentieth of making one (0.3 ms each, every run).
_EMPTY_LOGS: dict[tuple[str, ...], pd.DataFrame] = {}


def _log_table(rows: list, columns: list[str]) -> pd.DataFrame:
    """The change log or the PDCA decisions as a table (its own copy when empty)."""
    if rows:
        return pd.DataFrame(rows, columns=columns)
    key = tuple(columns)
    if key not in _EMPTY_LOGS:
        _EMPTY_LOGS[key] = pd.DataFrame([], columns=columns)
    return _EMPTY_LOGS[key].copy()


def new_work_mask(items: pd.DataFrame) -> pd.Series:
    """Which delivered items are new work: neither an expedite incident nor failure
    demand (an incident raised by an escaped defect). Headline lead time, throughput
    and the CX of new work count these; incidents are reported beside them."""
    return ~(items["expedite"] | items["raised_by_defect"])


def _items_table(rows: list[tuple]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(rows, columns=ITEM_COLUMNS).astype(ITEM_DTYPES)
    return pd.DataFrame(typed_columns(rows, ITEM_COLUMNS, text={"type"}), copy=False)


#: The task rows' fields, in their order (``Recorder.event_rows``, appended by the task
#: path, ``engine/flow.py``); "discipline" becomes "concept:name" in the event log.
TASK_FIELDS = [
    "case:concept:name",
    "case:type",
    "discipline",
    "kind",
    "org:resource",
    "org:group",
    "enqueue_day",
    "start_day",
    "end_day",
]
TASK_TEXT = {"case:type", "discipline", "kind", "org:group"}


def event_log(rows: list[tuple]) -> pd.DataFrame:
    """The event log table from the task rows, with process-mining column names."""
    if not rows:
        return _event_log_reference(rows)
    fields = typed_columns(rows, TASK_FIELDS, text=TASK_TEXT)
    # one string per row in plain Python: cheaper than pandas' string arithmetic
    fields["concept:name"] = [
        discipline if kind == "value" else f"{discipline} ({kind})"
        for discipline, kind in zip(fields["discipline"], fields["kind"], strict=True)
    ]
    for day_col, ts_col in TIMESTAMP_COLUMNS:
        fields[ts_col] = EPOCH + pd.to_timedelta(fields[day_col], unit="D")
    return pd.DataFrame({name: fields[name] for name in EVENT_LOG_COLUMNS}, copy=False)


TIMESTAMP_COLUMNS = (
    ("enqueue_day", "enqueue_timestamp"),
    ("start_day", "start_timestamp"),
    ("end_day", "time:timestamp"),
)


def _event_log_reference(rows: list[tuple]) -> pd.DataFrame:
    """The event log built the plain way (row tuples into pandas): what the fast
    :func:`event_log` must equal (tests compare them), and the empty log's types."""
    frame = pd.DataFrame(rows, columns=TASK_FIELDS)
    frame["concept:name"] = frame["discipline"].where(
        frame["kind"] == "value", frame["discipline"] + " (" + frame["kind"] + ")"
    )
    for day_col, ts_col in TIMESTAMP_COLUMNS:
        frame[ts_col] = EPOCH + pd.to_timedelta(frame[day_col], unit="D")
    return frame[EVENT_LOG_COLUMNS]


def typed_columns(rows: list[tuple], names: list[str], text: set[str]) -> dict[str, Any]:
    """Rows turned into columns, typed as pandas would type the rows.

    A column of plain numbers (or booleans) becomes a numpy array directly: pandas'
    inference on a list of Python objects costs several times more. A column numpy
    cannot type as numbers (None among floats, say) and the ``text`` columns stay
    lists, which pandas types exactly as it types them in rows.
    """
    out: dict[str, Any] = {}
    for name, values in zip(names, zip(*rows, strict=True), strict=True):
        if name in text:
            out[name] = list(values)
            continue
        array = np.array(values)
        out[name] = array if array.dtype.kind in "biuf" else list(values)
    return out


UNIT_DAILY_COLUMNS = ["day", "unit", "queued", "busy", "present"]


def _unit_daily_table(rows: list[tuple]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(rows, columns=UNIT_DAILY_COLUMNS)
    return pd.DataFrame(typed_columns(rows, UNIT_DAILY_COLUMNS, text={"unit"}), copy=False)


def _minus(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: v - b.get(k, 0.0) for k, v in a.items()}
