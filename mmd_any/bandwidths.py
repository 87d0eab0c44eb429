"""Bandwidth rules of the radial kernels.

A rule turns the pooled sample into one or more bandwidths ``σ_k``. Every rule
has the form ``σ_k = base · scales[k]``: ``base`` may be computed from the data
(a 0-d array on the data's device, never read back to the host) and ``scales``
are Python floats known before any data is seen. Kernels with several
bandwidths are the *sum* of the single-bandwidth kernels (the multi-kernel
MK-MMD of DAN and of the seeds' ``MMDLoss``).

Rules
-----
``Fixed(values)``
    Given bandwidths: a positive float, a sequence of them, or an array.
``Median(scales=(1.0,), max_samples=1000, seed=0, lower=False, sample="pooled")``
    ``base`` = median distance over the distinct pairs of the pooled sample, in
    the kernel's own metric (Euclidean for the Gaussian and inverse
    multiquadric, L1 for the Laplacian). Exact while the pooled sample has at
    most ``max_samples`` points; above that, exact on a seeded subsample of
    ``max_samples`` points drawn without replacement. ``lower=True`` takes the
    lower of the two middle pairs instead of their mean (alibi-detect).
``DistanceQuantiles(count=10, lower=0.05, upper=0.95, spread=(0.5, 2.0), multiplier=1.0)``
    ``count`` bandwidths linearly spaced from ``spread[0]`` times the ``lower``
    quantile to ``spread[1]`` times the ``upper`` quantile of the pairwise
    distances (MMD-FUSE's collection); each bandwidth a member of an
    aggregated test.
``MeanSquaredDistance(scales=(1.0,), include_diagonal=False, sample="pooled")``
    ``2·base² = mean squared Euclidean distance over the distinct pairs``,
    so the Gaussian is ``exp(−‖x−y‖² / mean_sq_dist)``. Computed exactly in
    O(N·d) from the centred norms, without any pairwise matrix.
    ``include_diagonal=True`` averages over all ``N²`` ordered pairs, the zero
    diagonal included (Transfer-Learning-Library).
    :meth:`MeanSquaredDistance.seed` gives the seeds' five-kernel ladder.

``sample="x"`` computes a data-driven rule on the first sample only (the
reference set of a drift detector, as alibi-detect does) instead of on the
pooled sample.

A data-driven ``base`` that comes out as 0 (more than half of the pairs are
duplicates, or all points coincide) is replaced by the root mean squared
distance, and by 1.0 if that is 0 too, so the kernel never divides by zero.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from array_api_compat import device, is_array_api_obj

from . import _distances
from ._checks import check_choice, check_count, check_real, check_seed, is_real
from ._compat import (
    branches_cheaply,
    one_block,
    sorts_slowly,
    stop_gradient,
)
from ._dtypes import from_host, index_dtype
from ._typing import Array

__all__ = [
    "BandwidthRule",
    "DistanceQuantiles",
    "Fixed",
    "MeanSquaredDistance",
    "Median",
    "as_bandwidth",
    "seed_scales",
]


@dataclass(frozen=True)
class Sigmas:
    """Resolved bandwidths ``σ_k = base · scales[k]`` (internal)."""

    base: float | Array
    scales: tuple[float, ...]

    def values(self, unit: Array | float | None = None) -> list[Any]:
        """Each bandwidth ``base · scale`` in the order of ``scales``, times ``unit``
        (the engine's power-of-two rescaling: back in the data's units)."""
        return [
            self.base * scale if unit is None else self.base * scale * unit for scale in self.scales
        ]


def radial_groups(params: Any) -> list[Sigmas] | None:
    """Resolved kernel parameters as bandwidth groups; None for a kernel without
    bandwidths (energy, linear, polynomial)."""
    if isinstance(params, list) and all(isinstance(group, Sigmas) for group in params):
        return params
    return None


def _check_scales(scales: Sequence[float] | float, name: str = "scales") -> tuple[float, ...]:
    """Positive finite floats; a bare real number is one value (as a bare float is one
    bandwidth for :class:`Fixed`)."""
    if is_real(scales):
        scales = (scales,)  # type: ignore[assignment]
    if isinstance(scales, str | bytes) or not isinstance(scales, Iterable):
        raise TypeError(
            f"`{name}` must be a positive float or a sequence of positive floats, got "
            f"{scales!r} of type {type(scales).__name__}"
        )
    values = []
    for item in scales:  # type: ignore[union-attr]
        if isinstance(item, bool | np.bool_ | str | bytes) or item is None:
            raise TypeError(f"`{name}` must hold real numbers, got {item!r} in {scales!r}")
        try:
            values.append(float(item))
        except (TypeError, ValueError):
            raise TypeError(
                f"`{name}` must hold real numbers, got {item!r} of type "
                f"{type(item).__name__} in {scales!r}"
            ) from None
    values = tuple(values)
    if not values:
        raise ValueError(f"`{name}` must hold at least one value")
    for value in values:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"`{name}` must be positive and finite, got {value!r}")
    return values


class BandwidthRule(abc.ABC):
    """Base class of the bandwidth rules (see the module docstring).

    A rule defines :meth:`resolve` and :attr:`count`; it may override
    :meth:`term_labels` (how a test's report names each bandwidth),
    :meth:`data` (which rows it is computed from), ``data_driven`` and
    ``measures_pairs``.
    """

    @abc.abstractmethod
    def resolve(self, xp: Any, z: Array, metric: str, centred: bool = False) -> list[Sigmas]:
        """Bandwidths for the pooled sample ``z`` (internal).

        ``metric`` is the kernel's: ``"sqeuclidean"``, ``"euclidean"`` or
        ``"cityblock"``; ``centred``: ``z`` is already centred on its mean (the
        engine centres the pooled sample of squared-distance kernels), which
        saves the rules a pass.
        """

    def data(self, z: Array, sizes: Sequence[int] | None) -> Array:
        """The rows of the pooled sample ``z`` this rule is computed from.

        Raises
        ------
        ValueError
            If the rule is computed on ``x`` only and ``x`` has fewer than 2 rows.
        """
        if getattr(self, "sample", "pooled") != "x" or sizes is None:
            return z
        if sizes[0] < 2:
            raise ValueError(
                f"bandwidth rule {self!r} is computed on `x` alone, which needs at least "
                f"2 rows, got {sizes[0]}"
            )
        return z[: sizes[0], :]

    #: Whether the bandwidths come from the data (and so scale with it); the
    #: engine then computes on rescaled data and needs to rescale nothing else.
    data_driven: ClassVar[bool] = True
    #: Whether the rule measures distances between individual points (the
    #: median): it is then given the uncentred points, whose differences are
    #: exact where centring on a far-away mean would round them.
    measures_pairs: ClassVar[bool] = False

    @property
    @abc.abstractmethod
    def count(self) -> int:
        """Number of bandwidths the rule yields."""

    def term_labels(self) -> list[str]:
        """A label for each bandwidth, in order, for a test's report of its members
        (``kernel(label)``); empty when the rule yields one bandwidth, which the
        kernel's repr then names."""
        if self.count == 1:
            return []
        return [f"bandwidth {k + 1}/{self.count}" for k in range(self.count)]


class _ScaledRule(BandwidthRule):
    """A rule of one data-driven base times each of its ``scales``."""

    scales: tuple[float, ...]

    @property
    def count(self) -> int:
        return len(self.scales)

    def term_labels(self) -> list[str]:
        if len(self.scales) == 1:
            return []
        return [f"{type(self).__name__} × {s:g}" for s in self.scales]


class Fixed(BandwidthRule):
    """Given bandwidths.

    Parameters
    ----------
    values : float, sequence of float, or array
        Positive bandwidths. A 0-d or 1-D array (for example a torch tensor
        that requires grad) is used as is, on its own device. Its values are
        checked for positivity where an eager host array can be read (NumPy,
        array-api-strict, torch on the CPU outside ``torch.compile``): one read of
        host memory, no device synchronisation. On an accelerator, for lazy
        arrays (Dask, JAX) and under ``torch.compile`` they are not read at all,
        and not checked. A Python or NumPy scalar counts as a float and works
        with the samples of every library.

    Raises
    ------
    TypeError
        For a bool, a string, None, a sequence holding anything but real
        numbers (``[True]`` included), a boolean array, and, when the kernel is
        evaluated, an array of another library than the samples.
    ValueError
        For non-positive or non-finite values, an empty sequence, an array of
        rank > 1, and, when the kernel is evaluated, an array on another device
        than the samples.
    """

    data_driven: ClassVar[bool] = False

    def __init__(self, values: float | Sequence[float] | Array) -> None:
        if is_real(values):  # Python and NumPy scalars: usable with every library
            self.values = _check_scales([values], "bandwidth")
        elif is_array_api_obj(values):
            from array_api_compat import array_namespace

            if array_namespace(values).isdtype(values.dtype, "bool"):
                raise TypeError(
                    f"`bandwidth` array must hold real numbers, got dtype {values.dtype}"
                )
            if values.ndim > 1:
                raise ValueError(
                    f"`bandwidth` array must be 0-d or 1-D, got shape {tuple(values.shape)}"
                )
            readable = branches_cheaply(array_namespace(values), device(values))
            if readable and not bool(_namespace_all_positive(values)):
                raise ValueError("`bandwidth` must be positive and finite")
            self.values: tuple[float, ...] | Array = values
        elif isinstance(values, (int, float)) and not isinstance(values, bool):
            self.values = _check_scales([values], "bandwidth")
        elif isinstance(values, Sequence) and not isinstance(values, str):
            self.values = _check_scales(values, "bandwidth")
        else:
            raise TypeError(
                "`bandwidth` must be a positive float, a sequence of floats, an array, "
                f"'median', 'mean' or a BandwidthRule, got {values!r}"
            )

    @property
    def count(self) -> int:
        if isinstance(self.values, tuple):
            return len(self.values)
        return 1 if self.values.ndim == 0 else int(self.values.shape[0])

    def term_labels(self) -> list[str]:
        if isinstance(self.values, tuple):
            return [] if len(self.values) == 1 else [f"{v:g}" for v in self.values]
        return super().term_labels()  # an array: its values are not read on the host

    def resolve(self, xp: Any, z: Array, metric: str, centred: bool = False) -> list[Sigmas]:
        if isinstance(self.values, tuple):
            # the magnitude in the base, ratios near 1 in the scales: a base divided
            # by the engine's data scale stays in range whatever the units
            top = max(self.values)
            return [Sigmas(top, tuple(value / top for value in self.values))]
        _check_like(self.values, z)
        values = xp.astype(self.values, z.dtype)
        if values.ndim == 0:
            return [Sigmas(values, (1.0,))]
        return [Sigmas(values[k], (1.0,)) for k in range(values.shape[0])]

    def __repr__(self) -> str:
        if isinstance(self.values, tuple):
            shown = self.values[0] if len(self.values) == 1 else list(self.values)
            return f"Fixed({shown!r})"
        return f"Fixed(<array of shape {tuple(self.values.shape)}>)"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Fixed)
            and isinstance(self.values, tuple)
            and self.values == other.values
        )

    def __hash__(self) -> int:
        return hash(self.values) if isinstance(self.values, tuple) else id(self)


def _check_like(values: Array, z: Array) -> None:
    """A bandwidth array must come from the samples' library and sit on their device."""
    from array_api_compat import array_namespace

    if array_namespace(values) is not array_namespace(z):
        raise TypeError(
            f"`bandwidth` is a {type(values).__module__}.{type(values).__qualname__} but the "
            f"samples are {type(z).__module__}.{type(z).__qualname__}; give the bandwidth as "
            "a float, a sequence of floats or an array of the samples' library"
        )
    dev_values, dev_z = device(values), device(z)
    if dev_values is not None and dev_z is not None and dev_values != dev_z:
        raise ValueError(
            f"`bandwidth` is on device {dev_values!r} but the samples are on device "
            f"{dev_z!r}; move the bandwidth to the samples' device"
        )


def _namespace_all_positive(values: Array) -> Array:
    from array_api_compat import array_namespace

    xp = array_namespace(values)
    return xp.all(xp.logical_and(values > 0, xp.isfinite(values)))


def _mean_sq_distance(
    xp: Any, z: Array, include_diagonal: bool = False, centred: bool = False, factor: float = 1.0
) -> Array:
    """``factor`` times the mean of ``‖z_i − z_j‖²`` over ``i ≠ j`` (over all i, j
    with ``include_diagonal``), in O(N·d): ``2 N/(N−1) · mean ‖z_i − z̄‖²``."""
    n_points = z.shape[0]
    deviations = z if centred else _distances.center(xp, z)
    pairs = n_points if include_diagonal else max(1, n_points - 1)  # one point: 0
    return xp.sum(deviations * deviations) * (2.0 * factor / pairs)


def _one_where_zero(xp: Any, value: Array) -> Array:
    """``value``, or 1 where it is 0."""
    return xp.where(value > 0, value, 1.0)


def _root(xp: Any, value: Array, differentiable: bool) -> Array:
    """``sqrt`` of a non-negative value; where gradients flow through it, with
    gradient 0 at 0 (a collapsed batch) instead of NaN."""
    return _distances.safe_sqrt(xp, value) if differentiable else xp.sqrt(value)


def _positive_or_fallback(
    xp: Any, base: Array, z: Array, centred: bool = False, differentiable: bool = False
) -> Array:
    """Replace a zero data-driven bandwidth by the RMS distance, then by 1."""
    rms = _root(xp, _mean_sq_distance(xp, z, centred=centred), differentiable)
    return xp.where(base > 0, base, _one_where_zero(xp, rms))


def _subsample(xp: Any, z: Array, max_samples: int | None, seed: int) -> Array:
    n_points = z.shape[0]
    if max_samples is None or n_points <= max_samples:
        return z
    rows = np.sort(np.random.default_rng(seed).choice(n_points, max_samples, replace=False))
    dev = device(z)
    return xp.take(z, from_host(xp, rows, index_dtype(xp, dev), dev), axis=0)


def _metric_matrix(xp: Any, points: Array, metric: str) -> Array:
    """``(M, M)`` L1 or squared Euclidean distances (for ranking), fast."""
    if metric == "cityblock":
        return _distances.cityblock_tile(xp, points, points)
    centred = _distances.center(xp, points)
    left, right = _distances.augment_for_sqeuclidean(xp, centred)
    if not branches_cheaply(xp, device(points)):
        return _distances.sqeuclidean_tile(xp, left, right)
    everything = slice(0, points.shape[0])
    diagonal = _distances.overlap_mask(xp, everything, everything, device(points))
    # the diagonal's residues are never ranked: left out of the refinement
    return _distances.sqeuclidean_tile(xp, left, right, (points, points), diagonal)


def _distinct_pairs(xp: Any, size: int, dev: Any) -> tuple[Array, Array]:
    """Row and column indices of each unordered pair of ``size`` points, once.

    Pairs ``(i, (i + s) mod M)`` for shifts ``s = 1 … ⌊(M−1)/2⌋`` cover every
    unordered pair exactly once when ``M`` is odd; for even ``M`` the shift
    ``M/2`` adds the remaining pairs from the first half of the rows. Built
    from ``arange`` on the device: no index array crosses from the host.
    """
    half = (size - 1) // 2
    index = xp.arange(size, device=dev)
    shifts = xp.arange(1, half + 1, device=dev)
    rows = xp.reshape(xp.broadcast_to(index[:, None], (size, half)), (-1,))
    shifted = index[:, None] + shifts[None, :]
    cols = xp.reshape(xp.where(shifted >= size, shifted - size, shifted), (-1,))
    if size % 2 == 0:
        first = index[: size // 2]
        rows = xp.concat([rows, first])
        cols = xp.concat([cols, first + size // 2])
    return rows, cols


def _exact_distance(
    xp: Any, points: Array, row: Array, col: Array, metric: str, differentiable: bool = False
) -> Array:
    """Distance between ``points[row]`` and ``points[col]`` from differences.

    ``row`` and ``col`` are 1-element index arrays (never 0-d: indexing with a
    0-d device array reads it on the host); the result is 0-d.
    """
    pair = xp.take(points, xp.concat([row, col]), axis=0)
    value = xp.reshape(_distances.paired(xp, metric, pair[0:1, :], pair[1:2, :]), ())
    return _root(xp, value, differentiable) if metric == "sqeuclidean" else value


def _distinct_pair_values(xp: Any, points: Array, metric: str) -> tuple[Array, Array, Array]:
    """The ``M(M−1)/2`` distinct-pair distances of ``points`` (for ranking: from the
    one-matmul matrix, NaN as inf) and the pairs' row and column indices."""
    rows, cols = _distinct_pairs(xp, points.shape[0], device(points))
    size = points.shape[0]
    values = xp.take(xp.reshape(_metric_matrix(xp, points, metric), (-1,)), rows * size + cols)
    # NaN (only with check_finite=False) has no place in a sort order; the MMD
    # is NaN through the kernel tiles anyway.
    inf = xp.asarray(math.inf, dtype=values.dtype, device=device(values))
    return xp.where(xp.isnan(values), inf, values), rows, cols


def _sorts_on_device(xp: Any, values: Array) -> bool:
    """Whether to rank by one ``argsort`` (fast here, and its int64 indices usable)
    rather than by counting (:func:`_select_by_bisection`)."""
    dev = device(values)
    return not sorts_slowly(xp, dev) and index_dtype(xp, dev) == xp.int64


def _pair_distance(
    xp: Any, points: Array, pairs: tuple[Array, Array], position: Array, metric: str, smooth: bool
) -> Array:
    """The distance of the pair at ``position`` (a 1-element index array), measured
    again from coordinate differences: duplicates give exactly 0 and the square root
    does not amplify the rounding of ``‖a‖² + ‖b‖² − 2a·b`` near zero."""
    rows, cols = pairs
    return _exact_distance(
        xp, points, xp.take(rows, position), xp.take(cols, position), metric, smooth
    )


def _median_distinct_pairs(
    xp: Any, points: Array, metric: str, lower_only: bool = False, differentiable: bool = False
) -> Array:
    """Median distance over the distinct pairs ``i < j`` of ``points``.

    With an even number of pairs the median is the mean of the two middle
    distances, or the lower of them with ``lower_only``.

    The pairs are ranked on the one-matmul matrix of the ``M(M−1)/2`` distinct
    entries (portable, no data-dependent shapes, so no device synchronisation
    and traceable by ``jax.jit``): with one ``argsort`` where the library sorts
    fast, else by :func:`_select_by_bisection` (:func:`mmd_any._compat.sorts_slowly`).
    The one or two middle pairs are then measured again from their coordinate
    differences (:func:`_pair_distance`).
    """
    if points.shape[0] < 2:  # no pair: 0, which the callers' fallback turns into a bandwidth
        return xp.zeros((), dtype=points.dtype, device=device(points))
    values, rows, cols = _distinct_pair_values(xp, points, metric)
    n_pairs = rows.shape[0]
    if _sorts_on_device(xp, values):
        order = xp.argsort(values, stable=False)
        # 1-element slices of the order, gathered with take: no value leaves the device
        middle = n_pairs // 2
        upper, lower = order[middle : middle + 1], order[(n_pairs - 1) // 2 : (n_pairs + 1) // 2]
    else:
        lower, upper = _middle_by_bisection(xp, values, (n_pairs - 1) // 2, n_pairs // 2)
    lower_mid = _pair_distance(xp, points, (rows, cols), lower, metric, differentiable)
    if n_pairs % 2 or lower_only:
        return lower_mid
    upper_mid = _pair_distance(xp, points, (rows, cols), upper, metric, differentiable)
    return (lower_mid + upper_mid) / 2


def _quantile_distances(
    xp: Any, points: Array, metric: str, levels: Sequence[float]
) -> list[Array]:
    """Distances at the ``levels`` quantiles of the distinct pairs of ``points``: the
    ``⌊level · pairs⌋``-th smallest (0-based), ranked as :func:`_median_distinct_pairs`
    ranks, measured again from differences; 0-d arrays."""
    if points.shape[0] < 2:
        return [xp.zeros((), dtype=points.dtype, device=device(points)) for _ in levels]
    values, rows, cols = _distinct_pair_values(xp, points, metric)
    n_pairs = rows.shape[0]
    ranks = [min(n_pairs - 1, math.floor(level * n_pairs)) for level in levels]
    if _sorts_on_device(xp, values):
        order = xp.argsort(values, stable=False)
        positions = [order[rank : rank + 1] for rank in ranks]
    else:
        dev = device(values)
        indices = xp.arange(n_pairs, dtype=index_dtype(xp, dev), device=dev)
        chosen = [_select_by_bisection(xp, values, rank) for rank in ranks]
        positions = [_first_position(xp, values == value, indices) for value in chosen]
    return [_pair_distance(xp, points, (rows, cols), p, metric, False) for p in positions]


#: Bisection steps of :func:`_select_by_bisection` per floating dtype: the
#: mantissa bits plus 40, which reaches adjacent floats (an exact order
#: statistic) whenever the largest value is below 2^40 times the selected one.
BISECTION_STEPS = {4: 64, 8: 96}


def _select_by_bisection(xp: Any, values: Array, rank: int) -> Array:
    """The ``rank``-th smallest (0-based) of non-negative ``values``, 0-d, by counting.

    Invariant: ``#{v ≤ lo} ≤ rank < #{v ≤ hi}``; each step halves ``(lo, hi]``
    with one comparison and one count over the values (one fused pass under
    ``jax.jit``), so no sort and no data-dependent shape. When ``(lo, hi]``
    holds a single distinct value it is the answer, the smallest value above
    ``lo``; the step count (:data:`BISECTION_STEPS`) gets there unless the
    largest value exceeds 2^40 times the answer, and even then the result is a
    value within ``2·max(values)·2^-steps`` of the answer.
    """
    finite = xp.isfinite(values)
    hi = xp.max(xp.where(finite, values, 0.0))
    # below every value, at the scale of the values (a fixed -1 would take ~1000
    # steps to reach tiny ones)
    lo = -xp.maximum(hi, xp.finfo(values.dtype).smallest_normal)
    indexing = index_dtype(xp, device(values))
    for _ in range(BISECTION_STEPS.get(xp.finfo(values.dtype).bits // 8, 96)):
        mid = (lo + hi) * 0.5
        go_up = _count(xp, values <= mid, indexing) <= rank
        lo = xp.where(go_up, mid, lo)
        hi = xp.where(go_up, hi, mid)
    return xp.min(xp.where(values > lo, values, math.inf))


def _count(xp: Any, mask: Array, indexing: Any) -> Array:
    """``#True`` of a boolean array, 0-d. ``count_nonzero`` (the fastest) where the
    device has int64: some libraries return int64 whatever the device
    (array-api-strict's no_x64); elsewhere a sum in the ``indexing`` dtype."""
    if indexing == xp.int64:
        return xp.count_nonzero(mask)
    return xp.sum(xp.astype(mask, indexing), dtype=indexing)


def _first_position(xp: Any, mask: Array, positions: Array) -> Array:
    """The first position where ``mask`` holds, as a 1-element index array of
    ``positions``' dtype (``argmax``, where that is int64; else the smallest
    marked position, or the last position if none is marked)."""
    if positions.dtype == xp.int64:
        return xp.reshape(xp.argmax(xp.astype(mask, xp.int8)), (1,))
    last = positions.shape[0] - 1
    return xp.reshape(xp.min(xp.where(mask, positions, last)), (1,))


def _middle_by_bisection(xp: Any, values: Array, lower: int, upper: int) -> tuple[Array, Array]:
    """1-element index arrays of the ``lower``-th and ``upper``-th smallest values
    (``upper`` is ``lower`` or ``lower + 1``), distinct positions as a sort gives."""
    low_value = _select_by_bisection(xp, values, lower)
    dev = device(values)
    indexing = index_dtype(xp, dev)
    positions = xp.arange(values.shape[0], dtype=indexing, device=dev)
    low_index = _first_position(xp, values == low_value, positions)
    if upper == lower:
        return low_index, low_index
    # the next order statistic: a tie of the lower one, or the smallest value above it
    tied = _count(xp, values <= low_value, indexing) > upper
    high_value = xp.where(tied, low_value, xp.min(xp.where(values > low_value, values, math.inf)))
    candidates = xp.logical_and(values == high_value, positions != low_index)
    return low_index, _first_position(xp, candidates, positions)


@dataclass(frozen=True)
class Median(_ScaledRule):
    """Median heuristic: ``σ_k = scales[k] · median pairwise distance``.

    Parameters
    ----------
    scales : float or sequence of float
        Multipliers of the median distance, one kernel each (summed); a bare
        float is one multiplier.
    max_samples : int or None
        Largest pooled size computed exactly (at least 2); above it the median
        is taken over the distinct pairs of a seeded subsample of this many
        points. None: always exact (memory grows like the square of the sample
        size).
    seed : int
        Seed of the NumPy generator that draws the subsample (anything
        ``numpy.random.default_rng`` takes but floats, bools and strings).
    detach : bool
        Treat the bandwidth as a constant under automatic differentiation
        (torch, JAX): gradients flow through the kernel values only. With
        False they also flow through the median distance (whose derivative is
        undefined when the middle pair coincides).
    lower : bool
        With an even number of pairs, take the lower middle distance instead
        of the mean of the two middle ones (alibi-detect's convention).
    sample : {"pooled", "x"}
        Compute the median over the pooled sample or over the first sample
        only (a drift detector's reference set).

    Raises
    ------
    TypeError
        ``scales`` that are not real numbers, a ``max_samples`` that is not an
        integer or None (floats, even ``2.0``, are refused), a ``seed`` of the
        wrong type, a ``sample`` that is not a string.
    ValueError
        Non-positive or non-finite ``scales``, ``max_samples`` < 2, a negative
        ``seed``, an unknown ``sample``.
    """

    measures_pairs: ClassVar[bool] = True

    scales: tuple[float, ...] = (1.0,)
    max_samples: int | None = 1000
    seed: int = 0
    detach: bool = True
    lower: bool = False
    sample: str = "pooled"

    def __post_init__(self) -> None:
        object.__setattr__(self, "scales", _check_scales(self.scales))
        max_samples = check_count(self.max_samples, "max_samples", 2, allow_none=True)
        object.__setattr__(self, "max_samples", max_samples)
        object.__setattr__(self, "seed", check_seed(self.seed))
        _check_sample(self.sample)

    def resolve(self, xp: Any, z: Array, metric: str, centred: bool = False) -> list[Sigmas]:
        z = stop_gradient(z) if self.detach else z
        points = one_block(_subsample(xp, z, self.max_samples, self.seed))
        smooth = not self.detach
        median = _median_distinct_pairs(xp, points, metric, self.lower, smooth)
        return [Sigmas(_positive_or_fallback(xp, median, z, centred, smooth), self.scales)]


@dataclass(frozen=True)
class DistanceQuantiles(BandwidthRule):
    """A grid of bandwidths spanning the pairwise distances: MMD-FUSE's collection.

    ``count`` bandwidths spaced linearly (or geometrically) from ``spread[0]``
    times the ``lower`` quantile to ``spread[1]`` times the ``upper`` quantile of
    the distances over
    the distinct pairs of the pooled sample, in the kernel's metric (L1 for the
    Laplacian), each times ``multiplier``. The defaults are the collection of
    MMD-FUSE (Biggs, Schrab & Gretton, NeurIPS 2023): ten bandwidths from half
    the 5 % quantile to twice the 95 % quantile. The Laplace kernel of that paper
    is ``exp(−√2‖x−y‖₁/λ)``: :class:`mmd_any.kernels.Laplacian` with
    ``multiplier = 1/√2`` is the same kernel with the same ``λ``.

    Each bandwidth is a kernel of its own (a member of an aggregated test);
    as the bandwidth of a single kernel the terms are summed, as for any rule.
    Quantiles are taken as :class:`Median` takes the median (exact up to
    ``max_samples`` points, else on a seeded subsample; ranked without a host
    read; the quantile pairs measured again from coordinate differences). A
    quantile that is 0 (duplicated points) falls back as the median does.

    Parameters
    ----------
    count : int
        Number of bandwidths (≥ 2).
    lower, upper : float
        Quantile levels, ``0 ≤ lower < upper ≤ 1``.
    spread : (float, float)
        Multipliers of the lower and upper quantile: the grid's ends.
    multiplier : float
        Factor applied to every bandwidth (the kernel's units).
    spacing : {"linear", "geometric"}
        Linearly spaced (MMD-FUSE) or geometrically spaced (MMDAgg, Schrab et
        al., JMLR 2023, whose collection has the same ends) bandwidths.
    max_samples, seed, sample
        As for :class:`Median`.

    Examples
    --------
    >>> import numpy as np
    >>> from mmd_any.bandwidths import DistanceQuantiles
    >>> rule = DistanceQuantiles(count=3)
    >>> sigmas = rule.resolve(np, np.arange(5.0)[:, None], "sqeuclidean")
    >>> [round(float(s.base), 3) for s in sigmas]  # 5 % distance 1, 95 % distance 4
    [0.5, 4.25, 8.0]
    """

    measures_pairs: ClassVar[bool] = True

    count: int = 10
    lower: float = 0.05
    upper: float = 0.95
    spread: tuple[float, float] = (0.5, 2.0)
    multiplier: float = 1.0
    spacing: str = "linear"
    max_samples: int | None = 1000
    seed: int = 0
    sample: str = "pooled"

    def __post_init__(self) -> None:
        object.__setattr__(self, "count", check_count(self.count, "count", 2))
        check_choice(self.spacing, "spacing", ("linear", "geometric"))
        lower = check_real(self.lower, "lower", lower=0.0, upper=1.0, closed=True)
        upper = check_real(self.upper, "upper", lower=0.0, upper=1.0, closed=True)
        if not lower < upper:
            raise ValueError(f"`lower` must be below `upper`, got {lower!r} and {upper!r}")
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)
        spread = _check_scales(self.spread, "spread")
        if len(spread) != 2:
            raise ValueError(f"`spread` must hold two multipliers, got {self.spread!r}")
        object.__setattr__(self, "spread", spread)
        object.__setattr__(self, "multiplier", _check_scales(self.multiplier, "multiplier")[0])
        max_samples = check_count(self.max_samples, "max_samples", 2, allow_none=True)
        object.__setattr__(self, "max_samples", max_samples)
        object.__setattr__(self, "seed", check_seed(self.seed))
        _check_sample(self.sample)

    def term_labels(self) -> list[str]:
        return [f"quantile grid, {self.spacing}, {k + 1}/{self.count}" for k in range(self.count)]

    def resolve(self, xp: Any, z: Array, metric: str, centred: bool = False) -> list[Sigmas]:
        z = stop_gradient(z)
        points = one_block(_subsample(xp, z, self.max_samples, self.seed))
        low, high = _quantile_distances(xp, points, metric, (self.lower, self.upper))
        low = _positive_or_fallback(xp, low, z, centred) * self.spread[0]
        high = _positive_or_fallback(xp, high, z, centred) * self.spread[1]
        steps = [k / (self.count - 1) for k in range(self.count)]
        if self.spacing == "geometric":
            ratio = high / low
            inner = [low * ratio**t for t in steps[1:-1]]
        else:
            inner = [low + (high - low) * t for t in steps[1:-1]]
        # the ends exactly (no rounding of 1 − t or of the ratio's powers)
        return [Sigmas(base, (self.multiplier,)) for base in [low, *inner, high]]


def _check_sample(sample: str) -> None:
    check_choice(sample, "sample", ("pooled", "x"))


def seed_scales(kernel_mul: float = 2.0, kernel_num: int = 5) -> tuple[float, ...]:
    """σ multipliers of the seeds' ladder.

    The seeds multiply the squared bandwidth by ``kernel_mul ** (i −
    kernel_num // 2)`` for ``i = 0 … kernel_num − 1``; σ itself scales by the
    square root of that.

    Raises
    ------
    TypeError
        A ``kernel_num`` that is not an integer (floats, even ``5.0``, and bools
        are refused) or a ``kernel_mul`` that is not a real number.
    ValueError
        ``kernel_num`` < 1, ``kernel_mul`` ≤ 0 or not finite, or multipliers
        that overflow or underflow a float (``seed_scales(1e10, 101)``).
    """
    kernel_num = check_count(kernel_num, "kernel_num", 1)
    kernel_mul = check_real(kernel_mul, "kernel_mul", lower=0.0, expected="be positive and finite")
    low, high = -(kernel_num // 2), kernel_num - 1 - kernel_num // 2
    try:
        scales = tuple(math.sqrt(kernel_mul**e) for e in range(low, high + 1))
    except OverflowError:
        scales = (math.inf,)
    if not all(0.0 < s < math.inf for s in scales):
        raise ValueError(
            f"`kernel_mul` = {kernel_mul!r} with `kernel_num` = {kernel_num} gives bandwidth "
            f"multipliers `kernel_mul` ** ({low} … {high}) beyond the floating-point range; "
            "use a `kernel_mul` closer to 1 or a smaller `kernel_num`"
        )
    return scales


@dataclass(frozen=True)
class MeanSquaredDistance(_ScaledRule):
    """Mean heuristic: ``2·base² = mean squared distance`` over distinct pairs.

    With ``scales = seed_scales(2.0, 5)`` (see :meth:`seed`) this is the
    bandwidth of the seeds' ``MMDLoss``: five Gaussians
    ``exp(−‖x−y‖² / (b · 2^(i−2)))`` with ``b`` the mean off-diagonal squared
    distance of the pooled sample. Defined on squared Euclidean distances for
    every radial kernel. ``detach`` and ``sample`` as for :class:`Median`;
    ``include_diagonal`` averages over all ``N²`` ordered pairs, the zero
    diagonal included.
    """

    scales: tuple[float, ...] = (1.0,)
    detach: bool = True
    include_diagonal: bool = False
    sample: str = "pooled"

    def __post_init__(self) -> None:
        object.__setattr__(self, "scales", _check_scales(self.scales))
        _check_sample(self.sample)

    @classmethod
    def seed(
        cls, kernel_mul: float = 2.0, kernel_num: int = 5, *, detach: bool = True
    ) -> MeanSquaredDistance:
        """The seeds' ladder of ``kernel_num`` bandwidths, ratio ``kernel_mul`` in σ²."""
        return cls(seed_scales(kernel_mul, kernel_num), detach=detach)

    def resolve(self, xp: Any, z: Array, metric: str, centred: bool = False) -> list[Sigmas]:
        z = stop_gradient(z) if self.detach else z
        # 2·base² = mean squared distance; base is 0 only if the RMS distance is too
        mean_sq = _mean_sq_distance(xp, z, self.include_diagonal, centred, factor=0.5)
        base = _root(xp, mean_sq, not self.detach)
        return [Sigmas(_one_where_zero(xp, base), self.scales)]


_NAMED_RULES: dict[str, Callable[[], BandwidthRule]] = {
    "median": Median,
    "mean": MeanSquaredDistance,
}


def as_bandwidth(spec: object) -> BandwidthRule:
    """Turn a user's bandwidth argument into a :class:`BandwidthRule`.

    Parameters
    ----------
    spec : float, sequence of float, array, str or BandwidthRule
        ``"median"``, ``"mean"``, a positive float, a sequence of positive
        floats (their kernels are summed), a 0-d/1-D array, or a rule.
    """
    if isinstance(spec, BandwidthRule):
        return spec
    if isinstance(spec, str):
        try:
            return _NAMED_RULES[spec]()
        except KeyError:
            raise ValueError(
                f"unknown `bandwidth` {spec!r}; valid names are {sorted(_NAMED_RULES)}, "
                "or give a positive float, a sequence of floats or a BandwidthRule"
            ) from None
    return Fixed(spec)  # type: ignore[arg-type]
