"""Where two samples differ: the most discrepant rows and the features that moved.

:func:`explain` answers the question after a drift alarm or a rejected test. The
rows: the witness function (:func:`mmd_any.witness`) is largest at the points of
``x`` in regions ``y`` under-populates and most negative at the points of ``y``
that ``x`` lacks. The features: each feature's own marginal MMD² (a Gaussian
kernel at that feature's median bandwidth, :mod:`mmd_any._marginals`), its
permutation p-value from one set of permutations shared by all features, and a
Westfall–Young single-step min-P adjustment of those p-values, which controls
the family-wise error rate over the features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _aggregation, _plan
from ._checks import check_count, check_seed
from ._compat import full_precision, host_floats
from ._docstrings import fill, quoted
from ._dtypes import from_host
from ._marginals import marginal_statistics, median_bandwidths
from ._tables import column_names
from ._typing import Array
from ._validation import finalize, prepare_samples
from .kernels import ALIASES, KERNELS, Kernel, as_kernel
from .two_sample import check_test_options, permutation_labels
from .witness import witness_values

__all__ = ["CORRECTION", "Explanation", "explain"]

#: The multiplicity correction of :attr:`Explanation.feature_pvalues`.
CORRECTION = (
    "Westfall-Young single-step min-P over the features, from the shared permutations: "
    "controls the family-wise error rate (exactly under the global null; strongly "
    "under subset pivotality)"
)

#: Permutation rows per block of weights on the device.
_ROWS_PER_BLOCK = 256

#: The largest biased marginal MMD² of weights summing to ±1 per sample and
#: kernel values in [0, 1]: the magnitude the tie tolerance is relative to.
_MARGINAL_MAGNITUDE = 4.0


@dataclass(frozen=True)
class Explanation:
    """Where ``x`` and ``y`` differ (:func:`explain`).

    Arrays are of the inputs' library, on their device; the indices are integer
    arrays. Features are numbered as the columns of the inputs.

    Attributes
    ----------
    witness : array, shape (n + m,)
        The witness at the pooled rows ``[x; y]`` (:func:`mmd_any.witness`).
    x_rows : array, shape (min(top, n),)
        Rows of ``x`` with the largest witness, the largest first: where ``x``
        has mass that ``y`` lacks.
    y_rows : array, shape (min(top, m),)
        Rows of ``y`` with the most negative witness, the most negative first.
    features : array, shape (d,)
        Every feature, the most evidence of a change first: by corrected
        p-value, then raw p-value, then standardised score.
    feature_scores : array, shape (d,)
        Each feature's marginal biased MMD² (Gaussian kernel, the feature's
        own median bandwidth), by feature number.
    feature_pvalues : array, shape (d,)
        The permutation p-values corrected for multiplicity (:data:`CORRECTION`).
    feature_raw_pvalues : array, shape (d,)
        Each feature's own permutation p-value ``(1 + #{T_b ≥ T}) / (1 + B)``.
    feature_zscores : array, shape (d,)
        ``(score − mean) / std`` of the score against its permutation null.
    feature_bandwidths : array, shape (d,)
        The median bandwidth of each feature.
    feature_names : tuple of str or None
        The column names when the inputs were tables.
    n_permutations : int
    alpha : float
        The family-wise level :attr:`changed_features` uses.
    correction : str
        What :attr:`feature_pvalues` controls.
    kernel : Kernel
        The witness's kernel.
    """

    witness: Array
    x_rows: Array
    y_rows: Array
    features: Array
    feature_scores: Array
    feature_pvalues: Array
    feature_raw_pvalues: Array
    feature_zscores: Array
    feature_bandwidths: Array
    feature_names: tuple[str, ...] | None
    n_permutations: int
    alpha: float
    kernel: Kernel
    correction: str = field(default=CORRECTION)

    @property
    def changed_features(self) -> list[int]:
        """The features whose corrected p-value is at most ``alpha``, ranked."""
        pvalues = host_floats(self.feature_pvalues)
        return [j for j in _host_ints(self.features) if pvalues[j] <= self.alpha]

    def feature_label(self, j: int) -> str:
        """Feature ``j``'s column name, or ``"feature j"``."""
        return self.feature_names[j] if self.feature_names else f"feature {j}"

    def plot(self, x: Array, y: Array, **options: Any) -> Any:
        """The picture of :func:`mmd_any.plotting.plot_explanation` (``x``, ``y``:
        the samples explained); needs matplotlib."""
        from .plotting import plot_explanation

        return plot_explanation(self, x, y, **options)

    def to_dict(self) -> dict[str, Any]:
        """The explanation as plain Python data (JSON-ready)."""
        scores, pvalues = host_floats(self.feature_scores), host_floats(self.feature_pvalues)
        raw, zscores = host_floats(self.feature_raw_pvalues), host_floats(self.feature_zscores)
        bandwidths = host_floats(self.feature_bandwidths)
        ranked = [
            {
                "feature": j,
                "name": self.feature_label(j),
                "score": scores[j],
                "pvalue": pvalues[j],
                "raw_pvalue": raw[j],
                "zscore": zscores[j],
                "bandwidth": bandwidths[j],
            }
            for j in _host_ints(self.features)
        ]
        return {
            "x_rows": _host_ints(self.x_rows),
            "y_rows": _host_ints(self.y_rows),
            "features": ranked,
            "changed_features": self.changed_features,
            "n_permutations": self.n_permutations,
            "alpha": self.alpha,
            "correction": self.correction,
            "kernel": repr(self.kernel),
        }


def _host_ints(a: Array) -> list[int]:
    return [int(v) for v in host_floats(a)]


def _ranking(raw: list[float], adjusted: list[float], zscores: list[float]) -> np.ndarray:
    """Features by corrected p-value, then raw p-value, then z-score (descending)."""
    z = np.nan_to_num(np.asarray(zscores), nan=-np.inf)
    return np.lexsort((-z, np.asarray(raw), np.asarray(adjusted)))


def _zscores(xp: Any, stats: Array) -> Array:
    null = stats[:, 1:]
    spread = xp.std(null, axis=1)
    centred = stats[:, 0] - xp.mean(null, axis=1)
    safe = xp.where(spread > 0, spread, xp.ones_like(spread))
    return xp.where(spread > 0, centred / safe, xp.zeros_like(centred))


def _adjusted_counts(xp: Any, counts: Array) -> tuple[Array, Array]:
    """Raw and min-P adjusted numerators of the observed column, from the ranks of
    every column ``(d, 1 + B)``: ``#{b : min_k count[k, b] ≤ count[j, 0]}``."""
    smallest = xp.min(counts, axis=0)  # (1 + B,): each permutation's min-p numerator
    observed = counts[:, 0]
    adjusted = xp.sum(xp.astype(smallest[None, :] <= observed[:, None], counts.dtype), axis=1)
    return observed, adjusted


@fill(KERNEL_NAMES=quoted(KERNELS), KERNEL_ALIASES=quoted(ALIASES))
def explain(
    x: Array,
    y: Array,
    *,
    top: int = 10,
    kernel: str | Kernel = "gaussian",
    bandwidth: Any = None,
    n_permutations: int = 200,
    alpha: float = 0.05,
    seed: int | np.random.SeedSequence | None = None,
    standardize: bool = False,
    block_size: int | None = None,
    memory_budget: int | None = None,
    check_finite: bool = True,
) -> Explanation:
    """Where two samples differ: the most discrepant rows and the features that moved.

    Parameters
    ----------
    x : array, shape (n, d) or (n,)
        First sample (any array-API array, nested sequence or table).
    y : array, shape (m, d) or (m,)
        Second sample: the same library, device and columns.
    top : int
        How many rows of each sample to return (at most ``n`` and ``m``).
    kernel : str or Kernel
        The witness's kernel: a :mod:`mmd_any.kernels` instance or its name
        ({KERNEL_NAMES}; aliases {KERNEL_ALIASES}); default Gaussian at the
        median bandwidth, resolved as :func:`mmd_any.mmd2` resolves it.
    bandwidth : optional
        The bandwidth of a named radial kernel (see :func:`mmd_any.mmd2`).
    n_permutations : int
        Permutations shared by every feature's test.
    alpha : float
        Family-wise level of :attr:`Explanation.changed_features`.
    seed : int, SeedSequence or None
        Seeds the permutations (the same as :func:`mmd_any.mmd_test`'s for the
        same seed) and the subsample of the features' medians.
    standardize : bool
        Scale every feature by the pooled mean and standard deviation first (as
        :func:`mmd_any.mmd2`); the feature statistics do not change (each has
        its own median bandwidth), the witness's kernel sees standard units.
    block_size, memory_budget : int, optional
        Tile rows and memory budget (see :func:`mmd_any.mmd2`).
    check_finite : bool
        Raise ``ValueError`` on NaN/inf.

    Returns
    -------
    Explanation

    Raises
    ------
    ValueError, TypeError
        As :func:`mmd_any.mmd2` for bad samples and kernels; ``top`` or
        ``n_permutations`` below 1, ``alpha`` outside (0, 1), a bad ``seed``.

    Notes
    -----
    Each feature's statistic is its biased MMD² with ``exp(−(a−b)²/(2σ_j²))``;
    all of them, under all permutations, come from matrix products of the
    permutations' weights with Fourier features of the features (a trapezoidal
    rule for Bochner's integral, each kernel value within 1e-10, so each score
    within 4e-10 of the exact one; :mod:`mmd_any._marginals`). The p-values are read on the
    host (they rank the features); the arrays stay on the inputs' device.

    Examples
    --------
    >>> import numpy as np
    >>> import mmd_any
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(300, 5))
    >>> y = rng.normal(size=(300, 5))
    >>> y[:, 3] += 1.0                                   # feature 3 moved
    >>> y[:30] = rng.normal(8.0, 0.2, size=(30, 5))      # and 30 rows far away
    >>> result = mmd_any.explain(x, y, top=5, seed=0)
    >>> all(int(i) < 30 for i in result.y_rows)          # all from the planted rows
    True
    >>> result.changed_features[0]
    3
    """
    kernel = as_kernel(kernel, bandwidth)
    top = check_count(top, "top", 1)
    n_permutations, alpha = check_test_options(n_permutations, alpha)
    seed = check_seed(seed)
    block_size = _plan.check_block_size(block_size)
    memory_budget = _plan.check_memory_budget(memory_budget)
    names = column_names(x)
    samples = prepare_samples(x, y, check_finite=check_finite, standardize=standardize)
    xp, dev, n, m = samples.xp, samples.device, samples.x.shape[0], samples.y.shape[0]
    labels = permutation_labels(n, m, n_permutations, seed, rows_per_block=_ROWS_PER_BLOCK)
    with full_precision(xp, dev):
        witness = witness_values(samples, kernel, None, memory_budget, block_size)
        pooled = xp.concat([samples.x, samples.y], axis=0)
        bandwidths = median_bandwidths(xp, pooled, seed)
        weights = [
            from_host(xp, rows * (1.0 / n + 1.0 / m) - 1.0 / m, samples.dtype, dev)
            for rows in labels
        ]
        stats = marginal_statistics(xp, pooled, bandwidths, weights, memory_budget)
    eps = float(xp.finfo(samples.dtype).eps)
    magnitude = xp.full((stats.shape[0],), _MARGINAL_MAGNITUDE, dtype=stats.dtype, device=dev)
    counts = _aggregation.rank_counts(xp, stats, eps, magnitude)
    observed, adjusted = _adjusted_counts(xp, counts)
    total = float(n_permutations + 1)
    raw_pvalues, pvalues = observed / total, adjusted / total
    zscores = _zscores(xp, stats)
    order = _ranking(host_floats(raw_pvalues), host_floats(pvalues), host_floats(zscores))
    index = xp.asarray(order, device=dev)
    x_rows = xp.argsort(-witness[:n], stable=True)[: min(top, n)]
    y_rows = xp.argsort(witness[n:], stable=True)[: min(top, m)]
    result = {
        "witness": witness,
        "feature_scores": stats[:, 0],
        "feature_pvalues": pvalues,
        "feature_raw_pvalues": raw_pvalues,
        "feature_zscores": zscores,
        "feature_bandwidths": bandwidths,
    }
    for key, value in result.items():
        result[key] = finalize(samples, value, f"the explanation's {key}")
    return Explanation(
        x_rows=x_rows,
        y_rows=y_rows,
        features=index,
        feature_names=names,
        n_permutations=n_permutations,
        alpha=alpha,
        kernel=kernel,
        **result,
    )
