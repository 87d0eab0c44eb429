"""Permutation two-sample tests: the MMD test and the aggregated tests (min-p, MMD-FUSE, combined).

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

Aggregated tests (``aggregate=``)
---------------------------------
Several kernels (the *members*) are evaluated in the same pass over the
tiles, on the same permutations, and combined into one statistic whose
permutation p-value is exact (:mod:`mmd_any._aggregation`):

``"minp"``
    MMDAgg-style (Schrab et al., JMLR 2023): by default the Gaussian with
    bandwidths ``median · 2^k``, ``k = −4 … 4`` (a given radial kernel with the
    plain median rule expands the same way; a kernel with several bandwidths
    contributes each of them; a list of kernels all their bandwidths). The
    statistic is the smallest member p-value, corrected by the single-set
    Westfall–Young procedure: its own p-value is its rank among the
    permutations' smallest p-values. Type-I error ≤ alpha exactly, however
    correlated the members are; never worse than Bonferroni. (The paper
    corrects by a bisection on quantile levels with a second permutation set;
    min-p is the single-set, exact counterpart.)
``"fuse"``
    MMD-FUSE (Biggs, Schrab & Gretton, NeurIPS 2023): the log-mean-exp of the
    members' unbiased MMD², each normalised by the norm of its kernel matrix,
    over the paper's collection by default (Gaussian and Laplacian, ten
    bandwidths each from half the 5 % to twice the 95 % quantile of the
    pairwise distances, linearly spaced; uniform weights). The norms are sums
    of squared kernel entries accumulated alongside the forms, in the same
    pass.
``"combined"`` (``aggregate=True``, the recommended test)
    A min-p over three statistics of MMDAgg's own collection (Gaussian and
    Laplacian, ten bandwidths each, geometrically spaced between the same
    ends): the fused statistic, the members' min-p and the standardised fuse
    (members standardised by their permutation spread; it keeps the wide
    kernels that detect mean shifts). Each of the three wins on some
    alternatives; their min-p is within one standard error of the best method
    on 5 of the 7 cells of ``benchmarks/bench_power.py`` and behind on two (the
    perturbed uniform in d = 2 at amplitude 0.6, −0.08 against MMD-FUSE; a
    Gaussian mean shift, −0.14 against the single median-bandwidth test), with
    an exact level (tables in ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from array_api_compat import device

from . import _aggregation, _gram, _plan
from ._aggregation import AGGREGATE_EXPONENTS, AGGREGATIONS, COMPONENTS, METHODS, RECOMMENDED
from ._algebra import QUADRATIC_ESTIMATORS, QuadraticStatistic, quadratic_statistic
from ._checks import check_choice, check_count, check_real, check_seed
from ._compat import as_0d, full_precision, host_floats
from ._docstrings import choices, fill
from ._dtypes import from_host
from ._typing import Array
from ._validation import prepare_samples, refuse_overflow
from .bandwidths import DistanceQuantiles, Median, radial_groups
from .estimators import chosen_preset, plan_for
from .kernels import Gaussian, Kernel, Laplacian, _Radial, as_kernel

__all__ = [
    "AGGREGATE_EXPONENTS",
    "AGGREGATIONS",
    "RECOMMENDED",
    "MMDTestResult",
    "PermutationsWarning",
    "check_test_options",
    "combined_collection",
    "fuse_collection",
    "mmd_test",
    "permutation_labels",
]


#: Method name of the single-kernel test (``aggregate=False``).
SINGLE = "single"

#: The methods whose statistic is built on the unbiased estimator only.
UNBIASED_ONLY = tuple(name for name, method in METHODS.items() if method.unbiased_only)

#: The estimators a permutation test takes (quadratic forms of the pooled Gram matrix).
TEST_ESTIMATORS = QUADRATIC_ESTIMATORS

#: The Laplace kernel of MMD-FUSE and MMDAgg is ``exp(−√2‖x−y‖₁/λ)``: the
#: Laplacian's ``σ = λ/√2``.
LAPLACE_MULTIPLIER = 1 / math.sqrt(2)


class PermutationsWarning(UserWarning):
    """Too few permutations for the test ever to reject at ``alpha``."""


def _quantile_pair(spacing: str) -> list[Kernel]:
    """Gaussian and Laplacian, ten bandwidths each, from half the 5 % to twice the
    95 % quantile of the pairwise distances (each in its kernel's metric)."""
    return [
        Gaussian(DistanceQuantiles(spacing=spacing)),
        Laplacian(DistanceQuantiles(spacing=spacing, multiplier=LAPLACE_MULTIPLIER)),
    ]


def fuse_collection() -> list[Kernel]:
    """MMD-FUSE's default collection (Biggs, Schrab & Gretton, NeurIPS 2023):
    Gaussian and Laplacian kernels, ten linearly spaced bandwidths each.

    Examples
    --------
    >>> from mmd_any.two_sample import fuse_collection
    >>> [type(k).__name__ for k in fuse_collection()]
    ['Gaussian', 'Laplacian']
    """
    return _quantile_pair("linear")


def combined_collection() -> list[Kernel]:
    """The recommended test's collection, MMDAgg's (Schrab et al., JMLR 2023):
    Gaussian and Laplacian kernels, ten geometrically spaced bandwidths each.

    Examples
    --------
    >>> from mmd_any.two_sample import combined_collection
    >>> combined_collection()[0].rule.spacing
    'geometric'
    """
    return _quantile_pair("geometric")


def _method(aggregate: bool | str) -> str:
    """The method name of an ``aggregate`` argument."""
    if isinstance(aggregate, bool | np.bool_):
        return RECOMMENDED if aggregate else SINGLE
    if isinstance(aggregate, str):
        return check_choice(aggregate, "aggregate", AGGREGATIONS)
    raise TypeError(
        f"`aggregate` must be a bool or one of {list(AGGREGATIONS)}, got {aggregate!r} "
        f"of type {type(aggregate).__name__}"
    )


def check_test_options(n_permutations: int, alpha: float) -> tuple[int, float]:
    """``n_permutations`` (at least 1) and ``alpha`` (in (0, 1)), validated."""
    n_permutations = check_count(n_permutations, "n_permutations", 1)
    alpha = check_real(
        alpha, "alpha", lower=0.0, upper=1.0, expected="lie in the open interval (0, 1)"
    )
    return n_permutations, alpha


def _warn_if_never_rejects(n_permutations: int, alpha: float) -> None:
    """A :class:`PermutationsWarning` when ``1/(1 + P) > alpha``: the smallest p-value
    the test can give is above the level (after every argument is checked, so that
    a wrong argument is an error first)."""
    if 1.0 / (1.0 + n_permutations) <= alpha:
        return
    needed = math.ceil(1.0 / alpha - 1.0 - 1e-9)
    warnings.warn(
        f"with n_permutations={n_permutations} the smallest possible p-value is "
        f"1/{1 + n_permutations} = {1 / (1 + n_permutations):.3g} > alpha={alpha:g}: "
        f"the test can never reject; use at least {needed} permutations",
        PermutationsWarning,
        stacklevel=3,
    )


def _resolve_estimator(estimator: str | None, method: str) -> str:
    """The estimator of a method: None is "biased" for the single and min-p tests,
    "unbiased" for the fused statistic, which is defined on the U-statistic."""
    if estimator is None:
        return "unbiased" if method in UNBIASED_ONLY else "biased"
    if not isinstance(estimator, str):
        check_choice(estimator, "estimator", TEST_ESTIMATORS)  # raises TypeError
    if estimator not in TEST_ESTIMATORS:
        raise ValueError(
            f"`estimator` of the permutation test must be one of {list(TEST_ESTIMATORS)}, "
            f"got {estimator!r}"
        )
    if method in UNBIASED_ONLY and estimator != "unbiased":
        raise ValueError(
            f"aggregate={method!r} is built on the unbiased estimator (MMD-FUSE normalises "
            f"U-statistics); got estimator={estimator!r}: pass estimator='unbiased' or None, "
            "or use aggregate='minp' for a biased aggregated test"
        )
    return estimator


def _resolve_preset(
    kernel: Any, estimator: str | None, preset: Any, method: str, bandwidth: Any = None
) -> tuple[Any, str | None, Any]:
    """A preset's kernel and estimator (single-kernel test only)."""
    if preset is None:
        return kernel, estimator, None
    chosen = chosen_preset(preset, kernel, estimator, bandwidth)
    if method != SINGLE:
        raise ValueError(
            f"`preset` {chosen.name!r} fixes one kernel, for the single-kernel test; "
            f"aggregate={method!r} takes its collection from `kernel`"
        )
    return chosen.kernel, chosen.estimator, chosen


def _given_kernels(
    kernel: str | Kernel | Sequence[str | Kernel], bandwidth: Any = None
) -> list[Kernel]:
    if isinstance(kernel, str | Kernel):
        given = [kernel]
    elif isinstance(kernel, Iterable):
        given = list(kernel)
    else:
        raise TypeError(
            "`kernel` must be a kernel name, a mmd_any.kernels.Kernel or (with an "
            f"aggregated test) a sequence of them, got {type(kernel).__qualname__}"
        )
    if not given:
        raise ValueError("`kernel` must name at least one kernel")
    return [as_kernel(k, bandwidth) for k in given]


def _expand_median(k: Kernel) -> Kernel:
    """A radial kernel with the plain median rule as the ladder ``median · 2^k``."""
    rule = k.rule if isinstance(k, _Radial) else None
    if isinstance(rule, Median) and rule.scales == (1.0,):
        scales = tuple(2.0**e for e in AGGREGATE_EXPONENTS)
        return replace(k, bandwidth=replace(rule, scales=scales))
    return k


def _collection(kernel: Any, method: str, bandwidth: Any = None) -> list[Kernel]:
    """The kernels whose terms are tested (one for the single test); ``bandwidth``:
    that of each named kernel (:func:`mmd_any.kernels.as_kernel`)."""
    if kernel is None:
        defaults = {"fuse": fuse_collection, "combined": combined_collection}
        if method in defaults:
            if bandwidth is not None:
                raise ValueError(
                    f"aggregate={method!r} has its own collection, with its own bandwidths; "
                    "name the kernels `bandwidth` is for, e.g. kernel=['gaussian', 'laplacian']"
                )
            return defaults[method]()
        kernel = "gaussian"
    kernels = _given_kernels(kernel, bandwidth)
    if method == SINGLE:
        if len(kernels) > 1:
            raise ValueError("several kernels need an aggregated test (aggregate=True)")
        return kernels
    return [_expand_median(k) for k in kernels]


def _term_names(kernel: Kernel) -> list[str]:
    """The names of a kernel's members in a test's report: ``Gaussian(0.5)``, ...,
    from the bandwidth rule's labels (the kernel's repr for a single bandwidth)."""
    rule = getattr(kernel, "rule", None)
    labels = rule.term_labels() if rule is not None else []
    if not labels:
        return [repr(kernel)]
    return [f"{type(kernel).__name__}({label})" for label in labels]


def _member_bandwidths(gram: _gram.PooledGram) -> list[Any]:
    """Each term's bandwidth in the data's units (a float or a 0-d array), in the
    order of the kernel's bandwidths; None for a kernel without bandwidth."""
    groups = radial_groups(gram.params)
    if groups is None:
        return [None] * gram.n_terms
    return [value for group in groups for value in group.values(gram.scale)]


@dataclass(frozen=True, repr=False)
class MMDTestResult:
    """Result of :func:`mmd_test`; unpacks as ``statistic, pvalue = result``, as
    ``scipy.stats`` results do.

    Attributes
    ----------
    statistic : array, 0-d
        An MMD² estimate, in the inputs' namespace, dtype and device: the
        kernel's (single test; a preset's scaled value), or for an aggregated
        test that of the member with the smallest p-value (:attr:`selected`).
    pvalue : float
        Permutation p-value ``(1 + #{null ≥ observed}) / (1 + P)`` of the test's
        own statistic; always a Python float (a Dask test computes its graph
        once, at the end).
    reject : bool
        ``pvalue ≤ alpha``.
    null_distribution : array, shape (P,)
        :attr:`statistic` under each permutation: the MMD² of the kernel (single
        test) or of the selected member (aggregated tests; its row of
        :attr:`null_distributions`). The aggregated statistic's own null is
        :attr:`combined_null_distribution`.
    n_permutations : int
    alpha : float
    estimator : str
    method : str
        ``"single"``, ``"minp"``, ``"fuse"`` or ``"combined"``.
    n_x, n_y : int
        Sample sizes.
    kernels : tuple of str
        The kernel, or the members of the aggregated collection.
    kernel_names : tuple of str
        Each member's kernel by its registered name
        (:data:`mmd_any.kernels.KERNELS`), e.g. ``("gaussian", "gaussian", "laplacian")``.
    bandwidths : tuple of (float or None)
        Each member's bandwidth in the data's units, as the kernel uses it
        (``σ`` of ``exp(−‖x−y‖²/(2σ²))``, of ``exp(−‖x−y‖₁/σ)``, ...); None for a
        kernel without one.
    combined_statistic : array or None, 0-d
        Aggregated tests: the observed aggregated statistic, the smallest
        member p-value (min-p), the fused statistic (fuse), or the smallest of
        the three component p-values (combined).
    combined_null_distribution : array or None, shape (P,)
        Aggregated tests: :attr:`combined_statistic` under each permutation,
        against which the test's p-value is computed.
    statistics : array or None, shape (L,)
        Aggregated tests: each member's observed MMD².
    pvalues : tuple of float or None
        Aggregated tests: each member's own permutation p-value, uncorrected.
    null_distributions : array or None, shape (L, P)
        Aggregated tests: each member's permuted MMD².
    component_pvalues : dict or None
        Combined test: the permutation p-value of each of its three statistics
        (``"fuse"``, ``"minp"``, ``"standardised fuse"``), each uncorrected.
    selected : int or None
        Aggregated tests: the index of the member with the smallest p-value.
    """

    statistic: Array
    pvalue: float
    reject: bool
    null_distribution: Array
    n_permutations: int
    alpha: float
    estimator: str
    kernels: tuple[str, ...]
    method: str = SINGLE
    n_x: int = 0
    n_y: int = 0
    bandwidths: tuple[float | None, ...] = ()
    kernel_names: tuple[str, ...] = ()
    combined_statistic: Array | None = None
    combined_null_distribution: Array | None = field(default=None, repr=False)
    statistics: Array | None = None
    pvalues: tuple[float, ...] | None = field(default=None)
    null_distributions: Array | None = field(default=None, repr=False)
    component_pvalues: dict[str, float] | None = None
    selected: int | None = None

    def __iter__(self) -> Iterator[Any]:
        """``statistic, pvalue = result``."""
        return iter((self.statistic, self.pvalue))

    def plot(self, ax: Any = None) -> Any:
        """Histogram of the permutation null, the observed value and the α threshold.

        Needs matplotlib (``pip install mmd-any[plot]``); see
        :func:`mmd_any.plotting.plot_test_result`.

        Parameters
        ----------
        ax : matplotlib Axes, array of Axes, or None
            Where to draw; None creates a figure. An aggregated test needs one
            Axes per panel (:func:`mmd_any.plotting.plot_test_result`).

        Returns
        -------
        matplotlib Axes or ndarray of Axes
            The Axes drawn on, as matplotlib's own plotting functions return
            them: the single test's Axes (``ax``, or the new figure's); for an
            aggregated test a 1-D array of its panels' Axes in drawing order
            (the first of ``ax``, or the new figure's). The figure is
            ``axes.figure`` (``axes[0].figure`` for an array).

        Examples
        --------
        >>> import numpy as np
        >>> import mmd_any
        >>> rng = np.random.default_rng(0)
        >>> result = mmd_any.mmd_test(rng.normal(size=(30, 2)), rng.normal(size=(30, 2)),
        ...                           n_permutations=99, seed=0)
        >>> ax = result.plot()  # doctest: +SKIP
        >>> ax.figure.savefig("null.png")  # doctest: +SKIP
        """
        from .plotting import plot_test_result

        return plot_test_result(self, ax)

    @property
    def aggregated(self) -> bool:
        """Whether this is an aggregated test."""
        return self.method != SINGLE

    def member_thresholds(self) -> tuple[float, ...] | None:
        """Each member's MMD² threshold of the min-p test, corrected for the collection.

        The min-p test rejects when some member's p-value is below the
        critical level ``q*`` that the permutations' smallest p-values set
        (``(1 + #{null ≤ q}) / (1 + P) ≤ alpha`` for ``q < q*``); member k's
        threshold is the smallest of its permuted MMD² whose p-value is below
        ``q*``: an observed MMD² above it rejects. A float each (read on the
        host), ``inf`` where no value reaches it; None for the other methods,
        whose members are not tested one by one.
        """
        if self.method != "minp" or self.null_distributions is None:
            return None
        smallest = np.sort(np.asarray(host_floats(self.combined_null_distribution)))
        permutations = smallest.shape[0]
        allowed = math.floor(self.alpha * (1 + permutations) + 1e-9) - 1  # #{null ≤ q}
        if allowed < 0 or allowed >= permutations:  # never, or always, rejects
            return tuple((math.inf if allowed < 0 else -math.inf) for _ in self.kernels)
        critical = smallest[allowed]
        thresholds = []
        for row in range(len(self.kernels)):
            null = np.sort(np.asarray(host_floats(self.null_distributions[row, :])))[::-1]
            # p of a value t: (1 + #{null ≥ t}) / (1 + P); below q* for the j-th largest
            # when (1 + j) / (1 + P) < q*, i.e. j < q*(1 + P) − 1
            largest_rank = math.ceil(critical * (1 + permutations) - 1 - 1e-9) - 1
            if largest_rank >= permutations:
                thresholds.append(-math.inf)
            else:
                thresholds.append(float(null[largest_rank]) if largest_rank >= 0 else math.inf)
        return tuple(thresholds)

    def __repr__(self) -> str:
        decision = "reject H0" if self.reject else "do not reject H0"
        kind = "MMD test" if not self.aggregated else f"aggregated MMD test ({self.method})"
        lines = [
            f"MMDTestResult({kind}, {self.estimator} estimator, P={self.n_permutations}, "
            f"n_x={self.n_x}, n_y={self.n_y})",
            f"  statistic = {float(self.statistic):.6g}  (MMD²)",
            f"  p-value   = {self.pvalue:.4g} -> {decision} at alpha = {self.alpha:g}",
        ]
        if self.aggregated and self.pvalues is not None:
            lines.insert(2, f"  combined  = {float(self.combined_statistic):.6g}")
            for index, (name, pvalue) in enumerate(zip(self.kernels, self.pvalues, strict=True)):
                value = float(self.statistics[index])
                width = _bandwidth_text(self.bandwidths[index])
                lines.append(f"    {name:44s}{width} MMD² = {value:.6g}  p = {pvalue:.4g}")
        else:
            lines.append(f"  kernel    = {self.kernels[0]}{_bandwidth_text(self.bandwidths[0])}")
        return "\n".join(lines)


def _bandwidth_text(value: float | None) -> str:
    return "" if value is None else f" σ = {value:.4g}"


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
    """A tqdm bar over the test's passes through its kernel matrices, shown in percent
    (tqdm is an optional dependency).

    The work is counted in the kernel entries that
    :meth:`mmd_any._gram.PooledGram.quadratic_forms` reports after each row block
    (:meth:`mmd_any._plan.Plan.block_entries`), ``passes`` times (kernels ×
    permutation blocks), so the updates add up to the total exactly and the bar
    ends at 100%.
    """

    FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]"

    def __init__(self, n_points: int, plan: _plan.Plan, passes: int, enabled: bool) -> None:
        self.total = passes * plan.pass_entries(n_points)
        self.bar = None
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:
            raise ImportError("progress=True needs tqdm: pip install 'mmd-any[progress]'") from exc
        self.bar = tqdm(total=self.total, desc="mmd_test", bar_format=self.FORMAT, file=sys.stderr)

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
    squares: bool = False,
) -> tuple[Array, Array, Array | None]:
    """``(L, 1 + P)`` statistics for every kernel term and label row, the ``(L,)``
    magnitudes of their rounding (:func:`_rounding_scale`) and, with ``squares``,
    each term's ``Σ_{i≠j} K_ij²`` (from the first block's pass).

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
    constant = magnitude = squared = None
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
            squares=squares and index == 0,
            progress=on_progress,
        )
        if squares and index == 0:
            forms, squared = forms
        if index == 0:
            rows = len(labels)
            magnitude = _rounding_scale(statistic, n_points) * _entries_size(gram, forms[:, -1])
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
    ordered = [_in_bandwidth_order(xp, gram, a) for a in (stats, magnitude)]
    return (
        ordered[0],
        ordered[1],
        None if squared is None else _in_bandwidth_order(xp, gram, squared),
    )


def _in_bandwidth_order(xp: Any, gram: _gram.PooledGram, per_term: Array) -> Array:
    """Rows of per-term results in the order of the kernel's bandwidths (its
    ``scales``), which the names of :func:`_term_names` follow; the host's exp
    ladders yield the terms chain by chain."""
    order = gram.kernel.term_order(gram.prepared)
    if order == sorted(order):
        return per_term
    row_of = {position: row for row, position in enumerate(order)}
    return xp.stack([per_term[row_of[k], ...] for k in range(len(order))])


def _entries_size(gram: _gram.PooledGram, total: Array) -> Array:
    """``Σ_ij |K_ij|`` (or a bound on it) of each term, from ``total = 1ᵀK1``.

    For the kernels whose entries have one sign (radial, energy) it is ``|1ᵀK1|``.
    Signed entries (the dot-product kernels on centred data) cancel in ``1ᵀK1``, down
    to 0 for the linear kernel; a positive semi-definite kernel has
    ``|K_ij| ≤ sqrt(K_ii K_jj)``, so ``(Σ_i sqrt K_ii)²`` bounds the sum instead
    (``N`` kernel values on the diagonal, no pass over the tiles).
    """
    xp = gram.xp
    size = xp.abs(total)
    if gram.kernel.signed_entries:
        diagonal = gram.paired(gram.points, gram.points)
        size = xp.maximum(size, xp.sum(xp.sqrt(xp.abs(diagonal))) ** 2)
    return size


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


@fill(
    TEST_ESTIMATOR_CHOICES=choices(TEST_ESTIMATORS),
    AGGREGATE_CHOICES=choices(AGGREGATIONS),
)
def mmd_test(
    x: Array,
    y: Array,
    *,
    kernel: str | Kernel | Sequence[str | Kernel] | None = None,
    bandwidth: Any = None,
    estimator: str | None = None,
    preset: Any = None,
    standardize: bool = False,
    n_permutations: int = 1000,
    alpha: float = 0.05,
    seed: int | np.random.SeedSequence | None = None,
    aggregate: bool | str = False,
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
    kernel : str, Kernel, sequence of them, or None
        The kernel of the single test (default: Gaussian, median bandwidth),
        or the kernels whose bandwidths form an aggregated test's collection
        (default: the method's own, see the module docstring).
    bandwidth : float, sequence of float, array, str or BandwidthRule, optional
        The bandwidth of each named radial kernel (see :func:`mmd_any.mmd2`):
        ``kernel="gaussian", bandwidth=1.0`` is ``kernel=Gaussian(1.0)``. For an
        aggregated test it gives the members' bandwidths of every named kernel
        (``kernel=["gaussian", "laplacian"], bandwidth=[0.5, 1, 2]`` has six
        members; ``"median"`` is expanded to the ladder ``median · 2^k`` as
        for a plain-median kernel); with ``kernel=None`` it applies to the
        Gaussian of the single and min-p tests, while ``"fuse"`` and
        ``"combined"`` need the kernels named. None: the kernels' defaults.
    estimator : {TEST_ESTIMATOR_CHOICES} or None
        The MMD² estimator of the statistic. None: biased for the single and
        min-p tests, unbiased for ``"fuse"`` and ``"combined"``, which are
        defined on the unbiased estimator only.
    preset : str or Preset, optional
        A peer's convention (see :func:`mmd_any.mmd2`) for the single test:
        its kernel and estimator, and its scaling of the reported statistic.
    standardize : bool
        Scale every feature by the pooled sample's mean and standard
        deviation before the kernel (bandwidth rules then see standardised
        data; a fixed bandwidth is in standard deviations).
    n_permutations : int
        Number of random permutations ``P`` (≥ 1). A
        :class:`PermutationsWarning` says when ``1/(1 + P) > alpha``: the test
        can then never reject.
    alpha : float
        Level in (0, 1) for ``reject``.
    seed : int, SeedSequence or None
        Seed of the NumPy generator that draws the permutations: the same seed
        gives the same p-value on every backend, and the same permutations to
        every method.
    aggregate : bool or {AGGREGATE_CHOICES}
        False: the single-kernel test. ``"minp"``: MMDAgg-style min-p over the
        collection; ``"fuse"``: the MMD-FUSE statistic; ``"combined"`` (also
        ``True``, the recommended aggregated test): a min-p over the fused,
        min-p and standardised fused statistics.
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
        Statistics in the inputs' namespace, dtype and device; the p-value,
        the decision and the bandwidths as Python numbers, read in one host
        transfer. On a device without float64 (MPS, JAX without x64) the
        weights are sent in float32 and the tiles' sums added in float32 with
        compensation, with the bound of :func:`mmd_any.mmd2`; the p-value is
        within one permutation of the same test with float64 accumulators
        (tested).

    Raises
    ------
    TypeError
        A non-integer ``n_permutations`` (NumPy integers are fine; bools and
        floats, even ``2.0``, are not), a non-real ``alpha``, a ``seed`` that is
        not None, a non-negative integer, a SeedSequence or a Generator, a
        ``kernel`` that is not a name, a Kernel or a sequence of them, an
        ``aggregate`` that is not a bool or a name, and the errors of
        :func:`mmd_any.mmd2`.
    ValueError
        ``n_permutations`` < 1, ``alpha`` outside (0, 1), a negative ``seed``,
        an estimator other than ``"biased"``/``"unbiased"`` (or ``"biased"``
        with ``"fuse"``/``"combined"``), an unknown ``aggregate``, an empty
        kernel collection or several kernels for the single test, a preset
        with ``kernel``/``estimator``/``bandwidth`` or with an aggregated test,
        ``bandwidth`` with ``kernel=None`` for ``"fuse"``/``"combined"``, and
        the errors of :func:`mmd_any.mmd2`.

    Examples
    --------
    >>> import numpy as np
    >>> import mmd_any
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(100, 2)), rng.normal(0.5, 1.0, size=(80, 2))
    >>> statistic, pvalue = mmd_any.mmd_test(x, y, n_permutations=200, seed=1)
    >>> bool(statistic > 0), pvalue < 0.01
    (True, True)
    >>> result = mmd_any.mmd_test(x, y, n_permutations=200, seed=1, aggregate=True)
    >>> result.method, result.reject, len(result.bandwidths)
    ('combined', True, 20)
    >>> fixed = mmd_any.mmd_test(x, y, kernel="gaussian", bandwidth=[0.5, 1.0, 2.0],
    ...                          aggregate="minp", n_permutations=200, seed=1)
    >>> fixed.bandwidths
    (0.5, 1.0, 2.0)
    """
    method = _method(aggregate)
    kernel, estimator, chosen = _resolve_preset(kernel, estimator, preset, method, bandwidth)
    estimator = _resolve_estimator(estimator, method)
    n_permutations, alpha = check_test_options(n_permutations, alpha)
    seed = check_seed(seed)
    kernels = _collection(kernel, method, bandwidth)
    block_size = _plan.check_block_size(block_size)
    memory_budget = _plan.check_memory_budget(memory_budget)
    min_size = 2 if estimator == "unbiased" else 1
    samples = prepare_samples(
        x, y, check_finite=check_finite, min_size=min_size, standardize=standardize
    )
    xp = samples.xp
    n, m = samples.x.shape[0], samples.y.shape[0]
    if chosen is not None and chosen.equal_sizes and n != m:
        raise ValueError(
            f"preset {chosen.name!r} is defined for samples of equal size only, "
            f"got n = {n} and m = {m}"
        )
    _warn_if_never_rejects(n_permutations, alpha)
    statistic = quadratic_statistic(n, m, estimator)
    squares = method in UNBIASED_ONLY  # the fused statistics normalise by the kernels' norms
    grams, parts = _member_statistics(
        samples,
        kernels,
        statistic,
        n_permutations,
        seed,
        (memory_budget, block_size),
        progress,
        squares,
    )
    stats = xp.concat([part[0] for part in parts], axis=0)
    magnitude = xp.concat([part[1] for part in parts], axis=0)
    if method == SINGLE and stats.shape[0] > 1:  # a kernel of several bandwidths: their sum
        stats = xp.sum(stats, axis=0, keepdims=True)
        magnitude = xp.sum(magnitude, axis=0, keepdims=True)
    refuse_overflow(samples, stats, "the test statistic", read=True)
    if samples.finite is not None:
        stats = xp.where(samples.finite, stats, xp.nan)
    names = tuple(name for k in kernels for name in _term_names(k))
    families = tuple(k.name for k in kernels for _ in _term_names(k))
    widths = [width for g in grams for width in _member_bandwidths(g)]
    eps = float(xp.finfo(samples.dtype).eps)
    with full_precision(xp, samples.device):
        if method == SINGLE:
            outcome = _single(xp, stats, magnitude, eps)
        else:
            squared = xp.concat([part[2] for part in parts], axis=0) if squares else None
            outcome = _aggregated(xp, method, stats, magnitude, squared, eps, n, m)
    numbers = _read_numbers(xp, samples, outcome.numbers, widths)
    pvalues = [count / (1 + n_permutations) for count in numbers.values]  # exact k/(1 + P)
    pvalue = pvalues[0]
    scaled = _preset_scaling(chosen, n, m)
    common = {
        "pvalue": pvalue,
        "reject": pvalue <= alpha,
        "n_permutations": n_permutations,
        "alpha": float(alpha),
        "estimator": estimator,
        "kernels": names,
        "kernel_names": families,
        "method": method,
        "n_x": n,
        "n_y": m,
        "bandwidths": numbers.bandwidths,
    }
    dtype = samples.result_dtype
    if method == SINGLE:
        return MMDTestResult(
            statistic=scaled(_cast(xp, stats[0, 0], dtype)),
            null_distribution=scaled(_cast(xp, stats[0, 1:], dtype)),
            **common,
        )
    member_pvalues = pvalues[1 : 1 + stats.shape[0]]
    selected = int(np.argmin(member_pvalues))
    components = pvalues[1 + stats.shape[0] :]
    return MMDTestResult(
        statistic=_cast(xp, stats[selected, 0], dtype),
        null_distribution=_cast(xp, stats[selected, 1:], dtype),
        combined_statistic=as_0d(xp, outcome.observed),
        combined_null_distribution=outcome.null,
        statistics=_cast(xp, stats[:, 0], dtype),
        pvalues=tuple(member_pvalues),
        null_distributions=_cast(xp, stats[:, 1:], dtype),
        component_pvalues=dict(zip(COMPONENTS, components, strict=True)) if components else None,
        selected=selected,
        **common,
    )


def _member_statistics(
    samples: Any,
    kernels: list[Kernel],
    statistic: QuadraticStatistic,
    n_permutations: int,
    seed: Any,
    budget: tuple[int | None, int | None],
    progress: bool,
    squares: bool,
) -> tuple[list[_gram.PooledGram], list[tuple[Array, Array, Array | None]]]:
    """Each kernel's gram and :func:`_statistics` for the identity and the
    permutations, all kernels sharing the tile plan and the label blocks."""
    xp = samples.xp
    n, m = samples.x.shape[0], samples.y.shape[0]
    n_points = n + m
    weight_rows = 1 + n_permutations + statistic.n_rows - 1
    with full_precision(xp, samples.device):
        grams = [_gram.PooledGram(xp, k, [samples.x, samples.y]) for k in kernels]
    terms = max(g.n_terms for g in grams)
    plan = plan_for(samples, n_points, weight_rows, *budget, terms)
    blocks = permutation_labels(n, m, n_permutations, seed, plan.weight_rows)
    bar = _Progress(n_points, plan, len(grams) * len(blocks), progress)
    try:
        with full_precision(xp, samples.device):
            parts = [_statistics(g, blocks, statistic, plan, bar.update, squares) for g in grams]
    finally:
        bar.close()
    return grams, parts


#: The combined test's statistics, in the order their p-values are reported.


@dataclass(frozen=True)
class _Outcome:
    """What a method computed: the numbers to read on the host (its p-value first),
    its observed statistic and its null distribution (device arrays)."""

    numbers: list[Array]
    observed: Array
    null: Array


def _single(xp: Any, stats: Array, magnitude: Array, eps: float) -> _Outcome:
    count = _aggregation.observed_counts(xp, stats, eps, magnitude)[0]
    return _Outcome([count], stats[0, 0], stats[0, 1:])


def _aggregated(
    xp: Any,
    method: str,
    stats: Array,
    magnitude: Array,
    squared: Array | None,
    eps: float,
    n: int,
    m: int,
) -> _Outcome:
    """The aggregated statistic of ``method`` per column, and the p-value counts to
    read (``(1 + P)`` times the p-values): the test's, each member's and (combined)
    each component's."""
    columns = stats.shape[1]
    exact = xp.zeros((1,), dtype=stats.dtype, device=device(stats))
    if method == "fuse":  # the members' p-values are reported, not ranked column by column
        member_observed = _aggregation.observed_counts(xp, stats, eps, magnitude)
    else:
        member_counts = _aggregation.rank_counts(xp, stats, eps, magnitude)  # (L, 1 + P)
        member_observed = member_counts[:, 0]
        minp = _aggregation.min_pvalue_row(member_counts / columns, xp)
    if method == "minp":
        row, row_magnitude, components = minp, exact, []
    else:
        fused = _aggregation.fuse_row(xp, stats, squared, magnitude, n, m)
        if method == "fuse":
            (row, row_magnitude), components = fused, []
        else:
            standardised = _aggregation.standardised_fuse_row(xp, stats, magnitude, eps)
            rows = xp.concat([fused[0], minp, standardised[0]], axis=0)
            scales = xp.concat([fused[1], exact, standardised[1]], axis=0)
            component_counts = _aggregation.rank_counts(xp, rows, eps, scales)
            row = _aggregation.min_pvalue_row(component_counts / columns, xp)
            row_magnitude = exact
            components = [component_counts[k, 0] for k in range(len(COMPONENTS))]
    count = _aggregation.observed_counts(xp, row, eps, row_magnitude)[0]
    numbers = [count, *(member_observed[k] for k in range(stats.shape[0])), *components]
    # min-p statistics are reported as p-values (small is evidence), as MMDAgg does
    sign = -1.0 if method != "fuse" else 1.0
    return _Outcome(numbers, sign * row[0, 0], sign * row[0, 1:])


@dataclass(frozen=True)
class _Numbers:
    values: list[float]
    bandwidths: tuple[float | None, ...]


def _read_numbers(xp: Any, samples: Any, values: list[Array], widths: list[Any]) -> _Numbers:
    """Every number the result reports, read on the host in one transfer (one
    compute for Dask): the p-values' counts (integers, exact in any float dtype up
    to 2^24 permutations), then the bandwidths that are device values."""
    dtype = samples.dtype
    pending = [xp.reshape(xp.astype(v, dtype), (1,)) for v in values]
    on_device = [k for k, w in enumerate(widths) if w is not None and not isinstance(w, float)]
    pending += [xp.reshape(xp.astype(widths[k], dtype), (1,)) for k in on_device]
    if samples.finite is not None:  # Dask's deferred finiteness check, read with the rest
        pending.append(xp.reshape(xp.astype(samples.finite, dtype), (1,)))
    read = host_floats(xp.concat(pending)) if pending else []
    if samples.finite is not None and read.pop() != 1.0:
        raise ValueError(
            "`x` or `y` contains NaN or inf; clean the data or pass check_finite=False"
        )
    numbers, device_widths = read[: len(values)], iter(read[len(values) :])
    bandwidths = tuple(
        None if w is None else (float(w) if isinstance(w, float) else next(device_widths))
        for w in widths
    )
    return _Numbers(numbers, bandwidths)


def _preset_scaling(chosen: Any, n: int, m: int) -> Callable[[Array], Array]:
    """A preset's report of an estimate: ``scale · value + offset(n, m)``."""
    if chosen is None or (chosen.scale == 1.0 and chosen.offset(n, m) == 0.0):
        return lambda value: value
    offset = chosen.offset(n, m)
    return lambda value: value * chosen.scale + offset


def _cast(xp: Any, value: Array, dtype: Any) -> Array:
    value = as_0d(xp, value)
    return value if value.dtype == dtype else xp.astype(value, dtype)
