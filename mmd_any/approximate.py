"""Random Fourier feature (RFF) approximation of the MMD (Rahimi & Recht, 2007).

A shift-invariant kernel with ``k(0) = 1`` is the characteristic function of a
probability measure: ``k(x − y) = E_ω cos(ω·(x − y))``, with ``ω ~ N(0, I/σ²)``
for the Gaussian ``exp(−‖x−y‖²/(2σ²))`` and independent Cauchy coordinates of
scale ``1/σ`` for the L1 Laplacian ``exp(−‖x−y‖₁/σ)``. With ``F`` frequencies
``ω_j`` per bandwidth and the features ``φ(z) = [cos(Ωz), sin(Ωz)]/√F``,

``MMD²_rff = ‖mean φ(x) − mean φ(y)‖² = Σ_k (1/F) Σ_j |mean_x e^{iω_kj·x} − mean_y e^{iω_kj·y}|²``

is an **unbiased** estimate of the biased (V-statistic) MMD² with the exact
kernel (a sum over ``L`` bandwidths), for O((n + m)·D·d) time and O(D) state,
``D = n_features = 2·L·F``.

Error bound. The ``L·F = D/2`` terms are independent given the data and each
lies in ``[0, 4/F]``, so by Hoeffding's inequality, with probability ``1 − δ``
over the frequencies,

``|MMD²_rff − MMD²_biased| ≤ 4·L·sqrt(log(2/δ) / D)``,

and its standard deviation is at most ``2·√2·L / √D``: the error shrinks like
``1/√D`` (tested) and does not grow with n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import device

from ._checks import check_count, check_real, check_seed
from ._compat import full_precision
from ._dtypes import from_host
from ._plan import check_memory_budget, feature_rows, itemsize
from ._scaling import resolve_parameters
from ._summation import CompensatedSum
from ._typing import Array
from ._validation import finalize, prepare_samples
from .bandwidths import Sigmas
from .kernels import Gaussian, Kernel, Laplacian, as_kernel

__all__ = ["FourierFeatures", "mmd2_rff", "rff_error_bound"]


def rff_error_bound(n_features: int, n_bandwidths: int = 1, delta: float = 0.05) -> float:
    """Hoeffding bound on ``|MMD²_rff − MMD²_biased|`` that holds with probability ``1 − δ``.

    Examples
    --------
    >>> from mmd_any.approximate import rff_error_bound
    >>> round(rff_error_bound(1024), 4)
    0.2401

    Raises
    ------
    TypeError
        Non-integer ``n_features``/``n_bandwidths`` or a non-real ``delta``.
    ValueError
        ``n_features`` or ``n_bandwidths`` < 1, ``delta`` outside (0, 1).
    """
    n_features = check_count(n_features, "n_features", 1)
    n_bandwidths = check_count(n_bandwidths, "n_bandwidths", 1)
    delta = check_real(delta, "delta", lower=0.0, upper=1.0)
    return 4.0 * n_bandwidths * math.sqrt(math.log(2.0 / delta) / n_features)


def _check_n_features(n_features: object, n_bandwidths: int) -> int:
    n_features = check_count(n_features, "n_features", 2)
    if n_features < 2 * n_bandwidths:
        raise ValueError(
            f"`n_features` must be at least 2 per bandwidth ({2 * n_bandwidths} for "
            f"{n_bandwidths} bandwidths), got {n_features}"
        )
    return n_features


def _spectral_sampler(kernel: Kernel) -> str:
    if isinstance(kernel, Gaussian):
        return "normal"
    if isinstance(kernel, Laplacian):
        return "cauchy"
    raise TypeError(
        "random Fourier features need a shift-invariant kernel with a known spectral "
        f"measure: Gaussian or Laplacian, got {type(kernel).__name__}"
    )


@dataclass(frozen=True)
class FourierFeatures:
    """A drawn feature map ``z ↦ [cos(Ω(z − shift)), sin(Ω(z − shift))]/√F`` (internal).

    Attributes
    ----------
    frequencies : array, shape (d, L·F)
        Columns ``ω_kj`` (already divided by their bandwidth), on the data's device.
    weights : array, shape (L·F,)
        ``1/√F`` per column.
    shift : array, shape (1, d), or None
        Subtracted before projecting: a common shift leaves the MMD unchanged
        and keeps ``ω·z`` small (float32 phases lose digits for large offsets).
    scale : array or float, optional
        The exact power of two the data is divided by first (the frequencies
        were drawn for bandwidths divided by it; :mod:`mmd_any._scaling`), so
        that no bandwidth, frequency or phase leaves the float range.
    """

    frequencies: Array
    weights: Array
    shift: Array | None
    scale: Array | float | None = None

    def feature_sums(self, xp: Any, z: Array, memory_budget: int | None = None) -> Array:
        """``Σ_rows φ(z)`` as a ``(2, L·F)`` array (cos and sin rows), in float64
        where the device has it, computed in row blocks the planner sizes
        (:func:`mmd_any._plan.feature_rows`). Without float64 the blocks' sums
        are added with compensation (:class:`mmd_any._summation.CompensatedSum`):
        the error is that of one block plus ``u·|S| + γ²_{B−1}·Σ|block sums|``
        for ``B`` blocks, whatever the number of rows."""
        return self.weigh(xp, self.feature_totals(xp, z, memory_budget))

    def weigh(self, xp: Any, totals: CompensatedSum) -> Array:
        """The feature sums from :meth:`feature_totals` (times ``1/√F``)."""
        total = totals.value(xp)
        return total * xp.astype(self.weights, total.dtype)

    def feature_totals(self, xp: Any, z: Array, memory_budget: int | None = None) -> CompensatedSum:
        """The unweighted ``[Σ cos, Σ sin]`` of :meth:`feature_sums`, as a running sum
        that further chunks can be added to (:class:`mmd_any.StreamingMMD`)."""
        if self.scale is not None:
            z = z / self.scale
        if self.shift is not None:
            z = z - self.shift
        n_freq = int(self.frequencies.shape[1])
        rows = feature_rows(xp, device(z), n_freq, itemsize(xp, z.dtype), memory_budget)
        total = None
        n_rows = z.shape[0]
        for start in range(0, n_rows, rows):
            phases = z[start : min(n_rows, start + rows), :] @ self.frequencies
            part = xp.stack([xp.sum(xp.cos(phases), axis=0), xp.sum(xp.sin(phases), axis=0)])
            if total is None:
                total = CompensatedSum.of(xp, [part], device(z))
            else:
                total = total.plus(xp, part)
        return total


def draw_features(
    xp: Any,
    kernel: Kernel,
    params: list[Sigmas],
    n_features: int,
    seed: int | None,
    like: Array,
    shift: Array | None,
    scale: Array | float | None = None,
) -> FourierFeatures:
    """Draw the frequencies for ``kernel`` with resolved bandwidths ``params`` (internal).

    Standard normal (or Cauchy) directions are drawn on the host with
    ``numpy.random.default_rng(seed)``, moved to the device once, and divided
    there by the bandwidths, which may be device arrays: no synchronisation.
    """
    sampler = _spectral_sampler(kernel)
    bandwidths = [(group.base, scale) for group in params for scale in group.scales]
    n_features = _check_n_features(n_features, len(bandwidths))
    per_bandwidth = n_features // (2 * len(bandwidths))
    rng = np.random.default_rng(seed)
    dim, dev, dtype = like.shape[1], device(like), like.dtype
    blocks = []
    for base, ratio in bandwidths:
        if sampler == "normal":
            directions = rng.standard_normal((dim, per_bandwidth))
        else:
            directions = rng.standard_cauchy((dim, per_bandwidth))
        blocks.append(from_host(xp, directions, dtype, dev) / (base * ratio))
    frequencies = blocks[0] if len(blocks) == 1 else xp.concat(blocks, axis=1)
    weights = xp.full(
        (frequencies.shape[1],), 1.0 / math.sqrt(per_bandwidth), dtype=dtype, device=dev
    )
    return FourierFeatures(frequencies, weights, shift, scale)


def features_for(
    xp: Any, kernel: Kernel, z: Array, sizes: list[int] | None, n_features: int, seed: int | None
) -> FourierFeatures:
    """Resolve the bandwidths on the pooled sample ``z`` and draw the features (internal)."""
    _spectral_sampler(kernel)
    points, params, scale = resolve_parameters(xp, kernel, z, sizes)
    shift = points.shift
    if shift is None:  # the L1 kernel's points are not centred: the phases still are
        shift = xp.mean(points.scaled, axis=0, keepdims=True)
    return draw_features(xp, kernel, params, n_features, seed, z, shift, scale)


def mmd2_from_sums(xp: Any, sums_x: Array, n: int, sums_y: Array, m: int) -> Array:
    """``‖Σφ(x)/n − Σφ(y)/m‖²`` from feature sums (internal)."""
    diff = sums_x / n - sums_y / m
    return xp.sum(diff * diff)


def mmd2_rff(
    x: Array,
    y: Array,
    *,
    kernel: str | Kernel = "gaussian",
    bandwidth: Any = None,
    standardize: bool = False,
    n_features: int = 1024,
    seed: int | None = None,
    memory_budget: int | None = None,
    check_finite: bool = True,
) -> Array:
    """MMD² approximated with random Fourier features, in O((n + m)·D·d).

    Parameters
    ----------
    x : array, shape (n, d) or (n,)
        First sample, any array-API library (a Dask array gives a lazy result).
    y : array, shape (m, d) or (m,)
        Second sample, same library, device and number of features.
    kernel : str or Kernel
        ``"gaussian"`` or ``"laplacian"`` (L1), or an instance with any
        bandwidth rule; several bandwidths give the summed kernel. Data-driven
        bandwidths are computed on the pooled sample as in :func:`mmd2` (the
        median on a seeded subsample of at most 1000 points).
    bandwidth : float, sequence of float, array, str or BandwidthRule, optional
        The bandwidth of the named kernel, as for :func:`mmd2`:
        ``kernel="gaussian", bandwidth=1.0`` is ``kernel=Gaussian(1.0)``.
        None: the median rule.
    standardize : bool
        Scale every feature by the pooled sample's mean and standard
        deviation before the kernel (bandwidth rules then see standardised
        data; a fixed bandwidth is in standard deviations).
    n_features : int
        ``D``: the number of features, two (cos, sin) per frequency, split
        evenly over the bandwidths.
    seed : int, optional
        Seed of ``numpy.random.default_rng`` for the frequencies.
    memory_budget : int, optional
        Bytes for one block of features on an accelerator (see :func:`mmd2`);
        host blocks are 4 M entries.
    check_finite : bool
        Raise ``ValueError`` on NaN/inf (see :func:`mmd2`).

    Returns
    -------
    array, 0-d
        An unbiased estimate of the biased MMD² with ``kernel``; its error is at
        most ``4·L·sqrt(log(2/δ)/D)`` with probability ``1 − δ`` for ``L``
        bandwidths (:func:`rff_error_bound`; module docstring). It can be
        below the exact value but is never negative. The blocks' feature sums
        are added in float64 where the device has it, else in float32 with
        compensation: at most ``u·|S| + γ²_{B−1}·Σ|block sums|`` more for
        ``B`` blocks (``u = 2⁻²⁴``), whatever the number of rows.

    Raises
    ------
    TypeError
        For a kernel without a known spectral measure (only Gaussian and
        Laplacian have one here), a non-integer ``n_features`` (NumPy integers
        are fine; bools and floats, even ``2.0``, are not), a ``seed`` that is
        not None, a non-negative integer, a SeedSequence or a Generator, and
        the errors of :func:`mmd2`.
    ValueError
        For ``n_features`` < 2 per bandwidth, a negative ``seed``, and the
        errors of :func:`mmd2`.

    Examples
    --------
    >>> import numpy as np
    >>> import mmd_any
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(2000, 3)), rng.normal(0.5, size=(2000, 3))
    >>> approx = float(mmd_any.mmd2_rff(x, y, n_features=4096, seed=0))
    >>> exact = float(mmd_any.mmd2(x, y))
    >>> abs(approx - exact) < mmd_any.approximate.rff_error_bound(4096)
    True
    >>> fixed = mmd_any.mmd2_rff(x, y, kernel="laplacian", bandwidth=2.0, seed=0)
    """
    kernel = as_kernel(kernel, bandwidth)
    _spectral_sampler(kernel)
    check_count(n_features, "n_features", 2)  # per bandwidth: once the kernel is resolved
    seed = check_seed(seed)
    memory_budget = check_memory_budget(memory_budget)
    samples = prepare_samples(x, y, check_finite=check_finite, standardize=standardize)
    xp = samples.xp
    n, m = samples.x.shape[0], samples.y.shape[0]
    with full_precision(xp, samples.device):
        pooled = xp.concat([samples.x, samples.y], axis=0)
        features = features_for(xp, kernel, pooled, [n, m], n_features, seed)
        sums_x = features.feature_sums(xp, samples.x, memory_budget)
        sums_y = features.feature_sums(xp, samples.y, memory_budget)
    value = mmd2_from_sums(xp, sums_x, n, sums_y, m)
    return finalize(samples, value, f"the random-feature MMD² with {kernel!r}")
