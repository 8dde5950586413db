"""Global sensitivity analysis: Morris screening and Sobol indices, on any model.

Which of the unknowns decides an answer? Each factor is a number with a plausible range
(:class:`Factor`; for the model, the catalog's ``low``/``high``). A design
(:func:`design`) lists the points to evaluate; the analysis (:func:`analyse`) turns one
output per point into a table per factor. The functions take arrays, not runs, so the
same code analyses the model's runs (``python -m simulation sensitivity``) and a Python
function such as :func:`ishigami` (the tests check the published indices).

Methods:

- ``morris``: elementary effects along ``trajectories`` one-at-a-time paths on a grid of
  ``levels`` (Morris 1991; mu* of Campolongo, Cariboni & Saltelli 2007). ``mu_star`` is
  the mean absolute change of the output per full range of the factor (a factor that
  does nothing has 0), ``sigma`` the spread of those changes (interactions or
  non-linearity), ``mu_star_conf`` half the 95% bootstrap interval of ``mu_star`` over
  the trajectories. Cost: ``trajectories x (k + 1)`` points for ``k`` factors; a
  screening, cheap enough to run first.
- ``sobol``: first-order (``S1``: the share of the output's variance the factor
  explains alone) and total (``ST``: with all its interactions) indices from a Saltelli
  design of ``samples`` base samples, ``samples x (k + 2)`` points (Saltelli et al.
  2010; Jansen's estimator for ``ST``), each with half its 95% bootstrap interval
  (``S1_conf``, ``ST_conf``). Quantitative, and many times the cost of Morris.

The library is SALib (Herman & Usher 2017, JOSS; Iwanaga, Usher & Herman 2022), the
maintained standard for both methods (sampling, analysis and bootstrap intervals in
one place, used by the EMA workbench and most of the literature). scipy, which Converge
needs anyway, has ``scipy.stats.sobol_indices`` (S1 and ST with bootstrap intervals) but
no Morris, which would then be ours to write and keep right. SALib adds about 75 MB of
installed dependencies (matplotlib and fonttools for its own plots, multiprocess and dill
for its parallel mode), none of which is imported here: importing its samplers and
analysers costs a few tens of milliseconds on top of scipy and pandas, and this module
imports it only when a design or an analysis is made.

Every ``*_conf`` is SALib's: 1.96 times the standard deviation of the estimate over
1,000 bootstrap resamples (of the trajectories, or of the base samples), the half-width
of a normal-approximation 95% interval. It covers the sampling of the design; replicate
noise in the outputs is in it too, and is measured on its own by :func:`noise_share`.

Integer factors (a count of people or ties) are run at the nearest whole number; the
analysis uses the design's unrounded values, so a Morris step of an integer factor is
measured per the step the design asked for (a small bias, at most half a unit).

Pure math: no runs, no files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simulation.errors import ScenarioError

#: The methods, in the order a study uses them: screen first, then quantify.
METHODS = ("morris", "sobol")

#: The bootstrap resamples behind every interval, and its level.
RESAMPLES = 1000
CONFIDENCE = 0.95

#: Smallest budgets that give the method's intervals at all (reasons in check_budget).
MIN_TRAJECTORIES = 4
MIN_LEVELS = 4
MIN_SAMPLES = 8
MIN_FACTORS = 2


@dataclass(frozen=True)
class Factor:
    """One uncertain input and its plausible range.

    Args:
        path: Where it goes (a scenario's dotted path, or any name for a function).
        low: Low end of the range.
        high: High end of the range (more than ``low``).
        integer: Run at the nearest whole number.
    """

    path: str
    low: float
    high: float
    integer: bool = False

    def value(self, x: float) -> float | int:
        """The value run for the design's ``x`` (rounded for an integer factor)."""
        if self.integer:
            return round(float(x))
        return float(x)


def check_method(method: str) -> None:
    """A :class:`ScenarioError` naming ``--method`` unless ``method`` is one of :data:`METHODS`."""
    if method not in METHODS:
        raise ScenarioError("--method", f"{method!r} is not one of {', '.join(METHODS)}")


def check_budget(
    method: str, factors: int, *, trajectories: int = 10, levels: int = 4, samples: int = 64
) -> None:
    """A :class:`ScenarioError` naming the option when the budget cannot give the
    method's estimates with intervals."""
    check_method(method)
    if factors < MIN_FACTORS:
        raise ScenarioError(
            "--parameters",
            f"{factors} parameter(s): a sensitivity analysis needs at least {MIN_FACTORS} to rank",
        )
    if method == "morris":
        if trajectories < MIN_TRAJECTORIES:
            raise ScenarioError(
                "--trajectories",
                f"{trajectories} is too few: sigma and the bootstrap interval of mu* need "
                f"at least {MIN_TRAJECTORIES} elementary effects per parameter",
            )
        if levels < MIN_LEVELS or levels % 2:
            raise ScenarioError(
                "--levels",
                f"{levels}: Morris needs an even number of grid levels, at least {MIN_LEVELS}",
            )
    elif samples < MIN_SAMPLES or samples & (samples - 1):
        raise ScenarioError(
            "--samples",
            f"{samples}: Sobol needs a power of two of base samples, at least {MIN_SAMPLES} "
            "(the Sobol' sequence is balanced only at powers of two)",
        )


def design_size(method: str, factors: int, *, trajectories: int = 10, samples: int = 64) -> int:
    """Points a design of ``factors`` factors has: ``trajectories x (k + 1)`` for Morris,
    ``samples x (k + 2)`` for Sobol."""
    check_method(method)
    if method == "morris":
        return trajectories * (factors + 1)
    return samples * (factors + 2)


def _problem(factors: Sequence[Factor]) -> dict[str, Any]:
    """SALib's description of the factors."""
    return {
        "num_vars": len(factors),
        "names": [f.path for f in factors],
        "bounds": [[f.low, f.high] for f in factors],
    }


def design(
    method: str,
    factors: Sequence[Factor],
    *,
    trajectories: int = 10,
    levels: int = 4,
    samples: int = 64,
    seed: int = 2026,
) -> np.ndarray:
    """The points to evaluate, one row per point and one column per factor, in the
    factors' units (unrounded; :meth:`Factor.value` gives what to run). The same
    arguments give the same design."""
    check_budget(method, len(factors), trajectories=trajectories, levels=levels, samples=samples)
    problem = _problem(factors)
    if method == "morris":
        from SALib.sample import morris as morris_sample

        return morris_sample.sample(problem, trajectories, num_levels=levels, seed=seed)
    from SALib.sample import sobol as sobol_sample

    return sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed)


def analyse(
    method: str,
    factors: Sequence[Factor],
    x: np.ndarray,
    y: np.ndarray,
    *,
    levels: int = 4,
    seed: int = 2026,
) -> pd.DataFrame:
    """The method's indices for output ``y`` (one value per row of the design ``x``):
    one row per factor, in the factors' order, with half-widths of 95% bootstrap
    intervals (``*_conf``) and ``rank`` (1: most influential, by mu* or ST).

    An output that does not vary gives zeros: no factor changes it. A missing output
    (NaN) is a :class:`ScenarioError`: the indices need every point.
    """
    check_method(method)
    y = np.asarray(y, dtype=float)
    if len(y) != len(x):
        raise ScenarioError("", f"{len(y)} outputs for a design of {len(x)} points")
    if not np.isfinite(y).all():
        missing = int((~np.isfinite(y)).sum())
        raise ScenarioError("", f"{missing} of {len(y)} points have no value")
    table = _morris(factors, x, y, levels, seed) if method == "morris" else _sobol(factors, y, seed)
    table.insert(0, "parameter", [f.path for f in factors])
    key = "mu_star" if method == "morris" else "ST"
    table["rank"] = table[key].rank(ascending=False, method="min").astype(int)
    return table


def _constant(y: np.ndarray) -> bool:
    return bool(np.ptp(y) <= 1e-12 * max(1.0, float(np.abs(y).max())))


def _morris(
    factors: Sequence[Factor], x: np.ndarray, y: np.ndarray, levels: int, seed: int
) -> pd.DataFrame:
    columns = ["mu", "mu_star", "mu_star_conf", "sigma"]
    if _constant(y):
        return pd.DataFrame(0.0, index=range(len(factors)), columns=columns)
    from SALib.analyze import morris as morris_analyze

    # Rounding leaves effects of 1e-15 where a factor does nothing: call them 0.
    tiny = 1e-9 * float(np.ptp(y))
    found = morris_analyze.analyze(
        _problem(factors),
        x,
        y,
        num_resamples=RESAMPLES,
        conf_level=CONFIDENCE,
        num_levels=levels,
        seed=seed,
    )
    table = pd.DataFrame({c: np.asarray(found[c], dtype=float) for c in columns})
    return table.mask(table.abs() < tiny, 0.0)


def _sobol(factors: Sequence[Factor], y: np.ndarray, seed: int) -> pd.DataFrame:
    columns = ["S1", "S1_conf", "ST", "ST_conf"]
    if _constant(y):
        return pd.DataFrame(0.0, index=range(len(factors)), columns=columns)
    from SALib.analyze import sobol as sobol_analyze

    found = sobol_analyze.analyze(
        _problem(factors),
        y,
        calc_second_order=False,
        num_resamples=RESAMPLES,
        conf_level=CONFIDENCE,
        seed=seed,
    )
    return pd.DataFrame({c: np.asarray(found[c], dtype=float) for c in columns})


def evaluate(function: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """``function`` of each row of the design ``x``: the output a function model gives."""
    return np.array([function(row) for row in x], dtype=float)


def ishigami(row: np.ndarray, a: float = 7.0, b: float = 0.1) -> float:
    """The Ishigami function (Ishigami & Homma 1990) of ``x1, x2, x3`` on [-pi, pi]: the
    standard test of a sensitivity method, with known indices (for a=7, b=0.1: S1 =
    0.314, 0.442, 0; ST = 0.558, 0.442, 0.244)."""
    x1, x2, x3 = row[:3]
    return float(np.sin(x1) + a * np.sin(x2) ** 2 + b * x3**4 * np.sin(x1))


def noise_share(values: np.ndarray) -> float | None:
    """Share of the variance of the per-point means that is replicate noise, from an
    array of points x replicates: the mean within-point variance over the replicates,
    divided by the replicates, over the variance of the means. None with one replicate
    (then it cannot be measured) or a constant output."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[1] < 2:
        return None
    means = values.mean(axis=1)
    spread = float(np.var(means, ddof=1))
    if spread <= 0:
        return None
    within = float(np.mean(np.var(values, axis=1, ddof=1))) / values.shape[1]
    return within / spread
