"""Unclear errors (issue 13): every bad argument raises a TypeError (wrong type) or a
ValueError (wrong value) whose message names it in backticks, through every public
entry point that takes it; the command line exits with status 2 and one line.

The conventions tested here (``mmd_any._checks``): counts are Python or NumPy
integers (bools and floats, even ``2.0``, are refused); reals are Python or NumPy
numbers (not bools); seeds are None, a non-negative integer, a SeedSequence or a
Generator. :mod:`tests.test_validation` covers shapes, dtypes, NaN and devices of
the samples themselves.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mmd_any
from mmd_any import kernels, presets
from mmd_any.approximate import rff_error_bound
from mmd_any.bandwidths import MeanSquaredDistance, Median, seed_scales
from mmd_any.cli import main

from .conftest import get_backend

rng = np.random.default_rng(0)
X = rng.normal(size=(8, 2))
Y = rng.normal(0.5, size=(8, 2))
FIXED = kernels.Gaussian(1.0)  # a fixed bandwidth: StreamingMMD accumulators merge


def _torch() -> Any:
    backend = get_backend("torch")
    if backend is None:
        pytest.skip("torch is not installed")
    return backend.module


# -- 1. seeds ------------------------------------------------------------------------------

SEEDED: dict[str, Callable[[Any], Any]] = {
    "mmd_test": lambda seed: mmd_any.mmd_test(X, Y, n_permutations=19, seed=seed),
    "mmd_test-aggregate": lambda seed: mmd_any.mmd_test(
        X, Y, n_permutations=19, seed=seed, aggregate=True
    ),
    "kid": lambda seed: mmd_any.kid(X, Y, subsets=2, subset_size=4, seed=seed),
    "mmd2_rff": lambda seed: mmd_any.mmd2_rff(X, Y, n_features=8, seed=seed),
    "StreamingMMD": lambda seed: StreamingMMD(FIXED, n_features=8, seed=seed).update(X, Y),
    "Median": lambda seed: Median(seed=seed),
}
BAD_SEEDS = [
    pytest.param("a", TypeError, id="str"),
    pytest.param(1.5, TypeError, id="float"),
    pytest.param(2.0, TypeError, id="integral-float"),
    pytest.param(-1, ValueError, id="negative"),
    pytest.param(object(), TypeError, id="object"),
    pytest.param(True, TypeError, id="bool"),
]
StreamingMMD = mmd_any.StreamingMMD


@pytest.mark.parametrize("entry", sorted(SEEDED))
@pytest.mark.parametrize(("seed", "error"), BAD_SEEDS)
def test_bad_seeds_name_the_seed(entry: str, seed: Any, error: type) -> None:
    with pytest.raises(error, match=r"`seed` must be .*non-negative integer"):
        SEEDED[entry](seed)


@pytest.mark.parametrize("entry", sorted(SEEDED))
@pytest.mark.parametrize(
    "seed",
    [None, 3, np.int64(3), np.random.SeedSequence(3), np.random.default_rng(3)],
    ids=["None", "int", "np.int64", "SeedSequence", "Generator"],
)
def test_valid_seeds_are_accepted(entry: str, seed: Any) -> None:
    SEEDED[entry](seed)


def test_generator_seeds_do_not_make_accumulators_mergeable() -> None:
    """A Generator draws new features for each accumulator: merging them is refused."""
    generator = np.random.default_rng(0)
    first = StreamingMMD(FIXED, n_features=8, seed=generator).update(X, Y)
    second = StreamingMMD(FIXED, n_features=8, seed=generator).update(X, Y)
    with pytest.raises(ValueError, match=r"different kernel parameters or random features"):
        first.merge(second)


# -- 2. wrong-typed constructor arguments ------------------------------------------------


def _mmd_loss(**options: Any) -> Any:
    pytest.importorskip("torch")
    from mmd_any.torch import MMDLoss

    return MMDLoss(**options)


CONSTRUCTORS = [
    (lambda: kernels.Polynomial(gamma="a"), TypeError, r"`gamma` must be positive or None"),
    (lambda: kernels.Polynomial(gamma=[1.0]), TypeError, r"`gamma`"),
    (lambda: kernels.Polynomial(coef0=None), TypeError, r"`coef0` must be a non-negative"),
    (lambda: kernels.Polynomial(coef0=float("nan")), ValueError, r"`coef0`"),
    (lambda: kernels.Polynomial(degree=2.5), TypeError, r"`degree` must be an integer"),
    (lambda: kernels.Polynomial(degree=2.0), TypeError, r"`degree` must be an integer"),
    (lambda: kernels.Exponential(sq_distance_floor="a"), TypeError, r"`sq_distance_floor`"),
    (lambda: kernels.Energy(sq_distance_floor=None), TypeError, r"`sq_distance_floor`"),
    (lambda: Median(max_samples="a"), TypeError, r"`max_samples` must be an integer"),
    (lambda: Median(max_samples=2.5), TypeError, r"`max_samples` must be an integer"),
    (lambda: Median(max_samples=True), TypeError, r"`max_samples`"),
    (lambda: Median(scales=None), TypeError, r"`scales` must be a positive float or a sequence"),
    (lambda: Median(scales="2"), TypeError, r"`scales`"),
    (lambda: Median(scales=["a"]), TypeError, r"`scales` must hold real numbers"),
    (lambda: Median(scales=[1.0, True]), TypeError, r"`scales` must hold real numbers"),
    (lambda: Median(sample=3), TypeError, r"`sample`"),
    (lambda: Median(sample="y"), ValueError, r"unknown `sample` 'y'.*'pooled', 'x'"),
    (lambda: MeanSquaredDistance(scales=object()), TypeError, r"`scales`"),
    (lambda: MeanSquaredDistance.seed(kernel_num=1.5), TypeError, r"`kernel_num` must be an"),
    (lambda: MeanSquaredDistance.seed(kernel_mul="a"), TypeError, r"`kernel_mul` must be"),
    (lambda: seed_scales(1e10, 101), ValueError, r"`kernel_mul` .*`kernel_num` = 101.*range"),
    (lambda: seed_scales(1e-10, 101), ValueError, r"`kernel_mul` .*`kernel_num`"),  # underflow
    (lambda: seed_scales(2.0, 5.0), TypeError, r"`kernel_num` must be an integer"),
    (lambda: seed_scales(float("inf"), 3), ValueError, r"`kernel_mul` must be positive"),
    (lambda: kernels.Gaussian(["a"]), TypeError, r"`bandwidth` must hold real numbers"),
    (lambda: kernels.Gaussian(None), TypeError, r"`bandwidth` must be a positive float"),
    (lambda: kernels.Gaussian(np.array([True])), TypeError, r"`bandwidth` array must hold real"),
    (lambda: _mmd_loss(kernel_mul="a"), TypeError, r"`kernel_mul`"),
    (lambda: _mmd_loss(kernel_num=1.5), TypeError, r"`kernel_num` must be an integer"),
    (lambda: _mmd_loss(fix_sigma="a"), TypeError, r"`fix_sigma` must be a positive float"),
    (lambda: _mmd_loss(fix_sigma=True), TypeError, r"`fix_sigma`"),
    (lambda: _mmd_loss(fix_sigma=1.0, kernel_num=2.0), TypeError, r"`kernel_num`"),
    (lambda: _mmd_loss(kernel_mul=1e10, kernel_num=101), ValueError, r"`kernel_mul` .*`kernel_n"),
    (lambda: _mmd_loss(kernel_type=None), TypeError, r"`kernel_type`"),
    (lambda: _mmd_loss(estimator=""), ValueError, r"unknown `estimator` ''.*'biased'"),
    (lambda: _mmd_loss(kernel=3), TypeError, r"`kernel` must be a kernel name"),
    (lambda: _mmd_loss(memory_budget=1.5), TypeError, r"`memory_budget` must be an integer"),
    (lambda: presets.seed.with_bandwidth("a"), TypeError, r"`fix_sigma`"),
    (lambda: presets.seed.with_bandwidth(None), TypeError, r"`fix_sigma`"),
    (lambda: presets.seed.with_bandwidth([1.0, 2.0]), ValueError, r"`fix_sigma` is a single"),
    (lambda: presets.seed.with_bandwidth(-1.0), ValueError, r"`fix_sigma` must be positive"),
    (lambda: presets.mmdagg_gaussian.with_bandwidth(True), TypeError, r"`λ`"),
    (lambda: presets.mmdagg_gaussian.with_bandwidth("a"), TypeError, r"`λ`"),
    (lambda: presets.alibi.with_bandwidth([True]), TypeError, r"`sigma` must hold real numbers"),
    (lambda: presets.geomloss_gaussian.with_bandwidth(None), TypeError, r"`blur`"),
    (lambda: rff_error_bound(1.5), TypeError, r"`n_features` must be an integer"),
    (lambda: rff_error_bound(0), ValueError, r"`n_features` must be at least 1"),
    (lambda: rff_error_bound(64, delta=2.0), ValueError, r"`delta` must lie in the interval"),
    (lambda: StreamingMMD(n_features=1.5), TypeError, r"`n_features` must be an integer"),
    (lambda: StreamingMMD(estimator=""), ValueError, r"unknown `estimator` ''.*'linear', 'rff'"),
    (lambda: StreamingMMD(estimator=3), TypeError, r"`estimator` must be one of"),
    (lambda: StreamingMMD(kernel=3), TypeError, r"`kernel` must be a kernel name"),
]


@pytest.mark.parametrize(
    ("make", "error", "match"),
    CONSTRUCTORS,
    ids=[f"{index:02d}-{case[2][:24]}" for index, case in enumerate(CONSTRUCTORS)],
)
def test_constructor_arguments_are_named(make: Callable[[], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        make()


def test_a_bare_float_is_one_scale() -> None:
    """As a bare float is one bandwidth for ``Fixed``, it is one multiplier for a rule."""
    assert Median(scales=2.0).scales == (2.0,)
    assert MeanSquaredDistance(scales=np.float32(0.5)).scales == (0.5,)
    assert Median(scales=np.array([1.0, 2.0])).scales == (1.0, 2.0)


def test_numbers_are_normalised() -> None:
    kernel = kernels.Polynomial(degree=np.int64(2), gamma=np.float32(0.5), coef0=1)
    assert (type(kernel.degree), type(kernel.gamma), type(kernel.coef0)) == (int, float, float)
    rule = Median(max_samples=np.int64(5), seed=np.int64(1))
    assert (type(rule.max_samples), type(rule.seed)) == (int, int)


# -- 3. one integer checker for every count ------------------------------------------------

#: entry point, the count it takes, a valid value and its minimum
COUNTS: list[tuple[str, Callable[[Any], Any], int, int]] = [
    ("mmd2-block_size", lambda v: mmd_any.mmd2(X, Y, block_size=v), 4, 1),
    ("mmd2-memory_budget", lambda v: mmd_any.mmd2(X, Y, memory_budget=v), 10**6, 1),
    ("mmd-block_size", lambda v: mmd_any.mmd(X, Y, block_size=v), 4, 1),
    ("mmd_test-n_permutations", lambda v: mmd_any.mmd_test(X, Y, n_permutations=v), 19, 1),
    (
        "mmd_test-block_size",
        lambda v: mmd_any.mmd_test(X, Y, n_permutations=19, block_size=v),
        4,
        1,
    ),
    ("kid-subsets", lambda v: mmd_any.kid(X, Y, subsets=v, subset_size=4), 2, 1),
    ("kid-subset_size", lambda v: mmd_any.kid(X, Y, subsets=2, subset_size=v), 4, 2),
    ("kid-degree", lambda v: mmd_any.kid(X, Y, subsets=2, subset_size=4, degree=v), 2, 1),
    ("mmd2_rff-n_features", lambda v: mmd_any.mmd2_rff(X, Y, n_features=v), 8, 2),
    ("mmd2_rff-memory_budget", lambda v: mmd_any.mmd2_rff(X, Y, memory_budget=v), 10**6, 1),
    ("StreamingMMD-n_features", lambda v: StreamingMMD(n_features=v).update(X, Y), 8, 2),
    ("kernel_matrix-memory_budget", lambda v: mmd_any.kernel_matrix(X, memory_budget=v), 10**6, 1),
    ("Polynomial-degree", lambda v: kernels.Polynomial(degree=v), 2, 1),
    ("Median-max_samples", lambda v: Median(max_samples=v), 5, 2),
    ("seed_scales-kernel_num", lambda v: seed_scales(2.0, v), 3, 1),
    ("MeanSquaredDistance.seed-kernel_num", lambda v: MeanSquaredDistance.seed(2.0, v), 3, 1),
    ("rff_error_bound-n_features", lambda v: rff_error_bound(v), 64, 1),
    ("MMDLoss-kernel_num", lambda v: _mmd_loss(kernel_num=v), 3, 1),
    ("MMDLoss-memory_budget", lambda v: _mmd_loss(memory_budget=v), 10**6, 1),
]
COUNT_IDS = [case[0] for case in COUNTS]


@pytest.mark.parametrize(("entry", "call", "valid", "minimum"), COUNTS, ids=COUNT_IDS)
@pytest.mark.parametrize("kind", [int, np.int64, np.int32, np.uint32])
def test_counts_take_python_and_numpy_integers(entry, call, valid, minimum, kind) -> None:
    call(kind(valid))


@pytest.mark.parametrize(("entry", "call", "valid", "minimum"), COUNTS, ids=COUNT_IDS)
@pytest.mark.parametrize(
    "bad",
    [True, np.bool_(True), 2.0, 2.5, np.float64(3.0), "3", [3]],
    ids=["bool", "np.bool_", "integral-float", "float", "np.float64", "str", "list"],
)
def test_counts_refuse_other_types(entry, call, valid, minimum, bad) -> None:
    name = entry.split("-")[1]
    with pytest.raises(TypeError, match=rf"`{name}` must be an integer >= {minimum}"):
        call(bad)


@pytest.mark.parametrize(("entry", "call", "valid", "minimum"), COUNTS, ids=COUNT_IDS)
def test_counts_below_their_minimum(entry, call, valid, minimum) -> None:
    name = entry.split("-")[1]
    with pytest.raises(ValueError, match=rf"`{name}` must be at least {minimum}"):
        call(np.int64(minimum - 1))


@pytest.mark.parametrize("alpha", [np.float32(0.05), np.float64(0.05), 0.05, np.float16(0.1)])
def test_alpha_is_any_real_scalar(alpha) -> None:
    result = mmd_any.mmd_test(X, Y, n_permutations=19, alpha=alpha, seed=0)
    assert type(result.alpha) is float
    assert result.alpha == pytest.approx(float(alpha))


@pytest.mark.parametrize(
    ("alpha", "error"),
    [("0.05", TypeError), (True, TypeError), (None, TypeError), (np.float32(1.5), ValueError)],
)
def test_bad_alpha_is_named(alpha, error) -> None:
    with pytest.raises(error, match=r"`alpha` must lie in the open interval \(0, 1\)"):
        mmd_any.mmd_test(X, Y, n_permutations=19, alpha=alpha)


@pytest.mark.parametrize(
    ("call", "listing"),
    [
        (lambda e: mmd_any.mmd2(X, Y, estimator=e), r"'biased', 'linear', 'unbiased'"),
        (lambda e: mmd_any.mmd_test(X, Y, estimator=e), r"'biased'.*'unbiased'"),
        (lambda e: StreamingMMD(estimator=e), r"'linear', 'rff'"),
    ],
    ids=["mmd2", "mmd_test", "StreamingMMD"],
)
@pytest.mark.parametrize(
    ("estimator", "error"),
    [("", ValueError), ("Biased", ValueError), (3, TypeError), (["biased"], TypeError)],
    ids=["empty", "capitalised", "int", "list"],
)
def test_bad_estimators_list_the_valid_ones(call, listing, estimator, error) -> None:
    with pytest.raises(error, match=rf"`estimator`.*{listing}"):
        call(estimator)


@pytest.mark.parametrize("bandwidth", [True, [True], (1.0, False), np.bool_(True)])
def test_boolean_bandwidths_are_refused(bandwidth) -> None:
    with pytest.raises(TypeError, match=r"`bandwidth` (must|array must)"):
        kernels.Gaussian(bandwidth)


# -- 4. bandwidth arrays and kernels of the wrong kind ----------------------------------


def test_bandwidth_array_of_another_library() -> None:
    torch = _torch()
    with pytest.raises(TypeError, match=r"`bandwidth` is a torch.Tensor but the samples are num"):
        mmd_any.mmd2(X, Y, kernel=kernels.Gaussian(torch.asarray([1.0, 2.0])))


@pytest.mark.parametrize("entry", ["mmd2", "mmd_test", "kernel_matrix", "mmd2_rff", "StreamingMMD"])
def test_bandwidth_array_of_another_library_everywhere(entry: str) -> None:
    torch = _torch()
    on_numpy = kernels.Gaussian(np.array([1.0, 2.0]))
    tx, ty = torch.asarray(X), torch.asarray(Y)
    calls = {
        "mmd2": lambda: mmd_any.mmd2(tx, ty, kernel=on_numpy),
        "mmd_test": lambda: mmd_any.mmd_test(tx, ty, kernel=on_numpy, n_permutations=19),
        "kernel_matrix": lambda: mmd_any.kernel_matrix(tx, kernel=on_numpy),
        "mmd2_rff": lambda: mmd_any.mmd2_rff(tx, ty, kernel=on_numpy, n_features=8),
        "StreamingMMD": lambda: StreamingMMD(on_numpy, n_features=8).update(tx, ty),
    }
    with pytest.raises(TypeError, match=r"`bandwidth` is a numpy.ndarray but the samples"):
        calls[entry]()


def test_bandwidth_array_of_another_library_without_torch() -> None:
    xps = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match=r"`bandwidth` is a numpy.ndarray"):
        mmd_any.mmd2(xps.asarray(X), xps.asarray(Y), kernel=kernels.Gaussian(np.array([1.0])))


def test_bandwidth_array_on_another_device() -> None:
    torch = _torch()
    sigma = torch.asarray([1.0, 2.0], device="meta")
    with pytest.raises(ValueError, match=r"`bandwidth` is on device .*meta.* samples .*cpu"):
        mmd_any.mmd2(torch.asarray(X), torch.asarray(Y), kernel=kernels.Gaussian(sigma))


def test_numpy_scalar_bandwidth_works_with_every_library() -> None:
    torch = _torch()
    value = mmd_any.mmd2(torch.asarray(X), torch.asarray(Y), kernel=kernels.Gaussian(np.float64(1)))
    expected = mmd_any.mmd2(X, Y, kernel=kernels.Gaussian(1.0))
    assert float(value) == pytest.approx(float(expected), rel=1e-12)


@pytest.mark.parametrize("kernel", [3, 2.5, object()], ids=["int", "float", "obj"])
@pytest.mark.parametrize("aggregate", [False, True])
def test_mmd_test_kernel_of_wrong_type(kernel, aggregate) -> None:
    """(None is the default: each method's own kernel or collection.)"""
    with pytest.raises(TypeError, match=r"`kernel` must be a kernel name"):
        mmd_any.mmd_test(X, Y, kernel=kernel, aggregate=aggregate, n_permutations=19)


@pytest.mark.parametrize(
    "call",
    [
        lambda k: mmd_any.mmd2(X, Y, kernel=k),
        lambda k: mmd_any.mmd(X, Y, kernel=k),
        lambda k: mmd_any.kernel_matrix(X, kernel=k),
        lambda k: mmd_any.mmd2_rff(X, Y, kernel=k),
        lambda k: mmd_any.mmd_test(X, Y, kernel=[k], aggregate=True, n_permutations=19),
    ],
    ids=["mmd2", "mmd", "kernel_matrix", "mmd2_rff", "mmd_test-list"],
)
def test_kernel_of_wrong_type_everywhere(call) -> None:
    with pytest.raises(TypeError, match=r"`kernel` must be a kernel name"):
        call(3)


# -- 5. inputs -------------------------------------------------------------------------------

INPUTS: dict[str, Callable[[Any, Any], Any]] = {
    "mmd2": lambda x, y: mmd_any.mmd2(x, y),
    "mmd": lambda x, y: mmd_any.mmd(x, y),
    "mmd_test": lambda x, y: mmd_any.mmd_test(x, y, n_permutations=19),
    "kid": lambda x, y: mmd_any.kid(x, y, subsets=2, subset_size=4),
    "mmd2_rff": lambda x, y: mmd_any.mmd2_rff(x, y, n_features=8),
    "kernel_matrix": lambda x, y: mmd_any.kernel_matrix(x, y),
    "StreamingMMD.update": lambda x, y: StreamingMMD(FIXED, n_features=8).update(x, y),
}


@pytest.mark.parametrize("entry", sorted(INPUTS))
@pytest.mark.parametrize("where", ["x", "y"])
def test_masked_arrays_are_refused(entry: str, where: str) -> None:
    masked = np.ma.masked_array(X, mask=X > 1.0)
    x, y = (masked, Y) if where == "x" else (X, masked)
    with pytest.raises(TypeError, match=rf"`{where}` is a numpy masked array.*filled"):
        INPUTS[entry](x, y)


class _FakeFrame:
    """The parts of a pandas DataFrame the conversion sees (pandas is optional)."""

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        self.columns = list(columns)
        self.dtypes = [np.asarray(values).dtype for values in columns.values()]
        self._values = columns

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        table = np.asarray(list(self._values.values()), dtype=object).T
        if all(d.kind in "biuf" for d in self.dtypes):
            table = table.astype(np.float64)
        return table if dtype is None else table.astype(dtype)


@pytest.mark.parametrize("entry", ["mmd2", "mmd_test", "kernel_matrix", "StreamingMMD.update"])
def test_a_table_with_a_text_column_names_the_column(entry: str) -> None:
    frame = _FakeFrame({"height": [1.0, 2.0, 3.0], "label": ["a", "b", "c"]})
    with pytest.raises(TypeError, match=r"`y` has non-numeric column\(s\) 'label' \("):
        INPUTS[entry](X[:3], frame)


def test_a_numeric_table_is_converted() -> None:
    frame = _FakeFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 0.5, 2.0]})
    expected = mmd_any.mmd2(np.asarray(frame), X)
    assert float(mmd_any.mmd2(frame, X)) == pytest.approx(float(expected))


def test_a_pandas_frame_with_a_text_column() -> None:
    pd = pytest.importorskip("pandas", reason="pandas is optional; the fake frame covers the path")
    frame = pd.DataFrame({"height": [1.0, 2.0, 3.0], "label": ["a", "b", "c"]})
    with pytest.raises(TypeError, match=r"`x` has non-numeric column\(s\) 'label'"):
        mmd_any.mmd2(frame, X[:3])


@pytest.mark.parametrize("entry", sorted(INPUTS))
@pytest.mark.parametrize("where", ["x", "y"])
def test_dask_arrays_of_unknown_size(entry: str, where: str) -> None:
    da = pytest.importorskip("dask.array")
    unknown = da.from_array(np.ones((10, 2)), chunks=5)[da.from_array(np.ones(10) > 0, chunks=5)]
    known = da.from_array(Y, chunks=4)
    x, y = (unknown, known) if where == "x" else (known, unknown)
    with pytest.raises(ValueError, match=rf"`{where}` has unknown size.*compute_chunk_sizes\(\)"):
        INPUTS[entry](x, y)


def test_streaming_chunks_from_two_libraries() -> None:
    torch = _torch()
    acc = StreamingMMD(FIXED, n_features=8, seed=0).update(X, Y)
    with pytest.raises(TypeError, match=r"`x_chunk` and `y_chunk` are torch.Tensor .* numpy"):
        acc.update(torch.asarray(X), torch.asarray(Y))
    linear = StreamingMMD(FIXED, "linear").update(torch.asarray(X), torch.asarray(Y))
    with pytest.raises(TypeError, match=r"`x_chunk`.*torch.Tensor"):
        linear.update(X, Y)


def test_streaming_chunks_on_two_devices() -> None:
    torch = _torch()
    acc = StreamingMMD(FIXED, "linear", check_finite=False).update(
        torch.asarray(X), torch.asarray(Y)
    )
    meta = torch.empty((4, 2), dtype=torch.float64, device="meta")
    with pytest.raises(ValueError, match=r"`x_chunk` and `y_chunk` are on device .*meta"):
        acc.update(meta, meta)


def _fed(estimator: str = "rff", width: int = 2, seed: int | None = 0, convert=None) -> Any:
    x, y = rng.normal(size=(6, width)), rng.normal(size=(6, width))
    if convert is not None:
        x, y = convert(x), convert(y)
    return StreamingMMD(FIXED, estimator, n_features=8, seed=seed).update(x, y)


@pytest.mark.parametrize("estimator", ["rff", "linear"])
def test_merging_different_feature_widths(estimator: str) -> None:
    with pytest.raises(ValueError, match=r"`other` was fed rows of 3 features .* rows of 2"):
        _fed(estimator, 2).merge(_fed(estimator, 3))


def test_merging_incompatible_accumulators() -> None:
    with pytest.raises(ValueError, match=r"`other` uses estimator 'linear'.*'rff'"):
        _fed("rff").merge(_fed("linear"))
    with pytest.raises(ValueError, match=r"different kernel parameters or random features"):
        _fed(seed=0).merge(_fed(seed=1))
    with pytest.raises(TypeError, match=r"can only merge a StreamingMMD"):
        _fed().merge(X)
    torch = _torch()
    with pytest.raises(TypeError, match=r"`other` holds torch.Tensor arrays .* numpy"):
        _fed().merge(_fed(convert=torch.asarray))


def test_compatible_accumulators_still_merge() -> None:
    merged = _fed().merge(_fed())
    assert merged.n_x == 12
    assert np.isfinite(float(merged.value()))


# -- 6. the command line -------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> Path:
    np.save(tmp_path / "good.npy", rng.normal(size=(12, 2)))
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "text.npz").write_bytes(b"not a zip archive")
    (tmp_path / "text.npy").write_bytes(b"1,2\n3,4\n")
    np.savez(tmp_path / "two.npz", feats=rng.normal(size=(12, 2)), other=rng.normal(size=(12, 2)))
    (tmp_path / "latin.csv").write_bytes("caf\xe9,b\n1,2\n3,4\n".encode("latin-1"))
    return tmp_path


def _parquet(folder: Path) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = folder / "table.parquet"
    pq.write_table(pa.table({"a": rng.normal(size=12), "b": rng.normal(size=12)}), path)
    return path


#: name: (arguments relative to the folder, texts the one-line message must hold,
#: texts it must not hold)
CLI_CASES: dict[str, tuple[list[str], list[str], list[str]]] = {
    "0-byte npy": (["empty.npy", "good.npy"], ["empty.npy", "empty (0 bytes)"], []),
    "0-byte npz": (["empty.npz", "good.npy", "--key", "x"], ["empty.npz", "empty"], []),
    "npz that is no zip": (["text.npz", "good.npy"], ["text.npz", "not a NumPy .npz"], []),
    "npy that is text": (["text.npy", "good.npy"], ["text.npy", "not a NumPy .npy"], ["pickle"]),
    "missing npz key": (
        ["two.npz", "good.npy", "--key", "zz"],
        ["two.npz", "no array 'zz'", "['feats', 'other']"],
        ["pickle"],
    ),
    "npz without key": (["two.npz", "good.npy"], ["two.npz", "--key"], ["pickle"]),
    "missing parquet column": (
        ["table.parquet", "table.parquet", "--columns", "a,zz"],
        ["table.parquet", "no column(s) ['zz']", "['a', 'b']"],
        ["double", "__fragment_index", "FieldRef"],
    ),
    "latin-1 csv": (["latin.csv", "good.npy"], ["latin.csv", "not UTF-8"], ["codec"]),
    "plot into a missing folder": (
        ["good.npy", "good.npy", "--plot", "{folder}/no/such/dir/null.png"],
        ["--plot", "does not exist"],
        [],
    ),
}


@pytest.mark.parametrize(
    ("command", "case"),
    [
        (command, case)
        for case in sorted(CLI_CASES)
        for command in ("test", "distance")
        if command == "test" or "--plot" not in CLI_CASES[case][0]  # distance draws nothing
    ],
)
def test_cli_errors_are_one_line_with_status_2(files: Path, case: str, command: str, capsys):
    arguments, wanted, unwanted = CLI_CASES[case]
    if "table.parquet" in arguments:
        _parquet(files)
    argv = [a.format(folder=files) if "{" in a else str(files / a) for a in arguments[:2]]
    argv += [a.format(folder=files) for a in arguments[2:]]
    if command == "test":
        argv += ["--permutations", "9"]
    code = main([command, *argv])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.out == ""
    assert "Traceback" not in captured.err
    assert captured.err.startswith("mmd-any: error: "), captured.err
    assert captured.err.count("\n") == 1, captured.err
    for text in wanted:
        assert text in captured.err, (text, captured.err)
    for text in unwanted:
        assert text not in captured.err, (text, captured.err)


def test_cli_device_without_cuda(files: Path, capsys) -> None:
    torch = _torch()
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    good = str(files / "good.npy")
    code = main(["distance", good, good, "--backend", "torch", "--device", "cuda:0"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith("mmd-any: error: --device cuda:0"), err
    assert err.count("\n") == 1, err


@pytest.mark.parametrize("seed", ["-1", "a", "1.5"])
def test_cli_bad_seed_is_an_argparse_error(files: Path, seed: str, capsys) -> None:
    good = str(files / "good.npy")
    with pytest.raises(SystemExit) as exit_info:
        main(["test", good, good, "--permutations", "9", "--seed", seed])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "Traceback" not in err
    assert f"argument --seed: expected a non-negative integer, got '{seed}'" in err


def test_cli_console_script_prints_no_traceback(files: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mmd_any.cli", "test", str(files / "empty.npy"), "x.npy"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().endswith("empty (0 bytes)")
