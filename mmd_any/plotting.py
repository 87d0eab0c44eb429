"""Pictures of a permutation test (matplotlib, an optional extra)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["plot_test_result"]


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
    ax: Any, null: np.ndarray, observed: float, alpha: float, title: str, legend: bool = True
) -> None:
    threshold = float(np.quantile(null, 1.0 - alpha))
    bins = max(10, min(60, int(math.sqrt(null.size))))
    ax.hist(null, bins=bins, color="#9fb7d5", edgecolor="#4a6d99", label="permutation null")
    ax.axvline(
        threshold,
        color="#e08a1e",
        linestyle="--",
        linewidth=1.8,
        label=f"threshold (α = {alpha:g})",
    )
    ax.axvline(observed, color="#c0392b", linewidth=2.2, label=f"observed MMD² = {observed:.3g}")
    low = min(float(null.min()), observed, threshold)
    high = max(float(null.max()), observed, threshold)
    pad = 0.06 * (high - low) if high > low else 1e-12
    ax.set_xlim(low - pad, high + pad)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
    ax.set_xlabel("MMD²")
    ax.set_ylabel("permutations")
    ax.set_title(title, fontsize=10)
    if legend:
        ax.legend(fontsize=7.5, loc="best", framealpha=0.85)


def plot_test_result(result: Any, ax: Any = None) -> Any:
    """Draw an :class:`mmd_any.MMDTestResult` (see :meth:`MMDTestResult.plot`)."""
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
            fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
        else:
            fig = ax.figure
        title = f"{result.kernels[0]}\np-value = {pvalue:.4g} ({decision})"
        _panel(
            ax, _host(result.null_distribution), float(_host(result.statistic)), result.alpha, title
        )
        return fig
    nulls = _host(result.null_distributions)
    observed = _host(result.statistics)
    count = nulls.shape[0]
    if ax is None:
        cols = min(3, count)
        rows = math.ceil(count / cols)
        fig, axes = plt.subplots(
            rows, cols, figsize=(4.6 * cols, 3.6 * rows), layout="constrained", squeeze=False
        )
        axes = axes.ravel()
        for extra in axes[count:]:
            extra.set_visible(False)
    else:
        axes = np.ravel(ax)
        if axes.size < count:
            raise ValueError(
                f"`ax` must hold {count} axes for this aggregated test, got {axes.size}"
            )
        fig = axes[0].figure
    for index in range(count):
        title = (
            f"{result.kernels[index]}\nMMD² = {float(observed[index]):.3g}, "
            f"member p = {float(result.pvalues[index]):.3g}"
        )
        _panel(axes[index], nulls[index], float(observed[index]), result.alpha, title, False)
    handles, _ = axes[0].get_legend_handles_labels()
    labels = ["permutation null", f"threshold (α = {result.alpha:g})", "observed MMD²"]
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=9)
    fig.suptitle(f"aggregated MMD test: p-value = {pvalue:.4g} ({decision})", fontsize=12)
    return fig
