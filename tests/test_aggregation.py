"""The aggregated permutation tests (``mmd_test(aggregate=...)``: min-p, MMD-FUSE, combined).

The reference below is written from the definitions in the docstrings of
:mod:`mmd_any.two_sample` and :mod:`mmd_any._aggregation`, in plain float64
NumPy/SciPy: pairwise distances from ``scipy.spatial.distance.cdist``, kernel
matrices from their formulas, every member's MMD² for every label row as means
over explicit index sets, p-values as counts. The only thing it takes from the
library is :func:`mmd_any.two_sample.permutation_labels` (the label rows the
test uses), so that every p-value can be compared exactly.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np
import pytest
from array_api_compat import array_namespace, device
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import cdist

import mmd_any
from mmd_any import kernels
from mmd_any.bandwidths import DistanceQuantiles
from mmd_any.two_sample import PermutationsWarning, permutation_labels

from . import reference
from .conftest import Backend, assert_result_like

METHODS = [False, "minp", "fuse", "combined"]
AGGREGATED = ["minp", "fuse", "combined"]
METHOD_NAMES = {False: "single", "minp": "minp", "fuse": "fuse", "combined": "combined"}


def _data(n: int, m: int, shift: float = 0.3, d: int = 3, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng([seed, n, m, d])
    return rng.normal(size=(n, d)), rng.normal(shift, 1.0, size=(m, d))


# ------------------------------------------------------------------- reference


def _kth_pair_distance(distances: np.ndarray, level: float) -> float:
    """The ⌊level · pairs⌋-th smallest (0-based) distance over the pairs i < j."""
    values = np.sort(distances[np.triu_indices(distances.shape[0], 1)])
    return float(values[min(len(values) - 1, math.floor(level * len(values)))])


def quantile_grid(distances: np.ndarray, spacing: str, multiplier: float = 1.0) -> np.ndarray:
    """DistanceQuantiles' defaults: ten bandwidths from ½·q05 to 2·q95, times ``multiplier``."""
    low = 0.5 * _kth_pair_distance(distances, 0.05)
    high = 2.0 * _kth_pair_distance(distances, 0.95)
    t = np.arange(10) / 9
    grid = low + (high - low) * t if spacing == "linear" else low * (high / low) ** t
    return grid * multiplier


def _median_ladder(euclidean: np.ndarray) -> np.ndarray:
    """min-p's default: the Gaussian with bandwidths median · 2^k, k = −4 … 4."""
    median = float(np.median(euclidean[np.triu_indices(euclidean.shape[0], 1)]))
    return median * 2.0 ** np.arange(-4, 5)


def members(z: np.ndarray, collection: str) -> list[tuple[str, float, np.ndarray]]:
    """``(kind, σ, K)`` of each member of a collection on the pooled sample ``z``:
    ``"linear"`` (MMD-FUSE) or ``"geometric"`` (MMDAgg) quantile grids of the
    Gaussian (Euclidean) and the Laplacian (L1, σ = λ/√2), or the ``"median"`` ladder."""
    euclidean, cityblock = cdist(z, z), cdist(z, z, "cityblock")
    if collection == "median":
        return [
            ("gaussian", s, np.exp(-(euclidean**2) / (2 * s * s)))
            for s in _median_ladder(euclidean)
        ]
    gaussian = quantile_grid(euclidean, collection)
    laplacian = quantile_grid(cityblock, collection, multiplier=1 / math.sqrt(2))
    return [("gaussian", float(s), np.exp(-(euclidean**2) / (2 * s * s))) for s in gaussian] + [
        ("laplacian", float(s), np.exp(-cityblock / s)) for s in laplacian
    ]


def member_statistic(matrix: np.ndarray, labels: np.ndarray, estimator: str) -> float:
    """MMD² of the labelling ``labels`` (1: the first sample) as means over index sets."""
    on_x = labels == 1
    kxx, kyy = matrix[np.ix_(on_x, on_x)], matrix[np.ix_(~on_x, ~on_x)]
    kxy = matrix[np.ix_(on_x, ~on_x)]
    if estimator == "biased":
        return float(kxx.mean() + kyy.mean() - 2 * kxy.mean())
    n, m = kxx.shape[0], kyy.shape[0]
    within_x = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within_x + within_y - 2 * kxy.mean())


def rank_pvalues(rows: np.ndarray) -> np.ndarray:
    """``p[k, r] = #{r' : T[k, r'] ≥ T[k, r]} / (1 + P)`` over all columns."""
    return (rows[:, :, None] >= rows[:, None, :]).sum(axis=1) / rows.shape[1]


def log_mean_exp(exponents: np.ndarray) -> np.ndarray:
    top = exponents.max(axis=0)
    return top + np.log(np.exp(exponents - top).mean(axis=0))


@dataclasses.dataclass
class Reference:
    bandwidths: list[float]
    kinds: list[str]
    statistics: np.ndarray  # (L, 1 + P)
    member_pvalues: np.ndarray  # (L, 1 + P)
    row: np.ndarray  # the test's own statistic per column (p-values for min-p/combined)
    pvalue: float
    component_pvalues: dict[str, float] | None


def reference_test(
    x: np.ndarray,
    y: np.ndarray,
    method: str,
    n_permutations: int,
    seed: int,
    collection: str | None = None,
    estimator: str | None = None,
    labels: np.ndarray | None = None,
) -> Reference:
    n, m = len(x), len(y)
    z = np.concatenate([x, y])
    if labels is None:
        labels = np.concatenate(permutation_labels(n, m, n_permutations, seed))
    collection = collection or {"minp": "median", "fuse": "linear", "combined": "geometric"}[method]
    estimator = estimator or ("biased" if method == "minp" else "unbiased")
    chosen = members(z, collection)
    statistics = np.array(
        [[member_statistic(k, row, estimator) for row in labels] for _, _, k in chosen]
    )
    member_pvalues = rank_pvalues(statistics)
    minp = -member_pvalues.min(axis=0)
    smaller = min(n, m)
    scale = (smaller * (smaller - 1)) ** 1.5
    norms = np.array([math.sqrt((k**2).sum() - np.trace(k**2)) for _, _, k in chosen])
    fuse = log_mean_exp(scale * statistics / norms[:, None])
    z_scores = (statistics - statistics.mean(axis=1, keepdims=True)) / statistics.std(
        axis=1, keepdims=True
    )
    standardised = log_mean_exp(4.0 * z_scores) / 4.0
    components = None
    if method == "minp":
        row = -minp
    elif method == "fuse":
        row = fuse
    else:
        component_pvalues = rank_pvalues(np.stack([fuse, minp, standardised]))
        components = dict(
            zip(("fuse", "minp", "standardised fuse"), component_pvalues[:, 0], strict=True)
        )
        row = component_pvalues.min(axis=0)
    # small is evidence for the p-value rows
    evidence = row if method == "fuse" else -row
    pvalue = float((evidence >= evidence[0]).sum() / len(evidence))
    return Reference(
        bandwidths=[s for _, s, _ in chosen],
        kinds=[kind for kind, _, _ in chosen],
        statistics=statistics,
        member_pvalues=member_pvalues,
        row=row,
        pvalue=pvalue,
        component_pvalues=components,
    )


def _check_against_reference(result: Any, ref: Reference, method: str) -> None:
    np.testing.assert_allclose(result.bandwidths, ref.bandwidths, rtol=1e-12)
    scale = float(np.abs(ref.statistics).max())
    np.testing.assert_allclose(
        np.asarray(result.statistics), ref.statistics[:, 0], rtol=1e-12, atol=1e-13 * scale
    )
    np.testing.assert_allclose(
        np.asarray(result.null_distributions), ref.statistics[:, 1:], rtol=1e-12, atol=1e-13 * scale
    )
    assert result.pvalues == tuple(ref.member_pvalues[:, 0])
    assert result.pvalue == ref.pvalue
    assert result.selected == int(np.argmin(ref.member_pvalues[:, 0]))
    assert float(result.statistic) == float(result.statistics[result.selected])
    # the statistic and its null belong together: the selected member's MMD²
    np.testing.assert_array_equal(
        np.asarray(result.null_distribution), np.asarray(result.null_distributions[result.selected])
    )
    if method == "fuse":
        np.testing.assert_allclose(float(result.combined_statistic), ref.row[0], rtol=1e-12)
        np.testing.assert_allclose(
            np.asarray(result.combined_null_distribution), ref.row[1:], rtol=1e-12
        )
        assert result.component_pvalues is None
    else:
        assert float(result.combined_statistic) == ref.row[0]
        np.testing.assert_array_equal(np.asarray(result.combined_null_distribution), ref.row[1:])
        assert result.component_pvalues == ref.component_pvalues
        if method == "combined":
            assert float(result.combined_statistic) == min(ref.component_pvalues.values())


SIZES = [(12, 12), (9, 14)]
CASES = [
    ("minp", {}),
    ("fuse", {}),
    ("combined", {}),
    # min-p over the combined test's collection, on the U-statistic
    ("minp", {"collection": "geometric", "estimator": "unbiased"}),
]


@pytest.mark.parametrize("sizes", SIZES, ids=["n=m", "n!=m"])
@pytest.mark.parametrize("shift", [0.0, 0.6])
@pytest.mark.parametrize(
    ("method", "options"), CASES, ids=["minp", "fuse", "combined", "minp-grid"]
)
def test_matches_the_reference(sizes, shift, method, options) -> None:
    x, y = _data(*sizes, shift=shift, seed=1)
    kwargs = {}
    if options:
        kwargs = {"kernel": mmd_any.two_sample.combined_collection(), "estimator": "unbiased"}
    result = mmd_any.mmd_test(x, y, aggregate=method, n_permutations=39, seed=5, **kwargs)
    ref = reference_test(x, y, method, 39, 5, **options)
    assert result.method == method
    assert len(result.kernels) == len(ref.kinds)
    for name, kind in zip(result.kernels, ref.kinds, strict=True):
        assert name.lower().startswith(kind), (name, kind)
    _check_against_reference(result, ref, method)


@pytest.mark.parametrize("sizes", [(10, 10), (8, 13)], ids=["n=m", "n!=m"])
@pytest.mark.parametrize("method", AGGREGATED)
def test_swapped_samples_match_the_reference_of_the_swapped_labels(sizes, method) -> None:
    """Swapping x and y does not leave the p-values unchanged (the same label rows
    relabel other points: the null is a different draw), but the swapped test is
    exactly the reference on the original pool with every label row rotated by n."""
    n, m = sizes
    x, y = _data(n, m, shift=0.4, seed=2)
    swapped = mmd_any.mmd_test(y, x, aggregate=method, n_permutations=39, seed=3)
    labels = np.roll(np.concatenate(permutation_labels(m, n, 39, 3)), n, axis=1)
    ref = reference_test(x, y, method, 39, 3, labels=labels)
    _check_against_reference(swapped, ref, method)
    # the observed statistics themselves are symmetric in x and y
    original = mmd_any.mmd_test(x, y, aggregate=method, n_permutations=39, seed=3)
    np.testing.assert_allclose(
        np.asarray(swapped.statistics), np.asarray(original.statistics), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(swapped.bandwidths, original.bandwidths, rtol=1e-12)
    if method == "fuse":
        assert float(swapped.combined_statistic) == pytest.approx(
            float(original.combined_statistic), rel=1e-12, abs=1e-12
        )


# ------------------------------------------------------------------ properties


@st.composite
def problems(draw: Any) -> tuple[np.ndarray, np.ndarray, int, int, float]:
    n, m = draw(st.integers(3, 9)), draw(st.integers(3, 9))
    d = draw(st.integers(1, 3))
    shift = draw(st.sampled_from([0.0, 0.5, 2.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x, y = rng.normal(size=(n, d)), rng.normal(shift, 1.0, size=(m, d))
    permutations = draw(st.integers(19, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    # α: any level the test can reach, sometimes exactly a multiple of 1/(1 + P)
    multiple = draw(st.integers(1, permutations)) / (1 + permutations)
    alpha = draw(st.one_of(st.just(multiple), st.floats(1 / (1 + permutations), 0.99)))
    return x, y, permutations, seed, alpha


def _is_pvalue(value: float, permutations: int) -> bool:
    count = round(value * (1 + permutations))
    return (
        type(value) is float
        and 1 <= count <= 1 + permutations
        and value == count / (1 + permutations)
    )


@given(problems())
def test_pvalues_are_multiples_and_reject_is_pvalue_below_alpha(problem) -> None:
    x, y, permutations, seed, alpha = problem
    for method in METHODS:
        result = mmd_any.mmd_test(
            x, y, aggregate=method, n_permutations=permutations, seed=seed, alpha=alpha
        )
        assert _is_pvalue(result.pvalue, permutations), (method, result.pvalue)
        assert result.reject == (result.pvalue <= alpha)
        assert type(result.reject) is bool
        if method:
            for value in (*result.pvalues, *(result.component_pvalues or {}).values()):
                assert _is_pvalue(value, permutations), (method, value)


@given(problems())
def test_aggregated_pvalue_is_never_below_its_smallest_part(problem) -> None:
    x, y, permutations, seed, _ = problem
    for method in ("minp", "combined"):
        result = mmd_any.mmd_test(x, y, aggregate=method, n_permutations=permutations, seed=seed)
        parts = result.pvalues if method == "minp" else tuple(result.component_pvalues.values())
        assert float(result.combined_statistic) == min(parts)
        assert result.pvalue >= min(parts)
        assert result.pvalue >= min(result.pvalues)
        # the null of a min-p is a set of smallest p-values
        null = np.asarray(result.combined_null_distribution)
        assert np.all(null > 0)
        assert np.all(null <= 1)


@given(problems())
def test_same_seed_same_result(problem) -> None:
    x, y, permutations, seed, _ = problem
    for method in METHODS:
        first = mmd_any.mmd_test(x, y, aggregate=method, n_permutations=permutations, seed=seed)
        again = mmd_any.mmd_test(
            x.copy(), y.copy(), aggregate=method, n_permutations=permutations, seed=seed
        )
        assert first.pvalue == again.pvalue
        assert first.pvalues == again.pvalues
        assert first.component_pvalues == again.component_pvalues
        np.testing.assert_array_equal(first.null_distribution, again.null_distribution)


@given(problems())
def test_identical_samples_give_pvalue_one(problem) -> None:
    x, _, permutations, seed, _ = problem
    for method in METHODS:
        result = mmd_any.mmd_test(x, x, aggregate=method, n_permutations=permutations, seed=seed)
        assert result.pvalue == 1.0, method
        assert not result.reject
        if method:
            assert set(result.pvalues) == {1.0}


@given(problems())
def test_observed_statistics_are_symmetric_in_x_and_y(problem) -> None:
    """What a swap of x and y does leave unchanged: the bandwidths, every member's
    observed MMD² and the observed fused statistic (the p-values use other label
    rows, see test_swapped_samples_match_the_reference_of_the_swapped_labels)."""
    x, y, permutations, seed, _ = problem
    for method in ("fuse", "combined"):
        ours = mmd_any.mmd_test(x, y, aggregate=method, n_permutations=permutations, seed=seed)
        theirs = mmd_any.mmd_test(y, x, aggregate=method, n_permutations=permutations, seed=seed)
        np.testing.assert_allclose(theirs.bandwidths, ours.bandwidths, rtol=1e-12)
        np.testing.assert_allclose(
            np.asarray(theirs.statistics), np.asarray(ours.statistics), rtol=1e-10, atol=1e-14
        )
        if method == "fuse":
            assert float(theirs.combined_statistic) == pytest.approx(
                float(ours.combined_statistic), rel=1e-10, abs=1e-10
            )


# ----------------------------------------------------------------------- level

LEVEL_REPS = 400
LEVEL_LOW, LEVEL_HIGH = stats.binom.interval(0.999, LEVEL_REPS, 0.05)


@pytest.mark.slow
@pytest.mark.parametrize("sizes", [(12, 12), (10, 15)], ids=["n=m", "n!=m"])
@pytest.mark.parametrize("method", METHODS, ids=METHOD_NAMES.values())
def test_level_under_the_null(sizes, method) -> None:
    """Rejections under H0 (P = 19, alpha = 0.05) inside the 99.9 % band of
    Binomial(reps, 0.05) for the tests whose statistic is continuous (single, fuse):
    they reject exactly when the observed column is the largest of 20 exchangeable
    ones, with probability exactly 1/20.

    min-p and combined are exact too (probability ≤ alpha) but their statistic is
    discrete: every member's p-value 1/20 is reached in its own largest column,
    so the observed smallest p-value 1/20 is tied with the columns where the
    other members peak and its p-value is 1/20 only when all members peak in the
    observed column. Their rejection rate is far below alpha at P = 19 (min-p
    essentially never rejects): only the upper end of the band applies.
    """
    rng = np.random.default_rng([11, *sizes])
    rejections = 0
    for rep in range(LEVEL_REPS):
        x, y = rng.normal(size=(sizes[0], 3)), rng.normal(size=(sizes[1], 3))
        result = mmd_any.mmd_test(x, y, aggregate=method, n_permutations=19, alpha=0.05, seed=rep)
        assert result.pvalue >= 0.05
        rejections += result.reject
    low = LEVEL_LOW if method in (False, "fuse") else 0
    assert low <= rejections <= LEVEL_HIGH, (rejections, low, LEVEL_HIGH)


# ------------------------------------------------------------------ result API


@pytest.mark.parametrize("method", [*METHODS, True])
def test_result_fields(method) -> None:
    x, y = _data(11, 8, shift=0.5)
    result = mmd_any.mmd_test(x, y, aggregate=method, n_permutations=29, seed=4)
    statistic, pvalue = result
    assert statistic is result.statistic
    assert pvalue == result.pvalue
    assert (result.n_x, result.n_y) == (11, 8)
    assert result.method == ("combined" if method is True else METHOD_NAMES[method])
    assert result.aggregated == bool(method)
    assert result.n_permutations == 29
    assert tuple(result.null_distribution.shape) == (29,)
    assert all(type(b) is float for b in result.bandwidths), [type(b) for b in result.bandwidths]
    assert len(result.bandwidths) == len(result.kernels)
    if method:
        count = len(result.kernels)
        assert tuple(result.statistics.shape) == (count,)
        assert tuple(result.null_distributions.shape) == (count, 29)
        assert len(result.pvalues) == count
        assert result.selected == int(np.argmin(result.pvalues))
        assert float(result.statistic) == float(result.statistics[result.selected])
        selected_null = np.asarray(result.null_distributions[result.selected])
        np.testing.assert_array_equal(np.asarray(result.null_distribution), selected_null)
        assert tuple(result.combined_null_distribution.shape) == (29,)
    else:
        assert result.statistics is None
        assert result.pvalues is None
        assert result.selected is None


def test_aggregate_true_is_combined() -> None:
    x, y = _data(10, 13, shift=0.4)
    true = mmd_any.mmd_test(x, y, aggregate=True, n_permutations=29, seed=8)
    named = mmd_any.mmd_test(x, y, aggregate="combined", n_permutations=29, seed=8)
    for field in dataclasses.fields(true):
        ours, theirs = getattr(true, field.name), getattr(named, field.name)
        if isinstance(ours, np.ndarray):
            np.testing.assert_array_equal(ours, theirs, err_msg=field.name)
        else:
            assert ours == theirs, field.name


@pytest.mark.parametrize("method", ["fuse", "combined"])
def test_bandwidths_are_the_quantile_grid(method) -> None:
    x, y = _data(13, 9)
    z = np.concatenate([x, y])
    spacing = "linear" if method == "fuse" else "geometric"
    expected = [
        *quantile_grid(cdist(z, z), spacing),
        *quantile_grid(cdist(z, z, "cityblock"), spacing, 1 / math.sqrt(2)),
    ]
    result = mmd_any.mmd_test(x, y, aggregate=method, n_permutations=19, seed=0)
    assert all(type(b) is float for b in result.bandwidths)
    np.testing.assert_allclose(result.bandwidths, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "kernel",
    [None, kernels.Laplacian(), kernels.Gaussian([0.5, 1.0, 2.0])],
    ids=["default", "laplacian", "summed-bandwidths"],
)
def test_single_statistic_is_mmd2(kernel) -> None:
    x, y = _data(12, 9, shift=0.4)
    options = {} if kernel is None else {"kernel": kernel}
    result = mmd_any.mmd_test(x, y, n_permutations=19, seed=0, **options)
    expected = float(mmd_any.mmd2(x, y, **options))
    assert float(result.statistic) == pytest.approx(expected, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("method", AGGREGATED)
def test_member_statistics_are_mmd2_with_the_member_bandwidth(method) -> None:
    x, y = _data(12, 9, shift=0.4)
    result = mmd_any.mmd_test(x, y, aggregate=method, n_permutations=19, seed=0)
    for index, (name, width) in enumerate(zip(result.kernels, result.bandwidths, strict=True)):
        member = (
            kernels.Gaussian(width) if name.startswith("Gaussian") else kernels.Laplacian(width)
        )
        expected = float(mmd_any.mmd2(x, y, kernel=member, estimator=result.estimator))
        assert float(result.statistics[index]) == pytest.approx(expected, rel=1e-12, abs=1e-14), (
            name
        )
    assert result.estimator == ("biased" if method == "minp" else "unbiased")
    selected = result.kernels[result.selected]
    width = result.bandwidths[result.selected]
    member = (
        kernels.Gaussian(width) if selected.startswith("Gaussian") else kernels.Laplacian(width)
    )
    expected = float(mmd_any.mmd2(x, y, kernel=member, estimator=result.estimator))
    assert float(result.statistic) == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_member_thresholds_decide_as_the_minp_test() -> None:
    outcomes = set()
    for shift in (0.0, 0.3, 0.6, 1.0, 2.0):
        for seed in range(4):
            x, y = _data(14, 11, shift=shift, seed=seed)
            result = mmd_any.mmd_test(
                x, y, aggregate="minp", n_permutations=99, alpha=0.05, seed=seed
            )
            thresholds = result.member_thresholds()
            assert len(thresholds) == len(result.kernels)
            assert all(type(t) is float for t in thresholds)
            observed = np.asarray(result.statistics)
            above = bool(np.any(observed > np.asarray(thresholds)))
            assert above == result.reject, (shift, seed, result.pvalue)
            outcomes.add(result.reject)
    assert outcomes == {False, True}  # both decisions were checked


@pytest.mark.parametrize("method", [False, "fuse", "combined"])
def test_member_thresholds_only_for_minp(method) -> None:
    x, y = _data(8, 8)
    assert (
        mmd_any.mmd_test(x, y, aggregate=method, n_permutations=19, seed=0).member_thresholds()
        is None
    )


# --------------------------------------------------------------------- presets


@pytest.mark.parametrize("name", list(mmd_any.presets.PRESETS))
def test_preset_statistic_is_the_presets_mmd2(name) -> None:
    x, y = _data(10, 10, shift=0.3)
    result = mmd_any.mmd_test(x, y, preset=name, n_permutations=19, seed=0)
    expected = float(mmd_any.mmd2(x, y, preset=name))
    assert result.method == "single"
    assert float(result.statistic) == pytest.approx(expected, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize(
    "options",
    [
        {"kernel": "gaussian"},
        {"estimator": "unbiased"},
        {"aggregate": "minp"},
        {"aggregate": "fuse"},
        {"aggregate": True},
    ],
    ids=["kernel", "estimator", "minp", "fuse", "combined"],
)
def test_preset_with_other_options_is_refused(options) -> None:
    x, y = _data(6, 6)
    with pytest.raises(ValueError, match=r"`preset` 'kid'"):
        mmd_any.mmd_test(x, y, preset="kid", n_permutations=19, **options)


def test_equal_size_preset_refuses_unequal_sizes() -> None:
    (name,) = [p.name for p in mmd_any.presets.PRESETS.values() if p.equal_sizes]
    x, y = _data(6, 7)
    with pytest.raises(ValueError, match=rf"preset '{name}'.*equal size.*n = 6 and m = 7"):
        mmd_any.mmd_test(x, y, preset=name, n_permutations=19)


# ------------------------------------------------------------ warnings, errors


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("permutations", [10, 18])
def test_too_few_permutations_warn(method, permutations) -> None:
    x, y = _data(6, 6)
    with pytest.warns(PermutationsWarning, match=rf"1/{permutations + 1} .*alpha=0.05"):
        result = mmd_any.mmd_test(
            x, y, aggregate=method, n_permutations=permutations, alpha=0.05, seed=0
        )
    assert not result.reject


@pytest.mark.parametrize("method", METHODS)
def test_enough_permutations_do_not_warn(method) -> None:
    x, y = _data(6, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mmd_any.mmd_test(x, y, aggregate=method, n_permutations=19, alpha=0.05, seed=0)


@pytest.mark.parametrize("method", ["fuse", "combined", True])
def test_biased_estimator_is_refused_for_the_fused_tests(method) -> None:
    x, y = _data(6, 6)
    with pytest.raises(ValueError, match=r"unbiased estimator.*got estimator='biased'"):
        mmd_any.mmd_test(x, y, aggregate=method, estimator="biased", n_permutations=19)


def test_minp_accepts_both_estimators() -> None:
    x, y = _data(6, 6)
    for estimator in ("biased", "unbiased"):
        result = mmd_any.mmd_test(x, y, aggregate="minp", estimator=estimator, n_permutations=19)
        assert result.estimator == estimator


def test_unknown_aggregate_lists_the_valid_names() -> None:
    x, y = _data(6, 6)
    with pytest.raises(ValueError, match=r"`aggregate` 'max'") as caught:
        mmd_any.mmd_test(x, y, aggregate="max", n_permutations=19)
    for name in ("minp", "fuse", "combined"):
        assert repr(name) in str(caught.value)


@pytest.mark.parametrize("value", [1.5, 1, "", ["fuse"]], ids=["float", "int", "empty", "list"])
def test_aggregate_of_the_wrong_type(value) -> None:
    x, y = _data(6, 6)
    error = ValueError if value == "" else TypeError
    with pytest.raises(error, match=r"`aggregate`"):
        mmd_any.mmd_test(x, y, aggregate=value, n_permutations=19)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"count": 1}, ValueError, r"`count` must be at least 2"),
        ({"count": 0}, ValueError, r"`count` must be at least 2"),
        ({"count": 3.0}, TypeError, r"`count` must be an integer"),
        ({"count": True}, TypeError, r"`count` must be an integer"),
        ({"lower": 0.5, "upper": 0.5}, ValueError, r"`lower` must be below `upper`"),
        ({"lower": 0.9, "upper": 0.1}, ValueError, r"`lower` must be below `upper`"),
        ({"lower": -0.1}, ValueError, r"`lower`"),
        ({"upper": 1.5}, ValueError, r"`upper`"),
        ({"spread": (0.5,)}, ValueError, r"`spread` must hold two"),
        ({"spread": (0.5, 2.0, 3.0)}, ValueError, r"`spread` must hold two"),
        ({"spread": (0.0, 2.0)}, ValueError, r"`spread` must be positive"),
        ({"spread": (0.5, math.inf)}, ValueError, r"`spread` must be positive"),
        ({"spread": "ab"}, TypeError, r"`spread`"),
        ({"spacing": "log"}, ValueError, r"unknown `spacing` 'log'.*'geometric', 'linear'"),
        ({"spacing": None}, TypeError, r"`spacing`"),
    ],
)
def test_distance_quantiles_argument_errors(options, error, match) -> None:
    with pytest.raises(error, match=match):
        DistanceQuantiles(**options)


# -------------------------------------------------------------------- backends

BACKEND_SIZES = (14, 11)
BACKEND_PERMUTATIONS = 39


def _backend_data(dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """The data, rounded to ``dtype`` (the float64 run sees the same values)."""
    x, y = _data(*BACKEND_SIZES, shift=0.4, seed=3)
    return x.astype(dtype).astype(np.float64), y.astype(dtype).astype(np.float64)


def _run(xb: Any, yb: Any, method: str) -> Any:
    return mmd_any.mmd_test(xb, yb, aggregate=method, n_permutations=BACKEND_PERMUTATIONS, seed=2)


def _member_tolerances(result: Any, x: np.ndarray, y: np.ndarray, dtype: str) -> np.ndarray:
    """The suite's MMD² tolerance for ``dtype`` of each member (its kernel with its
    bandwidth fixed), from the dtype's eps."""
    tolerances = []
    for name, width in zip(result.kernels, result.bandwidths, strict=True):
        member = (
            kernels.Gaussian(width) if name.startswith("Gaussian") else kernels.Laplacian(width)
        )
        tolerances.append(reference.tolerance(dtype, member, x, y))
    return np.asarray(tolerances)


def _check_arrays(result: Any, like: Any, dtype: Any) -> None:
    """Every array of the result in the caller's namespace, dtype and device."""
    xp = array_namespace(like)
    for name in (
        "statistic",
        "combined_statistic",
        "statistics",
        "null_distribution",
        "combined_null_distribution",
        "null_distributions",
    ):
        value = getattr(result, name)
        assert not isinstance(value, np.generic), name
        assert array_namespace(value) is xp, (name, type(value))
        assert device(value) == device(like), (name, device(value), device(like))
        assert value.dtype == dtype, (name, value.dtype, dtype)


def _check_statistics(
    result: Any, expected: Any, x: np.ndarray, y: np.ndarray, dtype: str, to_numpy: Any
) -> None:
    tolerances = _member_tolerances(expected, x, y, dtype)
    np.testing.assert_allclose(
        result.bandwidths, expected.bandwidths, rtol=16 * reference.eps(dtype)
    )
    statistics = to_numpy(result.statistics).astype(np.float64)
    assert np.all(np.abs(statistics - np.asarray(expected.statistics)) <= tolerances)
    nulls = to_numpy(result.null_distributions).astype(np.float64)
    assert np.all(np.abs(nulls - np.asarray(expected.null_distributions)) <= tolerances[:, None])
    if expected.method == "fuse":
        # the exponents are the members' MMD² times (ñ(ñ−1))^1.5 / ‖K − diag‖_F, and the
        # log-mean-exp is 1-Lipschitz in the largest of them
        z = np.concatenate([x, y])
        smaller = min(BACKEND_SIZES)
        factors = [
            (smaller * (smaller - 1)) ** 1.5 / math.sqrt((k**2).sum() - np.trace(k**2))
            for _, _, k in members(z, "linear")
        ]
        tolerance = 2 * float(np.max(np.asarray(factors) * tolerances))
        observed = float(to_numpy(result.combined_statistic))
        assert abs(observed - float(expected.combined_statistic)) <= tolerance


#: One run per backend, method and dtype, shared by the two tests below (JAX
#: compiles and Dask builds graphs: seconds per run).
_BACKEND_RUNS: dict[tuple[str, str, str], tuple[Any, Any, Any]] = {}


def _backend_run(backend: Backend, method: str, dtype: str) -> tuple[Any, Any, Any]:
    """(NumPy float64 result, backend inputs' x, backend result)."""
    key = (backend.name, method, dtype)
    if key not in _BACKEND_RUNS:
        x, y = _backend_data(dtype)
        xb, yb = backend.asarray(x, dtype), backend.asarray(y, dtype)
        _BACKEND_RUNS[key] = (_run(x, y, method), xb, _run(xb, yb, method))
    return _BACKEND_RUNS[key]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("method", ["fuse", "combined"])
def test_backend_statistics_match_numpy(backend: Backend, method: str, dtype: str) -> None:
    expected, xb, result = _backend_run(backend, method, dtype)
    assert_result_like(result.statistic, backend, like=xb)
    assert_result_like(result.combined_statistic, backend, like=xb)
    _check_arrays(result, xb, xb.dtype)
    _check_statistics(result, expected, *_backend_data(dtype), dtype, backend.to_numpy)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("method", ["fuse", "combined"])
def test_backend_pvalues_match_numpy(backend: Backend, method: str, dtype: str) -> None:
    """The same p-values as NumPy in float64, as Python floats, k / (1 + P) exactly.

    (The data has no near-ties at float32's resolution: the float32 runs rank
    the permutations as the float64 one does.)"""
    expected, _, result = _backend_run(backend, method, dtype)
    assert result.pvalue == expected.pvalue
    assert result.reject == expected.reject
    assert result.pvalues == expected.pvalues
    assert result.component_pvalues == expected.component_pvalues
    for value in (result.pvalue, *result.pvalues, *(result.component_pvalues or {}).values()):
        assert _is_pvalue(value, BACKEND_PERMUTATIONS), value


STRICT_DEVICES = [
    ("device1", "float64"),
    ("device1", "float32"),
    ("no_float64", "float32"),
    ("no_x64", "float32"),
]


@pytest.mark.parametrize(
    ("where", "dtype"), STRICT_DEVICES, ids=[f"{d}-{t}" for d, t in STRICT_DEVICES]
)
@pytest.mark.parametrize("method", ["fuse", "combined"])
def test_array_api_strict_devices(method: str, where: str, dtype: str) -> None:
    """On array-api-strict's extra device and on its float32-only devices: the
    results stay there, statistics within the dtype's tolerance, p-values of NumPy."""
    xps = pytest.importorskip("array_api_strict")
    where = xps.Device(where)
    x, y = _backend_data(dtype)
    expected = _run(x, y, method)
    xb = xps.asarray(x.astype(dtype), device=where)
    yb = xps.asarray(y.astype(dtype), device=where)
    result = _run(xb, yb, method)
    _check_arrays(result, xb, xb.dtype)
    _check_statistics(result, expected, x, y, dtype, lambda a: np.from_dlpack(a))
    assert (result.pvalue, result.pvalues) == (expected.pvalue, expected.pvalues)
    assert result.component_pvalues == expected.component_pvalues


@pytest.mark.parametrize("method", METHODS)
def test_float32_pvalue_at_alpha_rejects(method) -> None:
    """A clear difference with P = 19: p = 1/20 = alpha exactly, a rejection, in
    float32 as in float64."""
    x, y = _data(12, 12, shift=4.0)
    for dtype in (np.float64, np.float32):
        result = mmd_any.mmd_test(
            x.astype(dtype),
            y.astype(dtype),
            aggregate=method,
            n_permutations=19,
            alpha=0.05,
            seed=0,
        )
        assert result.pvalue == 0.05, (dtype.__name__, result.pvalue)
        assert result.reject, dtype.__name__
