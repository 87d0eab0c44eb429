"""Tiling: memory stays O(block² + (n + m)·d), never O((n + m)²)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import mmd_any
from mmd_any import kernels
from mmd_any.bandwidths import MeanSquaredDistance


def _peak_bytes(n: int, m: int, dim: int, **kwargs) -> int:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(n, dim)), rng.normal(size=(m, dim))
    tracemalloc.start()
    try:
        mmd_any.mmd2(x, y, block_size=256, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "kernel",
    [
        kernels.Gaussian(MeanSquaredDistance.seed()),
        kernels.Gaussian(),
        kernels.Laplacian(1.0),
        "polynomial",
    ],
    ids=["seed-ladder", "median", "laplacian", "polynomial"],
)
@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_peak_memory_does_not_grow_with_the_gram_matrix(kernel, estimator) -> None:
    """NumPy allocations are traced; doubling n + m would quadruple a Gram matrix.

    The peak is tiles (O(block²)), the median's capped subsample (O(1000²))
    and copies of the data (O((n + m)·d)): it must stay flat when n + m
    doubles, and far below the 6000² float64 Gram matrix (288 MB).
    """
    dim = 8
    small = _peak_bytes(1750, 1250, dim, kernel=kernel, estimator=estimator)
    large = _peak_bytes(3500, 2500, dim, kernel=kernel, estimator=estimator)
    data_growth = 16 * 3000 * dim * 8  # a few copies of the extra rows
    assert large < 1.2 * small + data_growth, (small, large)
    assert large < 6000**2 * 8 / 8, f"peak {large / 2**20:.1f} MiB"
