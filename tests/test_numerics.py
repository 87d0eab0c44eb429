"""Adversarial numerics (issue 13): the whole float range, degenerate samples, the sign.

Classes covered, on every installed backend:

* **magnitudes**: data scaled by powers of ten spanning each dtype's exponent
  range, subnormals included; every radial kernel with a data-driven bandwidth
  (and a fixed one scaled with the data) gives the unscaled value within the
  dtype's error bound of the float64 reference, never NaN or inf: ``mmd2``
  (both estimators), ``kernel_matrix``, ``mmd_test``'s p-value and ``MMDLoss``
  with its gradient;
* **degenerate samples**: constant samples of any sizes up to 8 × 8, and x = y,
  give p = 1 in the plain and the aggregated test, for every kernel and both
  estimators; constant columns and duplicate rows are finite;
* **sign**: the biased MMD² is ≥ 0 (x = y, near-duplicates, any backend).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mmd_any
from mmd_any import kernels
from mmd_any.bandwidths import MeanSquaredDistance, Median

from . import reference
from .conftest import Backend, forall

DATA_DRIVEN = [
    kernels.Gaussian(),
    kernels.Gaussian(MeanSquaredDistance.seed()),
    kernels.Gaussian(Median(scales=(0.5, 1.0, 3.0))),
    kernels.Laplacian(),
    kernels.Exponential(),
    kernels.InverseMultiquadric(),
]
EVERY_KERNEL = [*DATA_DRIVEN, kernels.Gaussian(1.0), kernels.Energy(), kernels.Linear()]

#: Decimal exponents of the scale factors, per dtype: the normal range and into
#: the subnormals (the data's largest entry stays representable and finite).
EXPONENTS = {"float64": (-315, 305), "float32": (-42, 36)}


def _samples(seed: int, n: int = 12, m: int = 9, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(0.4, 1.3, size=(m, d))


def _scaled(a: np.ndarray, exponent: int, dtype: str) -> np.ndarray:
    """``a · 10^exponent`` in ``dtype``, computed in two exact-enough float64 steps."""
    half = exponent // 2
    return ((a * 10.0**half) * 10.0 ** (exponent - half)).astype(dtype)


def _flushed(a: np.ndarray) -> np.ndarray:
    """``a`` with its subnormal entries set to 0."""
    return np.where(np.abs(a) < np.finfo(a.dtype).smallest_normal, 0.0, a).astype(a.dtype)


def _subnormal_share(a: np.ndarray) -> float:
    tiny = np.finfo(a.dtype).smallest_normal
    return float(np.mean((np.abs(a) < tiny) & (a != 0)))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_data_driven_kernels_are_scale_free_over_the_whole_range(
    backend: Backend, dtype: str, estimator: str
) -> None:
    if dtype == "float64" and not backend.float64:
        pytest.skip(f"{backend} has no float64")
    if backend.name.startswith("dask"):
        pytest.xfail("open (issue 13): the Dask adapter resolves bandwidths on unscaled data")
    low, high = EXPONENTS[dtype]

    @forall(
        backend,
        st.integers(low, high),
        st.sampled_from(range(len(DATA_DRIVEN))),
        st.integers(0, 2**16),
    )
    def prop(exponent: int, which: int, seed: int) -> None:
        kernel = DATA_DRIVEN[which]
        x, y = _samples(seed)
        xs, ys = _scaled(x, exponent, dtype), _scaled(y, exponent, dtype)
        if backend.name.startswith("jax"):
            # XLA flushes subnormal inputs to zero on the CPU: the data it computes on
            xs, ys = _flushed(xs), _flushed(ys)
        # the reference: the float64 value of the data as the dtype holds it, rescaled
        # (subnormal inputs keep fewer digits, so the reference is of what was passed)
        back = 10.0 ** (-exponent // 2), 10.0 ** (-(exponent - exponent // 2))
        held_x = xs.astype(np.float64) * back[0] * back[1]
        held_y = ys.astype(np.float64) * back[0] * back[1]
        expected = reference.mmd2(held_x, held_y, kernel, estimator)
        value = mmd_any.mmd2(
            backend.asarray(xs), backend.asarray(ys), kernel=kernel, estimator=estimator
        )
        computed = float(backend.to_numpy(value))
        assert np.isfinite(computed)
        bound = reference.tolerance(dtype, kernel, held_x, held_y)
        if max(_subnormal_share(xs), _subnormal_share(ys)) > 0:
            # a subnormal input is itself rounded to fewer digits: the reference
            # above is of those digits, the engine's rescaling of them is exact
            bound *= 4
        assert computed == pytest.approx(expected, abs=bound)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kernel_matrix_and_fixed_bandwidths_scale_with_the_data(dtype: str) -> None:
    low, high = EXPONENTS[dtype]
    x, y = _samples(7)
    kernel = kernels.Gaussian([0.8, 1.6])
    expected = reference.mmd2(x, y, kernel, "biased")
    bound = reference.tolerance(dtype, kernel, x, y)
    unscaled = reference.kernel_values(kernel, x, x, x)
    for exponent in range(low + 8, high, 23):  # normal range: the bandwidth is a float
        scale = 10.0**exponent
        scaled_kernel = kernels.Gaussian([0.8 * scale, 1.6 * scale])
        xs, ys = (x * scale).astype(dtype), (y * scale).astype(dtype)
        value = float(mmd_any.mmd2(xs, ys, kernel=scaled_kernel))
        assert value == pytest.approx(expected, abs=bound), exponent
        matrix = np.asarray(mmd_any.kernel_matrix(xs, kernel=scaled_kernel), dtype=np.float64)
        assert np.isfinite(matrix).all()
        np.testing.assert_allclose(matrix, unscaled, atol=64 * reference.eps(dtype))


@pytest.mark.parametrize("exponent", [-42, -30, -20, 0, 20, 30, 36])
def test_mmd_loss_and_its_gradient_over_the_float32_range(exponent: int) -> None:
    torch = pytest.importorskip("torch")
    from mmd_any.torch import MMDLoss

    x, y = _samples(3, n=16, m=16, d=4)
    xs, ys = _scaled(x, exponent, "float32"), _scaled(y, exponent, "float32")
    source = torch.asarray(xs, requires_grad=True)
    loss = MMDLoss()(source, torch.asarray(ys))
    loss.backward()
    held = 10.0 ** (-exponent)
    expected = reference.mmd2(
        xs.astype(np.float64) * held, ys.astype(np.float64) * held, MMDLoss().kernel, "biased"
    )
    bound = 4 * reference.tolerance("float32", MMDLoss().kernel, x, y)
    assert float(loss.detach()) == pytest.approx(expected, abs=bound)
    gradient = source.grad.numpy().astype(np.float64)
    # ∂/∂x scales like 10^-exponent: finite wherever that is representable in float32
    if abs(exponent) <= 36:
        assert np.isfinite(gradient).all()


def test_mmd_test_pvalue_is_the_same_at_every_scale() -> None:
    x, y = _samples(11, n=20, m=15)
    expected = mmd_any.mmd_test(x, y, n_permutations=99, seed=4).pvalue
    for exponent in (-310, -200, -100, 100, 200, 300):
        scale = 10.0**exponent
        assert mmd_any.mmd_test(x * scale, y * scale, n_permutations=99, seed=4).pvalue == expected


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 8),
    m=st.integers(1, 8),
    d=st.integers(1, 3),
    value=st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
    which=st.sampled_from(range(len(EVERY_KERNEL))),
    estimator=st.sampled_from(["biased", "unbiased"]),
    aggregate=st.booleans(),
)
def test_constant_samples_are_never_rejected(n, m, d, value, which, estimator, aggregate) -> None:
    """Identical (constant) samples: every statistic is rounding noise, all ties: p = 1."""
    if estimator == "unbiased" and min(n, m) < 2:
        return
    kernel = EVERY_KERNEL[which]
    if aggregate and not hasattr(kernel, "rule"):
        return  # the aggregated collection is of radial kernels
    x, y = np.full((n, d), value), np.full((m, d), value)
    result = mmd_any.mmd_test(
        x, y, kernel=kernel, estimator=estimator, n_permutations=49, seed=0, aggregate=aggregate
    )
    assert result.pvalue == 1.0
    assert not result.reject


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
@pytest.mark.parametrize("kernel", EVERY_KERNEL, ids=repr)
def test_a_sample_against_itself_gets_p_one(kernel, estimator) -> None:
    x, _ = _samples(5, n=10)
    result = mmd_any.mmd_test(x, x.copy(), kernel=kernel, estimator=estimator, seed=1)
    assert result.pvalue == 1.0


def test_biased_value_is_never_negative(backend: Backend) -> None:
    @forall(
        backend,
        st.integers(0, 2**16),
        st.sampled_from(range(len(EVERY_KERNEL))),
        st.floats(0.0, 1e-9),
    )
    def prop(seed: int, which: int, jitter: float) -> None:
        x, _ = _samples(seed, n=9)
        near = x + jitter * np.random.default_rng(seed + 1).normal(size=x.shape)
        for other in (x, near):
            value = mmd_any.mmd2(
                backend.asarray(x), backend.asarray(other), kernel=EVERY_KERNEL[which]
            )
            assert float(backend.to_numpy(value)) >= 0.0


@pytest.mark.parametrize("kernel", EVERY_KERNEL, ids=repr)
def test_constant_columns_and_duplicate_rows_are_finite(kernel) -> None:
    x, y = _samples(9, n=10, m=8, d=3)
    x[:, 1], y[:, 1] = 5.0, 5.0
    x[3:6], y[2:5] = x[3], y[2]
    for estimator in ("biased", "unbiased"):
        value = float(mmd_any.mmd2(x, y, kernel=kernel, estimator=estimator))
        assert np.isfinite(value)
        expected = reference.mmd2(x, y, kernel, estimator)
        assert value == pytest.approx(expected, abs=reference.tolerance("float64", kernel, x, y))


@pytest.mark.parametrize(
    "call",
    [
        lambda x, y: mmd_any.mmd2(x, y),
        lambda x, y: mmd_any.mmd_test(x, y, n_permutations=9),
        lambda x, y: mmd_any.kid(x, y),
        lambda x, y: mmd_any.kernel_matrix(x, y),
    ],
    ids=["mmd2", "mmd_test", "kid", "kernel_matrix"],
)
def test_zero_features_are_refused_by_name(call) -> None:
    with pytest.raises(ValueError, match=r"`x` has 0 features"):
        call(np.ones((5, 0)), np.ones((4, 0)))


@pytest.mark.parametrize("kernel", DATA_DRIVEN, ids=repr)
def test_kernel_matrix_of_one_row_is_its_diagonal(kernel) -> None:
    matrix = np.asarray(mmd_any.kernel_matrix(np.array([[1.0, -2.0, 3.0]]), kernel=kernel))
    # k(z, z) = 1 for each bandwidth term of these kernels
    np.testing.assert_allclose(matrix, np.full((1, 1), float(kernel.rule.count)))
