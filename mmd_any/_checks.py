"""Validation of scalar arguments: counts, real numbers, seeds and option names.

One checker per kind of argument, shared by every public function, so that an
argument is accepted and refused in the same way wherever it appears and every
message names it in backticks. ``TypeError`` means a wrong type, ``ValueError``
a wrong value (a count below its minimum, a negative seed, an unknown name).

The conventions, written once here:

* **counts** (``n_permutations``, ``block_size``, ``n_features``, ``subsets``,
  ``degree``, ``kernel_num``, ``max_samples``, …) are Python or NumPy integers.
  ``bool`` is refused, and so is every float, integral ones such as ``2.0``
  included: a float count is almost always a computed value that was meant to
  be rounded, and rounding it silently would hide that.
* **real numbers** (``alpha``, ``gamma``, ``kernel_mul``, ``fix_sigma``, …) are
  Python or NumPy integers or floats (``np.float32(0.05)`` is fine), never
  ``bool``, and always finite.
* **seeds** are None, a non-negative integer, a ``numpy.random.SeedSequence``,
  ``BitGenerator`` or ``Generator``: what ``numpy.random.default_rng`` accepts,
  less the forms that are almost always mistakes (floats, bools, strings).
* **names** are strings from a fixed list, which an error message lists.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection
from typing import Any

import numpy as np

__all__ = [
    "check_choice",
    "check_count",
    "check_real",
    "check_seed",
    "is_real",
    "reproducible_seed",
]

#: What ``numpy.random.default_rng`` takes besides integers and None.
_SEED_OBJECTS = (np.random.SeedSequence, np.random.BitGenerator, np.random.Generator)


def _got(value: object) -> str:
    return f"got {value!r} of type {type(value).__name__}"


def is_real(value: object) -> bool:
    """Whether ``value`` is a Python or NumPy real number (a bool is not)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def check_count(
    value: object, name: str, minimum: int = 1, *, allow_none: bool = False
) -> int | None:
    """An integer argument of at least ``minimum``, as a Python ``int``.

    Parameters
    ----------
    value : object
        A Python or NumPy integer (None too with ``allow_none``).
    name : str
        The argument's name, for the message.
    minimum : int
        The smallest valid value.
    allow_none : bool
        Whether None (a default chosen elsewhere) is valid; it is returned.

    Raises
    ------
    TypeError
        For anything but an integer: ``bool``, a float (even ``2.0``), a string.
    ValueError
        For an integer below ``minimum``.
    """
    if value is None and allow_none:
        return None
    or_none = " or None" if allow_none else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer >= {minimum}{or_none}, {_got(value)}")
    if value < minimum:
        raise ValueError(f"`{name}` must be at least {minimum}{or_none}, got {value!r}")
    return int(value)


def check_real(
    value: object,
    name: str,
    *,
    lower: float | None = None,
    upper: float | None = None,
    closed: bool = False,
    allow_none: bool = False,
    expected: str | None = None,
) -> float | None:
    """A finite real argument, as a Python ``float``.

    Parameters
    ----------
    value : object
        A Python or NumPy integer or float (None too with ``allow_none``).
    name : str
        The argument's name, for the message.
    lower, upper : float, optional
        Bounds of the valid values, excluded unless ``closed``.
    closed : bool
        Whether the bounds themselves are valid.
    allow_none : bool
        Whether None is valid; it is returned.
    expected : str, optional
        What the value must be, as the message says it after "must" (for
        example ``"be a positive float"``); by default built from the bounds.

    Raises
    ------
    TypeError
        For anything but a real number (``bool``, a string, None, an array).
    ValueError
        For NaN, inf, or a value outside the bounds.
    """
    if value is None and allow_none:
        return None
    if expected is None:
        expected = "be a finite real number"
        if lower is not None and upper is not None:
            left, right = ("[", "]") if closed else ("(", ")")
            expected = f"lie in the interval {left}{lower:g}, {upper:g}{right}"
        elif lower is not None:
            expected = f"be a real number {'>=' if closed else '>'} {lower:g}"
        if allow_none:
            expected += " or None"
    if not is_real(value):
        raise TypeError(f"`{name}` must {expected}, {_got(value)}")
    number = float(value)  # type: ignore[arg-type]
    below = lower is not None and (number < lower if closed else number <= lower)
    above = upper is not None and (number > upper if closed else number >= upper)
    if not math.isfinite(number) or below or above:
        raise ValueError(f"`{name}` must {expected}, got {value!r}")
    return number


def check_seed(seed: object, name: str = "seed") -> Any:
    """A seed for ``numpy.random.default_rng``: returned as given (integers as ``int``).

    Raises
    ------
    TypeError
        For a float, a bool, a string or any other object.
    ValueError
        For a negative integer.
    """
    if seed is None or isinstance(seed, _SEED_OBJECTS):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"`{name}` must be a non-negative integer, got {seed!r}")
        return int(seed)
    raise TypeError(
        f"`{name}` must be None, a non-negative integer, a numpy SeedSequence or a numpy "
        f"Generator, {_got(seed)}"
    )


def reproducible_seed(seed: object) -> bool:
    """Whether two uses of ``seed`` draw the same numbers (not None, not a Generator)."""
    return seed is not None and not isinstance(seed, np.random.BitGenerator | np.random.Generator)


def check_choice(value: object, name: str, valid: Collection[str]) -> str:
    """One of the names ``valid``.

    Raises
    ------
    TypeError
        For a non-string.
    ValueError
        For an unknown name (the message lists the valid ones, "" included).
    """
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be one of {sorted(valid)}, {_got(value)}")
    if value not in valid:
        raise ValueError(f"unknown `{name}` {value!r}; valid names are {sorted(valid)}")
    return value
