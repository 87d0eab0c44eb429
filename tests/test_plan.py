"""The planner: host tiles are cache-sized, accelerator tiles the largest that fit."""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mmd_any
from mmd_any import _plan
from mmd_any._compat import is_host

torch = pytest.importorskip("torch")

XP_NUMPY = array_api_compat.array_namespace(np.zeros(1))
XP_TORCH = array_api_compat.array_namespace(torch.zeros(1))
META = torch.device("meta")


def test_host_devices_and_accelerators() -> None:
    assert is_host(XP_NUMPY, "cpu")
    assert is_host(XP_TORCH, torch.device("cpu"))
    assert not is_host(XP_TORCH, META)
    assert not is_host(XP_TORCH, torch.device("cuda", 0))


def test_host_plan() -> None:
    small = _plan.make_plan(XP_NUMPY, "cpu", _plan.HOST_SINGLE_TILE_POINTS, 4)
    assert small.single_tile(_plan.HOST_SINGLE_TILE_POINTS)
    large = _plan.make_plan(XP_NUMPY, "cpu", 4000, 4)
    assert (large.rows, large.cols) == (_plan.HOST_ROWS, 2 * _plan.HOST_ROWS)
    assert not large.single_tile(4000)


def test_block_size_overrides_every_plan() -> None:
    for xp, dev in ((XP_NUMPY, "cpu"), (XP_TORCH, META)):
        plan = _plan.make_plan(xp, dev, 5000, 4, block_size=100)
        assert (plan.rows, plan.cols) == (100, 200)


@given(
    n_points=st.integers(2, 10**6),
    itemsize=st.sampled_from([4, 8]),
    weight_rows=st.integers(1, 5000),
    terms=st.integers(1, 9),
    budget=st.integers(1 << 22, 1 << 34),
)
def test_accelerator_tiles_fit_the_budget(n_points, itemsize, weight_rows, terms, budget) -> None:
    plan = _plan.make_plan(
        XP_TORCH,
        META,
        n_points,
        itemsize,
        weight_rows=weight_rows,
        terms=terms,
        memory_budget=budget,
    )
    assert 1 <= plan.weight_rows <= weight_rows
    assert plan.weight_rows * n_points * itemsize <= max(
        budget * _plan.WEIGHT_SHARE, 2 * n_points * itemsize
    )
    side = min(plan.rows, n_points)
    temporaries = _plan.TILE_TEMPORARIES + 2 * (terms - 1)
    tile_bytes = (temporaries * side * side + 2 * plan.weight_rows * side) * itemsize
    if not plan.single_tile(n_points) or n_points > _plan.TILE_ALIGN:
        assert tile_bytes <= budget or side == _plan.TILE_ALIGN
    if not plan.single_tile(n_points):
        assert plan.rows % _plan.TILE_ALIGN == 0
        # the next aligned size would not fit: the tiles are the largest that do
        bigger = plan.rows + _plan.TILE_ALIGN
        too_big = (temporaries * bigger * bigger + 2 * plan.weight_rows * bigger) * itemsize
        assert too_big > budget * (1 - _plan.WEIGHT_SHARE)


BUDGETED = {
    "mmd2": lambda x, **kw: mmd_any.mmd2(x, x, **kw),
    "mmd": lambda x, **kw: mmd_any.mmd(x, x, **kw),
    "kid": lambda x, **kw: mmd_any.kid(x, x, subsets=1, subset_size=2, **kw),
    "kernel_matrix": lambda x, **kw: mmd_any.kernel_matrix(x, **kw),
    "mmd_test": lambda x, **kw: mmd_any.mmd_test(x, x, n_permutations=3, alpha=0.5, **kw),
    "mmd2_rff": lambda x, **kw: mmd_any.mmd2_rff(x, x, **kw),
    "preset": lambda x, **kw: mmd_any.presets.kid.mmd2(x, x, **kw),
    "MMDLoss": lambda x, **kw: __import__("mmd_any.torch").torch.MMDLoss(**kw)(
        torch.asarray(x), torch.asarray(x)
    ),
}


@pytest.mark.parametrize("name", BUDGETED)
def test_invalid_budgets_are_refused_everywhere(name: str) -> None:
    x = np.zeros((4, 2))
    for bad in (0, -1):
        with pytest.raises(ValueError, match="`memory_budget` must be at least 1"):
            BUDGETED[name](x, memory_budget=bad)
    for bad in (1.5, True, "1GiB"):  # the wrong type (tests/test_errors.py)
        with pytest.raises(TypeError, match="`memory_budget` must be an integer"):
            BUDGETED[name](x, memory_budget=bad)
    BUDGETED[name](x, memory_budget=1 << 20)  # a valid one is accepted


def test_invalid_block_sizes_are_refused() -> None:
    x = np.zeros((4, 2))
    for bad in (0, -1):
        with pytest.raises(ValueError, match="`block_size` must be at least 1"):
            mmd_any.mmd2(x, x, block_size=bad)
    for bad in (1.5, True, "1GiB"):  # the wrong type (tests/test_errors.py)
        with pytest.raises(TypeError, match="`block_size` must be an integer"):
            mmd_any.mmd2(x, x, block_size=bad)


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_every_plan_gives_the_same_value(estimator: str) -> None:
    """One tile, host tiles, budget-sized tiles and odd block sizes agree to rounding."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(700, 5)), rng.normal(0.3, size=(500, 5))
    values = [
        float(mmd_any.mmd2(x, y, estimator=estimator, **options))
        for options in ({}, {"block_size": 256}, {"block_size": 77}, {"block_size": 5000})
    ]
    assert max(values) - min(values) <= 1e-13 * max(abs(v) for v in values) + 1e-15
