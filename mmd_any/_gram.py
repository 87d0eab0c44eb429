"""The Gram engine: tiles, diagonals and group sums of the pooled kernel matrix.

The pooled sample ``z = [x; y]`` (``N = n + m`` rows) is prepared once: centred
for the distance-based kernels, augmented for the one-matmul squared distances,
with its data-driven kernel parameters resolved. Everything the estimators
need is then a reduction over tiles of ``K(z, z)``; no tile is larger than
``block × block`` and, since ``K`` is symmetric, only the tiles on and above
the diagonal are computed.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import device

from . import _distances
from ._namespace import accumulator_dtype

Array = Any

#: Default tile edge: a 1024 × 1024 float32 tile is 4 MiB, small enough to be
#: recycled by the allocator (no page faults) and large enough to keep BLAS busy.
DEFAULT_BLOCK = 1024


def check_block_size(block_size: int | None) -> int:
    """Validate ``block_size`` (None means :data:`DEFAULT_BLOCK`)."""
    if block_size is None:
        return DEFAULT_BLOCK
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"`block_size` must be a positive integer or None, got {block_size!r}")
    return block_size


class PooledGram:
    """Lazy view of the kernel matrix of the pooled samples.

    Parameters
    ----------
    xp : namespace
    kernel : mmd_any.kernels.Kernel
    samples : list of arrays
        Samples of equal width and dtype, stacked in this order.
    """

    def __init__(self, xp: Any, kernel: Any, samples: list[Array]) -> None:
        self.xp = xp
        self.kernel = kernel
        self.sizes = [int(s.shape[0]) for s in samples]
        z = samples[0] if len(samples) == 1 else xp.concat(samples, axis=0)
        if kernel.translation_invariant:
            z = _distances.center(xp, z)
        self.points = z
        self.params = kernel.parameters(xp, z)
        if kernel.metric == "sqeuclidean":
            self._left, self._right = _distances.augment_for_sqeuclidean(xp, z)

    @property
    def size(self) -> int:
        """Number of pooled points ``N``."""
        return sum(self.sizes)

    def tile(self, rows: slice, cols: slice) -> Array:
        """``K[rows, cols]``."""
        xp, metric = self.xp, self.kernel.metric
        if metric == "sqeuclidean":
            values = _distances.sqeuclidean_tile(xp, self._left[rows], self._right[cols])
        elif metric == "cityblock":
            values = _distances.cityblock_tile(xp, self.points[rows], self.points[cols])
        else:
            values = _distances.dot_tile(xp, self.points[rows], self.points[cols])
        return self.kernel.profile(xp, values, self.params)

    def diag(self) -> Array:
        """``k(z_i, z_i)`` for every pooled point, shape ``(N,)``."""
        xp = self.xp
        if self.kernel.metric == "dot":
            values = _distances.sq_norms(xp, self.points)
        else:
            values = xp.zeros((self.size,), dtype=self.points.dtype, device=device(self.points))
        return self.kernel.profile(xp, values, self.params)

    def paired(self, a: Array, b: Array) -> Array:
        """``k(a_i, b_i)`` for matching rows of two point sets from :attr:`points`."""
        values = _distances.paired(self.xp, self.kernel.metric, a, b)
        return self.kernel.profile(self.xp, values, self.params)

    def group_indicator(self) -> Array:
        """``(N, G)`` matrix whose column g is 1 on the rows of sample g."""
        xp, z = self.xp, self.points
        index = xp.arange(self.size, device=device(z))
        columns = []
        start = 0
        for size in self.sizes:
            inside = xp.logical_and(index >= start, index < start + size)
            columns.append(xp.astype(inside, z.dtype))
            start += size
        return xp.stack(columns, axis=1)

    def weighted_sums(self, weights: Array, block: int) -> Array:
        """``Wᵀ K W`` for a ``(N, P)`` weight matrix, tiled over the upper triangle.

        Each tile contributes ``W_rᵀ K_rc W_c``; an off-diagonal tile also
        stands for its mirror image and adds the transpose. Partial sums are
        accumulated in float64 where the device has it.
        """
        xp = self.xp
        acc_dtype = accumulator_dtype(xp, weights.dtype, device(weights))
        n_points = self.size
        total = None
        for r0 in range(0, n_points, block):
            rows = slice(r0, min(n_points, r0 + block))
            w_rows_t = xp.matrix_transpose(weights[rows])
            for c0 in range(r0, n_points, block):
                cols = slice(c0, min(n_points, c0 + block))
                part = xp.matmul(w_rows_t, xp.matmul(self.tile(rows, cols), weights[cols]))
                part = xp.astype(part, acc_dtype)
                if c0 != r0:
                    part = part + xp.matrix_transpose(part)
                total = part if total is None else total + part
        return total
