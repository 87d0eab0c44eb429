"""Pairwise distances and inner products, written once for every namespace.

Three metrics serve the kernels:

* ``"sqeuclidean"``: ``‖a − b‖²`` from norms and one matmul. The operands are
  augmented so that the matmul itself returns ``‖a‖² + ‖b‖² − 2 a·b``; the
  caller centres the data on the pooled mean first so that the cancellation
  in that sum stays at the rounding level of the spread, not of the offset.
* ``"cityblock"``: ``‖a − b‖₁``, accumulated over chunks of features so that
  the temporary is ``rows × cols × chunk`` and never ``rows × cols × d``.
* ``"euclidean"``: ``‖a − b‖`` from differences, chunked the same way. The
  one-matmul form would be cheaper, but its rounding residue ``eps·‖z‖²`` in
  ``‖a − b‖²`` becomes ``sqrt(eps)·‖z‖`` after the square root: far above
  rounding level for close points.
* ``"dot"``: ``a · b``.

Products use the ``@`` operator (the standard's ``__matmul__``; the operands
always share a dtype), which skips the compatibility layer's per-call promotion
checks of ``xp.matmul``: a few µs a call, a tenth of a small training step.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from ._typing import Array

Metric = Literal["sqeuclidean", "cityblock", "euclidean", "dot"]

#: Largest number of elements of the ``rows × cols × chunk`` temporary that the
#: L1 distance builds per feature chunk (4 MiB in float32).
L1_CHUNK_ELEMENTS = 1 << 20


def center(xp: Any, z: Array) -> Array:
    """Subtract the column means (the pooled mean when ``z`` is pooled)."""
    return z - xp.mean(z, axis=0, keepdims=True)


def overlap_mask(xp: Any, rows: slice, cols: slice, dev: Any) -> Array:
    """Boolean ``(rows, cols)`` mask of the entries where the row index equals the column index."""
    row_index = xp.arange(rows.start, rows.stop, device=dev)
    col_index = row_index if cols == rows else xp.arange(cols.start, cols.stop, device=dev)
    return row_index[:, None] == col_index[None, :]


def sq_norms(xp: Any, z: Array) -> Array:
    """Row-wise squared Euclidean norms, shape ``(n,)``."""
    return xp.sum(z * z, axis=1)


def augment_for_sqeuclidean(xp: Any, z: Array) -> tuple[Array, Array]:
    """Operands ``left, right`` with ``left[i] · right[j] = ‖z_i − z_j‖²``.

    ``left = [z, ‖z‖², 1]`` and ``right = [−2 z, 1, ‖z‖²]``: the distance tile
    is then one matmul and a clamp, with no extra passes over the tile.
    """
    norms = sq_norms(xp, z)[:, None]
    ones = xp.ones_like(norms)
    left = xp.concat([z, norms, ones], axis=1)
    right = xp.concat([-2.0 * z, ones, norms], axis=1)
    return left, right


def sqeuclidean_tile(
    xp: Any,
    left: Array,
    right: Array,
    points: tuple[Array, Array] | None = None,
    diagonal: Array | None = None,
) -> Array:
    """``‖a_i − b_j‖²`` for augmented row blocks, clamped at 0 (``clip``: its
    derivative is one comparison, ``maximum``'s five operations in torch).

    ``points``: the row blocks ``(a, b)`` themselves, uncentred, for exact
    distances (host arrays only, the caller decides): with at most
    :data:`DIFFERENCES_MAX_DIM` features the whole tile comes from coordinate
    differences (as cheap as the matmul there, and exact), above it the close
    pairs are recomputed (:func:`refine_close_pairs`). ``diagonal``: the mask of
    the entries where ``a_i`` is ``b_i`` (the caller sets them to 0), left out
    of the refinement.
    """
    if points is not None and points[0].shape[1] <= DIFFERENCES_MAX_DIM:
        return sqeuclidean_from_differences(xp, *points)  # exact, and as cheap here
    values = xp.clip(left @ xp.matrix_transpose(right), min=0.0)
    if points is None:
        return values
    dim = points[0].shape[1]
    return refine_close_pairs(xp, values, *points, left[:, dim], right[:, dim + 1], diagonal)


#: Up to this many features the host computes squared distances from coordinate
#: differences outright (three passes a feature, no cancellation, no check), as
#: fast as the matmul form with its check there (``benchmarks/bench_core.py``).
DIFFERENCES_MAX_DIM = 2


def sqeuclidean_from_differences(xp: Any, a: Array, b: Array) -> Array:
    """``Σ_k (a_ik − b_jk)²``, one feature at a time (two-dimensional temporaries)."""
    total = None
    for k in range(a.shape[1]):
        diff = a[:, k : k + 1] - xp.reshape(b[:, k], (1, -1))
        square = diff * diff
        total = square if total is None else total + square
    return total


#: Squared distances below this fraction of ``‖a‖² + ‖b‖²`` (centred norms) are
#: recomputed from coordinate differences (:func:`refine_close_pairs`).
CLOSE_PAIR_FRACTION = 2.0**-6

#: Below this ratio of the largest centred squared norm to the smallest squared
#: bandwidth the matmul form is as accurate as the refinement guarantees
#: (:func:`matmul_unresolved`).
RESOLVED_RATIO = 2.0**6 / math.e


def matmul_unresolved(xp: Any, norms: Array, smallest: list[Any] | None) -> bool:
    """Whether the matmul distances need :func:`refine_close_pairs` for this kernel.

    A squared distance's matmul error ``δ ≤ 3(d+2)u·(‖a‖² + ‖b‖²)`` moves a radial
    term ``exp(−t/2σ²)`` or ``(1 + t/σ²)^(−1/2)`` by at most ``δ/(2σ²)``; below
    :data:`RESOLVED_RATIO` of ``max ‖z − z̄‖² / σ_min²`` that is within the
    ``192(d+2)u/e`` per term that the refinement guarantees, so no tile is
    checked (every ordinary sample with a data-driven bandwidth). ``smallest``:
    the smallest bandwidth of each group (None: not a radial kernel, always
    checked). One reduction, read on the host with the bandwidths.
    """
    if smallest is None:
        return True
    largest = float(xp.max(norms))
    squares = (float(sigma) * float(sigma) for sigma in smallest)  # inf, not OverflowError
    return any(largest > RESOLVED_RATIO * square for square in squares)


def refine_close_pairs(
    xp: Any,
    values: Array,
    a: Array,
    b: Array,
    a_norms: Array,
    b_norms: Array,
    diagonal: Array | None = None,
) -> Array:
    """Recompute from differences the squared distances the matmul form cannot resolve.

    ``‖a‖² + ‖b‖² − 2a·b`` in floating point has an absolute error up to
    ``γ·(‖a‖² + ‖b‖²)`` with ``γ = 3(d+2)u`` (``u`` the unit roundoff): a
    pair whose distance is small next to its norms (near-duplicates beside an
    outlier, two tight clusters far apart) loses every digit. Entries below
    :data:`CLOSE_PAIR_FRACTION` of ``‖a_i‖² + ‖b_j‖²`` are recomputed as
    ``Σ_k (a_ik − b_jk)²`` (relative error ``≤ (d+2)u``), so that every squared
    distance carries a relative error of at most ``2⁶·γ = 192(d+2)u`` whatever
    the spread of the data (in practice ``~2⁶·√d·u``).

    Host arrays only (the caller decides). The check is a row-wise minimum of
    the tile (after a ``where`` on a diagonal tile) and one flag read: only if
    some row's nearest entry is below its row's limit plus the largest column
    limit are the limits compared entry by entry, and only the flagged entries
    are recomputed, gathered by the boolean mask, and written back in place
    (``values`` must be a fresh array).
    """
    a_limits = a_norms * CLOSE_PAIR_FRACTION
    b_limits = b_norms * CLOSE_PAIR_FRACTION
    masked = values if diagonal is None else xp.where(diagonal, math.inf, values)
    nearest = xp.min(masked, axis=1)
    if bool(xp.min(nearest - a_limits) >= xp.max(b_limits)):
        return values
    close = masked < a_limits[:, None] + b_limits[None, :]
    # gathered by the boolean mask, not by nonzero's indices: those are int64 in
    # array-api-strict even on its no_x64 device, which refuses int64
    shape = (a.shape[0], b.shape[0], a.shape[1])
    rows_a = xp.broadcast_to(a[:, None, :], shape)[close]
    diff = rows_a - xp.broadcast_to(b[None, :, :], shape)[close]
    values[close] = xp.sum(diff * diff, axis=1)
    return values


def _chunked_difference_sum(xp: Any, a: Array, b: Array, elementwise: Any) -> Array:
    """``Σ_k f(a_ik − b_jk)`` over feature chunks, with a bounded temporary."""
    rows, cols, dim = a.shape[0], b.shape[0], a.shape[1]
    chunk = max(1, min(dim, L1_CHUNK_ELEMENTS // max(1, rows * cols)))
    total = None
    for start in range(0, dim, chunk):
        stop = min(dim, start + chunk)
        diff = a[:, None, start:stop] - b[None, :, start:stop]
        part = xp.sum(elementwise(diff), axis=2)
        total = part if total is None else total + part
    return total


def cityblock_tile(xp: Any, a: Array, b: Array) -> Array:
    """``‖a_i − b_j‖₁`` with a bounded temporary."""
    return _chunked_difference_sum(xp, a, b, xp.abs)


def safe_sqrt(xp: Any, values: Array) -> Array:
    """``sqrt`` of non-negative values with gradient 0 (not NaN) at 0."""
    positive = values > 0
    safe = xp.where(positive, values, xp.ones_like(values))
    return xp.where(positive, xp.sqrt(safe), xp.zeros_like(values))


def euclidean_tile(xp: Any, a: Array, b: Array) -> Array:
    """``‖a_i − b_j‖`` from coordinate differences, with a bounded temporary."""
    return safe_sqrt(xp, _chunked_difference_sum(xp, a, b, lambda diff: diff * diff))


def dot_tile(xp: Any, a: Array, b: Array) -> Array:
    """Inner products ``a_i · b_j``."""
    return a @ xp.matrix_transpose(b)


def paired(xp: Any, metric: Metric, a: Array, b: Array) -> Array:
    """The metric between matching rows ``a_i`` and ``b_i``, shape ``(n,)``."""
    if metric == "dot":
        return xp.sum(a * b, axis=1)
    diff = a - b
    if metric == "cityblock":
        return xp.sum(xp.abs(diff), axis=1)
    squares = xp.sum(diff * diff, axis=1)
    return safe_sqrt(xp, squares) if metric == "euclidean" else squares
