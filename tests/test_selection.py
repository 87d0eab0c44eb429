"""Order statistics without a sort: the bisection selection equals the sorted values."""

from __future__ import annotations

import numpy as np
import pytest
from array_api_compat import array_namespace
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mmd_any.bandwidths import BISECTION_STEPS, _middle_by_bisection, _select_by_bisection

from .conftest import get_backend

TINY = np.finfo(np.float64).smallest_normal

VALUES = st.one_of(
    # around the smallest normal number: the bracket must scale with the values
    hnp.arrays(np.float64, st.integers(1, 50), elements=st.sampled_from([0.0, TINY, 3 * TINY])),
    # continuous, with ties from a coarse grid, with zeros, and spanning decades
    hnp.arrays(np.float64, st.integers(1, 300), elements=st.floats(0, 1e3)),
    hnp.arrays(np.float64, st.integers(1, 300), elements=st.sampled_from([0.0, 1.0, 2.0, 2.5])),
    hnp.arrays(np.float64, st.integers(1, 300), elements=st.floats(0, 1e-3)).map(
        lambda a: a * np.logspace(0, 12, a.size)
    ),
)


def _assert_selected(selected: float, values: np.ndarray, rank: int) -> None:
    """Exact within the documented range, else within 2·max·2^-steps."""
    answer = np.sort(values)[rank]
    top = float(values.max())
    if answer == 0 or top <= 2.0**40 * answer:
        assert selected == answer
    else:
        steps = BISECTION_STEPS[values.dtype.itemsize]
        assert selected in values
        assert abs(selected - answer) <= 2 * top * 2.0**-steps


@given(values=VALUES, dtype=st.sampled_from(["float32", "float64"]), data=st.data())
def test_selection_is_exact(values, dtype, data) -> None:
    values = values.astype(dtype)
    xp = array_namespace(values)
    rank = data.draw(st.integers(0, values.size - 1))
    _assert_selected(float(_select_by_bisection(xp, values, rank)), values, rank)


@given(values=VALUES)
def test_middle_positions_are_the_sorted_middle(values) -> None:
    xp = array_namespace(values)
    lower, upper = (values.size - 1) // 2, values.size // 2
    low, high = _middle_by_bisection(xp, values, lower, upper)
    _assert_selected(float(values[int(low[0])]), values, lower)
    _assert_selected(float(values[int(high[0])]), values, upper)
    if upper != lower:
        assert int(low[0]) != int(high[0])  # two distinct pairs, as a sort gives


def test_the_torch_and_jax_paths_agree_with_numpy() -> None:
    import mmd_any

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(300, 4)), rng.normal(0.4, size=(200, 4))
    expected = float(mmd_any.mmd2(x, y))  # NumPy sorts
    checked = []
    for name in ("torch", "jax"):
        backend = get_backend(name)  # jax: with float64, as the suite runs it
        if backend is None:
            continue
        value = mmd_any.mmd2(backend.asarray(x), backend.asarray(y))
        assert float(backend.to_numpy(value)) == pytest.approx(expected, rel=1e-12), name
        checked.append(name)
    if not checked:
        pytest.skip("neither torch nor jax is installed")
