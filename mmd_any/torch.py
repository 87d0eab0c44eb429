"""PyTorch adapter: a drop-in ``MMDLoss`` module for training loops.

``import mmd_any`` never imports torch; ``import mmd_any.torch`` does. The
module only translates the seeds' arguments into an :mod:`mmd_any.kernels`
kernel; the computation is :func:`mmd_any.mmd2`, written once for every array
library.

Compared with the widely copied ``MMDLoss`` of the seeds it is a drop-in
(same constructor and ``forward(source, target)``, the same values) with the
defects fixed:

* ``fix_sigma`` is honoured (the seeds silently ignored it);
* ``n ≠ m`` gives the V-statistic of the two samples (the seeds' broadcast of
  ``XX + YY − XY − YX`` is wrong or crashes);
* memory is O(batch² ) for the kernel tile, not O(batch² · d) from broadcasting;
* integer, float16 and bfloat16 inputs work (computed in float32, returned in
  the input's floating dtype);
* the data-driven bandwidth is a constant for autograd (as the seeds' ``.data``
  made it); pass a kernel whose rule has ``detach=False`` to differentiate it.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ._checks import check_choice, check_real
from ._docstrings import choices, fill
from ._plan import check_memory_budget
from .bandwidths import Fixed, MeanSquaredDistance, seed_scales
from .estimators import ESTIMATORS, mmd2
from .kernels import Gaussian, Kernel, Linear, as_kernel

__all__ = ["MMDLoss", "seed_kernel"]

_KERNEL_TYPES = ("rbf", "linear")


def seed_kernel(
    kernel_type: str = "rbf",
    kernel_mul: float = 2.0,
    kernel_num: int = 5,
    fix_sigma: float | None = None,
) -> Kernel:
    """The kernel of the seeds' ``MMDLoss`` arguments.

    ``"rbf"``: ``Σ_i exp(−‖x−y‖² / (b · kernel_mul^(i − kernel_num//2)))`` with
    ``b = fix_sigma`` or, when None, the mean off-diagonal squared distance of
    the pooled batch. ``"linear"``: ``x · y`` (MMD² = ‖mean(x) − mean(y)‖²).

    Raises
    ------
    TypeError
        A ``kernel_type`` that is not a string, a non-real ``kernel_mul`` or
        ``fix_sigma``, a non-integer ``kernel_num`` (floats, even ``5.0``, and
        bools are refused).
    ValueError
        An unknown ``kernel_type``, ``kernel_mul`` or ``fix_sigma`` ≤ 0 or not
        finite, ``kernel_num`` < 1, or a ladder whose multipliers overflow a
        float (:func:`mmd_any.bandwidths.seed_scales`).
    """
    check_choice(kernel_type, "kernel_type", _KERNEL_TYPES)
    if kernel_type == "linear":
        return Linear()
    if fix_sigma is None:
        return Gaussian(MeanSquaredDistance.seed(kernel_mul, kernel_num))
    fix_sigma = check_real(fix_sigma, "fix_sigma", lower=0.0, expected="be a positive float")
    # exp(−D / (b·s²)) = exp(−D / (2σ²)) with σ = sqrt(b/2)·s
    base = math.sqrt(fix_sigma / 2.0)
    return Gaussian(Fixed([base * s for s in seed_scales(kernel_mul, kernel_num)]))


@fill(ESTIMATOR_CHOICES=choices(ESTIMATORS))
class MMDLoss(nn.Module):
    """Squared MMD between a source and a target batch, as a loss.

    Parameters
    ----------
    kernel_type : {"rbf", "linear"}
        The seeds' kernel family.
    kernel_mul, kernel_num : float, int
        Ratio (in σ²) and number of the summed Gaussian bandwidths.
    fix_sigma : float, optional
        The seeds' fixed bandwidth ``b`` (the kernel is ``exp(−D/(b·…))``);
        None means the mean off-diagonal squared distance of the batch.
    kernel : mmd_any.kernels.Kernel or str, optional
        Any kernel, or its name; overrides the four seed arguments.
    bandwidth : float, sequence of float, array, str or BandwidthRule, optional
        With ``kernel`` a name, its bandwidth (as for :func:`mmd_any.mmd2`):
        ``MMDLoss(kernel="gaussian", bandwidth=1.0)`` is
        ``MMDLoss(kernel=Gaussian(1.0))``. The seeds' ladder takes ``fix_sigma``
        instead: ``bandwidth`` without ``kernel`` is refused.
    estimator : {ESTIMATOR_CHOICES}
        ``"biased"`` (the seeds') is ≥ 0; ``"unbiased"`` has no bias towards
        separating small batches.
    memory_budget : int, optional
        Bytes the kernel tiles may take (see :func:`mmd_any.mmd2`): on a GPU the
        batch is one tile whenever it fits, the fewest kernel launches.

    Raises
    ------
    TypeError
        Unexpected keyword arguments, a ``kernel`` that is not a Kernel or a
        kernel name, and the type errors of :func:`seed_kernel`.
    ValueError
        An unknown ``estimator``, a ``memory_budget`` < 1, a ``bandwidth``
        without a kernel name (:func:`mmd_any.kernels.as_kernel`), and the
        value errors of :func:`seed_kernel`.

    Examples
    --------
    >>> import torch
    >>> from mmd_any.torch import MMDLoss
    >>> loss = MMDLoss()(torch.tensor([[1, 2, 3]]), torch.tensor([[1, 1, 2]]))
    >>> round(loss.item(), 4)
    6.1863
    >>> MMDLoss(kernel="gaussian", bandwidth=2.0)
    MMDLoss(kernel=Gaussian(bandwidth=2.0), estimator='biased')
    """

    def __init__(
        self,
        kernel_type: str = "rbf",
        kernel_mul: float = 2.0,
        kernel_num: int = 5,
        fix_sigma: float | None = None,
        *,
        kernel: Kernel | str | None = None,
        bandwidth: Any = None,
        estimator: str = "biased",
        memory_budget: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if kwargs:
            raise TypeError(f"unexpected arguments {sorted(kwargs)}")
        self.kernel_type = kernel_type
        self.kernel_mul = kernel_mul
        self.kernel_num = kernel_num
        self.fix_sigma = fix_sigma
        self.estimator = check_choice(estimator, "estimator", ESTIMATORS)
        self.memory_budget = check_memory_budget(memory_budget)
        if kernel is None and bandwidth is not None:
            raise ValueError(
                "`bandwidth` goes with `kernel=` a kernel name (e.g. kernel='gaussian'); "
                "the seeds' rbf ladder takes `fix_sigma`"
            )
        self.kernel = (
            as_kernel(kernel, bandwidth)
            if kernel is not None
            else seed_kernel(kernel_type, kernel_mul, kernel_num, fix_sigma)
        )

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """MMD² of the two batches: a 0-d tensor on their device, differentiable."""
        return mmd2(
            source,
            target,
            kernel=self.kernel,
            estimator=self.estimator,
            memory_budget=self.memory_budget,
            check_finite=False,
        )

    def extra_repr(self) -> str:
        return f"kernel={self.kernel!r}, estimator={self.estimator!r}"
