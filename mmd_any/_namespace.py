"""Namespace, device and dtype helpers, and validation of the two samples.

Everything here works on metadata (types, shapes, dtypes, devices) except
:func:`check_finite`, whose single reduction is the only value check the
library makes, and which the caller can switch off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import (
    array_namespace,
    device,
    is_array_api_obj,
    is_cupy_array,
    is_dask_array,
    is_jax_array,
    is_lazy_array,
    is_torch_array,
)

from ._devices import is_host

__all__ = [
    "Samples",
    "accumulator_dtype",
    "as_0d",
    "compute_dtype",
    "from_host",
    "index_dtype",
    "prepare_samples",
    "prepare_single",
]

Array = Any


@dataclass(frozen=True)
class Samples:
    """Two validated samples in a common namespace, dtype and device.

    Attributes
    ----------
    xp : namespace
        The array-API namespace of the inputs (array-api-compat wrapped).
    x, y : arrays
        2-D arrays of shape ``(n, d)`` and ``(m, d)`` in ``dtype``.
    dtype : dtype
        The dtype the computation runs in (at least 32-bit floating).
    result_dtype : dtype
        The dtype the result is returned in (the promoted input dtype).
    device : device
        The inputs' common device (None for traced JAX values).
    finite : array or None
        A 0-d boolean array that is False when an input holds NaN/inf and the
        check had to be deferred (lazy arrays); None when checked eagerly or
        not requested.
    """

    xp: Any
    x: Array
    y: Array
    dtype: Any
    result_dtype: Any
    finite: Array | None
    device: Any = None
    #: NaN/inf in the inputs were looked for eagerly (and none found).
    checked_finite: bool = False


def _namespace_of(x: object, y: object) -> Any:
    """The namespace of the array inputs; plain Python data counts as NumPy."""
    arrays = [a for a in (x, y) if is_array_api_obj(a)]
    if not arrays:
        return array_namespace(np.empty(0))
    try:
        return array_namespace(*arrays)
    except TypeError as exc:
        raise TypeError(
            f"`x` ({type(x).__module__}.{type(x).__qualname__}) and `y` "
            f"({type(y).__module__}.{type(y).__qualname__}) come from different "
            "array libraries; convert one so that both share a namespace"
        ) from exc


def _non_numeric_columns(table: object) -> list[str]:
    """Names and dtypes of the non-numeric columns of a DataFrame-like ``table``
    (an object with ``.columns`` and ``.dtypes``, such as a pandas DataFrame);
    columns whose dtype has no NumPy ``kind`` are not judged."""
    try:
        pairs = list(zip(table.columns, table.dtypes, strict=True))  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return []
    found = []
    for column, dtype in pairs:
        kind = getattr(dtype, "kind", None)
        if isinstance(kind, str) and kind not in "biuf":
            found.append(f"{column!r} ({dtype})")
    return found


def _as_array(xp: Any, a: object, name: str) -> Array:
    """Return ``a`` untouched if it is an array, else convert Python data."""
    if isinstance(a, np.ma.MaskedArray):
        # the array API has no masks: the masked entries would silently count
        raise TypeError(
            f"`{name}` is a numpy masked array, whose mask MMD cannot honour; fill the "
            f"masked entries (`{name}.filled(value)`) or drop the masked rows "
            f"(`np.ma.compress_rows({name})`; `{name}.compressed()` if 1-D) and pass a "
            "plain array"
        )
    if is_array_api_obj(a):
        return a
    message = f"`{name}` must be an array or nested sequence of numbers, got {type(a).__qualname__}"
    try:
        converted = xp.asarray(a)
        numeric = xp.isdtype(converted.dtype, ("numeric", "bool"))
    except (TypeError, ValueError) as exc:
        numeric, converted = False, exc
    if not numeric:
        columns = _non_numeric_columns(a)
        if columns:
            message = (
                f"`{name}` has non-numeric column(s) {', '.join(columns)}; MMD needs numbers: "
                "drop or encode those columns"
            )
        if isinstance(converted, Exception):
            raise TypeError(message) from converted
        raise TypeError(message)
    return converted


def _check_known_shape(a: Array, name: str) -> None:
    """Refuse an array with unknown dimensions (NaN in Dask, None in the standard)."""
    if all(isinstance(size, int) for size in a.shape):
        return
    if any(size is None or (isinstance(size, float) and math.isnan(size)) for size in a.shape):
        hint = (
            f"call `{name}.compute_chunk_sizes()` (or `{name}.rechunk(...)` with known chunks) "
            "before passing it"
            if is_dask_array(a)
            else "compute the shape before passing it"
        )
        raise ValueError(
            f"`{name}` has unknown size {tuple(a.shape)} (for example after boolean "
            f"indexing of a lazy array); {hint}"
        )


def _as_2d(xp: Any, a: Array, name: str) -> Array:
    """Check the rank of a sample: 1-D is n samples of dimension 1."""
    _check_known_shape(a, name)
    if a.ndim == 1:
        return xp.reshape(a, (a.shape[0], 1))
    if a.ndim != 2:
        raise ValueError(
            f"`{name}` must be 1-D (n,) or 2-D (n, d), got an array of rank "
            f"{a.ndim} with shape {tuple(a.shape)}"
        )
    return a


def _check_real(xp: Any, a: Array, name: str) -> None:
    if xp.isdtype(a.dtype, "complex floating"):
        raise TypeError(f"`{name}` has complex dtype {a.dtype}; MMD needs real data")
    if not xp.isdtype(a.dtype, ("real floating", "integral", "bool")):
        raise TypeError(f"`{name}` has unsupported dtype {a.dtype}")


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


def _values_readable(a: Array) -> bool:
    """Whether ``bool(a)`` is cheap and allowed (not dask, not a JAX tracer)."""
    if is_dask_array(a):
        return False
    if not is_lazy_array(a):
        return True
    # JAX arrays count as lazy; eager ones can be read, traced ones cannot.
    try:
        bool(array_namespace(a).all(a))
    except Exception:  # noqa: BLE001 - tracers raise backend-specific errors
        return False
    return True


def _finite_flag(xp: Any, arrays: tuple[Array, ...], names: tuple[str, ...]) -> Array | None:
    """Raise on NaN/inf when values can be read, else return a lazy flag."""
    flags = [xp.all(xp.isfinite(a)) for a in arrays]
    if all(_values_readable(a) for a in arrays):
        for flag, name in zip(flags, names, strict=True):
            if not bool(flag):
                raise ValueError(
                    f"`{name}` contains NaN or inf; clean the data or pass check_finite=False"
                )
        return None
    flag = flags[0]
    for other in flags[1:]:
        flag = xp.logical_and(flag, other)
    return flag


def _check_same_device(x: Array, y: Array) -> Any:
    dev_x, dev_y = device(x), device(y)
    # traced JAX values have no device (None): nothing to compare
    if dev_x is not None and dev_y is not None and dev_x != dev_y:
        raise ValueError(
            f"`x` is on device {dev_x!r} but `y` is on device {dev_y!r}; move both to one device"
        )
    return dev_x if dev_x is not None else dev_y


def prepare_samples(
    x: object, y: object, *, check_finite: bool = True, min_size: int = 1
) -> Samples:
    """Validate two samples and bring them to a common dtype.

    Parameters
    ----------
    x, y : array_like
        Samples of shape ``(n, d)`` / ``(m, d)``, or 1-D of shape ``(n,)``.
    check_finite : bool
        Raise ``ValueError`` on NaN/inf. For lazy arrays (Dask, traced JAX)
        the check cannot run eagerly and a lazy flag is returned instead.
    min_size : int
        Smallest number of rows each sample must have.

    Returns
    -------
    Samples
    """
    xp = _namespace_of(x, y)
    x = _as_2d(xp, _as_array(xp, x, "x"), "x")
    y = _as_2d(xp, _as_array(xp, y, "y"), "y")
    dev = _check_same_device(x, y)
    for a, name in ((x, "x"), (y, "y")):
        if a.shape[0] is not None and a.shape[0] < min_size:
            what = "is empty" if a.shape[0] == 0 else f"has {a.shape[0]} samples"
            raise ValueError(f"`{name}` {what}; at least {min_size} required")
    for a, name in ((x, "x"), (y, "y")):
        if a.shape[1] == 0:
            raise ValueError(f"`{name}` has 0 features; at least 1 required")
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"`y` has {y.shape[1]} features but `x` has {x.shape[1]}; both samples "
            "must have the same dimension"
        )
    if x.dtype == y.dtype and (x.dtype == xp.float32 or x.dtype == xp.float64):
        result_dtype = dtype = x.dtype  # the common case: nothing to check or promote
    else:
        _check_real(xp, x, "x")
        _check_real(xp, y, "y")
        result_dtype = matching_float_dtype(xp, (x, y), dev)
        dtype = compute_dtype(xp, result_dtype)
    x = x if x.dtype == dtype else xp.astype(x, dtype)
    y = y if y.dtype == dtype else xp.astype(y, dtype)
    finite = _finite_flag(xp, (x, y), ("x", "y")) if check_finite else None
    checked = check_finite and finite is None
    return Samples(xp, x, y, dtype, result_dtype, finite, dev, checked)


def prepare_single(x: object, *, check_finite: bool = True) -> Samples:
    """Validate one sample (``y`` is ``x``) for functions of a single sample."""
    return prepare_samples(x, x, check_finite=check_finite)


def host_floats(values: Array) -> list[float]:
    """A 1-D array's entries as Python floats, in one device-to-host transfer.

    The one place where a value is read on the host on purpose (the p-values
    of a test, which the caller asked for as numbers). torch and CuPy copy the
    whole array once; NumPy, JAX and other DLPack-capable CPU arrays convert
    directly; anything else falls back to one read per entry.
    """
    if is_torch_array(values):
        return values.detach().cpu().tolist()
    if is_cupy_array(values):
        return values.get().tolist()
    try:
        return np.asarray(values, dtype=np.float64).tolist()
    except (TypeError, ValueError, RuntimeError):
        pass
    try:
        return np.from_dlpack(values).astype(np.float64).tolist()
    except (TypeError, ValueError, RuntimeError, BufferError, AttributeError):
        return [float(values[i]) for i in range(values.shape[0])]


def stop_gradient(a: Array) -> Array:
    """``a`` as a constant for automatic differentiation (torch, JAX); else ``a``.

    The array API has no notion of gradients; this is the one place where the
    library names the two autodiff libraries it supports.
    """
    if is_torch_array(a):
        return a.detach()
    if is_jax_array(a):
        import jax

        return jax.lax.stop_gradient(a)
    return a


def one_block(a: Array) -> Array:
    """``a`` as a single block: a Dask array is rechunked to one chunk (so that
    small all-pairs work, such as the median of a subsample, is a few tasks
    instead of thousands); any other array is returned as is."""
    return a.rechunk(a.shape) if is_dask_array(a) else a


def as_0d(xp: Any, value: Array) -> Array:
    """Make sure a reduction comes back as a 0-d array, not a NumPy scalar."""
    if isinstance(value, np.generic):
        return xp.asarray(value)
    return value


def refuse_overflow(samples: Samples, value: Array, what: str, *, read: bool = False) -> None:
    """Raise ``ValueError`` when finite inputs gave a non-finite ``value``.

    Finite data can only give NaN or inf when a kernel value, or a sum of them,
    exceeds the dtype's range (a polynomial kernel of high degree, the linear
    kernel of data near the largest float): the caller gets an error that says
    so instead of a silent NaN. Checked where the flag can be read without a
    device synchronisation (host arrays), or anywhere when the caller reads the
    value anyway (``read``: a test's p-value); not for lazy arrays.
    """
    if not samples.checked_finite or not _values_readable(value):
        return
    xp = samples.xp
    if not (read or is_host(xp, samples.device)):
        return
    finite = xp.isfinite(value)
    if not bool(finite if value.ndim == 0 else xp.all(finite)):
        raise ValueError(
            f"{what} overflowed {samples.dtype} for these finite samples: the kernel "
            "values are not representable; choose kernel parameters whose values stay in "
            "range (a lower polynomial `degree`, a smaller `gamma`) or rescale the data"
        )


def finalize(samples: Samples, value: Array, what: str = "the MMD²") -> Array:
    """Cast to the result dtype, apply a deferred finiteness flag, and refuse a
    non-finite value from finite inputs (:func:`refuse_overflow`)."""
    xp = samples.xp
    value = as_0d(xp, value)
    refuse_overflow(samples, value, what)
    if samples.finite is not None:
        value = xp.where(
            samples.finite, value, xp.asarray(float("nan"), dtype=value.dtype, device=device(value))
        )
    if value.dtype != samples.result_dtype:
        value = xp.astype(value, samples.result_dtype)
    return as_0d(xp, value)
