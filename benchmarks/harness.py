"""The harness the new benchmarks share: interleaved timing and tables of ratios.

On this shared 2-core machine a one-case-at-a-time median moves by ±30 % between
runs; calling every implementation in turn, round after round, and comparing
medians of the same rounds turns the noise into a common factor that cancels in
the ratios. ``sync`` is where a GPU waits for its queue (a no-op on the CPU).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def interleaved(
    calls: dict[str, Callable[[], Any]],
    rounds: int,
    warmup: int = 3,
    sync: Callable[[], None] = lambda: None,
) -> dict[str, float]:
    """Median seconds of each call over ``rounds`` rounds that call every one in turn."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    sync()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def first_call_seconds(call: Callable[[], Any], sync: Callable[[], None] = lambda: None) -> float:
    """Wall time of one call (for compile times: the first call of a fresh function)."""
    start = time.perf_counter()
    call()
    sync()
    return time.perf_counter() - start


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown pipe table (floats with 4 significant digits)."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def ratio(value: float | None, baseline: float | None) -> str:
    """``value / baseline`` as ``1.23×``, or ``-`` when either is missing."""
    if value is None or baseline is None or baseline == 0:
        return "-"
    return f"{value / baseline:.2f}×"
