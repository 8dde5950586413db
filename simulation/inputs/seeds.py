"""Seeds and reproducibility: replicate ``r`` of base seed ``s`` runs with seed ``s + r``.

One scheme everywhere: ``compare`` (command line and app, on every page), sweeps (the
experiment's ``seed`` is the base of every point) and whatever runs replicates next.
A run is named by one integer seed, written beside its results (``runs.csv``,
``results.parquet``, the app's tables), so ``python -m simulation run SCENARIO --seed N``
reproduces any of them alone, on any machine, whatever executor or worker count first
ran it: executors carry seeds, they never choose them.

Every scenario of a comparison, and every point of a sweep, gets the same seeds replicate
by replicate (common random numbers), so differences between them are the scenarios',
not the luck of the draw. Neighbouring seeds are independent streams all the same:
numpy's SeedSequence hashes the integer into the generator's state. Two sets of
replicates whose seeds overlap (base 1 and base 2) share those runs, exactly: a run is
its seed.
"""

from __future__ import annotations

from simulation.limits import MAX_SEED

#: The scheme's name, recorded in a sweep's manifest: resuming a sweep begun under
#: another scheme would mix seeds, so it is refused.
SEED_SCHEME = "base seed + replicate"


def replicate_seed(base_seed: int, replicate: int) -> int:
    """The seed of replicate ``replicate`` (0 for the first) of ``base_seed``."""
    if base_seed < 0 or replicate < 0:
        raise ValueError(f"seeds and replicates count from 0 (got {base_seed}, {replicate})")
    seed = base_seed + replicate
    if seed > MAX_SEED:
        raise ValueError(f"seed {base_seed} + replicate {replicate} exceeds {MAX_SEED}")
    return seed
