"""Validation of the samples every entry point starts with, and of the values it returns.

:func:`prepare_samples` turns the caller's two samples (arrays of any array-API
library, nested sequences, tables) into :class:`Samples`: one namespace, one
device, 2-D, a floating dtype of at least 32 bits, optionally standardised.
Everything here works on metadata (types, shapes, dtypes, devices) except the
finiteness check, whose single reduction is the only value check the library
makes (and which the caller can switch off), and the standardisation that
``standardize=True`` asks for (reductions on the samples' device, never read on
the host). :func:`finalize` brings a result back to the caller's dtype and
refuses a non-finite value from finite inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import device, is_array_api_obj

from ._compat import as_0d, is_host, namespace_of, stop_gradient, unknown_size_hint, values_readable
from ._dtypes import compute_dtype, matching_float_dtype, power_of_two_below
from ._tables import (
    NonNumericError,
    align_columns,
    as_table,
    frame_values,
    is_frame,
    non_numeric_columns,
    non_numeric_message,
)
from ._typing import Array

__all__ = ["Samples", "finalize", "prepare_samples", "prepare_single", "refuse_overflow"]


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
    standardized : bool
        ``x`` and ``y`` were standardised with the pooled sample's statistics.
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
    #: ``x`` and ``y`` were standardised with the pooled statistics.
    standardized: bool = False


def _as_array(xp: Any, a: object, name: str) -> Array:
    """Return ``a`` untouched if it is an array, else convert Python data or a table."""
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
    if is_frame(a):
        return xp.asarray(frame_values(a, name))
    message = f"`{name}` must be an array or nested sequence of numbers, got {type(a).__qualname__}"
    try:
        converted = xp.asarray(a)
        numeric = xp.isdtype(converted.dtype, ("numeric", "bool"))
    except (TypeError, ValueError) as exc:
        numeric, converted = False, exc
    if not numeric:
        columns = non_numeric_columns(a)
        error = NonNumericError(non_numeric_message(name, columns)) if columns else None
        if isinstance(converted, Exception):
            raise (error or TypeError(message)) from converted
        raise error or TypeError(message)
    return converted


def _check_known_shape(a: Array, name: str) -> None:
    """Refuse an array with unknown dimensions (NaN in Dask, None in the standard)."""
    if all(isinstance(size, int) for size in a.shape):
        return
    if any(size is None or (isinstance(size, float) and math.isnan(size)) for size in a.shape):
        hint = unknown_size_hint(a, name)
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


def _finite_flag(xp: Any, arrays: tuple[Array, ...], names: tuple[str, ...]) -> Array | None:
    """Raise on NaN/inf when values can be read, else return a lazy flag."""
    flags = [xp.all(xp.isfinite(a)) for a in arrays]
    if all(values_readable(a) for a in arrays):
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


def _check_same_device(x: Array, y: Array, names: tuple[str, str] = ("x", "y")) -> Any:
    dev_x, dev_y = device(x), device(y)
    # traced JAX values have no device (None): nothing to compare
    if dev_x is not None and dev_y is not None and dev_x != dev_y:
        raise ValueError(
            f"`{names[0]}` is on device {dev_x!r} but `{names[1]}` is on device {dev_y!r}; "
            "move both to one device"
        )
    return dev_x if dev_x is not None else dev_y


def _standardize(xp: Any, x: Array, y: Array) -> tuple[Array, Array]:
    """``x`` and ``y`` shifted by the pooled per-feature mean and divided by the pooled
    per-feature standard deviation (``ddof = 0``, as scikit-learn's StandardScaler).

    The pooled sample is ``x`` stacked on ``y`` (``x`` alone when ``y is x``). A
    constant feature becomes exactly 0 (its scale is 1, never a division by 0). The
    statistics are constants for automatic differentiation, as the bandwidths are
    by default: gradients flow through ``(x - mean) / std`` with the mean and the
    standard deviation held fixed. They are computed on the arrays' own device, with
    no host read (lazy arrays stay lazy), on each feature first divided by a power of
    two that brings it into ``[-2, 2)``, so that no sum of squares overflows or
    underflows. Four reductions per sample, and no stacked copy of the two samples.
    """
    same = y is x
    xs = stop_gradient(x)
    ys = xs if same else stop_gradient(y)
    low, high = xp.min(xs, axis=0), xp.max(xs, axis=0)
    if not same:
        low = xp.minimum(low, xp.min(ys, axis=0))
        high = xp.maximum(high, xp.max(ys, axis=0))
    constant = low == high
    # per feature: exact division bringing every value into [-2, 2)
    power = power_of_two_below(xp, xp.maximum(xp.abs(low), xp.abs(high)))
    xu = xs / power
    yu = xu if same else ys / power
    size = x.shape[0] if same else x.shape[0] + y.shape[0]
    total = xp.sum(xu, axis=0) if same else xp.sum(xu, axis=0) + xp.sum(yu, axis=0)
    mean = total / size
    squares = xp.sum((xu - mean) ** 2, axis=0)
    if not same:
        squares = squares + xp.sum((yu - mean) ** 2, axis=0)
    spread = xp.sqrt(squares / size)
    one = xp.ones_like(spread)
    # a constant feature: minus its value (exactly 0 after), divided by 1; a spread
    # that rounds to 0 (values a few ulps apart) is not divided by either
    unit = xp.where(constant, one, power)
    shift = xp.where(constant, low, mean)
    scale = xp.where(xp.logical_or(constant, spread == 0), one, spread)

    def scaled(a: Array) -> Array:
        return (a / unit - shift) / scale

    x_std = scaled(x)
    return x_std, (x_std if same else scaled(y))


def prepare_samples(
    x: object,
    y: object,
    *,
    check_finite: bool = True,
    min_size: int = 1,
    standardize: bool = False,
    names: tuple[str, str] = ("x", "y"),
) -> Samples:
    """Validate two samples and bring them to a common dtype.

    Parameters
    ----------
    x, y : array_like, DataFrame or Series
        Samples of shape ``(n, d)`` / ``(m, d)``, or 1-D of shape ``(n,)``.
        Arrays of any array-API library, nested sequences of numbers, and tables:

        * A **DataFrame** (pandas, or any table with ``.columns``, ``.dtypes``
          and ``.to_numpy()``) is its columns as features, one row per sample.
          The index (row labels, named, unnamed or a MultiIndex) is never a
          feature. Every column must be numeric: integer and floating columns
          (pandas' nullable ``Int64``/``Float64`` and pyarrow-backed ones
          included; a missing value is NaN, refused like any NaN) become
          floats, boolean columns become 0 and 1; text, categorical, datetime
          and other columns raise ``ValueError`` naming the sample (`x`/`y`),
          the columns and their dtypes. The array has the columns' common
          floating dtype (float32 columns stay float32); integer and boolean
          columns alone give float64. The array is on the host: with
          an array of another library as the other sample, it is converted to
          that library.
        * A **Series** is one feature, shape ``(n, 1)``.
        * **Two DataFrames** are matched by column name: ``y``'s columns are
          put in ``x``'s order; names that differ raise ``ValueError`` naming
          the missing and extra columns. (A DataFrame and an array, or two
          Series, are matched by position.)
    check_finite : bool
        Raise ``ValueError`` on NaN/inf. For lazy arrays (Dask, traced JAX)
        the check cannot run eagerly and a lazy flag is returned instead.
    min_size : int
        Smallest number of rows each sample must have.
    names : (str, str)
        What the error messages call the two inputs.
    standardize : bool
        Shift and scale every feature of both samples by the mean and standard
        deviation (``ddof = 0``) of the pooled sample, before anything else sees
        them (:func:`_standardize`): the bandwidth rules, the kernels and the
        permutations all see standardised data. A median bandwidth is then in
        units of standard deviations, and no feature dominates it by its units
        alone; a fixed bandwidth is in standardised units too. A constant
        feature becomes 0. The statistics are constants for autodiff (like the
        bandwidths by default) and are computed on the samples' device without
        a host read. Permutations of the pooled sample leave them unchanged, so
        a permutation test stays exact.

    Returns
    -------
    Samples

    Raises
    ------
    ValueError
        Non-numeric columns of a table, tables whose column names differ,
        NaN/inf (``check_finite``), too few rows, no features, different
        numbers of features.
    """
    same = y is x  # one sample (prepare_single): converted and standardised once
    y = x if same else as_table(align_columns(x, y))  # tables: y's columns by x's names
    x = as_table(x)
    x_name, y_name = names
    xp = namespace_of(x, y, names)
    x = _as_2d(xp, _as_array(xp, x, x_name), x_name)
    y = x if same else _as_2d(xp, _as_array(xp, y, y_name), y_name)
    dev = _check_same_device(x, y, names)
    for a, name in ((x, x_name), (y, y_name)):
        if a.shape[0] is not None and a.shape[0] < min_size:
            what = "is empty" if a.shape[0] == 0 else f"has {a.shape[0]} samples"
            raise ValueError(f"`{name}` {what}; at least {min_size} required")
    for a, name in ((x, x_name), (y, y_name)):
        if a.shape[1] == 0:
            raise ValueError(f"`{name}` has 0 features; at least 1 required")
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"`{y_name}` has {y.shape[1]} features but `{x_name}` has {x.shape[1]}; both "
            "must have the same dimension"
        )
    if x.dtype == y.dtype and (x.dtype == xp.float32 or x.dtype == xp.float64):
        result_dtype = dtype = x.dtype  # the common case: nothing to check or promote
    else:
        _check_real(xp, x, x_name)
        _check_real(xp, y, y_name)
        result_dtype = matching_float_dtype(xp, (x, y), dev)
        dtype = compute_dtype(xp, result_dtype)
    x = x if x.dtype == dtype else xp.astype(x, dtype)
    y = x if same else (y if y.dtype == dtype else xp.astype(y, dtype))
    finite = _finite_flag(xp, (x, y), names) if check_finite else None
    checked = check_finite and finite is None
    if standardize:
        x, y = _standardize(xp, x, y)
    return Samples(xp, x, y, dtype, result_dtype, finite, dev, checked, bool(standardize))


def prepare_single(x: object, *, check_finite: bool = True, standardize: bool = False) -> Samples:
    """Validate one sample (``y`` is ``x``) for functions of a single sample."""
    return prepare_samples(x, x, check_finite=check_finite, standardize=standardize)


def refuse_overflow(samples: Samples, value: Array, what: str, *, read: bool = False) -> None:
    """Raise ``ValueError`` when finite inputs gave a non-finite ``value``.

    Finite data can only give NaN or inf when a kernel value, or a sum of them,
    exceeds the dtype's range (a polynomial kernel of high degree, the linear
    kernel of data near the largest float): the caller gets an error that says
    so instead of a silent NaN. Checked where the flag can be read without a
    device synchronisation (host arrays), or anywhere when the caller reads the
    value anyway (``read``: a test's p-value); not for lazy arrays.
    """
    if not samples.checked_finite or not values_readable(value):
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
