"""Shared fixtures: paths, and small scenarios that run in a fraction of a second."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.scenario import Scenario, with_overrides

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def scenario_dir() -> Path:
    return SCENARIOS


def ready_made(name: str) -> Scenario:
    return Scenario.from_file(SCENARIOS / f"{name}.yaml")


def short(scenario: Scenario, days: int = 120, **overrides) -> Scenario:
    """The scenario over a shorter horizon, with dotted-path overrides."""
    return with_overrides(
        scenario, {"horizon_days": days, "warmup_days": min(20, days // 5), **overrides}
    )


READY_MADE_NAMES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
