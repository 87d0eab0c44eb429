"""The seeds' MMD code, kept in its widely copied shape as the benchmarks' baseline.

Written from the two seed blog posts (``../shared/seeds/``): ``guassian_kernel`` and
``get_MMD`` (here ``get_mmd``) of the first, the ``MMDLoss`` module of the second,
defects included (``(N, N, d)`` broadcast temporaries, ``fix_sigma`` ignored by the
module). Used only by the benchmarks; names lower-cased for ruff.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def guassian_kernel(
    source: Any, target: Any, kernel_mul: float = 2.0, kernel_num: int = 5, fix_sigma: Any = None
) -> Any:
    """The multi-bandwidth Gaussian Gram matrix of ``[source; target]``."""
    n_samples = int(source.size()[0]) + int(target.size()[0])
    total = torch.cat([source, target], dim=0)
    total0 = total.unsqueeze(0).expand(int(total.size(0)), int(total.size(0)), int(total.size(1)))
    total1 = total.unsqueeze(1).expand(int(total.size(0)), int(total.size(0)), int(total.size(1)))
    l2_distance = ((total0 - total1) ** 2).sum(2)
    bandwidth = fix_sigma if fix_sigma else torch.sum(l2_distance.data) / (n_samples**2 - n_samples)
    bandwidth /= kernel_mul ** (kernel_num // 2)
    bandwidth_list = [bandwidth * (kernel_mul**i) for i in range(kernel_num)]
    return sum(torch.exp(-l2_distance / b) for b in bandwidth_list)


def get_mmd(
    source: Any, target: Any, kernel_mul: float = 2.0, kernel_num: int = 5, fix_sigma: Any = None
) -> Any:
    """The biased MMD² of the first post (``get_MMD``)."""
    batch_size = int(source.size()[0])
    kernels = guassian_kernel(source, target, kernel_mul, kernel_num, fix_sigma)
    xx = kernels[:batch_size, :batch_size]
    yy = kernels[batch_size:, batch_size:]
    xy = kernels[:batch_size, batch_size:]
    yx = kernels[batch_size:, :batch_size]
    return torch.mean(xx + yy - xy - yx)


class SeedMMDLoss(nn.Module):
    """The ``MMDLoss`` module of the second post (``fix_sigma`` silently ignored)."""

    def __init__(self, kernel_type: str = "rbf", kernel_mul: float = 2.0, kernel_num: int = 5):
        super().__init__()
        self.kernel_num, self.kernel_mul, self.kernel_type = kernel_num, kernel_mul, kernel_type

    def forward(self, source: Any, target: Any) -> Any:
        batch_size = int(source.size()[0])
        kernels = guassian_kernel(source, target, self.kernel_mul, self.kernel_num, None)
        xx = torch.mean(kernels[:batch_size, :batch_size])
        yy = torch.mean(kernels[batch_size:, batch_size:])
        xy = torch.mean(kernels[:batch_size, batch_size:])
        yx = torch.mean(kernels[batch_size:, :batch_size])
        return torch.mean(xx + yy - xy - yx)
