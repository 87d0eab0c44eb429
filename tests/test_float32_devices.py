"""Devices without float64 (issue 13): every public entry point on array-api-strict's
``no_float64`` device (Apple MPS: no float64, default float32) and ``no_x64`` device
(JAX's default: no float64 and no int64, default integer int32).

Inputs are float32; references are the float64 NumPy ones of :mod:`tests.reference`,
evaluated on the same float32-rounded values, with the float32 error models there.
The permutation tests are compared with the same test on ``CPU_DEVICE`` (which has
float64 accumulators) for the same seed: the p-values agree within one permutation.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from array_api_compat import array_namespace

import mmd_any
from mmd_any import bandwidths, kernels
from mmd_any._summation import CompensatedSum
from mmd_any.two_sample import AGGREGATE_EXPONENTS

from . import reference

xps = pytest.importorskip("array_api_strict")

DEVICES = ["no_float64", "no_x64"]
N, M, D = 40, 32, 3
PERMUTATIONS = 99


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> Any:
    return xps.Device(request.param)


def _data(shift: float = 0.4, n: int = N, m: int = M, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, D)).astype(np.float32).astype(np.float64)
    y = rng.normal(shift, 1.0, size=(m, D)).astype(np.float32).astype(np.float64)
    return x, y


def _on(a: np.ndarray, device: Any) -> Any:
    return xps.asarray(a.astype(np.float32), device=device)


def _host(a: Any) -> np.ndarray:
    return np.from_dlpack(a).astype(np.float64)


def _check(result: Any, device: Any, shape: tuple[int, ...] = ()) -> np.ndarray:
    """On the caller's device, float32, of ``shape``, finite; returns the values."""
    assert array_namespace(result) is xps, type(result)
    assert result.device == device, result.device
    assert result.dtype == xps.float32, result.dtype
    assert result.shape == shape, result.shape
    values = _host(result)
    assert np.all(np.isfinite(values)), values
    return values


GAUSSIAN = kernels.as_kernel("gaussian")


@pytest.mark.parametrize("estimator", ["biased", "unbiased", "linear"])
@pytest.mark.parametrize("block_size", [None, 8])
def test_mmd2(device: Any, estimator: str, block_size: int | None) -> None:
    """One tile and ~45 tiles (compensated accumulation) against the float64 reference."""
    x, y = _data(m=N if estimator == "linear" else M)
    value = mmd_any.mmd2(_on(x, device), _on(y, device), estimator=estimator, block_size=block_size)
    expected = reference.mmd2(x, y, GAUSSIAN, estimator)
    tol = reference.tolerance("float32", GAUSSIAN, x, y)
    assert abs(float(_check(value, device)) - expected) <= tol


@pytest.mark.parametrize("kernel", ["laplacian", "energy"])
def test_mmd2_other_metrics(device: Any, kernel: str) -> None:
    x, y = _data()
    chosen = kernels.as_kernel(kernel)
    value = mmd_any.mmd2(_on(x, device), _on(y, device), kernel=kernel, estimator="unbiased")
    tol = reference.tolerance("float32", chosen, x, y)
    assert abs(float(_check(value, device)) - reference.mmd2(x, y, chosen, "unbiased")) <= tol


def test_mmd(device: Any) -> None:
    x, y = _data()
    value = float(_check(mmd_any.mmd(_on(x, device), _on(y, device)), device))
    tol = reference.tolerance("float32", GAUSSIAN, x, y)
    assert abs(value**2 - reference.mmd2(x, y, GAUSSIAN, "biased")) <= tol


def test_kid(device: Any) -> None:
    x, y = _data()
    subsets, size, seed = 4, 16, 3
    mean, std = mmd_any.kid(
        _on(x, device), _on(y, device), subsets=subsets, subset_size=size, seed=seed
    )
    rng = np.random.default_rng(seed)
    kernel = kernels.Polynomial(degree=3)
    values = []
    for _ in range(subsets):
        rows_x = rng.choice(N, size, replace=False)
        rows_y = rng.choice(M, size, replace=False)
        values.append(reference.mmd2(x[rows_x], y[rows_y], kernel, "unbiased"))
    tol = reference.tolerance("float32", kernel, x, y)
    assert abs(float(_check(mean, device)) - np.mean(values)) <= tol
    assert abs(float(_check(std, device)) - np.std(values)) <= 2 * tol


def test_kernel_matrix(device: Any) -> None:
    x, y = _data()
    matrix = _check(mmd_any.kernel_matrix(_on(x, device), _on(y, device)), device, (N, M))
    pooled = np.concatenate([x, y])
    expected = reference.kernel_values(GAUSSIAN, x, y, pooled, N)
    assert np.max(np.abs(matrix - expected)) <= reference.tolerance("float32", GAUSSIAN, x, y)


def _test_on(device: Any, x: np.ndarray, y: np.ndarray, **options: Any) -> Any:
    return mmd_any.mmd_test(
        _on(x, device), _on(y, device), n_permutations=PERMUTATIONS, seed=7, **options
    )


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
@pytest.mark.parametrize("tiles", [{}, {"block_size": 16, "memory_budget": 1 << 14}])
def test_mmd_test(device: Any, estimator: str, tiles: dict[str, int]) -> None:
    """Statistic against the reference; p-value as on CPU_DEVICE (float64 accumulators).

    The small block size and budget split the matrix into tiles and the
    permutations into several blocks of weight rows.
    """
    x, y = _data(shift=0.25)
    result = _test_on(device, x, y, estimator=estimator, **tiles)
    tol = reference.tolerance("float32", GAUSSIAN, x, y)
    observed = float(_check(result.statistic, device))
    assert abs(observed - reference.mmd2(x, y, GAUSSIAN, estimator)) <= tol
    _check(result.null_distribution, device, (PERMUTATIONS,))
    cpu = _test_on(xps.Device("CPU_DEVICE"), x, y, estimator=estimator, **tiles)
    assert 0.0 < result.pvalue <= 1.0
    assert abs(result.pvalue - cpu.pvalue) <= 1.0 / (1 + PERMUTATIONS) + 1e-12


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_aggregated_mmd_test(device: Any, estimator: str) -> None:
    x, y = _data(shift=0.25)
    result = _test_on(device, x, y, estimator=estimator, aggregate="minp")
    count = len(AGGREGATE_EXPONENTS)
    statistics = _check(result.statistics, device, (count,))
    _check(result.null_distributions, device, (count, PERMUTATIONS))
    _check(result.null_distribution, device, (PERMUTATIONS,))
    members = [kernels.Gaussian(bandwidths.Median(scales=(2.0**e,))) for e in AGGREGATE_EXPONENTS]
    expected = np.asarray([reference.mmd2(x, y, k, estimator) for k in members])
    tol = max(reference.tolerance("float32", k, x, y) for k in members)
    assert np.max(np.abs(statistics - expected)) <= tol  # in the order of ``result.kernels``
    cpu = _test_on(xps.Device("CPU_DEVICE"), x, y, estimator=estimator, aggregate="minp")
    assert abs(result.pvalue - cpu.pvalue) <= 1.0 / (1 + PERMUTATIONS) + 1e-12
    for ours, theirs in zip(result.pvalues, cpu.pvalues, strict=True):
        assert abs(ours - theirs) <= 1.0 / (1 + PERMUTATIONS) + 1e-12


@pytest.mark.parametrize("aggregate", ["fuse", "combined"])
def test_fused_mmd_tests(device: Any, aggregate: str) -> None:
    """The fused statistics on a float32-only device: arrays stay there, and every
    p-value is within one permutation of the same test on a float64 device."""
    x, y = _data(shift=0.25)
    result = _test_on(device, x, y, aggregate=aggregate)
    _check(result.statistics, device, (20,))
    _check(result.null_distribution, device, (PERMUTATIONS,))
    cpu = _test_on(xps.Device("CPU_DEVICE"), x, y, aggregate=aggregate)
    assert abs(result.pvalue - cpu.pvalue) <= 1.0 / (1 + PERMUTATIONS) + 1e-12
    for ours, theirs in zip(result.pvalues, cpu.pvalues, strict=True):
        assert abs(ours - theirs) <= 1.0 / (1 + PERMUTATIONS) + 1e-12
    assert result.bandwidths == pytest.approx(cpu.bandwidths, rel=1e-5)


def _rff_reference(x: np.ndarray, y: np.ndarray, n_features: int, seed: int) -> tuple[float, Any]:
    """The random-feature MMD² in float64, its frequencies drawn as the library documents
    (``default_rng(seed).standard_normal((d, F))`` divided by the median bandwidth)."""
    pooled = np.concatenate([x, y])
    (sigma,) = reference.sigmas(GAUSSIAN, pooled, len(x))
    per_bandwidth = n_features // 2
    omega = np.random.default_rng(seed).standard_normal((D, per_bandwidth)) / sigma
    diff = np.exp(1j * (x @ omega)).mean(axis=0) - np.exp(1j * (y @ omega)).mean(axis=0)
    value = float((np.abs(diff) ** 2).sum() / per_bandwidth)
    shift = pooled.mean(axis=0, keepdims=True)
    weights = np.full(per_bandwidth, 1.0 / math.sqrt(per_bandwidth))
    return value, SimpleNamespace(frequencies=omega, shift=shift, weights=weights)


def test_mmd2_rff(device: Any) -> None:
    x, y = _data()
    value = mmd_any.mmd2_rff(_on(x, device), _on(y, device), n_features=256, seed=5)
    expected, features = _rff_reference(x, y, 256, 5)
    tol = reference.rff_tolerance(features, x, y, "float32")
    assert abs(float(_check(value, device)) - expected) <= tol


def test_streaming_rff_with_merge(device: Any) -> None:
    """Chunks on two accumulators (one forked from the other), merged, equal
    ``mmd2_rff`` on all the data with the same features."""
    x, y = _data(n=N, m=N)
    first = mmd_any.StreamingMMD("gaussian", "rff", n_features=256, seed=5)
    first.update(_on(x[:10], device), _on(y[:10], device))
    second = first.fork()
    for start in range(10, N, 10):
        target = first if start < 30 else second
        target.update(_on(x[start : start + 10], device), _on(y[start : start + 10], device))
    merged = first.merge(second)
    assert (merged.n_x, merged.n_y) == (N, N)
    value = float(_check(merged.value(), device))
    # the median bandwidth comes from the first chunks: the reference uses the same
    pooled = np.concatenate([x[:10], y[:10]])
    (sigma,) = reference.sigmas(GAUSSIAN, pooled, 10)
    omega = np.random.default_rng(5).standard_normal((D, 128)) / sigma
    diff = np.exp(1j * (x @ omega)).mean(axis=0) - np.exp(1j * (y @ omega)).mean(axis=0)
    expected = float((np.abs(diff) ** 2).sum() / 128)
    features = SimpleNamespace(
        frequencies=omega,
        shift=pooled.mean(axis=0, keepdims=True),
        weights=np.full(128, 1.0 / math.sqrt(128)),
    )
    assert abs(value - expected) <= reference.rff_tolerance(features, x, y, "float32")


@pytest.mark.parametrize("sigmas", [1.5, [0.5, 1.0, 2.0]], ids=["one", "ladder"])
def test_streaming_linear_with_merge(device: Any, sigmas: Any) -> None:
    """Even chunks on two accumulators, merged: the linear-time estimator on all the data."""
    x, y = _data(n=N, m=N)
    kernel = kernels.Gaussian(sigmas)
    first = mmd_any.StreamingMMD(kernel, "linear")
    second = mmd_any.StreamingMMD(kernel, "linear")
    for start in range(0, N, 8):
        target = first if start < 24 else second
        target.update(_on(x[start : start + 8], device), _on(y[start : start + 8], device))
    merged = first.merge(second)
    value = float(_check(merged.value(), device))
    tol = reference.tolerance("float32", kernel, x, y)
    assert abs(value - reference.mmd2(x, y, kernel, "linear")) <= tol


# -- the compensated summation helper ----------------------------------------------------

U32 = 2.0**-24


def _adversarial(count: int, seed: int = 0) -> np.ndarray:
    """Large values that cancel in pairs, shuffled among small ones: float32 sums of
    any order lose the small ones against the large partial sums."""
    rng = np.random.default_rng(seed)
    large = (rng.normal(size=count // 4) * 2.0**20).astype(np.float32)
    small = rng.uniform(0.5, 1.5, size=count - 2 * (count // 4)).astype(np.float32)
    values = np.concatenate([large, -large, small])
    return values[rng.permutation(count)]


def _documented_bound(values: np.ndarray, exact: float) -> float:
    """``u·|S| + γ²_{T−1}·Σ|p_i|`` (mmd_any._summation)."""
    k = len(values) - 1
    gamma = k * U32 / (1 - k * U32)
    return U32 * abs(exact) + gamma**2 * float(np.abs(values.astype(np.float64)).sum())


@pytest.mark.parametrize("count", [256, 1024, 4096])
def test_compensated_sum_beats_float32_summation(device: Any, count: int) -> None:
    values = _adversarial(count)
    exact = math.fsum(values.astype(np.float64))
    parts = xps.asarray(values, device=device)
    pairwise = abs(float(xps.sum(parts)) - exact)  # NumPy's float32 pairwise sum
    recursive = abs(float(np.cumsum(values, dtype=np.float32)[-1]) - exact)
    stacked = CompensatedSum.of(xps, parts, device).value(xps)
    assert (stacked.dtype, stacked.device) == (xps.float32, device)
    running = CompensatedSum.of(xps, [parts[0]], device)
    for i in range(1, count):
        running = running.plus(xps, parts[i])
    # a merge of two halves, as StreamingMMD.merge does
    halves = CompensatedSum.of(xps, parts[: count // 2], device).plus(
        xps, CompensatedSum.of(xps, parts[count // 2 :], device)
    )
    for total in (stacked, running.value(xps), halves.value(xps)):
        error = abs(float(total) - exact)
        assert error <= _documented_bound(values, exact), (error, count)
        # the plain float32 sums are off by orders of magnitude more
        assert 100 * error < min(pairwise, recursive), (error, pairwise, recursive)


def test_compensated_sum_uses_float64_where_the_device_has_it() -> None:
    values = _adversarial(1024)
    parts = xps.asarray(values, device=xps.Device("CPU_DEVICE"))
    total = CompensatedSum.of(xps, parts, xps.Device("CPU_DEVICE"))
    assert total.lo is None
    assert total.hi.dtype == xps.float64
    assert float(total.value(xps)) == pytest.approx(math.fsum(values.astype(np.float64)), abs=1e-6)
