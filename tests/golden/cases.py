"""Seeded inputs of the golden tests, shared by ``make_golden.py`` and the tests.

Every case is regenerated from its seed with NumPy's ``default_rng`` (PCG64);
``golden.json`` stores a SHA-256 of the bytes so that a change in the
generator is caught instead of silently comparing different data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Case:
    """Two samples ``x`` (n × d, standard normal) and ``y`` (m × d, scaled and shifted)."""

    n: int
    m: int
    d: int
    seed: int
    dtype: str = "float64"

    @property
    def id(self) -> str:
        return f"n{self.n}_m{self.m}_d{self.d}_s{self.seed}_{self.dtype}"

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        x = rng.standard_normal((self.n, self.d))
        y = 1.25 * rng.standard_normal((self.m, self.d)) + 0.35
        return x.astype(self.dtype), y.astype(self.dtype)

    def sha256(self) -> str:
        x, y = self.arrays()
        return hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()


#: Equal sizes (needed by tllib's MK-MMD, torchmetrics' KID formula and the
#: first seed post) and unequal ones, several widths, two dtypes.
CASES: tuple[Case, ...] = (
    Case(40, 40, 3, seed=1),
    Case(64, 64, 16, seed=2),
    Case(200, 200, 8, seed=3),
    Case(50, 80, 5, seed=4),
    Case(120, 90, 32, seed=5),
    Case(33, 71, 1, seed=6),
    Case(64, 64, 16, seed=7, dtype="float32"),
    Case(120, 90, 32, seed=8, dtype="float32"),
)
