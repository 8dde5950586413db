"""Job functions that import the model when first called, not when imported.

A process pool sends a job function by name; the process that submits it must hold
the function, so it imports the function's module. ``simulation.running.runs`` brings
the model with it (Mesa, pandas, SciPy: seconds on a busy two-core machine). The app's
server submits its first visitor's runs through :func:`run_digest_job` while those
still load in its warm-up thread (app.warm_server), instead of waiting for them: its
workers have the model already (their forkserver preloads it), and this module imports
nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulation.analysis.digest import RunDigest


def run_digest_job(job: tuple[str, int]) -> RunDigest:
    """:func:`simulation.running.runs.run_digest` of ``job`` (scenario YAML, seed),
    imported on the first call (then a dictionary lookup)."""
    from simulation.running.runs import run_digest

    return run_digest(job)
