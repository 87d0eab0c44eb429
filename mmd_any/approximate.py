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

from ._distances import center
from ._namespace import accumulator_dtype, finalize, prepare_samples
from ._plan import check_memory_budget, feature_rows, itemsize
from ._precision import full_precision
from .bandwidths import Sigmas
from .kernels import Gaussian, Kernel, Laplacian, as_kernel

__all__ = ["FourierFeatures", "mmd2_rff", "rff_error_bound"]

Array = Any


def rff_error_bound(n_features: int, n_bandwidths: int = 1, delta: float = 0.05) -> float:
    """Hoeffding bound on ``|MMD²_rff − MMD²_biased|`` that holds with probability ``1 − δ``.

    Examples
    --------
    >>> from mmd_any.approximate import rff_error_bound
    >>> round(rff_error_bound(1024), 4)
    0.2401
    """
    return 4.0 * n_bandwidths * math.sqrt(math.log(2.0 / delta) / n_features)


def _check_n_features(n_features: object, n_bandwidths: int) -> int:
    if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 2:
        raise ValueError(f"`n_features` must be an integer >= 2, got {n_features!r}")
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
    """

    frequencies: Array
    weights: Array
    shift: Array | None

    def feature_sums(self, xp: Any, z: Array, memory_budget: int | None = None) -> Array:
        """``Σ_rows φ(z)`` as a ``(2, L·F)`` array (cos and sin rows), in float64
        where the device has it, computed in row blocks the planner sizes
        (:func:`mmd_any._plan.feature_rows`)."""
        if self.shift is not None:
            z = z - self.shift
        n_freq = int(self.frequencies.shape[1])
        acc = accumulator_dtype(xp, z.dtype, device(z))
        rows = feature_rows(xp, device(z), n_freq, itemsize(xp, z.dtype), memory_budget)
        total = None
        n_rows = z.shape[0]
        for start in range(0, n_rows, rows):
            phases = z[start : min(n_rows, start + rows), :] @ self.frequencies
            part = xp.stack([xp.sum(xp.cos(phases), axis=0), xp.sum(xp.sin(phases), axis=0)])
            part = xp.astype(part, acc)
            total = part if total is None else total + part
        return total * xp.astype(self.weights, acc)


def draw_features(
    xp: Any,
    kernel: Kernel,
    params: list[Sigmas],
    n_features: int,
    seed: int | None,
    like: Array,
    shift: Array | None,
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
    for base, scale in bandwidths:
        if sampler == "normal":
            directions = rng.standard_normal((dim, per_bandwidth))
        else:
            directions = rng.standard_cauchy((dim, per_bandwidth))
        on_device = xp.asarray(directions.astype(np.float64), device=dev)
        blocks.append(xp.astype(on_device, dtype) / (base * scale))
    frequencies = blocks[0] if len(blocks) == 1 else xp.concat(blocks, axis=1)
    weights = xp.full(
        (frequencies.shape[1],), 1.0 / math.sqrt(per_bandwidth), dtype=dtype, device=dev
    )
    return FourierFeatures(frequencies, weights, shift)


def features_for(
    xp: Any, kernel: Kernel, z: Array, sizes: list[int] | None, n_features: int, seed: int | None
) -> FourierFeatures:
    """Resolve the bandwidths on the pooled sample ``z`` and draw the features (internal)."""
    _spectral_sampler(kernel)
    shift = xp.mean(z, axis=0, keepdims=True)
    params = kernel.parameters(xp, center(xp, z) if kernel.metric == "sqeuclidean" else z, sizes)
    return draw_features(xp, kernel, params, n_features, seed, z, shift)


def mmd2_from_sums(xp: Any, sums_x: Array, n: int, sums_y: Array, m: int) -> Array:
    """``‖Σφ(x)/n − Σφ(y)/m‖²`` from feature sums (internal)."""
    diff = sums_x / n - sums_y / m
    return xp.sum(diff * diff)


def mmd2_rff(
    x: Array,
    y: Array,
    *,
    kernel: str | Kernel = "gaussian",
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
        below the exact value but is never negative.

    Raises
    ------
    TypeError
        For a kernel without a known spectral measure (only Gaussian and
        Laplacian have one here), and the errors of :func:`mmd2`.
    ValueError
        For ``n_features`` < 2 per bandwidth, and the errors of :func:`mmd2`.

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
    """
    kernel = as_kernel(kernel)
    _spectral_sampler(kernel)
    memory_budget = check_memory_budget(memory_budget)
    samples = prepare_samples(x, y, check_finite=check_finite)
    xp = samples.xp
    n, m = samples.x.shape[0], samples.y.shape[0]
    with full_precision(xp, samples.device):
        pooled = xp.concat([samples.x, samples.y], axis=0)
        features = features_for(xp, kernel, pooled, [n, m], n_features, seed)
        sums_x = features.feature_sums(xp, samples.x, memory_budget)
        sums_y = features.feature_sums(xp, samples.y, memory_budget)
    value = mmd2_from_sums(xp, sums_x, n, sums_y, m)
    return finalize(samples, value)
