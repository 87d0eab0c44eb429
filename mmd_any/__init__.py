"""mmd_any: Maximum Mean Discrepancy written once for every array-API library.

The public functions take NumPy, PyTorch, CuPy, JAX, Dask or array-api-strict
arrays and return results in the same library, dtype and device.
"""

from . import bandwidths, kernels, presets
from .estimators import ESTIMATORS, KID, kid, mmd, mmd2
from .kernels import kernel_matrix
from .two_sample import MMDTestResult, mmd_test

__all__ = [
    "ESTIMATORS",
    "KID",
    "MMDTestResult",
    "bandwidths",
    "kernel_matrix",
    "kernels",
    "kid",
    "mmd",
    "mmd2",
    "mmd_test",
    "presets",
]
__version__ = "0.1.0"
