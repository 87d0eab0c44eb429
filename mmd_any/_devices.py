"""What the planner needs to know about a device: is it the host CPU, and how much
memory is free on it. The only backend-specific code of the planning layer.

Host: NumPy, array-api-strict, torch ``cpu``, Dask (its chunks run on the
workers' CPUs). Everything else is an accelerator plan: torch ``cuda``/``mps``/
``xpu`` and ``meta``, CuPy, and every JAX device (XLA fuses inside a tile and
unrolls Python loops, so JAX always gets the big-tile plan, on CPU too).
"""

from __future__ import annotations

from typing import Any

from array_api_compat import (
    is_cupy_namespace,
    is_dask_namespace,
    is_jax_namespace,
    is_torch_namespace,
)

__all__ = ["branches_cheaply", "free_memory", "is_host", "sorts_slowly"]


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
