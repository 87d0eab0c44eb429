"""Benchmark of the permutation test against one ``mmd2`` call and against the peers.

Run it with::

    python benchmarks/bench_two_sample.py [--markdown FILE]
    python benchmarks/bench_two_sample.py --quick   # n = m = 256 / 64, 100 permutations, 1 run

Peers are measured where importable (a separate environment with
``alibi-detect`` and ``hyppo`` installed next to mmd_any; their rows are marked
"not installed" otherwise). Every case runs in a fresh subprocess (this script
with a hidden ``--child``, through ``_harness.spawn``); mmd_any rows
are the median of 3 runs after a warm-up, peer rows one run after a warm-up on
tiny data (which compiles hyppo's numba code and loads alibi-detect's torch
backend).

* n = m = 2048, d = 64, float32, x ~ N(0, 1), y ~ N(0.1, 1), 1000 permutations:
  ``mmd_any.mmd2`` (the unit), ``mmd_any.mmd_test`` (biased, unbiased,
  aggregated) on NumPy and torch, and alibi-detect's
  ``MMDDrift(x, backend="pytorch", n_permutations=1000).predict(y)``.
* n = m = 512, same data, 1000 permutations: ``mmd_any.mmd_test`` and hyppo's
  ``MMD().test(x, y, reps=1000, auto=False)``.

Columns: seconds, multiple of one ``mmd2`` call of the same library (for mmd_any
tests), speed-up of mmd_any (torch, biased) over the row, p-value.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _harness  # beside this script
import numpy as np
from _harness import fmt, ratio

PERMUTATIONS = 1000
DIM = 64
#: Seconds one case may run before its process group is killed.
CASE_TIMEOUT = 3600.0
HEADERS = ["case", "seconds", "x mmd2", "mmd_any speed-up", "p-value"]


def data(n: int) -> tuple[np.ndarray, np.ndarray]:
    return _harness.normal_pair(n, DIM, 0.1)


def _as(library: str, a: np.ndarray) -> Any:
    if library == "torch":
        import torch

        return torch.from_numpy(a)
    return a


def _mmd_any(
    library: str, what: str, permutations: int
) -> Callable[[np.ndarray, np.ndarray], float | None]:
    import mmd_any

    def run(x: np.ndarray, y: np.ndarray) -> float | None:
        a, b = _as(library, x), _as(library, y)
        if what == "mmd2":
            float(mmd_any.mmd2(a, b))
            return None
        options = {"aggregate": True} if what == "aggregated" else {"estimator": what}
        return mmd_any.mmd_test(a, b, n_permutations=permutations, seed=0, **options).pvalue

    return run


def _alibi(permutations: int) -> Callable[[np.ndarray, np.ndarray], float]:
    def run(x: np.ndarray, y: np.ndarray) -> float:
        from alibi_detect.cd import MMDDrift

        detector = MMDDrift(x, backend="pytorch", p_val=0.05, n_permutations=permutations)
        return float(detector.predict(y)["data"]["p_val"])

    return run


def _hyppo(permutations: int) -> Callable[[np.ndarray, np.ndarray], float]:
    def run(x: np.ndarray, y: np.ndarray) -> float:
        from hyppo.ksample import MMD

        return float(MMD().test(x, y, reps=permutations, auto=False).pvalue)

    return run


#: (large n, small n, permutations, mmd_any runs) of the full and the quick run
SIZES = {False: (2048, 512, PERMUTATIONS, 3), True: (256, 64, 100, 1)}
PEER_MODULES = {"alibi-detect": "alibi_detect", "hyppo": "hyppo"}


def cases(quick: bool) -> dict[str, tuple[int, Callable[..., Any], int]]:
    """Case name -> (n, function, runs); the names carry n."""
    big, small, permutations, runs = SIZES[quick]
    table: dict[str, tuple[int, Callable[..., Any], int]] = {}
    for lib in ("numpy", "torch"):
        for what in ("mmd2", "biased", "unbiased", "aggregated"):
            table[f"mmd_any {lib} {what} {big}"] = (big, _mmd_any(lib, what, permutations), runs)
        table[f"mmd_any {lib} biased {small}"] = (
            small,
            _mmd_any(lib, "biased", permutations),
            runs,
        )
    table[f"alibi-detect MMDDrift torch {big}"] = (big, _alibi(permutations), 1)
    table[f"hyppo MMD {small}"] = (small, _hyppo(permutations), 1)
    return table


def run_case(spec: dict[str, Any]) -> dict[str, Any]:
    """One case in this fresh process (``--child``): seconds and the last p-value."""
    n, function, reps = cases(spec["quick"])[spec["name"]]
    x, y = data(n)
    small_x, small_y = data(16)
    function(small_x, small_y)  # warm-up: imports, JIT compilation
    timing = _harness.time_call(
        lambda: function(x, y), reps, warmup=1 if reps > 1 else 0, memory=None
    )
    return {"seconds": timing.median, "pvalue": timing.values[-1]}


def installed(name: str) -> bool:
    for peer, module in PEER_MODULES.items():
        if name.startswith(peer):
            return importlib.util.find_spec(module) is not None
    return True


def case(name: str, quick: bool) -> dict[str, Any]:
    spec = {"name": name, "quick": quick}
    return _harness.spawn(__file__, spec, timeout=CASE_TIMEOUT, label=name).require()


def rows(results: dict[str, dict[str, Any] | None], quick: bool) -> list[list[str]]:
    big, small = SIZES[quick][:2]
    reference = results[f"mmd_any torch biased {big}"]["seconds"]
    reference_small = results[f"mmd_any torch biased {small}"]["seconds"]
    out = []
    for name, result in results.items():
        if result is None:
            out.append([name, "not installed", "", "", ""])
            continue
        seconds = result["seconds"]
        unit = None
        if name.startswith("mmd_any") and name.endswith(f" {big}") and "mmd2" not in name:
            library = name.split()[1]
            unit = seconds / results[f"mmd_any {library} mmd2 {big}"]["seconds"]
        base = reference_small if name.endswith(f" {small}") else reference
        pvalue = fmt(result["pvalue"], ".4g")
        out.append([name, f"{seconds:.3f}", fmt(unit, ".1f"), ratio(seconds, base, 1, "x"), pvalue])
    return out


def main(argv: list[str] | None = None) -> None:
    if _harness.serve_child(run_case, argv):
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--markdown", metavar="FILE")
    parser.add_argument("--quick", action="store_true", help="small sizes, 100 permutations")
    args = parser.parse_args(argv)
    results = {}
    for name in cases(args.quick):
        results[name] = case(name, args.quick) if installed(name) else None
    permutations = SIZES[args.quick][2]
    title = (
        f"{permutations} permutations, d = {DIM}, float32; {_harness.timestamp()}; "
        + _harness.versions("mmd-any", "numpy", "torch", "alibi-detect", "hyppo")
    )
    table = _harness.Table(title, HEADERS, rows(results, args.quick))
    print(_harness.render_table(table))
    if args.markdown:
        Path(args.markdown).write_text(_harness.render_table(table, markdown=True) + "\n")


if __name__ == "__main__":
    main()
