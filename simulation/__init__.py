"""Converge: an agent-based model of how organisation design shapes delivery.

from simulation import OrgModel, Scenario, run_scenario
result = run_scenario("scenarios/converged.yaml", seed=3)
result.kpis["lead_time_p85"]
"""

from simulation.model import OrgModel
from simulation.runs import RunResult, run_replicates, run_scenario
from simulation.scenario import Scenario, ScenarioError, load_scenario

__all__ = [
    "OrgModel",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "run_replicates",
    "run_scenario",
]
