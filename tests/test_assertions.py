"""The suite's own result checks (``tests/conftest.py``) fail where they should.

``assert_array_like`` and ``assert_result_like`` promise namespace, shape, dtype and
device: each is fed a result that is wrong in exactly one of them and must raise
``AssertionError``; a right one passes. The device cases use array-api-strict's
extra devices, where a result on the default device is a wrong one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import mmd_any

from .conftest import assert_array_like, assert_result_like, get_backend

xps = pytest.importorskip("array_api_strict")

DEVICE1 = xps.Device("device1")
DEVICE2 = xps.Device("device2")
CPU = xps.Device("CPU_DEVICE")


def _strict() -> Any:
    backend = get_backend("array_api_strict")
    assert backend is not None
    return backend


def test_a_right_result_passes() -> None:
    like = xps.asarray([[1.0, 2.0]], device=DEVICE1)
    assert_array_like(xps.asarray(0.5, device=DEVICE1), like, shape=())
    assert_array_like(xps.ones((3, 2), device=DEVICE1), like, shape=(3, 2))
    assert_result_like(xps.asarray(0.5, device=DEVICE1), _strict(), like=like)
    assert_result_like(np.asarray(0.5), get_backend("numpy"), np.float64)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        pytest.param(0.5, "not an array", id="python-float"),
        pytest.param(np.float64(0.5), "NumPy scalar", id="numpy-scalar"),
        pytest.param(np.asarray(0.5), "namespace", id="numpy-array"),
        pytest.param(xps.asarray([0.5], device=DEVICE1), "shape", id="shape"),
        pytest.param(xps.asarray(0.5, dtype=xps.float32, device=DEVICE1), "dtype", id="dtype"),
        pytest.param(xps.asarray(0.5), "device", id="default-device"),
        pytest.param(xps.asarray(0.5, device=DEVICE2), "device", id="other-device"),
    ],
)
def test_a_result_wrong_in_one_respect_fails(result: Any, message: str) -> None:
    like = xps.asarray([[1.0, 2.0]], device=DEVICE1)
    with pytest.raises(AssertionError, match=message):
        assert_array_like(result, like, shape=())
    with pytest.raises(AssertionError, match=message):
        assert_result_like(result, _strict(), like=like)


def test_the_dtype_is_the_inputs_unless_given() -> None:
    like = xps.asarray([1.0], dtype=xps.float32)
    wide = xps.asarray(0.5)  # float64
    with pytest.raises(AssertionError, match="dtype"):
        assert_array_like(wide, like, shape=())
    assert_array_like(wide, like, shape=(), dtype=xps.float64)
    assert_array_like(wide, like, shape=(), dtype=None)  # None: not checked
    with pytest.raises(AssertionError, match="dtype"):
        assert_result_like(wide, _strict(), like=like)
    with pytest.raises(AssertionError, match="dtype"):
        assert_result_like(wide, _strict(), xps.float32)


def test_without_an_input_the_device_is_the_backends_default() -> None:
    with pytest.raises(AssertionError, match="device"):
        assert_result_like(xps.asarray(0.5, device=DEVICE1), _strict())
    assert_result_like(xps.asarray(0.5), _strict())


def test_a_shape_other_than_0d_is_named() -> None:
    like = xps.asarray([[1.0, 2.0]])
    assert_result_like(xps.ones((2, 3)), _strict(), like=like, shape=(2, 3))
    with pytest.raises(AssertionError, match="shape"):
        assert_result_like(xps.ones((3, 2)), _strict(), like=like, shape=(2, 3))
    with pytest.raises(AssertionError, match="shape"):
        assert_result_like(xps.ones((2, 3)), _strict(), like=like)  # 0-d by default


def test_torch_devices_are_told_apart() -> None:
    torch = pytest.importorskip("torch")
    backend = get_backend("torch")
    like = torch.zeros(2, 2)
    assert_result_like(torch.zeros(()), backend, like=like)
    with pytest.raises(AssertionError, match="device"):
        assert_result_like(torch.zeros((), device="meta"), backend, like=like)
    with pytest.raises(AssertionError, match="namespace"):
        assert_result_like(np.asarray(0.0, dtype=np.float32), backend, like=like)


def test_an_mmd_on_device1_is_on_device1_and_the_check_sees_it() -> None:
    """The library's result passes; the same value moved to the default device fails."""
    rng = np.random.default_rng(0)
    x = xps.asarray(rng.normal(size=(8, 2)), device=DEVICE1)
    y = xps.asarray(rng.normal(size=(6, 2)), device=DEVICE1)
    result = mmd_any.mmd2(x, y)
    assert_result_like(result, _strict(), like=x)
    moved = xps.asarray(result, device=CPU)
    with pytest.raises(AssertionError, match="device"):
        assert_result_like(moved, _strict(), like=x)
