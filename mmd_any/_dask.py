"""Dask adapter: the exact MMD² as one task per pair of row chunks.

The generic path would build one Dask task per 256-row tile (millions of tasks
at n = 10⁶). Here the pooled sample is split along Dask's own row chunks;
the kernel parameters (median on a seeded subsample, or the mean distance) are
resolved once, lazily, on the whole pooled array; and each pair of chunks
``(i ≤ j)`` becomes one task that runs the ordinary tiled engine on the two
NumPy (or CuPy) blocks: ``w_iᵀ K_ii w_i`` on the diagonal, ``2·w_iᵀ K_ij w_j``
off it. The tasks' partial sums are added in float64 into a lazy 0-d Dask
array, so the Gram matrix never exists and a cluster of workers computes
n = m = 10⁶ out of core. Only the weights (which rows are ``x``) are built on
the host, per chunk. This is the only Dask-specific code; the per-chunk math
is the array-API core.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from . import _distances, _gram
from .bandwidths import Sigmas

Array = Any


def _chunk_weights(start: int, stop: int, n: int, m: int, unbiased: bool) -> np.ndarray:
    """``(P, rows)`` weight rows of the pooled rows ``start:stop``."""
    index = np.arange(start, stop)
    in_x = (index < n).astype(np.float64)
    in_y = 1.0 - in_x
    if not unbiased:
        return (in_x / n - in_y / m)[None, :]
    from .estimators import unbiased_coefficients

    _, big_a, big_b = unbiased_coefficients(n, m)
    rank_one = in_x * math.sqrt(big_a) - in_y * math.sqrt(big_b)
    return np.stack([rank_one, np.ones_like(rank_one)])


def _rebuild_params(params_spec: Any, bases: tuple[Any, ...]) -> Any:
    if params_spec is None:
        return None
    if isinstance(params_spec, tuple) and params_spec and params_spec[0] == "sigmas":
        return [Sigmas(base, scales) for base, scales in zip(bases, params_spec[1], strict=True)]
    return params_spec


def _as_chunk_scalar(xp: Any, value: Any, dtype: Any) -> Any:
    """A computed bandwidth as a 0-d array of the chunks' dtype (floats stay floats)."""
    if isinstance(value, (int, float)):
        return value
    return xp.astype(xp.asarray(value), dtype)


def _pair_forms(
    kernel: Any,
    params_spec: Any,
    unbiased: bool,
    block: int,
    rows_i: np.ndarray,
    weights_i: np.ndarray,
    rows_j: np.ndarray | None,
    weights_j: np.ndarray | None,
    *bases: Any,
) -> np.ndarray:
    """One task: the diagonal-block form (``rows_j`` None) or twice the cross form."""
    xp = array_namespace(rows_i)
    params = _rebuild_params(params_spec, bases)
    if isinstance(params, list):
        params = [Sigmas(_as_chunk_scalar(xp, g.base, rows_i.dtype), g.scales) for g in params]
    if rows_j is None:
        gram = _gram.PooledGram(xp, kernel, [rows_i], params=params)
        w = xp.asarray(weights_i, dtype=rows_i.dtype)
        forms = gram.quadratic_forms(w, block, exclude_diagonal=unbiased)
    else:
        gram = _gram.PooledGram(xp, kernel, [rows_i, rows_j], params=params)
        w = xp.asarray(np.concatenate([weights_i, weights_j], axis=1), dtype=rows_i.dtype)
        forms = 2.0 * gram.cross_forms(w, block)
    return np.asarray(forms, dtype=np.float64)


def quadratic(xp: Any, kernel: Any, x: Array, y: Array, unbiased: bool, block: int) -> Array:
    """The biased or unbiased MMD² of Dask arrays ``x``, ``y`` as a lazy 0-d array."""
    import dask
    import dask.array as da

    n, m = int(x.shape[0]), int(y.shape[0])
    pooled = xp.concat([x, y], axis=0)
    pooled = pooled.rechunk({1: -1})
    if kernel.metric == "sqeuclidean":
        pooled = _distances.center(xp, pooled)
    params = kernel.parameters(xp, pooled, [n, m])
    if isinstance(params, list):
        spec: Any = ("sigmas", tuple(g.scales for g in params))
        bases: tuple[Any, ...] = tuple(g.base for g in params)
    else:
        spec, bases = params, ()
    # one shared Delayed per computed bandwidth: passing the dask array itself to
    # every task would splice its graph into each of them
    bases = tuple(b.to_delayed().ravel()[0] if hasattr(b, "to_delayed") else b for b in bases)
    offsets = np.concatenate([[0], np.cumsum(pooled.chunks[0])]).astype(int)
    blocks = pooled.to_delayed().ravel()
    weights = [
        _chunk_weights(offsets[i], offsets[i + 1], n, m, unbiased) for i in range(len(blocks))
    ]
    task = dask.delayed(_pair_forms, pure=True)
    parts = []
    for i, rows_i in enumerate(blocks):
        parts.append(task(kernel, spec, unbiased, block, rows_i, weights[i], None, None, *bases))
        for j in range(i + 1, len(blocks)):
            parts.append(
                task(
                    kernel, spec, unbiased, block, rows_i, weights[i], blocks[j], weights[j], *bases
                )
            )
    total = dask.delayed(sum)(parts)
    forms = da.from_delayed(total, shape=(2,) if unbiased else (1,), dtype=np.float64)
    if not unbiased:
        return forms[0]
    from .estimators import unbiased_coefficients

    gamma = unbiased_coefficients(n, m)[0]
    return forms[0] + gamma * forms[1]
