"""Dask adapter: the exact MMD² as one task per pair of row chunks.

The generic path would build one Dask task per tile (millions of tasks at
n = 10⁶). Here the pooled sample is split along Dask's own row chunks; the
kernel parameters (median on a seeded subsample, or the mean distance) are
resolved once, lazily, on the whole pooled array; and each pair of chunks
``(i ≤ j)`` becomes one task that runs the ordinary engine
(:mod:`mmd_any._gram`, host plan) on the two NumPy (or CuPy) blocks: the forms of
the diagonal block, twice the cross forms off it. The weight rows are the
estimator algebra's (:mod:`mmd_any._algebra`), built on the host per chunk. The
tasks' partial sums are added in float64 into a lazy Dask array, so the Gram
matrix never exists and a cluster of workers computes n = m = 10⁶ out of core.
Dask's execution model lives here, and plugs into the estimators through
:func:`mmd_any._registry.register_adapter`; the other Dask-specific decisions
(Dask counts as host memory, its values are never read eagerly, small all-pairs
work runs in one chunk, the hint for unknown chunk sizes) are in
:mod:`mmd_any._compat` with those of the other libraries.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, device, is_dask_array

from . import _gram, _plan, _scaling
from ._algebra import QuadraticStatistic
from ._registry import register_adapter
from ._typing import Array
from .bandwidths import Sigmas


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
    exclude_diagonal: bool,
    block_size: int | None,
    rows_i: np.ndarray,
    weights_i: np.ndarray,
    rows_j: np.ndarray | None,
    weights_j: np.ndarray | None,
    *bases: Any,
) -> np.ndarray:
    """One task: the diagonal-block forms (``rows_j`` None) or twice the cross forms."""
    xp = array_namespace(rows_i)
    params = _rebuild_params(params_spec, bases)
    if isinstance(params, list):
        params = [Sigmas(_as_chunk_scalar(xp, g.base, rows_i.dtype), g.scales) for g in params]
    samples = [rows_i] if rows_j is None else [rows_i, rows_j]
    gram = _gram.PooledGram(xp, kernel, samples, params=params, zero_sum=False)
    plan = _plan.make_plan(
        xp,
        device(rows_i),
        gram.size,
        _plan.itemsize(xp, rows_i.dtype),
        weight_rows=weights_i.shape[0],
        block_size=block_size,
    )
    if rows_j is None:
        w = xp.asarray(weights_i, dtype=rows_i.dtype)
        forms = gram.quadratic_forms(w, plan, exclude_diagonal=exclude_diagonal)
    else:
        w = xp.asarray(np.concatenate([weights_i, weights_j], axis=1), dtype=rows_i.dtype)
        forms = 2.0 * gram.cross_forms(w, plan)
    return np.asarray(forms, dtype=np.float64)


class DaskAdapter:
    """The exact quadratic statistics of Dask arrays, one task per chunk pair."""

    def handles(self, array: Array) -> bool:
        return is_dask_array(array)

    def quadratic_forms(
        self,
        xp: Any,
        kernel: Any,
        x: Array,
        y: Array,
        statistic: QuadraticStatistic,
        block_size: int | None,
    ) -> Array:
        """The ``(R,)`` forms of ``statistic`` as a lazy float64 Dask array."""
        import dask
        import dask.array as da

        n, m = int(x.shape[0]), int(y.shape[0])
        pooled = xp.concat([x, y], axis=0)
        pooled = pooled.rechunk({1: -1})
        # rescaled once, globally (:mod:`mmd_any._scaling`): the tasks see points in range
        points, params, scale = _scaling.resolve_parameters(xp, kernel, pooled, [n, m])
        # the linear kernel needs the one global centring; the distance kernels keep
        # the uncentred points, whose differences are exact (each task centres its pair)
        pooled = points.centred if kernel.metric == "dot" else points.scaled
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
        weights = [statistic.row_weights(offsets[i], offsets[i + 1]) for i in range(len(blocks))]
        task = dask.delayed(_pair_forms, pure=True)
        common = (kernel, spec, statistic.exclude_diagonal, block_size)
        parts = []
        for i, rows_i in enumerate(blocks):
            parts.append(task(*common, rows_i, weights[i], None, None, *bases))
            for j in range(i + 1, len(blocks)):
                parts.append(task(*common, rows_i, weights[i], blocks[j], weights[j], *bases))
        total = dask.delayed(sum)(parts)
        forms = da.from_delayed(total, shape=(statistic.n_rows,), dtype=np.float64)
        return _scaling.in_data_units(xp, kernel, scale, forms)


register_adapter(DaskAdapter())
