"""The estimator algebra: every quadratic MMD² statistic as weighted quadratic forms.

Written once for every consumer (``mmd2``, ``kid``, the permutation tests and the
Dask chunk pairs). With ``K`` the pooled kernel matrix (``N = n + m`` points,
``x`` first) and ``K₀`` the same matrix with its diagonal set to 0:

* biased:   ``w ᵀ K w`` with ``w = 1/n`` on ``x`` and ``−1/m`` on ``y``;
* unbiased: ``Σ_{i≠j} c_ij K_ij`` with ``c_ij = a = 1/(n(n−1))`` within ``x``,
  ``b = 1/(m(m−1))`` within ``y`` and ``−1/(nm)`` across. Writing
  ``c_ij = γ + u_i u_j`` with ``u = √A`` on ``x`` and ``−√B`` on ``y`` needs
  ``γ + A = a``, ``γ + B = b`` and ``γ − √(AB) = −1/(nm)``, solved by
  ``γ = (ab − 1/(nm)²) / (a + b + 2/(nm))``; then ``U = uᵀK₀u + γ·1ᵀK₀1``.

A :class:`QuadraticStatistic` holds the weight rows (one value on ``x`` and one
on ``y`` each), the coefficients that combine their forms, and whether the
diagonal is excluded. A permutation relabels which points carry the ``x`` value
of the first row; the other rows (``1ᵀK₀1``) are invariant under relabelling and
computed once. Pure Python and NumPy on the host: nothing here touches a device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._typing import Array

__all__ = ["QuadraticStatistic", "quadratic_statistic", "unbiased_coefficients"]


def unbiased_coefficients(n: int, m: int) -> tuple[float, float, float]:
    """``γ, A, B`` with which the U-statistic is ``uᵀK₀u + γ·1ᵀK₀1`` (module docstring)."""
    a, b, cross = 1.0 / (n * (n - 1)), 1.0 / (m * (m - 1)), 1.0 / (n * m)
    gamma = (a * b - cross**2) / (a + b + 2 * cross)
    return gamma, a - gamma, b - gamma


@dataclass(frozen=True)
class QuadraticStatistic:
    """``statistic = Σ_r coefficients[r] · w_rᵀ K′ w_r`` (``K′ = K₀`` when
    ``exclude_diagonal``), ``w_r`` equal to ``values[r][0]`` on ``x`` and
    ``values[r][1]`` on ``y``. Row 0 is the one a permutation relabels."""

    n: int
    m: int
    values: tuple[tuple[float, float], ...]
    coefficients: tuple[float, ...]
    exclude_diagonal: bool

    @property
    def n_rows(self) -> int:
        """Number of weight rows ``R``."""
        return len(self.values)

    def combine(self, xp: Any, forms: Array) -> Array:
        """The statistic from the ``(R, …)`` forms of the weight rows (leading axis).

        A single row is reshaped, not indexed: a view, also for autodiff, where
        indexing would add a backward operation.
        """
        first = xp.reshape(forms, tuple(forms.shape[1:])) if self.n_rows == 1 else forms[0, ...]
        total = first if self.coefficients[0] == 1.0 else self.coefficients[0] * first
        for row, coefficient in enumerate(self.coefficients[1:], start=1):
            total = total + coefficient * forms[row, ...]
        return total

    def label_weights(self, labels: np.ndarray) -> np.ndarray:
        """Row-0 weights of 0/1 label rows (``1`` marks a point counted as ``x``)."""
        return _weights(labels, self.values[0])

    def invariant_rows(self) -> list[tuple[float, float]]:
        """The rows a relabelling leaves unchanged (both values equal), rows 1…R−1."""
        rows = list(self.values[1:])
        for on_x, on_y in rows:
            if on_x != on_y:
                raise ValueError("only row 0 of a statistic may depend on the labels")
        return rows

    def row_weights(self, start: int, stop: int) -> np.ndarray:
        """``(R, stop − start)`` weights of the pooled points ``start:stop`` (host)."""
        in_x = (np.arange(start, stop) < self.n).astype(np.float64)
        return np.stack([_weights(in_x, row) for row in self.values])


def _weights(labels: np.ndarray, row: tuple[float, float]) -> np.ndarray:
    """The value on ``x`` where a label is 1, the value on ``y`` where it is 0."""
    on_x, on_y = row
    return labels * (on_x - on_y) + on_y


#: The estimators that are quadratic forms of the pooled Gram matrix: what the
#: permutation tests permute (the linear-time one pairs rows and is not).
QUADRATIC_ESTIMATORS = ("biased", "unbiased")


def quadratic_statistic(n: int, m: int, estimator: str) -> QuadraticStatistic:
    """The weight rows and coefficients of the ``"biased"`` or ``"unbiased"`` MMD²."""
    if estimator == "biased":
        return QuadraticStatistic(n, m, ((1.0 / n, -1.0 / m),), (1.0,), False)
    if estimator == "unbiased":
        gamma, big_a, big_b = unbiased_coefficients(n, m)
        values = ((math.sqrt(big_a), -math.sqrt(big_b)), (1.0, 1.0))
        return QuadraticStatistic(n, m, values, (1.0, gamma), True)
    raise ValueError(f"no quadratic form for estimator {estimator!r}")
