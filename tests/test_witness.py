"""The witness function against a plain float64 reference, on every backend and kernel.

``f(t) = mean_i k(t, x_i) − mean_j k(t, y_j)`` is written out in NumPy float64
from the kernels' textbook formulas (``tests/reference.py``), with the
bandwidth resolved from ``x`` and ``y`` as the reference resolves it for the
MMD². The tolerance is that of one MMD² in the dtype (``reference.tolerance``):
each value is a mean of kernel values, as the MMD² is a sum of three.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import mmd_any
from mmd_any import kernels

from . import reference
from .conftest import Backend, assert_result_like, forall, get_backend, require

KERNELS = reference.every_example()


def _reference(x: np.ndarray, y: np.ndarray, points: np.ndarray, kernel) -> np.ndarray:
    pooled = np.concatenate([x, y])
    kx = reference.kernel_values(kernel, points, x, pooled, len(x))
    ky = reference.kernel_values(kernel, points, y, pooled, len(x))
    return kx.mean(axis=1) - ky.mean(axis=1)


def _pair(seed: int, n: int = 37, m: int = 29, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(0.4, 1.3, size=(m, d))


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_witness_is_the_reference_on_every_backend(
    backend: Backend, kernel, dtype: str
) -> None:
    require(backend, "witness", dtype=dtype)
    x, y = _pair(0)
    x, y = x.astype(dtype).astype(np.float64), y.astype(dtype).astype(np.float64)
    points = np.random.default_rng(1).normal(0.2, 1.5, size=(11, 3)).astype(dtype)
    xb = backend.asarray(x, dtype)
    pooled = mmd_any.witness(xb, backend.asarray(y, dtype), kernel=kernel)
    at = mmd_any.witness(xb, backend.asarray(y, dtype), backend.asarray(points), kernel=kernel)
    assert_result_like(pooled, backend, like=xb, shape=(len(x) + len(y),))
    assert_result_like(at, backend, like=xb, shape=(len(points),))
    tol = reference.tolerance(dtype, kernel, x, y)
    expected = _reference(x, y, np.concatenate([x, y]), kernel)
    np.testing.assert_allclose(backend.to_numpy(pooled), expected, rtol=0, atol=tol)
    expected_at = _reference(x, y, points.astype(np.float64), kernel)
    np.testing.assert_allclose(backend.to_numpy(at), expected_at, rtol=0, atol=tol)


@pytest.mark.parametrize("kernel", reference.default_kernels(), ids=repr)
def test_the_means_of_the_witness_are_the_biased_mmd2(backend: Backend, kernel) -> None:
    """``mean f(x) − mean f(y) = MMD²_b``, whatever the tiling (each kernel once: every
    example's values are checked against the reference above)."""

    @forall(backend, st.integers(0, 2**16), st.sampled_from([None, 8, 32]))
    def prop(seed: int, block_size: int | None) -> None:
        x, y = _pair(seed, n=41, m=23)
        xb, yb = backend.asarray(x), backend.asarray(y)
        f = backend.to_numpy(mmd_any.witness(xb, yb, kernel=kernel, block_size=block_size))
        mmd2 = float(backend.to_numpy(mmd_any.mmd2(xb, yb, kernel=kernel)))
        gap = f[: len(x)].mean() - f[len(x) :].mean()
        assert gap == pytest.approx(mmd2, abs=reference.tolerance("float64", kernel, x, y))


def test_tiles_do_not_change_the_witness() -> None:
    x, y = _pair(3, n=130, m=110, d=4)
    points = np.random.default_rng(4).normal(size=(45, 4))
    for kernel in reference.default_kernels():
        whole = mmd_any.witness(x, y, kernel=kernel)
        whole_at = mmd_any.witness(x, y, points, kernel=kernel)
        tol = reference.tolerance("float64", kernel, x, y)
        for block_size in (5, 16, 64, 256):  # ragged, many, few and one tile
            tiled = mmd_any.witness(x, y, kernel=kernel, block_size=block_size)
            np.testing.assert_allclose(tiled, whole, rtol=0, atol=tol)
            tiled_at = mmd_any.witness(x, y, points, kernel=kernel, block_size=block_size)
            np.testing.assert_allclose(tiled_at, whole_at, rtol=0, atol=tol)


def test_the_bandwidth_comes_from_x_and_y_never_from_points() -> None:
    x, y = _pair(5)
    far = np.full((4, 3), 1e3)
    at_pooled = mmd_any.witness(x, y, np.concatenate([x, y]))
    np.testing.assert_allclose(mmd_any.witness(x, y), at_pooled, rtol=0, atol=1e-15)
    assert np.all(np.abs(mmd_any.witness(x, y, far)) < 1e-300)  # far from both: 0


def test_a_planted_cluster_has_the_most_negative_witness() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(400, 5))
    y = np.concatenate([rng.normal(size=(360, 5)), rng.normal(6.0, 0.5, size=(40, 5))])
    f = mmd_any.witness(x, y)
    planted = set(range(400 + 360, 800))
    assert set(np.argsort(f)[:40].tolist()) == planted


def test_the_witness_runs_on_the_meta_device_without_a_host_read() -> None:
    torch = pytest.importorskip("torch")
    x = torch.empty(300, 4, device="meta")
    y = torch.empty(200, 4, device="meta")
    points = torch.empty(17, 4, device="meta")
    for kernel in ("gaussian", "energy", "linear"):
        for block_size in (None, 64):
            f = mmd_any.witness(x, y, kernel=kernel, block_size=block_size, check_finite=False)
            assert f.device.type == "meta"
            assert tuple(f.shape) == (500,)
            at = mmd_any.witness(x, y, points, kernel=kernel, check_finite=False)
            assert at.device.type == "meta"
            assert tuple(at.shape) == (17,)


def _finite_differences(fn, a: np.ndarray, step: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(a)
    for index in np.ndindex(a.shape):
        up, down = a.copy(), a.copy()
        up[index] += step
        down[index] -= step
        grad[index] = (fn(up) - fn(down)) / (2 * step)
    return grad


@pytest.mark.parametrize("name", ["torch", "jax"])
def test_the_witness_is_differentiable(name: str) -> None:
    require(name, "witness", "differentiable")
    backend = get_backend(name)
    if backend is None:
        pytest.skip(f"{name} is not installed")
    x, y = _pair(7, n=12, m=9, d=2)
    points = np.random.default_rng(8).normal(size=(5, 2))
    kernel = kernels.Gaussian(1.3)
    weights = np.linspace(-1.0, 2.0, 5)

    def value(a: np.ndarray) -> float:
        return float(mmd_any.witness(a, y, points, kernel=kernel) @ weights)

    expected = _finite_differences(value, x)
    if name == "torch":
        torch = backend.module
        xt = torch.asarray(x, requires_grad=True)
        out = mmd_any.witness(xt, torch.asarray(y), torch.asarray(points), kernel=kernel)
        (out @ torch.asarray(weights)).backward()
        got = xt.grad.numpy()
    else:
        import jax

        def traced(a):
            f = mmd_any.witness(a, backend.asarray(y), backend.asarray(points), kernel=kernel)
            return f @ backend.asarray(weights)

        got = np.asarray(jax.jit(jax.grad(traced))(backend.asarray(x)))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("points", "error", "match"),
    [
        (np.zeros((3, 2)), ValueError, "`points` has 2 features but `x` has 3"),
        (np.zeros((0, 3)), ValueError, "`points` is empty"),
        (np.full((2, 3), np.nan), ValueError, "`points` contains NaN or inf"),
        ("abc", TypeError, "points"),
    ],
)
def test_bad_points_are_named(points, error, match: str) -> None:
    x, y = _pair(9)
    with pytest.raises(error, match=match):
        mmd_any.witness(x, y, points)


def test_points_of_another_library_are_refused() -> None:
    torch = pytest.importorskip("torch")
    x, y = _pair(10)
    with pytest.raises(TypeError, match=r"`x` .* and `points` .* different array libraries"):
        mmd_any.witness(x, y, torch.zeros(2, 3, dtype=torch.float64))
