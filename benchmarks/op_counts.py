"""Count the torch operators a call dispatches: a device-independent count of GPU launches.

Every aten operator that reaches a ``TorchDispatchMode`` is at least one kernel
launch on a GPU, except the view and aliasing ones (:data:`VIEWS`), which only
make new tensor metadata. Counted on torch's ``meta`` device (shapes, no data),
so the count is that of the accelerator plan and any host read raises. Shared
by ``tests/test_operation_counts.py`` (the budgets) and
``benchmarks/bench_launches.py`` (the table).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

#: Operators that make views or aliases, not data: no kernel launch.
VIEWS = frozenset(
    {
        "view",
        "_unsafe_view",
        "reshape",
        "slice",
        "select",
        "unsqueeze",
        "squeeze",
        "expand",
        "permute",
        "t",
        "transpose",
        "as_strided",
        "alias",
        "detach",
        "lift_fresh",
    }
)


class OperationCounter(TorchDispatchMode):
    """Counts the compute operators dispatched while active, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        name = func.overloadpacket.__name__
        if name not in VIEWS:
            self.counts[name] += 1
        return func(*args, **(kwargs or {}))

    @property
    def total(self) -> int:
        """All compute operators counted."""
        return sum(self.counts.values())


def count(call: Callable[[], Any]) -> OperationCounter:
    """Run ``call`` under an :class:`OperationCounter` and return the counter."""
    counter = OperationCounter()
    with counter:
        call()
    return counter


def meta(*shape: int, grad: bool = False) -> torch.Tensor:
    """An uninitialised tensor on torch's ``meta`` device."""
    return torch.empty(*shape, device="meta", requires_grad=grad)


def loss_step(loss_fn: Callable[[Any, Any], Any], batch: int, dim: int = 256) -> Callable[[], Any]:
    """Forward and backward of a loss on a ``(batch, dim)`` source and target."""
    source, target = meta(batch, dim, grad=True), meta(batch, dim)
    return lambda: loss_fn(source, target).backward()


def minimal_mmd_loss(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """A minimal hand-written version of the seeds' loss: the same five Gaussians
    with the mean off-diagonal squared distance as bandwidth, the biased MMD², one
    matmul for the distances, nothing checked and nothing exact."""
    total = torch.cat([source, target])
    norms = (total * total).sum(1)
    distances = (norms[:, None] + norms[None, :] - 2 * total @ total.T).clamp_min(0)
    n_points = total.shape[0]
    bandwidth = distances.detach().sum() / (n_points * n_points - n_points)
    kernel = sum(torch.exp(-distances / (bandwidth * 2.0 ** (i - 2))) for i in range(5))
    b = source.shape[0]
    return kernel[:b, :b].mean() + kernel[b:, b:].mean() - 2 * kernel[:b, b:].mean()
