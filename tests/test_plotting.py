"""``MMDTestResult.plot``: the panels, thresholds and labels of each test."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mmd_any
from mmd_any import bandwidths, kernels

plt = pytest.importorskip("matplotlib.pyplot")

ALPHA = 0.05


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 2)), rng.normal(0.4, size=(35, 2))


def _three() -> kernels.Kernel:
    """A small collection: three Gaussian members."""
    return kernels.Gaussian(bandwidths.Median(scales=(0.5, 1.0, 2.0)))


def _test(data, method, permutations=99, **options) -> mmd_any.MMDTestResult:
    x, y = data
    return mmd_any.mmd_test(
        x, y, aggregate=method, n_permutations=permutations, seed=1, alpha=ALPHA, **options
    )


def _visible(fig) -> list:
    return [ax for ax in fig.axes if ax.get_visible()]


def _figure(drawn):
    """The figure of what ``plot`` returned: an Axes, or an array of them (aggregated)."""
    return np.ravel(drawn)[0].figure


def _line(ax, prefix: str):
    """The one vertical line of ``ax`` whose label starts with ``prefix`` (or None)."""
    found = [line for line in ax.lines if line.get_label().startswith(prefix)]
    assert len(found) <= 1
    return found[0] if found else None


def _position(line) -> float:
    xs = np.asarray(line.get_xdata(), dtype=float)
    assert np.all(xs == xs[0])  # axvline: the same x at both ends
    return float(xs[0])


def test_single_test_draws_its_threshold(data) -> None:
    result = _test(data, False)
    drawn = result.plot()
    fig = drawn.figure
    (ax,) = _visible(fig)
    assert ax is drawn
    null = np.asarray(result.null_distribution)
    threshold = _line(ax, "threshold (α = 0.05)")
    assert _position(threshold) == pytest.approx(np.quantile(null, 1 - ALPHA))
    assert _position(_line(ax, "observed MMD²")) == pytest.approx(float(result.statistic))


def test_minp_draws_the_corrected_thresholds(data) -> None:
    result = _test(data, "minp")
    thresholds = result.member_thresholds()
    assert any(math.isfinite(t) for t in thresholds)  # the lines are drawn
    drawn = result.plot()
    fig = _figure(drawn)
    axes = _visible(fig)
    assert axes == list(drawn)
    assert len(axes) == len(result.kernels) == 9
    for index, (ax, threshold) in enumerate(zip(axes, thresholds, strict=True)):
        line = _line(ax, "corrected threshold (α = 0.05, min-p)")
        if math.isfinite(threshold):
            assert _position(line) == threshold
        else:
            assert line is None
        assert _line(ax, "uncorrected") is None
        observed = _line(ax, "observed MMD²")
        assert _position(observed) == float(result.statistics[index])
        title = ax.get_title()
        assert result.kernels[index] in title
        assert f"σ = {result.bandwidths[index]:.3g}" in title
        assert f"MMD² = {float(result.statistics[index]):.3g}" in title
        assert f"member p = {result.pvalues[index]:.3g} (uncorrected)" in title
    assert "(selected)" in axes[result.selected].get_title()
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert "corrected threshold (α = 0.05, min-p)" in legend


def test_minp_says_when_a_member_never_rejects(data) -> None:
    result = _test(data, "minp", permutations=19, kernel=_three())
    thresholds = result.member_thresholds()
    assert all(t == math.inf for t in thresholds)  # 19 permutations: too few to reject
    fig = _figure(result.plot())
    axes = _visible(fig)
    assert len(axes) == len(result.kernels) == 3  # the checks below see every panel
    for ax in axes:
        assert _line(ax, "corrected threshold") is None
        assert "never rejects" in ax.get_title()
        assert all(math.isfinite(limit) for limit in ax.get_xlim())


@pytest.mark.parametrize("method", ["fuse", "combined"])
def test_fuse_and_combined_draw_the_aggregated_null_first(data, method: str) -> None:
    result = _test(data, method, kernel=_three())
    members = len(result.kernels)
    assert members == 3
    drawn = result.plot()
    fig = _figure(drawn)
    axes = _visible(fig)
    assert axes == list(drawn)
    assert len(axes) == 1 + members
    first, rest = axes[0], axes[1:]
    # the aggregated statistic's own null, observed value and threshold
    null = np.asarray(result.combined_null_distribution)
    heights = sum(patch.get_height() for patch in first.patches)
    assert heights == result.n_permutations
    observed = _position(_line(first, "observed"))
    assert observed == pytest.approx(float(result.combined_statistic))
    level = ALPHA if method == "combined" else 1 - ALPHA  # combined: a p-value, small rejects
    threshold = _line(first, "threshold (α = 0.05)")
    assert _position(threshold) == pytest.approx(np.quantile(null, level))
    side = "left" if method == "combined" else "right"
    assert threshold.get_label().endswith(f"reject to the {side}")
    kind = {"fuse": "fused statistic", "combined": "smallest component p-value"}[method]
    assert kind in first.get_title()
    # the members: each its own (1 − α) quantile, labelled uncorrected
    nulls = np.asarray(result.null_distributions)
    for index, ax in enumerate(rest):
        line = _line(ax, "uncorrected threshold (α = 0.05)")
        assert _position(line) == pytest.approx(np.quantile(nulls[index], 1 - ALPHA))
        assert _position(_line(ax, "observed MMD²")) == float(result.statistics[index])
        title = ax.get_title()
        assert f"σ = {result.bandwidths[index]:.3g}" in title
        assert "member p = " in title
        assert "(uncorrected)" in title
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert "uncorrected threshold (α = 0.05)" in legend


def test_default_combined_collection_draws_one_more_panel(data) -> None:
    result = _test(data, True, permutations=19)
    assert result.method == "combined"
    drawn = result.plot()
    assert len(_visible(_figure(drawn))) == len(drawn) == 1 + len(result.kernels) == 21


@pytest.mark.parametrize(("method", "extra"), [("minp", 0), ("fuse", 1), ("combined", 1)])
def test_given_axes_must_hold_every_panel(data, method: str, extra: int) -> None:
    result = _test(data, method, permutations=19, kernel=_three())
    needed = len(result.kernels) + extra
    fig, axes = plt.subplots(1, needed)
    drawn = result.plot(ax=axes)
    assert list(drawn) == list(axes)
    assert drawn[0].figure is fig
    if extra:
        assert axes[0].get_xlabel() != "MMD²"  # the aggregated statistic's panel
    _, too_few = plt.subplots(1, needed - 1)
    with pytest.raises(ValueError, match=f"must hold {needed} axes .* got {needed - 1}"):
        result.plot(ax=too_few)
