"""The planner: how the pooled kernel matrix is traversed on a given device.

From the namespace, the device, the number of pooled points ``N``, the dtype,
the number of weight rows ``P`` (1–2 for an MMD², ``1 + P`` for a permutation
test) and a memory budget, :func:`make_plan` decides the tile shape, whether the
whole matrix is one tile, and how many weight rows go through the tiles per pass.

* **Host CPU** (NumPy, array-api-strict, torch ``cpu``, Dask chunks):
  cache-sized tiles of :data:`HOST_ROWS` × 2·:data:`HOST_ROWS` (a 256 × 512
  float32 tile is 512 KiB: it stays in L2 and the allocator recycles it), and
  one tile up to :data:`HOST_SINGLE_TILE_POINTS` points.
* **Every other device** (torch ``cuda``/``mps``/``xpu``/``meta``, CuPy, JAX on
  any device, CPU included): each array call is a kernel launch (or, under
  ``jax.jit``, a piece of the unrolled program), so tiles are the largest
  squares whose :data:`TILE_TEMPORARIES` live copies and the weight products fit
  the budget; the whole matrix is one tile whenever it fits.

The budget is ``memory_budget`` bytes where the caller gives it; by default
:data:`BUDGET_FRACTION` of the device's free memory where the library reports it
(torch CUDA, CuPy, JAX GPU), else :data:`DEFAULT_BUDGET` bytes. ``block_size``
stays the expert override of the tile rows (columns: twice as many).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._checks import check_count
from ._compat import free_memory, is_host

__all__ = [
    "Plan",
    "check_block_size",
    "check_memory_budget",
    "feature_rows",
    "itemsize",
    "make_plan",
]

#: Rows per tile on the host CPU; off-diagonal tiles have twice as many columns.
#: Chosen from a sweep of tile shapes at n = m = 2048, d = 64 on NumPy and torch
#: (2 cores): 256 × 512 was the best shape on NumPy and within 1.3x of the best
#: on torch.
HOST_ROWS = 256

#: Up to this many pooled points the host computes one tile: measured
#: (``benchmarks/bench_launches.py``, "Host plan", idle machine) at 1.00–1.04× the
#: tiled forward time and 0.93× the tiled training step at 512 points, against
#: 1.02–1.09× and 1.17× at 1024 and 1.1–3× above (the tiles skip the lower triangle).
HOST_SINGLE_TILE_POINTS = 512

#: Default budget where the device reports no free memory: 1 GiB.
DEFAULT_BUDGET = 1 << 30

#: Share of the reported free device memory used by default.
BUDGET_FRACTION = 0.25

#: Tile-sized arrays alive at once while a one-term tile is reduced (the metric,
#: the scaled metric, the kernel, one temporary); each further kernel term that
#: an accelerator evaluates stacked adds two (its scaled metric and its exp).
TILE_TEMPORARIES = 4

#: Share of the budget that the weight rows of one pass may take.
WEIGHT_SHARE = 0.125

#: Accelerator tile sides are multiples of this (matmul-friendly).
TILE_ALIGN = 128

#: Host: largest ``rows × frequencies`` block of random Fourier features (16 MiB
#: in float32).
HOST_FEATURE_ELEMENTS = 1 << 22

#: Feature-sized arrays alive at once per block (phases, cos, sin).
FEATURE_TEMPORARIES = 3


@dataclass(frozen=True)
class Plan:
    """How to traverse an ``N × N`` pooled kernel matrix.

    Attributes
    ----------
    rows, cols : int
        Rows per tile, and columns per off-diagonal tile. ``rows ≥ N`` means
        the whole matrix is one tile.
    weight_rows : int
        Weight rows per pass over the tiles (permutation tests split theirs).
    budget : int
        The memory budget in bytes the plan was made for.
    """

    rows: int
    cols: int
    weight_rows: int
    budget: int

    def single_tile(self, n_points: int) -> bool:
        """Whether the ``n_points × n_points`` matrix is computed as one tile."""
        return n_points <= self.rows

    def block_entries(self, n_points: int, start: int) -> int:
        """The kernel entries a pass over the symmetric ``n_points × n_points`` matrix
        covers for the row block starting at ``start``: its rows times the columns from
        its diagonal on (the upper triangle, for a single tile). What the engine reports
        as progress after each row block."""
        if self.single_tile(n_points):
            return n_points * (n_points + 1) // 2
        return min(self.rows, n_points - start) * (n_points - start)

    def pass_entries(self, n_points: int) -> int:
        """The sum of :meth:`block_entries` over one pass's row blocks."""
        starts = [0] if self.single_tile(n_points) else range(0, n_points, self.rows)
        return sum(self.block_entries(n_points, start) for start in starts)


def itemsize(xp: Any, dtype: Any) -> int:
    """Bytes per element of a floating dtype."""
    return xp.finfo(dtype).bits // 8


def check_block_size(block_size: int | None) -> int | None:
    """Validate ``block_size`` (None: let the planner decide); see
    :func:`mmd_any._checks.check_count` for what an integer is."""
    return check_count(block_size, "block_size", 1, allow_none=True)


def check_memory_budget(memory_budget: int | None) -> int | None:
    """Validate ``memory_budget``, a number of bytes (None: the default of the device)."""
    return check_count(memory_budget, "memory_budget", 1, allow_none=True)


def default_budget(xp: Any, device: Any) -> int:
    """:data:`BUDGET_FRACTION` of the free device memory, else :data:`DEFAULT_BUDGET`."""
    free = free_memory(xp, device)
    return DEFAULT_BUDGET if free is None else max(1 << 20, int(free * BUDGET_FRACTION))


def _accelerator_side(budget: int, itemsize: int, weight_rows: int, terms: int) -> int:
    """Largest tile side ``s`` with ``T·s² + 2·P·s`` items in the budget,
    ``T = TILE_TEMPORARIES + 2·(terms − 1)``."""
    items = budget // itemsize
    a, b = TILE_TEMPORARIES + 2 * (terms - 1), 2 * weight_rows
    side = int(((b * b + 4 * a * items) ** 0.5 - b) / (2 * a))
    return max(TILE_ALIGN, side - side % TILE_ALIGN)


def make_plan(
    xp: Any,
    device: Any,
    n_points: int,
    itemsize: int,
    *,
    weight_rows: int = 1,
    terms: int = 1,
    memory_budget: int | None = None,
    block_size: int | None = None,
) -> Plan:
    """The traversal of an ``n_points``-point pooled kernel matrix (module docstring).

    Parameters
    ----------
    xp, device
        Namespace and device of the data.
    n_points : int
        ``N = n + m``.
    itemsize : int
        Bytes per element of the computation dtype.
    weight_rows : int
        Weight rows to push through the tiles in all (``1 + P`` for a test).
    terms : int
        Kernel terms (bandwidths) per tile.
    memory_budget, block_size : int, optional
        The caller's budget in bytes, and the expert override of the tile rows.
    """
    host = is_host(xp, device)
    if memory_budget is not None:
        budget = memory_budget
    else:  # the host's tiles are cache-sized: no need to ask the device
        budget = DEFAULT_BUDGET if host else default_budget(xp, device)
    per_pass = max(2, int(budget * WEIGHT_SHARE) // max(1, n_points * itemsize))
    per_pass = min(weight_rows, per_pass)
    if block_size is not None:
        return Plan(block_size, 2 * block_size, per_pass, budget)
    if host:
        if n_points <= HOST_SINGLE_TILE_POINTS:
            return Plan(n_points, n_points, per_pass, budget)
        return Plan(HOST_ROWS, 2 * HOST_ROWS, per_pass, budget)
    side = _accelerator_side(int(budget * (1 - WEIGHT_SHARE)), itemsize, per_pass, terms)
    if n_points <= side:
        return Plan(n_points, n_points, per_pass, budget)
    return Plan(side, side, per_pass, budget)


def feature_rows(
    xp: Any, device: Any, n_frequencies: int, itemsize: int, memory_budget: int | None = None
) -> int:
    """Rows per block of random Fourier features (:mod:`mmd_any.approximate`; also the
    features per block of :mod:`mmd_any._marginals`, each a row of ``2·N·K`` wave
    values): bounded blocks on the host, the budget's worth on an accelerator."""
    if is_host(xp, device):
        return max(1, HOST_FEATURE_ELEMENTS // max(1, n_frequencies))
    budget = default_budget(xp, device) if memory_budget is None else memory_budget
    return max(1, budget // (FEATURE_TEMPORARIES * max(1, n_frequencies) * itemsize))
