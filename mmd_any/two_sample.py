"""Permutation two-sample tests: the MMD test and an aggregated multi-bandwidth test.

How it computes
---------------
Every permuted statistic is a quadratic form ``w_pᵀ K w_p`` of the pooled
kernel matrix ``K`` (``N = n + m`` points) with a weight vector that depends
only on which points the permutation labels ``x``:

* biased:   ``w = s/n − (1 − s)/m`` with ``s`` the 0/1 labels of ``x``;
* unbiased: ``Σ_{i≠j} c_ij K_ij`` with ``c_ij`` = ``1/(n(n−1))``, ``1/(m(m−1))``
  or ``−1/(nm)`` is ``γ(1ᵀK1 − tr K) + uᵀKu − Σ_i u_i² K_ii`` for
  ``u = √A·s − √B·(1 − s)``, where ``γ = (ab − 1/(nm)²)/(a + b + 2/(nm))``,
  ``a = 1/(n(n−1))``, ``b = 1/(m(m−1))``, ``A = a − γ``, ``B = b − γ`` (so
  ``γ + A``, ``γ + B`` and ``γ − √(AB)`` are the three coefficients).

The observed statistic is the identity permutation, the first row of the
weight matrix; a row of ones gives ``1ᵀK1``. The weights come from the
estimator algebra (:mod:`mmd_any._algebra`), the same that ``mmd2`` uses. The
Gram engine evaluates each kernel tile once for all rows: one
``(P, rows) @ K_tile`` product per tile, over the tiles the planner chose (one
tile when the matrix fits the memory budget on an accelerator). Nothing is
recomputed per permutation and no Python loop runs over permutations.
Permutation weights are drawn by a NumPy generator (``seed``) and moved once
per block to the data's device, so a seed gives the same p-value on every
backend. When ``P × N`` weights would exceed an eighth of ``memory_budget``
(default 1 GiB on the host), permutations are processed in blocks, each block
one pass over the tiles. The only host read is at the end: the p-value.

P-values
--------
``(1 + #{p : T_p ≥ T_obs}) / (1 + P)``, exactly valid at every sample size;
statistics within ``64·eps·(|T_obs| + M)`` of the observed one count as ties
(they are equal up to rounding), where ``M`` is the size of the rounding of
any statistic from the magnitude of the kernel's entries (the estimator's
absolute weights times the mean kernel entry): identical or constant samples
give p = 1, not a verdict of rounding noise.

Aggregated test (``aggregate=True``)
------------------------------------
An MMDAgg-style test (Schrab et al., JMLR 2023) over a collection of kernels:
by default the Gaussian with bandwidths ``median · 2^k``, ``k = −4 … 4``
(a given radial kernel with the plain median rule expands the same way; a
kernel with several bandwidths contributes each of them; a list of kernels
contributes all their bandwidths, e.g. Gaussian and Laplacian). The same
permutations serve every member. The level is corrected by the permutation
(Westfall–Young) min-p procedure: each member's p-value is computed for the
observed data and for every permutation against the same permutation set, the
aggregated statistic is the smallest p-value over the collection, and its own
p-value is its rank among the permutations' smallest p-values. Rows are
exchangeable under H0, so the aggregated test has type-I error ≤ alpha
exactly, however correlated the members are, and it is never worse than a
Bonferroni correction. (The paper corrects by a bisection on quantile levels
with a second permutation set; min-p is the single-set, exact counterpart.)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from array_api_compat import device, is_dask_array

from . import _gram, _plan
from ._algebra import QuadraticStatistic, quadratic_statistic
from ._checks import check_choice, check_count, check_real, check_seed
from ._namespace import as_0d, from_host, host_floats, prepare_samples, refuse_overflow
from ._precision import full_precision
from .bandwidths import Median
from .estimators import plan_for
from .kernels import Kernel, _Radial, as_kernel

__all__ = ["AGGREGATE_EXPONENTS", "MMDTestResult", "mmd_test", "permutation_labels"]

Array = Any

#: Exponents ``k`` of the default aggregated collection ``median · 2^k``.
AGGREGATE_EXPONENTS = tuple(range(-4, 5))

#: Statistics within this many eps of the observed one (relative to it plus the
#: kernel's magnitude) are ties.
TIE_EPS = 64


@dataclass(frozen=True, repr=False)
class MMDTestResult:
    """Result of :func:`mmd_test`.

    Attributes
    ----------
    statistic : array, 0-d
        The observed MMD² (plain test), or the smallest per-kernel p-value
        (aggregated test; small is evidence against H0), in the inputs'
        namespace and device.
    pvalue : float
        Permutation p-value ``(1 + #{null ≥ observed}) / (1 + P)``; for the
        aggregated test, of the smallest p-value statistic. For Dask inputs a
        lazy 0-d array (as are ``reject`` and ``pvalues``): nothing is
        computed until the caller asks.
    reject : bool
        ``pvalue ≤ alpha``.
    null_distribution : array, shape (P,)
        The permuted statistics (for the aggregated test, the permutations'
        smallest p-values).
    n_permutations : int
    alpha : float
    estimator : str
    kernels : tuple of str
        The kernel, or the members of the aggregated collection.
    statistics : array or None, shape (L,)
        Aggregated test: the observed MMD² of each member.
    pvalues : tuple of float or None
        Aggregated test: each member's own permutation p-value.
    null_distributions : array or None, shape (L, P)
        Aggregated test: each member's permuted MMD².
    """

    statistic: Array
    pvalue: float
    reject: bool
    null_distribution: Array
    n_permutations: int
    alpha: float
    estimator: str
    kernels: tuple[str, ...]
    statistics: Array | None = None
    pvalues: tuple[float, ...] | None = field(default=None)
    null_distributions: Array | None = field(default=None, repr=False)

    def plot(self, ax: Any = None) -> Any:
        """Histogram of the permutation null, the observed MMD² and the α threshold.

        Needs matplotlib (``pip install mmd-any[plot]``). The aggregated test
        draws one panel per bandwidth (``ax`` must then be None or hold one
        axes per member).

        Parameters
        ----------
        ax : matplotlib Axes, array of Axes, or None
            Where to draw; None creates a figure.

        Returns
        -------
        matplotlib Figure
        """
        from .plotting import plot_test_result

        return plot_test_result(self, ax)

    @property
    def aggregated(self) -> bool:
        """Whether this is the aggregated test."""
        return self.statistics is not None

    def __repr__(self) -> str:
        decision = "reject H0" if self.reject else "do not reject H0"
        kind = "aggregated MMD test" if self.aggregated else "MMD test"
        lines = [
            f"MMDTestResult({kind}, {self.estimator} estimator, P={self.n_permutations})",
            f"  statistic = {float(self.statistic):.6g}",
            f"  p-value   = {float(self.pvalue):.4g} -> {decision} at alpha = {self.alpha:g}",
        ]
        if self.aggregated and self.pvalues is not None:
            for index, (name, pvalue) in enumerate(zip(self.kernels, self.pvalues, strict=True)):
                value = float(self.statistics[index])
                lines.append(f"    {name:40s} MMD² = {value:.6g}  p = {float(pvalue):.4g}")
        else:
            lines.append(f"  kernel    = {self.kernels[0]}")
        return "\n".join(lines)


def _check_options(n_permutations: int, alpha: float, estimator: str) -> tuple[int, float]:
    n_permutations = check_count(n_permutations, "n_permutations", 1)
    alpha = check_real(
        alpha, "alpha", lower=0.0, upper=1.0, expected="lie in the open interval (0, 1)"
    )
    if not isinstance(estimator, str):
        check_choice(estimator, "estimator", ("biased", "unbiased"))  # raises TypeError
    if estimator not in ("biased", "unbiased"):
        raise ValueError(
            f"`estimator` of the permutation test must be 'biased' or 'unbiased', got {estimator!r}"
        )
    return n_permutations, alpha


def _collection(kernel: str | Kernel | Sequence[str | Kernel], aggregate: bool) -> list[Kernel]:
    """The kernels whose terms are tested (one for the plain test)."""
    if isinstance(kernel, str | Kernel):
        given = [kernel]
    elif isinstance(kernel, Iterable):
        given = list(kernel)
    else:
        raise TypeError(
            "`kernel` must be a kernel name, a mmd_any.kernels.Kernel or (with "
            f"aggregate=True) a sequence of them, got {type(kernel).__qualname__}"
        )
    if not given:
        raise ValueError("`kernel` must name at least one kernel")
    kernels = [as_kernel(k) for k in given]
    if not aggregate:
        if len(kernels) > 1:
            raise ValueError("several kernels need aggregate=True")
        return kernels
    expanded = []
    for k in kernels:
        rule = k.rule if isinstance(k, _Radial) else None
        if isinstance(rule, Median) and rule.scales == (1.0,):
            scales = tuple(2.0**e for e in AGGREGATE_EXPONENTS)
            k = replace(k, bandwidth=replace(rule, scales=scales))
        expanded.append(k)
    return expanded


def _term_names(kernel: Kernel) -> list[str]:
    rule = getattr(kernel, "rule", None)
    scales = getattr(rule, "scales", None)
    if scales is None or len(scales) == 1:
        return [repr(kernel)]
    base = type(rule).__name__
    return [f"{type(kernel).__name__}({base} × {s:g})" for s in scales]


def _random_labels(rng: np.random.Generator, count: int, n: int, m: int) -> np.ndarray:
    """``count`` rows of 0/1 labels, each a uniformly random choice of ``n`` of ``n + m``.

    The ``n`` points with the smallest uniform keys are labelled ``x``; one
    ``argpartition`` per row is linear in ``n + m`` (a full shuffle is 3x slower).
    """
    keys = rng.random((count, n + m))
    chosen = np.argpartition(keys, n - 1, axis=1)[:, :n]
    labels = np.zeros((count, n + m))
    np.put_along_axis(labels, chosen, 1.0, axis=1)
    return labels


def permutation_labels(
    n: int, m: int, n_permutations: int, seed: Any, rows_per_block: int | None = None
) -> list[np.ndarray]:
    """The 0/1 label rows :func:`mmd_test` uses: the identity, then the permutations.

    Parameters
    ----------
    n, m : int
        Sample sizes; a label 1 marks a point counted as ``x``.
    n_permutations : int
    seed : int, SeedSequence or None
        Seed of ``numpy.random.default_rng``.
    rows_per_block : int, optional
        Split the rows into blocks of at most this many (default: one block).

    Returns
    -------
    list of ndarray
        Blocks of shape ``(rows, n + m)``; the first row of the first block is
        the identity labelling ``[1]*n + [0]*m``.
    """
    rng = np.random.default_rng(seed)
    identity = np.concatenate([np.ones(n), np.zeros(m)])[None, :]
    rows_per_block = rows_per_block or n_permutations + 1
    blocks, remaining, first = [], n_permutations, True
    while remaining > 0 or first:
        count = min(remaining, rows_per_block - (1 if first else 0))
        shuffled = _random_labels(rng, count, n, m)
        blocks.append(np.concatenate([identity, shuffled]) if first else shuffled)
        remaining -= count
        first = False
    return blocks


class _Progress:
    """A tqdm bar over kernel entries (tqdm is an optional dependency)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = None
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:
            raise ImportError("progress=True needs tqdm: pip install 'mmd-any[progress]'") from exc
        self.bar = tqdm(total=total, unit="entry", unit_scale=True, file=sys.stderr)

    def update(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _statistics(
    gram: _gram.PooledGram,
    blocks: list[np.ndarray],
    statistic: QuadraticStatistic,
    plan: _plan.Plan,
    on_progress: Callable[[int], None],
) -> tuple[Array, Array]:
    """``(L, 1 + P)`` statistics for every kernel term and label row, and the
    ``(L,)`` magnitudes of their rounding (:func:`_rounding_scale`).

    Row 0 of the statistic is relabelled by each permutation; its other rows
    (the unbiased ``1ᵀK₀1``) are invariant and go through the first pass only,
    with one all-ones row for the magnitude of the kernel's entries.
    """
    xp = gram.xp
    dev = device(gram.points)
    dtype = gram.points.dtype
    n_points = gram.size
    invariant = statistic.invariant_rows()
    results = []
    constant = magnitude = None
    for index, labels in enumerate(blocks):
        weights = statistic.label_weights(labels)
        if index == 0:
            extra = [statistic.row_weights(0, n_points)[1:], np.ones((1, n_points))]
            weights = np.concatenate([weights, *extra])
        weights_t = from_host(xp, weights, dtype, dev)  # no float64 on the device
        forms = gram.quadratic_forms(
            weights_t,
            plan,
            per_term=True,
            exclude_diagonal=statistic.exclude_diagonal,
            progress=on_progress,
        )
        if index == 0:
            rows = len(labels)
            magnitude = _rounding_scale(statistic, n_points) * xp.abs(forms[:, -1])
            invariant_forms = forms[:, rows:-1]
            forms = forms[:, :rows]
            if invariant:
                # Σ_r≥1 coefficient_r · form_r, the same for every relabelling
                constant = statistic.coefficients[1] * invariant_forms[:, 0:1]
                for r, coefficient in enumerate(statistic.coefficients[2:], start=1):
                    constant = constant + coefficient * invariant_forms[:, r : r + 1]
        if statistic.coefficients[0] != 1.0:
            forms = statistic.coefficients[0] * forms
        results.append(forms if constant is None else forms + constant)
    stats = results[0] if len(results) == 1 else xp.concat(results, axis=1)
    return _in_bandwidth_order(xp, gram, stats), _in_bandwidth_order(xp, gram, magnitude)


def _in_bandwidth_order(xp: Any, gram: _gram.PooledGram, per_term: Array) -> Array:
    """Rows of per-term results in the order of the kernel's bandwidths (its
    ``scales``), which the names of :func:`_term_names` follow; the host's exp
    ladders yield the terms chain by chain."""
    order = gram.kernel.term_order(gram.prepared)
    if order == sorted(order):
        return per_term
    row_of = {position: row for row, position in enumerate(order)}
    return xp.stack([per_term[row_of[k], ...] for k in range(len(order))])


def _rounding_scale(statistic: QuadraticStatistic, n_points: int) -> float:
    """``Σ_r |c_r| (Σ_i |w_r,i|)² / N²``: times ``|1ᵀK1|`` (the sum of the kernel's
    entries, all of one sign for the radial and energy kernels), the size of
    ``Σ_r |c_r| Σ_ij |w_ri w_rj K_ij|`` for entries of typical size, which bounds
    the rounding of every statistic (any labelling) up to a factor of the dtype's eps."""
    total = 0.0
    for (on_x, on_y), coefficient in zip(statistic.values, statistic.coefficients, strict=True):
        spread = statistic.n * abs(on_x) + statistic.m * abs(on_y)
        total += abs(coefficient) * spread**2
    return total / n_points**2


def _exceedances(xp: Any, stats: Array, reference: Array, eps: float, magnitude: Array) -> Array:
    """``#{i : stats[l, i] ≥ reference[l, j] − tol}`` for every l, j.

    ``tol = TIE_EPS · eps · (|reference| + magnitude[l])``: values equal up to
    the rounding of the dtype the kernel was computed in count as ties. The
    magnitude is the kernel's (:func:`_rounding_scale`), not the statistic's:
    identical samples give statistics of pure rounding noise (1e-31 against
    entries of 1), which are all ties, so that their p-value is 1.
    """
    scale = xp.abs(reference) + magnitude[:, None]
    threshold = reference - (TIE_EPS * eps) * scale
    return xp.sum(xp.astype(stats[:, :, None] >= threshold[:, None, :], stats.dtype), axis=1)


def _rank_pvalues(xp: Any, stats: Array, eps: float, magnitude: Array, chunk: int = 256) -> Array:
    """Per-row permutation p-values ``#{i : T_i ≥ T_j} / (1 + P)``, shape (L, 1 + P)."""
    rows = stats.shape[1]
    parts = [
        _exceedances(xp, stats, stats[:, start : min(rows, start + chunk)], eps, magnitude)
        for start in range(0, rows, chunk)
    ]
    return xp.concat(parts, axis=1) / rows


def mmd_test(
    x: Array,
    y: Array,
    *,
    kernel: str | Kernel | Sequence[str | Kernel] = "gaussian",
    estimator: str = "biased",
    n_permutations: int = 1000,
    alpha: float = 0.05,
    seed: int | np.random.SeedSequence | None = None,
    aggregate: bool = False,
    progress: bool = False,
    block_size: int | None = None,
    memory_budget: int | None = None,
    check_finite: bool = True,
) -> MMDTestResult:
    """Permutation two-sample test of ``H0: x and y come from the same distribution``.

    Parameters
    ----------
    x, y : arrays, shapes (n, d) and (m, d)
        The samples, in any array-API library (see :func:`mmd_any.mmd2`).
    kernel : str, Kernel or sequence of them
        The kernel (default: Gaussian, median bandwidth). With
        ``aggregate=True``, a kernel or several whose bandwidths form the
        tested collection (see the module docstring).
    estimator : {"biased", "unbiased"}
        The MMD² estimator used as test statistic.
    n_permutations : int
        Number of random permutations ``P`` (≥ 1).
    alpha : float
        Level in (0, 1) for ``reject``.
    seed : int, SeedSequence or None
        Seed of the NumPy generator that draws the permutations: the same seed
        gives the same p-value on every backend.
    aggregate : bool
        Run the aggregated multi-bandwidth test (MMDAgg-style, min-p
        corrected) instead of the single-kernel test.
    progress : bool
        Show a tqdm progress bar (needs the ``progress`` extra).
    block_size, memory_budget : int, optional
        Tile rows and memory budget in bytes (see :func:`mmd_any.mmd2`); the
        budget also bounds one block of permutation weights (an eighth of it).
    check_finite : bool
        Raise on NaN/inf inputs.

    Returns
    -------
    MMDTestResult
        Statistics in the inputs' namespace, dtype and device. On a device
        without float64 (MPS, JAX without x64) the weights are sent in float32
        and the tiles' sums added in float32 with compensation, with the bound
        of :func:`mmd_any.mmd2` (``u·|S| + γ²_{T−1}·Σ|tile sums|``, not
        growing with the number of tiles); the p-value is within one
        permutation of the same test with float64 accumulators (tested).

    Raises
    ------
    TypeError
        A non-integer ``n_permutations`` (NumPy integers are fine; bools and
        floats, even ``2.0``, are not), a non-real ``alpha`` (``np.float32`` is
        fine), a ``seed`` that is not None, a non-negative integer, a
        SeedSequence or a Generator, a ``kernel`` that is not a name, a Kernel
        or a sequence of them, and the errors of :func:`mmd_any.mmd2`.
    ValueError
        ``n_permutations`` < 1, ``alpha`` outside (0, 1), a negative ``seed``,
        an estimator other than ``"biased"``/``"unbiased"``, an empty kernel
        collection or several kernels without ``aggregate=True``, and the
        errors of :func:`mmd_any.mmd2`.

    Examples
    --------
    >>> import numpy as np
    >>> import mmd_any
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(100, 2)), rng.normal(0.5, 1.0, size=(80, 2))
    >>> result = mmd_any.mmd_test(x, y, n_permutations=200, seed=1)
    >>> result.reject, result.pvalue < 0.01
    (True, True)
    """
    n_permutations, alpha = _check_options(n_permutations, alpha, estimator)
    seed = check_seed(seed)
    kernels = _collection(kernel, aggregate)
    block_size = _plan.check_block_size(block_size)
    memory_budget = _plan.check_memory_budget(memory_budget)
    min_size = 2 if estimator == "unbiased" else 1
    samples = prepare_samples(x, y, check_finite=check_finite, min_size=min_size)
    xp = samples.xp
    n, m = samples.x.shape[0], samples.y.shape[0]
    n_points = n + m
    statistic = quadratic_statistic(n, m, estimator)
    weight_rows = 1 + n_permutations + statistic.n_rows - 1
    with full_precision(xp, samples.device):
        grams = [_gram.PooledGram(xp, k, [samples.x, samples.y]) for k in kernels]
    terms = max(g.n_terms for g in grams)
    plan = plan_for(samples, n_points, weight_rows, memory_budget, block_size, terms)
    blocks = permutation_labels(n, m, n_permutations, seed, plan.weight_rows)

    work = len(grams) * len(blocks) * n_points * (n_points + 1) // 2
    bar = _Progress(work, progress)
    try:
        with full_precision(xp, samples.device):
            pairs = [_statistics(g, blocks, statistic, plan, bar.update) for g in grams]
            stats = xp.concat([pair[0] for pair in pairs], axis=0)
            magnitude = xp.concat([pair[1] for pair in pairs], axis=0)
    finally:
        bar.close()
    names = tuple(name for k in kernels for name in _term_names(k))
    refuse_overflow(samples, stats, "the test statistic", read=True)
    if samples.finite is not None:
        stats = xp.where(samples.finite, stats, xp.nan)

    eps = float(xp.finfo(samples.dtype).eps)
    if not aggregate:
        observed, null = stats[0, 0], stats[0, 1:]
        exceed = _exceedances(xp, stats[:, 1:], stats[:, 0:1], eps, magnitude)[0, 0]
        pvalue = (1.0 + _number(xp, exceed)) / (1.0 + n_permutations)
        return MMDTestResult(
            statistic=_cast(xp, observed, samples.result_dtype),
            pvalue=pvalue,
            reject=pvalue <= alpha,
            null_distribution=_cast(xp, null, samples.result_dtype),
            n_permutations=n_permutations,
            alpha=float(alpha),
            estimator=estimator,
            kernels=names,
        )

    member_pvalues = _rank_pvalues(xp, stats, eps, magnitude)  # (L, 1 + P), observed in column 0
    smallest = xp.min(member_pvalues, axis=0)  # (1 + P,)
    # p-value of min-p: rank of the observed smallest p among all rows (itself
    # included); the p-values are exact multiples of 1 / (1 + P)
    count = xp.sum(xp.astype(smallest <= smallest[0], smallest.dtype))
    # one transfer to the host for every number the result reports
    numbers = _numbers(xp, xp.concat([count[None], member_pvalues[:, 0]]))
    pvalue = numbers[0] / (1.0 + n_permutations)
    per_member = numbers[1:]
    return MMDTestResult(
        statistic=as_0d(xp, smallest[0]),
        pvalue=pvalue,
        reject=pvalue <= alpha,
        null_distribution=smallest[1:],
        n_permutations=n_permutations,
        alpha=float(alpha),
        estimator=estimator,
        kernels=names,
        statistics=_cast(xp, stats[:, 0], samples.result_dtype),
        pvalues=tuple(per_member),
        null_distributions=_cast(xp, stats[:, 1:], samples.result_dtype),
    )


def _numbers(xp: Any, values: Array) -> list[Any]:
    """The entries of a 1-D array as Python floats, read in one host transfer; for
    a lazy library (Dask) lazy 0-d float64 arrays: the test stays a graph."""
    if is_dask_array(values):
        return [xp.astype(values[i], xp.float64) for i in range(values.shape[0])]
    return host_floats(values)


def _number(xp: Any, value: Array) -> Any:
    """A Python float, or, for a lazy library (Dask), the lazy 0-d float64 array:
    the test then stays a graph until the caller computes it."""
    if is_dask_array(value):
        return xp.astype(value, xp.float64)
    return float(value)


def _cast(xp: Any, value: Array, dtype: Any) -> Array:
    value = as_0d(xp, value)
    return value if value.dtype == dtype else xp.astype(value, dtype)
