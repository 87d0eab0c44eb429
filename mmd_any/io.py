"""Reading samples from files for the command line: .npy, .npz, .csv/.tsv, .parquet.

Every problem with a file raises :class:`InputError` with a one-line message
that names the file; the command line prints it and exits with status 2.
``.npy``/``.npz`` are always read with ``allow_pickle=False``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["InputError", "load_sample"]

SUFFIXES = (".npy", ".npz", ".csv", ".tsv", ".parquet")


class InputError(ValueError):
    """A file that cannot be read as a numeric sample."""


def _as_sample(values: np.ndarray, path: Path) -> np.ndarray:
    if values.dtype.kind not in "biuf":
        raise InputError(f"{path}: expected numbers, got data of type {values.dtype}")
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise InputError(
            f"{path}: expected a 2-D table (samples × features), got shape {values.shape}"
        )
    if values.shape[0] == 0 or values.shape[1] == 0:
        raise InputError(f"{path}: no data (shape {values.shape})")
    values = values.astype(np.float64, copy=False)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(
            f"{path}: non-finite value {values[row, col]} at row {row + 1}, column {col + 1}"
        )
    return values


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as error:
        raise InputError(f"{path}: cannot read without pickle ({error})") from None


def _read_npz(path: Path, key: str | None) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            if key is None:
                if len(names) != 1:
                    raise InputError(f"{path}: holds arrays {names}; choose one with --key")
                key = names[0]
            if key not in names:
                raise InputError(f"{path}: no array {key!r}; it holds {names}")
            return archive[key]
    except ValueError as error:
        raise InputError(f"{path}: cannot read without pickle ({error})") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_delimited(path: Path, columns: Sequence[str] | None) -> np.ndarray:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [
            row
            for row in csv.reader(handle, delimiter=delimiter)
            if row and any(c.strip() for c in row)
        ]
    if not rows:
        raise InputError(f"{path}: the file is empty")
    header = None
    if not all(_is_number(cell) for cell in rows[0]):
        header, rows = [cell.strip() for cell in rows[0]], rows[1:]
    if not rows:
        raise InputError(f"{path}: a header but no data rows")
    width = len(header) if header is not None else len(rows[0])
    for number, row in enumerate(rows, start=2 if header else 1):
        if len(row) != width:
            raise InputError(
                f"{path}: line {number} has {len(row)} fields, expected {width} (ragged rows)"
            )
    if columns is not None:
        if header is None:
            try:
                picked = [int(c) for c in columns]
            except ValueError:
                raise InputError(
                    f"{path}: no header row, so --columns must be 0-based indices"
                ) from None
        else:
            missing = [c for c in columns if c not in header and not c.isdigit()]
            if missing:
                raise InputError(f"{path}: no column(s) {missing}; the header has {header}")
            picked = [header.index(c) if c in header else int(c) for c in columns]
        if any(not 0 <= index < width for index in picked):
            raise InputError(f"{path}: column index out of range 0..{width - 1} in --columns")
        rows = [[row[index] for index in picked] for row in rows]
    table = np.empty((len(rows), len(rows[0])), dtype=np.float64)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            try:
                table[r, c] = float(cell)
            except ValueError:
                line = r + (2 if header else 1)
                raise InputError(
                    f"{path}: non-numeric value {cell!r} on line {line}, column {c + 1}"
                ) from None
    return table


def _read_parquet(path: Path, columns: Sequence[str] | None) -> np.ndarray:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{path}: reading .parquet needs pyarrow (pip install pyarrow)") from None
    try:
        table = pq.read_table(path, columns=list(columns) if columns else None)
    except (OSError, KeyError, ValueError) as error:
        raise InputError(f"{path}: {error}") from None
    try:
        return np.column_stack([table.column(i).to_numpy() for i in range(table.num_columns)])
    except Exception as error:  # noqa: BLE001 - pyarrow raises many types for bad columns
        raise InputError(f"{path}: cannot convert columns to numbers ({error})") from None


def load_sample(
    path: str | Path, *, key: str | None = None, columns: Sequence[str] | None = None
) -> np.ndarray:
    """Read a numeric ``(n, d)`` float64 sample from a file.

    Parameters
    ----------
    path : str or Path
        ``.npy``, ``.npz`` (one array, or choose with ``key``), ``.csv``/``.tsv``
        (numeric columns; a non-numeric first row is a header), ``.parquet``
        (needs pyarrow).
    key : str, optional
        The array of an ``.npz`` file.
    columns : sequence of str, optional
        Columns of a table, by header name or 0-based index.

    Raises
    ------
    InputError
        Missing file, unsupported suffix, non-numeric or ragged data, NaN/inf,
        empty data, wrong rank.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        values = _read_npy(path)
    elif suffix == ".npz":
        values = _read_npz(path, key)
    elif suffix in (".csv", ".tsv"):
        values = _read_delimited(path, columns)
    elif suffix == ".parquet":
        values = _read_parquet(path, columns)
    else:
        raise InputError(
            f"{path}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUFFIXES)}"
        )
    return _as_sample(np.asarray(values), path)
