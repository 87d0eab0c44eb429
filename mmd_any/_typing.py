"""The type names the package's signatures share.

The array API standard has no runtime array type: every library's arrays are
accepted, and ``Array`` documents where one is expected (as array-api-compat's
own ``Array`` alias does).
"""

from __future__ import annotations

from typing import Any, TypeAlias

__all__ = ["Array", "Namespace"]

#: An array of any array-API library (NumPy, torch, CuPy, JAX, Dask, array-api-strict).
Array: TypeAlias = Any
#: An array-API namespace, as :func:`array_api_compat.array_namespace` returns it.
Namespace: TypeAlias = Any
