"""Docstrings whose lists of names come from the registries.

A docstring says ``{KERNEL_NAMES}`` where the list of kernel names goes, and
:func:`fill` writes the list in at import time from :data:`mmd_any.kernels.KERNELS`
(and so on for the estimators and the aggregated tests): a name added to a
registry appears in every docstring that lists its kind, and in ``help()`` and
the API docs, which read ``__doc__``. Only the named tokens are replaced, so
literal braces (the numpydoc ``{"a", "b"}`` choice syntax) are left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

__all__ = ["choices", "fill", "list_table", "quoted"]

T = TypeVar("T")


def quoted(names: Iterable[str]) -> str:
    """``"a"``, ``"b"``: names as reST literals, for prose."""
    return ", ".join(f'``"{name}"``' for name in names)


def choices(names: Iterable[str]) -> str:
    """``{"a", "b"}``: names as a numpydoc choice, for a parameter's type."""
    return "{" + ", ".join(f'"{name}"' for name in names) + "}"


def fill(**values: str) -> Callable[[T], T]:
    """Decorator: replace each ``{KEY}`` of the object's docstring by ``values[KEY]``.

    Raises
    ------
    ValueError
        If a key does not occur in the docstring (a stale token), so that a
        registry list cannot silently stop reaching its docstring.
    """

    def decorate(obj: T) -> T:
        doc = obj.__doc__
        if doc is None:  # python -OO
            return obj
        for key, value in values.items():
            token = "{" + key + "}"
            if token not in doc:
                raise ValueError(f"{getattr(obj, '__qualname__', obj)!r} has no {token}")
            doc = doc.replace(token, value)
        obj.__doc__ = doc
        return obj

    return decorate


def list_table(headers: Sequence[str], rows: Iterable[Sequence[str]], indent: str = "") -> str:
    """An reST ``list-table`` of ``rows`` under ``headers`` (cells are reST)."""
    lines = [f"{indent}.. list-table::", f"{indent}   :header-rows: 1", ""]
    for row in [headers, *rows]:
        cells = list(row)
        lines.append(f"{indent}   * - {cells[0]}")
        lines.extend(f"{indent}     - {cell}" for cell in cells[1:])
    return "\n".join(lines)
