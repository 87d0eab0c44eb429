"""Pictures of a permutation test and of an explanation (matplotlib, an optional extra).

The single test draws one panel: the permutation null of the MMD², the
observed MMD² and the (1 − α) quantile of the null, the test's threshold.

An aggregated test draws one panel per member (its permuted MMD², its observed
MMD² and a threshold), and for ``"fuse"`` and ``"combined"`` a first panel with
the null of the aggregated statistic itself:

* ``"minp"``: each member's threshold is the one the min-p test applies to it,
  corrected for the collection (:meth:`MMDTestResult.member_thresholds`); the
  test rejects when some member's observed MMD² passes its line.
* ``"fuse"``: the first panel is the fused statistic (large is evidence,
  threshold at the 1 − α quantile of its null); ``"combined"``: the smallest
  component p-value (small is evidence, threshold at the α quantile, reject
  to the left). Their members are not tested one by one: the member panels'
  lines are each member's own (1 − α) quantile, uncorrected, for orientation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._aggregation import METHODS

__all__ = ["plot_explanation", "plot_test_result"]


NULL_COLOR, NULL_EDGE = "#9fb7d5", "#4a6d99"
THRESHOLD_COLOR, OBSERVED_COLOR = "#e08a1e", "#c0392b"


def _host(values: Any) -> np.ndarray:
    """Values read back for drawing (the user asked for a picture)."""
    if hasattr(values, "compute"):
        values = values.compute()
    if hasattr(values, "detach"):
        values = values.detach().cpu()
    if hasattr(values, "get") and not isinstance(values, np.ndarray):
        values = values.get()
    return np.asarray(values, dtype=np.float64)


def _panel(
    ax: Any,
    null: np.ndarray,
    observed: float,
    threshold: float | None,
    title: str,
    *,
    threshold_label: str,
    observed_label: str,
    xlabel: str = "MMD²",
    legend: bool = True,
) -> None:
    """A histogram of ``null`` with the observed value and (where finite) a threshold."""
    bins = max(10, min(60, int(math.sqrt(null.size))))
    ax.hist(null, bins=bins, color=NULL_COLOR, edgecolor=NULL_EDGE, label="permutation null")
    drawn = threshold is not None and math.isfinite(threshold)
    if drawn:
        ax.axvline(
            threshold, color=THRESHOLD_COLOR, linestyle="--", linewidth=1.8, label=threshold_label
        )
    ax.axvline(observed, color=OBSERVED_COLOR, linewidth=2.2, label=observed_label)
    ends = [float(null.min()), float(null.max()), observed, *([threshold] if drawn else [])]
    low, high = min(ends), max(ends)
    pad = 0.06 * (high - low) if high > low else 1e-12
    ax.set_xlim(low - pad, high + pad)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("permutations")
    ax.set_title(title, fontsize=10)
    if legend:
        ax.legend(fontsize=7.5, loc="best", framealpha=0.85)


def _axes(plt: Any, ax: Any, count: int, method: str, members: int) -> tuple[Any, np.ndarray]:
    """The figure and the ``count`` axes to draw in (a 1-D array): new ones, or the
    first ``count`` of the caller's."""
    if ax is None:
        cols = min(count, 3 if count <= 9 else 5)
        rows = math.ceil(count / cols)
        fig, axes = plt.subplots(
            rows, cols, figsize=(4.6 * cols, 3.6 * rows), layout="constrained", squeeze=False
        )
        axes = axes.ravel()
        for extra in axes[count:]:
            extra.set_visible(False)
        return fig, axes[:count]
    axes = np.ravel(ax)
    if axes.size < count:
        layout = (
            f"one per member ({members})"
            if method == "minp"
            else f"1 for the {METHODS[method].statistic_kind} + one per member ({members})"
        )
        raise ValueError(
            f"`ax` must hold {count} axes for this aggregated test (aggregate={method!r}: "
            f"{layout}), got {axes.size}"
        )
    return axes[0].figure, axes[:count]


def _member_title(result: Any, index: int, observed: float, note: str = "") -> str:
    width = result.bandwidths[index] if index < len(result.bandwidths) else None
    sigma = "" if width is None else f"σ = {float(width):.3g}, "
    selected = " (selected)" if result.selected == index else ""
    return (
        f"{result.kernels[index]}{selected}\n{sigma}MMD² = {observed:.3g}\n"
        f"member p = {float(result.pvalues[index]):.3g} (uncorrected){note}"
    )


def _aggregate_panel(ax: Any, result: Any, decision: str) -> None:
    """The null of the aggregated statistic (fuse, combined) and its own threshold."""
    null = _host(result.combined_null_distribution).ravel()
    observed = float(_host(result.combined_statistic))
    kind = METHODS[result.method].statistic_kind
    if result.method == "combined":  # a p-value: small is evidence
        threshold = float(np.quantile(null, result.alpha))
        threshold_label = f"threshold (α = {result.alpha:g}), reject to the left"
    else:
        threshold = float(np.quantile(null, 1.0 - result.alpha))
        threshold_label = f"threshold (α = {result.alpha:g}), reject to the right"
    title = f"{result.method}: {kind}\np-value = {float(result.pvalue):.4g} ({decision})"
    _panel(
        ax,
        null,
        observed,
        threshold,
        title,
        threshold_label=threshold_label,
        observed_label=f"observed = {observed:.3g}",
        xlabel=kind,
    )


def _figure_legend(fig: Any, threshold_label: str) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=NULL_COLOR, edgecolor=NULL_EDGE),
        Line2D([], [], color=THRESHOLD_COLOR, linestyle="--", linewidth=1.8),
        Line2D([], [], color=OBSERVED_COLOR, linewidth=2.2),
    ]
    labels = ["permutation null", threshold_label, "observed MMD²"]
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=9)


def plot_test_result(result: Any, ax: Any = None) -> Any:
    """Draw an :class:`mmd_any.MMDTestResult` (see :meth:`MMDTestResult.plot`).

    Parameters
    ----------
    result : MMDTestResult
    ax : matplotlib Axes, array of Axes, or None
        Where to draw; None creates a figure. The single test draws in one
        Axes; an aggregated test needs one per member (``"minp"``) or one more
        for the aggregated statistic (``"fuse"``, ``"combined"``): ``1 + L``.

    Returns
    -------
    matplotlib Axes or ndarray of Axes
        The Axes drawn on. The single test: its Axes (``ax``, or the new
        figure's). An aggregated test: a 1-D object array of the ``L`` or
        ``1 + L`` Axes of its panels in drawing order (the aggregated
        statistic's first), the first ones of ``ax`` when it was given (spare
        Axes are left untouched), else the new figure's (its spare grid cells
        hidden). The figure is ``ax.figure`` (``axes[0].figure``).

    Raises
    ------
    ValueError
        ``ax`` holds fewer axes than the test has panels.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "MMDTestResult.plot needs matplotlib: pip install 'mmd-any[plot]'"
        ) from error
    decision = "reject H0" if bool(result.reject) else "do not reject H0"
    pvalue = float(result.pvalue)
    if not result.aggregated:
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
        null = _host(result.null_distribution)
        observed = float(_host(result.statistic))
        title = f"{result.kernels[0]}\np-value = {pvalue:.4g} ({decision})"
        _panel(
            ax,
            null,
            observed,
            float(np.quantile(null, 1.0 - result.alpha)),
            title,
            threshold_label=f"threshold (α = {result.alpha:g})",
            observed_label=f"observed MMD² = {observed:.3g}",
        )
        return ax
    nulls = _host(result.null_distributions)
    observed = _host(result.statistics)
    members = nulls.shape[0]
    first = 0 if result.method == "minp" else 1
    fig, axes = _axes(plt, ax, first + members, result.method, members)
    if result.method == "minp":
        thresholds = result.member_thresholds()
        threshold_label = f"corrected threshold (α = {result.alpha:g}, min-p)"
    else:
        thresholds = [float(np.quantile(null, 1.0 - result.alpha)) for null in nulls]
        threshold_label = f"uncorrected threshold (α = {result.alpha:g})"
        _aggregate_panel(axes[0], result, decision)
    for index in range(members):
        threshold = float(thresholds[index])
        note = ""
        if math.isinf(threshold):
            note = ", never rejects" if threshold > 0 else ", always rejects"
        _panel(
            axes[first + index],
            nulls[index],
            float(observed[index]),
            threshold,
            _member_title(result, index, float(observed[index]), note),
            threshold_label=threshold_label,
            observed_label="observed MMD²",
            legend=False,
        )
    _figure_legend(fig, threshold_label)
    fig.suptitle(
        f"aggregated MMD test ({result.method}): p-value = {pvalue:.4g} ({decision})", fontsize=12
    )
    return axes


#: Markers of the two samples in :func:`plot_explanation`.
X_MARKER, Y_MARKER = "o", "^"
CHANGED_COLOR, UNCHANGED_COLOR = "#c0392b", "#9fb7d5"


def _principal_plane(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pooled rows on their first two principal directions, and the share of
    the variance each direction carries."""
    centred = z - z.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    directions = vt[:2].T if vt.shape[0] >= 2 else np.eye(z.shape[1], 2)
    plane = centred @ directions
    if plane.shape[1] < 2:  # one feature: its values against zero
        plane = np.column_stack([plane[:, 0], np.zeros(len(plane))])
    variance = singular**2 / max(float(np.sum(singular**2)), np.finfo(float).tiny)
    return plane, np.pad(variance[:2], (0, max(0, 2 - variance[:2].size)))


def _witness_panel(ax: Any, result: Any, x: Any, y: Any, labels: tuple[str, str]) -> Any:
    from matplotlib.colors import TwoSlopeNorm

    x, y = _host(x).reshape(len(_host(x)), -1), _host(y).reshape(len(_host(y)), -1)
    witness, n = _host(result.witness), len(x)
    plane, share = _principal_plane(np.concatenate([x, y]))
    # 0 is white; each side spans its own range, so that a witness of one sign
    # almost everywhere still shows where the other sample's excess lies
    tiny = np.finfo(float).tiny
    low, high = min(float(witness.min()), -tiny), max(float(witness.max()), tiny)
    norm = TwoSlopeNorm(vcenter=0.0, vmin=low, vmax=high)
    style = {"cmap": "coolwarm", "norm": norm, "s": 16, "linewidths": 0.3, "alpha": 0.85}
    points = ax.scatter(
        plane[:n, 0],
        plane[:n, 1],
        c=witness[:n],
        marker=X_MARKER,
        label=labels[0],
        edgecolors="none",
        **style,
    )
    ax.scatter(
        plane[n:, 0],
        plane[n:, 1],
        c=witness[n:],
        marker=Y_MARKER,
        label=labels[1],
        edgecolors="none",
        **style,
    )
    top_x = _host(result.x_rows).astype(int)
    top_y = n + _host(result.y_rows).astype(int)
    for rows, marker in ((top_x, X_MARKER), (top_y, Y_MARKER)):
        ax.scatter(
            plane[rows, 0],
            plane[rows, 1],
            marker=marker,
            s=60,
            facecolors="none",
            edgecolors="black",
            linewidths=1.0,
        )
    ax.set_xlabel(f"principal direction 1 ({share[0]:.0%} of the variance)")
    ax.set_ylabel(f"principal direction 2 ({share[1]:.0%})")
    ax.set_title(
        f"witness: red where {labels[0]} has more mass, blue where {labels[1]} has\n"
        f"(circled: the {len(top_x)} + {len(top_y)} most discrepant rows)",
        fontsize=10,
    )
    ax.legend(loc="best", fontsize=8, markerscale=1.2)
    return points


def _feature_panel(ax: Any, result: Any, count: int) -> None:
    ranked = _host(result.features).astype(int)[:count]
    scores = _host(result.feature_scores)[ranked]
    pvalues = _host(result.feature_pvalues)[ranked]
    changed = pvalues <= result.alpha
    positions = np.arange(len(ranked))[::-1]
    ax.barh(
        positions,
        scores,
        color=np.where(changed, CHANGED_COLOR, UNCHANGED_COLOR),
        edgecolor="#333333",
        linewidth=0.4,
    )
    ax.set_yticks(positions, [result.feature_label(int(j)) for j in ranked], fontsize=8)
    for position, score, pvalue in zip(positions, scores, pvalues, strict=True):
        ax.text(score, position, f"  p={pvalue:.2g}", va="center", fontsize=7)
    ax.set_xlim(0, max(float(scores.max(initial=0.0)), np.finfo(float).tiny) * 1.35)
    ax.set_xlabel("marginal MMD² (own median bandwidth)")
    ax.set_title(
        f"features, most changed first: red = changed at FWER {result.alpha:g}\n"
        "(p corrected: Westfall–Young min-P)",
        fontsize=10,
    )


def plot_explanation(
    result: Any, x: Any, y: Any, *, features: int = 15, labels: tuple[str, str] = ("x", "y")
) -> Any:
    """The witness over the pooled sample's first two principal directions (each
    sample its own marker, coloured by the witness, the most discrepant rows
    circled) beside a bar chart of the ``features`` highest-ranked features' scores.

    Parameters
    ----------
    result : Explanation
    x, y : arrays
        The samples the explanation is of.
    features : int
        How many ranked features to draw.
    labels : (str, str)
        The samples' names in the legend and titles.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    shown = min(features, len(_host(result.features)))
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(12, 4.8), layout="constrained", width_ratios=(1.25, 1.0)
    )
    points = _witness_panel(left, result, x, y, labels)
    fig.colorbar(points, ax=left, label="witness f(t)", shrink=0.85)
    _feature_panel(right, result, shown)
    return fig
