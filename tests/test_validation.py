"""Bad input raises a clear error that names the argument; inputs stay untouched."""

from __future__ import annotations

import numpy as np
import pytest

import mmd_any
from mmd_any import kernels
from mmd_any._capabilities import capability
from mmd_any.bandwidths import Fixed, MeanSquaredDistance, Median, seed_scales

from .conftest import Backend, get_backend

rng = np.random.default_rng(0)
X = rng.normal(size=(6, 3))
Y = rng.normal(size=(5, 3))


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        (X, rng.normal(size=(5, 4)), r"`y` has 4 features but `x` has 3"),
        (np.zeros((2, 2, 2)), Y, r"`x` must be 1-D \(n,\) or 2-D \(n, d\), got an array of rank 3"),
        (X, np.zeros((2, 3, 1)), r"`y` must be 1-D .* rank 3"),
        (np.float64(1.0), Y, r"`x` must be 1-D .* rank 0"),
        (np.zeros((0, 3)), Y, r"`x` is empty; at least 1 required"),
        (X, np.zeros((0, 3)), r"`y` is empty"),
    ],
)
def test_shapes_are_checked(backend: Backend, x, y, match) -> None:
    with pytest.raises(ValueError, match=match):
        mmd_any.mmd2(backend.asarray(x), backend.asarray(y))


@pytest.mark.parametrize(
    ("estimator", "x", "y", "match"),
    [
        ("unbiased", X[:1], Y, r"`x` has 1 samples; at least 2 required"),
        ("unbiased", X, Y[:1], r"`y` has 1 samples; at least 2 required"),
        ("linear", X, Y, r"same number of samples, got 6 and 5"),
        ("linear", X[:1], Y[:1], r"at least 2 required"),
    ],
)
def test_estimator_sizes(backend: Backend, estimator, x, y, match) -> None:
    with pytest.raises(ValueError, match=match):
        mmd_any.mmd2(backend.asarray(x), backend.asarray(y), estimator=estimator)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["x", "y"])
def test_non_finite_values_raise(backend: Backend, bad, where) -> None:
    x, y = X.copy(), Y.copy()
    (x if where == "x" else y)[1, 2] = bad
    if capability("mmd2", backend.name).lazy:
        # reading a Dask array's values would compute it: the check is deferred
        result = mmd_any.mmd2(backend.asarray(x), backend.asarray(y))
        with np.errstate(invalid="ignore"):  # inf - inf inside the computation
            assert np.isnan(backend.to_numpy(result))
        return
    with pytest.raises(ValueError, match=f"`{where}` contains NaN or inf"):
        mmd_any.mmd2(backend.asarray(x), backend.asarray(y))


def test_check_finite_false_skips_the_check(backend: Backend) -> None:
    x = X.copy()
    x[0, 0] = np.nan
    result = mmd_any.mmd2(backend.asarray(x), backend.asarray(Y), check_finite=False)
    assert np.isnan(backend.to_numpy(result))


def test_mixed_libraries_raise_type_error() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"`x` \(numpy.ndarray\) and `y` \(torch.Tensor\)"):
        mmd_any.mmd2(X, torch.asarray(Y))


def test_different_devices_raise() -> None:
    torch = pytest.importorskip("torch")
    x = torch.asarray(X)
    y = torch.asarray(Y, device="meta")
    with pytest.raises(ValueError, match=r"`x` is on device .*cpu.* but `y` is on device .*meta"):
        mmd_any.mmd2(x, y)


@pytest.mark.parametrize(
    "make",
    [
        lambda: kernels.Gaussian(-1.0),
        lambda: kernels.Gaussian(0.0),
        lambda: kernels.Laplacian([1.0, 0.0]),
        lambda: kernels.InverseMultiquadric(float("nan")),
        lambda: kernels.Gaussian(np.array([1.0, -2.0])),
        lambda: kernels.Gaussian([]),
        lambda: Median(scales=(1.0, -1.0)),
        lambda: MeanSquaredDistance(scales=(0.0,)),
        lambda: seed_scales(kernel_mul=0.0),
        lambda: seed_scales(kernel_num=0),
        lambda: Median(max_samples=1),
    ],
)
def test_non_positive_bandwidths_raise(make) -> None:
    with pytest.raises(ValueError, match=r"must (be positive|be at least|hold at least one)"):
        make()


def test_bandwidth_of_wrong_type() -> None:
    with pytest.raises(TypeError, match=r"`bandwidth` must be a positive float"):
        kernels.Gaussian(bandwidth=object())
    with pytest.raises(ValueError, match=r"unknown `bandwidth` 'silverman'.*\['mean', 'median'\]"):
        kernels.Gaussian(bandwidth="silverman")


def test_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown `kernel` 'rbff'.*'gaussian'.*'laplacian'"):
        mmd_any.mmd2(X, Y, kernel="rbff")
    with pytest.raises(ValueError, match=r"unknown `estimator` 'mean'.*'biased'.*'linear'"):
        mmd_any.mmd2(X, Y, estimator="mean")
    with pytest.raises(TypeError, match=r"`kernel` must be a kernel name"):
        mmd_any.mmd2(X, Y, kernel=3)


@pytest.mark.parametrize(
    ("block_size", "error", "match"),
    [
        (0, ValueError, r"`block_size` must be at least 1 or None, got 0"),
        (-3, ValueError, r"`block_size` must be at least 1"),
        (2.5, TypeError, r"`block_size` must be an integer >= 1 or None, got 2.5"),
        (True, TypeError, r"`block_size` must be an integer .*got True of type bool"),
    ],
)
def test_block_size_is_checked(block_size, error, match) -> None:
    with pytest.raises(error, match=match):
        mmd_any.mmd2(X, Y, block_size=block_size)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: kernels.Polynomial(degree=0), r"`degree` must be at least 1"),
        (lambda: kernels.Polynomial(gamma=-1.0), r"`gamma` must be positive"),
        (lambda: kernels.Polynomial(coef0=-1.0), r"`coef0` must be a non-negative"),
    ],
)
def test_polynomial_parameters(make, match) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_complex_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"`x` has complex dtype"):
        mmd_any.mmd2(X.astype(complex), Y)


def test_non_numeric_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"`y` must be an array"):
        mmd_any.mmd2(X, {"a": 1})


def test_inputs_are_not_modified(backend: Backend) -> None:
    """The inputs hold copies: NumPy, torch, array-api-strict and Dask share the memory
    of the array they were made from, which would then change along with them."""
    for estimator in mmd_any.ESTIMATORS:
        rows = 5 if estimator == "linear" else None
        x, y = backend.asarray(X[:rows].copy()), backend.asarray(Y[:rows].copy())
        mmd_any.mmd2(x, y, estimator=estimator)
        np.testing.assert_array_equal(backend.to_numpy(x), X[:rows], err_msg=estimator)
        np.testing.assert_array_equal(backend.to_numpy(y), Y[:rows], err_msg=estimator)


def test_read_only_numpy_inputs_work() -> None:
    x, y = X.copy(), Y.copy()
    x.flags.writeable = False
    y.flags.writeable = False
    assert float(mmd_any.mmd2(x, y)) == pytest.approx(float(mmd_any.mmd2(X, Y)))


def test_fixed_array_bandwidth_is_used_on_its_device() -> None:
    torch = get_backend("torch")
    if torch is None:
        pytest.skip("torch is not installed")
    sigma = torch.asarray(np.array([0.7, 1.3]))
    value = mmd_any.mmd2(torch.asarray(X), torch.asarray(Y), kernel=kernels.Gaussian(sigma))
    expected = mmd_any.mmd2(X, Y, kernel=kernels.Gaussian([0.7, 1.3]))
    assert float(value) == pytest.approx(float(expected), rel=1e-12)
    assert Fixed(sigma).count == 2
