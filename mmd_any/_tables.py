"""Tables as samples: the numeric columns of a DataFrame or Series as a NumPy array.

Anything with ``.columns``, ``.dtypes`` and ``.to_numpy()`` (pandas, polars,
...) is a table; a Series (``.to_frame``, ``.dtype``, ``.to_numpy``) is a
one-column table. Its columns are the features, one row per point, never its
index; two tables are matched by column name. Nothing here imports pandas.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import is_array_api_obj

__all__ = [
    "NonNumericError",
    "align_columns",
    "as_table",
    "column_names",
    "frame_values",
    "is_frame",
    "non_numeric_columns",
    "non_numeric_message",
]


class NonNumericError(ValueError, TypeError):
    """A table with non-numeric columns (or data that is not numbers at all).

    A ``ValueError`` (the values are wrong, not the type of container) that is
    also a ``TypeError`` (what such input raised before tables were read by
    column), so that either ``except`` clause catches it.
    """


def _numeric_kind(dtype: object) -> bool | None:
    """Whether a column dtype holds numbers or booleans (NumPy kinds ``biuf``,
    pandas' nullable and pyarrow-backed dtypes alike); None for a dtype without
    a ``kind`` (not judged here)."""
    kind = getattr(dtype, "kind", None)
    if isinstance(kind, str):
        return kind in "biuf"
    return None


def non_numeric_columns(table: object) -> list[str]:
    """Names and dtypes of the non-numeric columns of a DataFrame-like ``table``
    (an object with ``.columns`` and ``.dtypes``, such as a pandas DataFrame);
    columns whose dtype has no NumPy ``kind`` are not judged. Booleans count as
    numbers (0 and 1), as boolean arrays do."""
    try:
        pairs = list(zip(table.columns, table.dtypes, strict=True))  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return []
    return [f"{column!r} ({dtype})" for column, dtype in pairs if _numeric_kind(dtype) is False]


def non_numeric_message(name: str, columns: list[str]) -> str:
    return (
        f"`{name}` has non-numeric column(s) {', '.join(columns)}; MMD needs numbers: "
        "drop or encode those columns"
    )


def is_frame(a: object) -> bool:
    """A DataFrame-like table: ``.columns``, ``.dtypes`` and ``.to_numpy`` (pandas,
    polars, ...), and not itself an array."""
    return (
        not is_array_api_obj(a)
        and not isinstance(a, np.ndarray)
        and all(hasattr(a, attribute) for attribute in ("columns", "dtypes", "to_numpy"))
    )


def _is_series(a: object) -> bool:
    """A Series-like column: ``.to_frame``, ``.dtype`` and ``.to_numpy``, no ``.columns``."""
    return (
        not is_array_api_obj(a)
        and not isinstance(a, np.ndarray)
        and not hasattr(a, "columns")
        and all(hasattr(a, attribute) for attribute in ("to_frame", "dtype", "to_numpy"))
    )


def as_table(a: object) -> object:
    """A Series as a one-column table; anything else as it is."""
    return a.to_frame() if _is_series(a) else a  # type: ignore[attr-defined]


def frame_values(table: Any, name: str) -> np.ndarray:
    """The values of a DataFrame-like ``table`` as a floating NumPy array of shape
    ``(rows, columns)``, in column order; never its index (row labels). Missing
    values (``pd.NA``, ``None``) become NaN, which the finiteness check reports."""
    columns = non_numeric_columns(table)
    if columns:
        raise NonNumericError(non_numeric_message(name, columns))
    dtypes = [np.dtype(getattr(d, "numpy_dtype", d)) for d in table.dtypes if _numeric_kind(d)]
    target = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
    if target.kind != "f":
        target = np.dtype(np.float64)  # integers and booleans: floats, as the estimators need
    try:
        values = table.to_numpy(dtype=target, na_value=np.nan)
    except TypeError:  # a to_numpy without pandas' keywords (polars, ...)
        values = np.asarray(table.to_numpy())
    values = np.asarray(values)
    if values.dtype.kind not in "biuf":
        raise NonNumericError(
            f"`{name}` is a table whose values are not numbers (dtype {values.dtype}); "
            "MMD needs numbers: drop or encode the non-numeric columns"
        )
    values = values.astype(target, copy=False) if values.dtype.kind != "f" else values
    # pandas hands out a read-only, column-major view of its block: a row-major array
    # of one's own (what torch can wrap, and what the user's own array would be)
    values = np.ascontiguousarray(values)
    return values if values.flags.writeable else values.copy()


def column_names(a: object) -> tuple[str, ...] | None:
    """The column names of a table or Series (as strings), None for anything else."""
    table = as_table(a)
    return tuple(str(c) for c in table.columns) if is_frame(table) else None  # type: ignore[attr-defined]


def align_columns(x: Any, y: Any) -> Any:
    """``y`` with its columns in the order of ``x``'s, when both are DataFrame-like
    tables: features are matched by column name. Different names raise."""
    if y is x or not (is_frame(x) and is_frame(y)):
        return y
    x_columns, y_columns = list(x.columns), list(y.columns)
    if x_columns == y_columns:
        return y
    missing = [column for column in x_columns if column not in y_columns]
    extra = [column for column in y_columns if column not in x_columns]
    if missing or extra:
        parts = [f"lacks {missing}" if missing else "", f"has extra {extra}" if extra else ""]
        raise ValueError(
            "the columns of `y` do not match those of `x` (tables are matched by column "
            f"name): `y` {' and '.join(part for part in parts if part)}; select the same "
            "columns in both, or pass arrays to match them by position"
        )
    if len(set(map(repr, x_columns))) != len(x_columns) or len(y_columns) != len(x_columns):
        raise ValueError(
            "`x` and `y` have the same column names in a different order, some of them "
            "repeated, so they cannot be matched by name; rename the repeated columns"
        )
    return y[x_columns]
