"""The Gram engine: tiles, diagonals and group sums of the pooled kernel matrix.

The pooled sample ``z = [x; y]`` (``N = n + m`` rows) is prepared once: centred
and augmented for the one-matmul squared distances (the L1 and Euclidean
distances come from coordinate differences, which centring would only round),
with its data-driven kernel parameters resolved. Everything the estimators
need is then a reduction over tiles of ``K(z, z)``; no tile is larger than
``block × block`` and, since ``K`` is symmetric, only the tiles on and above
the diagonal are computed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from array_api_compat import device

from . import _distances
from ._namespace import accumulator_dtype

Array = Any

#: Default rows per tile; off-diagonal tiles have twice as many columns. A
#: 256 × 512 float32 tile is 512 KiB: it stays in the L2 cache and is recycled
#: by the allocator without page faults. Chosen from a sweep of tile shapes at
#: n = m = 2048, d = 64 on NumPy and torch (2 cores): 256 × 512 was the best
#: shape on NumPy and within 1.3x of the best on torch.
DEFAULT_BLOCK = 256


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
    params : optional
        Kernel parameters resolved elsewhere (the Dask engine resolves them once
        for all chunk pairs); by default they are resolved from these samples.
    """

    def __init__(self, xp: Any, kernel: Any, samples: list[Array], params: Any = None) -> None:
        self.xp = xp
        self.kernel = kernel
        self.sizes = [int(s.shape[0]) for s in samples]
        z = samples[0] if len(samples) == 1 else xp.concat(samples, axis=0)
        if kernel.metric == "sqeuclidean":
            z = _distances.center(xp, z)
        self.points = z
        self.params = kernel.parameters(xp, z, self.sizes) if params is None else params
        if kernel.metric == "sqeuclidean":
            self._left, self._right = _distances.augment_for_sqeuclidean(xp, z)

    @property
    def size(self) -> int:
        """Number of pooled points ``N``."""
        return sum(self.sizes)

    def metric_tile(self, rows: slice, cols: slice) -> Array:
        """The kernel's metric (squared distance, L1 distance or dot) on a tile."""
        xp, metric = self.xp, self.kernel.metric
        if metric == "sqeuclidean":
            values = _distances.sqeuclidean_tile(xp, self._left[rows, :], self._right[cols, :])
            # a point's distance to itself is 0, not the matmul's rounding residue
            # eps·‖z_i‖², which a narrow bandwidth would turn into k(z_i, z_i) < 1
            return _distances.zero_diagonal(xp, values) if rows == cols else values
        if metric == "cityblock":
            return _distances.cityblock_tile(xp, self.points[rows, :], self.points[cols, :])
        if metric == "euclidean":
            return _distances.euclidean_tile(xp, self.points[rows, :], self.points[cols, :])
        return _distances.dot_tile(xp, self.points[rows, :], self.points[cols, :])

    def tile(self, rows: slice, cols: slice) -> Array:
        """``K[rows, cols]``."""
        return self.kernel.profile(self.xp, self.metric_tile(rows, cols), self.params)

    def paired(self, a: Array, b: Array) -> Array:
        """``k(a_i, b_i)`` for matching rows of two point sets from :attr:`points`."""
        values = _distances.paired(self.xp, self.kernel.metric, a, b)
        return self.kernel.profile(self.xp, values, self.params)

    def sample_weights_t(self, values: list[list[float]]) -> Array:
        """``(P, N)`` weights, row p holding ``values[p][g]`` on the points of sample g."""
        xp, z = self.xp, self.points
        dev = device(z)
        rows = [
            xp.concat(
                [
                    xp.full((size,), value, dtype=z.dtype, device=dev)
                    for size, value in zip(self.sizes, row, strict=True)
                ]
            )
            for row in values
        ]
        return xp.stack(rows, axis=0)

    def quadratic_forms(
        self,
        weights_t: Array,
        block: int,
        block_cols: int | None = None,
        *,
        per_term: bool = False,
        exclude_diagonal: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> Array:
        """``w_pᵀ K w_p`` for each row ``w_p`` of a ``(P, N)`` weight matrix.

        Only tiles on and right of the diagonal are computed; an off-diagonal
        tile stands for its mirror image too, so it counts twice. Each tile is
        computed once for all P rows: one ``(P, rows) @ K`` product (the fast
        orientation on every backend) and a row-wise dot with the column
        weights. Partial sums are accumulated in float64 where the device has
        it.

        Parameters
        ----------
        weights_t : array, shape (P, N)
        block : int
            Rows per tile.
        block_cols : int, optional
            Columns per off-diagonal tile (default ``2 * block``).
        per_term : bool
            Return the forms of each kernel term (bandwidth) separately.
        exclude_diagonal : bool
            Use ``K`` with its diagonal set to 0 (the U-statistic's sums over
            ``i ≠ j``), exactly: the diagonal is removed from the tiles, not
            subtracted afterwards, which in float32 would cancel the small
            off-diagonal sums of a narrow kernel against ``k(z_i, z_i)``.
        progress : callable, optional
            Called with the number of kernel entries done after each row block.

        Returns
        -------
        array, shape (P,), or (L, P) with ``per_term`` for L kernel terms
        """
        xp = self.xp
        acc_dtype = accumulator_dtype(xp, weights_t.dtype, device(weights_t))
        block_cols = 2 * block if block_cols is None else block_cols
        n_points = self.size
        total = None
        for r0 in range(0, n_points, block):
            r1 = min(n_points, r0 + block)
            rows = slice(r0, r1)
            left = weights_t[:, rows]
            diagonal_tile = self._tile_forms(
                left, rows, rows, weights_t, per_term, exclude_diagonal
            )
            forms = xp.astype(diagonal_tile, acc_dtype)
            for c0 in range(r1, n_points, block_cols):
                cols = slice(c0, min(n_points, c0 + block_cols))
                step = self._tile_forms(left, rows, cols, weights_t, per_term)
                forms = forms + 2.0 * xp.astype(step, acc_dtype)
            total = forms if total is None else total + forms
            if progress is not None:
                progress((r1 - r0) * (n_points - r0))
        return total

    def cross_forms(self, weights_t: Array, block: int, per_term: bool = False) -> Array:
        """``Σ_{i∈first, j∈second} w_p[i] K[i, j] w_p[j]``: the off-diagonal block of a
        two-sample gram (``sizes = [a, b]``), tile by tile."""
        xp = self.xp
        acc_dtype = accumulator_dtype(xp, weights_t.dtype, device(weights_t))
        first, n_points = self.sizes[0], self.size
        total = None
        for r0 in range(0, first, block):
            rows = slice(r0, min(first, r0 + block))
            left = weights_t[:, rows]
            for c0 in range(first, n_points, 2 * block):
                cols = slice(c0, min(n_points, c0 + 2 * block))
                step = xp.astype(self._tile_forms(left, rows, cols, weights_t, per_term), acc_dtype)
                total = step if total is None else total + step
        return total

    def _tile_forms(
        self,
        left: Array,
        rows: slice,
        cols: slice,
        weights_t: Array,
        per_term: bool,
        exclude_diagonal: bool = False,
    ) -> Array:
        xp, kernel = self.xp, self.kernel
        values = self.metric_tile(rows, cols)
        right = weights_t[:, cols]
        if exclude_diagonal:
            index = xp.arange(values.shape[0], device=device(values))
            off_diagonal = index[:, None] != index[None, :]
            zero = xp.zeros_like(values)
            terms = [
                xp.where(off_diagonal, term, zero) for term in kernel.terms(xp, values, self.params)
            ]
            if not per_term:
                total = terms[0]
                for term in terms[1:]:
                    total = total + term
                terms = [total]
            products = [xp.vecdot(xp.matmul(left, term), right, axis=-1) for term in terms]
            return xp.stack(products) if per_term else products[0]
        if not per_term:
            product = kernel.left_times_profile(xp, left, values, self.params)
            return xp.vecdot(product, right, axis=-1)
        products = kernel.left_times_terms(xp, left, values, self.params)
        return xp.stack([xp.vecdot(product, right, axis=-1) for product in products])
