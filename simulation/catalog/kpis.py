"""Every KPI a run reports, declared once.

:func:`simulation.analysis.metrics.compute_kpis` computes the values; this list says
what each one is called, its unit, which way is better and where it shows: the
command line's ``run`` and ``compare`` tables and the app's KPI table (``section``),
the app's KPI cards (``card``), a sweep's default analysis (``sweep``) and the KPIs a
PDCA policy may target (``pdca_target``). Every consumer reads this list when it runs,
so a new entry here, with its value computed in ``compute_kpis``, shows everywhere.

The order of :data:`KPIS` is the order of every table and of the cards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: How a change between two values reads: a percent change, or only a difference
#: (shares, indices and scores, where "+20%" of a percentage or a score means nothing);
#: "none" for text (a tier, a unit's name).
Change = Literal["percent", "difference", "none"]

#: Units with a meaning beyond their name: shares (0..1 shown as %), and money (shown
#: in thousands in tables, 'k').
PERCENT = "%"
MONEY = "k"


@dataclass(frozen=True)
class Kpi:
    """One KPI of a run.

    Args:
        key: The name in the KPI record ``compute_kpis`` returns.
        label: What tables and charts call it.
        unit: Its unit as a table's unit column says it; ``"%"`` for a share stored
            as 0..1, ``"k"`` for money shown in thousands.
        higher_is_better: Which way is good; None where neither is (a count of
            handoffs, a tier's name).
        section: The section of the run and compare tables it shows in; None keeps it
            out of the tables (it stays in every CSV and JSON).
        card: The short label of its card in the app, None for no card; cards show in
            :data:`KPIS` order, the Transition section's on the Transition page, the
            others on Compare.
        sweep: Analysed by default after a sweep (``python -m simulation analyze``).
        pdca_target: A PDCA policy may target it.
        change: How a change reads (:data:`Change`).
    """

    key: str
    label: str
    unit: str
    higher_is_better: bool | None
    section: str | None = None
    card: str | None = None
    sweep: bool = False
    pdca_target: bool = False
    change: Change = "percent"


SPEED = "Delivery speed"
DORA = "DORA"
CUSTOMERS = "Customers"
QUALITY = "Quality and waste"
COST = "Cost and value"
ORGANISATION = "Organisation"
TRANSITION = "Transition"

#: The fields that say which run a KPI record belongs to: not KPIs.
RUN_FIELDS = ("scenario", "structure", "seed", "days")

KPIS: tuple[Kpi, ...] = (
    # -- delivery speed
    # Lead time and throughput of new work: not expedite incidents, not failure demand
    # (records.new_work_mask); incidents have their own figures beside them.
    Kpi("lead_time_mean", "Lead time, mean (new work)", "days", False, SPEED,
        card="Lead time", sweep=True, pdca_target=True),
    Kpi("lead_time_p50", "Lead time, median (new work)", "days", False, SPEED),
    Kpi("lead_time_p85", "Lead time, 85th pct (new work)", "days", False, SPEED,
        sweep=True, pdca_target=True),
    Kpi("lead_time_p95", "Lead time, 95th pct (new work)", "days", False, SPEED),
    Kpi("open_age_p50", "Age of open work, median", "days", False, SPEED),
    Kpi("open_age_p85", "Age of open work, 85th pct", "days", False, SPEED),
    Kpi("throughput_per_week", "Throughput, all items", "items/week", True, SPEED),
    Kpi("new_work_per_week", "Throughput, new work", "items/week", True, SPEED,
        card="Throughput", sweep=True, pdca_target=True),
    Kpi("incidents_per_week", "Incidents, all kinds", "items/week",
        None, SPEED),
    Kpi("wip_mean", "Work in progress", "items", False, SPEED),
    Kpi("flow_efficiency", "Flow efficiency", PERCENT, True, SPEED, change="difference"),
    Kpi("arrivals_per_week", "Arrivals", "items/week", None, SPEED),
    Kpi("wip_growth_per_week", "Growth of open work", "items/week", False, SPEED,
        change="difference"),
    # -- DORA
    Kpi("change_lead_time_days", "Lead time for changes (DORA)", "days", False, DORA),
    # releases, not items (mechanisms/releases.py)
    Kpi("deployments_per_week", "Deployments (releases)", "per week", True, DORA),
    Kpi("items_per_deployment", "Items per deployment", "items", None, DORA),
    Kpi("release_wait_days", "Wait for a release", "days", False, DORA),
    Kpi("change_failure_rate", "Change failure rate", PERCENT, False, DORA,
        card="Change failures", sweep=True, pdca_target=True, change="difference"),
    Kpi("time_to_restore_days", "Time to restore", "days", False, DORA),
    # -- customers
    # the headline index mixes its two parts with fixed weights (mechanisms/cx.py)
    Kpi("cx_index", "CX index", "0-100", True, CUSTOMERS,
        card="CX index", sweep=True, pdca_target=True, change="difference"),
    Kpi("cx_new_work", "CX of new work", "0-100", True, CUSTOMERS, change="difference"),
    Kpi("cx_incidents", "CX of incidents", "0-100", True, CUSTOMERS, change="difference"),
    # -- quality and waste
    Kpi("rework_rate", "Items reworked", PERCENT, False, QUALITY, change="difference"),
    Kpi("escaped_defects", "Escaped defects", "items", False, QUALITY),
    Kpi("failure_demand_per_week", "Failure demand (defect incidents)", "items/week",
        False, QUALITY),
    Kpi("rework_effort_share", "Effort on rework", PERCENT, False, QUALITY, card="Rework",
        sweep=True, change="difference"),
    Kpi("misaligned_it_share", "IT effort misaligned", PERCENT, False, QUALITY,
        card="Misaligned IT work", sweep=True, change="difference"),
    Kpi("coordination_share", "Effort on coordination", PERCENT, False, QUALITY,
        change="difference"),
    # -- cost and value
    Kpi("cost_total", "Cost", MONEY, False, COST, card="Cost"),
    Kpi("value_total", "Value delivered", MONEY, True, COST),
    Kpi("roi", "ROI (value / cost)", "x", True, COST, card="ROI", sweep=True),
    # -- organisation
    Kpi("utilisation", "Utilisation", PERCENT, False, ORGANISATION, sweep=True,
        change="difference"),
    Kpi("business_it_handoff_days", "Business-IT handoff", "days", False, ORGANISATION,
        sweep=True),
    Kpi("cross_unit_handoff_days", "Cross-unit handoff", "days", False, ORGANISATION),
    Kpi("team_handoff_days", "In-team handoff", "days", False, ORGANISATION),
    Kpi("brm_utilisation", "BRM utilisation", PERCENT, False, ORGANISATION,
        change="difference"),
    Kpi("cross_unit_ties", "Cross-unit ties", "ties", True, ORGANISATION),
    Kpi("modularity_by_discipline", "Network modularity (silos)", "", False, ORGANISATION,
        change="difference"),
    # -- transition: the path, not only the destination
    Kpi("lead_time_before_change", "Lead time before the first change", "days", False,
        TRANSITION),
    Kpi("lead_time_worst_after_change", "Lead time at its worst after a change", "days",
        False, TRANSITION, card="Worst after a change"),
    Kpi("recovery_days", "Time to recover the old lead time", "days", False, TRANSITION,
        card="Back to the old level"),
    Kpi("lead_time_end", "Lead time at the end", "days", False, TRANSITION,
        card="Lead time at the end"),
    Kpi("productivity_lost_days", "Productivity lost to the dip", "person-days", False,
        TRANSITION, card="Work lost to the dip"),
    Kpi("transition_cost", "Transition cost (spend + lost time)", MONEY, False, TRANSITION,
        card="Transition cost"),
    Kpi("pdca_kept", "PDCA changes kept", "changes", True, TRANSITION),
    # -- in every record, CSV and JSON, not in the tables
    Kpi("delivered", "Items delivered after the warm-up", "items", True),
    Kpi("window_days", "Days measured (after the warm-up)", "days", None),
    Kpi("throughput_per_day", "Throughput, all items", "items/day", True),
    Kpi("lead_time_all_mean", "Lead time, all items (incidents included), mean", "days",
        False),
    Kpi("littles_law_wip", "Work in progress by Little's law", "items", None),
    Kpi("overloaded", "Demand exceeds capacity (1 = yes)", "", False),
    Kpi("wip_growth_ci_low", "Growth of open work, 95% CI low", "items/week", None),
    Kpi("wip_growth_ci_high", "Growth of open work, 95% CI high", "items/week", None),
    Kpi("open_items", "Items open at the end", "items", False),
    Kpi("warmup_suggested_days", "Warm-up the WIP suggests (MSER-5)", "days", None),
    Kpi("tier_lead_time", "DORA tier: lead time for changes", "tier", None, change="none"),
    Kpi("tier_deployment_frequency", "DORA tier: deployment frequency", "tier", None,
        change="none"),
    Kpi("tier_change_failure", "DORA tier: change failure rate", "tier", None,
        change="none"),
    Kpi("tier_time_to_restore", "DORA tier: time to restore", "tier", None, change="none"),
    Kpi("dora_tier", "DORA tier", "tier", None, change="none"),
    Kpi("cx_trend_per_month", "CX trend", "points/month", True, change="difference"),
    Kpi("incidents_from_defects", "Incidents from escaped defects", "items", False),
    Kpi("value_effort_share", "Effort on new value", PERCENT, True, change="difference"),
    Kpi("misaligned_share", "Effort misaligned", PERCENT, False, change="difference"),
    Kpi("team_handoffs", "In-team handoffs", "handoffs", None),
    Kpi("cross_unit_handoffs", "Cross-unit handoffs", "handoffs", None),
    Kpi("business_it_handoffs", "Business-IT handoffs", "handoffs", None),
    Kpi("programme_cost", "Programme cost (besides staff and BRMs)", MONEY, False),
    Kpi("bottleneck", "Bottleneck (busiest unit)", "", None, change="none"),
    Kpi("bottleneck_utilisation", "Bottleneck utilisation", PERCENT, None,
        change="difference"),
    Kpi("brm_mediations", "BRM mediations", "mediations", None),
    Kpi("brm_bypassed", "Business-IT handoffs that bypassed the BRMs", "handoffs", None),
    Kpi("ties", "Social ties", "ties", None),
    Kpi("modularity_by_unit", "Network modularity (units)", "", None, change="difference"),
    Kpi("shared_language_end", "Shared language at the end", "0-1", True,
        change="difference"),
    Kpi("transition_spend", "Transition spend", MONEY, False),
    Kpi("pdca_trials", "PDCA trials", "trials", None),
    Kpi("changes", "Scheduled changes", "changes", None),
    Kpi("dip_lead_time_days", "Deepest lead-time dip", "days", False),
)  # fmt: skip


# --------------------------------------------------------------------------- look-ups
# Every helper reads KPIS when called (never a copy made at import), so a KPI added
# to it shows everywhere.

_index: tuple[tuple[Kpi, ...] | None, dict[str, Kpi]] = (None, {})


def _by_key() -> dict[str, Kpi]:
    global _index
    if _index[0] is not KPIS:  # rebuilt only when KPIS is another tuple
        _index = (KPIS, {k.key: k for k in KPIS})
    return _index[1]


def kpi(key: str) -> Kpi:
    """The catalog entry of ``key``; KeyError for a name that is not a KPI."""
    try:
        return _by_key()[key]
    except KeyError:
        raise KeyError(f"unknown KPI {key!r}") from None


def find_kpi(key: str) -> Kpi | None:
    """The catalog entry of ``key``, None for a column that is not a KPI."""
    return _by_key().get(key)


def label(key: str) -> str:
    """What tables call ``key``; the key itself for a name that is not a KPI."""
    entry = find_kpi(key)
    return entry.label if entry else key


def unit(key: str) -> str:
    """The unit of ``key`` as a unit column says it; '' for a name that is not a KPI."""
    entry = find_kpi(key)
    return entry.unit if entry else ""


def higher_is_better(key: str) -> bool:
    """Whether a higher ``key`` is better; True where the catalog says neither is."""
    entry = find_kpi(key)
    return True if entry is None or entry.higher_is_better is None else entry.higher_is_better


def sections() -> dict[str, list[str]]:
    """The run and compare tables: section -> its KPI keys, both in catalog order."""
    out: dict[str, list[str]] = {}
    for entry in KPIS:
        if entry.section is not None:
            out.setdefault(entry.section, []).append(entry.key)
    return out


def section(name: str) -> list[str]:
    """The KPI keys of one section of the tables, in order."""
    return [k.key for k in KPIS if k.section == name]


def table_kpis(exclude: tuple[str, ...] = ()) -> list[str]:
    """The KPIs of the tables, in order, without those of the sections in ``exclude``."""
    return [k.key for k in KPIS if k.section is not None and k.section not in exclude]


def headline_kpis() -> list[Kpi]:
    """The KPIs with a card on the Compare page, in order."""
    return [k for k in KPIS if k.card is not None and k.section != TRANSITION]


def transition_cards() -> list[Kpi]:
    """The KPIs with a card on the Transition page, in order: the path's cards."""
    return [k for k in KPIS if k.card is not None and k.section == TRANSITION]


def sweep_kpis() -> list[str]:
    """The KPIs a sweep's analysis covers unless told otherwise, in order."""
    return [k.key for k in KPIS if k.sweep]


def pdca_targets() -> tuple[str, ...]:
    """The KPIs a PDCA policy may target, in order."""
    return tuple(k.key for k in KPIS if k.pdca_target)


def percent_kpis() -> frozenset[str]:
    """Shares stored as 0..1 and shown as percentages."""
    return frozenset(k.key for k in KPIS if k.unit == PERCENT)


def money_kpis() -> frozenset[str]:
    """Sums of money (in thousands in a table, 'k')."""
    return frozenset(k.key for k in KPIS if k.unit == MONEY)


def difference_kpis() -> frozenset[str]:
    """KPIs whose change reads as a difference, not a percent change."""
    return frozenset(k.key for k in KPIS if k.change == "difference")
