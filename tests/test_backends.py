"""Namespace, dtype and device in = out; laziness and tracing are preserved."""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest

import mmd_any
from mmd_any import kernels
from mmd_any.bandwidths import MeanSquaredDistance

from . import reference
from .conftest import Backend, assert_result_like, get_backend

rng = np.random.default_rng(3)
X = rng.normal(size=(7, 3))
Y = rng.normal(0.5, 1.0, size=(6, 3))


def _default_float(backend: Backend):
    xp = backend.module
    sample = backend.asarray(np.zeros((1, 1)))

    xp = array_api_compat.array_namespace(sample)
    return xp.__array_namespace_info__().default_dtypes(device=array_api_compat.device(sample))[
        "real floating"
    ]


def test_integer_inputs_use_the_default_float(backend: Backend) -> None:
    xi = np.array([[1, 2, 3], [2, 3, 66]])
    yi = np.array([[1, 1, 2], [1, 5, 6]])
    xb = backend.asarray(xi)
    result = mmd_any.mmd2(xb, backend.asarray(yi))
    assert_result_like(result, backend, _default_float(backend), like=xb)
    expected = reference.mmd2(xi, yi, kernels.Gaussian(), "biased")
    dtype = str(backend.to_numpy(result).dtype)
    tol = reference.tolerance(dtype, kernels.Gaussian(), xi.astype(float), yi.astype(float))
    assert float(backend.to_numpy(result)) == pytest.approx(expected, abs=tol)


@pytest.mark.parametrize(
    ("dtype_x", "dtype_y", "expected"),
    [
        ("float32", "float32", "float32"),
        ("float64", "float64", "float64"),
        ("float32", "float64", "float64"),
        ("int32", "float32", "float32"),
    ],
)
def test_dtype_promotion(backend: Backend, dtype_x, dtype_y, expected) -> None:
    x, y = backend.asarray(X, dtype_x), backend.asarray(Y, dtype_y)
    dtype = backend.asarray(np.zeros(1), expected).dtype
    result = mmd_any.mmd2(x, y)
    assert_result_like(result, backend, dtype, like=x)
    assert_result_like(result, backend, dtype, like=y)
    distance = mmd_any.mmd(x, y)
    assert_result_like(distance, backend, dtype, like=x)


@pytest.mark.parametrize("name", ["numpy", "torch"])
def test_half_precision_is_computed_in_float32(name) -> None:
    backend = get_backend(name)
    if backend is None:
        pytest.skip(f"{name} is not installed")
    x, y = backend.asarray(X, "float16"), backend.asarray(Y, "float16")
    result = mmd_any.mmd2(x, y, estimator="unbiased")
    assert result.dtype == x.dtype
    x16, y16 = X.astype(np.float16).astype(float), Y.astype(np.float16).astype(float)
    expected = reference.mmd2(x16, y16, kernels.Gaussian(), "unbiased")
    # computed in float32, then rounded once to float16 (half an ulp of the result)
    computed = reference.tolerance("float32", kernels.Gaussian(), x16, y16)
    tol = computed + reference.eps("float16") / 2 * (abs(expected) + computed)
    assert float(backend.to_numpy(result)) == pytest.approx(expected, abs=tol)


def test_bfloat16_torch() -> None:
    torch = pytest.importorskip("torch")
    x = torch.asarray(X, dtype=torch.bfloat16)
    y = torch.asarray(Y, dtype=torch.bfloat16)
    result = mmd_any.mmd2(x, y)
    assert result.dtype == torch.bfloat16
    assert torch.isfinite(result)


@pytest.mark.parametrize("function", [mmd_any.mmd2, mmd_any.mmd])
def test_result_is_0d_in_the_callers_namespace(backend: Backend, function) -> None:
    x = backend.asarray(X)
    result = function(x, backend.asarray(Y))
    assert_result_like(result, backend, like=x)


@pytest.mark.parametrize("where", ["device1", "device2"])
def test_results_stay_on_the_array_api_strict_device_of_the_inputs(where: str) -> None:
    """Inputs on an extra device: every result is there (the default device is wrong)."""
    backend = get_backend("array_api_strict")
    if backend is None:
        pytest.skip("array_api_strict is not installed")
    xps = backend.module
    x = xps.asarray(X, device=xps.Device(where))
    y = xps.asarray(Y, device=xps.Device(where))
    for function in (mmd_any.mmd2, mmd_any.mmd):
        assert_result_like(function(x, y), backend, like=x)
    assert_result_like(mmd_any.mmd2(x, y, estimator="unbiased"), backend, like=x)
    assert_result_like(mmd_any.kernel_matrix(x, y), backend, like=x, shape=(7, 6))
    assert_result_like(mmd_any.mmd2_rff(x, y, seed=0, n_features=64), backend, like=x)
    test = mmd_any.mmd_test(x, y, n_permutations=19, seed=0)
    assert_result_like(test.statistic, backend, like=x)
    assert_result_like(test.null_distribution, backend, like=x, shape=(19,))


def test_one_dimensional_inputs_are_samples_of_dimension_one(backend: Backend) -> None:
    x1, y1 = X[:, 0], Y[:, 0]
    flat = mmd_any.mmd2(backend.asarray(x1), backend.asarray(y1))
    column = mmd_any.mmd2(backend.asarray(x1[:, None]), backend.asarray(y1[:, None]))
    assert float(backend.to_numpy(flat)) == pytest.approx(float(backend.to_numpy(column)))


def test_python_lists_are_read_as_numpy() -> None:
    result = mmd_any.mmd2([[1.0, 2.0], [0.0, 1.0]], [[3.0, 1.0]])
    assert isinstance(result, np.ndarray)
    assert result.shape == ()


def test_kernel_matrix_shape_namespace_and_dtype(backend: Backend) -> None:
    x32 = backend.asarray(X, "float32")
    gram = mmd_any.kernel_matrix(x32, backend.asarray(Y, "float32"))
    # the namespace, shape, dtype and device of the inputs
    assert_result_like(gram, backend, like=x32, shape=(7, 6))
    x = backend.asarray(X)
    single = mmd_any.kernel_matrix(x)
    assert_result_like(single, backend, like=x, shape=(7, 7))
    np.testing.assert_allclose(np.diag(backend.to_numpy(single)), 1.0, rtol=1e-12)


def test_dask_stays_lazy_until_computed() -> None:
    """Building the MMD on dask arrays computes nothing; a test computes its graph
    once, at the end, for the numbers it reports (a p-value is a Python float)."""
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    from dask.callbacks import Callback

    class CountComputes(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.started = 0

        def _start(self, dsk) -> None:
            self.started += 1

    x = da.from_array(X, chunks=(3, 3))
    y = da.from_array(Y, chunks=(4, 3))
    counter = CountComputes()
    with counter:
        results = [
            mmd_any.mmd2(x, y, kernel=kernel, estimator=estimator, check_finite=check)
            for kernel in ("gaussian", "laplacian", "polynomial")
            for estimator in ("biased", "unbiased")
            for check in (True, False)
        ]
        results.append(mmd_any.mmd2_rff(x, y, seed=0, n_features=64))
    assert counter.started == 0
    assert all(isinstance(r, da.Array) for r in results)
    computed = dask.compute(*results)
    assert all(np.isfinite(v) for v in computed)
    methods = (False, "minp", "fuse", "combined")
    for aggregate in methods:
        counter = CountComputes()
        with counter:
            test = mmd_any.mmd_test(x, y, n_permutations=19, seed=0, aggregate=aggregate)
        assert counter.started == 1, aggregate
        eager = mmd_any.mmd_test(X, Y, n_permutations=19, seed=0, aggregate=aggregate)
        assert type(test.pvalue) is float
        assert test.pvalue == eager.pvalue
        assert test.reject == eager.reject
        assert isinstance(test.statistic, da.Array)
        assert float(test.statistic.compute()) == pytest.approx(float(eager.statistic), rel=1e-12)
        assert test.bandwidths == pytest.approx(eager.bandwidths, rel=1e-12)


def test_dask_test_refuses_non_finite_samples_when_it_reads_its_numbers() -> None:
    da = pytest.importorskip("dask.array")
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        mmd_any.mmd_test(da.from_array(bad, chunks=3), da.from_array(Y, chunks=3), seed=0)


def test_jax_jit_matches_eager() -> None:
    """No host reads or value-dependent Python branches: the code traces."""
    jax_backend = get_backend("jax")
    if jax_backend is None:
        pytest.skip("jax is not installed")
    import jax

    x, y = jax_backend.asarray(X), jax_backend.asarray(Y)
    for kernel in (
        kernels.Gaussian(),
        kernels.Laplacian(),
        kernels.Gaussian(MeanSquaredDistance.seed()),
    ):
        for estimator in ("biased", "unbiased"):

            def f(a, b, kernel=kernel, estimator=estimator):
                return mmd_any.mmd2(a, b, kernel=kernel, estimator=estimator)

            assert float(jax.jit(f)(x, y)) == pytest.approx(float(f(x, y)), rel=1e-12)


def test_jax_jit_defers_the_finite_check() -> None:
    jax_backend = get_backend("jax")
    if jax_backend is None:
        pytest.skip("jax is not installed")
    import jax

    x = X.copy()
    x[0, 0] = np.nan
    result = jax.jit(mmd_any.mmd2)(jax_backend.asarray(x), jax_backend.asarray(Y))
    assert np.isnan(float(result))


def test_torch_cuda_result_stays_on_the_device() -> None:
    backend = get_backend("torch-cuda")
    if backend is None:
        pytest.skip("no CUDA device")
    import torch

    x, y = backend.asarray(X, "float32"), backend.asarray(Y, "float32")
    torch.cuda.set_sync_debug_mode("error")
    try:
        for kernel in (
            kernels.Gaussian(1.0),
            kernels.Gaussian(MeanSquaredDistance.seed()),
            "gaussian",
        ):
            result = mmd_any.mmd2(x, y, kernel=kernel, check_finite=False)
            assert result.device == x.device
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_cupy_result_stays_on_the_device() -> None:
    backend = get_backend("cupy")
    if backend is None:
        pytest.skip("no CuPy with a GPU")
    import cupy

    result = mmd_any.mmd2(backend.asarray(X), backend.asarray(Y))
    assert isinstance(result, cupy.ndarray)
    assert result.device == backend.asarray(X).device
