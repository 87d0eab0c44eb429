"""Everything that differs between array libraries: the only module that names one.

The rest of the package computes through the array-API namespace of its inputs;
what the standard leaves open is decided here, once per concept:

* **Namespace**: the common namespace of the two samples (plain Python data
  counts as NumPy), and arrays of a library chosen by name (the CLI's
  ``--backend``).
* **Devices**: whether a device is the host CPU, whether the engine may branch
  on a value there, how much memory is free, whether sorting is slow.
* **Precision**: IEEE float32 matmuls whatever the caller's global setting.
* **Host reads**: whether a value can be read without a synchronisation, and
  the one transfer of a result the caller asked for as Python numbers.
* **Autodiff and laziness**: constants for autodiff (torch, JAX), one chunk
  for small all-pairs work (Dask), the hint for an unknown Dask shape.

Adapters that run the engine through a library's own execution model (Dask's
task graphs in :mod:`mmd_any._dask`, torch's autograd in :mod:`mmd_any._torch`)
plug in through :mod:`mmd_any._registry`; they are the other modules that name
a library, and the architecture tests keep it so.

Host (eager, CPU): NumPy, array-api-strict (its extra devices are host memory),
torch ``cpu``, Dask (its chunks run on the workers' CPUs). Everything else is an
accelerator plan: torch ``cuda``/``mps``/``xpu`` and ``meta``, CuPy, and every
JAX device (XLA fuses inside a tile and unrolls Python loops, so JAX always gets
the big-tile plan, on CPU too).

**Precision.** A squared distance from one matmul, ``‖a‖² + ‖b‖² − 2a·b``,
cancels: in TF32 or bfloat16 (10 or 8 mantissa bits) its error is
``2⁻¹¹·‖z‖²`` or worse, far above most distances between nearby points, and the
MMD² itself is a difference of kernel sums that cancels again. JAX on recent
NVIDIA GPUs uses TF32/bfloat16 passes unless ``jax_default_matmul_precision``
says otherwise (inside :func:`full_precision` every dot is traced with
``Precision.HIGHEST``); torch does when the caller allowed TF32 (inside
:func:`full_precision` CUDA float32 matmuls are IEEE, and the caller's setting
is restored afterwards; the backward pass of a loss runs later, under the
caller's setting: gradients tolerate TF32). CuPy decides with the ``CUPY_TF32``
environment variable at import; it is off by default, and mmd_any does not turn
it on. SciPy's and scikit-learn's test suites pin ``jax_default_matmul_precision``
for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from array_api_compat import (
    array_namespace,
    is_array_api_obj,
    is_array_api_strict_namespace,
    is_cupy_array,
    is_cupy_namespace,
    is_dask_array,
    is_dask_namespace,
    is_jax_array,
    is_jax_namespace,
    is_lazy_array,
    is_numpy_namespace,
    is_torch_array,
    is_torch_namespace,
)

from ._typing import Array

__all__ = [
    "BACKENDS",
    "array_on",
    "as_0d",
    "branches_cheaply",
    "free_memory",
    "full_precision",
    "host_floats",
    "is_host",
    "namespace_of",
    "one_block",
    "sorts_slowly",
    "stop_gradient",
    "unknown_size_hint",
    "values_readable",
]


def namespace_of(x: object, y: object, names: tuple[str, str] = ("x", "y")) -> Any:
    """The namespace of the array inputs; plain Python data counts as NumPy."""
    arrays = [a for a in (x, y) if is_array_api_obj(a)]
    if not arrays:
        return array_namespace(np.empty(0))
    try:
        return array_namespace(*arrays)
    except TypeError as exc:
        raise TypeError(
            f"`{names[0]}` ({type(x).__module__}.{type(x).__qualname__}) and `{names[1]}` "
            f"({type(y).__module__}.{type(y).__qualname__}) come from different "
            "array libraries; convert one so that both share a namespace"
        ) from exc


#: The array libraries :func:`array_on` creates arrays of, by name (the CLI's ``--backend``).
BACKENDS = ("numpy", "torch", "cupy", "jax")


def array_on(values: np.ndarray, backend: str, device: str | None = None) -> Array:
    """``values`` as an array of the library named ``backend`` on ``device``
    (a string such as ``"cuda:0"``; None: the library's default).

    Raises
    ------
    ImportError
        The library is not installed.
    ValueError
        An unknown ``backend``, or a device the library does not have here.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid names are {list(BACKENDS)}")
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(f"numpy runs on the cpu, not on {device!r}")
        return values
    if backend == "torch":
        import torch

        if (device or "").startswith("cuda") and not torch.cuda.is_available():
            raise ValueError("torch has no CUDA device on this machine")
        return torch.from_numpy(values).to(device or "cpu")
    if backend == "cupy":
        import cupy

        with cupy.cuda.Device(int(device.split(":")[-1]) if device else 0):
            return cupy.asarray(values)
    import jax

    if values.dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    target = None
    if device:
        platform, _, index = device.partition(":")
        target = jax.devices(platform)[int(index) if index else 0]
    return jax.device_put(jax.numpy.asarray(values), target)


def is_host(xp: Any, device: Any) -> bool:
    """Whether arrays of ``xp`` on ``device`` are computed eagerly by the host CPU."""
    if is_jax_namespace(xp) or is_cupy_namespace(xp):
        return False
    if is_torch_namespace(xp):
        return getattr(device, "type", str(device)) == "cpu"
    return True  # NumPy, array-api-strict (its extra devices are host memory), Dask


def branches_cheaply(xp: Any, device: Any) -> bool:
    """Whether the engine may read a flag and take a data-dependent branch: eager
    host arrays, outside a ``torch.compile`` trace (where it would break the graph)."""
    if is_dask_namespace(xp) or not is_host(xp, device):
        return False
    if is_torch_namespace(xp):
        import torch

        return not torch.compiler.is_compiling()
    return True


def free_memory(xp: Any, device: Any) -> int | None:
    """Free bytes on ``device`` where the library reports it, else None."""
    try:
        if is_torch_namespace(xp) and getattr(device, "type", None) == "cuda":
            import torch

            return int(torch.cuda.mem_get_info(device)[0])
        if is_cupy_namespace(xp):
            import cupy

            with cupy.cuda.Device(getattr(device, "id", 0)):
                return int(cupy.cuda.runtime.memGetInfo()[0])
        if is_jax_namespace(xp) and device is not None:
            stats = device.memory_stats() or {}
            if "bytes_limit" in stats:
                return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    except (AttributeError, RuntimeError, TypeError, ValueError):
        return None
    return None


def sorts_slowly(xp: Any, device: Any) -> bool:
    """Whether selecting an order statistic by counting beats a full sort here.

    Measured on 499,500 float32 values (the pairs of the median's 1000-point
    subsample): a sort takes 106 ms in XLA on the CPU and 41 ms in torch on the
    CPU, against 1.5 ms in NumPy; the 64 counting passes of the bisection are
    one fused loop under ``jax.jit`` and a few ms in torch. On GPUs torch and
    CuPy sort in well under a millisecond, fewer launches than 64 passes.
    """
    if is_jax_namespace(xp):
        return True
    return is_torch_namespace(xp) and getattr(device, "type", str(device)) == "cpu"


@contextmanager
def full_precision(xp: Any, device: Any = None) -> Iterator[None]:
    """Run the enclosed array calls of ``xp`` (on ``device``) with IEEE float32 matmuls.

    For the NumPy-backed namespaces (NumPy, array-api-strict) it also silences
    NumPy's floating-point warnings: the engine reaches the ends of the float
    range on purpose (a bandwidth beyond the dtype's range is the kernel's
    limit, an exp underflows to 0), and a non-finite result from finite inputs
    is refused with a ``ValueError`` that says what overflowed
    (:func:`mmd_any._validation.refuse_overflow`), not left to a warning.
    """
    if is_numpy_namespace(xp) or is_array_api_strict_namespace(xp):
        with np.errstate(all="ignore"):
            yield
        return
    if is_jax_namespace(xp):
        import jax

        with jax.default_matmul_precision("highest"):
            yield
        return
    if is_torch_namespace(xp) and getattr(device, "type", None) != "cpu":
        import torch

        matmul = torch.backends.cuda.matmul
        if hasattr(matmul, "fp32_precision"):
            previous = matmul.fp32_precision
            matmul.fp32_precision = "ieee"
            try:
                yield
            finally:
                matmul.fp32_precision = previous
            return
        previous = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision("highest")
        try:
            yield
        finally:
            torch.set_float32_matmul_precision(previous)
        return
    yield


def values_readable(a: Array) -> bool:
    """Whether ``bool(a)`` is cheap and allowed (not dask, not a JAX tracer)."""
    if is_dask_array(a):
        return False
    if not is_lazy_array(a):
        return True
    # JAX arrays count as lazy; eager ones can be read, traced ones cannot.
    try:
        bool(array_namespace(a).all(a))
    except Exception:  # noqa: BLE001 - tracers raise backend-specific errors
        return False
    return True


def host_floats(values: Array) -> list[float]:
    """A 1-D array's entries as Python floats, in one device-to-host transfer.

    The one place where a value is read on the host on purpose (the p-values
    of a test, which the caller asked for as numbers). torch and CuPy copy the
    whole array once; NumPy, JAX and other DLPack-capable CPU arrays convert
    directly; anything else falls back to one read per entry.
    """
    if is_torch_array(values):
        return values.detach().cpu().tolist()
    if is_cupy_array(values):
        return values.get().tolist()
    try:
        return np.asarray(values, dtype=np.float64).tolist()
    except (TypeError, ValueError, RuntimeError):
        pass
    try:
        return np.from_dlpack(values).astype(np.float64).tolist()
    except (TypeError, ValueError, RuntimeError, BufferError, AttributeError):
        return [float(values[i]) for i in range(values.shape[0])]


def as_0d(xp: Any, value: Array) -> Array:
    """Make sure a reduction comes back as a 0-d array, not a NumPy scalar."""
    if isinstance(value, np.generic):
        return xp.asarray(value)
    return value


def stop_gradient(a: Array) -> Array:
    """``a`` as a constant for automatic differentiation (torch, JAX); else ``a``.

    The array API has no notion of gradients; this is the one place where the
    library names the two autodiff libraries it supports.
    """
    if is_torch_array(a):
        return a.detach()
    if is_jax_array(a):
        import jax

        return jax.lax.stop_gradient(a)
    return a


def one_block(a: Array) -> Array:
    """``a`` as a single block: a Dask array is rechunked to one chunk (so that
    small all-pairs work, such as the median of a subsample, is a few tasks
    instead of thousands); any other array is returned as is."""
    return a.rechunk(a.shape) if is_dask_array(a) else a


def unknown_size_hint(a: Array, name: str) -> str:
    """What to do about an array of unknown size (NaN sizes in Dask, None in the standard)."""
    if is_dask_array(a):
        return (
            f"call `{name}.compute_chunk_sizes()` (or `{name}.rechunk(...)` with known chunks) "
            "before passing it"
        )
    return "compute the shape before passing it"
