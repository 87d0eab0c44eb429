"""What the numerical safeguards of issue 13 cost on the host, interleaved.

Two safeguards run on eager host arrays: the decision whether the matmul
distances need recomputing close pairs from differences (one reduction and a
host read; the refinement itself only for data that needs it), and the check
that finite inputs gave a finite result (one ``isfinite`` and a read). This
script times the CPU training step (``MMDLoss`` forward + backward, float32,
d = 64, 1 thread) and an exact ``mmd2`` (float64, n = m = 2000, median
bandwidth) with both safeguards, and with each switched off by replacing its
function, in interleaved rounds (``_harness.interleaved``), and prints the ratios to
the version without safeguards. Data with an outlier beside near-duplicates
shows what the refinement costs when it does run.

    python benchmarks/bench_checks.py
    python benchmarks/bench_checks.py --quick    # B = 32, 5 rounds: seconds
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from _harness import interleaved, ratio, table, versions

import mmd_any
from mmd_any import _gram, _validation
from mmd_any.torch import MMDLoss

VARIANTS = ("both off", "refinement decision", "overflow check", "both on")


@contextmanager
def variant(name: str) -> Iterator[None]:
    """Switch the safeguards of ``name`` on (the others off) for the enclosed calls."""
    keep_branch, keep_refuse = _gram.branches_cheaply, _validation.refuse_overflow
    if name not in ("refinement decision", "both on"):
        _gram.branches_cheaply = lambda xp, dev: False
    if name not in ("overflow check", "both on"):
        _validation.refuse_overflow = lambda *args, **kwargs: None
    try:
        yield
    finally:
        _gram.branches_cheaply, _validation.refuse_overflow = keep_branch, keep_refuse


def timed(call: Callable[[], object], name: str) -> Callable[[], object]:
    def run() -> object:
        with variant(name):
            return call()

    return run


def cases(quick: bool) -> Iterator[tuple[str, Callable[[], object]]]:
    torch.manual_seed(0)
    loss = MMDLoss()
    for batch in (32,) if quick else (32, 128, 512):
        source = torch.randn(batch, 64, requires_grad=True)
        target = torch.randn(batch, 64)

        def step(source: torch.Tensor = source, target: torch.Tensor = target) -> None:
            loss(source, target).backward()

        yield f"MMDLoss step, B = {batch}", step
    rng = np.random.default_rng(0)
    size = 200 if quick else 2000
    for dim in (1, 16):
        x, y = rng.normal(size=(size, dim)), rng.normal(0.1, 1.0, size=(size, dim))
        yield f"mmd2, n = m = {size}, d = {dim}", lambda x=x, y=y: mmd_any.mmd2(x, y)
    x, y = rng.normal(size=(size, 16)), rng.normal(size=(size, 16))
    x[: size // 2] = x[0] + 1e-6 * rng.normal(size=(size // 2, 16))
    y[0] = 1e6
    yield f"mmd2, outlier beside near-duplicates, d = 16, n = {size}", lambda: mmd_any.mmd2(x, y)


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    torch.set_num_threads(1)
    rounds = 5 if quick else 60
    rows = []
    for label, call in cases(quick):
        medians = interleaved({name: timed(call, name) for name in VARIANTS}, rounds)
        base = medians["both off"]
        rows.append([label, base * 1e3, *(ratio(medians[name], base) for name in VARIANTS[1:])])
    print(f"{versions('mmd-any', 'torch')}; {rounds} rounds\n")
    print(table(["case", "both off ms", *(f"{name} / off" for name in VARIANTS[1:])], rows))


if __name__ == "__main__":
    main(sys.argv[1:])
