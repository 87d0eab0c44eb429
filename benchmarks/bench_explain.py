"""Where two samples differ: the witness's cost and ``explain``'s accuracy, cost and level.

Run it with::

    python benchmarks/bench_explain.py            # the issue's sizes: about two minutes
    python benchmarks/bench_explain.py --quick    # small sizes, seconds

What it measures (NumPy float64, one process, calls interleaved so that the
machine's noise is common to both sides of a ratio):

* Cost of the witness: ``mmd_any.witness(x, y)`` at the pooled rows against one
  exact ``mmd_any.mmd2(x, y)``, n = m = 10⁴, d = 64 (target: ≤ 1.5×).
* Cost of ``explain``: ``mmd_any.explain`` with 200 permutations over d = 64
  features against one ``mmd_any.mmd_test`` with 1000 permutations on the same
  data, n = m = 1000 and 2000 (target: ≤ 1×).
* The rows: 10 % of ``y`` drawn far from ``x`` (N(0, I) against a cluster at
  5·1 with sd 0.5, d = 10, n = m = 500): the share of the top 20 ``y_rows`` from
  the planted cluster, mean and minimum over the repetitions (target ≥ 90 %).
* The features: d = 10, two features shifted by 0.5 (n = m = 400): the share of
  repetitions in which those two rank first.
* The family-wise error rate under H0: N(0, I_10) against itself (n = m = 100,
  200 permutations, α = 0.05): the share of repetitions in which any feature is
  called changed, with its standard error (target ≤ α).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from functools import partial

import numpy as np
from _harness import Table, Timing, fmt, measure, progress, ratio, render_report, timestamp

import mmd_any

ALPHA = 0.05


@dataclass(frozen=True)
class Settings:
    witness_n: int
    cost_sizes: tuple[int, ...]
    rounds: int
    repetitions: int
    null_repetitions: int


FULL = Settings(
    witness_n=10_000, cost_sizes=(1000, 2000), rounds=3, repetitions=20, null_repetitions=400
)
QUICK = Settings(witness_n=1000, cost_sizes=(300,), rounds=1, repetitions=3, null_repetitions=20)


def _pair(n: int, d: int, seed: int, shift: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(shift, 1.0, size=(n, d))


def _cost_row(case: str, timing: Timing, baseline: str, base: Timing, target: str) -> list[str]:
    """A row of the cost table: the case's and the baseline's median seconds, their ratio."""
    seconds = [fmt(timing.median, ".3f"), fmt(base.median, ".3f")]
    return [case, seconds[0], baseline, seconds[1], ratio(timing.median, base.median), target]


def cost_table(settings: Settings) -> Table:
    rows = []
    x, y = _pair(settings.witness_n, 64, 0)
    progress(f"witness vs mmd2 at n = m = {settings.witness_n}")
    timings = measure(
        {"mmd2": lambda: mmd_any.mmd2(x, y), "witness": lambda: mmd_any.witness(x, y)},
        settings.rounds,
    )
    case = f"witness, n = m = {settings.witness_n}, d = 64"
    rows.append(_cost_row(case, timings["witness"], "one mmd2", timings["mmd2"], "≤ 1.5×"))
    for n in settings.cost_sizes:
        x, y = _pair(n, 64, 1)
        progress(f"explain (200) vs mmd_test (1000) at n = m = {n}")
        timings = measure(
            {
                "mmd_test": partial(mmd_any.mmd_test, x, y, n_permutations=1000, seed=0),
                "explain": partial(mmd_any.explain, x, y, n_permutations=200, seed=0),
            },
            settings.rounds,
        )
        case = f"explain, 200 permutations, n = m = {n}, d = 64"
        baseline = "mmd_test, 1000 permutations"
        rows.append(_cost_row(case, timings["explain"], baseline, timings["mmd_test"], "≤ 1×"))
    headers = ["case", "seconds", "baseline", "baseline seconds", "ratio", "target"]
    notes = [f"median of {settings.rounds} interleaved rounds after one warm-up call each"]
    return Table("Cost", headers, rows, notes)


def _planted(seed: int) -> float:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(500, 10))
    y = np.concatenate([rng.normal(size=(450, 10)), rng.normal(5.0, 0.5, size=(50, 10))])
    result = mmd_any.explain(x, y, top=20, n_permutations=19, seed=seed)
    return float(np.mean(np.asarray(result.y_rows) >= 450))


def _two_features(seed: int) -> bool:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(400, 10)), rng.normal(size=(400, 10))
    y[:, [2, 7]] += 0.5
    result = mmd_any.explain(x, y, n_permutations=200, seed=seed)
    return set(np.asarray(result.features)[:2].tolist()) == {2, 7}


def _family_wise_error(seed: int) -> bool:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(100, 10)), rng.normal(size=(100, 10))
    result = mmd_any.explain(x, y, top=1, n_permutations=200, alpha=ALPHA, seed=seed)
    return bool(result.changed_features)


def accuracy_table(settings: Settings) -> Table:
    reps, null_reps = settings.repetitions, settings.null_repetitions
    progress(f"planted cluster, {reps} repetitions")
    planted = [_planted(seed) for seed in range(reps)]
    progress(f"two shifted features, {reps} repetitions")
    ranked = [_two_features(seed) for seed in range(reps)]
    progress(f"family-wise error under H0, {null_reps} repetitions")
    errors = [_family_wise_error(10_000 + seed) for seed in range(null_reps)]
    rate = float(np.mean(errors))
    se = float(np.sqrt(max(rate * (1 - rate), ALPHA * (1 - ALPHA)) / null_reps))
    rows = [
        [
            "planted cluster: share of the top 20 y_rows from it",
            f"mean {np.mean(planted):.3f}, min {np.min(planted):.3f}",
            reps,
            "≥ 0.90",
        ],
        ["d = 10, two shifted features: both rank first", f"{np.mean(ranked):.3f}", reps, "1"],
        [
            f"H0, d = 10: family-wise error rate at α = {ALPHA}",
            f"{rate:.3f} ± {se:.3f}",
            null_reps,
            f"≤ {ALPHA}",
        ],
    ]
    return Table("Accuracy and level", ["case", "measured", "repetitions", "target"], rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    head = [f"mmd_any.witness and mmd_any.explain (NumPy float64); {timestamp()}"]
    if args.quick:
        head.append("--quick: small sizes, not the issue's targets")
    tables = [cost_table(settings), accuracy_table(settings)]
    print(render_report(head, tables, markdown=args.markdown))


if __name__ == "__main__":
    main()
