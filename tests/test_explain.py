"""``explain``: the rows, the features' scores, their p-values and the correction.

The references are plain NumPy float64: each feature's biased MMD² from its
1-D Gaussian kernel matrix at the median of all pairwise distances (over the
seeded subsample of :data:`mmd_any._marginals.MEDIAN_SAMPLES` pooled rows that
``explain`` documents), its permutation p-value from the labels
``permutation_labels`` draws (the ones ``explain`` and ``mmd_test`` use), and
the Westfall–Young min-P adjustment written as its definition.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import mmd_any
from mmd_any import _marginals, kernels
from mmd_any.two_sample import permutation_labels

from .conftest import Backend, assert_array_like, assert_result_like

pd = pytest.importorskip("pandas")


def _median(values: np.ndarray) -> float:
    gaps = np.abs(values[:, None] - values[None, :])[np.triu_indices(len(values), k=1)]
    median = float(np.median(gaps))
    if median > 0:
        return median
    rms = float(np.sqrt(np.mean(gaps**2)))
    return rms if rms > 0 else 1.0


def _marginal(values: np.ndarray, weights: np.ndarray, sigma: float) -> np.ndarray:
    """``w K w`` for each weight row, ``K`` the 1-D Gaussian kernel matrix."""
    gram = np.exp(-((values[:, None] - values[None, :]) ** 2) / (2 * sigma**2))
    return np.einsum("pi,ij,pj->p", weights, gram, weights)


def _reference(x: np.ndarray, y: np.ndarray, permutations: int, seed: int):
    """(scores, raw p-values, adjusted p-values, bandwidths), by the definitions."""
    n, m = len(x), len(y)
    pooled = np.concatenate([x, y])
    labels = np.concatenate(permutation_labels(n, m, permutations, seed))
    weights = labels / n - (1 - labels) / m
    # the medians over the documented seeded subsample of the pooled rows
    rows = np.arange(n + m)
    if n + m > _marginals.MEDIAN_SAMPLES:
        rows = np.random.default_rng(seed).choice(n + m, _marginals.MEDIAN_SAMPLES, replace=False)
    sigmas = np.array([_median(pooled[rows, j]) for j in range(pooled.shape[1])])
    stats = np.stack([_marginal(pooled[:, j], weights, s) for j, s in enumerate(sigmas)])
    total = permutations + 1
    # p-value of every column against its row, ties within rounding counted
    tol = 64 * np.finfo(float).eps * (np.abs(stats) + 4.0)
    counts = (stats[:, :, None] >= (stats - tol)[:, None, :]).sum(axis=1)
    smallest = counts.min(axis=0)
    adjusted = (smallest[None, :] <= counts[:, :1]).sum(axis=1)
    return stats[:, 0], counts[:, 0] / total, adjusted / total, sigmas


def _shifted(seed: int, n: int = 90, m: int = 80, d: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    y[:, 1] += 0.8
    y[:, 2] *= 1.6
    return x, y


@pytest.mark.parametrize("width", [0.0, 0.5, 3.0, 8.4, 20.0, 100.0, _marginals.MAX_WIDTH])
def test_the_rule_is_the_gaussian_kernel_up_to_its_width(width: float) -> None:
    step, weights = _marginals.frequencies(width)
    s = np.linspace(0.0, width, 20001)
    nodes = np.arange(1, weights.size + 1) * step
    constant = step / np.sqrt(2 * np.pi)  # the node at 0, dropped by zero-sum weights
    approx = constant + (weights * np.cos(np.outer(s, nodes))).sum(axis=1)
    assert np.max(np.abs(approx - np.exp(-(s**2) / 2))) <= _marginals.RULE_ERROR
    assert weights.size <= _marginals.MAX_FREQUENCIES


def test_the_features_match_the_definitions() -> None:
    x, y = _shifted(0)
    x[:, 3] = np.random.default_rng(1).standard_cauchy(len(x))  # wider than any rule
    result = mmd_any.explain(x, y, n_permutations=49, seed=3)
    scores, raw, adjusted, sigmas = _reference(x, y, 49, 3)
    np.testing.assert_allclose(result.feature_bandwidths, sigmas, rtol=1e-14)
    # each kernel value within RULE_ERROR: a statistic within 4·RULE_ERROR (Σ|w| = 2)
    np.testing.assert_allclose(
        result.feature_scores, scores, rtol=0, atol=4 * _marginals.RULE_ERROR
    )
    np.testing.assert_array_equal(result.feature_raw_pvalues, raw)
    np.testing.assert_array_equal(result.feature_pvalues, adjusted)
    assert np.all(result.feature_pvalues >= result.feature_raw_pvalues)


def test_the_widest_rule_keeps_its_error() -> None:
    """Far outliers on one feature make the rule take hundreds of frequencies (built
    by rounds of angle addition, whose rounding grows with the frequency); every
    feature's statistic stays within the rule's bound of the exact one."""
    x, y = _shifted(7, n=70, m=60, d=3)
    x[:3, 0] = [-150.0, 140.0, 160.0]
    scores, _, _, sigmas = _reference(x, y, 19, 5)
    pooled = np.concatenate([x, y])
    widths = (pooled.max(axis=0) - pooled.min(axis=0)) / sigmas
    assert 200 < widths.max() <= _marginals.MAX_WIDTH  # the rule's path, not the engine's
    result = mmd_any.explain(x, y, n_permutations=19, seed=5)
    np.testing.assert_allclose(
        result.feature_scores, scores, rtol=0, atol=4 * _marginals.RULE_ERROR
    )


def test_a_single_feature_has_mmd_tests_pvalue() -> None:
    """One shared set of permutations: those of ``mmd_test`` with the same seed."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(60, 1)), rng.normal(0.5, size=(50, 1))
    result = mmd_any.explain(x, y, n_permutations=99, seed=7)
    sigma = float(result.feature_bandwidths[0])
    test = mmd_any.mmd_test(x, y, kernel=kernels.Gaussian(sigma), n_permutations=99, seed=7)
    assert float(result.feature_raw_pvalues[0]) == pytest.approx(test.pvalue, abs=1e-12)
    assert float(result.feature_scores[0]) == pytest.approx(float(test.statistic), rel=1e-9)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_explain_on_every_backend(backend: Backend, dtype: str) -> None:
    x, y = _shifted(4, d=3)
    xb, yb = backend.asarray(x, dtype), backend.asarray(y, dtype)
    result = mmd_any.explain(xb, yb, top=5, n_permutations=29, seed=1)
    for name in ("feature_scores", "feature_pvalues", "feature_raw_pvalues", "feature_bandwidths"):
        assert_result_like(getattr(result, name), backend, like=xb, shape=(3,))
    assert_result_like(result.witness, backend, like=xb, shape=(len(x) + len(y),))
    for name, size in (("x_rows", 5), ("y_rows", 5), ("features", 3)):
        indices = getattr(result, name)
        assert_array_like(indices, xb, shape=(size,), dtype=None)  # integers, the device's
        assert "int" in str(indices.dtype)
    expected = mmd_any.explain(x.astype(dtype), y.astype(dtype), top=5, n_permutations=29, seed=1)
    eps = float(np.finfo(dtype).eps)
    np.testing.assert_allclose(
        backend.to_numpy(result.feature_scores),
        expected.feature_scores,
        rtol=256 * eps,
        atol=256 * eps,
    )
    # the float32 cases rank by the same p-values: equal unless a tie moved
    np.testing.assert_array_equal(backend.to_numpy(result.features)[:2], expected.features[:2])


def test_the_rows_are_those_of_the_witness() -> None:
    x, y = _shifted(5)
    result = mmd_any.explain(x, y, top=7, n_permutations=9, seed=0)
    witness = mmd_any.witness(x, y)
    np.testing.assert_allclose(result.witness, witness, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(result.x_rows, np.argsort(-witness[: len(x)], stable=True)[:7])
    np.testing.assert_array_equal(result.y_rows, np.argsort(witness[len(x) :], stable=True)[:7])
    small = mmd_any.explain(x[:4], y[:3], top=10, n_permutations=9, seed=0)
    assert len(small.x_rows) == 4
    assert len(small.y_rows) == 3


def test_a_planted_cluster_fills_the_top_rows() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(500, 6))
    y = np.concatenate([rng.normal(size=(450, 6)), rng.normal(5.0, 0.5, size=(50, 6))])
    result = mmd_any.explain(x, y, top=20, n_permutations=19, seed=0)
    planted = np.asarray(result.y_rows) >= 450
    assert planted.mean() >= 0.9, np.asarray(result.y_rows)


def test_two_shifted_features_of_ten_rank_first() -> None:
    rng = np.random.default_rng(12)
    x, y = rng.normal(size=(400, 10)), rng.normal(size=(400, 10))
    y[:, [2, 7]] += 0.5
    result = mmd_any.explain(x, y, n_permutations=199, seed=0)
    assert set(np.asarray(result.features)[:2].tolist()) == {2, 7}
    assert set(result.changed_features) == {2, 7}


def test_the_family_wise_rate_under_the_null_is_at_most_alpha() -> None:
    """200 null data sets of 8 features: rejecting any is a family-wise error;
    the rate is at most α = 0.1 up to three standard errors of 200 draws."""
    rng = np.random.default_rng(13)
    errors = 0
    for rep in range(200):
        x, y = rng.normal(size=(30, 8)), rng.normal(size=(25, 8))
        result = mmd_any.explain(x, y, top=1, n_permutations=39, alpha=0.1, seed=rep)
        errors += bool(result.changed_features)
    assert errors / 200 <= 0.1 + 3 * np.sqrt(0.1 * 0.9 / 200), errors


def test_the_ranking_and_the_report() -> None:
    x, y = _shifted(6)
    frame_x = pd.DataFrame(x, columns=["age", "income", "score", "tenure"])
    frame_y = pd.DataFrame(y, columns=["age", "income", "score", "tenure"])
    result = mmd_any.explain(frame_x, frame_y, n_permutations=99, seed=0)
    assert result.feature_names == ("age", "income", "score", "tenure")
    report = json.loads(json.dumps(result.to_dict()))
    ranked = [entry["feature"] for entry in report["features"]]
    assert ranked == list(np.asarray(result.features))
    keys = [(e["pvalue"], e["raw_pvalue"], -e["zscore"]) for e in report["features"]]
    assert keys == sorted(keys)
    assert report["features"][0]["name"] in {"income", "score"}
    assert set(result.changed_features) <= set(ranked)
    assert report["correction"].startswith("Westfall-Young")


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"top": 0}, ValueError, "`top`"),
        ({"top": 1.5}, TypeError, "`top`"),
        ({"n_permutations": 0}, ValueError, "`n_permutations`"),
        ({"alpha": 1.5}, ValueError, "`alpha`"),
        ({"seed": -1}, ValueError, "`seed`"),
        ({"kernel": "gaussianx"}, ValueError, "kernel"),
    ],
)
def test_bad_options_are_named(options: dict, error: type, match: str) -> None:
    x, y = _shifted(7)
    with pytest.raises(error, match=match):
        mmd_any.explain(x, y, **options)


def test_constant_and_discrete_features_get_a_bandwidth() -> None:
    rng = np.random.default_rng(8)
    x = np.column_stack([np.zeros(60), (rng.random(60) < 0.2).astype(float), rng.normal(size=60)])
    y = np.column_stack([np.zeros(50), (rng.random(50) < 0.6).astype(float), rng.normal(size=50)])
    result = mmd_any.explain(x, y, n_permutations=99, seed=0)
    bandwidths = np.asarray(result.feature_bandwidths)
    assert bandwidths[0] == 1.0  # constant: 1
    assert bandwidths[1] > 0  # mostly ties (median 0): the RMS distance
    assert float(result.feature_scores[0]) == pytest.approx(0.0, abs=1e-15)
    assert float(result.feature_raw_pvalues[0]) == 1.0
    assert int(result.features[0]) == 1


def test_the_picture_has_both_panels(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    x, y = _shifted(9)
    result = mmd_any.explain(x, y, top=5, n_permutations=19, seed=0)
    figure = result.plot(x, y, labels=("before", "after"))
    scatter, bars = figure.axes[:2]
    assert "witness" in scatter.get_title()
    assert "features" in bars.get_title()
    assert len(bars.patches) == 4
    figure.savefig(tmp_path / "explain.png")
    assert (tmp_path / "explain.png").stat().st_size > 10_000
