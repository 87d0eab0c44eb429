"""The points the engine computes on, and the kernel parameters resolved on them.

Every consumer of kernel values (the Gram engine, the Dask adapter's chunk
pairs, the random features, the streaming accumulators) starts here, so that
one rule decides how the data is brought into range:

* **Rescaling.** A kernel whose MMD² is homogeneous in the data
  (:attr:`mmd_any.kernels.Kernel.homogeneity`: 0 for the radial kernels, whose
  value depends only on distances over bandwidths; 1 for the energy kernel; 2
  for the linear one) is computed on ``z / s`` with ``s = 2^⌊log2 max|z|⌋``:
  dividing by a power of two is exact, the largest magnitude lands in
  ``[1, 2)``, and no square, norm or distance overflows or underflows anywhere
  in the float range. A fixed bandwidth is divided by the same ``s``; the
  results of a kernel of homogeneity ``h`` are multiplied by ``s^h``
  (:func:`in_data_units`). The polynomial kernel is not homogeneous and sees
  the data as given.
* **Centring.** The squared-distance kernels see the data centred on the
  pooled mean (the matmul form of the distances then cancels at the level of
  the spread, not of the offset). So does the linear kernel when every weight
  row sums to zero (every MMD estimator: its MMD² is translation invariant,
  while ``x·y`` at an offset of ``10⁸`` cancels all its digits).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ._compat import stop_gradient
from ._dtypes import power_of_two_below
from ._typing import Array
from .bandwidths import Sigmas

__all__ = ["Points", "in_data_units", "power_of_two_scale", "prepare_points", "resolve_parameters"]


def power_of_two_scale(xp: Any, z: Array) -> Array:
    """``2^⌊log2 max|z|⌋`` as a 0-d array: dividing by it is exact and brings the
    largest magnitude into ``[1, 2)``; at most into the normal range for subnormal
    data (the floor at the smallest normal number also keeps the logarithm of
    all-zero data finite, and is not flushed to zero by XLA). Five operations."""
    return power_of_two_below(xp, xp.max(xp.abs(z)))


def centres(kernel: Any, zero_sum: bool) -> bool:
    """Whether the engine centres the pooled points for ``kernel`` (module docstring)."""
    if kernel.metric == "sqeuclidean":
        return True
    return zero_sum and kernel.metric == "dot" and kernel.forms_translation_invariant


class Points(NamedTuple):
    """The pooled sample as the engine computes on it."""

    #: ``z / scale``: uncentred, for distances from coordinate differences (which
    #: centring on a far-away mean would round: near-duplicates beside an outlier).
    scaled: Array
    #: ``scaled``, centred where :func:`centres` says: for the matmul distances
    #: and the dot products.
    centred: Array
    #: The mean subtracted from ``scaled`` (None: not centred).
    shift: Array | None = None


def prepare_points(
    xp: Any, kernel: Any, z: Array, scale: Array | None, *, zero_sum: bool = True
) -> Points:
    """``z`` divided by ``scale`` (if any), and centred where :func:`centres` says.

    The mean is a constant for autodiff: the forms it is removed from are
    translation invariant, so its derivative would add exactly nothing.
    """
    scaled = z if scale is None else z / scale
    if not centres(kernel, zero_sum):
        return Points(scaled, scaled)
    shift = stop_gradient(xp.mean(scaled, axis=0, keepdims=True))
    return Points(scaled, scaled - shift, shift)


def resolve_parameters(
    xp: Any,
    kernel: Any,
    z: Array,
    sizes: Sequence[int] | None,
    *,
    zero_sum: bool = True,
    scale: Array | float | None = None,
) -> tuple[Points, Any, Array | None]:
    """The points, the kernel's parameters resolved on them, and the scale.

    Parameters
    ----------
    z : array
        The pooled sample.
    sizes : sequence of int, optional
        The sample sizes stacked in ``z``.
    zero_sum : bool
        Every weight row the caller forms sums to zero (see :func:`centres`).
    scale : array or float, optional
        The power of two to divide by; by default :func:`power_of_two_scale` of
        ``z`` where the kernel allows rescaling (a caller that must not depend on
        the data gives its own: the streaming random features of a fixed
        bandwidth use the bandwidth's).

    Returns
    -------
    points, params, scale
        ``scale`` is None when the points were not rescaled. A rule that
        measures distances between individual points (the median) sees the
        uncentred points, the others the centred ones.
    """
    if scale is None and kernel.homogeneity is not None:
        scale = power_of_two_scale(xp, stop_gradient(z))
    points = prepare_points(xp, kernel, z, scale, zero_sum=zero_sum)
    rule = getattr(kernel, "rule", None)
    if rule is not None and rule.measures_pairs:
        params = kernel.parameters(xp, points.scaled, sizes, centred=False)
    else:
        params = kernel.parameters(xp, points.centred, sizes, centred=points.shift is not None)
    if scale is not None and rule is not None and not rule.data_driven:
        params = [Sigmas(group.base / scale, group.scales) for group in params]
    return points, params, scale


def in_data_units(xp: Any, kernel: Any, scale: Array | None, values: Array) -> Array:
    """Kernel values (or sums of them) computed on the rescaled points, in the
    data's units: multiplied by ``scale`` once per degree of homogeneity (one
    factor at a time, so that ``scale^h`` itself need not be representable)."""
    if scale is None or not kernel.homogeneity:
        return values
    for _ in range(kernel.homogeneity):
        values = values * (scale if scale.dtype == values.dtype else xp.astype(scale, values.dtype))
    return values
