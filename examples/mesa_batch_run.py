"""OrgModel under Mesa's own batch runner.

    .venv/bin/python examples/mesa_batch_run.py

OrgModel takes a scenario plus flat keyword overrides (dotted paths written with
``__``, or a leaf name unique in the schema) and ``rng``, so ``mesa.batch_run`` can sweep
any scenario field. Each row of the result is one day of one run (Mesa collects the
daily series); the KPI record of a run comes from ``simulation.analysis.metrics.compute_kpis``.
For sweeps with confidence intervals, resumable output and Dask, use
``python -m simulation sweep`` instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mesa
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulation import OrgModel  # noqa: E402


def main() -> pd.DataFrame:
    results = mesa.batch_run(
        OrgModel,
        parameters={
            "scenario": str(ROOT / "scenarios" / "aligned.yaml"),
            "days": 60,
            "brms__count": [0, 1, 3, 5],
        },
        rng=[1, 2],
        number_processes=1,
        data_collection_period=1,
        display_progress=False,
    )
    frame = pd.DataFrame(results)
    last_day = frame[frame["Step"] == frame["Step"].max()]
    summary = last_day.groupby("brms__count")[["wip", "cx_index", "delivered"]].mean()
    print("Day 60 of the aligned scenario, mean of 2 seeds, by number of BRMs:\n")
    print(summary.round(1).to_string())
    return summary


if __name__ == "__main__":
    main()
