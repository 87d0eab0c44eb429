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

from typing import Any, NamedTuple

import numpy as np
from array_api_compat import array_namespace, device

from . import _gram, _plan
from ._algebra import QuadraticStatistic, quadratic_statistic, unbiased_coefficients
from ._checks import check_choice, check_count, check_seed
from ._compat import as_0d, full_precision
from ._docstrings import choices, fill, quoted
from ._dtypes import accumulator_dtype, from_host, index_dtype
from ._registry import adapter_for, gradient_adapter_for, resolve_preset
from ._summation import CompensatedSum
from ._typing import Array
from ._validation import Samples, finalize, prepare_samples
from .kernels import ALIASES, KERNELS, Kernel, Polynomial, as_kernel, has_bandwidth

__all__ = ["ESTIMATORS", "KID", "kid", "mmd", "mmd2", "unbiased_coefficients"]


#: Valid ``estimator`` names with the fewest samples each needs per sample.
ESTIMATORS: dict[str, int] = {"biased": 1, "unbiased": 2, "linear": 2}


def _check_estimator(estimator: str) -> int:
    return ESTIMATORS[check_choice(estimator, "estimator", ESTIMATORS)]


def plan_for(
    samples: Samples,
    n_points: int,
    weight_rows: int,
    memory_budget: int | None,
    block_size: int | None,
    terms: int = 1,
) -> _plan.Plan:
    """The engine's plan for these samples (:func:`mmd_any._plan.make_plan`)."""
    return _plan.make_plan(
        samples.xp,
        samples.device,
        n_points,
        _plan.itemsize(samples.xp, samples.dtype),
        weight_rows=weight_rows,
        terms=terms,
        memory_budget=memory_budget,
        block_size=block_size,
    )


def quadratic(
    gram: _gram.PooledGram,
    statistic: QuadraticStatistic,
    plan: _plan.Plan,
    inputs: tuple[Array, Array] | None = None,
) -> Array:
    """A quadratic statistic (biased or unbiased MMD²) from the engine's forms.

    ``inputs``: the two samples the gram was pooled from; when an autodiff
    library records their gradient and the matrix is one tile, its registered
    gradient adapter differentiates the forms by hand (:mod:`mmd_any._gradient`).
    """
    weights_t = gram.sample_weights(statistic.values)
    exclude = statistic.exclude_diagonal
    forms = None
    if inputs is not None and plan.single_tile(gram.size):
        differentiator = gradient_adapter_for(*inputs)
        if differentiator is not None:
            forms = differentiator.forms(gram, weights_t, statistic, *inputs)
    if forms is None:
        forms = gram.quadratic_forms(weights_t, plan, exclude_diagonal=exclude)
    return statistic.combine(gram.xp, forms)


def _linear(gram: _gram.PooledGram, n: int) -> Array:
    xp = gram.xp
    half = n // 2
    points = gram.points
    x1, x2 = points[0 : 2 * half : 2, :], points[1 : 2 * half : 2, :]
    y1, y2 = points[n : n + 2 * half : 2, :], points[n + 1 : n + 2 * half : 2, :]
    h = gram.paired(x1, x2) + gram.paired(y1, y2) - gram.paired(x1, y2) - gram.paired(x2, y1)
    # float64 where the device has it, else compensated float32 (mmd_any._summation)
    h = xp.reshape(h, (-1,))  # a multi-bandwidth profile is (1, half)
    return CompensatedSum.of(xp, h, device(h)).value(xp) / h.shape[0]


def _estimate(
    samples: Samples,
    kernel: Kernel,
    estimator: str,
    memory_budget: int | None,
    block_size: int | None,
) -> Array:
    """The estimator's value through the engine (or a registered adapter)."""
    n, m = samples.x.shape[0], samples.y.shape[0]
    if estimator == "linear":
        return _linear(_gram.PooledGram(samples.xp, kernel, [samples.x, samples.y]), n)
    statistic = quadratic_statistic(n, m, estimator)
    adapter = adapter_for(samples.x)
    if adapter is not None:
        forms = adapter.quadratic_forms(
            samples.xp, kernel, samples.x, samples.y, statistic, block_size
        )
        value = statistic.combine(samples.xp, forms)
        return _nonnegative(samples.xp, value) if estimator == "biased" else value
    gram = _gram.PooledGram(samples.xp, kernel, [samples.x, samples.y])
    plan = plan_for(samples, n + m, statistic.n_rows, memory_budget, block_size, gram.n_terms)
    value = quadratic(gram, statistic, plan, (samples.x, samples.y))
    return _nonnegative(samples.xp, value) if estimator == "biased" else value


def _nonnegative(xp: Any, value: Array) -> Array:
    """The biased MMD² is a squared norm: a negative value is rounding, reported as 0
    (``clip``: one operation, and its gradient is 0 there)."""
    return xp.clip(value, min=0.0)


def _validate(
    x: Array, y: Array, estimator: str, check_finite: bool, standardize: bool = False
) -> Samples:
    min_size = _check_estimator(estimator)
    samples = prepare_samples(
        x, y, check_finite=check_finite, min_size=min_size, standardize=standardize
    )
    if estimator == "linear" and samples.x.shape[0] != samples.y.shape[0]:
        raise ValueError(
            "the 'linear' estimator pairs the samples: `x` and `y` must have the same "
            f"number of samples, got {samples.x.shape[0]} and {samples.y.shape[0]}"
        )
    return samples


def refuse_preset_bandwidth(preset: Any, bandwidth: Any) -> None:
    """A preset fixes its kernel and bandwidth: ``bandwidth=`` beside it is an error
    that points to :meth:`mmd_any.presets.Preset.with_bandwidth` (the peer's units)."""
    if bandwidth is None:
        return
    if not getattr(preset, "bandwidth_parameter", ""):
        raise ValueError(
            f"`preset` {preset.name!r} fixes the kernel and its bandwidth, and has no "
            "bandwidth to set; pass `kernel` and `bandwidth` without a preset instead"
        )
    raise ValueError(
        f"`preset` {preset.name!r} fixes the kernel and its bandwidth; for another "
        f"bandwidth ({preset.bandwidth_parameter!r}, in the peer's own units) pass "
        f"preset=mmd_any.presets.as_preset({preset.name!r}).with_bandwidth(value)"
    )


def _resolve_preset(
    kernel: str | Kernel | None, estimator: str | None, preset: Any, bandwidth: Any = None
) -> tuple[Kernel, str, Any]:
    if preset is None:
        estimator = "biased" if estimator is None else estimator
        return as_kernel("gaussian" if kernel is None else kernel, bandwidth), estimator, None
    preset = chosen_preset(preset, kernel, estimator, bandwidth)
    return preset.kernel, preset.estimator, preset


def chosen_preset(preset: Any, kernel: Any, estimator: str | None, bandwidth: Any) -> Any:
    """The preset ``preset`` names, refusing a ``kernel``, ``estimator`` or ``bandwidth``
    given beside it (the preset fixes them)."""
    preset = resolve_preset(preset)
    if kernel is not None or estimator is not None:
        raise ValueError(
            f"`preset` {preset.name!r} fixes the kernel and the estimator; pass either "
            "`preset` or `kernel`/`estimator`"
        )
    refuse_preset_bandwidth(preset, bandwidth)
    return preset


@fill(
    KERNEL_NAMES=quoted(KERNELS),
    KERNEL_ALIASES=quoted(ALIASES),
    ESTIMATOR_CHOICES=choices(ESTIMATORS),
    BANDWIDTH_KERNELS=quoted(name for name in KERNELS if has_bandwidth(name)),
    OTHER_KERNELS=quoted(name for name in KERNELS if not has_bandwidth(name)),
)
def mmd2(
    x: Array,
    y: Array,
    *,
    kernel: str | Kernel | None = None,
    bandwidth: Any = None,
    estimator: str | None = None,
    preset: Any = None,
    standardize: bool = False,
    block_size: int | None = None,
    memory_budget: int | None = None,
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
        ({KERNEL_NAMES}; aliases {KERNEL_ALIASES}). Default: Gaussian, median
        bandwidth.
    bandwidth : float, sequence of float, array, str or BandwidthRule, optional
        The bandwidth of the named radial kernel ({BANDWIDTH_KERNELS}; Gaussian
        by default): ``kernel="gaussian",
        bandwidth=1.0`` is ``kernel=Gaussian(1.0)``. Anything the kernels
        accept: a positive float, a sequence of them (the summed kernel),
        ``"median"``, ``"mean"``, a rule of :mod:`mmd_any.bandwidths`, an array
        of the samples' library. None (default): the median rule. Refused
        (``ValueError``) with a Kernel instance (give the bandwidth to the
        instance), with a kernel that has none ({OTHER_KERNELS})
        and with a preset (use :meth:`mmd_any.presets.Preset.with_bandwidth`).
    estimator : {ESTIMATOR_CHOICES}
        V-statistic (≥ 0, the seeds'; the default), U-statistic (unbiased,
        can be < 0), or the linear-time estimator on paired samples (n = m).
    preset : str or Preset, optional
        Another library's convention by name (a key of
        :data:`mmd_any.presets.PRESETS`, such as ``"seed"``, ``"kid"`` or
        ``"geomloss-gaussian"``; the presets guide lists them all) or a
        :class:`mmd_any.presets.Preset`: kernel,
        bandwidth, estimator and scaling reproduce that library's number.
        Excludes ``kernel``, ``bandwidth`` and ``estimator``.
    standardize : bool
        Scale every feature by the pooled sample's mean and standard
        deviation before the kernel (bandwidth rules then see standardised
        data; a fixed bandwidth is in standard deviations).
    block_size : int, optional
        Expert override of the rows per tile of the kernel matrix
        (off-diagonal tiles have ``2 * block_size`` columns). Default: the
        planner's choice (:mod:`mmd_any._plan`): one tile up to 512 pooled
        points and 256-row tiles above on the host CPU; on accelerators and
        JAX the largest tiles within ``memory_budget``. The value is
        independent of the tiling up to rounding.
    memory_budget : int, optional
        Bytes the kernel tiles may take (accelerators and JAX; on the host
        tiles are cache-sized). Default: a quarter of the device's free
        memory where the library reports it (torch CUDA, CuPy, JAX GPU),
        else 1 GiB. Extra memory is O(tile) plus O((n + m)·d); the Gram
        matrix is never built beyond a tile.
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
        The tiles' partial sums are added in float64 where the device has it;
        on a device without float64 (MPS, JAX without x64) in float32 with
        compensation, which adds at most ``u·|S| + γ²_{T−1}·Σ|tile sums|``
        for ``T`` tiles (``u = 2⁻²⁴``; at most ``2u·Σ|tile sums|`` up to 4096
        tiles): the error does not grow with the number of tiles
        (:mod:`mmd_any._summation`).

    Raises
    ------
    ValueError
        Mismatched features, rank > 2, empty or too small samples, NaN/inf,
        different devices, unknown names (``estimator=""`` included), non-positive
        bandwidths, ``bandwidth`` with a Kernel instance, a kernel without
        bandwidth or a preset, ``block_size``/``memory_budget`` below 1, a Dask
        array of unknown chunk sizes, a preset combined with
        ``kernel``/``estimator``, n ≠ m for an equal-size preset.
    TypeError
        Arrays from different libraries, unsupported dtypes or kernels, masked
        arrays, a table with a non-numeric column, a bandwidth array of another
        library than the samples, and a non-integer ``block_size`` or
        ``memory_budget`` (bools and floats, even ``2.0``, are refused; NumPy
        integers are fine).

    Examples
    --------
    >>> import numpy as np
    >>> import mmd_any
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(200, 3)), rng.normal(1.0, size=(300, 3))
    >>> value = mmd_any.mmd2(x, y)
    >>> value.shape, bool(value > 0.1)
    ((), True)
    >>> fixed = mmd_any.mmd2(x, y, kernel="gaussian", bandwidth=1.0)
    >>> bool(fixed == mmd_any.mmd2(x, y, kernel=mmd_any.kernels.Gaussian(1.0)))
    True
    >>> ladder = mmd_any.mmd2(x, y, kernel="laplacian", bandwidth=[0.5, 1.0, 2.0])
    >>> kid = mmd_any.mmd2(x, y, preset="kid")  # torchmetrics' KID on one subset
    """
    kernel, estimator, chosen = _resolve_preset(kernel, estimator, preset, bandwidth)
    block_size = _plan.check_block_size(block_size)
    memory_budget = _plan.check_memory_budget(memory_budget)
    samples = _validate(x, y, estimator, check_finite, standardize)
    n, m = samples.x.shape[0], samples.y.shape[0]
    if chosen is not None and chosen.equal_sizes and n != m:
        raise ValueError(
            f"preset {chosen.name!r} is defined for samples of equal size only, "
            f"got {n} and {m} rows"
        )
    with full_precision(samples.xp, samples.device):
        value = _estimate(samples, kernel, estimator, memory_budget, block_size)
    if chosen is not None:
        value = value * chosen.scale + chosen.offset(n, m)
    return finalize(samples, value, f"the MMD² with {kernel!r}")


def mmd(
    x: Array,
    y: Array,
    *,
    kernel: str | Kernel = "gaussian",
    bandwidth: Any = None,
    standardize: bool = False,
    block_size: int | None = None,
    memory_budget: int | None = None,
    check_finite: bool = True,
) -> Array:
    """Maximum mean discrepancy: ``sqrt(max(biased MMD², 0))``, a metric.

    Parameters are those of :func:`mmd2` (``bandwidth`` beside a kernel name,
    ``standardize``, ...); the estimator is always the biased one, the only one
    that is a (pseudo-)metric.

    Examples
    --------
    >>> import numpy as np
    >>> import mmd_any
    >>> float(mmd_any.mmd(np.zeros((3, 2)), np.zeros((4, 2))))
    0.0
    >>> float(mmd_any.mmd(np.zeros((3, 2)), np.zeros((4, 2)), kernel="rbf", bandwidth=2.0))
    0.0
    """
    squared = mmd2(
        x,
        y,
        kernel=kernel,
        bandwidth=bandwidth,
        standardize=standardize,
        block_size=block_size,
        memory_budget=memory_budget,
        check_finite=check_finite,
    )
    xp = array_namespace(squared)
    return as_0d(xp, xp.sqrt(xp.maximum(squared, xp.zeros_like(squared))))


class KID(NamedTuple):
    """Kernel Inception Distance over random subsets: mean and (population) std."""

    mean: Array
    std: Array


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
    standardize: bool = False,
    block_size: int | None = None,
    memory_budget: int | None = None,
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
        The polynomial kernel (defaults: 3, ``1/d``, 1). It has no bandwidth,
        so there is no ``bandwidth`` argument.
    standardize : bool
        Scale every feature by the pooled sample's mean and standard
        deviation before the kernel (bandwidth rules then see standardised
        data; a fixed bandwidth is in standard deviations). Off by default, as
        in torchmetrics.
    block_size, memory_budget, check_finite
        As for :func:`mmd2`.

    Returns
    -------
    KID
        ``(mean, std)``, 0-d arrays in the inputs' namespace and device.

    Raises
    ------
    TypeError
        A non-integer ``subsets``/``subset_size``/``degree`` (see
        :func:`mmd2` for what an integer is), a ``seed`` that is not None, a
        non-negative integer, a SeedSequence or a Generator, a non-real
        ``gamma``/``coef0``, and the errors of :func:`mmd2`.
    ValueError
        ``subsets`` < 1, ``subset_size`` outside ``[2, min(n, m)]``, a negative
        ``seed``, and the errors of :func:`mmd2`.

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
    subsets = check_count(subsets, "subsets", 1)
    subset_size = check_count(subset_size, "subset_size", 2)
    seed = check_seed(seed)
    kernel = Polynomial(degree=degree, gamma=gamma, coef0=coef0)
    block_size = _plan.check_block_size(block_size)
    memory_budget = _plan.check_memory_budget(memory_budget)
    samples = prepare_samples(x, y, check_finite=check_finite, min_size=2, standardize=standardize)
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
    dev = device(samples.x)
    rows_on_device = from_host(xp, rows, index_dtype(xp, dev), dev)  # int32 without x64
    statistic = quadratic_statistic(subset_size, subset_size, "unbiased")
    plan = plan_for(samples, 2 * subset_size, statistic.n_rows, memory_budget, block_size)
    acc_dtype = accumulator_dtype(xp, samples.dtype, device(samples.x))
    values = []
    with full_precision(xp, samples.device):
        for k in range(subsets):
            x_sub = xp.take(samples.x, rows_on_device[k, 0, :], axis=0)
            y_sub = xp.take(samples.y, rows_on_device[k, 1, :], axis=0)
            gram = _gram.PooledGram(xp, kernel, [x_sub, y_sub])
            values.append(xp.astype(quadratic(gram, statistic, plan), acc_dtype))
    stacked = xp.stack(values)
    mean = CompensatedSum.of(xp, stacked, dev).value(xp) / subsets
    std = xp.sqrt(xp.mean((stacked - mean) ** 2))
    what = f"the KID with {kernel!r}"
    return KID(finalize(samples, mean, what), finalize(samples, std, what))
