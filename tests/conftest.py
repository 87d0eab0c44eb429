"""Backends, conversions and tolerances shared by the test suite.

Inputs and references are built in NumPy float64; only the function under test
runs on the backend (SciPy's rule). Every backend that is importable here runs;
CuPy and torch-CUDA skip cleanly without a GPU.
"""

from __future__ import annotations

import ast
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import mmd_any
from mmd_any._capabilities import FEATURES, Capability, capability

settings.register_profile(
    "ci",
    max_examples=20,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: Backends that trace and compile (JAX: one XLA compilation per op and shape)
#: or build task graphs (Dask) cost ~0.1-1 s per call on tiny inputs: they run
#: the same properties on this share of the examples.
SLOW_EXAMPLE_SHARE = 0.4


@dataclass(frozen=True)
class Backend:
    """One array library (and device) the tests run on."""

    name: str
    from_numpy: Callable[[np.ndarray], Any]
    to_numpy: Callable[[Any], np.ndarray]
    module: Any
    #: each call traces (JAX) or builds a graph (Dask): fewer Hypothesis examples
    slow_calls: bool = False

    def asarray(self, a: Any, dtype: str | None = None) -> Any:
        """Convert NumPy data, optionally cast to ``"float32"``/``"float64"``/…"""
        a = np.asarray(a)
        if dtype is not None:
            a = a.astype(dtype)
        return self.from_numpy(a)

    def __repr__(self) -> str:
        return self.name


def _try_import(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _numpy() -> Backend:
    return Backend("numpy", np.asarray, np.asarray, np)


def _strict() -> Backend | None:
    xps = _try_import("array_api_strict")
    if xps is None:
        return None
    return Backend("array_api_strict", xps.asarray, lambda a: np.from_dlpack(a), xps)


def _torch(device: str) -> Backend | None:
    torch = _try_import("torch")
    if torch is None:
        return None
    if device == "cuda" and not torch.cuda.is_available():
        return None

    def from_numpy(a: np.ndarray) -> Any:
        return torch.asarray(a, device=device)

    def to_numpy(a: Any) -> np.ndarray:
        a = a.detach().cpu()
        # NumPy has no bfloat16: its values are float32 values exactly
        return (a.float() if a.dtype == torch.bfloat16 else a).numpy()

    return Backend(
        "torch" if device == "cpu" else "torch-cuda",
        from_numpy,
        to_numpy,
        torch,
    )


def _jax() -> Backend | None:
    jax = _try_import("jax")
    if jax is None:
        return None
    jax.config.update("jax_enable_x64", True)
    jnp = importlib.import_module("jax.numpy")
    return Backend("jax", jnp.asarray, np.asarray, jnp, slow_calls=True)


def _dask() -> Backend | None:
    da = _try_import("dask.array")
    if da is None:
        return None

    import dask

    # The threaded scheduler only adds overhead on test-sized graphs.
    dask.config.set(scheduler="synchronous")

    def from_numpy(a: np.ndarray) -> Any:
        # two chunks along the samples, so reductions cross a chunk border
        rows = max(1, (a.shape[0] + 1) // 2) if a.ndim else 1
        return da.from_array(a, chunks=(rows, *a.shape[1:]) if a.ndim else ())

    return Backend("dask", from_numpy, lambda a: np.asarray(a.compute()), da, slow_calls=True)


def _cupy() -> Backend | None:
    cp = _try_import("cupy")
    if cp is None:
        return None
    try:
        if cp.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:  # noqa: BLE001 - no driver, no device
        return None
    return Backend("cupy", cp.asarray, cp.asnumpy, cp)


BACKEND_NAMES = ["numpy", "array_api_strict", "torch", "jax", "dask", "cupy", "torch-cuda"]
_FACTORIES: dict[str, Callable[[], Backend | None]] = {
    "numpy": _numpy,
    "array_api_strict": _strict,
    "torch": lambda: _torch("cpu"),
    "jax": _jax,
    "dask": _dask,
    "cupy": _cupy,
    "torch-cuda": lambda: _torch("cuda"),
}
_CACHE: dict[str, Backend | None] = {}


def get_backend(name: str) -> Backend | None:
    """The backend, or None when its library (or GPU) is missing."""
    if name not in _CACHE:
        _CACHE[name] = _FACTORIES[name]()
    return _CACHE[name]


@pytest.fixture(scope="session", params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Every installed backend; missing ones (e.g. no GPU) are skipped."""
    found = get_backend(request.param)
    if found is None:
        pytest.skip(f"{request.param} is not available on this machine")
    return found


def imported_modules(tree: ast.AST) -> set[str]:
    """The top-level modules a parsed file imports: ``import``, absolute
    ``from ... import`` and ``importlib.import_module("...")`` with a literal name."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.args[0] if node.args else None, ast.Constant)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
        ):
            names.add(str(node.args[0].value).split(".")[0])
    return names


def require(
    backend: Backend | str, entry: str, feature: str | None = None, *, dtype: str | None = None
) -> Capability:
    """Skip unless ``entry`` runs on ``backend`` (with ``feature`` and ``dtype``, when
    given) as :data:`mmd_any._capabilities.CAPABILITIES` declares: the one place a
    test learns what a backend supports. Returns the capability."""
    name = backend if isinstance(backend, str) else backend.name
    if feature is not None and feature not in FEATURES:
        raise ValueError(f"`feature` must be one of {sorted(FEATURES)}, got {feature!r}")
    cap = capability(entry, name)
    for wanted in ("supported", feature, dtype):
        if wanted is not None and cap.reason(wanted):
            pytest.skip(f"{entry} on {name}: {cap.reason(wanted)}")
    return cap


def widest_float(backend: Backend, entry: str = "mmd2") -> str:
    """The widest float dtype ``entry`` keeps on ``backend``."""
    return next(d for d in ("float64", "float32") if d in capability(entry, backend.name).dtypes)


def _streaming_value(x: Any, y: Any, **options: Any) -> Any:
    acc = mmd_any.StreamingMMD(seed=0, n_features=32, **options)
    return acc.update(x, y).value()


def _loss(x: Any, y: Any, check_finite: bool = False) -> Any:
    from mmd_any.torch import MMDLoss

    del check_finite  # the loss never checks: it is for training loops
    return MMDLoss()(x, y)


#: One call of every entry point of :data:`~mmd_any._capabilities.ENTRY_POINTS` on
#: samples ``x`` (at least 30 rows) and ``y`` (at least 15), returning the array it
#: computes; keyword options (``check_finite``) pass through.
ENTRY_CALLS: dict[str, Callable[..., Any]] = {
    "mmd2": lambda x, y, **o: mmd_any.mmd2(x, y, **o),
    "mmd": lambda x, y, **o: mmd_any.mmd(x, y, **o),
    "kernel_matrix": lambda x, y, **o: mmd_any.kernel_matrix(x, y, **o),
    "kid": lambda x, y, **o: mmd_any.kid(x, y, subsets=3, subset_size=15, seed=0, **o).mean,
    "mmd2_rff": lambda x, y, **o: mmd_any.mmd2_rff(x, y, seed=0, n_features=32, **o),
    "mmd_test": lambda x, y, **o: mmd_any.mmd_test(x, y, n_permutations=19, seed=0, **o).statistic,
    "witness": lambda x, y, **o: mmd_any.witness(x, y, **o),
    "explain": lambda x, y, **o: (
        mmd_any.explain(x, y, top=3, n_permutations=19, seed=0, **o).feature_scores
    ),
    "StreamingMMD": _streaming_value,
    "MMDLoss": _loss,
}


def forall(backend: Backend, *strategies: Any) -> Callable[[Callable[..., None]], None]:
    """Run a property on ``backend`` for Hypothesis examples of ``strategies``.

    Used as a decorator inside a test; the property runs at once. Backends with
    slow calls get :data:`SLOW_EXAMPLE_SHARE` of the profile's examples.
    """

    def run(prop: Callable[..., None]) -> None:
        examples = settings.default.max_examples
        if backend.slow_calls:
            examples = max(3, int(examples * SLOW_EXAMPLE_SHARE))
        settings(max_examples=examples)(given(*strategies)(prop))()

    return run


def eps(dtype: str) -> float:
    """Machine epsilon of a NumPy dtype name."""
    return float(np.finfo(dtype).eps)


#: ``dtype`` default of :func:`assert_array_like`: the dtype of ``like``.
_LIKE_DTYPE: Any = object()


def assert_array_like(
    result: Any, like: Any, *, shape: tuple[int, ...] | None, dtype: Any = _LIKE_DTYPE
) -> None:
    """``result`` is an array of ``like``'s namespace, on ``like``'s device, of ``shape``
    and ``dtype`` (``like``'s own dtype unless given; ``None``: not checked).

    The checks that array-api-extra's ``xp_assert_close`` makes before it compares
    values (namespace, shape, dtype, no NumPy scalar for a 0-d array), plus the
    device. ``shape`` must be named at each call; ``None`` leaves it unchecked.
    """
    assert array_api_compat.is_array_api_obj(result), f"not an array: {type(result)}"
    assert not isinstance(result, np.generic), f"a NumPy scalar ({type(result)}), not an array"
    expected_ns = array_api_compat.array_namespace(like)
    found_ns = array_api_compat.array_namespace(result)
    assert found_ns is expected_ns, f"namespace {found_ns.__name__}, not {expected_ns.__name__}"
    if shape is not None:
        assert tuple(result.shape) == tuple(shape), f"shape {result.shape}, not {shape}"
    if dtype is _LIKE_DTYPE:
        dtype = like.dtype
    if dtype is not None:
        assert result.dtype == dtype, f"dtype {result.dtype}, not {dtype}"
    found, expected = array_api_compat.device(result), array_api_compat.device(like)
    assert found == expected, f"device {found!r}, not {expected!r} (the inputs')"


def assert_result_like(
    result: Any,
    backend: Backend,
    dtype: Any | None = None,
    *,
    like: Any = None,
    shape: tuple[int, ...] | None = (),
) -> None:
    """An array of the backend's own namespace (0-d unless ``shape`` says otherwise),
    on the device of ``like`` (an input of the call), of ``dtype``.

    ``dtype`` defaults to ``like``'s dtype; without ``like`` it is checked only when
    given, and the device is that of an array the backend makes by default.
    """
    probe = backend.from_numpy(np.zeros((1, 1)))
    expected_ns = array_api_compat.array_namespace(probe)
    if like is None:
        like = probe
    else:
        assert array_api_compat.array_namespace(like) is expected_ns, "`like` is not the backend's"
        if dtype is None:
            dtype = like.dtype
    assert_array_like(result, like, shape=shape, dtype=dtype)
