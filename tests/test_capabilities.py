"""Every claim of :mod:`mmd_any._capabilities` is true, and every entry point is declared.

Each feature is checked both ways where the backend can show it: a declared
``lazy`` entry point computes nothing on Dask and an undeclared one computes; a
declared ``jit`` one traces under ``jax.jit`` (and agrees with the eager value)
and an undeclared one fails to trace; a declared ``no_host_sync`` one runs on
torch's ``meta`` device and an undeclared one fails there; a declared
``differentiable`` one gives finite, non-zero gradients for both samples; each
declared dtype comes back as itself, in the inputs' namespace and on their
device (array-api-strict's ``device1``, where the default device would be wrong).
"""

from __future__ import annotations

import inspect
from typing import Any

import array_api_compat
import numpy as np
import pytest

from mmd_any._capabilities import BACKEND_TRAITS, CAPABILITIES, ENTRY_POINTS, capability

from .conftest import BACKEND_NAMES, ENTRY_CALLS, Backend, assert_result_like, get_backend

rng = np.random.default_rng(11)
X, Y = rng.normal(size=(40, 3)), rng.normal(0.5, 1.0, size=(30, 3))

ENTRIES = sorted(ENTRY_POINTS)

#: The shapes of the arrays :data:`ENTRY_CALLS` return that are not 0-d.
SHAPES = {
    "kernel_matrix": (len(X), len(Y)),
    "witness": (len(X) + len(Y),),
    "explain": (X.shape[1],),
}

#: Public names that compute nothing themselves: results, warnings, registries.
NOT_COMPUTING = {
    "ESTIMATORS",
    "Explanation",
    "KID",
    "MMDTestResult",
    "PermutationsWarning",
    "seed_kernel",
}


def _public_callables() -> set[str]:
    import mmd_any.torch

    public = [(name, mmd_any) for name in mmd_any.__all__]
    public += [(name, mmd_any.torch) for name in mmd_any.torch.__all__]
    return {
        name
        for name, module in public
        if name not in NOT_COMPUTING and not inspect.ismodule(getattr(module, name))
    }


def test_every_public_entry_point_is_declared_and_called() -> None:
    assert set(ENTRY_POINTS) == _public_callables()
    assert set(ENTRY_CALLS) == set(ENTRY_POINTS)


def test_the_declared_backends_are_the_suites() -> None:
    assert set(BACKEND_TRAITS) == set(BACKEND_NAMES)


def test_lookups_name_what_is_valid() -> None:
    with pytest.raises(ValueError, match="`entry` must be one of"):
        capability("mmd3", "numpy")
    with pytest.raises(ValueError, match="`backend` must be one of"):
        capability("mmd2", "numpyy")
    with pytest.raises(ValueError, match="`feature` must be one of"):
        capability("mmd2", "numpy").has("fast")


def test_every_missing_feature_says_why() -> None:
    for by_backend in CAPABILITIES.values():
        for cap in by_backend.values():
            for feature in ("supported", "lazy", "jit", "differentiable", "no_host_sync"):
                present = cap.supported if feature == "supported" else cap.has(feature)
                assert bool(cap.reason(feature)) != present, (cap.entry, cap.backend, feature)


def _inputs(backend: Backend, dtype: str) -> tuple[Any, Any]:
    """``X`` and ``Y`` as ``dtype`` (cast by the backend: NumPy has no bfloat16), on
    array-api-strict's ``device1``."""
    if backend.name == "array_api_strict":
        xps, where = backend.module, backend.module.Device("device1")
        return tuple(xps.asarray(a.astype(dtype), device=where) for a in (X, Y))
    arrays = backend.asarray(X), backend.asarray(Y)
    xp = array_api_compat.array_namespace(*arrays)
    return tuple(xp.astype(a, getattr(backend.module, dtype)) for a in arrays)


def _dtype_cases() -> list[Any]:
    return [
        pytest.param(entry, backend, dtype, id=f"{entry}-{backend}-{dtype}")
        for entry in ENTRIES
        for backend in BACKEND_NAMES
        for dtype in CAPABILITIES[entry][backend].dtypes
    ]


@pytest.mark.parametrize(("entry", "name", "dtype"), _dtype_cases())
def test_declared_dtypes_come_back_in_the_inputs_namespace_and_device(
    entry: str, name: str, dtype: str
) -> None:
    backend = get_backend(name)
    if backend is None:
        pytest.skip(f"{name} is not available on this machine")
    x, y = _inputs(backend, dtype)
    result = ENTRY_CALLS[entry](x, y)
    shape = SHAPES.get(entry, ())
    assert_result_like(result, backend, like=x, shape=shape)
    assert np.all(np.isfinite(backend.to_numpy(result).astype(np.float64)))


def _dask_computations(entry: str) -> tuple[Any, int]:
    da = pytest.importorskip("dask.array")
    from dask.callbacks import Callback

    starts: list[int] = []

    class Count(Callback):
        def _start(self, dsk: Any) -> None:
            starts.append(len(dsk))

    x, y = da.from_array(X, chunks=(20, 3)), da.from_array(Y, chunks=(15, 3))
    with Count():
        result = ENTRY_CALLS[entry](x, y)
    return result, len(starts)


@pytest.mark.parametrize("entry", ENTRIES)
def test_lazy_is_true_on_dask(entry: str) -> None:
    cap = capability(entry, "dask")
    if not cap.supported:
        pytest.skip(cap.reason("supported"))
    result, computations = _dask_computations(entry)
    if cap.lazy:
        assert computations == 0, f"{entry} computed {computations} graph(s)"
        assert type(result).__module__.startswith("dask")
    else:
        assert computations >= 1, f"{entry} is declared eager on Dask but computed nothing"


def _jax() -> Any:
    if get_backend("jax") is None:
        pytest.skip("jax is not installed")
    import jax

    return jax


@pytest.mark.parametrize("entry", ENTRIES)
def test_jit_is_true_on_jax(entry: str) -> None:
    jax = _jax()
    cap = capability(entry, "jax")
    if not cap.supported:
        pytest.skip(cap.reason("supported"))
    x, y = jax.numpy.asarray(X), jax.numpy.asarray(Y)
    call = ENTRY_CALLS[entry]
    if cap.jit:
        traced = jax.jit(lambda a, b: call(a, b, check_finite=False))(x, y)
        eager = call(x, y)
        np.testing.assert_allclose(np.asarray(traced), np.asarray(eager), rtol=1e-10, atol=1e-14)
    else:
        with pytest.raises(jax.errors.JAXTypeError):
            jax.jit(lambda a, b: call(a, b, check_finite=False))(x, y)


@pytest.mark.parametrize("entry", ENTRIES)
def test_no_host_sync_is_true_on_the_meta_device(entry: str) -> None:
    torch = pytest.importorskip("torch")
    cap = capability(entry, "torch")
    x = torch.empty(len(X), 3, device="meta")
    y = torch.empty(len(Y), 3, device="meta")
    if cap.no_host_sync:
        result = ENTRY_CALLS[entry](x, y, check_finite=False)
        assert result.device.type == "meta"
    else:
        with pytest.raises((RuntimeError, NotImplementedError), match=r"meta|data"):
            ENTRY_CALLS[entry](x, y, check_finite=False)


def _gradients(name: str, entry: str) -> tuple[np.ndarray, np.ndarray]:
    call = ENTRY_CALLS[entry]
    if name == "jax":
        jax = _jax()
        grads = jax.grad(lambda a, b: call(a, b).sum(), argnums=(0, 1))(
            jax.numpy.asarray(X), jax.numpy.asarray(Y)
        )
        return np.asarray(grads[0]), np.asarray(grads[1])
    backend = get_backend(name)
    if backend is None:
        pytest.skip(f"{name} is not available on this machine")
    x, y = backend.asarray(X), backend.asarray(Y)
    x.requires_grad_(True)
    y.requires_grad_(True)
    call(x, y).sum().backward()
    return backend.to_numpy(x.grad), backend.to_numpy(y.grad)


def _differentiable_cases() -> list[Any]:
    return [
        pytest.param(entry, name, id=f"{entry}-{name}")
        for entry in ENTRIES
        for name, cap in CAPABILITIES[entry].items()
        if cap.has("differentiable")
    ]


@pytest.mark.parametrize(("entry", "name"), _differentiable_cases())
def test_differentiable_is_true(entry: str, name: str) -> None:
    for grad in _gradients(name, entry):
        assert np.all(np.isfinite(grad)), entry
        assert np.any(grad != 0.0), entry
