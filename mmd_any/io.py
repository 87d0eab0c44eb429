"""Reading samples from files for the command line: .npy, .npz, .csv/.tsv, .parquet.

Every problem with a file raises :class:`InputError` with a one-line message
that names the file; the command line prints it and exits with status 2.
``.npy``/``.npz`` are always read with ``allow_pickle=False``.

A table written by pandas carries its index (row labels), which is never a
feature: the index columns that pandas records in a parquet file's metadata are
dropped, and so is the unnamed leading column of integer labels that
``DataFrame.to_csv(path)`` writes. Each such drop is told in one line that names
the file (an :class:`InputNote`; the command line prints it on stderr).
"""

from __future__ import annotations

import csv
import json
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

__all__ = ["InputError", "InputNote", "load_sample"]

SUFFIXES = (".npy", ".npz", ".csv", ".tsv", ".parquet")

#: The first bytes of a ``.npy`` file and of a ``.npz`` (zip) archive.
_MAGIC = {".npy": b"\x93NUMPY", ".npz": b"PK"}

#: At most this many names are listed when a column or array is missing.
_LISTED = 12


class InputError(ValueError):
    """A file that cannot be read as a numeric sample."""


class InputNote(UserWarning):
    """How a file was read, in one line that names it: a pandas index column that
    was dropped (not a feature). Issued by :func:`load_sample` without ``notes``."""


#: Receives each note of :func:`load_sample` (one line, naming the file).
Notes = Callable[[str], None]


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in names)


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


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _listed(names: Sequence[str]) -> str:
    """``names`` for a message: all of them, or the first :data:`_LISTED` and a count."""
    if len(names) <= _LISTED:
        return str(list(names))
    shown = ", ".join(repr(name) for name in names[:_LISTED])
    return f"[{shown}, …] ({len(names)} in all)"


def _check_magic(path: Path) -> None:
    """A ``.npy``/``.npz`` file must start with its format's bytes (else NumPy would
    try to read it as a pickle and say so, which misleads)."""
    magic = _MAGIC[path.suffix.lower()]
    with path.open("rb") as handle:
        start = handle.read(len(magic))
    if start != magic:
        kind = "NumPy .npy file" if magic == _MAGIC[".npy"] else "NumPy .npz (zip) archive"
        raise InputError(f"{path}: not a {kind} (its first bytes are {start!r})")


def _read_npy(path: Path) -> np.ndarray:
    _check_magic(path)
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as error:
        raise InputError(f"{path}: cannot read without pickle ({_first_line(error)})") from None
    except (OSError, EOFError) as error:
        raise InputError(f"{path}: truncated or damaged .npy file ({_first_line(error)})") from None


def _read_npz(path: Path, key: str | None) -> np.ndarray:
    _check_magic(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
        raise InputError(f"{path}: damaged .npz archive ({_first_line(error)})") from None
    with archive:
        names = list(archive.files)
        if key is None:
            if len(names) != 1:
                raise InputError(f"{path}: holds arrays {_listed(names)}; choose one with --key")
            key = names[0]
        if key not in names:
            raise InputError(f"{path}: no array {key!r} (--key); it holds {_listed(names)}")
        try:
            return archive[key]
        except ValueError as error:
            raise InputError(
                f"{path}: array {key!r} cannot be read without pickle ({_first_line(error)})"
            ) from None
        except (OSError, EOFError, zipfile.BadZipFile) as error:
            raise InputError(f"{path}: array {key!r} is damaged ({_first_line(error)})") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_index_columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """How many leading columns are a pandas index as ``DataFrame.to_csv(path)`` writes
    one: an empty header name (an unnamed index) and integer labels that tell the rows
    apart (a MultiIndex: several such columns, unique together). A first column with
    a name, or with a value that is not an integer, is data: 0."""
    count = 0
    while count < len(header) - 1 and header[count] == "":
        count += 1
    if count == 0:
        return 0
    labels = set()
    for row in rows:
        try:
            values = tuple(float(cell) for cell in row[:count])
        except ValueError:
            return 0
        if not all(value.is_integer() for value in values):
            return 0
        labels.add(values)
    return count if len(labels) == len(rows) else 0


def _read_delimited(path: Path, columns: Sequence[str] | None, note: Notes) -> np.ndarray:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [
                row
                for row in csv.reader(handle, delimiter=delimiter)
                if row and any(c.strip() for c in row)
            ]
    except UnicodeDecodeError as error:
        byte = error.object[error.start : error.start + 1]
        raise InputError(
            f"{path}: not UTF-8 text (byte {byte!r} at offset {error.start}); save the file "
            "as UTF-8 (for example from latin-1 with `iconv -f latin1 -t utf-8`)"
        ) from None
    except csv.Error as error:
        raise InputError(f"{path}: not a readable table ({_first_line(error)})") from None
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
    dropped = _csv_index_columns(header, rows) if header is not None else 0
    if dropped:
        header, rows, width = header[dropped:], [row[dropped:] for row in rows], width - dropped
        what = (
            "the unnamed first column, a pandas index"
            if dropped == 1
            else f"the {dropped} unnamed first columns, a pandas MultiIndex"
        )
        note(f"{path}: dropped {what} (integer row labels, not a feature)")
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
                hint = ""
                if header is not None and header[0] == "" and c == 0 and columns is None:
                    hint = (
                        " (an unnamed first column, such as the index `DataFrame.to_csv` "
                        "writes: save with index=False or choose --columns)"
                    )
                raise InputError(
                    f"{path}: non-numeric value {cell!r} on line {line}, column {c + 1}{hint}"
                ) from None
    return table


def _pandas_index_columns(schema: object, names: Sequence[str]) -> list[str]:
    """The columns of a parquet schema that hold a pandas index (its ``index_columns``
    in the ``pandas`` metadata that pandas and pyarrow write; a RangeIndex is stored
    as numbers in the metadata, not as a column)."""
    metadata = getattr(schema, "metadata", None) or {}
    try:
        recorded = json.loads(metadata[b"pandas"])["index_columns"]
    except (KeyError, TypeError, ValueError):
        return []
    if not isinstance(recorded, list):
        return []
    return [name for name in names if name in recorded]


def _read_parquet(path: Path, columns: Sequence[str] | None, note: Notes) -> np.ndarray:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{path}: reading .parquet needs pyarrow (pip install pyarrow)") from None
    try:
        schema = pq.read_schema(path)
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not a readable parquet file ({_first_line(error)})") from None
    everything = list(schema.names)
    index = _pandas_index_columns(schema, everything)
    if len(index) == len(everything):
        index = []  # nothing but an index: read it as the data rather than nothing
    names = [name for name in everything if name not in index]  # the feature columns
    if columns:
        missing = [c for c in columns if c not in everything and not c.isdigit()]
        if missing:
            raise InputError(f"{path}: no column(s) {missing} (--columns); it has {_listed(names)}")
        if any(c not in everything and int(c) >= len(names) for c in columns):
            raise InputError(f"{path}: column index out of range 0..{len(names) - 1} in --columns")
        # by name any column (a named index too, when asked for); by index the features
        columns = [c if c in everything else names[int(c)] for c in columns]
    dropped = [name for name in index if name not in (columns or ())]
    if dropped:
        what = "column" if len(dropped) == 1 else "columns"
        feature = "a feature" if len(dropped) == 1 else "features"
        note(f"{path}: dropped the pandas index {what} {_quoted(dropped)} (not {feature})")
    try:
        table = pq.read_table(path, columns=list(columns) if columns else names)
    except (OSError, KeyError, ValueError) as error:
        raise InputError(f"{path}: {_first_line(error)}") from None
    try:
        return np.column_stack([table.column(i).to_numpy() for i in range(table.num_columns)])
    except Exception as error:  # noqa: BLE001 - pyarrow raises many types for bad columns
        raise InputError(f"{path}: cannot convert columns to numbers ({error})") from None


def _warn(message: str) -> None:
    warnings.warn(message, InputNote, stacklevel=4)


def load_sample(
    path: str | Path,
    *,
    key: str | None = None,
    columns: Sequence[str] | None = None,
    notes: Notes | None = None,
) -> np.ndarray:
    """Read a numeric ``(n, d)`` float64 sample from a file.

    Parameters
    ----------
    path : str or Path
        ``.npy``, ``.npz`` (one array, or choose with ``key``), ``.csv``/``.tsv``
        (numeric columns; a non-numeric first row is a header), ``.parquet``
        (needs pyarrow).
        A pandas index is never a feature: a parquet file's index columns (as
        pandas records them in the file's metadata, such as
        ``__index_level_0__`` or a named index) are dropped, and so is a
        CSV's leading column with an empty header name and integer values that
        tell the rows apart (what ``DataFrame.to_csv(path)`` writes for an
        unnamed index; a named first column is always data).
    key : str, optional
        The array of an ``.npz`` file.
    columns : sequence of str, optional
        Columns of a table, by header name or 0-based index. The indices count
        the columns left once a pandas index is dropped; a parquet index column
        chosen by name is kept.
    notes : callable, optional
        Called with each one-line note on how the file was read (a dropped
        index column), which names the file. By default each note is issued as
        an :class:`InputNote` warning.

    Raises
    ------
    InputError
        Missing, empty (0 bytes) or damaged file, unsupported suffix, a
        ``.npz`` without ``key`` (the message lists the arrays it holds), a
        missing column (the message lists the available ones), text that is
        not UTF-8, non-numeric or ragged data, NaN/inf, empty data, wrong rank.
    """
    path = Path(path)
    note = notes if notes is not None else _warn
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        values = _read_npy(path)
    elif suffix == ".npz":
        values = _read_npz(path, key)
    elif suffix in (".csv", ".tsv"):
        values = _read_delimited(path, columns, note)
    elif suffix == ".parquet":
        values = _read_parquet(path, columns, note)
    else:
        raise InputError(
            f"{path}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUFFIXES)}"
        )
    return _as_sample(np.asarray(values), path)
