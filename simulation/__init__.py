"""Converge: an agent-based model of how organisation design shapes delivery.

from simulation import OrgModel, Scenario, run_scenario
result = run_scenario("scenarios/converged.yaml", seed=3)
result.kpis["lead_time_p85"]

The names below are imported on first use, so that a light command (``validate``,
``schema``) or a worker process does not pay for Mesa, pandas and SciPy it never uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from simulation.version import __version__, version_info

_EXPORTS = {
    "OrgModel": "simulation.model.org_model",
    "RunResult": "simulation.running.runs",
    "run_replicates": "simulation.running.runs",
    "run_scenario": "simulation.running.runs",
    "Scenario": "simulation.inputs.scenario",
    "ScenarioError": "simulation.errors",
    "load_scenario": "simulation.inputs.scenario",
}

__all__ = [
    "OrgModel",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "run_replicates",
    "run_scenario",
    "version_info",
]

if TYPE_CHECKING:
    from simulation.errors import ScenarioError
    from simulation.inputs.scenario import Scenario, load_scenario
    from simulation.model.org_model import OrgModel
    from simulation.running.runs import RunResult, run_replicates, run_scenario


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'simulation' has no attribute {name!r}")
