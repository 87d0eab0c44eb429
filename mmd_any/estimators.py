"""MMD² estimators: biased (V), unbiased (U) and linear-time.

With ``S_ab = Σ_{i∈a, j∈b} k(·_i, ·_j)`` the block sums of the pooled kernel
matrix and ``T_a = Σ_{i∈a} k(a_i, a_i)`` its diagonal sums:

* ``biased``   ``S_xx/n² + S_yy/m² − 2 S_xy/(n m)``  (the seeds' V-statistic)
* ``unbiased`` ``(S_xx − T_x)/(n(n−1)) + (S_yy − T_y)/(m(m−1)) − 2 S_xy/(n m)``
* ``linear``   ``mean_i h_i`` over the ``⌊n/2⌋`` disjoint pairs, with
  ``h_i = k(x_{2i}, x_{2i+1}) + k(y_{2i}, y_{2i+1}) − k(x_{2i}, y_{2i+1}) −
  k(x_{2i+1}, y_{2i})`` (Gretton et al., JMLR 2012, Lemma 14); needs n = m.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from array_api_compat import array_namespace, device, is_dask_array

from . import _dask, _gram
from ._namespace import Samples, accumulator_dtype, as_0d, finalize, prepare_samples
from .kernels import Kernel, Polynomial, as_kernel
from .presets import Preset, as_preset

__all__ = ["ESTIMATORS", "KID", "kid", "mmd", "mmd2", "unbiased_coefficients"]

Array = Any

#: Valid ``estimator`` names with the fewest samples each needs per sample.
ESTIMATORS: dict[str, int] = {"biased": 1, "unbiased": 2, "linear": 2}


def _check_estimator(estimator: str) -> int:
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown `estimator` {estimator!r}; valid names are {sorted(ESTIMATORS)}")
    return ESTIMATORS[estimator]


def unbiased_coefficients(n: int, m: int) -> tuple[float, float, float]:
    """``γ, A, B`` with which the U-statistic is one quadratic form plus constants.

    The U-statistic is ``Σ_{i≠j} c_ij K_ij`` with ``c_ij = a = 1/(n(n−1))`` within
    ``x``, ``b = 1/(m(m−1))`` within ``y`` and ``−1/(nm)`` across. Writing
    ``c_ij = γ + u_i u_j`` with ``u = √A`` on ``x`` and ``−√B`` on ``y`` needs
    ``γ + A = a``, ``γ + B = b`` and ``γ − √(AB) = −1/(nm)``, solved by
    ``γ = (ab − 1/(nm)²) / (a + b + 2/(nm))``. Then, with ``K₀`` the kernel
    matrix with its diagonal set to 0, ``U = uᵀK₀u + γ 1ᵀK₀1``.
    """
    a, b, cross = 1.0 / (n * (n - 1)), 1.0 / (m * (m - 1)), 1.0 / (n * m)
    gamma = (a * b - cross**2) / (a + b + 2 * cross)
    return gamma, a - gamma, b - gamma


def _quadratic(gram: _gram.PooledGram, n: int, m: int, unbiased: bool, block: int) -> Array:
    """Biased MMD² as one quadratic form ``wᵀKw``, ``w = [1/n …, −1/m …]``;
    the unbiased one as ``uᵀK₀u + γ 1ᵀK₀1`` (:func:`unbiased_coefficients`).
    """
    if not unbiased:
        signed = gram.sample_weights_t([[1.0 / n, -1.0 / m]])
        return gram.quadratic_forms(signed, block)[0]
    gamma, big_a, big_b = unbiased_coefficients(n, m)
    weights_t = gram.sample_weights_t([[math.sqrt(big_a), -math.sqrt(big_b)], [1.0, 1.0]])
    forms = gram.quadratic_forms(weights_t, block, exclude_diagonal=True)
    return forms[0] + gamma * forms[1]


def _linear(gram: _gram.PooledGram, n: int) -> Array:
    xp = gram.xp
    half = n // 2
    points = gram.points
    x1, x2 = points[0 : 2 * half : 2, :], points[1 : 2 * half : 2, :]
    y1, y2 = points[n : n + 2 * half : 2, :], points[n + 1 : n + 2 * half : 2, :]
    h = gram.paired(x1, x2) + gram.paired(y1, y2) - gram.paired(x1, y2) - gram.paired(x2, y1)
    return xp.mean(xp.astype(h, accumulator_dtype(xp, h.dtype, device(h))))


def _validate(x: Array, y: Array, estimator: str, check_finite: bool) -> Samples:
    min_size = _check_estimator(estimator)
    samples = prepare_samples(x, y, check_finite=check_finite, min_size=min_size)
    if estimator == "linear" and samples.x.shape[0] != samples.y.shape[0]:
        raise ValueError(
            "the 'linear' estimator pairs the samples: `x` and `y` must have the same "
            f"number of samples, got {samples.x.shape[0]} and {samples.y.shape[0]}"
        )
    return samples


def _resolve_preset(
    kernel: str | Kernel | None, estimator: str | None, preset: str | Preset | None
) -> tuple[Kernel, str, Preset | None]:
    if preset is None:
        return as_kernel("gaussian" if kernel is None else kernel), estimator or "biased", None
    preset = as_preset(preset)
    if kernel is not None or estimator is not None:
        raise ValueError(
            f"`preset` {preset.name!r} fixes the kernel and the estimator; pass either "
            "`preset` or `kernel`/`estimator`"
        )
    return preset.kernel, preset.estimator, preset


def mmd2(
    x: Array,
    y: Array,
    *,
    kernel: str | Kernel | None = None,
    estimator: str | None = None,
    preset: str | Preset | None = None,
    block_size: int | None = None,
    check_finite: bool = True,
) -> Array:
    """Squared maximum mean discrepancy between two samples.

    Parameters
    ----------
    x : array, shape (n, d) or (n,)
        First sample; any array-API array (NumPy, PyTorch, CuPy, JAX, Dask,
        array-api-strict) or nested Python sequences (read as NumPy).
    y : array, shape (m, d) or (m,)
        Second sample, same library, device and number of features.
    kernel : str or Kernel
        A :mod:`mmd_any.kernels` instance or its lower-case name
        (``"gaussian"``, ``"laplacian"``, ``"exponential"``, ``"energy"``,
        ``"linear"``, ``"polynomial"``, ``"inverse_multiquadric"``).
        Default: Gaussian, median bandwidth.
    estimator : {"biased", "unbiased", "linear"}
        V-statistic (≥ 0, the seeds'; the default), U-statistic (unbiased,
        can be < 0), or the linear-time estimator on paired samples (n = m).
    preset : str or Preset, optional
        Another library's convention by name (``"seed"``, ``"tllib"``,
        ``"kid"``, ``"alibi"``, ``"alibi-keops"``, ``"geomloss-gaussian"``,
        ``"geomloss-laplacian"``, ``"geomloss-energy"``, ``"mmdagg-gaussian"``,
        ``"mmdagg-laplace"``) or a :class:`mmd_any.presets.Preset`: kernel,
        bandwidth, estimator and scaling reproduce that library's number.
        Excludes ``kernel`` and ``estimator``.
    block_size : int, optional
        Rows per tile of the kernel matrix (default 256); off-diagonal tiles
        have ``2 * block_size`` columns. Extra memory is O(block_size²) plus
        O((n + m)·d); the value is independent of it up to rounding.
    check_finite : bool
        Raise ``ValueError`` on NaN/inf. This costs one reduction read on the
        host; pass False in training loops. For lazy arrays (Dask, traced JAX)
        the check is deferred: the result is NaN if an input was not finite.

    Returns
    -------
    array, 0-d
        MMD² in the inputs' namespace and on their device, in the promoted
        floating dtype of the inputs (integers become the default float;
        float16/bfloat16 are computed in float32 and returned in their dtype).

    Raises
    ------
    ValueError
        Mismatched features, rank > 2, empty or too small samples, NaN/inf,
        different devices, unknown names, non-positive bandwidths, a preset
        combined with ``kernel``/``estimator``, n ≠ m for an equal-size preset.
    TypeError
        Arrays from different libraries, unsupported dtypes or kernels.

    Examples
    --------
    >>> import numpy as np
    >>> import mmd_any
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(200, 3)), rng.normal(1.0, size=(300, 3))
    >>> value = mmd_any.mmd2(x, y)
    >>> value.shape, bool(value > 0.1)
    ((), True)
    >>> kid = mmd_any.mmd2(x, y, preset="kid")  # torchmetrics' KID on one subset
    """
    kernel, estimator, chosen = _resolve_preset(kernel, estimator, preset)
    block = _gram.check_block_size(block_size)
    samples = _validate(x, y, estimator, check_finite)
    n, m = samples.x.shape[0], samples.y.shape[0]
    if chosen is not None and chosen.equal_sizes and n != m:
        raise ValueError(
            f"preset {chosen.name!r} is defined for samples of equal size only, "
            f"got {n} and {m} rows"
        )
    if estimator != "linear" and is_dask_array(samples.x):
        value = _dask.quadratic(
            samples.xp, kernel, samples.x, samples.y, estimator == "unbiased", block
        )
    else:
        gram = _gram.PooledGram(samples.xp, kernel, [samples.x, samples.y])
        if estimator == "linear":
            value = _linear(gram, n)
        else:
            value = _quadratic(gram, n, m, estimator == "unbiased", block)
    if chosen is not None:
        value = value * chosen.scale + chosen.offset(n, m)
    return finalize(samples, value)


def mmd(
    x: Array,
    y: Array,
    *,
    kernel: str | Kernel = "gaussian",
    block_size: int | None = None,
    check_finite: bool = True,
) -> Array:
    """Maximum mean discrepancy: ``sqrt(max(biased MMD², 0))``, a metric.

    Parameters are those of :func:`mmd2`; the estimator is always the biased
    one, the only one that is a (pseudo-)metric.

    Examples
    --------
    >>> import numpy as np
    >>> import mmd_any
    >>> float(mmd_any.mmd(np.zeros((3, 2)), np.zeros((4, 2))))
    0.0
    """
    squared = mmd2(x, y, kernel=kernel, block_size=block_size, check_finite=check_finite)
    xp = array_namespace(squared)
    return as_0d(xp, xp.sqrt(xp.maximum(squared, xp.zeros_like(squared))))


class KID(NamedTuple):
    """Kernel Inception Distance over random subsets: mean and (population) std."""

    mean: Array
    std: Array


def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    return value


def kid(
    x: Array,
    y: Array,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int | None = None,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    block_size: int | None = None,
    check_finite: bool = True,
) -> KID:
    """Kernel Inception Distance (Bińkowski et al., 2018) as torchmetrics computes it.

    For each of ``subsets`` rounds, ``subset_size`` rows of ``x`` and then of
    ``y`` are drawn without replacement and the unbiased MMD² with the kernel
    ``(γ x·y + c)^p`` (the ``"kid"`` preset) is computed; the result is the mean
    and the population standard deviation (``ddof=0``, as torchmetrics and
    torch-fidelity report it) of those values. KID is an unbiased estimate and
    can be slightly negative when the two distributions are close.

    Parameters
    ----------
    x, y : array, shape (n, d) and (m, d)
        Features (for example Inception pool features of real and generated
        images), any array-API library.
    subsets : int
        Number of random subsets (torchmetrics' default 100).
    subset_size : int
        Rows per subset from each sample (default 1000); at most ``min(n, m)``.
    seed : int, optional
        Seed of ``numpy.random.default_rng`` that draws the subsets (the row
        indices are drawn on the host and moved to the device once).
    degree, gamma, coef0 : int, float or None, float
        The polynomial kernel (defaults: 3, ``1/d``, 1).
    block_size, check_finite
        As for :func:`mmd2`.

    Returns
    -------
    KID
        ``(mean, std)``, 0-d arrays in the inputs' namespace and device.

    Examples
    --------
    >>> import numpy as np
    >>> import mmd_any
    >>> rng = np.random.default_rng(0)
    >>> real, fake = rng.normal(size=(500, 8)), rng.normal(0.5, size=(400, 8))
    >>> mean, std = mmd_any.kid(real, fake, subsets=10, subset_size=100, seed=0)
    >>> bool(mean > 3 * std)
    True
    """
    subsets = _check_positive_int(subsets, "subsets")
    subset_size = _check_positive_int(subset_size, "subset_size")
    kernel = Polynomial(degree=degree, gamma=gamma, coef0=coef0)
    block = _gram.check_block_size(block_size)
    samples = prepare_samples(x, y, check_finite=check_finite, min_size=2)
    xp = samples.xp
    n, m = samples.x.shape[0], samples.y.shape[0]
    if subset_size < 2 or subset_size > min(n, m):
        raise ValueError(
            f"`subset_size` must be between 2 and the smaller sample size {min(n, m)}, "
            f"got {subset_size}"
        )
    rng = np.random.default_rng(seed)
    rows = np.empty((subsets, 2, subset_size), dtype=np.int64)
    for k in range(subsets):
        rows[k, 0] = rng.choice(n, subset_size, replace=False)
        rows[k, 1] = rng.choice(m, subset_size, replace=False)
    rows_on_device = xp.asarray(rows, device=device(samples.x))
    values = []
    for k in range(subsets):
        x_sub = xp.take(samples.x, rows_on_device[k, 0, :], axis=0)
        y_sub = xp.take(samples.y, rows_on_device[k, 1, :], axis=0)
        gram = _gram.PooledGram(xp, kernel, [x_sub, y_sub])
        values.append(_quadratic(gram, subset_size, subset_size, True, block))
    stacked = xp.stack(values)
    mean = xp.mean(stacked)
    std = xp.sqrt(xp.mean((stacked - mean) ** 2))
    return KID(finalize(samples, mean), finalize(samples, std))
