"""A plain float64 NumPy reference, written independently of mmd_any.

No matmul tricks, no tiling, no centring: pairwise differences by broadcasting,
kernels straight from their formulas, estimators as explicit means over index
sets. Only for the small inputs of the tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmd_any import bandwidths, kernels


def pairwise(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Pairwise squared Euclidean / Euclidean / L1 distances or dot products."""
    if metric == "dot":
        return np.einsum("ik,jk->ij", a, b)
    diff = a[:, None, :] - b[None, :, :]
    if metric == "cityblock":
        return np.abs(diff).sum(axis=2)
    if metric == "euclidean":
        return np.sqrt((diff**2).sum(axis=2))
    return (diff**2).sum(axis=2)


def distinct_pair_distances(z: np.ndarray, metric: str) -> np.ndarray:
    """Distances over i < j (not squared)."""
    values = [
        np.abs(z[i] - z[j]).sum() if metric == "cityblock" else np.sqrt(((z[i] - z[j]) ** 2).sum())
        for i, j in itertools.combinations(range(len(z)), 2)
    ]
    return np.asarray(values)


def sigmas(kernel: kernels.Kernel, pooled: np.ndarray, n_x: int | None = None) -> list[float]:
    """The bandwidths a radial kernel should use on this pooled sample.

    ``n_x``: the first sample's size, for rules computed on ``x`` only.
    """
    rule = kernel.rule
    if isinstance(rule, bandwidths.Fixed):
        return [float(v) for v in np.atleast_1d(np.asarray(rule.values, dtype=float))]
    if rule.sample == "x":
        pooled = pooled[:n_x]
    n = len(pooled)
    sq = pairwise(pooled, pooled, "sqeuclidean")
    mean_sq = sq.sum() / (n * n - n)
    if isinstance(rule, bandwidths.Median):
        assert rule.max_samples is None or n <= rule.max_samples, "exact median only"
        distances = np.sort(distinct_pair_distances(pooled, kernel.metric))
        if rule.lower:
            base = float(distances[(len(distances) - 1) // 2])
        else:
            base = float(np.median(distances))
    elif rule.include_diagonal:
        base = float(np.sqrt(sq.sum() / (n * n) / 2))
    else:
        base = float(np.sqrt(mean_sq / 2))
    if base == 0:
        base = float(np.sqrt(mean_sq)) or 1.0
    return [base * s for s in rule.scales]


@dataclass(frozen=True)
class Formula:
    """A kernel of :data:`mmd_any.kernels.KERNELS` written from its textbook formula."""

    #: What :attr:`profile` is a function of: ``"sqeuclidean"``, ``"cityblock"`` or ``"dot"``.
    of: str
    #: ``(kernel, values, σ, d)`` → one bandwidth's kernel values (σ None: no
    #: bandwidth; ``d``: the number of features).
    profile: Callable[[Any, np.ndarray, float | None, int], np.ndarray]
    #: ``(kernel, pooled, smallest σ)`` → how much a relative error in the metric
    #: values moves the kernel (:func:`kernel_scale`).
    conditioning: Callable[[Any, np.ndarray, float | None], float]


def _radius_sq(pooled: np.ndarray) -> float:
    return float(((pooled - pooled.mean(axis=0)) ** 2).sum(axis=1).max())


def _max_norm_sq(pooled: np.ndarray) -> float:
    return float((pooled**2).sum(axis=1).max())


#: Every registered kernel's formula, by its registered name: the one place a new
#: kernel is written out for the tests (``test_every_kernel_has_a_reference``).
FORMULAS: dict[str, Formula] = {
    "gaussian": Formula(
        "sqeuclidean",
        lambda k, sq, s, d: np.exp(-sq / (2 * s**2)),
        lambda k, z, s: _radius_sq(z) / s**2,
    ),
    "laplacian": Formula(
        "cityblock",
        lambda k, l1, s, d: np.exp(-l1 / s),
        lambda k, z, s: np.sqrt(_radius_sq(z) * z.shape[1]) / s,
    ),
    "exponential": Formula(
        "sqeuclidean",
        lambda k, sq, s, d: np.exp(-np.sqrt(np.maximum(sq / s**2, k.sq_distance_floor))),
        lambda k, z, s: 2.0 * np.sqrt(_radius_sq(z)) / s,
    ),
    "inverse_multiquadric": Formula(
        "sqeuclidean",
        lambda k, sq, s, d: (1 + sq / s**2) ** -0.5,
        lambda k, z, s: _radius_sq(z) / s**2,
    ),
    "energy": Formula(
        "sqeuclidean",
        lambda k, sq, s, d: -np.sqrt(np.maximum(sq, k.sq_distance_floor)),
        lambda k, z, s: 1.0,
    ),
    "linear": Formula("dot", lambda k, dots, s, d: dots, lambda k, z, s: 0.0),
    "polynomial": Formula(
        "dot",
        lambda k, dots, s, d: (
            ((1.0 / d if k.gamma is None else k.gamma) * dots + k.coef0) ** k.degree
        ),
        lambda k, z, s: _max_norm_sq(z) / z.shape[1],
    ),
}

#: Kernel instances each registered kernel is tested with (its default first).
EXAMPLES: dict[str, list[Any]] = {
    "gaussian": [
        kernels.Gaussian(),
        kernels.Gaussian(1.5),
        kernels.Gaussian([0.5, 1.0, 2.0]),
        kernels.Gaussian(bandwidths.MeanSquaredDistance.seed()),
        kernels.Gaussian(bandwidths.Median(scales=(0.5, 1.0, 3.0))),
        kernels.Gaussian(bandwidths.MeanSquaredDistance(scales=(0.5, 1.0), include_diagonal=True)),
    ],
    "laplacian": [kernels.Laplacian(), kernels.Laplacian(2.0)],
    "exponential": [
        kernels.Exponential(),
        kernels.Exponential([0.5, 1.0, 2.0]),
        kernels.Exponential(0.7, sq_distance_floor=1e-8),
    ],
    "inverse_multiquadric": [
        kernels.InverseMultiquadric(),
        kernels.InverseMultiquadric([1.0, 3.0]),
    ],
    "energy": [kernels.Energy(), kernels.Energy(sq_distance_floor=1e-8)],
    "linear": [kernels.Linear()],
    "polynomial": [kernels.Polynomial(), kernels.Polynomial(degree=2, gamma=0.5, coef0=0.5)],
}


def every_example() -> list[Any]:
    """Every instance of :data:`EXAMPLES`, kernel by kernel (for parametrisations)."""
    return [kernel for examples in EXAMPLES.values() for kernel in examples]


def default_kernels() -> list[Any]:
    """Each registered kernel with its default parameters."""
    return [examples[0] for examples in EXAMPLES.values()]


def _formula(kernel: kernels.Kernel) -> Formula:
    return FORMULAS[kernel.name]


def _sigma_list(kernel: kernels.Kernel, pooled: np.ndarray, n_x: int | None) -> list[float | None]:
    return sigmas(kernel, pooled, n_x) if kernels.has_bandwidth(kernel) else [None]


def profile_values(
    kernel: kernels.Kernel, values: np.ndarray, sigma_list: list[float | None], d: int
) -> np.ndarray:
    """The kernel summed over its bandwidths, as a function of the metric ``values``
    its formula is written in (:attr:`Formula.of`)."""
    formula = _formula(kernel)
    return sum(formula.profile(kernel, values, sigma, d) for sigma in sigma_list)


def kernel_values(
    kernel: kernels.Kernel,
    a: np.ndarray,
    b: np.ndarray,
    pooled: np.ndarray,
    n_x: int | None = None,
):
    """k(a_i, b_j) for all i, j, from the textbook formulas."""
    values = pairwise(a, b, _formula(kernel).of)
    return profile_values(kernel, values, _sigma_list(kernel, pooled, n_x), a.shape[1])


def mmd2(x: np.ndarray, y: np.ndarray, kernel: kernels.Kernel, estimator: str) -> float:
    """The estimator written as means over explicit index sets."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    pooled = np.concatenate([x, y])
    n, m = len(x), len(y)
    kxx = kernel_values(kernel, x, x, pooled, n)
    kyy = kernel_values(kernel, y, y, pooled, n)
    kxy = kernel_values(kernel, x, y, pooled, n)
    if estimator == "biased":
        return float(kxx.mean() + kyy.mean() - 2 * kxy.mean())
    if estimator == "unbiased":
        off_x = [kxx[i, j] for i in range(n) for j in range(n) if i != j]
        off_y = [kyy[i, j] for i in range(m) for j in range(m) if i != j]
        return float(np.mean(off_x) + np.mean(off_y) - 2 * kxy.mean())
    terms = [
        kxx[2 * i, 2 * i + 1]
        + kyy[2 * i, 2 * i + 1]
        - kxy[2 * i, 2 * i + 1]
        - kxy[2 * i + 1, 2 * i]
        for i in range(n // 2)
    ]
    return float(np.mean(terms))


def kernel_scale(kernel: kernels.Kernel, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(largest |k| on the pooled sample, conditioning of the distances).

    The rounding error of a kernel value is about ``eps · scale · (1 +
    conditioning)``: ``scale`` bounds the values that are summed, and for
    radial kernels ``conditioning = max 1/(2σ²) · max ‖z − mean‖²`` bounds how
    much a relative error in the squared distances moves the kernel.
    """
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    pooled = np.concatenate([x, y])
    scale = float(np.abs(kernel_values(kernel, pooled, pooled, pooled, len(x))).max())
    smallest = min(sigmas(kernel, pooled, len(x))) if kernels.has_bandwidth(kernel) else None
    conditioning = float(_formula(kernel).conditioning(kernel, pooled, smallest))
    return max(scale, float(np.finfo(float).tiny)), conditioning


def tolerance(dtype: str, kernel: kernels.Kernel, x: Any, y: Any, factor: float = 64.0) -> float:
    """Absolute tolerance for an MMD² computed in ``dtype``, from its eps."""
    scale, conditioning = kernel_scale(kernel, x, y)
    return factor * float(np.finfo(dtype).eps) * scale * (1.0 + conditioning)


def eps(dtype: Any) -> float:
    """Machine epsilon of ``dtype`` (NumPy's name or dtype)."""
    return float(np.finfo(dtype).eps)


def estimator_weights(n: int, m: int, estimator: str) -> np.ndarray:
    """``|c_ij|``: the absolute coefficient of ``K_ij`` in the MMD² estimator."""
    if estimator == "unbiased":
        within_x = np.full((n, n), 1.0 / (n * (n - 1)))
        within_y = np.full((m, m), 1.0 / (m * (m - 1)))
        np.fill_diagonal(within_x, 0.0)
        np.fill_diagonal(within_y, 0.0)
    else:
        within_x, within_y = np.full((n, n), 1.0 / n**2), np.full((m, m), 1.0 / m**2)
    across = np.full((n, m), 1.0 / (n * m))
    return np.block([[within_x, across], [across.T, within_y]])


#: λ of the probabilistic rounding bound ``λ·sqrt(k)·u`` of a length-k dot
#: product (Higham & Mary, SIAM J. Sci. Comput. 2019): it holds with probability
#: at least ``1 − 2k·exp(−λ²/2)``, above ``1 − 1e-6`` for λ = 6 and k ≤ 10⁴.
ROUNDING_LAMBDA = 6.0


def matmul_kernel_error(
    kernel: kernels.Kernel, x: np.ndarray, y: np.ndarray, dtype: Any, estimator: str = "biased"
) -> float:
    """Bound on the MMD² error of a peer that forms ``K`` by one matmul in ``dtype``.

    The peers (GeomLoss, alibi-detect, torchmetrics, the seeds) compute
    ``‖a‖² + ‖b‖² − 2a·b`` (or ``a·b``) of the uncentred data with one matmul. A
    length-``k`` dot product is off by ``λ·sqrt(k)·u·Σ|a_i b_i|`` (probabilistic
    bound, :data:`ROUNDING_LAMBDA`; ``u = eps/2``), so each squared distance moves by
    up to ``δ_ij = λ·sqrt(d + 2)·u·2(‖z_i‖² + ‖z_j‖²)`` and each dot by
    ``λ·sqrt(d)·u·‖z_i‖‖z_j‖``. The kernel is evaluated here in float64 at the
    perturbed values and the changes are summed with the estimator's absolute
    weights (:func:`estimator_weights`); the final rounding of the
    exp/sqrt/power and of the sums adds ``64·eps·max|k|``. The L1 kernels are
    computed from coordinate differences by every peer: only that term applies.
    The diagonal is where this matters: a peer's self-distance is a rounding
    residue of size ``u·‖z‖²``, not 0, and a square root (energy, exponential)
    turns it into ``sqrt(u)·‖z‖``.
    """
    z = np.concatenate([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    z = z.reshape(len(z), -1)
    d, u = z.shape[1], eps(dtype) / 2
    norms = (z**2).sum(axis=1)
    values = kernel_values(kernel, z, z, z, len(x))
    weights = estimator_weights(len(x), len(z) - len(x), estimator)
    change = np.zeros_like(values)
    formula = _formula(kernel)
    if formula.of == "sqeuclidean":
        sq = pairwise(z, z, "sqeuclidean")
        delta = ROUNDING_LAMBDA * np.sqrt(d + 2) * u * 2 * (norms[:, None] + norms[None, :])
        moves = (np.maximum(sq - delta, 0.0), sq + delta)
    elif formula.of == "dot":
        dots = pairwise(z, z, "dot")
        delta = ROUNDING_LAMBDA * np.sqrt(d) * u * np.sqrt(norms[:, None] * norms[None, :])
        moves = (dots - delta, dots + delta)
    else:  # coordinate differences: only the final rounding below
        moves = ()
    chosen = _sigma_list(kernel, z, len(x))
    for moved in moves:
        change = np.maximum(change, np.abs(profile_values(kernel, moved, chosen, d) - values))
    return float((weights * change).sum()) + 64 * eps(dtype) * float(np.abs(values).max())


def rff_tolerance(features: Any, x: np.ndarray, y: np.ndarray, dtype: Any) -> float:
    """Absolute bound on the difference of two ``mmd2_rff`` computations in ``dtype``.

    ``features`` is the drawn :class:`mmd_any.approximate.FourierFeatures` (in
    float64). A phase ``ω·(z − shift)`` is off by at most ``(d + 1)·eps·Σ|ω_k||z_k|``
    and cos/sin add ``2·eps``; the ``L·F`` squared mean differences are bounded by
    4 each and weighted by ``1/F``, so ``|ΔMMD²| ≤ 8·L·δ``; two computations: twice.
    """
    z = np.concatenate([x, y]).astype(float)
    omega = np.asarray(features.frequencies, dtype=float)
    centred = z - np.asarray(features.shift, dtype=float)
    weights = np.asarray(features.weights, dtype=float)
    n_bandwidths = float((weights**2).sum())
    phase = (z.shape[1] + 1) * eps(dtype) * float((np.abs(centred) @ np.abs(omega)).max())
    return 2 * 8 * n_bandwidths * (phase + 2 * eps(dtype))
