"""The public API's conventions (issue 15, "API polish").

* ``bandwidth=`` beside a kernel name wherever a kernel is accepted, resolved once
  by :func:`mmd_any.kernels.as_kernel`; refused (``ValueError``) beside a Kernel
  instance, a kernel without bandwidth or a preset.
* ``standardize=`` on the same entry points, forwarded to the sample preparation.
* ``StreamingMMD.merge`` works in place like ``update``; ``merged`` is the
  functional form.
* ``MMDTestResult.plot`` returns the Axes it drew on.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

import mmd_any
from mmd_any import StreamingMMD, bandwidths, kernels, presets

from .conftest import Backend, get_backend

rng = np.random.default_rng(15)
X = rng.normal(size=(40, 3))
Y = rng.normal(0.4, 1.5, size=(50, 3))


@pytest.fixture(params=["numpy", "torch", "array_api_strict"])
def core(request: pytest.FixtureRequest) -> Backend:
    """NumPy, torch (CPU) and array-api-strict: the backends every API test runs on."""
    found = get_backend(request.param)
    if found is None:
        pytest.skip(f"{request.param} is not available on this machine")
    return found


def _same(a: Any, b: Any, backend: Backend) -> None:
    """Bit-for-bit equal results (the same kernel object computes both)."""
    first, second = backend.to_numpy(a), backend.to_numpy(b)
    assert first.shape == second.shape
    np.testing.assert_array_equal(first, second)


# -- 1. bandwidth= beside a kernel name ----------------------------------------------------


def test_gaussian_name_with_bandwidth_is_the_gaussian_instance(backend: Backend) -> None:
    x, y = backend.asarray(X), backend.asarray(Y)
    by_name = mmd_any.mmd2(x, y, kernel="gaussian", bandwidth=1.0)
    by_instance = mmd_any.mmd2(x, y, kernel=kernels.Gaussian(1.0))
    _same(by_name, by_instance, backend)


@pytest.mark.parametrize(
    ("name", "bandwidth", "instance"),
    [
        ("rbf", 1.0, kernels.Gaussian(1.0)),
        ("rbf", [0.5, 1.0, 2.0], kernels.Gaussian([0.5, 1.0, 2.0])),
        ("laplacian", [0.5, 1.0, 2.0], kernels.Laplacian([0.5, 1.0, 2.0])),
        ("laplacian", "median", kernels.Laplacian("median")),
        ("exponential", "mean", kernels.Exponential("mean")),
        ("imq", 2.0, kernels.InverseMultiquadric(2.0)),
        (
            "gaussian",
            bandwidths.Median(scales=(0.5, 2.0)),
            kernels.Gaussian(bandwidths.Median(scales=(0.5, 2.0))),
        ),
    ],
    ids=[
        "rbf",
        "rbf-list",
        "laplacian-list",
        "laplacian-median",
        "exponential-mean",
        "imq",
        "rule",
    ],
)
@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_every_bandwidth_form_matches_the_instance(
    core: Backend, name: str, bandwidth: Any, instance: kernels.Kernel, estimator: str
) -> None:
    x, y = core.asarray(X), core.asarray(Y)
    by_name = mmd_any.mmd2(x, y, kernel=name, bandwidth=bandwidth, estimator=estimator)
    _same(by_name, mmd_any.mmd2(x, y, kernel=instance, estimator=estimator), core)
    assert kernels.as_kernel(name, bandwidth) == instance


def test_an_array_bandwidth_of_the_samples_library(core: Backend) -> None:
    x, y = core.asarray(X), core.asarray(Y)
    sigmas = core.asarray([0.5, 1.0, 2.0])
    by_name = mmd_any.mmd2(x, y, kernel="laplacian", bandwidth=sigmas)
    by_instance = mmd_any.mmd2(x, y, kernel=kernels.Laplacian(sigmas))
    _same(by_name, by_instance, core)
    fixed = mmd_any.mmd2(x, y, kernel="laplacian", bandwidth=[0.5, 1.0, 2.0])
    np.testing.assert_allclose(core.to_numpy(by_name), core.to_numpy(fixed), rtol=1e-12)


def test_no_bandwidth_keeps_the_default(core: Backend) -> None:
    x, y = core.asarray(X), core.asarray(Y)
    default = mmd_any.mmd2(x, y)
    _same(mmd_any.mmd2(x, y, bandwidth=None), default, core)
    _same(mmd_any.mmd2(x, y, kernel="gaussian", bandwidth=None), default, core)
    _same(mmd_any.mmd2(x, y, kernel="gaussian", bandwidth="median"), default, core)
    # without a kernel name the bandwidth is the default Gaussian's
    _same(mmd_any.mmd2(x, y, bandwidth=1.0), mmd_any.mmd2(x, y, kernel=kernels.Gaussian(1.0)), core)


def test_every_entry_point_takes_the_bandwidth(core: Backend) -> None:
    x, y = core.asarray(X), core.asarray(Y)
    k = kernels.Laplacian([0.5, 2.0])
    _same(
        mmd_any.mmd(x, y, kernel="laplacian", bandwidth=[0.5, 2.0]),
        mmd_any.mmd(x, y, kernel=k),
        core,
    )
    _same(
        mmd_any.kernel_matrix(x, y, kernel="laplacian", bandwidth=[0.5, 2.0]),
        mmd_any.kernel_matrix(x, y, kernel=k),
        core,
    )
    _same(
        mmd_any.kernel_matrix(x, kernel="laplacian", bandwidth=[0.5, 2.0]),
        mmd_any.kernel_matrix(x, kernel=k),
        core,
    )
    _same(
        mmd_any.mmd2_rff(x, y, kernel="laplacian", bandwidth=[0.5, 2.0], n_features=64, seed=0),
        mmd_any.mmd2_rff(x, y, kernel=k, n_features=64, seed=0),
        core,
    )
    for estimator in ("rff", "linear"):
        named = StreamingMMD("laplacian", estimator, bandwidth=[0.5, 2.0], n_features=64, seed=0)
        given = StreamingMMD(k, estimator, n_features=64, seed=0)
        assert named.kernel == k
        _same(named.update(x, x).value(), given.update(x, x).value(), core)


def test_the_permutation_test_takes_the_bandwidth(core: Backend) -> None:
    x, y = core.asarray(X), core.asarray(Y)
    options = {"n_permutations": 39, "seed": 3}
    named = mmd_any.mmd_test(x, y, kernel="rbf", bandwidth=1.5, **options)
    given = mmd_any.mmd_test(x, y, kernel=kernels.Gaussian(1.5), **options)
    assert (named.pvalue, named.kernels, named.bandwidths) == (
        given.pvalue,
        given.kernels,
        given.bandwidths,
    )
    assert named.bandwidths == (1.5,)
    _same(named.null_distribution, given.null_distribution, core)


def test_aggregated_tests_give_the_bandwidths_to_every_named_kernel() -> None:
    options = {"n_permutations": 39, "seed": 3}
    sigmas = [0.5, 1.0, 2.0]
    named = mmd_any.mmd_test(
        X, Y, kernel=["gaussian", "laplacian"], bandwidth=sigmas, aggregate="minp", **options
    )
    given = mmd_any.mmd_test(
        X,
        Y,
        kernel=[kernels.Gaussian(sigmas), kernels.Laplacian(sigmas)],
        aggregate="minp",
        **options,
    )
    assert named.bandwidths == (0.5, 1.0, 2.0, 0.5, 1.0, 2.0)
    assert (named.kernels, named.pvalues, named.pvalue) == (
        given.kernels,
        given.pvalues,
        given.pvalue,
    )
    # the min-p test's default kernel is the Gaussian: the bandwidths are its members'
    default = mmd_any.mmd_test(X, Y, bandwidth=sigmas, aggregate="minp", **options)
    assert default.kernels == tuple(f"Gaussian({s:g})" for s in sigmas)
    fused = mmd_any.mmd_test(X, Y, kernel="gaussian", bandwidth=sigmas, aggregate="fuse", **options)
    assert fused.bandwidths == (0.5, 1.0, 2.0)
    # "median" expands to the ladder, as a plain-median kernel does
    ladder = mmd_any.mmd_test(
        X, Y, kernel="gaussian", bandwidth="median", aggregate="minp", **options
    )
    assert len(ladder.kernels) == 9


def test_the_torch_loss_takes_the_bandwidth() -> None:
    torch = pytest.importorskip("torch")
    from mmd_any.torch import MMDLoss

    x, y = torch.asarray(X), torch.asarray(Y)
    named = MMDLoss(kernel="rbf", bandwidth=[1.0, 2.0])
    assert named.kernel == kernels.Gaussian([1.0, 2.0])
    assert torch.equal(named(x, y), MMDLoss(kernel=kernels.Gaussian([1.0, 2.0]))(x, y))
    with pytest.raises(ValueError, match=r"`bandwidth` goes with `kernel=`.*fix_sigma"):
        MMDLoss(bandwidth=1.0)
    with pytest.raises(ValueError, match=r"give the bandwidth to the kernel"):
        MMDLoss(kernel=kernels.Gaussian(), bandwidth=1.0)


ENTRY_POINTS = {
    "mmd2": lambda **kw: mmd_any.mmd2(X, Y, **kw),
    "mmd": lambda **kw: mmd_any.mmd(X, Y, **kw),
    "mmd_test": lambda **kw: mmd_any.mmd_test(X, Y, n_permutations=19, **kw),
    "mmd2_rff": lambda **kw: mmd_any.mmd2_rff(X, Y, **kw),
    "kernel_matrix": lambda **kw: mmd_any.kernel_matrix(X, Y, **kw),
    "StreamingMMD": lambda **kw: StreamingMMD(**kw),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_a_bandwidth_beside_an_instance_is_refused(entry: str) -> None:
    with pytest.raises(
        ValueError, match=r"give the bandwidth to the kernel, e\.g\. Gaussian\(1\.0\)"
    ):
        ENTRY_POINTS[entry](kernel=kernels.Gaussian(2.0), bandwidth=1.0)


@pytest.mark.parametrize("entry", ["mmd2", "mmd", "mmd_test", "kernel_matrix", "StreamingMMD"])
@pytest.mark.parametrize("name", ["energy", "linear", "polynomial", "poly"])
def test_a_bandwidth_for_a_kernel_without_one_is_refused(entry: str, name: str) -> None:
    canonical = {"poly": "polynomial"}.get(name, name)
    with pytest.raises(ValueError, match=rf"the '{canonical}' kernel has no bandwidth"):
        ENTRY_POINTS[entry](kernel=name, bandwidth=1.0)
    with pytest.raises(ValueError, match=r"Energy\(sq_distance_floor=0\.0\) has no bandwidth"):
        ENTRY_POINTS[entry](kernel=kernels.Energy(), bandwidth=1.0)


def test_the_random_features_refuse_a_kernel_without_spectral_measure() -> None:
    with pytest.raises(TypeError, match="Gaussian or Laplacian"):
        mmd_any.mmd2_rff(X, Y, kernel="exponential", bandwidth=1.0)
    with pytest.raises(ValueError, match="the 'energy' kernel has no bandwidth"):
        mmd_any.mmd2_rff(X, Y, kernel="energy", bandwidth=1.0)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_bad_bandwidths_are_the_kernels_errors(entry: str) -> None:
    with pytest.raises(ValueError, match=r"positive and finite, got -1\.0"):
        ENTRY_POINTS[entry](kernel="gaussian", bandwidth=-1.0)
    with pytest.raises(ValueError, match=r"unknown `kernel` 'gauss'"):
        ENTRY_POINTS[entry](kernel="gauss", bandwidth=1.0)


@pytest.mark.parametrize("entry", ["mmd2", "mmd_test"])
def test_a_preset_fixes_its_bandwidth(entry: str) -> None:
    call = ENTRY_POINTS[entry]
    with pytest.raises(ValueError, match=r"as_preset\('seed'\)\.with_bandwidth\(value\)"):
        call(preset="seed", bandwidth=1.0)
    with pytest.raises(ValueError, match=r"'kid' fixes the kernel.*no bandwidth to set"):
        call(preset="kid", bandwidth=1.0)
    # the supported way: the preset's own bandwidth, in the peer's units
    with_bandwidth = presets.as_preset("seed").with_bandwidth(1.0)
    found = call(preset=with_bandwidth)
    value = float(found if entry == "mmd2" else found.statistic)
    assert value == pytest.approx(float(with_bandwidth.mmd2(X, Y)), rel=1e-12)
    assert value != pytest.approx(float(presets.seed.mmd2(X, Y)), rel=1e-3)  # it was used


def test_fuse_and_combined_need_the_kernels_named_for_a_bandwidth() -> None:
    for method in ("fuse", "combined", True):
        with pytest.raises(ValueError, match=r"has its own collection.*name the kernels"):
            mmd_any.mmd_test(X, Y, bandwidth=1.0, aggregate=method, n_permutations=19)


def test_kid_has_no_bandwidth() -> None:
    """KID's kernel is the polynomial one: no ``bandwidth`` argument to misread."""
    assert "bandwidth" not in inspect.signature(mmd_any.kid).parameters
    with pytest.raises(TypeError, match="bandwidth"):
        mmd_any.kid(X, Y, subset_size=10, subsets=2, bandwidth=1.0)  # type: ignore[call-arg]


def test_every_kernel_argument_has_a_bandwidth_beside_it() -> None:
    from mmd_any.torch import MMDLoss

    entries = [
        mmd_any.mmd2,
        mmd_any.mmd,
        mmd_any.mmd_test,
        mmd_any.mmd2_rff,
        mmd_any.kernel_matrix,
        StreamingMMD.__init__,
        MMDLoss.__init__,
    ]
    for function in entries:
        parameters = inspect.signature(function).parameters
        assert "kernel" in parameters, function
        assert parameters["bandwidth"].default is None, function
        assert parameters["bandwidth"].kind is inspect.Parameter.KEYWORD_ONLY, function


# -- 2. standardize= -----------------------------------------------------------------------


def _standardized(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pooled = np.concatenate([x, y])
    mean, std = pooled.mean(axis=0), pooled.std(axis=0)
    return (x - mean) / std, (y - mean) / std


def test_every_entry_point_takes_standardize() -> None:
    for function in (
        mmd_any.mmd2,
        mmd_any.mmd,
        mmd_any.kid,
        mmd_any.mmd_test,
        mmd_any.mmd2_rff,
        mmd_any.kernel_matrix,
    ):
        parameter = inspect.signature(function).parameters["standardize"]
        assert parameter.default is False, function
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, function


STANDARDIZED = {
    "mmd2": lambda x, y, **kw: mmd_any.mmd2(x, y, bandwidth=1.0, **kw),
    "mmd2-median": lambda x, y, **kw: mmd_any.mmd2(x, y, kernel="laplacian", **kw),
    "mmd": lambda x, y, **kw: mmd_any.mmd(x, y, **kw),
    "kid": lambda x, y, **kw: mmd_any.kid(x, y, subsets=3, subset_size=20, seed=0, **kw).mean,
    "mmd_test": lambda x, y, **kw: (
        mmd_any.mmd_test(x, y, n_permutations=19, seed=0, **kw).statistic
    ),
    "mmd2_rff": lambda x, y, **kw: mmd_any.mmd2_rff(
        x, y, bandwidth=1.0, n_features=64, seed=0, **kw
    ),
    "kernel_matrix": lambda x, y, **kw: mmd_any.kernel_matrix(x, y, **kw),
}


@pytest.mark.parametrize("entry", sorted(STANDARDIZED))
def test_standardize_is_forwarded(entry: str) -> None:
    """``standardize=True`` computes on the pooled-standardised samples."""
    call = STANDARDIZED[entry]
    units = np.array([1.0, 10.0, 100.0])  # features of different units
    scaled_x, scaled_y = units * X + 3.0, units * Y + 3.0
    standardized = np.asarray(call(scaled_x, scaled_y, standardize=True))
    expected = np.asarray(call(*_standardized(scaled_x, scaled_y)))
    np.testing.assert_allclose(standardized, expected, rtol=1e-9, atol=1e-12)
    assert not np.allclose(np.asarray(call(scaled_x, scaled_y)), expected)


def test_kernel_matrix_of_one_sample_standardizes_it() -> None:
    scaled = np.array([1.0, 10.0, 100.0]) * X + 3.0
    expected = (scaled - scaled.mean(axis=0)) / scaled.std(axis=0)
    np.testing.assert_allclose(
        mmd_any.kernel_matrix(scaled, bandwidth=1.0, standardize=True),
        mmd_any.kernel_matrix(expected, bandwidth=1.0),
        rtol=1e-12,
    )


# -- 3. StreamingMMD.merge in place, merged as the functional form ------------------------------


def _fed(estimator: str = "rff", rows: int = 20, offset: int = 0) -> StreamingMMD:
    acc = StreamingMMD("gaussian", estimator, bandwidth=1.0, n_features=64, seed=0)
    return acc.update(X[offset : offset + rows], Y[offset : offset + rows])


def _state(acc: StreamingMMD) -> tuple[int, int, float]:
    return acc.n_x, acc.n_y, float(acc.value())


@pytest.mark.parametrize("estimator", ["rff", "linear"])
def test_merge_updates_in_place_and_returns_the_accumulator(estimator: str) -> None:
    a, b = _fed(estimator, 20, 0), _fed(estimator, 10, 20)
    before, other = _state(a), _state(b)
    assert a.merge(b) is a
    assert _state(a) != before
    assert (a.n_x, a.n_y) == (30, 30)
    assert _state(b) == other  # the operand is unchanged
    sequential = _fed(estimator, 20, 0).update(X[20:30], Y[20:30])
    assert float(a.value()) == pytest.approx(float(sequential.value()), rel=1e-12)


@pytest.mark.parametrize("estimator", ["rff", "linear"])
def test_merged_leaves_both_operands_unchanged(estimator: str) -> None:
    a, b = _fed(estimator, 20, 0), _fed(estimator, 11, 20)  # linear: an odd row carried
    first, second = _state(a), _state(b)
    both = a.merged(b)
    assert both is not a
    assert both is not b
    assert (_state(a), _state(b)) == (first, second)
    assert StreamingMMD.merged(a, b).value() == both.value()
    assert _state(both) == _state(_fed(estimator, 20, 0).merge(b))
    assert (both.n_x, both.n_y) == (31, 31)
    # the result is an accumulator of its own: feeding it leaves the operands alone
    both.update(X[31:35], Y[31:35])
    assert (_state(a), _state(b)) == (first, second)


def test_the_linear_carries_of_both_form_one_more_pair() -> None:
    a, b = _fed("linear", 11, 0), _fed("linear", 11, 11)
    a.merge(b)
    pairs = [(X[:10], Y[:10]), (X[11:21], Y[11:21]), (X[[10, 21]], Y[[10, 21]])]
    weights = [5, 5, 1]
    values = [
        float(mmd_any.mmd2(x, y, kernel="gaussian", bandwidth=1.0, estimator="linear"))
        for x, y in pairs
    ]
    expected = sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights)
    assert float(a.value()) == pytest.approx(expected, rel=1e-12)


def test_merging_with_an_empty_accumulator() -> None:
    fed = _fed()
    state = _state(fed)
    empty = StreamingMMD("gaussian", bandwidth=1.0, n_features=64, seed=0)
    assert fed.merge(empty) is fed
    assert _state(fed) == state
    assert empty.merge(fed) is empty  # takes over the data and the features
    assert _state(empty) == state
    assert _state(fed) == state
    empty.update(X[20:30], Y[20:30])
    assert _state(fed) == state
    with pytest.raises(ValueError, match=r"`other` uses the kernel Gaussian\(bandwidth=1\.0\)"):
        StreamingMMD("gaussian", bandwidth=2.0).merge(fed)


def test_merging_an_accumulator_with_itself_is_refused() -> None:
    acc = _fed()
    state = _state(acc)
    with pytest.raises(ValueError, match="with itself"):
        acc.merge(acc)
    with pytest.raises(ValueError, match="with itself"):
        acc.merged(acc)
    assert _state(acc) == state


def test_incompatible_merges_raise_and_change_nothing() -> None:
    acc = _fed()
    state = _state(acc)
    cases = [
        (_fed("linear"), ValueError, r"`other` uses estimator 'linear'"),
        (
            StreamingMMD("gaussian", n_features=64, seed=0).update(X, Y),
            ValueError,
            "different kernel parameters or random features",
        ),
        (
            StreamingMMD("gaussian", bandwidth=1.0, n_features=64, seed=0).update(
                X[:, :2], Y[:, :2]
            ),
            ValueError,
            "rows of 2 features",
        ),
        (X, TypeError, "can only merge a StreamingMMD"),
    ]
    for other, error, message in cases:
        for method in (acc.merge, acc.merged):
            with pytest.raises(error, match=message):
                method(other)
        assert _state(acc) == state


# -- 4. plot(ax=...) returns the Axes it drew on -----------------------------------------------


@pytest.fixture
def plt() -> Any:
    pyplot = pytest.importorskip("matplotlib.pyplot")
    yield pyplot
    pyplot.close("all")


def test_plot_of_a_single_test_returns_its_axes(plt: Any) -> None:
    from matplotlib.axes import Axes

    result = mmd_any.mmd_test(X, Y, n_permutations=19, seed=0)
    ax = result.plot()
    assert isinstance(ax, Axes)
    assert ax.lines  # drawn on
    assert ax.figure.axes == [ax]
    _, given = plt.subplots()
    assert result.plot(ax=given) is given
    assert given.lines


@pytest.mark.parametrize(("method", "extra"), [("minp", 0), ("fuse", 1), ("combined", 1)])
def test_plot_of_an_aggregated_test_returns_the_axes_drawn_on(
    plt: Any, method: str, extra: int
) -> None:
    kernel = kernels.Gaussian([0.5, 1.0, 2.0])
    result = mmd_any.mmd_test(X, Y, kernel=kernel, aggregate=method, n_permutations=19, seed=0)
    panels = 3 + extra
    axes = result.plot()
    assert isinstance(axes, np.ndarray)
    assert axes.shape == (panels,)
    figure = axes[0].figure
    assert all(ax.figure is figure for ax in axes)
    assert all(ax.get_visible() and ax.patches for ax in axes)  # each holds a histogram
    assert [ax for ax in figure.axes if ax.get_visible()] == list(axes)
    # given axes (with a spare one): the first ones are returned, the spare untouched
    fig, grid = plt.subplots(2, 3)
    drawn = result.plot(ax=grid)
    assert drawn.shape == (panels,)
    assert all(a is b for a, b in zip(drawn, grid.ravel(), strict=False))
    assert all(ax.figure is fig for ax in drawn)
    assert not any(ax.patches for ax in grid.ravel()[panels:])
