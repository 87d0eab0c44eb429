"""Resident-memory readings shared by the benchmark scripts (Linux ``/proc``)."""

from __future__ import annotations

import resource


def current_rss_mib() -> float:
    """Resident set size now, from ``/proc/self/statm``."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def reset_peak_rss() -> bool:
    """Reset the peak-RSS counter (``VmHWM``) to the current RSS; False where impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True
