"""The seeds' published values, reproduced by the seed configuration."""

from __future__ import annotations

import numpy as np
import pytest

import mmd_any
from mmd_any import kernels
from mmd_any.bandwidths import MeanSquaredDistance

from .conftest import Backend

SEED_KERNEL = kernels.Gaussian(MeanSquaredDistance.seed(kernel_mul=2.0, kernel_num=5))

PUBLISHED = [
    ([[1, 2, 3]], [[1, 1, 2]], 6.1863),
    ([[2, 3, 66]], [[1, 5, 6]], 6.1863),
    ([[1, 2, 3], [2, 3, 66]], [[1, 1, 2], [1, 5, 6]], 1.8873),
    ([[1, 2, 3], [2, 3, 66]], [[1, 2, 2], [1, 5, 60]], 0.0621),
    ([[1, 2, 3]], [[1, 2, 2], [2, 3, 6]], 2.0059),
]


@pytest.mark.parametrize(("source", "target", "printed"), PUBLISHED)
def test_published_values(backend: Backend, source, target, printed) -> None:
    """Integer tensors, as in the posts; 4 decimals, as printed there."""
    value = mmd_any.mmd2(backend.asarray(source), backend.asarray(target), kernel=SEED_KERNEL)
    assert float(backend.to_numpy(value)) == pytest.approx(printed, abs=5e-5)


def test_seed_ladder_bandwidths() -> None:
    """σ² ladder b·2^(i−2)/2 for b = mean off-diagonal squared distance."""
    scales = MeanSquaredDistance.seed().scales
    np.testing.assert_allclose(np.square(scales), [0.25, 0.5, 1.0, 2.0, 4.0])


def test_linear_variant_is_squared_mean_difference(backend: Backend) -> None:
    """The seeds' ``linear_mmd2``: ‖mean(x) − mean(y)‖², for n ≠ m too."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(64, 14)), rng.normal(0.2, 1.0, size=(32, 14))
    value = mmd_any.mmd2(backend.asarray(x), backend.asarray(y), kernel="linear")
    delta = x.mean(axis=0) - y.mean(axis=0)
    assert float(backend.to_numpy(value)) == pytest.approx(float(delta @ delta), rel=1e-10)


def test_unequal_sizes_are_the_v_statistic() -> None:
    """n ≠ m: the mean of each block separately (the seeds' broadcast is wrong)."""
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(3, 2)), rng.normal(size=(5, 2))
    gram = np.asarray(mmd_any.kernel_matrix(np.vstack([x, y]), kernel=kernels.Gaussian(1.0)))
    expected = gram[:3, :3].mean() + gram[3:, 3:].mean() - 2 * gram[:3, 3:].mean()
    value = mmd_any.mmd2(x, y, kernel=kernels.Gaussian(1.0))
    assert float(value) == pytest.approx(expected, rel=1e-12)
