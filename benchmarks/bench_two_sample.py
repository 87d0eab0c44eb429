"""Benchmark of the permutation test against one ``mmd2`` call and against the peers.

Run it with::

    python benchmarks/bench_two_sample.py [--markdown FILE]
    python benchmarks/bench_two_sample.py --quick   # n = m = 256 / 64, 100 permutations, 1 run

Peers are measured where importable (a separate environment with
``alibi-detect`` and ``hyppo`` installed next to mmd_any; their rows are marked
"not installed" otherwise). Every case runs in a fresh subprocess; mmd_any rows
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
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

PERMUTATIONS = 1000
DIM = 64


def data(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, DIM), dtype=np.float32)
    y = rng.standard_normal((n, DIM), dtype=np.float32) + np.float32(0.1)
    return x, y


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


def run_case(name: str, quick: bool) -> dict[str, Any]:
    n, function, reps = cases(quick)[name]
    x, y = data(n)
    small_x, small_y = data(16)
    function(small_x, small_y)  # warm-up: imports, JIT compilation
    if reps > 1:
        function(x, y)
    times, pvalue = [], None
    for _ in range(reps):
        start = time.perf_counter()
        pvalue = function(x, y)
        times.append(time.perf_counter() - start)
    return {"seconds": statistics.median(times), "pvalue": pvalue}


def installed(name: str) -> bool:
    import importlib.util

    for peer, module in PEER_MODULES.items():
        if name.startswith(peer):
            return importlib.util.find_spec(module) is not None
    return True


def spawn(name: str, quick: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--case", name] + (["--quick"] if quick else [])
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(results: dict[str, dict[str, Any] | None], quick: bool) -> list[str]:
    big, small = SIZES[quick][:2]
    reference = results[f"mmd_any torch biased {big}"]["seconds"]
    reference_small = results[f"mmd_any torch biased {small}"]["seconds"]
    head = f"{'case':36} {'seconds':>9} {'x mmd2':>7} {'mmd_any speed-up':>17} {'p-value':>9}"
    lines = [head, "-" * len(head)]
    for name, result in results.items():
        if result is None:
            lines.append(f"{name:36} {'not installed':>9}")
            continue
        seconds = result["seconds"]
        unit = ""
        if name.startswith("mmd_any") and name.endswith(f" {big}") and "mmd2" not in name:
            library = name.split()[1]
            unit = f"{seconds / results[f'mmd_any {library} mmd2 {big}']['seconds']:7.1f}"
        base = reference_small if name.endswith(f" {small}") else reference
        speed = f"{seconds / base:16.1f}x"
        pvalue = "-" if result["pvalue"] is None else f"{result['pvalue']:.4g}"
        lines.append(f"{name:36} {seconds:9.3f} {unit:>7} {speed} {pvalue:>9}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--markdown", metavar="FILE")
    parser.add_argument("--quick", action="store_true", help="small sizes, 100 permutations")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case, args.quick)))
        return
    results = {}
    for name in cases(args.quick):
        results[name] = spawn(name, args.quick) if installed(name) else None
        print(f"  done: {name}", file=sys.stderr, flush=True)
    lines = report(results, args.quick)
    permutations = SIZES[args.quick][2]
    print(
        f"{permutations} permutations, d = {DIM}, float32; " + time.strftime("%Y-%m-%d %H:%M UTC")
    )
    print("\n".join(lines))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as out:
            out.write("```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
