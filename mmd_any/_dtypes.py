"""Dtypes: the one the computation runs in, the accumulators', the indices', and
exact powers of two of the float range.

Everything here reads the namespace's inspection API
(``__array_namespace_info__``), so a device without float64 (MPS, JAX without
x64, array-api-strict's ``no_x64`` device) gets what it has.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._typing import Array

__all__ = [
    "accumulator_dtype",
    "compute_dtype",
    "from_host",
    "index_dtype",
    "matching_float_dtype",
    "power_of_two_below",
]


def matching_float_dtype(xp: Any, arrays: tuple[Array, ...], dev: Any) -> Any:
    """The widest floating dtype among ``arrays``; the default float if none is.

    Integer and boolean inputs join the floating ones (``int32`` with
    ``float32`` gives ``float32``) and only on their own become the
    namespace's default floating dtype.
    """
    floats = [a.dtype for a in arrays if xp.isdtype(a.dtype, "real floating")]
    if floats:
        return xp.result_type(*floats)
    return xp.__array_namespace_info__().default_dtypes(device=dev)["real floating"]


def compute_dtype(xp: Any, dtype: Any) -> Any:
    """At least float32: half precisions are computed in float32."""
    if dtype == xp.float32 or dtype == xp.float64:  # the common case, without finfo
        return dtype
    if xp.finfo(dtype).bits < 32:
        return xp.float32
    return dtype


def accumulator_dtype(xp: Any, dtype: Any, dev: Any) -> Any:
    """float64 where the device supports it, else ``dtype``.

    Partial sums of Gram tiles are small (2 x 2, or 2 x P) and cheap to
    accumulate in double precision, which keeps the error of the many-tile sum
    at the level of a single tile. Where the device has no float64 (MPS, JAX
    without x64) :class:`mmd_any._summation.CompensatedSum` adds them in
    ``dtype`` with compensation instead, to the same effect.
    """
    try:
        floats = xp.__array_namespace_info__().dtypes(device=dev, kind="real floating")
    except (AttributeError, TypeError, ValueError):
        return dtype
    return floats.get("float64", dtype)


def index_dtype(xp: Any, dev: Any) -> Any:
    """The device's default indexing dtype: int32 for JAX without x64 (and
    array-api-strict's ``no_x64`` device), int64 elsewhere."""
    try:
        return xp.__array_namespace_info__().default_dtypes(device=dev)["indexing"]
    except (AttributeError, TypeError, ValueError, KeyError):
        return xp.int64


#: The dtypes :func:`from_host` converts to on the host, by their standard names.
_HOST_DTYPES = ("float32", "float64", "int32", "int64", "float16", "int16", "int8", "uint8")


def from_host(xp: Any, values: np.ndarray, dtype: Any, dev: Any) -> Array:
    """NumPy ``values`` as a ``dtype`` array on ``dev``, converted on the host first:
    no dtype the device lacks (float64 on MPS, int64 without x64) is created there,
    and a float32 transfer moves half the bytes of a float64 one."""
    host_dtype = next(
        (np.dtype(name) for name in _HOST_DTYPES if dtype == getattr(xp, name, None)), None
    )
    return xp.asarray(np.asarray(values, dtype=host_dtype), dtype=dtype, device=dev)


def power_of_two_below(xp: Any, magnitude: Array) -> Array:
    """``2^⌊log2 m⌋`` of non-negative magnitudes (elementwise), at least the smallest
    normal number: dividing by it is exact and brings ``m`` into ``[1, 2)`` (the floor
    also keeps the logarithm of 0 finite, and is not flushed to zero by XLA)."""
    largest = xp.maximum(magnitude, xp.finfo(magnitude.dtype).smallest_normal)
    return 2.0 ** xp.floor(xp.log2(largest))
