"""Random Fourier features, the streaming accumulator and the Dask engine."""

from __future__ import annotations

import ast
import copy
import itertools
import math
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

import mmd_any
from mmd_any import StreamingMMD, kernels, streaming
from mmd_any.approximate import features_for, rff_error_bound

from . import reference
from .conftest import Backend, assert_result_like, widest_float


def _pair(n: int, m: int, d: int, seed: int = 0, shift: float = 0.4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(shift, 1.1, size=(m, d))


RFF_KERNELS = [
    kernels.Gaussian(1.3),
    kernels.Laplacian(2.0),
    kernels.Gaussian(mmd_any.bandwidths.MeanSquaredDistance.seed()),
]


@pytest.mark.parametrize("kernel", RFF_KERNELS, ids=repr)
def test_rff_error_shrinks_like_one_over_sqrt_features(kernel: kernels.Kernel) -> None:
    """RMS error over 24 seeds at D = 64 … 4096: log-log slope ≈ −1/2, within the bound."""
    x, y = _pair(400, 300, 3)
    exact = float(mmd_any.mmd2(x, y, kernel=kernel))
    counts = [64, 256, 1024, 4096]
    rms = []
    n_bandwidths = 5 if len(getattr(kernel.rule, "scales", ())) == 5 else 1
    for count in counts:
        errors = [
            float(mmd_any.mmd2_rff(x, y, kernel=kernel, n_features=count, seed=s)) - exact
            for s in range(24)
        ]
        rms.append(math.sqrt(np.mean(np.square(errors))))
        # std ≤ 2√2·L/√D; the worst of 24 draws within the 1 − 1/48 Hoeffding bound
        assert rms[-1] <= 2 * math.sqrt(2) * n_bandwidths / math.sqrt(count)
        assert max(abs(e) for e in errors) <= rff_error_bound(count, n_bandwidths, delta=1 / 48)
    slope = np.polyfit(np.log(counts), np.log(rms), 1)[0]
    assert -0.7 <= slope <= -0.3, (slope, rms)


def test_rff_is_unbiased_for_the_biased_mmd() -> None:
    x, y = _pair(200, 150, 2, shift=0.8)
    kernel = kernels.Gaussian(1.0)
    exact = float(mmd_any.mmd2(x, y, kernel=kernel))
    draws = [
        float(mmd_any.mmd2_rff(x, y, kernel=kernel, n_features=64, seed=s)) for s in range(400)
    ]
    standard_error = np.std(draws) / math.sqrt(len(draws))
    assert abs(np.mean(draws) - exact) <= 4 * standard_error


def _rff_tolerance(kernel, x, y, n_features: int, seed: int, dtype: str) -> float:
    """Two ``dtype`` computations of one RFF estimate (:func:`reference.rff_tolerance`)."""
    pooled = np.concatenate([x, y]).astype(float)
    features = features_for(np, kernel, pooled, [len(x), len(y)], n_features, seed)
    return reference.rff_tolerance(features, x, y, dtype)


def test_rff_on_every_backend(backend: Backend) -> None:
    dtype = widest_float(backend)
    x, y = _pair(120, 90, 3)
    expected = float(mmd_any.mmd2_rff(x.astype(dtype), y.astype(dtype), seed=5, n_features=256))
    xb = backend.asarray(x, dtype)
    result = mmd_any.mmd2_rff(xb, backend.asarray(y, dtype), seed=5, n_features=256)
    assert_result_like(result, backend, like=xb)
    assert float(backend.to_numpy(result)) == pytest.approx(
        expected, abs=_rff_tolerance(kernels.Gaussian(), x, y, 256, 5, dtype)
    )


def test_rff_errors() -> None:
    x, y = _pair(10, 10, 2)
    with pytest.raises(TypeError, match="spectral measure"):
        mmd_any.mmd2_rff(x, y, kernel="polynomial")
    with pytest.raises(ValueError, match="n_features"):
        mmd_any.mmd2_rff(x, y, n_features=1)
    with pytest.raises(ValueError, match="at least 2 per bandwidth"):
        mmd_any.mmd2_rff(x, y, kernel=kernels.Gaussian([1.0, 2.0, 3.0]), n_features=4)
    with pytest.raises(ValueError, match="NaN"):
        mmd_any.mmd2_rff(np.full((3, 2), np.nan), y)


def _chunks(count: int, rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(rows, 3)), rng.normal(0.4, size=(rows, 3))) for _ in range(count)]


def test_streaming_rff_equals_one_shot_and_merges_exactly() -> None:
    kernel = kernels.Gaussian(1.2)
    chunks = _chunks(6, 250)
    whole = StreamingMMD(kernel, "rff", seed=3)
    for x, y in chunks:
        whole.update(x, y)
    x_all = np.concatenate([c[0] for c in chunks])
    y_all = np.concatenate([c[1] for c in chunks])
    one_shot = float(mmd_any.mmd2_rff(x_all, y_all, kernel=kernel, seed=3))
    assert float(whole.value()) == pytest.approx(one_shot, rel=1e-10)
    left, right = StreamingMMD(kernel, "rff", seed=3), StreamingMMD(kernel, "rff", seed=3)
    for x, y in chunks[:2]:
        left.update(x, y)
    for x, y in chunks[2:]:
        right.update(x, y[:200])  # chunk sizes are free for rff
    merged = left.merge(right)
    fed = StreamingMMD(kernel, "rff", seed=3)
    for index, (x, y) in enumerate(chunks):
        fed.update(x, y if index < 2 else y[:200])
    assert float(merged.value()) == pytest.approx(float(fed.value()), rel=1e-12)
    assert (merged.n_x, merged.n_y) == (1500, 1300)


def test_streaming_linear_equals_the_linear_estimator_and_merges() -> None:
    kernel = kernels.Laplacian(1.5)
    chunks = _chunks(5, 120)
    acc = StreamingMMD(kernel, "linear")
    for x, y in chunks:
        acc.update(x, y)
    x_all = np.concatenate([c[0] for c in chunks])
    y_all = np.concatenate([c[1] for c in chunks])
    batch = float(mmd_any.mmd2(x_all, y_all, kernel=kernel, estimator="linear"))
    assert float(acc.value()) == pytest.approx(batch, rel=1e-12)
    first, second = StreamingMMD(kernel, "linear"), StreamingMMD(kernel, "linear")
    for x, y in chunks[:3]:
        first.update(x, y)
    for x, y in chunks[3:]:
        second.update(x, y)
    assert float(first.merge(second).value()) == pytest.approx(batch, rel=1e-12)


def test_streaming_linear_carries_odd_rows() -> None:
    kernel = kernels.Gaussian(1.0)
    x, y = _pair(101, 101, 2)
    acc = StreamingMMD(kernel, "linear")
    for start in range(0, 101, 7):  # chunks of 7 rows: odd rows carried across updates
        acc.update(x[start : start + 7], y[start : start + 7])
    batch = float(mmd_any.mmd2(x[:100], y[:100], kernel=kernel, estimator="linear"))
    assert float(acc.value()) == pytest.approx(batch, rel=1e-12)


def test_streaming_data_driven_bandwidth_needs_fork_to_merge() -> None:
    chunks = _chunks(4, 200)
    first = StreamingMMD("gaussian", "rff", seed=1).update(*chunks[0])
    stranger = StreamingMMD("gaussian", "rff", seed=1).update(*chunks[1])
    with pytest.raises(ValueError, match="fork"):
        first.merge(stranger)
    worker = first.fork().update(*chunks[1])
    merged = first.merge(worker)
    sequential = StreamingMMD("gaussian", "rff", seed=1).update(*chunks[0]).update(*chunks[1])
    assert float(merged.value()) == pytest.approx(float(sequential.value()), rel=1e-12)


def test_streaming_on_every_backend(backend: Backend) -> None:
    dtype = widest_float(backend, "StreamingMMD")
    chunks = _chunks(3, 64)
    acc = StreamingMMD(kernels.Gaussian(1.0), "rff", seed=0, n_features=128)
    ref = StreamingMMD(kernels.Gaussian(1.0), "rff", seed=0, n_features=128)
    for x, y in chunks:
        xb = backend.asarray(x, dtype)
        acc.update(xb, backend.asarray(y, dtype))
        ref.update(x.astype(dtype), y.astype(dtype))
    assert_result_like(acc.value(), backend, like=xb)
    x_all = np.concatenate([x for x, _ in chunks])
    y_all = np.concatenate([y for _, y in chunks])
    tol = _rff_tolerance(kernels.Gaussian(1.0), x_all, y_all, 128, 0, dtype)
    assert float(backend.to_numpy(acc.value())) == pytest.approx(float(ref.value()), abs=tol)


def test_streaming_errors() -> None:
    x, y = _pair(10, 12, 2)
    with pytest.raises(ValueError, match="estimator"):
        StreamingMMD(estimator="unbiased")
    with pytest.raises(ValueError, match="at least one update"):
        StreamingMMD().value()
    with pytest.raises(ValueError, match="as many `x` rows"):
        StreamingMMD(estimator="linear").update(x, y)
    acc = StreamingMMD(kernels.Gaussian(1.0), seed=0).update(x, y)
    with pytest.raises(ValueError, match="features"):
        acc.update(np.ones((4, 3)), np.ones((4, 3)))
    with pytest.raises(TypeError, match="merge"):
        acc.merge(3)


# -- one constructor, one accumulator class per streaming estimator --------------------

STREAMING_ESTIMATORS = streaming._STREAMING_ESTIMATORS


@pytest.mark.parametrize("name", sorted(STREAMING_ESTIMATORS))
def test_streaming_constructs_the_registered_class(name: str) -> None:
    kind = STREAMING_ESTIMATORS[name]
    for acc in (StreamingMMD(kernels.Gaussian(1.0), name), StreamingMMD(estimator=name)):
        assert type(acc) is kind
        assert isinstance(acc, StreamingMMD)
        assert acc.estimator == name
    assert type(StreamingMMD()) is STREAMING_ESTIMATORS["rff"]  # the default


def test_an_unknown_streaming_estimator_lists_the_registered_names() -> None:
    names = re.escape(str(sorted(STREAMING_ESTIMATORS)))
    with pytest.raises(ValueError, match=rf"`estimator` 'unbiased'; valid names are {names}"):
        StreamingMMD(estimator="unbiased")
    with pytest.raises(TypeError, match=rf"`estimator` must be one of {names}"):
        StreamingMMD(estimator=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(STREAMING_ESTIMATORS))
def test_streaming_fork_merged_and_copies_keep_the_class(name: str) -> None:
    kind = STREAMING_ESTIMATORS[name]
    x, y = _pair(21, 21, 2)
    acc = StreamingMMD(kernels.Gaussian(1.0), name, n_features=16, seed=0).update(x, y)
    worker = acc.fork()
    assert type(worker) is kind
    worker.update(x[:9], y[:9])
    assert type(acc.merged(worker)) is kind
    empty = StreamingMMD(kernels.Gaussian(1.0), name, n_features=16, seed=0)
    assert type(empty.merged(acc)) is kind
    assert type(empty.merge(acc)) is kind
    assert float(empty.value()) == float(acc.value())
    assert type(copy.copy(acc)) is kind
    unfed = pickle.loads(pickle.dumps(StreamingMMD(kernels.Gaussian(1.0), name, seed=0)))
    assert type(unfed) is kind
    assert float(unfed.update(x, y).value()) == float(
        StreamingMMD(kernels.Gaussian(1.0), name, seed=0).update(x, y).value()
    )


@pytest.mark.parametrize(("name", "other"), list(itertools.permutations(STREAMING_ESTIMATORS, 2)))
def test_streaming_estimators_do_not_mix(name: str, other: str) -> None:
    x, y = _pair(20, 20, 2)
    acc = StreamingMMD(kernels.Gaussian(1.0), name, seed=0)
    stranger = StreamingMMD(kernels.Gaussian(1.0), other, seed=0).update(x, y)
    for target in (acc, StreamingMMD(kernels.Gaussian(1.0), name, seed=0).update(x, y)):
        for method in (target.merge, target.merged):
            with pytest.raises(ValueError, match=f"`other` uses estimator {other!r}"):
                method(stranger)
    with pytest.raises(ValueError, match="construct accumulators with StreamingMMD"):
        STREAMING_ESTIMATORS[name](estimator=other)


def test_streaming_names_its_estimators_only_in_the_registry() -> None:
    """The estimators differ by class: no comparison of an estimator with a string,
    and the names as literals only in the registry (and the constructor's default)."""
    tree = ast.parse(Path(streaming.__file__).read_text(encoding="utf-8"))

    def mentions_estimator(node: ast.AST) -> bool:
        return any(
            "estimator" in (getattr(sub, "id", None) or getattr(sub, "attr", None) or "")
            for sub in ast.walk(node)
            if isinstance(sub, ast.Name | ast.Attribute)
        )

    def has_string(node: ast.AST) -> bool:
        return any(
            isinstance(sub, ast.Constant) and isinstance(sub.value, str) for sub in ast.walk(node)
        )

    branches = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if (
            isinstance(node, ast.Compare)
            and any(map(mentions_estimator, [node.left, *node.comparators]))
            and any(map(has_string, [node.left, *node.comparators]))
        )
        or (
            isinstance(node, ast.Match)
            and mentions_estimator(node.subject)
            and any(has_string(case.pattern) for case in node.cases)
        )
    ]
    assert branches == []

    allowed: set[int] = set()  # the registry's keys and the constructor's default
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.Assign) and "_STREAMING_ESTIMATORS" in [
            getattr(target, "id", None)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        ]:
            allowed.update(id(sub) for sub in ast.walk(node.value))
        if isinstance(node, ast.FunctionDef) and node.name in ("__new__", "__init__"):
            allowed.update(id(default) for default in node.args.defaults)
    literals = [
        f"line {node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and node.value in STREAMING_ESTIMATORS
        and id(node) not in allowed
    ]
    assert literals == []


# -- Dask -----------------------------------------------------------------------------

da = pytest.importorskip("dask.array")

DASK_KERNELS = [
    "gaussian",
    "laplacian",
    "energy",
    kernels.Gaussian(mmd_any.bandwidths.MeanSquaredDistance.seed()),
    kernels.Polynomial(),
]


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
@pytest.mark.parametrize("kernel", DASK_KERNELS, ids=str)
def test_dask_exact_engine_equals_numpy(kernel, estimator: str) -> None:
    x, y = _pair(700, 530, 3)
    dx, dy = da.from_array(x, chunks=170), da.from_array(y, chunks=240)
    lazy = mmd_any.mmd2(dx, dy, kernel=kernel, estimator=estimator)
    assert isinstance(lazy, da.Array)
    assert lazy.shape == ()
    expected = float(mmd_any.mmd2(x, y, kernel=kernel, estimator=estimator))
    assert float(lazy.compute()) == pytest.approx(expected, rel=1e-10, abs=1e-13)


def test_dask_engine_is_one_task_per_chunk_pair() -> None:
    x, y = _pair(1000, 1000, 2)
    lazy = mmd_any.mmd2(
        da.from_array(x, chunks=250), da.from_array(y, chunks=250), kernel=kernels.Gaussian(1.0)
    )
    names = [key[0] if isinstance(key, tuple) else key for key in dict(lazy.__dask_graph__())]
    pair_tasks = [name for name in names if str(name).startswith("_pair_forms")]
    assert len(pair_tasks) == 8 * 9 // 2  # 8 row chunks: 36 pairs i ≤ j


def test_dask_rff_and_presets_stay_lazy() -> None:
    """Building either computes nothing; the graphs give NumPy's numbers."""
    from dask.callbacks import Callback

    computed: list[object] = []
    x, y = _pair(600, 400, 3)
    dx, dy = da.from_array(x, chunks=200), da.from_array(y, chunks=200)
    with Callback(start=computed.append):
        lazy_rff = mmd_any.mmd2_rff(dx, dy, seed=2, n_features=256)
        lazy_preset = mmd_any.mmd2(dx, dy, preset="alibi")
    assert computed == []
    assert isinstance(lazy_rff, da.Array)
    assert isinstance(lazy_preset, da.Array)
    assert float(lazy_rff.compute()) == pytest.approx(
        float(mmd_any.mmd2_rff(x, y, seed=2, n_features=256)), rel=1e-9
    )
    assert float(lazy_preset.compute()) == pytest.approx(
        float(mmd_any.mmd2(x, y, preset="alibi")), rel=1e-10
    )


@pytest.fixture(scope="module")
def cluster_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=50,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_local_cluster_exact_rff_and_test_equal_numpy(cluster_client) -> None:
    """A real multi-process LocalCluster (loopback only): results equal NumPy's."""
    x, y = _pair(1500, 1200, 4)
    dx, dy = da.from_array(x, chunks=400), da.from_array(y, chunks=400)
    exact = cluster_client.compute(mmd_any.mmd2(dx, dy)).result()
    assert float(exact) == pytest.approx(float(mmd_any.mmd2(x, y)), rel=1e-10)
    unbiased = cluster_client.compute(mmd_any.mmd2(dx, dy, estimator="unbiased")).result()
    assert float(unbiased) == pytest.approx(
        float(mmd_any.mmd2(x, y, estimator="unbiased")), rel=1e-10
    )
    rff = cluster_client.compute(mmd_any.mmd2_rff(dx, dy, seed=4)).result()
    assert float(rff) == pytest.approx(float(mmd_any.mmd2_rff(x, y, seed=4)), rel=1e-9)
    small_x, small_y = dx[:200], dy[:150]
    result = mmd_any.mmd_test(small_x, small_y, n_permutations=50, seed=0)
    statistic = cluster_client.compute(result.statistic).result()
    eager = mmd_any.mmd_test(x[:200], y[:150], n_permutations=50, seed=0)
    assert float(statistic) == pytest.approx(float(eager.statistic), rel=1e-10)
    workers = cluster_client.scheduler_info()["workers"]
    assert len(workers) == 2
    assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
