"""Warm a forkserver before it forks workers: importing this module runs three short
simulations, one per ready-made structure.

The app's worker pool (ui.runner.WORKER_PRELOAD) names this module as what its
forkserver imports before forking the workers. A fresh process's first run costs more
than its next ones: modules imported on first use (pyarrow's pandas bridge, ...),
caches filled on first call. Measured on the shared two-core machine, a worker's first
250-day run of ``aligned`` took 0.25-0.33 s of CPU against 0.15-0.21 s for the next
ones; after :func:`warm_up` the first costs what the next ones do. Paid once in the
forkserver (about 0.1 s), every worker forked from it inherits the warm state: the
first comparison after the server starts no longer pays it once per worker.

Results do not depend on it: a run's numbers come from its scenario and seed only.
Switched off by leaving this module out of the preload. A warm-up that fails is
skipped (logged): the workers then start cold, as without it.
"""

from __future__ import annotations

import logging
import os

from simulation.inputs.scenario import Scenario, with_overrides
from simulation.running import runs  # noqa: F401  the model, imported before the fork
from simulation.running.lazy_jobs import run_digest_job

#: One short run of each: the structures of the ready-made organisations, whose code
#: paths (units, teams, mediation) differ.
WARM_STRUCTURES = ("siloed", "aligned", "converged")
#: Days of each warm-up run: enough to deliver items after its warm-up, so that the
#: KPIs and digest are computed on real rows (a few tens of milliseconds each).
WARM_DAYS = 30
WARM_WARMUP_DAYS = 5


def warm_up() -> None:
    """Run one short simulation of each of :data:`WARM_STRUCTURES`, through the very
    job function the app sends to its workers (YAML text in, digest out)."""
    for structure in WARM_STRUCTURES:
        short = with_overrides(
            Scenario.model_validate({"structure": structure}),
            {"horizon_days": WARM_DAYS, "warmup_days": WARM_WARMUP_DAYS},
        )
        run_digest_job((short.to_yaml(), 1))


def warmed_before_fork(_: object = None) -> bool:
    """Whether this process inherited the warm-up (it ran in the process it was forked
    from, the forkserver) rather than running it on importing this module itself. Takes
    and ignores one argument, so it can be sent to a pool as a job."""
    return WARMED_IN is not None and os.getpid() != WARMED_IN


#: The process that ran the warm-up (None if it failed).
WARMED_IN: int | None = None
try:
    warm_up()
    WARMED_IN = os.getpid()
except Exception:  # a cold worker is slower, never wrong: start the pool anyway
    logging.getLogger(__name__).exception("Warming the worker processes failed")
