"""Launch budgets of the accelerator plan, counted on CPU in CI.

On a GPU each dispatched compute operator is at least one kernel launch
(5–10 µs from Python), so the count is the fixed cost of a call. The counts are
taken on torch's ``meta`` device, which gets the accelerator plan (one tile when
the matrix fits the budget, stacked kernel terms) and has no data: a host read
would raise. Budgets: the issue's targets; the minimal hand-written loss is
counted in the same run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import op_counts  # noqa: E402

import mmd_any  # noqa: E402
from mmd_any.torch import MMDLoss  # noqa: E402

#: MMDLoss forward + backward (seed kernel, d = 256): at most this many
#: operators for B ≤ 1024, and LOSS_BUDGET_4096 at B = 4096.
LOSS_BUDGET = 65
LOSS_BUDGET_4096 = 130

#: One exact default mmd2 at n = m = 10⁵, d = 64, 1 GiB budget.
LARGE_BUDGET = 3000


@pytest.mark.parametrize("batch", [32, 64, 256, 1024])
def test_mmd_loss_is_within_the_launch_budget(batch: int) -> None:
    ours = op_counts.count(op_counts.loss_step(MMDLoss(), batch)).total
    minimal = op_counts.count(op_counts.loss_step(op_counts.minimal_mmd_loss, batch)).total
    assert ours <= LOSS_BUDGET, ours
    assert ours <= minimal, (ours, minimal)


def test_mmd_loss_at_batch_4096_is_within_the_launch_budget() -> None:
    assert op_counts.count(op_counts.loss_step(MMDLoss(), 4096)).total <= LOSS_BUDGET_4096


def test_the_count_does_not_grow_with_the_batch_while_one_tile_fits() -> None:
    counts = {b: op_counts.count(op_counts.loss_step(MMDLoss(), b)).total for b in (32, 1024)}
    assert counts[32] == counts[1024], counts


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_large_exact_mmd2_is_within_the_launch_budget(estimator: str) -> None:
    x, y = op_counts.meta(100_000, 64), op_counts.meta(100_000, 64)

    def call() -> None:
        mmd_any.mmd2(x, y, estimator=estimator, check_finite=False, memory_budget=1 << 30)

    total = op_counts.count(call).total
    assert total <= LARGE_BUDGET, total


def test_a_smaller_budget_means_more_tiles_and_more_operations() -> None:
    """The budget is honoured: a quarter of it needs about four times the tiles."""
    x, y = op_counts.meta(20_000, 16), op_counts.meta(20_000, 16)

    def with_budget(budget: int) -> int:
        return op_counts.count(
            lambda: mmd_any.mmd2(x, y, check_finite=False, memory_budget=budget)
        ).total

    assert with_budget(1 << 26) > 3 * with_budget(1 << 28)


def test_the_host_plan_keeps_cache_sized_tiles() -> None:
    """On the CPU the same call runs many small tiles (more operations, cache-resident)."""
    x, y = torch.zeros(2000, 8), torch.zeros(2000, 8)
    host = op_counts.count(lambda: mmd_any.mmd2(x, y, check_finite=False)).total
    accelerator = op_counts.count(
        lambda: mmd_any.mmd2(op_counts.meta(2000, 8), op_counts.meta(2000, 8), check_finite=False)
    ).total
    assert host > 5 * accelerator, (host, accelerator)
