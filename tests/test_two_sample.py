"""The permutation MMD test: calibration, power, cross-backend p-values, bad input."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy import stats

import mmd_any
from mmd_any import kernels, two_sample

from .conftest import Backend, assert_result_like, get_backend


def perturbed_uniform(rng: np.random.Generator, size: int, freq: float) -> np.ndarray:
    """Rejection sample of the density ``1 + sin(2π·freq·u)`` on [0, 1] (MMDAgg-style)."""
    out = np.empty(0)
    while out.size < size:
        u = rng.uniform(size=2 * size)
        keep = rng.uniform(size=2 * size) < (1 + np.sin(2 * np.pi * freq * u)) / 2
        out = np.concatenate([out, u[keep]])
    return out[:size, None]


# ---------------------------------------------------------------- calibration

REPS = 300
LOW, HIGH = (v / REPS for v in stats.binom.interval(0.99, REPS, 0.05))


#: Every method with every estimator it takes (the fused statistics: unbiased only).
METHOD_ESTIMATORS = [
    (aggregate, estimator)
    for aggregate in (False, "minp", "fuse", "combined")
    for estimator in ("biased", "unbiased")
    if not (aggregate in mmd_any.two_sample.UNBIASED_ONLY and estimator == "biased")
]


@pytest.mark.slow
@pytest.mark.parametrize(("aggregate", "estimator"), METHOD_ESTIMATORS)
@pytest.mark.parametrize("sizes", [(40, 40), (25, 55)], ids=["n=m", "n!=m"])
def test_calibrated_under_the_null(aggregate, sizes, estimator) -> None:
    """Rejection rate inside the 99% binomial interval around 0.05; p-values uniform."""
    method = [False, "minp", "fuse", "combined"].index(aggregate)
    rng = np.random.default_rng([7, sizes[0], method, len(estimator)])
    pvalues = []
    for rep in range(REPS):
        x = rng.normal(size=(sizes[0], 2))
        y = rng.normal(size=(sizes[1], 2))
        result = mmd_any.mmd_test(
            x, y, estimator=estimator, aggregate=aggregate, n_permutations=99, seed=rep
        )
        pvalues.append(result.pvalue)
    pvalues = np.asarray(pvalues)
    rate = float(np.mean(pvalues <= 0.05))
    uniform = stats.kstest(pvalues, "uniform").pvalue
    print(
        f"\ncalibration {estimator} {sizes} aggregate={aggregate}: "
        f"rate {rate:.3f}, KS p {uniform:.3f}"
    )
    assert LOW <= rate <= HIGH, (rate, LOW, HIGH)
    assert uniform > 0.01


# ---------------------------------------------------------------------- power


def _power(make, reps: int = 40, **kwargs) -> float:
    rng = np.random.default_rng(123)
    hits = 0
    for rep in range(reps):
        x, y = make(rng)
        hits += mmd_any.mmd_test(x, y, n_permutations=200, seed=rep, **kwargs).reject
    return hits / reps


ALTERNATIVES = {
    "mean shift 0.4 (d=2, n=m=100)": lambda r: (
        r.normal(size=(100, 2)),
        r.normal(size=(100, 2)) + np.array([0.4, 0.0]),
    ),
    "gaussian vs laplace, same variance (d=1, n=m=200)": lambda r: (
        r.normal(size=(200, 1)),
        r.laplace(scale=1 / np.sqrt(2), size=(200, 1)),
    ),
    "perturbed uniform, frequency 8 (d=1, n=m=300)": lambda r: (
        r.uniform(size=(300, 1)),
        perturbed_uniform(r, 300, 8),
    ),
}


@pytest.mark.slow
def test_power_and_aggregation_beats_the_median_bandwidth() -> None:
    table = {
        name: (_power(make), _power(make, aggregate=True)) for name, make in ALTERNATIVES.items()
    }
    print("\npower at alpha = 0.05, 40 repetitions, 200 permutations (median, aggregated):")
    for name, (median, aggregated) in table.items():
        print(f"  {name:50s} {median:.2f}  {aggregated:.2f}")
    shift = table["mean shift 0.4 (d=2, n=m=100)"]
    assert min(shift) >= 0.3
    median, aggregated = table["perturbed uniform, frequency 8 (d=1, n=m=300)"]
    # the median bandwidth (~0.3) cannot see a period of 1/8; median/8 can
    assert median <= 0.3
    assert aggregated >= median + 0.5


# --------------------------------------------------------------- computation


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
@pytest.mark.parametrize("sizes", [(12, 12), (9, 15)])
def test_observed_statistic_is_mmd2(backend: Backend, estimator, sizes) -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(sizes[0], 3)), rng.normal(0.3, 1.0, size=(sizes[1], 3))
    xb = backend.asarray(x)
    result = mmd_any.mmd_test(
        xb, backend.asarray(y), estimator=estimator, n_permutations=20, seed=0
    )
    assert_result_like(result.statistic, backend, like=xb)
    assert_result_like(result.null_distribution, backend, like=xb, shape=(20,))
    expected = mmd_any.mmd2(x, y, estimator=estimator)
    assert float(backend.to_numpy(result.statistic)) == pytest.approx(float(expected), abs=1e-12)


@pytest.mark.parametrize(
    "kernel",
    [kernels.Gaussian(1.3), kernels.Laplacian(), kernels.Polynomial(), kernels.Linear()],
    ids=["gaussian", "laplacian", "polynomial", "linear"],
)
def test_null_statistics_are_the_permuted_mmd2(kernel) -> None:
    """Each null value is mmd2 of one relabelling: checked against a direct loop.

    Polynomial and linear kernel values can be negative: they go through the
    same many-row product as the others.
    """
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(7, 2)), rng.normal(size=(5, 2))
    for estimator in ("biased", "unbiased"):
        result = mmd_any.mmd_test(
            x, y, kernel=kernel, estimator=estimator, n_permutations=30, seed=4
        )
        pooled = np.vstack([x, y])
        labels = two_sample.permutation_labels(7, 5, 30, seed=4)[0][1:]
        assert labels.shape == (30, 12)
        assert np.all(labels.sum(axis=1) == 7)
        direct = [
            float(
                mmd_any.mmd2(pooled[row == 1], pooled[row == 0], kernel=kernel, estimator=estimator)
            )
            for row in labels
        ]
        scale = max(1.0, float(np.abs(direct).max()))
        np.testing.assert_allclose(np.asarray(result.null_distribution), direct, atol=1e-12 * scale)
        observed = float(mmd_any.mmd2(x, y, kernel=kernel, estimator=estimator))
        assert float(result.statistic) == pytest.approx(observed, abs=1e-12 * scale)
        exceed = np.sum(np.asarray(direct) >= observed - 1e-12 * scale)
        assert result.pvalue == pytest.approx((1 + exceed) / 31)


def test_same_seed_same_pvalue_on_every_backend() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(30, 2)), rng.normal(0.4, 1.0, size=(25, 2))
    names = ["numpy", "torch", "array_api_strict", "jax", "cupy", "torch-cuda"]
    backends = [b for b in map(get_backend, names) if b is not None]
    assert len(backends) >= 2
    for options in (
        {"estimator": "biased"},
        {"estimator": "unbiased"},
        {"aggregate": True},
    ):
        pvalues = {
            b.name: mmd_any.mmd_test(
                b.asarray(x), b.asarray(y), n_permutations=300, seed=11, **options
            ).pvalue
            for b in backends
        }
        assert len(set(pvalues.values())) == 1, (options, pvalues)


def test_seed_controls_the_permutations() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(20, 2)), rng.normal(0.3, 1.0, size=(20, 2))
    first = mmd_any.mmd_test(x, y, n_permutations=50, seed=1)
    again = mmd_any.mmd_test(x, y, n_permutations=50, seed=1)
    other = mmd_any.mmd_test(x, y, n_permutations=50, seed=2)
    np.testing.assert_array_equal(first.null_distribution, again.null_distribution)
    assert not np.array_equal(first.null_distribution, other.null_distribution)


def test_permutation_blocks_give_the_same_result() -> None:
    """Weights processed in several blocks (a small budget) give the same statistics."""
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(20, 2)), rng.normal(size=(15, 2))
    whole = mmd_any.mmd_test(x, y, n_permutations=40, seed=3, estimator="unbiased")
    budget = 8 * 35 * 8 * 7  # an eighth of it holds 7 weight rows of 35 float64 values
    blocked = mmd_any.mmd_test(
        x, y, n_permutations=40, seed=3, estimator="unbiased", memory_budget=budget
    )
    np.testing.assert_allclose(blocked.null_distribution, whole.null_distribution, atol=1e-12)
    assert blocked.pvalue == whole.pvalue


def test_aggregated_result_lists_every_member() -> None:
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    result = mmd_any.mmd_test(
        x,
        y,
        kernel=[kernels.Gaussian(), kernels.Laplacian()],
        aggregate="minp",
        n_permutations=50,
        seed=0,
    )
    assert len(result.kernels) == 18
    assert result.statistics.shape == (18,)
    assert len(result.pvalues) == 18
    assert float(result.combined_statistic) == pytest.approx(min(result.pvalues))
    assert result.pvalues[result.selected] == min(result.pvalues)
    assert float(result.statistic) == float(result.statistics[result.selected])
    assert 0 < result.pvalue <= 1
    # the correction: the aggregated p-value is never below the smallest member's
    assert result.pvalue >= min(result.pvalues)
    assert "aggregated MMD test" in repr(result)


def test_repr_is_readable() -> None:
    result = mmd_any.mmd_test([[0.0], [1.0], [2.0]], [[5.0], [6.0]], seed=0)
    text = repr(result)
    for part in ("MMD test", "statistic", "p-value", "kernel"):
        assert part in text


def test_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    rng = np.random.default_rng(9)
    mmd_any.mmd_test(rng.normal(size=(40, 2)), rng.normal(size=(40, 2)), progress=True, seed=0)
    assert "mmd_test: 100%" in capsys.readouterr().err  # percent of the kernel work, ends at 100


def test_progress_without_tqdm_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match=r"mmd-any\[progress\]"):
        mmd_any.mmd_test(np.zeros((3, 1)), np.ones((3, 1)), progress=True)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"n_permutations": 0}, ValueError, r"`n_permutations` must be at least 1"),
        ({"n_permutations": -5}, ValueError, r"`n_permutations` must be at least 1"),
        ({"n_permutations": 2.5}, TypeError, r"`n_permutations` must be an integer"),
        ({"alpha": 0.0}, ValueError, r"`alpha` must lie in the open interval \(0, 1\)"),
        ({"alpha": 1.0}, ValueError, r"`alpha`"),
        ({"alpha": -0.1}, ValueError, r"`alpha`"),
        ({"estimator": "linear"}, ValueError, r"must be one of \['biased', 'unbiased'\]"),
        ({"kernel": "rbff"}, ValueError, r"unknown `kernel`"),
        ({"kernel": []}, ValueError, r"at least one kernel"),
        ({"kernel": ["gaussian", "laplacian"]}, ValueError, r"aggregate=True"),
    ],
)
def test_bad_options(options, error, match) -> None:
    with pytest.raises(error, match=match):
        mmd_any.mmd_test(np.zeros((4, 2)), np.ones((3, 2)), **options)


def test_bad_samples_are_rejected_as_in_the_core() -> None:
    with pytest.raises(ValueError, match=r"`y` has 3 features but `x` has 2"):
        mmd_any.mmd_test(np.zeros((4, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"`x` has 1 samples; at least 2 required"):
        mmd_any.mmd_test(np.zeros((1, 2)), np.ones((3, 2)), estimator="unbiased")
    with pytest.raises(ValueError, match=r"`x` contains NaN"):
        mmd_any.mmd_test(np.full((3, 2), np.nan), np.ones((3, 2)))
