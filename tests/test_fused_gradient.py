"""The hand-written single-tile gradient (mmd_any._gradient through the torch adapter).

Compared with an independent float64 gradient written plainly here (pairwise
differences, no matmul), in both layouts (pooled up to
``_gradient.HOST_POOLED_POINTS`` points, sample blocks above), for x, y or both
requiring a gradient, n ≠ m, both quadratic estimators, float64 and float32 (an
error model, never a float64 tolerance), higher orders, and the fall-backs to
autograd (a learned bandwidth, torch.compile is covered in test_torch_loss).
"""

from __future__ import annotations

import numpy as np
import pytest

import mmd_any
from mmd_any import _gradient, _registry, kernels
from mmd_any.bandwidths import MeanSquaredDistance

from . import reference

torch = pytest.importorskip("torch")

#: (n, m): pooled layout, then blocks (above HOST_POOLED_POINTS pooled points)
SIZES = [(9, 7), (_gradient.HOST_POOLED_POINTS // 2 + 30, _gradient.HOST_POOLED_POINTS // 2 + 11)]
KERNELS = {
    "seed": kernels.Gaussian(MeanSquaredDistance.seed()),
    "median": kernels.Gaussian(),
    "fixed-ladder": kernels.Gaussian([0.7, 1.4, 2.8]),
}


def _signed_weights(n: int, m: int, estimator: str) -> np.ndarray:
    """``c_ij``, the signed coefficient of ``K_ij`` in the estimator."""
    signs = np.block([[np.ones((n, n)), -np.ones((n, m))], [-np.ones((m, n)), np.ones((m, m))]])
    return signs * reference.estimator_weights(n, m, estimator)


def _gradient_reference(x, y, kernel, estimator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """∂MMD²/∂z in float64 by the chain rule on explicit pairs, and the error bound's
    two ingredients per point: Σ_b |c|·|k′|·|z_a − z_b| and Σ_b |c|·|k″|·|z_a − z_b|·s_ab
    with ``s_ab = ‖z_a‖² + ‖z_b‖²`` (centred) for the distance's rounding."""
    z = np.vstack([x, y]).astype(np.float64)
    n, m = len(x), len(y)
    differences = z[:, None, :] - z[None, :, :]
    squared = (differences**2).sum(-1)
    slope = np.zeros_like(squared)
    curvature = np.zeros_like(squared)
    for sigma in reference.sigmas(kernel, z, n):
        inverse = 1.0 / (2 * sigma**2)
        slope -= inverse * np.exp(-squared * inverse)
        curvature += inverse**2 * np.exp(-squared * inverse)
    weights = _signed_weights(n, m, estimator)
    pair = (weights + weights.T) * slope
    grad = 2 * (pair[:, :, None] * differences).sum(1)
    centred = z - z.mean(0)
    norms = (centred**2).sum(1)
    spread = norms[:, None] + norms[None, :]
    length = np.abs(differences).sum(-1)
    first = 2 * (np.abs(weights + weights.T) * np.abs(slope) * length).sum(1)
    second = 2 * (np.abs(weights + weights.T) * curvature * length * spread).sum(1)
    return grad, first, second


def _bound(dtype, first, second, n_points: int, dim: int) -> np.ndarray:
    """Per-point absolute error of the gradient computed in ``dtype``: the rounding of
    the length-N sums (λ·√N·u) and of the distance matmul (λ·√(d+2)·u·s) propagated
    through k′, plus the bandwidth's and the kernel's own relative rounding."""
    u = reference.eps(dtype) / 2
    lam = reference.ROUNDING_LAMBDA
    sums = lam * np.sqrt(n_points) * u * first
    distances = lam * np.sqrt(dim + 2) * u * second
    kernel = 16 * u * first
    return (sums + distances + kernel)[:, None] * np.ones((1, dim))


def _computed(x, y, kernel, estimator, dtype, needs=(True, True)):
    xt = torch.asarray(x, dtype=dtype, requires_grad=needs[0])
    yt = torch.asarray(y, dtype=dtype, requires_grad=needs[1])
    value = mmd_any.mmd2(xt, yt, kernel=kernel, estimator=estimator, check_finite=False)
    inputs = [t for t, need in zip((xt, yt), needs, strict=True) if need]
    return value, torch.autograd.grad(value, inputs)


def _uses_fused(value) -> bool:
    """Whether the hand-written backward is in ``value``'s graph."""
    seen, stack = set(), [value.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if "SingleTileForms" in type(node).__name__:
            return True
        stack.extend(next_node for next_node, _ in node.next_functions)
    return False


def _data(n: int, m: int, dim: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, dim)) + 5.0, rng.normal(5.3, 1.2, size=(m, dim))


@pytest.mark.parametrize("sizes", SIZES, ids=["pooled", "blocks"])
@pytest.mark.parametrize("kernel_name", sorted(KERNELS))
@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gradient_matches_the_float64_reference(sizes, kernel_name, estimator, dtype) -> None:
    n, m = sizes
    x, y = _data(n, m)
    kernel = KERNELS[kernel_name]
    expected, first, second = _gradient_reference(x, y, kernel, estimator)
    value, (grad_x, grad_y) = _computed(x, y, kernel, estimator, getattr(torch, dtype))
    assert _uses_fused(value)
    computed = np.vstack([grad_x.double().numpy(), grad_y.double().numpy()])
    bound = _bound(dtype, first, second, n + m, x.shape[1])
    error = np.abs(computed - expected)
    assert (error <= bound).all(), float((error / bound).max())


@pytest.mark.parametrize("sizes", SIZES, ids=["pooled", "blocks"])
@pytest.mark.parametrize("needs", [(True, False), (False, True)], ids=["x-only", "y-only"])
def test_only_the_samples_that_need_a_gradient_get_one(sizes, needs) -> None:
    x, y = _data(*sizes, seed=1)
    kernel = KERNELS["seed"]
    expected, first, second = _gradient_reference(x, y, kernel, "biased")
    value, (grad,) = _computed(x, y, kernel, "biased", torch.float64, needs)
    assert _uses_fused(value)
    part = slice(0, sizes[0]) if needs[0] else slice(sizes[0], None)
    bound = _bound("float64", first, second, sum(sizes), x.shape[1])[part]
    assert (np.abs(grad.numpy() - expected[part]) <= bound).all()


@pytest.mark.parametrize("sizes", SIZES, ids=["pooled", "blocks"])
def test_second_order_equals_autograd_of_the_generic_path(sizes, monkeypatch) -> None:
    """create_graph=True differentiates the generic path again: exact Hessian-vector
    products (a gradient penalty), not the derivative of saved constants."""
    x, y = _data(*sizes, seed=2)
    direction = torch.asarray(np.random.default_rng(3).normal(size=x.shape))

    def hessian_vector() -> tuple[torch.Tensor, bool]:
        xt = torch.asarray(x, requires_grad=True)
        value = mmd_any.mmd2(xt, torch.asarray(y), kernel=KERNELS["median"], estimator="unbiased")
        (grad,) = torch.autograd.grad(value, xt, create_graph=True)
        (second,) = torch.autograd.grad((grad * direction).sum(), xt)
        return second, _uses_fused(value)

    fused, used = hessian_vector()
    assert used
    with monkeypatch.context() as patch:
        patch.setattr(_registry, "GRADIENT_ADAPTERS", [])  # autograd throughout
        generic, used = hessian_vector()
    assert not used
    scale = float(generic.abs().max())
    np.testing.assert_allclose(fused.numpy(), generic.numpy(), atol=64 * 2.0**-52 * scale)


def test_gradgradcheck_through_the_adapter() -> None:
    x, y = _data(5, 4, dim=2, seed=4)
    kernel = kernels.Gaussian(1.3)
    xt = torch.asarray(x, requires_grad=True)
    yt = torch.asarray(y, requires_grad=True)
    assert _uses_fused(mmd_any.mmd2(xt, yt, kernel=kernel))
    assert torch.autograd.gradgradcheck(lambda a, b: mmd_any.mmd2(a, b, kernel=kernel), (xt, yt))


def test_falls_back_to_autograd_where_the_formula_does_not_apply() -> None:
    """A learned bandwidth (its gradient is kept) and a kernel without a slope
    (Laplacian) take the generic path; under no_grad nothing is recorded."""
    x, y = _data(9, 7, seed=5)
    xt = torch.asarray(x, requires_grad=True)
    sigma = torch.asarray([1.1, 2.2], dtype=torch.float64, requires_grad=True)
    value = mmd_any.mmd2(xt, torch.asarray(y), kernel=kernels.Gaussian(sigma))
    assert not _uses_fused(value)
    value.backward()
    assert sigma.grad is not None
    assert torch.isfinite(sigma.grad).all()
    assert not _uses_fused(mmd_any.mmd2(xt, torch.asarray(y), kernel="laplacian"))
    with torch.no_grad():
        assert mmd_any.mmd2(xt, torch.asarray(y)).grad_fn is None


def test_value_is_the_generic_value() -> None:
    """The forward of the adapter is the engine's value (float64, rounding level)."""
    for sizes in SIZES:
        x, y = _data(*sizes, seed=6)
        xt = torch.asarray(x, requires_grad=True)
        for estimator in ("biased", "unbiased"):
            fused = float(mmd_any.mmd2(xt, torch.asarray(y), estimator=estimator).detach())
            plain = reference.mmd2(x, y, kernels.Gaussian(), estimator)
            tolerance = reference.tolerance("float64", kernels.Gaussian(), x, y)
            assert fused == pytest.approx(plain, abs=tolerance)
