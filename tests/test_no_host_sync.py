"""No host synchronisation in the computations, and results on the caller's device.

torch's ``meta`` device has shapes and dtypes but no data: any read of a value
on the host (``float(x)``, ``.item()``, ``bool(x)``, indexing with a 0-d
tensor) raises there. Every public function that computes on arrays runs on it
with its default arguments and ``check_finite=False`` (the finiteness check
is a host read by design: it raises a ``ValueError``). array-api-strict's extra
devices check that results stay on the inputs' device.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from array_api_compat import array_namespace

import mmd_any
from mmd_any import kernels
from mmd_any.bandwidths import MeanSquaredDistance, Median

from .conftest import assert_array_like

torch = pytest.importorskip("torch")

N, M, D = 120, 90, 6


def _meta(*shape: int, grad: bool = False) -> Any:
    return torch.empty(*shape, device="meta", requires_grad=grad)


def _streaming(estimator: str) -> Callable[[Any, Any], Any]:
    def run(x: Any, y: Any) -> Any:
        kernel = kernels.Gaussian(1.0)
        acc = mmd_any.StreamingMMD(kernel, estimator, seed=0, check_finite=False)
        acc.update(x, y)
        acc.update(x, y)
        return acc.value()

    return run


#: Every computing entry point with its default arguments (plus check_finite=False).
CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "mmd2": lambda x, y: mmd_any.mmd2(x, y, check_finite=False),
    "mmd2 unbiased": lambda x, y: mmd_any.mmd2(x, y, estimator="unbiased", check_finite=False),
    "mmd2 linear": lambda x, y: mmd_any.mmd2(x, y, estimator="linear", check_finite=False),
    "mmd2 mean rule": lambda x, y: mmd_any.mmd2(
        x, y, kernel=kernels.Gaussian("mean"), check_finite=False
    ),
    "mmd2 seed ladder": lambda x, y: mmd_any.mmd2(
        x, y, kernel=kernels.Gaussian(MeanSquaredDistance.seed()), check_finite=False
    ),
    "mmd2 median of a subsample": lambda x, y: mmd_any.mmd2(
        x, y, kernel=kernels.Gaussian(Median(max_samples=50)), check_finite=False
    ),
    "mmd2 lower median on x": lambda x, y: mmd_any.mmd2(
        x, y, kernel=kernels.Gaussian(Median(lower=True, sample="x")), check_finite=False
    ),
    "mmd2 laplacian": lambda x, y: mmd_any.mmd2(x, y, kernel="laplacian", check_finite=False),
    "mmd2 exponential": lambda x, y: mmd_any.mmd2(x, y, kernel="exponential", check_finite=False),
    "mmd2 energy": lambda x, y: mmd_any.mmd2(x, y, kernel="energy", check_finite=False),
    "mmd2 imq": lambda x, y: mmd_any.mmd2(x, y, kernel="imq", check_finite=False),
    "mmd2 preset kid": lambda x, y: mmd_any.mmd2(x, y, preset="kid", check_finite=False),
    "mmd2 small blocks": lambda x, y: mmd_any.mmd2(x, y, block_size=32, check_finite=False),
    "mmd": lambda x, y: mmd_any.mmd(x, y, check_finite=False),
    "kid": lambda x, y: mmd_any.kid(x, y, subsets=3, subset_size=15, check_finite=False),
    "kernel_matrix": lambda x, y: mmd_any.kernel_matrix(x, y, check_finite=False),
    "mmd2_rff": lambda x, y: mmd_any.mmd2_rff(x, y, check_finite=False),
    "StreamingMMD rff": _streaming("rff"),
    "StreamingMMD linear": _streaming("linear"),
}


def _sized_for(name: str, x: Any, y: Any) -> tuple[Any, Any]:
    """Equal sizes for the paired (linear) estimators, else as given."""
    if "linear" not in name:
        return x, y
    size = min(x.shape[0], y.shape[0])
    return x[:size, :], y[:size, :]


@pytest.mark.parametrize("name", CALLS)
def test_runs_on_the_meta_device_without_host_sync(name: str) -> None:
    result = CALLS[name](*_sized_for(name, _meta(N, D), _meta(M, D)))
    leaves = result if isinstance(result, tuple) else (result,)
    for leaf in leaves:
        assert leaf.device.type == "meta", name
        assert leaf.dtype == torch.float32, name


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_mmd_loss_forward_and_backward_on_the_meta_device(estimator: str) -> None:
    from mmd_any.torch import MMDLoss

    source, target = _meta(64, 256, grad=True), _meta(64, 256)
    loss = MMDLoss(estimator=estimator)(source, target)
    assert loss.device.type == "meta"
    assert loss.shape == ()
    loss.backward()
    assert source.grad is not None
    assert source.grad.shape == source.shape


def test_the_finiteness_check_is_the_one_host_read() -> None:
    """With ``check_finite=True`` (the default) the only failure is that read: it is
    raised inside the finiteness check, and without the check the same call runs."""
    with pytest.raises(RuntimeError, match="meta") as caught:
        mmd_any.mmd2(_meta(N, D), _meta(M, D))
    package = Path(mmd_any.__file__).parent
    names = [entry.name for entry in caught.traceback if Path(entry.path).parent == package]
    assert any("finite" in name for name in names), names  # the library's frames only
    assert mmd_any.mmd2(_meta(N, D), _meta(M, D), check_finite=False).device.type == "meta"


def test_the_median_is_the_exact_median_without_reading_values() -> None:
    """The device-side median (1-element gathers, no 0-d indexing) still gives the
    textbook value, for odd and even pair counts and the lower convention."""
    rng = np.random.default_rng(5)
    for size in (7, 8, 9):
        points = rng.normal(size=(size, 3))
        pairs = [
            np.linalg.norm(points[i] - points[j]) for i in range(size) for j in range(i + 1, size)
        ]
        for rule, expected in (
            (Median(), float(np.median(pairs))),
            (Median(lower=True), float(np.sort(pairs)[(len(pairs) - 1) // 2])),
        ):
            tensor = torch.asarray(points)
            (sigmas,) = rule.resolve(array_namespace(tensor), tensor, "sqeuclidean")
            assert sigmas.base.shape == ()
            assert float(sigmas.base) == pytest.approx(expected, rel=1e-12)


def test_results_stay_on_an_array_api_strict_extra_device() -> None:
    """Namespace, dtype and device of the inputs; 0-d but for the kernel matrix."""
    xps = pytest.importorskip("array_api_strict")
    device = xps.Device("device1")
    rng = np.random.default_rng(2)
    x = xps.asarray(rng.normal(size=(30, 3)), device=device)
    y = xps.asarray(rng.normal(0.5, 1.0, size=(20, 3)), device=device)
    for name, call in CALLS.items():
        result = call(*_sized_for(name, x, y))
        shape = (30, 20) if name == "kernel_matrix" else ()
        for leaf in result if isinstance(result, tuple) else (result,):
            try:
                assert_array_like(leaf, x, shape=shape)
            except AssertionError as error:
                raise AssertionError(f"{name}: {error}") from error


@pytest.mark.parametrize("aggregate", [False, "minp", "fuse", "combined"])
def test_mmd_test_reads_the_host_once_at_the_end(monkeypatch, aggregate: bool | str) -> None:
    """On the meta device every step runs; the one host read is the final transfer
    of the numbers the result reports (replaced here by a recorder)."""
    from mmd_any import two_sample

    reads: list[Any] = []

    def record(values: Any) -> list[float]:
        reads.append(values)
        return [0.0] * values.shape[0]

    monkeypatch.setattr(two_sample, "host_floats", record)
    result = mmd_any.mmd_test(
        _meta(N, D),
        _meta(M, D),
        n_permutations=20,
        seed=0,
        aggregate=aggregate,
        check_finite=False,
    )
    assert len(reads) == 1
    assert result.null_distribution.device.type == "meta"
