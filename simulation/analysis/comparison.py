"""Comparing scenarios over replicates: paired differences and a plain-language summary.

Replicate ``i`` of every scenario in a comparison runs with the same seed (common random
numbers, see :mod:`simulation.running.runs`), so a difference between two scenarios is computed
per replicate and then averaged, with a Student-t interval over those paired
differences. That interval is narrower than one built from two independent means
whenever the shared seed makes replicates move together, and it is the right one here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from simulation.analysis.differences import Difference, differences
from simulation.analysis.metrics import mean_ci, mode, summarise
from simulation.catalog import kpis as catalog
from simulation.catalog.levers import LEVERS, MEASUREMENT, STRUCTURE, WAYS
from simulation.inputs.scenario import Scenario

Runs = Sequence[Sequence[dict[str, Any]]]  # runs[scenario][replicate] -> KPI dict


def card_kpis() -> list[str]:
    """The KPIs of a scenario's cards, in order (the catalog's headline KPIs)."""
    return [entry.key for entry in catalog.headline_kpis()]


def values(runs: Sequence[dict[str, Any]], key: str) -> np.ndarray:
    """One KPI across runs as floats; a missing or non-numeric value becomes NaN."""
    return np.array([_num(r.get(key)) for r in runs], dtype=float)


def kpi_mean(runs: Sequence[dict[str, Any]], key: str) -> float:
    """Mean of one KPI over runs, NaNs left out; NaN when no run has a value."""
    v = values(runs, key)
    v = v[~np.isnan(v)]
    return float(v.mean()) if len(v) else math.nan


def paired_change(
    base: Sequence[dict[str, Any]],
    other: Sequence[dict[str, Any]],
    key: str,
    relative: bool = True,
) -> tuple[float, float, float]:
    """Mean and 95% CI of ``other - base`` per replicate (relative: ``other/base - 1``).

    Replicates are paired by position (same seed). Pairs with a missing value, or a zero
    base for a relative change, are left out.
    """
    a, b = values(base, key), values(other, key)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    ok = ~(np.isnan(a) | np.isnan(b))
    if relative:
        ok &= a != 0
        diff = b[ok] / a[ok] - 1.0
    else:
        diff = b[ok] - a[ok]
    return mean_ci(diff)


# --------------------------------------------------------------------------- formatting


def format_kpi(key: str, value: float | None, unit: bool = True) -> str:
    """A KPI value as a person reads it: '17.8 days', '26%', '9.03M', '0.66x'.

    ``unit=False`` is for a table whose unit column says the unit once: no ' days' or
    '/week', and money in thousands ('9,030', unit 'k') rather than '9.03M'. Sums of
    money are the catalog's KPIs in 'k'; a card reads them in millions or thousands.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if key in catalog.percent_kpis():
        return f"{100 * value:.1f}%" if abs(value) < 0.1 else f"{100 * value:.0f}%"
    if key in catalog.money_kpis():
        if not unit:
            return f"{value / 1e3:,.0f}"
        return f"{value / 1e6:.2f}M" if abs(value) >= 1e6 else f"{value / 1e3:,.0f}k"
    if catalog.unit(key) == RATIO:
        return f"{value:.2f}x"
    if catalog.unit(key) == SCORE:
        return f"{value:.0f}"
    suffix = {"days": " days", "items/week": "/week"}.get(catalog.unit(key), "")
    number = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"
    return number + (suffix if unit else "")


NO_CHANGE = "no change"
#: Units format_kpi writes its own way: a ratio ('0.66x'), a score out of 100 ('62').
RATIO = "x"
SCORE = "0-100"


def unit_of(key: str) -> str:
    """The unit a KPI's value leaves unsaid: '0-100' for the CX index; '' where
    :func:`format_kpi` writes it into the value ('17.8 days', '26%', '9.03M', '0.66x')."""
    said = (
        key in catalog.percent_kpis()
        or key in catalog.money_kpis()
        or catalog.unit(key) in (RATIO, *_UNITS_IN_VALUE)
    )
    return "" if said else catalog.unit(key)


_UNITS_IN_VALUE = {"days", "items/week"}


def format_delta(key: str, base: float, value: float) -> str | None:
    """Change against the baseline for a KPI card: points for shares and scores, a
    difference for other KPIs whose change reads so (the catalog's ``change``), else
    percent.

    Changes that round to zero read "no change" rather than a misleading "+0%".
    """
    if any(math.isnan(v) for v in (base, value)):
        return None
    entry = catalog.find_kpi(key)
    if key in catalog.percent_kpis():
        text = f"{100 * (value - base):+.1f} pts"
    elif catalog.unit(key) == SCORE:
        text = f"{value - base:+.0f} pts"
    elif entry is not None and entry.change == "difference":
        text = f"{value - base:+.2f}"
    elif base == 0:
        return None
    else:
        text = f"{100 * (value - base) / abs(base):+.0f}%"
    zero = text.lstrip("+-")
    return NO_CHANGE if zero == "0.00" or zero.startswith(("0 ", "0%", "0.0 ")) else text


def card(
    key: str, base_runs: Sequence[dict[str, Any]] | None, runs: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """What one st.metric card shows: label, value, delta and which way is good."""
    value = kpi_mean(runs, key)
    entry = catalog.find_kpi(key)
    name, good_up = catalog.label(key), catalog.higher_is_better(key)
    sample = values(runs, key)
    _mean, low, high = mean_ci(sample[~np.isnan(sample)])
    ci = "" if math.isnan(low) else f" 95% CI {format_kpi(key, low)} to {format_kpi(key, high)}."
    delta = None
    if base_runs is not None:
        delta = format_delta(key, kpi_mean(base_runs, key), value)
    direction = "higher" if good_up else "lower"
    unsaid = unit_of(key)
    # the unit once: in the value when the value carries it, else beside the label
    title = f"{name} ({unsaid})" if unsaid else name
    return {
        "label": entry.card if entry is not None and entry.card else name,
        "value": format_kpi(key, value),
        "delta": delta,
        # Streamlit colours a falling value red unless told lower is better.
        "delta_color": "off" if delta == NO_CHANGE else "normal" if good_up else "inverse",
        "delta_arrow": "off" if delta == NO_CHANGE else "auto",
        "help": f"{title}, mean over {len(runs)} runs.{ci} {direction.capitalize()} is better.",
    }


# --------------------------------------------------------------------------- summary


def summary_sentences(
    names: Sequence[str], runs: Runs, scenarios: Sequence[Scenario] | None = None
) -> list[str]:
    """Plain-language findings, each scenario against the first.

    With ``scenarios`` (in the order of ``names``) each finding also says whose effect
    the difference is: the structure's only when nothing else differs (issue 10: a gap
    between organisations that also differ in ways of working is not the structure's).
    """
    if not names:
        return []
    base_name, base = names[0], runs[0]
    lines = [_profile(base_name, base, baseline=True)]
    for i, (name, other) in enumerate(zip(names[1:], runs[1:], strict=True), start=1):
        text = _versus(name, other, base_name, base)
        if scenarios is not None:
            text += _attribution(name, base_name, scenarios[i], scenarios[0])
        lines.append(text)
    return lines


def _attribution(name: str, base_name: str, scenario: Scenario, base: Scenario) -> str:
    """Whose effect the difference between two scenarios is, as one or two sentences."""
    # when measurement starts is not a difference in kind (each is measured once loaded)
    found = [d for d in differences([base, scenario]) if d.dimension != MEASUREMENT]
    kinds = list(dict.fromkeys(d.dimension for d in found))
    if not kinds:
        return ""
    if kinds == [STRUCTURE]:
        return " Only the structure differs, so this is the structure's effect."
    ways = _ways_phrase([d for d in found if d.dimension == WAYS])
    named = [f"{kind} ({ways})" if kind == WAYS and ways else kind for kind in kinds]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    if STRUCTURE not in kinds:
        return f" The structure is the same; only the {listed} differ, so this is their effect."
    advice = (
        " Compare them at the same ways of working to separate the two (the ready-made "
        "mature scenarios, or the same ways of working for all)."
        if WAYS in kinds
        else " Hold the rest equal to see the structure's own effect."
    )
    return (
        f" {name} and {base_name} differ in {listed}: this is their combined effect, not the "
        f"structure's alone.{advice}"
    )


def _ways_phrase(found: Sequence[Difference]) -> str:
    """'shared language 0.2 vs 0.5, transparency 0.2 vs 0.6' (base first)."""
    labels = {entry.path: entry.label.lower() for entry in LEVERS}
    return ", ".join(
        f"{labels.get(d.field, d.field)} {d.values[0]} vs {d.values[1]}" for d in found
    )


def _profile(name: str, runs: Sequence[dict[str, Any]], baseline: bool = False) -> str:
    tier = mode([str(r.get("dora_tier", "n/a")) for r in runs])
    lead = format_kpi("lead_time_mean", kpi_mean(runs, "lead_time_mean"))
    text = (
        f"**{name}**{' (baseline)' if baseline else ''}: items take {lead} on average "
        f"from request to delivery; DORA tier **{tier}**"
    )
    bottleneck = mode([str(r["bottleneck"]) for r in runs if r.get("bottleneck")])
    if bottleneck != "n/a":
        busy = np.nanmean(
            [
                _num(r.get("bottleneck_utilisation"))
                for r in runs
                if r.get("bottleneck") == bottleneck
            ]
        )
        text += f"; the busiest unit is **{bottleneck}** ({100 * busy:.0f}% busy)"
    return text + "."


def _versus(
    name: str, other: Sequence[dict[str, Any]], base_name: str, base: Sequence[dict[str, Any]]
) -> str:
    n = min(len(base), len(other))
    mean, low, high = paired_change(base, other, "lead_time_mean")
    if math.isnan(mean):
        speed = f"**{name}** has no lead time to compare with {base_name}"
    elif _clear(low, high) or n < 2:
        word = "faster" if mean < 0 else "slower"
        ci = "" if math.isnan(low) else f" (95% CI {_pct_range(low, high)})"
        speed = f"**{name}** delivers items **{abs(100 * mean):.0f}% {word}**{ci} than {base_name}"
    else:
        speed = (
            f"**{name}** delivers at about the same speed as {base_name} "
            f"(lead time {100 * mean:+.0f}%, 95% CI {100 * low:+.0f}% to {100 * high:+.0f}%)"
        )
    cost_change = paired_change(base, other, "cost_total")[0]
    if math.isnan(cost_change) or abs(cost_change) < 0.005:
        cost = "at the same cost"
    else:
        cost = f"at {abs(100 * cost_change):.0f}% {'higher' if cost_change > 0 else 'lower'} cost"
    text = f"{speed}, {cost}."
    cx_mean, cx_low, cx_high = paired_change(base, other, "cx_index", relative=False)
    if not math.isnan(cx_mean):
        ci = "" if math.isnan(cx_low) else f", 95% CI {cx_low:+.0f} to {cx_high:+.0f}"
        text += (
            f" Customer experience scores {kpi_mean(other, 'cx_index'):.0f} against "
            f"{kpi_mean(base, 'cx_index'):.0f} ({cx_mean:+.0f} points{ci})."
        )
    cfr_o, cfr_b = kpi_mean(other, "change_failure_rate"), kpi_mean(base, "change_failure_rate")
    if not any(math.isnan(v) for v in (cfr_o, cfr_b)):
        text += (
            f" {format_kpi('change_failure_rate', cfr_o)} of changes fail against "
            f"{format_kpi('change_failure_rate', cfr_b)}"
        )
        roi_o, roi_b = kpi_mean(other, "roi"), kpi_mean(base, "roi")
        if not any(math.isnan(v) for v in (roi_o, roi_b)):
            text += f", and each unit spent returns {roi_o:.2f} in value against {roi_b:.2f}"
        text += "."
    tier_o = mode([str(r.get("dora_tier", "n/a")) for r in other])
    text += f" DORA tier **{tier_o}**."
    return text


def _clear(low: float, high: float) -> bool:
    """True when a 95% CI excludes zero."""
    return not math.isnan(low) and (low > 0 or high < 0)


def _pct_range(low: float, high: float) -> str:
    """A CI that excludes zero, as magnitudes, smallest first: '31–45%'."""
    a, b = sorted((abs(100 * low), abs(100 * high)))
    return f"{a:.0f}–{b:.0f}%"


# --------------------------------------------------------------------------- tables


def runs_frame(names: Sequence[str], runs: Runs) -> pd.DataFrame:
    """One row per run: scenario, replicate and every KPI (the CSV a user downloads)."""
    frames = [
        pd.DataFrame(list(rs)).assign(scenario=name, replicate=range(len(rs)))
        for name, rs in zip(names, runs, strict=True)
    ]
    frame = pd.concat(frames, ignore_index=True)
    first = ["scenario", "replicate", "seed"]
    return frame[first + [c for c in frame.columns if c not in first]]


def summary_frame(names: Sequence[str], runs: Runs) -> pd.DataFrame:
    """Mean and 95% CI of every numeric KPI per scenario (long format)."""
    return pd.concat(
        {name: summarise(list(rs)) for name, rs in zip(names, runs, strict=True)},
        names=["scenario"],
    ).reset_index()


def headline_table(names: Sequence[str], runs: Runs, exclude: tuple[str, ...] = ()) -> pd.DataFrame:
    """The KPIs of the tables as rows (the catalog's, but those of the sections in
    ``exclude``), one 'mean (low-high)' column per scenario."""
    rows = []
    for key in catalog.table_kpis(exclude):
        row: dict[str, Any] = {"KPI": catalog.label(key), "unit": catalog.unit(key)}
        for name, rs in zip(names, runs, strict=True):
            v = values(rs, key)
            mean, low, high = mean_ci(v[~np.isnan(v)])
            cell = format_kpi(key, mean, unit=False)
            if not math.isnan(low):
                cell += f" ({format_kpi(key, low, unit=False)}–{format_kpi(key, high, unit=False)})"
            row[name] = cell
        rows.append(row)
    return pd.DataFrame(rows)


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
