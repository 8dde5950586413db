"""A golden snapshot of what the model computes, to keep byte-identical across a
refactor or a speed-up.

Runs every ready-made scenario with two seeds (``large_enterprise.yaml`` for 120 days),
variants that switch on what no ready-made scenario does (rotation, turnover,
cross-skilling, release cadences, handoffs and network off), and the pure-flow chain of
``benchmarks/flow_vs_simpy.py`` at 1 and 20 items a day. For each run it writes every
KPI (``repr``: every bit of every float), a hash of every records table (items, event
log, daily series, per-unit days, units) and every other field of the records.

    .venv/bin/python scripts/golden_kpis.py --write /tmp/golden.json   # before the change
    .venv/bin/python scripts/golden_kpis.py --check /tmp/golden.json   # after: exit 1 if not

Not a test: the figures depend on the installed numpy and pandas (their random streams
and last bits may change between releases), so a snapshot is compared on one machine,
before and after a change. A commit that changes it on purpose says why.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from flow_vs_simpy import converge_scenario  # noqa: E402

from simulation.analysis.metrics import compute_kpis  # noqa: E402
from simulation.model.org_model import OrgModel  # noqa: E402
from simulation.model.records import RunRecords  # noqa: E402

SEEDS = (1, 7)
#: Variants of ready-made scenarios: the paths no ready-made scenario takes.
VARIANTS = {
    "aligned, rotation + turnover + cross-skilling": (
        "aligned",
        {
            "levers__rotation_share": 0.3,
            "levers__cross_skill": 0.5,
            "mechanisms__turnover__annual_rate": 0.6,
        },
    ),
    "converged, cross-skilling + release cadences": (
        "converged",
        {
            "levers__cross_skill": 0.5,
            "mechanisms__releases__department_interval_days": 10.0,
            "mechanisms__releases__team_interval_days": 3.0,
        },
    ),
    "transition_stepwise, cross-skilling + rotation": (
        "transition_stepwise",
        {"levers__cross_skill": 0.5, "levers__rotation_share": 0.2},
    ),
    "siloed, handoff latency and network off": (
        "siloed",
        {"mechanisms__handoff__enabled": False, "mechanisms__network__enabled": False},
    ),
}
#: The chain at these rates (items a day) for these many days.
CHAINS = ((1.0, 3000), (20.0, 300))


def table_hash(table: pd.DataFrame) -> str:
    """A hash of a table's values, column by column (index left out)."""
    if table.empty:
        return "empty"
    hashed = pd.util.hash_pandas_object(table.reset_index(drop=True), index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()[:16]


def snapshot(records: RunRecords) -> dict[str, object]:
    """Every KPI and a hash of every table of one run's records."""
    return {
        "kpis": {name: repr(value) for name, value in sorted(compute_kpis(records).items())},
        "items": table_hash(records.items),
        "events": table_hash(records.events),
        "daily": table_hash(records.daily),
        "unit_daily": table_hash(records.unit_daily),
        "units": table_hash(records.units),
        "changes": table_hash(records.changes),
        "decisions": table_hash(records.decisions),
        "it_effort": repr(sorted(records.it_effort.items())),
        "network": repr(sorted(records.network.items())),
        "extra": repr(sorted(records.extra.items())),
        "arrivals_in_window": repr(records.arrivals_in_window),
        "misunderstandings_found": repr(records.misunderstandings_found),
        "effort": repr(sorted(records.effort.items())),
        "handoffs": repr(sorted(records.handoffs.items())),
        "costs": repr(sorted(records.costs.items())),
        "brm": repr(sorted(records.brm.items())),
        "wip_mean": repr(records.wip_mean),
    }


def golden() -> dict[str, object]:
    """The snapshot of every run, by name."""
    runs: dict[str, object] = {}
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        days = 120 if path.stem == "large_enterprise" else None
        for seed in SEEDS:
            model = OrgModel(path, rng=seed, days=days)
            model.run_model()
            runs[f"{path.stem}/{seed}"] = snapshot(model.records())
    for name, (scenario, overrides) in VARIANTS.items():
        for seed in SEEDS:
            model = OrgModel(ROOT / "scenarios" / f"{scenario}.yaml", rng=seed, **overrides)
            model.run_model()
            runs[f"{name}/{seed}"] = snapshot(model.records())
    for rate, days in CHAINS:
        model = OrgModel(converge_scenario(days, rate=rate))
        model.run_model()
        runs[f"chain/{rate:g} a day"] = snapshot(model.records())
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, help="write the snapshot to this file")
    mode.add_argument("--check", type=Path, help="compare with the snapshot in this file")
    args = parser.parse_args()
    text = json.dumps(golden(), indent=1, sort_keys=True) + "\n"
    if args.write:
        args.write.write_text(text, encoding="utf-8")
        print(f"wrote {args.write}")
        return 0
    recorded = json.loads(args.check.read_text(encoding="utf-8"))
    now = json.loads(text)
    differ = [
        name for name in sorted(recorded.keys() | now.keys()) if recorded.get(name) != now.get(name)
    ]
    if not differ:
        print(f"identical to {args.check}: {len(now)} runs")
        return 0
    for name in differ:
        before, after = recorded.get(name) or {}, now.get(name) or {}
        fields = [k for k in sorted(before.keys() | after.keys()) if before.get(k) != after.get(k)]
        if "kpis" in fields:  # name the KPIs
            kpis_before, kpis_after = before.get("kpis", {}), after.get("kpis", {})
            fields.remove("kpis")
            fields += [
                f"kpi {k}"
                for k in sorted(kpis_before.keys() | kpis_after.keys())
                if kpis_before.get(k) != kpis_after.get(k)
            ]
        print(f"{name}: differs in {', '.join(fields[:8])}{' ...' if len(fields) > 8 else ''}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
