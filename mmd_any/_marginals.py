"""Every feature's own MMD², at once: marginal Gaussian statistics by Fourier features.

Feature ``j`` on its own is a 1-D sample; its statistic is the biased MMD² of
``x[:, j]`` and ``y[:, j]`` under ``k_j(a, b) = exp(−(a − b)² / (2σ_j²))``, with
``σ_j`` the median distance between the pooled values of that feature (a seeded
subsample of at most :data:`MEDIAN_SAMPLES` points; 0 falls back to the RMS
distance, then to 1, as :class:`mmd_any.bandwidths.Median` does).

By Bochner's theorem ``k_j(u) = E cos(t u / σ_j)`` for a standard normal ``t``.
The trapezoidal rule with step ``h`` evaluates that expectation with an error of
``exp(−(2π/h − s)² / 2)`` at ``s = |u| / σ_j`` (the aliasing of a band-limited
integrand), so ``h = 2π / (S + ALIAS_MARGIN)`` keeps every ``s ≤ S`` within
:data:`RULE_ERROR`, and the frequencies ``k h`` stop where the normal's tail is
below that too. With the features ``√c_k cos(k h a / σ_j)``, ``√c_k sin(k h a / σ_j)`` of
each value, ``k_j`` is an inner product (the constant node drops out: every
weight row here sums to zero), and the statistic of any weight row ``w`` is
``‖Σ_i w_i φ_j(z_i)‖²``: two ``(P, N) @ (N, K·d)`` products (the cosines, the sines)
give every feature's statistic under every permutation. ``S`` is the widest feature's range over its
bandwidth; the equally spaced frequencies let ``cos(k θ)`` and ``sin(k θ)``
come from one evaluation of ``cos θ`` and ``sin θ`` and ``⌈log₂ K⌉`` rounds of
the angle-addition formulas. A
feature wider than :data:`MAX_WIDTH` (heavy tails) is computed exactly on the
engine instead, from its own 1-D kernel matrix.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from array_api_compat import device

from . import _plan
from ._compat import host_floats
from ._gram import PooledGram
from ._typing import Array
from .kernels import Gaussian

__all__ = [
    "MAX_WIDTH",
    "MEDIAN_SAMPLES",
    "RULE_ERROR",
    "frequencies",
    "marginal_statistics",
    "median_bandwidths",
]

#: Points (pooled, a seeded subsample) the per-feature medians are taken over: the
#: median of their 4950 pairwise distances per feature (sorting more pairs would
#: cost as much as all the permutations together).
MEDIAN_SAMPLES = 100

#: Every kernel value of the rule is within this of ``exp(−u² / (2σ²))``, so a
#: statistic (weights of total size 2 per row) is within ``4 · RULE_ERROR``.
RULE_ERROR = 1e-10
#: ``2π/h − S``: the aliasing error ``exp(−margin² / 2)`` is below RULE_ERROR / 2.
ALIAS_MARGIN = 6.9
#: Frequencies stop at ``t = TAIL``: the normal's mass beyond is below RULE_ERROR / 2.
TAIL = 6.9
#: The most frequencies a feature gets; wider features go to the engine.
MAX_FREQUENCIES = 512
#: The widest range over bandwidth the frequencies cover.
MAX_WIDTH = 2 * math.pi * (MAX_FREQUENCIES - 1) / TAIL - ALIAS_MARGIN

#: Elements of one block of pairwise gaps ``(block, pairs)`` for the medians.
_BLOCK_ELEMENTS = 1 << 23


def frequencies(width: float) -> tuple[float, np.ndarray]:
    """The step ``h`` and the weights ``c_k`` (k = 1..K, mirrored nodes included) of
    the trapezoidal rule within :data:`RULE_ERROR` for ``|u| / σ ≤ width``."""
    step = 2 * math.pi / (max(width, 0.0) + ALIAS_MARGIN)
    nodes = np.arange(1, math.ceil(TAIL / step) + 1) * step
    return step, 2 * step * np.exp(-(nodes**2) / 2) / math.sqrt(2 * math.pi)


def median_bandwidths(xp: Any, z: Array, seed: Any) -> Array:
    """``σ_j``: the median distance between pooled values of each feature, shape (d,)."""
    n_points, n_features = z.shape
    rows = np.arange(n_points)
    if n_points > MEDIAN_SAMPLES:
        rows = np.sort(np.random.default_rng(seed).choice(n_points, MEDIAN_SAMPLES, replace=False))
    dev = device(z)
    sub = xp.take(z, xp.asarray(rows, device=dev), axis=0)
    left, right = np.triu_indices(sub.shape[0], k=1)
    left, right = xp.asarray(left, device=dev), xp.asarray(right, device=dev)
    block = max(1, _BLOCK_ELEMENTS // max(1, left.shape[0]))
    medians = []
    for start in range(0, n_features, block):
        # features first: each feature's pairs contiguous, for the sort
        part = xp.permute_dims(sub[:, start : min(n_features, start + block)], (1, 0))
        gaps = xp.abs(xp.take(part, left, axis=1) - xp.take(part, right, axis=1))
        ordered = xp.sort(gaps, axis=1)
        middle = (ordered.shape[1] - 1) // 2, ordered.shape[1] // 2
        median = (ordered[:, middle[0]] + ordered[:, middle[1]]) / 2.0
        rms = xp.sqrt(xp.mean(gaps * gaps, axis=1))
        fallback = xp.where(rms > 0, rms, xp.ones_like(rms))
        medians.append(xp.where(median > 0, median, fallback))
    return medians[0] if len(medians) == 1 else xp.concat(medians)


def _waves(
    xp: Any, values: Array, bandwidths: Array, step: float, count: int
) -> tuple[Array, Array]:
    """``cos(kθ)`` and ``sin(kθ)``, ``θ = h a / σ``, of centred values ``(N, b)`` for
    ``k = 1 … count``: two ``(N, count, b)`` arrays. Two trigonometric evaluations per
    value (each costs tens of products), then rounds of angle addition that double
    the frequencies known: ``cos((m + r)θ) = cos mθ cos rθ − sin mθ sin rθ`` and
    ``sin((m + r)θ) = sin mθ cos rθ + cos mθ sin rθ`` for ``r = 1 … min(m, count − m)``, so
    ``⌈log₂ count⌉`` rounds of a few operations each. A round adds the errors of
    its two factors: that of ``cos kθ`` grows like ``k`` roundings, as it does when
    ``kθ`` itself is rounded."""
    theta = (values / bandwidths) * step
    cosines, sines = xp.cos(theta)[:, None, :], xp.sin(theta)[:, None, :]
    while cosines.shape[1] < count:
        known = cosines.shape[1]
        cos_m, sin_m = cosines[:, known - 1 : known, :], sines[:, known - 1 : known, :]
        added = min(known, count - known)
        cos_r, sin_r = cosines[:, :added, :], sines[:, :added, :]
        cosines = xp.concat([cosines, cos_m * cos_r - sin_m * sin_r], axis=1)
        sines = xp.concat([sines, sin_m * cos_r + cos_m * sin_r], axis=1)
    return cosines, sines


def marginal_statistics(
    xp: Any,
    z: Array,
    bandwidths: Array,
    weights: list[Array],
    memory_budget: int | None,
) -> Array:
    """Every feature's biased MMD² under every weight row: shape ``(d, R)`` for
    blocks of ``(R_b, N)`` weight rows (``R = Σ R_b``). Reads one number on the host:
    the widest feature's range over its bandwidth, which picks the rule."""
    z = z - xp.mean(z, axis=0, keepdims=True)  # the kernel is translation invariant
    widths = (xp.max(z, axis=0) - xp.min(z, axis=0)) / bandwidths
    host_widths = np.asarray(host_floats(widths), dtype=np.float64)
    covered = np.flatnonzero(host_widths <= MAX_WIDTH)
    step, rule = frequencies(float(host_widths[covered].max(initial=0.0)))
    coefficients = xp.asarray(rule, dtype=z.dtype, device=device(z))[None, :, None]
    n_points, n_features = z.shape
    per_feature: dict[int, Array] = {}
    # features per block: each holds 2·N·K wave values (cos and sin), planned as
    # random Fourier features are (bounded on the host, the budget on a device)
    item = _plan.itemsize(xp, z.dtype)
    block = _plan.feature_rows(xp, device(z), 2 * n_points * rule.size, item, memory_budget)
    for start in range(0, covered.size, block):
        chosen = covered[start : start + block]
        index = xp.asarray(chosen, device=device(z))
        values, widths_of = xp.take(z, index, axis=1), xp.take(bandwidths, index)
        flat = (n_points, rule.size * chosen.size)  # (N, K·b): one product for every k
        cosines, sines = (
            xp.reshape(wave, flat) for wave in _waves(xp, values, widths_of, step, rule.size)
        )
        parts = []
        for w in weights:  # Σ_k c_k (|w·cos kθ|² + |w·sin kθ|²), per feature
            along_c, along_s = (
                xp.reshape(w @ wave, (w.shape[0], rule.size, chosen.size))
                for wave in (cosines, sines)
            )
            power = along_c * along_c + along_s * along_s
            parts.append(xp.sum(power * coefficients, axis=1))
        stats = xp.concat(parts, axis=0)  # (R, b)
        for k, j in enumerate(chosen):
            per_feature[int(j)] = stats[:, k]
    for j in np.setdiff1d(np.arange(n_features), covered):
        column = z[:, int(j) : int(j) + 1]
        per_feature[int(j)] = _exact(xp, column, bandwidths[int(j)], weights, memory_budget)
    return xp.stack([per_feature[j] for j in range(n_features)], axis=0)


def _exact(
    xp: Any, column: Array, bandwidth: Array, weights: list[Array], memory_budget: int | None
) -> Array:
    """One feature's statistics on the engine (its 1-D kernel matrix, tiled)."""
    gram = PooledGram(xp, Gaussian(bandwidth), [column])
    rows = max(w.shape[0] for w in weights)
    itemsize = _plan.itemsize(xp, column.dtype)
    plan = _plan.make_plan(
        xp, gram.device, gram.size, itemsize, weight_rows=rows, memory_budget=memory_budget
    )
    return xp.concat([gram.quadratic_forms(w, plan) for w in weights])
