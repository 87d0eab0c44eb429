"""``mmd_any.torch.MMDLoss``: a drop-in for the seeds' module, with its defects fixed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mmd_any
from mmd_any import kernels

from . import reference
from .test_seeds import PUBLISHED

torch = pytest.importorskip("torch")
from mmd_any.torch import MMDLoss, seed_kernel  # noqa: E402


def _seed_reference(source, target, kernel_mul=2.0, kernel_num=5, fix_sigma=None) -> float:
    """The seeds' formula in plain float64 NumPy, with n ≠ m done right."""
    total = np.vstack([source, target]).astype(np.float64)
    sq = reference.pairwise(total, total, "sqeuclidean")
    n_total = len(total)
    base = fix_sigma if fix_sigma else sq.sum() / (n_total**2 - n_total)
    base /= kernel_mul ** (kernel_num // 2)
    gram = sum(np.exp(-sq / (base * kernel_mul**i)) for i in range(kernel_num))
    n = len(source)
    return float(gram[:n, :n].mean() + gram[n:, n:].mean() - 2 * gram[:n, n:].mean())


@pytest.mark.parametrize(("source", "target", "printed"), PUBLISHED)
def test_reproduces_the_published_values(source, target, printed) -> None:
    loss = MMDLoss()(torch.tensor(source), torch.tensor(target))
    assert loss.shape == ()
    assert float(loss) == pytest.approx(printed, abs=5e-5)


def test_linear_variant() -> None:
    torch.manual_seed(0)
    source, target = torch.rand(64, 14), torch.rand(32, 14)
    delta = source.mean(0) - target.mean(0)
    loss = MMDLoss(kernel_type="linear")(source, target)
    expected = float(delta.double() @ delta.double())
    tol = reference.tolerance("float32", kernels.Linear(), source.double().numpy(), target.numpy())
    assert float(loss) == pytest.approx(expected, abs=tol)


@pytest.mark.parametrize("fix_sigma", [None, 0.5, 3.0])
@pytest.mark.parametrize(("n", "m"), [(16, 16), (20, 7), (1, 5)])
def test_matches_the_seed_formula_for_every_size_and_fix_sigma(fix_sigma, n, m) -> None:
    """fix_sigma is honoured (the seeds ignored it); n ≠ m is the V-statistic."""
    rng = np.random.default_rng(n + m)
    source, target = rng.normal(size=(n, 6)), rng.normal(0.2, 1.0, size=(m, 6))
    loss = MMDLoss(fix_sigma=fix_sigma)(torch.asarray(source), torch.asarray(target))
    expected = _seed_reference(source, target, fix_sigma=fix_sigma)
    assert float(loss) == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_fix_sigma_changes_the_value() -> None:
    rng = np.random.default_rng(3)
    source = torch.asarray(rng.normal(size=(10, 4)))
    target = torch.asarray(rng.normal(size=(10, 4)) + 0.5)
    values = {sigma: float(MMDLoss(fix_sigma=sigma)(source, target)) for sigma in (0.1, 1.0, 10.0)}
    assert len(set(values.values())) == 3


def test_kernel_and_estimator_arguments() -> None:
    rng = np.random.default_rng(4)
    source, target = rng.normal(size=(12, 3)), rng.normal(size=(9, 3))
    kernel = kernels.Laplacian(1.5)
    loss = MMDLoss(kernel=kernel, estimator="unbiased")(
        torch.asarray(source), torch.asarray(target)
    )
    expected = mmd_any.mmd2(source, target, kernel=kernel, estimator="unbiased")
    assert float(loss) == pytest.approx(float(expected), rel=1e-12)
    assert "Laplacian" in repr(MMDLoss(kernel=kernel))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"unknown `kernel_type` 'poly'"):
        MMDLoss(kernel_type="poly")
    with pytest.raises(ValueError, match=r"`fix_sigma` must be a positive float"):
        MMDLoss(fix_sigma=-1.0)
    with pytest.raises(TypeError, match=r"unexpected arguments \['sigma'\]"):
        MMDLoss(sigma=1.0)
    with pytest.raises(ValueError, match=r"`y` has 4 features but `x` has 3"):
        MMDLoss()(torch.zeros(3, 3), torch.zeros(3, 4))


def test_gradient_flows_to_both_batches() -> None:
    torch.manual_seed(1)
    source = torch.randn(16, 5, requires_grad=True)
    target = torch.randn(12, 5, requires_grad=True)
    MMDLoss()(source, target).backward()
    assert source.grad is not None
    assert target.grad is not None
    assert torch.isfinite(source.grad).all()
    assert torch.isfinite(target.grad).all()
    assert source.grad.abs().max() > 0
    assert target.grad.abs().max() > 0


def test_seed_kernel_ladder() -> None:
    kernel = seed_kernel(fix_sigma=2.0)
    sigmas = np.asarray(kernel.rule.values)
    # exp(-D / (b·2^(i−2))) = exp(-D / (2σ²)) with σ² = b·2^(i−2)/2
    np.testing.assert_allclose(2 * sigmas**2, [0.5, 1.0, 2.0, 4.0, 8.0])


def test_memory_is_not_batch_squared_times_features() -> None:
    """Batch 1024 + 1024 at d = 256: the seeds' broadcast needs 2048²·256·4 B = 4 GiB."""
    code = textwrap.dedent(
        """
        import resource, torch
        from mmd_any.torch import MMDLoss
        torch.manual_seed(0)
        source = torch.randn(1024, 256, requires_grad=True)
        target = torch.randn(1024, 256)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        MMDLoss()(source, target).backward()
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) / 1024)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    extra_mib = float(out.stdout.strip().splitlines()[-1])
    assert extra_mib < 400, f"{extra_mib:.0f} MiB"


def test_importing_mmd_any_does_not_import_torch() -> None:
    code = "import sys, mmd_any; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
