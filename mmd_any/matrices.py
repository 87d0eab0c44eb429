"""The Gram matrix as an array, for the callers who want the whole of it.

:func:`mmd_any.mmd2` and the tests never build it: they reduce tiles of it on
the fly (:mod:`mmd_any._gram`). :func:`kernel_matrix` runs the same engine
(the same rescaling, centring and bandwidth resolution, so its entries are the
values the estimators sum) and returns all ``n × m`` entries.
"""

from __future__ import annotations

from typing import Any

from . import _gram, _plan
from ._compat import full_precision
from ._docstrings import fill, quoted
from ._typing import Array
from ._validation import prepare_samples, prepare_single, refuse_overflow
from .kernels import ALIASES, KERNELS, Kernel, as_kernel

__all__ = ["kernel_matrix"]


@fill(KERNEL_NAMES=quoted(KERNELS), KERNEL_ALIASES=quoted(ALIASES))
def kernel_matrix(
    x: Array,
    y: Array | None = None,
    *,
    kernel: str | Kernel = "gaussian",
    bandwidth: Any = None,
    standardize: bool = False,
    memory_budget: int | None = None,
    check_finite: bool = True,
) -> Array:
    """The Gram matrix ``K[i, j] = k(x_i, y_j)``.

    Data-driven bandwidths are computed from the pooled sample ``[x; y]``
    (from ``x`` alone when ``y`` is None). The whole ``n × m`` matrix is
    returned, so its memory is the caller's choice; :func:`mmd_any.mmd2`
    never builds it.

    Parameters
    ----------
    x : array, shape (n, d) or (n,)
    y : array, shape (m, d) or (m,), optional
        Defaults to ``x``.
    kernel : str or Kernel
        A :mod:`mmd_any.kernels` instance or its lower-case name ({KERNEL_NAMES};
        aliases {KERNEL_ALIASES}).
    bandwidth : float, sequence of float, array, str or BandwidthRule, optional
        The bandwidth of a named radial kernel (see :func:`as_kernel`):
        ``kernel="gaussian", bandwidth=1.0`` is ``kernel=Gaussian(1.0)``.
        None: the kernel's default (the median rule).
    standardize : bool
        Scale every feature by the pooled sample's mean and standard
        deviation before the kernel (bandwidth rules then see standardised
        data; a fixed bandwidth is in standard deviations).
    memory_budget : int, optional
        Bytes for the temporaries of one block of rows (as for
        :func:`mmd_any.mmd2`); the result itself is ``n × m``.
    check_finite : bool
        Raise ``ValueError`` on NaN/inf in the inputs.

    Returns
    -------
    array, shape (n, m)
        In the inputs' namespace, dtype and device.

    Examples
    --------
    >>> import numpy as np
    >>> import mmd_any
    >>> mmd_any.kernel_matrix(np.eye(2), kernel="linear")
    array([[1., 0.],
           [0., 1.]])
    >>> mmd_any.kernel_matrix(np.zeros((1, 2)), np.ones((1, 2)), kernel="rbf", bandwidth=1.0)
    array([[0.36787944]])
    """
    kernel = as_kernel(kernel, bandwidth)
    memory_budget = _plan.check_memory_budget(memory_budget)
    if y is None:
        samples = prepare_single(x, check_finite=check_finite, standardize=standardize)
        n = samples.x.shape[0]
        stacked, rows, cols = [samples.x], slice(0, n), slice(0, n)
    else:
        samples = prepare_samples(x, y, check_finite=check_finite, standardize=standardize)
        n, m = samples.x.shape[0], samples.y.shape[0]
        stacked, rows, cols = [samples.x, samples.y], slice(0, n), slice(n, n + m)
    xp = samples.xp
    with full_precision(xp, samples.device):
        gram = _gram.PooledGram(xp, kernel, stacked, zero_sum=False)
        plan = _plan.make_plan(
            xp,
            samples.device,
            gram.size,
            _plan.itemsize(xp, samples.dtype),
            terms=gram.n_terms,
            memory_budget=memory_budget,
        )
        tile = gram.block(rows, cols, plan)
    refuse_overflow(samples, tile, f"the kernel matrix of {kernel!r}")
    if samples.finite is not None:
        tile = xp.where(samples.finite, tile, xp.nan)
    return tile if tile.dtype == samples.result_dtype else xp.astype(tile, samples.result_dtype)
