"""Full float32 precision for the engine's matmuls, whatever the caller's global setting.

A squared distance from one matmul, ``‖a‖² + ‖b‖² − 2a·b``, cancels: in TF32 or
bfloat16 (10 or 8 mantissa bits) its error is ``2⁻¹¹·‖z‖²`` or worse, far above
most distances between nearby points, and the MMD² itself is a difference of
kernel sums that cancels again. Two libraries lower float32 matmuls by default
or on request:

* **JAX** on recent NVIDIA GPUs uses TF32/bfloat16 passes unless
  ``jax_default_matmul_precision`` says otherwise; inside :func:`full_precision`
  every dot is traced with ``Precision.HIGHEST`` (visible in the jaxpr; tested).
* **torch** when the caller allowed TF32 (``torch.set_float32_matmul_precision``
  "high"/"medium", or ``torch.backends.cuda.matmul.fp32_precision = "tf32"``):
  inside :func:`full_precision` CUDA float32 matmuls are IEEE (``"ieee"``), and
  the caller's setting is restored afterwards (tested on the ``meta`` device by
  reading the flag while the matmuls dispatch; CPU matmuls have no TF32 and are
  left alone). The backward pass of a loss runs later, under the caller's
  setting: gradients tolerate TF32.
* **CuPy** decides with the ``CUPY_TF32`` environment variable at import; it is
  off by default, and mmd_any does not turn it on. Keep it off.

SciPy's and scikit-learn's test suites pin ``jax_default_matmul_precision`` for
the same reason. This is the only backend-specific numerics code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from array_api_compat import (
    is_array_api_strict_namespace,
    is_jax_namespace,
    is_numpy_namespace,
    is_torch_namespace,
)

__all__ = ["full_precision"]


@contextmanager
def full_precision(xp: Any, device: Any = None) -> Iterator[None]:
    """Run the enclosed array calls of ``xp`` (on ``device``) with IEEE float32 matmuls.

    For the NumPy-backed namespaces (NumPy, array-api-strict) it also silences
    NumPy's floating-point warnings: the engine reaches the ends of the float
    range on purpose (a bandwidth beyond the dtype's range is the kernel's
    limit, an exp underflows to 0), and a non-finite result from finite inputs
    is refused with a ``ValueError`` that says what overflowed
    (:func:`mmd_any._namespace.refuse_overflow`), not left to a warning.
    """
    if is_numpy_namespace(xp) or is_array_api_strict_namespace(xp):
        import numpy as np

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
