"""Permutation p-values, and the statistics that aggregate a collection of kernels.

Everything here works on the ``(L, 1 + P)`` matrix of the members' statistics
(column 0 the observed labelling, the others the permutations) and returns
rows of the same shape: each aggregated statistic is a function of one column
and of quantities symmetric in the columns (the members' normalisations), so
the columns stay exchangeable under H0 and the rank of column 0 is an exact
p-value, whatever the members' dependence.

Statistics, larger meaning more evidence against H0:

* min-p (MMDAgg, Schrab et al., JMLR 2023, corrected by the single-set
  Westfall–Young procedure): ``−min_k p_k``, the members' permutation p-values;
* MMD-FUSE (Biggs, Schrab & Gretton, NeurIPS 2023):
  ``log((1/L) Σ_k exp(λ · MMD²_u,k / N̂_k))`` with ``λ = √(ñ(ñ−1))`` and
  ``N̂_k = √(Σ_{i≠j} k(z_i, z_j)²) / (ñ(ñ−1))``, ``ñ = min(n, m)``;
* the standardised fuse: ``(1/s) log Σ_k exp(s · (T_k − mean_k)/std_k)``, the
  members standardised by their permutation mean and standard deviation
  (over all ``1 + P`` columns) and combined by a soft maximum of sharpness
  :data:`STANDARDISED_SHARPNESS`. The norm ``N̂_k`` of the fused statistic
  favours narrow kernels (a wide kernel's matrix is nearly constant, its norm
  large); standardising puts wide kernels, which detect mean shifts, on an
  equal footing.

Ties: values within ``TIE_EPS · eps · (|reference| + magnitude)`` of the
reference count as reaching it, ``magnitude`` being the size of each row's
rounding (see :func:`mmd_any.two_sample._rounding_scale`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ._typing import Array

#: Exponents ``k`` of the default min-p collection ``median · 2^k``.
AGGREGATE_EXPONENTS = tuple(range(-4, 5))


@dataclass(frozen=True)
class Method:
    """One aggregated test of ``mmd_test(aggregate=NAME)`` (the CLI's ``--aggregate NAME``)."""

    #: The name ``aggregate=`` takes.
    name: str
    #: What the default collection is and what is combined (``--help``, the docs).
    description: str
    #: One line for a report, whatever the collection.
    summary: str
    #: What the test's ``combined_statistic`` is (reports and plots).
    statistic_kind: str
    #: Built on the unbiased estimator only (MMD-FUSE normalises U-statistics).
    unbiased_only: bool = False


#: The aggregated tests, in the library's order: the one list of them.
METHODS: dict[str, Method] = {
    method.name: method
    for method in (
        Method(
            "minp",
            "min-p over the Gaussian bandwidths median·2^k, "
            f"k = {AGGREGATE_EXPONENTS[0]}..{AGGREGATE_EXPONENTS[-1]} (MMDAgg-style, "
            "level-corrected)",
            "min-p over the members, level-corrected (MMDAgg-style)",
            "smallest member p-value",
        ),
        Method(
            "fuse",
            "MMD-FUSE: the fused (log-mean-exp) normalised unbiased MMD² over Gaussian and "
            "Laplacian kernels, 10 linearly spaced quantile bandwidths each",
            "MMD-FUSE, log-mean-exp of the members' normalised MMD²",
            "fused statistic",
            unbiased_only=True,
        ),
        Method(
            "combined",
            "min-p over the fused, min-p and standardised fused statistics, Gaussian "
            "and Laplacian kernels, 10 geometrically spaced bandwidths each (the "
            "recommended test)",
            "min-p over fuse, min-p and standardised fuse (recommended)",
            "smallest component p-value",
            unbiased_only=True,
        ),
    )
}

#: The names of :data:`METHODS`.
AGGREGATIONS = tuple(METHODS)

#: What ``aggregate=True`` runs: the library's recommended aggregated test.
RECOMMENDED = "combined"

#: The three statistics the combined test takes the min-p of, in order.
COMPONENTS = ("fuse", "minp", "standardised fuse")


#: Statistics within this many eps of the observed one (relative to it plus the
#: kernel's magnitude) are ties.
TIE_EPS = 64

#: Sharpness of the standardised fuse's soft maximum over z-scores: 4 is near
#: the maximum (a member 1 standard deviation above the others weighs e⁴ more)
#: while still adding up several members of similar evidence.
STANDARDISED_SHARPNESS = 4.0


def exceedances(xp: Any, stats: Array, reference: Array, eps: float, magnitude: Array) -> Array:
    """``#{i : stats[l, i] ≥ reference[l, j] − tol}`` for every l, j.

    ``tol = TIE_EPS · eps · (|reference| + magnitude[l])``: values equal up to
    the rounding of the dtype the kernel was computed in count as ties. The
    magnitude is the kernel's, not the statistic's: identical samples give
    statistics of pure rounding noise (1e-31 against entries of 1), which are
    all ties, so that their p-value is 1.
    """
    scale = xp.abs(reference) + magnitude[:, None]
    threshold = reference - (TIE_EPS * eps) * scale
    return xp.sum(xp.astype(stats[:, :, None] >= threshold[:, None, :], stats.dtype), axis=1)


def rank_counts(xp: Any, stats: Array, eps: float, magnitude: Array, chunk: int = 256) -> Array:
    """``#{i : T_i ≥ T_j}`` for every row and column, shape (L, 1 + P): the numerators
    of the columns' p-values, exact integers (read these, not the p-values: a float32
    quotient, or one a compiler turned into a product by the reciprocal, is not
    ``k/(1 + P)`` exactly)."""
    rows = stats.shape[1]
    parts = [
        exceedances(xp, stats, stats[:, start : min(rows, start + chunk)], eps, magnitude)
        for start in range(0, rows, chunk)
    ]
    return xp.concat(parts, axis=1)


def rank_pvalues(xp: Any, stats: Array, eps: float, magnitude: Array) -> Array:
    """Per-row permutation p-values ``#{i : T_i ≥ T_j} / (1 + P)``, shape (L, 1 + P),
    for comparisons on the device (the same count gives the same value)."""
    return rank_counts(xp, stats, eps, magnitude) / stats.shape[1]


def observed_counts(xp: Any, stats: Array, eps: float, magnitude: Array) -> Array:
    """``1 + #{p ≥ 1 : T_p ≥ T_0}`` of each row of an ``(L, 1 + P)`` statistic, shape
    (L,): the observed column's p-values times ``1 + P``, exact integers (column 0 of
    :func:`rank_counts`, without ranking the other columns)."""
    return 1.0 + exceedances(xp, stats[:, 1:], stats[:, 0:1], eps, magnitude)[:, 0]


def min_pvalue_row(member_pvalues: Array, xp: Any) -> Array:
    """The min-p statistic ``−min_k p_k`` per column, shape (1, 1 + P); its p-values
    are exact multiples of ``1/(1 + P)``, so it needs no tie magnitude."""
    return -xp.min(member_pvalues, axis=0)[None, :]


def fuse_scale(n: int, m: int) -> float:
    """``λ / N̂_k · √(Σ k²)``: the factor of ``MMD²_u,k / √(Σ_{i≠j} K_ij²)`` in the
    exponent of MMD-FUSE, ``(ñ(ñ−1))^(3/2)`` with ``ñ = min(n, m)``."""
    smaller = min(n, m)
    return float(smaller * (smaller - 1)) ** 1.5


def _soft_maximum(xp: Any, exponents: Array) -> Array:
    """``log((1/L) Σ_k exp(e_k))`` per column, computed stably (max subtracted)."""
    top = xp.max(exponents, axis=0)
    total = xp.sum(xp.exp(exponents - top[None, :]), axis=0)
    return (top + xp.log(total) - math.log(exponents.shape[0]))[None, :]


def fuse_row(
    xp: Any, stats: Array, squares: Array, magnitude: Array, n: int, m: int
) -> tuple[Array, Array]:
    """MMD-FUSE's statistic per column and its rounding magnitude.

    ``stats``: the members' unbiased MMD² (L, 1 + P); ``squares``: each
    member's ``Σ_{i≠j} K_ij²`` (L,), symmetric in the columns. A member whose
    off-diagonal kernel is 0 (a bandwidth far below the spacing of the points)
    carries no evidence: its exponent is 0. The soft maximum is 1-Lipschitz in
    the largest exponent's error, so the magnitude is the largest member's
    ``scale · magnitude_k / norm_k``.
    """
    norms = xp.sqrt(squares)
    positive = norms > 0
    factor = xp.where(positive, fuse_scale(n, m) / xp.where(positive, norms, 1.0), 0.0)
    exponents = stats * factor[:, None]
    return _soft_maximum(xp, exponents), xp.max(magnitude * factor)[None]


def standardised_fuse_row(
    xp: Any, stats: Array, magnitude: Array, eps: float
) -> tuple[Array, Array]:
    """The standardised fuse per column and its rounding magnitude.

    A member whose permutation spread is within its rounding (the same value
    in every column up to noise) carries no evidence: its z-score is 0.
    """
    columns = stats.shape[1]
    mean = xp.mean(stats, axis=1)
    deviations = stats - mean[:, None]
    spread = xp.sqrt(xp.sum(deviations * deviations, axis=1) / columns)
    resolved = spread > (TIE_EPS * eps) * (magnitude + xp.abs(mean))
    inverse = xp.where(resolved, 1.0 / xp.where(resolved, spread, 1.0), 0.0)
    exponents = (STANDARDISED_SHARPNESS * inverse)[:, None] * deviations
    row = _soft_maximum(xp, exponents) / STANDARDISED_SHARPNESS
    return row, xp.max((magnitude + xp.abs(mean)) * inverse)[None]
