"""The engine's matmuls keep float32 accuracy whatever the caller's global setting.

TF32/bfloat16 matmuls exist only on GPUs; on the CPU what can be tested is that
the setting mmd_any relies on is in force while its matmuls run, and that the
caller's own setting comes back afterwards (see ``mmd_any/_compat.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

import mmd_any
from mmd_any import kernels


def _samples():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 3)).astype(np.float32), rng.normal(0.3, size=(30, 3)).astype(
        np.float32
    )


CALLS = {
    "mmd2": lambda x, y: mmd_any.mmd2(x, y, check_finite=False),
    "mmd2 seed kernel": lambda x, y: mmd_any.mmd2(
        x,
        y,
        kernel=kernels.Gaussian(mmd_any.bandwidths.MeanSquaredDistance.seed()),
        check_finite=False,
    ),
    "kid": lambda x, y: mmd_any.kid(x, y, subsets=2, subset_size=20, seed=0, check_finite=False),
    "kernel_matrix": lambda x, y: mmd_any.kernel_matrix(x, y, check_finite=False),
    "mmd2_rff": lambda x, y: mmd_any.mmd2_rff(x, y, seed=0, check_finite=False),
}


@pytest.mark.parametrize("name", CALLS)
def test_jax_dots_are_traced_at_highest_precision(name: str) -> None:
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    x, y = (jnp.asarray(a) for a in _samples())
    previous = jax.config.jax_default_matmul_precision
    jax.config.update("jax_default_matmul_precision", "bfloat16")
    try:
        jaxpr = jax.make_jaxpr(lambda a, b: CALLS[name](a, b))(x, y)
    finally:
        jax.config.update("jax_default_matmul_precision", previous)
    dots = [eqn for eqn in _equations(jaxpr.jaxpr) if eqn.primitive.name == "dot_general"]
    assert dots, "no matmul traced"
    for eqn in dots:
        assert all(str(p).endswith("HIGHEST") for p in eqn.params["precision"]), eqn


def _equations(jaxpr):
    """Every equation, nested sub-jaxprs (pjit, custom calls) included."""
    for eqn in jaxpr.eqns:
        yield eqn
        for value in eqn.params.values():
            inner = getattr(value, "jaxpr", None)
            if inner is not None:
                yield from _equations(getattr(inner, "jaxpr", inner))


@pytest.mark.parametrize("name", CALLS)
def test_torch_matmuls_run_in_ieee_float32_and_the_callers_setting_returns(name: str) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils._python_dispatch import TorchDispatchMode

    matmul = torch.backends.cuda.matmul
    seen: list[str] = []

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.overloadpacket.__name__ in ("mm", "bmm", "addmm", "matmul"):
                seen.append(matmul.fp32_precision)
            return func(*args, **(kwargs or {}))

    # the meta device stands for CUDA (CPU matmuls have no TF32 and are left alone)
    x, y = (torch.asarray(a, device="meta") for a in _samples())
    previous = matmul.fp32_precision
    matmul.fp32_precision = "tf32"
    try:
        with Record():
            CALLS[name](x, y)
        assert matmul.fp32_precision == "tf32"
    finally:
        matmul.fp32_precision = previous
    assert seen, "no matmul dispatched"
    assert set(seen) == {"ieee"}, seen
