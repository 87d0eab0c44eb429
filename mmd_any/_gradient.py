"""Hand-written gradients of the single-tile quadratic forms (the training loss).

For a kernel of the squared distance, ``K_ab = k(D_ab)`` with
``D_ab = ‖z_a − z_b‖²``, and a constant bandwidth, the forms ``F_p = w_pᵀ K w_p``
have the gradient

    ∂(Σ_p g_p F_p)/∂z_c = 4 Σ_b H_cb (z_c − z_b),   H = (Σ_p g_p w_p w_pᵀ) ∘ k′(D),

that is ``4 · (H·1 ∘ z − H z)``: one elementwise product and one matmul over the
tile, with ``k′(D)`` taken from the forward pass at no extra exp
(:meth:`mmd_any.kernels.Kernel.profile_and_slope`). Generic autodiff instead runs
backwards through every exp, squaring and sum of the kernel and forms the
gradient of both operands of the distance matmul. The diagonal needs no care:
``z_c − z_c = 0``.

Two layouts, as the engine's :class:`mmd_any._gram.PooledGram` chooses
(``fewest_calls``):

* **pooled** (accelerators, tiny host batches): the ``(N, N)`` tile in one
  matmul, the fewest array calls;
* **blocks** (the host): the weights are constant on each sample, so the forms
  need only the sums of the blocks ``K_xx``, ``K_yy``, ``K_xy`` and ``K_yx = K_xyᵀ``
  is never computed: three quarters of the distance flops and of the exps, and a
  backward of four ``(n or m) × (n or m) × d`` matmuls for the samples that need
  a gradient.

The formulas are written here once, in the array API; an autodiff library plugs
them in through an adapter (:mod:`mmd_any._torch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import _gram
from ._compat import stop_gradient
from ._typing import Array
from .kernels import Kernel

#: On the host, up to this many pooled points the pooled layout's fewer array
#: calls beat the blocks' fewer flops (``benchmarks/bench_launches.py``, CPU
#: small batches: B = 64 took 0.93x GeomLoss pooled, 1.08x in blocks).
HOST_POOLED_POINTS = 128


@dataclass(frozen=True)
class Slopes:
    """``k′(D)`` saved by the forward pass: ``(tile,)`` pooled, or the blocks
    ``(xx, yy, xy)`` with the weight values ``values[p] = (on x, on y)``."""

    tiles: tuple[Array, ...]
    values: tuple[tuple[float, float], ...]

    @property
    def pooled(self) -> bool:
        """Whether the slopes are of the whole pooled tile."""
        return len(self.tiles) == 1


def supports(gram: _gram.PooledGram) -> bool:
    """Whether the forms of ``gram`` have the hand-written gradient: two samples
    and a kernel of the squared distance that provides its slope."""
    kernel = gram.kernel
    overridden = type(kernel).profile_and_slope is not Kernel.profile_and_slope
    return kernel.metric == "sqeuclidean" and overridden and len(gram.sizes) == 2


def _profile_and_slope(
    gram: _gram.PooledGram, rows: slice, cols: slice, exclude_diagonal: bool
) -> tuple[Array, Array]:
    """Kernel values (diagonal 0 if excluded) and slopes of the tile ``rows × cols``."""
    xp = gram.xp
    eye = _gram.overlap_mask(xp, rows, cols, gram.device) if rows == cols else None
    values = gram.metric_tile(rows, cols, None if exclude_diagonal else eye)
    profile, slopes = gram.kernel.profile_and_slope(xp, values, gram.prepared)
    if exclude_diagonal and eye is not None:
        profile = xp.where(eye, 0.0, profile)
    return profile, slopes


def forms_and_slopes(
    gram: _gram.PooledGram,
    weights_t: Array,
    values: tuple[tuple[float, float], ...],
    exclude_diagonal: bool,
) -> tuple[Array, Slopes]:
    """The ``(P,)`` forms of the whole matrix as one tile and the slopes that
    :func:`points_gradient` needs. ``weights_t`` is the ``(P, N)`` device form of
    the per-sample ``values``."""
    xp, n_points = gram.xp, gram.size
    if gram.fewest_calls or n_points <= HOST_POOLED_POINTS:
        everything = slice(0, n_points)
        profile, slopes = _profile_and_slope(gram, everything, everything, exclude_diagonal)
        forms = _gram.rowwise_dot(xp, weights_t @ profile, weights_t)
        return forms, Slopes((slopes,), values)
    n = gram.sizes[0]
    x_rows, y_rows = slice(0, n), slice(n, n_points)
    blocks = ((x_rows, x_rows), (y_rows, y_rows), (x_rows, y_rows))
    sums, tiles = [], []
    for rows, cols in blocks:
        profile, slopes = _profile_and_slope(gram, rows, cols, exclude_diagonal)
        sums.append(xp.sum(profile))
        tiles.append(slopes)
    within_x, within_y, across = sums
    forms = [
        (on_x * on_x) * within_x + (on_y * on_y) * within_y + (2.0 * on_x * on_y) * across
        for on_x, on_y in values
    ]
    return (forms[0][None] if len(forms) == 1 else xp.stack(forms)), Slopes(tuple(tiles), values)


def points_gradient(
    xp: Any, points: Array, slopes: Slopes, weights_t: Array, grad_forms: Array, rows: slice
) -> Array:
    """``∂(Σ_p g_p F_p)/∂z`` for the points ``rows`` (module docstring), ``g = grad_forms``.

    ``rows`` is the first sample, the second or both (``n`` the split)."""
    points = stop_gradient(points)
    if slopes.pooled:
        (tile,) = slopes.tiles
        scaled = (4.0 * grad_forms)[:, None] * weights_t
        if weights_t.shape[0] == 1:
            pair_weights = xp.matrix_transpose(scaled[:, rows]) * weights_t
        else:
            pair_weights = xp.matrix_transpose(scaled[:, rows]) @ weights_t
        mixed = pair_weights * tile[rows, :]
        return xp.sum(mixed, axis=1)[:, None] * points[rows, :] - mixed @ points
    return _blocks_gradient(xp, points, slopes, grad_forms, rows)


def _block_coefficients(grad_forms: Array, values: tuple[tuple[float, float], ...]) -> list[Array]:
    """``4 Σ_p g_p w_p[a] w_p[b]`` on the blocks xx, yy and xy."""
    products = ((0, 0), (1, 1), (0, 1))
    coefficients = []
    for first, second in products:
        total = None
        for p, row in enumerate(values):
            term = grad_forms[p] * (4.0 * row[first] * row[second])
            total = term if total is None else total + term
        coefficients.append(total)
    return coefficients


def _blocks_gradient(
    xp: Any, points: Array, slopes: Slopes, grad_forms: Array, rows: slice
) -> Array:
    within_x, within_y, across = slopes.tiles
    c_xx, c_yy, c_xy = _block_coefficients(grad_forms, slopes.values)
    n = within_x.shape[0]
    x, y = points[:n, :], points[n:, :]
    parts = []
    if rows.start < n:  # the first sample: its rows of the blocks xx and xy
        weight = c_xx * xp.sum(within_x, axis=1) + c_xy * xp.sum(across, axis=1)
        parts.append(weight[:, None] * x - (c_xx * (within_x @ x) + c_xy * (across @ y)))
    if rows.stop > n:  # the second sample: its rows of the blocks yy and yx = xyᵀ
        weight = c_yy * xp.sum(within_y, axis=1) + c_xy * xp.sum(across, axis=0)
        across_t = xp.matrix_transpose(across)
        parts.append(weight[:, None] * y - (c_yy * (within_y @ y) + c_xy * (across_t @ x)))
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)
