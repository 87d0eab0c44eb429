"""Sums of partial results that stay accurate on devices without float64.

The engine adds its partial sums (Gram tiles, blocks of random features,
streamed chunks) in float64 where the device has it
(:func:`mmd_any._dtypes.accumulator_dtype`). Apple's MPS and JAX without
``jax_enable_x64`` have no float64: there the partials are added in their own
dtype with error-free transformations. Knuth's ``TwoSum`` gives, in six
operations and no branch, ``s = fl(a + b)`` and the exact rounding error
``e = (a + b) − s``; a :class:`CompensatedSum` keeps ``hi`` (the rounded sum)
and ``lo`` (the sum of the errors), adding the partials pairwise so that an
accelerator runs ``O(log T)`` operations for ``T`` partials, not ``O(T)``.

Error bound (Ogita, Rump & Oishi 2005, "Accurate sum and dot product",
algorithm Sum2; it holds for any order of the ``TwoSum`` steps, the pairwise
one included): for ``T`` partials ``p_i`` with exact sum ``S``,

``|value − S| ≤ u·|S| + γ²_{T−1}·Σ|p_i|``, ``γ_k = k·u / (1 − k·u)``,

with ``u = 2⁻²⁴`` in float32. The first term is the one rounding of the
result, as if it had been summed in float64 and rounded once; the second stays
below ``u·Σ|p_i|`` for up to 4096 partials, against ``(T − 1)·u·Σ|p_i|`` for a
plain recursive float32 sum. The error therefore does not grow with the number
of tiles, blocks or chunks; what remains is the float32 rounding inside each
partial (one tile, one block), whose size the planner bounds.

``TwoSum`` relies on IEEE round-to-nearest and on the library not
reassociating ``(a − (s − b′))``: true for NumPy, eager torch, CuPy and XLA
without fast-math (JAX's default). A compiler told to reassociate (fast-math
flags) may fold the errors to 0, which leaves a plain float32 sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from array_api_compat import is_array_api_obj

from ._dtypes import accumulator_dtype
from ._typing import Array

__all__ = ["CompensatedSum", "two_sum"]


def two_sum(xp: Any, a: Array, b: Array) -> tuple[Array, Array]:
    """``(s, e)`` with ``s = fl(a + b)`` and ``s + e = a + b`` exactly (Knuth)."""
    s = a + b
    b_virtual = s - a
    e = (a - (s - b_virtual)) + (b - b_virtual)
    return s, e


@dataclass(frozen=True)
class CompensatedSum:
    """A sum carried as ``hi + lo``: in float64 where the device has it (``lo`` is
    None), else in the partials' dtype with the rounding errors in ``lo``.

    Build one with :meth:`of`, add two with :meth:`plus` (streaming, merging),
    read it with :meth:`value`. The bound is in the module docstring.
    """

    hi: Array
    lo: Array | None = None

    @classmethod
    def of(cls, xp: Any, parts: Sequence[Array] | Array, dev: Any) -> CompensatedSum:
        """The sum of same-shape ``parts`` (a sequence, or an array stacked on axis 0)."""
        single = not is_array_api_obj(parts) and len(parts) == 1
        stacked = parts[0] if single else parts
        if not single and not is_array_api_obj(parts):
            stacked = xp.stack(list(parts))
        wide = accumulator_dtype(xp, stacked.dtype, dev)
        if wide == xp.float64:  # the device has float64: one wide sum
            wide_parts = stacked if stacked.dtype == wide else xp.astype(stacked, wide)
            return cls(wide_parts if single else xp.sum(wide_parts, axis=0))
        if single:
            return cls(stacked, xp.zeros_like(stacked))
        hi, errors = stacked, []
        while hi.shape[0] > 1:
            half = hi.shape[0] // 2
            total, error = two_sum(xp, hi[:half, ...], hi[half : 2 * half, ...])
            errors.append(xp.sum(error, axis=0))
            hi = total if hi.shape[0] == 2 * half else xp.concat([total, hi[2 * half :, ...]])
        lo = None
        for error in errors:
            lo = error if lo is None else lo + error
        hi = xp.reshape(hi, tuple(hi.shape[1:]))
        return cls(hi, lo if lo is not None else xp.zeros_like(hi))

    def plus(self, xp: Any, other: CompensatedSum | Array) -> CompensatedSum:
        """This sum plus another one or one more partial (a running sum, a merge);
        the bound of :meth:`of` over all the partials holds."""
        if not isinstance(other, CompensatedSum):
            if self.lo is None:
                wide = other if other.dtype == self.hi.dtype else xp.astype(other, self.hi.dtype)
                return CompensatedSum(self.hi + wide)
            hi, error = two_sum(xp, self.hi, other)
            return CompensatedSum(hi, self.lo + error)
        if self.lo is None or other.lo is None:
            return CompensatedSum(self.hi + other.hi)
        hi, error = two_sum(xp, self.hi, other.hi)
        return CompensatedSum(hi, (self.lo + other.lo) + error)

    def times(self, xp: Any, factor: Array) -> CompensatedSum:
        """This sum times ``factor`` (exact for the powers of two of :mod:`mmd_any._scaling`)."""
        if is_array_api_obj(factor) and factor.dtype != self.hi.dtype:
            factor = xp.astype(factor, self.hi.dtype)
        return CompensatedSum(self.hi * factor, None if self.lo is None else self.lo * factor)

    def value(self, xp: Any) -> Array:
        """``hi + lo`` rounded once: float64 where the device has it, else the partials' dtype."""
        return self.hi if self.lo is None else self.hi + self.lo
