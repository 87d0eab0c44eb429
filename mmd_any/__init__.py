"""mmd_any: Maximum Mean Discrepancy written once for every array-API library.

The public functions take NumPy, PyTorch, CuPy, JAX, Dask or array-api-strict
arrays and return results in the same library, dtype and device.
"""

from . import (
    _dask,  # noqa: F401 - registers the Dask adapter with the engine
    _torch,  # noqa: F401 - registers torch's hand-written single-tile gradient
    approximate,
    bandwidths,
    kernels,
    presets,
)
from .approximate import mmd2_rff
from .estimators import ESTIMATORS, KID, kid, mmd, mmd2
from .explain import Explanation, explain
from .matrices import kernel_matrix
from .streaming import StreamingMMD
from .two_sample import MMDTestResult, PermutationsWarning, mmd_test
from .witness import witness

__all__ = [
    "ESTIMATORS",
    "KID",
    "Explanation",
    "MMDTestResult",
    "PermutationsWarning",
    "StreamingMMD",
    "approximate",
    "bandwidths",
    "explain",
    "kernel_matrix",
    "kernels",
    "kid",
    "mmd",
    "mmd2",
    "mmd2_rff",
    "mmd_test",
    "presets",
    "witness",
]
__version__ = "0.1.0"
