"""Hypothesis properties of the MMD estimators, on every installed backend."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import mmd_any
from mmd_any import kernels

from . import reference
from .conftest import Backend, assert_result_like, forall, require

#: Every registered kernel, in the variants the reference lists for it.
KERNELS = reference.every_example()
RADIAL = [k for k in KERNELS if k.translation_invariant]
DATA_DRIVEN = [
    k for k in RADIAL if hasattr(k, "rule") and not isinstance(k.rule, mmd_any.bandwidths.Fixed)
]

SIZES = [1, 2, 3, 8]
FEATURES = [1, 3]
kernel_st = st.sampled_from(KERNELS)
estimator_st = st.sampled_from(["biased", "unbiased", "linear"])


@st.composite
def sample_pair(draw, min_size: int = 1, equal: bool = False, resolution: float = 2.0**-20):
    """Two float64 samples with the same number of features.

    Coordinates lie in [-4, 4] on a grid of step ``resolution`` (a power of
    two, so float32 holds them exactly). Distinct points are then at least
    ``resolution`` apart, far above the rounding of ``‖a‖² + ‖b‖² − 2a·b``
    (eps · spread²) for the dtype under test: below that, no floating-point
    evaluation can rank distances, and the median heuristic, which is
    discontinuous where half the pairs coincide, is not defined by the data.
    Shapes come from a short list so that backends that compile per shape
    (JAX) reuse their compilations across examples and tests.
    """
    d = draw(st.sampled_from(FEATURES))
    sizes = st.sampled_from([s for s in SIZES if s >= min_size])
    n = draw(sizes)
    m = n if equal else draw(sizes)
    steps = round(4 / resolution)
    values = st.integers(-steps, steps).map(lambda v: v * resolution)
    x = draw(arrays(np.float64, (n, d), elements=values))
    y = draw(arrays(np.float64, (m, d), elements=values))
    return x, y


@st.composite
def case(draw, resolution: float = 2.0**-20):
    """(x, y, kernel, estimator) with sizes that the estimator accepts."""
    estimator = draw(estimator_st)
    min_size = 2 if estimator != "biased" else 1
    x, y = draw(sample_pair(min_size, estimator == "linear", resolution))
    return x, y, draw(kernel_st), estimator


def run(backend: Backend, x, y, dtype: str = "float64", **kwargs):
    """mmd2 on the backend; returns (backend result, NumPy float64 value)."""
    result = mmd_any.mmd2(backend.asarray(x, dtype), backend.asarray(y, dtype), **kwargs)
    return result, float(backend.to_numpy(result))


def test_matches_float64_reference(backend: Backend) -> None:
    @forall(backend, case())
    def check(data) -> None:
        x, y, kernel, estimator = data
        result, value = run(backend, x, y, kernel=kernel, estimator=estimator)
        # ``run`` put the inputs where backend.asarray puts them: the device to stay on
        assert_result_like(result, backend, like=backend.asarray(x, "float64"))
        expected = reference.mmd2(x, y, kernel, estimator)
        assert value == pytest.approx(expected, abs=reference.tolerance("float64", kernel, x, y))


def test_float32_agrees_with_float64_reference(backend: Backend) -> None:
    @forall(backend, case(resolution=2.0**-3))
    def check(data) -> None:
        x, y, kernel, estimator = data
        result, value = run(backend, x, y, "float32", kernel=kernel, estimator=estimator)
        assert_result_like(result, backend, like=backend.asarray(x, "float32"))
        expected = reference.mmd2(x.astype(np.float32), y.astype(np.float32), kernel, estimator)
        assert value == pytest.approx(expected, abs=reference.tolerance("float32", kernel, x, y))


def test_symmetric(backend: Backend) -> None:
    @forall(backend, case())
    def check(data) -> None:
        x, y, kernel, estimator = data
        _, forward = run(backend, x, y, kernel=kernel, estimator=estimator)
        _, backward = run(backend, y, x, kernel=kernel, estimator=estimator)
        assert forward == pytest.approx(backward, abs=reference.tolerance("float64", kernel, x, y))


def test_biased_is_nonnegative(backend: Backend) -> None:
    @forall(backend, sample_pair(), kernel_st)
    def check(pair, kernel) -> None:
        x, y = pair
        _, value = run(backend, x, y, kernel=kernel)
        assert value >= -reference.tolerance("float64", kernel, x, y)


def test_zero_between_a_sample_and_itself(backend: Backend) -> None:
    @forall(backend, sample_pair(min_size=2), kernel_st, st.sampled_from(["biased", "linear"]))
    def check(pair, kernel, estimator) -> None:
        x, _ = pair
        _, value = run(backend, x, x.copy(), kernel=kernel, estimator=estimator)
        assert value == pytest.approx(0.0, abs=reference.tolerance("float64", kernel, x, x))


def test_invariant_to_row_order(backend: Backend) -> None:
    @forall(backend, case(), st.randoms(use_true_random=False))
    def check(data, random) -> None:
        x, y, kernel, estimator = data
        assume(estimator != "linear")  # the linear estimator pairs rows by position
        px = np.array(random.sample(range(len(x)), len(x)))
        py = np.array(random.sample(range(len(y)), len(y)))
        _, value = run(backend, x, y, kernel=kernel, estimator=estimator)
        _, shuffled = run(backend, x[px], y[py], kernel=kernel, estimator=estimator)
        assert shuffled == pytest.approx(value, abs=reference.tolerance("float64", kernel, x, y))


def test_translation_invariant_for_radial_kernels(backend: Backend) -> None:
    @forall(backend, sample_pair(min_size=2), st.sampled_from(RADIAL), st.floats(-1e3, 1e3))
    def check(pair, kernel, offset) -> None:
        x, y = pair
        _, value = run(backend, x, y, kernel=kernel)
        _, shifted = run(backend, x + offset, y + offset, kernel=kernel)
        # rounding x + offset loses eps·|offset| per coordinate
        tol = reference.tolerance("float64", kernel, x, y) * (1 + abs(offset) * x.shape[1])
        assert shifted == pytest.approx(value, abs=tol)


def test_scale_invariant_with_data_driven_bandwidth(backend: Backend) -> None:
    @forall(backend, sample_pair(min_size=2), st.sampled_from(DATA_DRIVEN), st.floats(1e-2, 1e2))
    def check(pair, kernel, scale) -> None:
        x, y = pair
        _, value = run(backend, x, y, kernel=kernel)
        _, scaled = run(backend, x * scale, y * scale, kernel=kernel)
        assert scaled == pytest.approx(value, abs=reference.tolerance("float64", kernel, x, y))


def test_independent_of_block_size(backend: Backend) -> None:
    @forall(backend, case(), st.integers(1, 5))
    def check(data, block_size) -> None:
        x, y, kernel, estimator = data
        _, value = run(backend, x, y, kernel=kernel, estimator=estimator)
        _, tiled = run(backend, x, y, kernel=kernel, estimator=estimator, block_size=block_size)
        assert tiled == pytest.approx(value, abs=reference.tolerance("float64", kernel, x, y))


def test_kernel_matrix_matches_reference(backend: Backend) -> None:
    @forall(backend, sample_pair(), kernel_st)
    def check(pair, kernel) -> None:
        x, y = pair
        xb = backend.asarray(x)
        gram = mmd_any.kernel_matrix(xb, backend.asarray(y), kernel=kernel)
        assert_result_like(gram, backend, like=xb, shape=(len(x), len(y)))
        pooled = np.concatenate([x, y])
        expected = reference.kernel_values(kernel, x, y, pooled)
        tol = reference.tolerance("float64", kernel, x, y)
        np.testing.assert_allclose(backend.to_numpy(gram), expected, rtol=0, atol=tol)


def test_mmd_is_root_of_biased(backend: Backend) -> None:
    @forall(backend, sample_pair(), kernel_st)
    def check(pair, kernel) -> None:
        x, y = pair
        xb = backend.asarray(x)
        distance = mmd_any.mmd(xb, backend.asarray(y), kernel=kernel)
        assert_result_like(distance, backend, like=xb)
        expected = np.sqrt(max(reference.mmd2(x, y, kernel, "biased"), 0.0))
        tol = reference.tolerance("float64", kernel, x, y)
        assert float(backend.to_numpy(distance)) == pytest.approx(expected, abs=np.sqrt(tol))


def test_large_offset_does_not_cancel(backend: Backend) -> None:
    """Centring on the pooled mean keeps ‖x‖² + ‖y‖² − 2x·y exact-ish at 1e6."""
    require(backend, "mmd2", dtype="float64")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(30, 3)), rng.normal(0.5, 1.0, size=(20, 3))
    kernel = kernels.Gaussian(1.0)
    expected = reference.mmd2(x, y, kernel, "biased")
    _, shifted = run(backend, x + 1e6, y + 1e6, kernel=kernel)
    assert shifted == pytest.approx(expected, abs=1e-8)
