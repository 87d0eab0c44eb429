"""The witness function: where the two samples differ.

``f(t) = mean_i k(t, x_i) − mean_j k(t, y_j)`` is the function of the kernel's
space that separates the samples best (the MMD is its norm): large where ``x``
has more mass than ``y``, negative where ``y`` has more, and the biased MMD² is
``mean_i f(x_i) − mean_j f(y_j)``. It is one weighted sum of kernel values per
point, ``K w`` with the MMD's weight vector ``w`` (``1/n`` on ``x``, ``−1/m`` on
``y``), taken by the engine tile by tile (:meth:`mmd_any._gram.PooledGram.weighted_sums`).
"""

from __future__ import annotations

from typing import Any

from . import _plan, _scaling
from ._compat import full_precision
from ._docstrings import fill, quoted
from ._gram import PooledGram
from ._typing import Array
from ._validation import Samples, finalize, prepare_samples
from .estimators import plan_for
from .kernels import ALIASES, KERNELS, Kernel, as_kernel

__all__ = ["witness"]


def _points(samples: Samples, points: object, check_finite: bool) -> tuple[Array, Any]:
    """``points`` validated against ``x`` (library, device, features) in the samples'
    dtype, and its deferred finiteness flag (lazy arrays)."""
    pair = prepare_samples(samples.x, points, check_finite=check_finite, names=("x", "points"))
    values = pair.y
    if values.dtype != samples.dtype:
        values = samples.xp.astype(values, samples.dtype)
    return values, pair.finite


def witness_values(
    samples: Samples,
    kernel: Kernel,
    points: Array | None,
    memory_budget: int | None,
    block_size: int | None,
) -> Array:
    """The witness of validated samples at ``points`` (None: at ``[x; y]``), in the
    samples' compute dtype, before :func:`mmd_any._validation.finalize`."""
    xp, x, y = samples.xp, samples.x, samples.y
    n, m = x.shape[0], y.shape[0]
    # zero_sum=False: the witness is a kernel value, not a form whose weights sum to
    # 0, so the dot-product kernels must see the data as given (centring would add
    # a constant to f); the bandwidths are those mmd2 resolves from x and y
    if points is None:
        gram = PooledGram(xp, kernel, [x, y], zero_sum=False)
        weights = gram.sample_weights(((1.0 / n, -1.0 / m),))
    else:
        pooled = xp.concat([x, y], axis=0)
        _, params, scale = _scaling.resolve_parameters(xp, kernel, pooled, [n, m], zero_sum=False)
        gram = PooledGram(xp, kernel, [x, y, points], params, scale, zero_sum=False)
        weights = gram.sample_weights(((1.0 / n, -1.0 / m, 0.0),))[:, : n + m]
    plan = plan_for(samples, gram.size, 1, memory_budget, block_size, terms=gram.n_terms)
    values = gram.weighted_sums(weights, n + m, plan)[0, :]
    return values if points is None else values[n + m :]


@fill(KERNEL_NAMES=quoted(KERNELS), KERNEL_ALIASES=quoted(ALIASES))
def witness(
    x: Array,
    y: Array,
    points: Array | None = None,
    *,
    kernel: str | Kernel = "gaussian",
    bandwidth: Any = None,
    block_size: int | None = None,
    memory_budget: int | None = None,
    check_finite: bool = True,
) -> Array:
    """The MMD witness function ``f(t) = mean_i k(t, x_i) − mean_j k(t, y_j)``.

    ``f`` is large where ``x`` has more mass than ``y`` and negative where ``y``
    has more; ``mean(f(x)) − mean(f(y))`` is the biased MMD² (to rounding).

    Parameters
    ----------
    x : array, shape (n, d) or (n,)
        First sample; any array-API array, a nested sequence or a table (as for
        :func:`mmd_any.mmd2`).
    y : array, shape (m, d) or (m,)
        Second sample, same library, device and number of features.
    points : array, shape (p, d) or (p,), optional
        Where to evaluate ``f``: the same library, device and number of
        features. None (default): at the pooled rows ``[x; y]``, in that order.
    kernel : str or Kernel
        A :mod:`mmd_any.kernels` instance or its name ({KERNEL_NAMES}; aliases
        {KERNEL_ALIASES}). Default: Gaussian, median bandwidth.
    bandwidth : float, sequence of float, array, str or BandwidthRule, optional
        The bandwidth of a named radial kernel (see :func:`mmd_any.mmd2`). A
        data-driven bandwidth is resolved from ``x`` and ``y`` exactly as
        :func:`mmd_any.mmd2` resolves it, never from ``points``.
    block_size, memory_budget : int, optional
        Tile rows and the memory budget in bytes (see :func:`mmd_any.mmd2`).
    check_finite : bool
        Raise ``ValueError`` on NaN/inf in ``x``, ``y`` or ``points``.

    Returns
    -------
    array, shape (n + m,) or (p,)
        In the inputs' namespace, dtype and device; differentiable in ``x``,
        ``y`` and ``points`` where the library records gradients (torch, JAX).

    Raises
    ------
    ValueError, TypeError
        As :func:`mmd_any.mmd2` for bad samples and kernels; ``points`` of
        another library, device or number of features.

    Notes
    -----
    The engine takes ``K w`` tile by tile: on the pooled rows only the tiles on
    and above the diagonal are evaluated (each serves its rows and its
    columns), so the cost is that of one exact :func:`mmd_any.mmd2`; at ``p``
    other points it is ``p · (n + m)`` kernel values. No host synchronisation,
    no ``(n + m)²`` memory.

    Examples
    --------
    >>> import numpy as np
    >>> import mmd_any
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 2))
    >>> y = np.concatenate([rng.normal(size=(180, 2)), rng.normal(6.0, 0.3, size=(20, 2))])
    >>> f = mmd_any.witness(x, y)              # at the 400 pooled rows
    >>> bool(f[200:][-20:].max() < f[200:][:180].min())  # y's far cluster: most negative
    True
    >>> gap = float(f[:200].mean() - f[200:].mean()) - float(mmd_any.mmd2(x, y))
    >>> abs(gap) < 1e-12  # the biased MMD²
    True
    >>> mmd_any.witness(x, y, np.array([[6.0, 6.0], [0.0, 0.0]])).shape
    (2,)
    """
    kernel = as_kernel(kernel, bandwidth)
    block_size = _plan.check_block_size(block_size)
    memory_budget = _plan.check_memory_budget(memory_budget)
    samples = prepare_samples(x, y, check_finite=check_finite)
    values_at, finite = (None, None) if points is None else _points(samples, points, check_finite)
    with full_precision(samples.xp, samples.device):
        values = witness_values(samples, kernel, values_at, memory_budget, block_size)
    if finite is not None:
        values = samples.xp.where(finite, values, samples.xp.nan)
    return finalize(samples, values, f"the witness of {kernel!r}")
