"""The Gram engine: tiles, quadratic forms and blocks of the pooled kernel matrix.

The pooled sample ``z = [x; y]`` (``N = n + m`` rows) is prepared once: centred
and augmented for the one-matmul squared distances (the L1 and Euclidean
distances come from coordinate differences, which centring would only round),
with its data-driven kernel parameters resolved. Everything the estimators
need is then a reduction over tiles of ``K(z, z)``, traversed as a
:class:`mmd_any._plan.Plan` says: one tile when the matrix fits (the training
loss, every small batch), else tiles on and above the diagonal (``K`` is
symmetric), an off-diagonal tile standing for its mirror image too.

This is the one engine every consumer uses: :func:`mmd_any.mmd2`,
:func:`mmd_any.kid`, :func:`mmd_any.kernel_matrix`, the permutation tests and
the Dask adapter's chunk pairs. It counts its array calls: on an accelerator each
one is a kernel launch, so the per-tile work is a matmul, the kernel's
elementwise profile, one weight product and one row-wise dot; partial sums are
stacked once and added in float64 where the device has it, else with
compensation (:mod:`mmd_any._summation`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from array_api_compat import device

from . import _distances, _scaling
from ._compat import branches_cheaply, is_host, stop_gradient
from ._distances import overlap_mask
from ._plan import Plan
from ._summation import CompensatedSum
from ._typing import Array
from .bandwidths import radial_groups

#: Up to this many pooled points the host too evaluates tiles with the fewest
#: array calls: each call costs a few µs of dispatch, more than the extra exps
#: (``benchmarks/bench_launches.py``, CPU small batches).
HOST_FEWEST_CALLS_POINTS = 64


class PooledGram:
    """Lazy view of the kernel matrix of the pooled samples.

    Parameters
    ----------
    xp : namespace
    kernel : mmd_any.kernels.Kernel
    samples : list of arrays
        Samples of equal width and dtype, stacked in this order.
    params : optional
        Kernel parameters resolved elsewhere (the Dask adapter resolves them once
        for all chunk pairs); by default they are resolved from these samples.
    scale : array, optional
        The power of two the samples are divided by (:mod:`mmd_any._scaling`):
        computed here when ``params`` are resolved here, else given with the
        ``params`` it was resolved with.
    zero_sum : bool
        Every weight row formed with this gram sums to zero over the points
        (every MMD estimator; not :func:`mmd_any.kernel_matrix`, which returns
        kernel values): the linear kernel then sees centred points.

    On the host CPU (:func:`mmd_any._compat.is_host`) the kernel prepares its
    parameters for the fewest flops (above :data:`HOST_FEWEST_CALLS_POINTS`
    points), elsewhere for the fewest array calls.
    """

    def __init__(
        self,
        xp: Any,
        kernel: Any,
        samples: list[Array],
        params: Any = None,
        scale: Array | None = None,
        *,
        zero_sum: bool = True,
    ) -> None:
        self.xp = xp
        self.kernel = kernel
        self.sizes = [int(s.shape[0]) for s in samples]
        z = samples[0] if len(samples) == 1 else xp.concat(samples, axis=0)
        if params is None:
            points, params, scale = _scaling.resolve_parameters(
                xp, kernel, z, self.sizes, zero_sum=zero_sum
            )
        else:
            points = _scaling.prepare_points(xp, kernel, z, scale, zero_sum=zero_sum)
        z = points.centred
        #: The rescaled points before centring, for distances from differences.
        self.scaled_points = points.scaled
        #: The power of two the points were divided by (None: not rescaled).
        self.scale = scale
        self.points = z
        self.params = params
        self.device = device(z)
        host = is_host(xp, self.device)
        #: Close pairs are recomputed from differences
        #: (:func:`mmd_any._distances.refine_close_pairs`): eager host arrays only,
        #: and only where the matmul form's error could move the kernel's values.
        self.refines = False
        #: Evaluate tiles with the fewest array calls (stacked kernel terms, summed
        #: before one product) rather than the fewest flops: always off the host,
        #: and on the host for small matrices, where the calls cost more than the math.
        self.fewest_calls = not host or self.size <= HOST_FEWEST_CALLS_POINTS
        self.prepared = kernel.prepare(xp, self.params, host=not self.fewest_calls, like=z)
        if kernel.metric == "sqeuclidean":
            self._left, self._right = _distances.augment_for_sqeuclidean(xp, z)
            self.refines = branches_cheaply(xp, self.device) and _distances.matmul_unresolved(
                xp, stop_gradient(self._left[:, z.shape[1]]), _smallest_bandwidths(self.params)
            )

    @property
    def size(self) -> int:
        """Number of pooled points ``N``."""
        return sum(self.sizes)

    @property
    def n_terms(self) -> int:
        """Number of kernel terms (bandwidths) per tile."""
        return self.kernel.n_terms(self.prepared)

    def metric_tile(self, rows: slice, cols: slice, diagonal: Array | None = None) -> Array:
        """The kernel's metric (squared distance, L1 distance or dot) on a tile.

        ``diagonal``: a boolean mask of the tile's diagonal when the tile lies on
        the diagonal of ``K``; a point's squared distance to itself is then an
        exact 0, not the matmul's rounding residue ``eps·‖z_i‖²`` (which a narrow
        bandwidth would turn into ``k(z_i, z_i) < 1``).
        """
        xp, metric = self.xp, self.kernel.metric
        if metric == "sqeuclidean":
            scaled = self.scaled_points
            exact = (scaled[rows, :], scaled[cols, :]) if self.refines else None
            left, right = self._left[rows, :], self._right[cols, :]
            values = _distances.sqeuclidean_tile(xp, left, right, exact, diagonal)
            if diagonal is not None:
                values = xp.where(diagonal, 0.0, values)
            return values
        if metric == "cityblock":
            return _distances.cityblock_tile(xp, self.points[rows, :], self.points[cols, :])
        if metric == "euclidean":
            return _distances.euclidean_tile(xp, self.points[rows, :], self.points[cols, :])
        return _distances.dot_tile(xp, self.points[rows, :], self.points[cols, :])

    def tile(self, rows: slice, cols: slice) -> Array:
        """``K[rows, cols]`` (exact zero self-distances where rows and cols overlap)."""
        diagonal = None
        overlap = rows.start < cols.stop and cols.start < rows.stop
        if self.kernel.metric == "sqeuclidean" and overlap:
            diagonal = overlap_mask(self.xp, rows, cols, self.device)
        values = self.kernel.profile(self.xp, self.metric_tile(rows, cols, diagonal), self.prepared)
        return self._in_data_units(values)

    def block(self, rows: slice, cols: slice, plan: Plan) -> Array:
        """``K[rows, cols]`` assembled from row blocks of at most ``plan.rows`` rows."""
        xp = self.xp
        starts = range(rows.start, rows.stop, max(1, plan.rows))
        parts = [self.tile(slice(s, min(rows.stop, s + plan.rows)), cols) for s in starts]
        return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)

    def paired(self, a: Array, b: Array) -> Array:
        """``k(a_i, b_i)`` for matching rows of two point sets from :attr:`points`."""
        values = _distances.paired(self.xp, self.kernel.metric, a, b)
        return self._in_data_units(self.kernel.profile(self.xp, values, self.prepared))

    def _in_data_units(self, values: Array) -> Array:
        """Kernel values (or their sums) of the rescaled points in the data's units."""
        return _scaling.in_data_units(self.xp, self.kernel, self.scale, values)

    def sample_weights(self, values: tuple[tuple[float, ...], ...]) -> Array:
        """``(R, N)`` weights on the device, row r holding ``values[r][g]`` on sample g."""
        xp, z = self.xp, self.points
        dev = self.device
        rows = [
            xp.concat(
                [
                    xp.full((size,), value, dtype=z.dtype, device=dev)
                    for size, value in zip(self.sizes, row, strict=True)
                ]
            )
            for row in values
        ]
        return rows[0][None, :] if len(rows) == 1 else xp.stack(rows, axis=0)

    def quadratic_forms(
        self,
        weights_t: Array,
        plan: Plan,
        *,
        per_term: bool = False,
        exclude_diagonal: bool = False,
        squares: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> Array | tuple[Array, Array]:
        """``w_pᵀ K w_p`` for each row ``w_p`` of a ``(P, N)`` weight matrix.

        Each tile is computed once for all P rows: one ``(P, rows) @ K`` product
        (the fast orientation on every backend) and a row-wise dot with the
        column weights.

        Parameters
        ----------
        weights_t : array, shape (P, N)
        plan : Plan
            Tile shape; the whole matrix is one tile when ``plan.rows ≥ N``.
        per_term : bool
            Return the forms of each kernel term (bandwidth) separately.
        exclude_diagonal : bool
            Use ``K`` with its diagonal set to 0 (the U-statistic's sums over
            ``i ≠ j``), exactly: the diagonal is removed from the tiles, not
            subtracted afterwards, which in float32 would cancel the small
            off-diagonal sums of a narrow kernel against ``k(z_i, z_i)``.
        squares : bool
            Also return ``Σ_ij K_ij²`` of each term (over ``i ≠ j`` with
            ``exclude_diagonal``; implies ``per_term``), accumulated in the same
            pass over the tiles: MMD-FUSE's normalisation.
        progress : callable, optional
            Called with the number of kernel entries done after each row block.

        Returns
        -------
        array, shape (P,), or (L, P) with ``per_term`` for L kernel terms
            In float64 where the device has it when several tiles were added;
            in the data's dtype for a single tile. On a device without float64
            the tiles' sums are added with compensation
            (:class:`mmd_any._summation.CompensatedSum`): the error is that of
            one tile plus ``u·|S| + γ²_{T−1}·Σ|tile sums|`` for ``T`` tiles.
        (array (L, P), array (L,)) with ``squares``
            The forms and each term's sum of squared entries.
        """
        xp = self.xp
        n_points = self.size
        per_term = per_term or squares
        once, twice = (1.0, 2.0) if squares else (None, None)
        dev = self.device
        first = min(n_points, plan.rows)
        needs_eye = exclude_diagonal or self.kernel.metric == "sqeuclidean"
        eye = overlap_mask(xp, slice(0, first), slice(0, first), dev) if needs_eye else None
        if plan.single_tile(n_points):
            everything = slice(0, n_points)
            forms = self._tile_forms(
                weights_t,
                everything,
                everything,
                weights_t,
                per_term,
                eye,
                exclude_diagonal,
                once,
            )
            if progress is not None:
                progress(plan.block_entries(n_points, 0))
            return self._forms_in_data_units(forms, squares)
        doubled = 2.0 * weights_t  # an off-diagonal tile stands for its mirror image too
        parts = []
        for r0 in range(0, n_points, plan.rows):
            r1 = min(n_points, r0 + plan.rows)
            rows = slice(r0, r1)
            left = weights_t[:, rows]
            mask = eye if eye is None or r1 - r0 == first else eye[: r1 - r0, : r1 - r0]
            diagonal_tile = (left, rows, rows, weights_t, per_term, mask, exclude_diagonal, once)
            parts.append(self._tile_forms(*diagonal_tile))
            for c0 in range(r1, n_points, plan.cols):
                cols = slice(c0, min(n_points, c0 + plan.cols))
                tile = (left, rows, cols, doubled, per_term, None, False, twice)
                parts.append(self._tile_forms(*tile))
            if progress is not None:
                progress(plan.block_entries(n_points, r0))
        return self._forms_in_data_units(CompensatedSum.of(xp, parts, dev).value(xp), squares)

    def weighted_sums(self, weights_t: Array, sources: int, plan: Plan) -> Array:
        """``Σ_{i < sources} w_p[i] K[i, j]`` at every pooled point ``j``: ``(P, N)``.

        The first ``sources`` points carry the weights (``weights_t`` has
        ``sources`` columns); the sums are taken at every point, those included
        (the witness function, :func:`mmd_any.witness`). One tile when the plan
        allows (the fewest calls). Otherwise square blocks: on the sources' own
        square only the tiles on and above the diagonal are evaluated, each giving
        the sums at its columns (``w_rows @ K``) and, off the diagonal, at its
        rows (``w_cols @ Kᵀ``), one kernel evaluation per pair as for the
        quadratic forms; the points after ``sources`` get one tile per block of
        sources. Tiles are in the data's units already (:meth:`tile`); their
        sums are added in float64 where the device has it, else with
        compensation (:class:`mmd_any._summation.CompensatedSum`).
        """
        xp, n_points = self.xp, self.size
        if plan.single_tile(n_points):
            return weights_t @ self.tile(slice(0, sources), slice(0, n_points))
        block = max(1, min(plan.rows, plan.cols))
        starts = range(0, n_points, block)
        parts: dict[int, list[Array]] = {start: [] for start in starts}
        for r0 in range(0, sources, block):
            rows = slice(r0, min(sources, r0 + block))
            for c0 in starts:
                if c0 < r0:  # below the diagonal of the sources' square: mirrored above
                    continue
                cols = slice(c0, min(n_points, c0 + block))
                tile = self.tile(rows, cols)
                parts[c0].append(weights_t[:, rows] @ tile)
                if r0 < c0 < sources:  # above the diagonal: the sums at the rows too
                    mirror = slice(c0, min(sources, cols.stop))
                    part = tile[:, : mirror.stop - c0]
                    parts[r0].append(weights_t[:, mirror] @ xp.matrix_transpose(part))
        sums = [CompensatedSum.of(xp, parts[start], self.device).value(xp) for start in starts]
        return sums[0] if len(sums) == 1 else xp.concat(sums, axis=1)

    def _forms_in_data_units(self, forms: Array, squares: bool) -> Array | tuple[Array, Array]:
        """Forms, and with ``squares`` the last column split off as the squared sums
        (in the data's units: a kernel value's unit twice)."""
        if not squares:
            return self._in_data_units(forms)
        squared = self._in_data_units(self._in_data_units(forms[:, -1]))
        return self._in_data_units(forms[:, :-1]), squared

    def cross_forms(self, weights_t: Array, plan: Plan, per_term: bool = False) -> Array:
        """``Σ_{i∈first, j∈second} w_p[i] K[i, j] w_p[j]``: the off-diagonal block of a
        two-sample gram (``sizes = [a, b]``), tile by tile, in float64 where available
        (else compensated, as :meth:`quadratic_forms`)."""
        xp = self.xp
        first, n_points = self.sizes[0], self.size
        parts = []
        for r0 in range(0, first, plan.rows):
            rows = slice(r0, min(first, r0 + plan.rows))
            left = weights_t[:, rows]
            for c0 in range(first, n_points, plan.cols):
                cols = slice(c0, min(n_points, c0 + plan.cols))
                parts.append(self._tile_forms(left, rows, cols, weights_t, per_term, None, False))
        return self._in_data_units(CompensatedSum.of(xp, parts, self.device).value(xp))

    def _tile_forms(
        self,
        left: Array,
        rows: slice,
        cols: slice,
        right_weights: Array,
        per_term: bool,
        diagonal: Array | None,
        exclude_diagonal: bool,
        squares: float | None = None,
    ) -> Array:
        """``(left @ K[rows, cols]) · right`` row-wise, per term or summed; with
        ``squares`` (the tile's multiplicity: 2 for a tile standing for its mirror
        image) per term, each term's sum of squared entries times it appended as a
        last column."""
        xp, kernel = self.xp, self.kernel
        host = not self.fewest_calls
        # the excluded diagonal needs no exact zero distance first
        values = self.metric_tile(rows, cols, None if exclude_diagonal else diagonal)
        right = right_weights[:, cols]
        if squares is not None:  # per term, with each term's squared sum as a last column
            zeroed = diagonal if exclude_diagonal else None
            products, sums = kernel.left_times_terms(
                xp, left, values, self.prepared, host, zeroed, squares=True
            )
            forms = xp.stack([rowwise_dot(xp, product, right) for product in products])
            return xp.concat([forms, xp.stack(sums)[:, None] * squares], axis=1)
        if exclude_diagonal:
            if per_term:
                products, _ = kernel.left_times_terms(
                    xp, left, values, self.prepared, host, diagonal
                )
                return xp.stack([rowwise_dot(xp, product, right) for product in products])
            tile = xp.where(diagonal, 0.0, kernel.profile(xp, values, self.prepared))
            return rowwise_dot(xp, left @ tile, right)
        if per_term:
            products, _ = kernel.left_times_terms(xp, left, values, self.prepared, host=host)
            return xp.stack([rowwise_dot(xp, product, right) for product in products])
        product = kernel.left_times_profile(xp, left, values, self.prepared, host=host)
        return rowwise_dot(xp, product, right)


def _smallest_bandwidths(params: Any) -> list[Any] | None:
    """The smallest bandwidth of each group of radial parameters (None: not radial)."""
    groups = radial_groups(params)
    if groups is None:
        return None
    return [stop_gradient(group.base) * min(group.scales) for group in groups]


def rowwise_dot(xp: Any, a: Array, b: Array) -> Array:
    """``Σ_j a[p, j] b[p, j]`` for every row p (one matmul for a single row)."""
    if a.shape[0] == 1:
        return xp.reshape(a @ xp.matrix_transpose(b), (1,))
    return xp.sum(a * b, axis=-1)
