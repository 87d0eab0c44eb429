"""Presets and KID: formulas against the float64 reference, on every backend.

Agreement with the peers' own code is the job of ``test_golden.py``; here each
preset is checked against its formula written out plainly, so that a wrong
golden file cannot hide a wrong preset.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import mmd_any
from mmd_any import bandwidths, kernels, presets

from . import reference
from .conftest import Backend, assert_result_like, require, widest_float


def _pair(n: int, m: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), 1.2 * rng.normal(size=(m, d)) + 0.3


def _expected(preset: presets.Preset, x: np.ndarray, y: np.ndarray) -> float:
    raw = reference.mmd2(x, y, preset.kernel, preset.estimator)
    return preset.scale * raw + preset.offset(len(x), len(y))


def _tolerance(preset: presets.Preset, x: np.ndarray, y: np.ndarray, dtype: str) -> float:
    return abs(preset.scale) * reference.tolerance(dtype, preset.kernel, x, y)


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_preset_matches_its_formula(backend: Backend, name: str, dtype: str) -> None:
    require(backend, "mmd2", dtype=dtype)
    preset = presets.PRESETS[name]
    x, y = _pair(24, 24 if preset.equal_sizes else 31, 3)
    x, y = x.astype(dtype).astype(np.float64), y.astype(dtype).astype(np.float64)
    xb = backend.asarray(x, dtype)
    result = mmd_any.mmd2(xb, backend.asarray(y, dtype), preset=name)
    assert_result_like(result, backend, like=xb)
    expected = _expected(preset, x, y)
    assert abs(float(backend.to_numpy(result)) - expected) <= _tolerance(preset, x, y, dtype)


def test_name_object_and_expansion_agree() -> None:
    x, y = _pair(20, 30, 4)
    for name, preset in presets.PRESETS.items():
        if preset.equal_sizes:
            continue
        by_name = float(mmd_any.mmd2(x, y, preset=name))
        by_object = float(preset.mmd2(x, y))
        expanded = preset.scale * float(
            mmd_any.mmd2(x, y, kernel=preset.kernel, estimator=preset.estimator)
        )
        assert by_name == by_object
        assert by_name == pytest.approx(expanded, rel=1e-14, abs=1e-15)


def test_seed_preset_is_the_default_mmdloss_convention() -> None:
    """Five Gaussians exp(−d²/(b·2^(i−2))), b = mean off-diagonal d², biased."""
    x, y = _pair(15, 22, 3)
    pooled = np.concatenate([x, y])
    sq = reference.pairwise(pooled, pooled, "sqeuclidean")
    base = sq.sum() / (len(pooled) ** 2 - len(pooled))
    gram = sum(np.exp(-sq / (base * 2.0 ** (i - 2))) for i in range(5))
    n = len(x)
    expected = gram[:n, :n].mean() + gram[n:, n:].mean() - 2 * gram[:n, n:].mean()
    assert float(presets.seed.mmd2(x, y)) == pytest.approx(expected, rel=1e-12)
    fixed = sum(np.exp(-sq / (2.0 * 2.0 ** (i - 2))) for i in range(5))
    expected_fixed = fixed[:n, :n].mean() + fixed[n:, n:].mean() - 2 * fixed[:n, n:].mean()
    value = float(presets.seed.with_bandwidth(2.0).mmd2(x, y))
    assert value == pytest.approx(expected_fixed, rel=1e-12)


def test_tllib_preset_formula() -> None:
    """σ_k² = 2^k · mean d² (diagonal included), U-statistic + 2/(n−1)."""
    x, y = _pair(12, 12, 2)
    pooled = np.concatenate([x, y])
    sq = reference.pairwise(pooled, pooled, "sqeuclidean")
    gram = sum(np.exp(-sq / (2 * 2.0**k * sq.mean())) for k in range(-3, 2))
    b = len(x)
    weights = np.full((2 * b, 2 * b), -1.0 / b**2)
    weights[:b, :b] = weights[b:, b:] = 1.0 / (b * (b - 1))
    np.fill_diagonal(weights, 0.0)
    expected = (gram * weights).sum() + 2.0 / (b - 1)
    assert float(presets.tllib.mmd2(x, y)) == pytest.approx(expected, rel=1e-12)


def test_bandwidth_conventions_in_peer_units() -> None:
    x, y = _pair(14, 19, 3)
    pooled = np.concatenate([x, y])
    sq = reference.pairwise(pooled, pooled, "sqeuclidean")
    l1 = reference.pairwise(pooled, pooled, "cityblock")
    n = len(x)

    def biased(gram: np.ndarray) -> float:
        return gram[:n, :n].mean() + gram[n:, n:].mean() - 2 * gram[:n, n:].mean()

    def unbiased(gram: np.ndarray) -> float:
        xx, yy = gram[:n, :n], gram[n:, n:]
        m = len(y)
        return (
            (xx.sum() - np.trace(xx)) / (n * (n - 1))
            + (yy.sum() - np.trace(yy)) / (m * (m - 1))
            - 2 * gram[:n, n:].mean()
        )

    blur = 0.8
    value = presets.geomloss_gaussian.with_bandwidth(blur).mmd2(x, y)
    assert float(value) == pytest.approx(0.5 * biased(np.exp(-sq / (2 * blur**2))), rel=1e-12)
    dist = np.sqrt(np.maximum(sq / blur**2, 1e-8))
    value = presets.geomloss_laplacian.with_bandwidth(blur).mmd2(x, y)
    assert float(value) == pytest.approx(0.5 * biased(np.exp(-dist)), rel=1e-12)
    energy = -np.sqrt(np.maximum(sq, 1e-8))
    assert float(presets.geomloss_energy.mmd2(x, y)) == pytest.approx(
        0.5 * biased(energy), rel=1e-12
    )
    sigmas = [0.7, 1.9]
    averaged = sum(np.exp(-sq / (2 * s**2)) for s in sigmas) / len(sigmas)
    value = presets.alibi.with_bandwidth(sigmas).mmd2(x, y)
    assert float(value) == pytest.approx(unbiased(averaged), rel=1e-12)
    lam = 1.3
    value = presets.mmdagg_gaussian.with_bandwidth(lam).mmd2(x, y)
    assert float(value) == pytest.approx(unbiased(np.exp(-sq / lam**2)), rel=1e-12)
    value = presets.mmdagg_laplace.with_bandwidth(lam).mmd2(x, y)
    assert float(value) == pytest.approx(unbiased(np.exp(-l1 / lam)), rel=1e-12)


def test_alibi_bandwidth_is_the_lower_median_of_the_reference_set() -> None:
    x, y = _pair(10, 30, 2)  # 45 pairs in x: odd; check an even count too
    for rows in (10, 9):  # 45 and 36 distinct pairs
        x_ref = x[:rows]
        sq = reference.pairwise(x_ref, x_ref, "sqeuclidean")[np.triu_indices(rows, 1)]
        sigma = math.sqrt(np.sort(sq)[(len(sq) - 1) // 2] / 2)
        expected = float(presets.alibi.with_bandwidth(sigma).mmd2(x_ref, y))
        assert float(presets.alibi.mmd2(x_ref, y)) == pytest.approx(expected, rel=1e-12)
        # y does not enter the bandwidth
        shifted = float(presets.alibi.mmd2(x_ref, y * 3.0))
        assert shifted == pytest.approx(
            float(presets.alibi.with_bandwidth(sigma).mmd2(x_ref, y * 3.0)), rel=1e-12
        )


def test_energy_kernel_is_the_energy_distance() -> None:
    x, y = _pair(30, 17, 3)
    cross = reference.pairwise(x, y, "euclidean").mean()
    within = (
        reference.pairwise(x, x, "euclidean").mean() + reference.pairwise(y, y, "euclidean").mean()
    )
    value = mmd_any.mmd2(x, y, kernel="energy")
    assert float(value) == pytest.approx(2 * cross - within, rel=1e-12)


def test_euclidean_kernels_are_exact_for_close_points_in_float32() -> None:
    """Distances come from differences: no sqrt(eps)·‖z‖² residue near 0.

    Points of norm ~200 moved by 1e-3 per coordinate: the one-matmul distance
    would carry an error of about sqrt(eps32)·200 ≈ 0.07, 35× the distance.
    """
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(20, 4)) * 100).astype(np.float32)
    y = x + np.float32(1e-3)
    expected = np.sqrt(((y.astype(float) - x.astype(float)) ** 2).sum(axis=1))
    energy = np.diagonal(mmd_any.kernel_matrix(x, y, kernel=kernels.Energy()))
    # d squared differences summed and one sqrt, each rounded in float32
    rtol = (x.shape[1] + 2) * reference.eps("float32")
    np.testing.assert_allclose(-energy, expected, rtol=rtol)
    exponential = np.diagonal(mmd_any.kernel_matrix(x, y, kernel=kernels.Exponential(1e-3)))
    # exp(−t) turns a relative error r of t into r·t, t = distance / σ
    np.testing.assert_allclose(
        exponential, np.exp(-expected / 1e-3), rtol=rtol * (1 + expected.max() / 1e-3)
    )


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda x, y: mmd_any.mmd2(x, y, preset="torchmetrics"), ValueError, "unknown `preset`"),
        (lambda x, y: mmd_any.mmd2(x, y, preset=3), TypeError, "`preset` must be"),
        (
            lambda x, y: mmd_any.mmd2(x, y, preset="kid", kernel="linear"),
            ValueError,
            "fixes the kernel",
        ),
        (
            lambda x, y: mmd_any.mmd2(x, y, preset="seed", estimator="biased"),
            ValueError,
            "fixes the kernel",
        ),
        (lambda x, y: mmd_any.mmd2(x, y, preset="tllib"), ValueError, "equal size"),
        (lambda x, y: presets.kid.with_bandwidth(1.0), ValueError, "no bandwidth"),
        (
            lambda x, y: mmd_any.mmd2(
                x[:1], y, kernel=kernels.Gaussian(bandwidths.Median(sample="x"))
            ),
            ValueError,
            "at least 2 rows",
        ),
        (lambda x, y: kernels.Energy(sq_distance_floor=-1.0), ValueError, "sq_distance_floor"),
        (lambda x, y: bandwidths.Median(sample="y"), ValueError, "`sample`"),
    ],
)
def test_preset_errors(call, error: type, match: str) -> None:
    """A wrong type is a TypeError, a wrong value a ValueError (tests/test_errors.py)."""
    x, y = _pair(5, 6, 2)
    with pytest.raises(error, match=match):
        call(x, y)


def _replayed_kid(x: np.ndarray, y: np.ndarray, subsets: int, size: int, seed: int):
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        rows_x = rng.choice(len(x), size, replace=False)
        rows_y = rng.choice(len(y), size, replace=False)
        values.append(reference.mmd2(x[rows_x], y[rows_y], kernels.Polynomial(), "unbiased"))
    return np.mean(values), np.std(values)


def test_kid_is_mean_and_population_std_over_seeded_subsets(backend: Backend) -> None:
    dtype = widest_float(backend)
    x, y = _pair(60, 45, 5)
    x, y = x.astype(dtype).astype(float), y.astype(dtype).astype(float)
    xb = backend.asarray(x, dtype)
    mean, std = mmd_any.kid(xb, backend.asarray(y, dtype), subsets=4, subset_size=20, seed=7)
    assert_result_like(mean, backend, like=xb)
    assert_result_like(std, backend, like=xb)
    expected_mean, expected_std = _replayed_kid(x, y, 4, 20, 7)
    tol = 64 * float(np.finfo(dtype).eps) * reference.kernel_scale(kernels.Polynomial(), x, y)[0]
    assert abs(float(backend.to_numpy(mean)) - expected_mean) <= tol
    assert abs(float(backend.to_numpy(std)) - expected_std) <= tol


def test_kid_is_reproducible_and_can_be_negative() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 3)), rng.normal(size=(200, 3))
    first = mmd_any.kid(x, y, subsets=20, subset_size=50, seed=1)
    again = mmd_any.kid(x, y, subsets=20, subset_size=50, seed=1)
    assert float(first.mean) == float(again.mean)
    values = [float(mmd_any.kid(x, y, subsets=1, subset_size=50, seed=s).mean) for s in range(20)]
    assert min(values) < 0 < max(values), "KID is unbiased: same distributions straddle 0"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"subset_size": 61}, ValueError, "subset_size"),
        ({"subset_size": 1}, ValueError, "subset_size"),
        ({"subsets": 0}, ValueError, "subsets"),
        ({"subsets": 2.5}, TypeError, "subsets"),  # a float is the wrong type (test_errors)
        ({"degree": 0}, ValueError, "degree"),
    ],
)
def test_kid_errors(kwargs: dict, error: type, match: str) -> None:
    x, y = _pair(60, 70, 3)
    with pytest.raises(error, match=match):
        mmd_any.kid(x, y, **kwargs)
