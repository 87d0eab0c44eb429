"""Gradients: torch gradcheck, torch = JAX = finite differences, no NaN at ties,
half precision, and the bandwidth as a constant by default."""

from __future__ import annotations

import numpy as np
import pytest

import mmd_any
from mmd_any import kernels
from mmd_any.bandwidths import Fixed, MeanSquaredDistance, Median

from . import reference
from .conftest import get_backend

torch = pytest.importorskip("torch")

RADIAL = [kernels.Gaussian, kernels.Laplacian, kernels.InverseMultiquadric]
ESTIMATORS = ["biased", "unbiased", "linear"]


def _samples(n: int = 6, m: int = 5, d: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(0.3, 1.0, size=(m, d))


def _sizes(estimator: str, x: np.ndarray, y: np.ndarray):
    return (x[:4], y[:4]) if estimator == "linear" else (x, y)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("kernel_class", RADIAL)
def test_gradcheck_radial_wrt_samples_and_bandwidth(kernel_class, estimator) -> None:
    x, y = _sizes(estimator, *_samples())
    xt = torch.asarray(x, requires_grad=True)
    yt = torch.asarray(y, requires_grad=True)
    sigma = torch.asarray([0.8, 1.7], dtype=torch.float64, requires_grad=True)

    def loss(a, b, s):
        return mmd_any.mmd2(a, b, kernel=kernel_class(s), estimator=estimator, check_finite=False)

    assert torch.autograd.gradcheck(loss, (xt, yt, sigma))


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "kernel",
    [
        kernels.Linear(),
        kernels.Polynomial(),
        kernels.Gaussian(Median(detach=False)),
        kernels.Gaussian(MeanSquaredDistance.seed(detach=False)),
    ],
    ids=["linear", "polynomial", "median-not-detached", "seed-not-detached"],
)
def test_gradcheck_other_kernels(kernel, estimator) -> None:
    x, y = _sizes(estimator, *_samples())
    xt = torch.asarray(x, requires_grad=True)
    yt = torch.asarray(y, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b: mmd_any.mmd2(a, b, kernel=kernel, estimator=estimator), (xt, yt)
    )


def _finite_difference(x, y, kernel, estimator, step: float = 1e-6) -> np.ndarray:
    """Central differences of the plain float64 reference (tests/reference.py)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[index] += step
        down[index] -= step
        grad[index] = (
            reference.mmd2(up, y, kernel, estimator) - reference.mmd2(down, y, kernel, estimator)
        ) / (2 * step)
    return grad


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "kernel",
    [
        kernels.Gaussian(1.2),
        kernels.Gaussian([0.5, 1.0, 2.0]),
        kernels.Laplacian(0.9),
        kernels.InverseMultiquadric(1.1),
        kernels.Polynomial(),
        kernels.Linear(),
    ],
    ids=["gaussian", "gaussian-ladder", "laplacian", "imq", "polynomial", "linear"],
)
def test_torch_and_jax_gradients_match_finite_differences(kernel, estimator) -> None:
    x, y = _sizes(estimator, *_samples(seed=1))
    expected = _finite_difference(x, y, kernel, estimator)
    scale = max(1.0, float(np.abs(expected).max()))

    xt = torch.asarray(x, requires_grad=True)
    mmd_any.mmd2(xt, torch.asarray(y), kernel=kernel, estimator=estimator).backward()
    np.testing.assert_allclose(xt.grad.numpy(), expected, atol=1e-6 * scale)

    jax_backend = get_backend("jax")
    if jax_backend is None:
        return
    import jax

    grad = jax.grad(
        lambda a: mmd_any.mmd2(a, jax_backend.asarray(y), kernel=kernel, estimator=estimator)
    )
    jax_grad = np.asarray(grad(jax_backend.asarray(x)))
    np.testing.assert_allclose(jax_grad, expected, atol=1e-6 * scale)
    np.testing.assert_allclose(jax_grad, xt.grad.numpy(), atol=1e-12 * scale)


@pytest.mark.parametrize(
    "kernel",
    [
        kernels.Gaussian(),
        kernels.Gaussian(MeanSquaredDistance.seed()),
        kernels.Laplacian(),
        kernels.Laplacian(1.0),
        kernels.InverseMultiquadric(),
        kernels.Polynomial(),
    ],
    ids=["gaussian-median", "seed", "laplacian-median", "laplacian-fixed", "imq", "poly"],
)
@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_no_nan_gradient_with_duplicates_and_x_equal_y(kernel, estimator) -> None:
    """Coincident points: the distance kernels take the subgradient 0 at 0."""
    x, _ = _samples(n=4)
    with_duplicates = np.vstack([x, x[:2], x[:2]])
    xt = torch.asarray(with_duplicates, requires_grad=True)
    yt = torch.asarray(with_duplicates.copy(), requires_grad=True)
    value = mmd_any.mmd2(xt, yt, kernel=kernel, estimator=estimator)
    value.backward()
    assert torch.isfinite(xt.grad).all()
    assert torch.isfinite(yt.grad).all()
    if estimator == "biased" and kernel.translation_invariant:
        # x == y is the minimum of the biased MMD²: the (sub)gradient is 0
        assert float(xt.grad.abs().max()) < 1e-10


def test_detached_bandwidth_is_a_constant() -> None:
    """Default: the median is a constant; the gradient equals that of Fixed(median)."""
    x, y = _samples(seed=2)
    xt = torch.asarray(x, requires_grad=True)
    mmd_any.mmd2(xt, torch.asarray(y), kernel=kernels.Gaussian()).backward()
    pooled = np.vstack([x, y])
    median = float(np.median(reference.distinct_pair_distances(pooled, "sqeuclidean")))
    xf = torch.asarray(x, requires_grad=True)
    mmd_any.mmd2(xf, torch.asarray(y), kernel=kernels.Gaussian(median)).backward()
    np.testing.assert_allclose(xt.grad.numpy(), xf.grad.numpy(), atol=1e-12)
    # and it differs from the gradient through the bandwidth
    xd = torch.asarray(x, requires_grad=True)
    mmd_any.mmd2(xd, torch.asarray(y), kernel=kernels.Gaussian(Median(detach=False))).backward()
    assert not np.allclose(xd.grad.numpy(), xf.grad.numpy(), atol=1e-8)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_loss_and_gradient_are_finite(dtype) -> None:
    half = getattr(torch, dtype)
    x, y = _samples(n=32, m=24, d=8)
    xt = torch.asarray(x, dtype=half, requires_grad=True)
    yt = torch.asarray(y, dtype=half)
    for kernel in (kernels.Gaussian(MeanSquaredDistance.seed()), kernels.Gaussian(), "laplacian"):
        xt.grad = None
        value = mmd_any.mmd2(xt, yt, kernel=kernel, check_finite=False)
        assert value.dtype == half
        value.backward()
        assert xt.grad.dtype == half
        assert torch.isfinite(value)
        assert torch.isfinite(xt.grad).all()
        expected = float(mmd_any.mmd2(xt.detach().float(), yt.float(), kernel=kernel))
        # the same float32 computation, then one rounding to the half dtype
        x32, y32 = (a.detach().double().numpy() for a in (xt, yt))
        computed = reference.tolerance("float32", kernels.as_kernel(kernel), x32, y32)
        rounded = torch.finfo(half).eps / 2 * (abs(expected) + computed)
        assert float(value.detach()) == pytest.approx(expected, abs=computed + rounded)


def test_jax_jit_of_grad() -> None:
    jax_backend = get_backend("jax")
    if jax_backend is None:
        pytest.skip("jax is not installed")
    import jax

    x, y = _samples()
    ja, jb = jax_backend.asarray(x), jax_backend.asarray(y)
    for kernel in (
        kernels.Gaussian(),
        kernels.Gaussian(MeanSquaredDistance.seed()),
        kernels.Laplacian(),
    ):

        def loss(a, kernel=kernel):
            return mmd_any.mmd2(a, jb, kernel=kernel, estimator="unbiased")

        np.testing.assert_allclose(
            np.asarray(jax.jit(jax.grad(loss))(ja)), np.asarray(jax.grad(loss)(ja)), atol=1e-12
        )


# dynamo warns about what it meets while tracing torch's and array-api-compat's
# own Python (lru_cache'd type checks, deprecated jit internals): not our code
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_torch_compile_forward_and_backward() -> None:
    from mmd_any.torch import MMDLoss

    x, y = _samples(n=32, m=16, d=8)
    loss_fn = MMDLoss()
    compiled = torch.compile(loss_fn)
    xe = torch.asarray(x, dtype=torch.float32, requires_grad=True)
    xc = torch.asarray(x, dtype=torch.float32, requires_grad=True)
    yt = torch.asarray(y, dtype=torch.float32)
    eager = loss_fn(xe, yt)
    traced = compiled(xc, yt)
    # two float32 evaluations of one formula in different operation orders
    tol = 2 * reference.tolerance("float32", loss_fn.kernel, x, y)
    assert float(traced.detach()) == pytest.approx(float(eager.detach()), abs=tol)
    eager.backward()
    traced.backward()
    # the gradient is a sum of n + m kernel-weighted differences, each rounded alike
    grad_scale = float(np.abs(xe.grad.numpy()).max()) * (len(x) + len(y))
    np.testing.assert_allclose(xc.grad.numpy(), xe.grad.numpy(), rtol=0, atol=tol * grad_scale)


def test_fixed_array_bandwidth_keeps_its_gradient() -> None:
    x, y = _samples()
    sigma = torch.asarray(1.3, dtype=torch.float64, requires_grad=True)
    mmd_any.mmd2(torch.asarray(x), torch.asarray(y), kernel=kernels.Gaussian(sigma)).backward()
    assert sigma.grad is not None
    assert Fixed(sigma).count == 1
