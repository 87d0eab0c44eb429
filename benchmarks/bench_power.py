"""Power and level of ``mmd_any.mmd_test``: the median, min-p, FUSE and combined tests.

Run it with::

    python benchmarks/bench_power.py                 # 100 / 300 repetitions: about an hour
    python benchmarks/bench_power.py --quick         # n = m ≤ 50, 100 permutations: seconds
    python benchmarks/bench_power.py --methods median,minp --cells uniform-d1-s0.3,timing

What it measures (α = 0.05, 500 permutations):

* Power: the rejection rate ± its standard error ``sqrt(p(1 − p)/R)`` of every
  method on the perturbed uniform of Schrab et al. (JMLR 2023, Sec. 5, Eq. 17;
  also Biggs et al., NeurIPS 2023) with 2 perturbations per dimension (d = 1 at
  scales 0.2, 0.3, 0.4 and d = 2 at 0.6, 0.8, against uniform[0, 1]^d,
  n = m = 500), a Gaussian mean shift (0.3 on one coordinate of N(0, I_10)) and a
  Gaussian variance change (N(0, I_10) against N(0, 1.1² I_10), n = m = 250),
  next to the reference implementations' powers in the same cells
  (:data:`REFERENCE_POWER`). "best − recommended" is the largest power of any
  method or reference minus the combined test's, in units of the combined
  test's SE; the last column is the paired difference of the combined test
  and the best other method with its paired SE.
* Level: on three null cells (uniform[0, 1]^2, n = m = 500; N(0, I_10),
  n = m = 250; N(0, I_10), n = 200, m = 300), the rejection rate of every method
  and estimator with its exact (Clopper–Pearson) 99 % interval, whether the
  number of rejections lies in the 99 % acceptance band of Binomial(R, 0.05),
  and the KS p-value of the p-values against uniform[0, 1] (p-values are
  multiples of 1/(1 + P), which KS tolerates at P = 500).
* Timing: seconds of one call of each method at n = m = 2000, d = 10, 2000
  permutations (one interleaved round), and the ratios to the min-p test.

Every repetition draws its data and its permutation seed from
``SeedSequence(sha256(cell name), spawn_key=(repetition,))``; every method of a
repetition sees the same data and the same permutation seed (paired
comparisons). Progress goes to stderr, one line per cell.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import numpy as np
from _harness import interleaved, progress, ratio, table, timestamp
from scipy import stats

import mmd_any

ALPHA = 0.05
#: Perturbations per dimension of the perturbed uniform (``P`` in Eq. 17).
PERTURBATIONS = 2

#: Powers in the benchmark's power cells quoted from issue 14's measurements of
#: the reference code of MMDAgg (Schrab et al., JMLR 2023) and MMD-FUSE (Biggs
#: et al., NeurIPS 2023), and of the median test in the same runs; a pair is a
#: range over the aggregated tests' variants.
REFERENCE_POWER: dict[str, dict[str, float | tuple[float, float]]] = {
    "uniform-d1-s0.3": {"MMDAgg (ref)": 0.57, "MMD-FUSE (ref)": 0.50},
    "uniform-d2-s0.6": {"MMDAgg (ref)": 0.38, "MMD-FUSE (ref)": 0.49},
    "uniform-d2-s0.8": {"MMDAgg (ref)": 0.70, "MMD-FUSE (ref)": 0.80},
    "variance": {"MMDAgg (ref)": 0.71, "MMD-FUSE (ref)": 0.81},
    "mean-shift": {
        "MMDAgg (ref)": (0.25, 0.34),
        "MMD-FUSE (ref)": (0.25, 0.34),
        "median (ref)": 0.53,
    },
}
REFERENCE_COLUMNS = ("MMDAgg (ref)", "MMD-FUSE (ref)", "median (ref)")

#: Method name -> the ``aggregate`` argument of ``mmd_test``.
METHODS: dict[str, bool | str] = {
    "median": False,
    "minp": "minp",
    "fuse": "fuse",
    "combined": "combined",
}
#: The estimators each method supports (the level table tests every one).
ESTIMATORS: dict[str, tuple[str, ...]] = {
    "median": ("biased", "unbiased"),
    "minp": ("biased", "unbiased"),
    "fuse": ("unbiased",),
    "combined": ("unbiased",),
}
RECOMMENDED = "combined"


@dataclass(frozen=True)
class Settings:
    """The sizes of one run (full or ``--quick``)."""

    power_reps: int
    level_reps: int
    permutations: int
    size_divisor: int
    timing_n: int
    timing_permutations: int


FULL = Settings(100, 300, 500, 1, 2000, 2000)
QUICK = Settings(6, 20, 100, 10, 100, 100)
TIMING_DIM = 10


# --------------------------------------------------------------------------- generators


def bump(t: np.ndarray) -> np.ndarray:
    """The perturbation ``G(t)`` of Schrab et al. (2023, Eq. 17).

    ``exp(−1/(1 − (4t + 3)²))`` on (−1, −1/2), ``−exp(−1/(1 − (4t + 1)²))`` on
    (−1/2, 0), 0 elsewhere: two opposite bumps of height ``e⁻¹``, integral 0.
    """
    t = np.asarray(t, dtype=np.float64)
    left = t < -0.5
    u = np.where(left, 4.0 * t + 3.0, 4.0 * t + 1.0)
    q = 1.0 - u * u
    inside = (t > -1.0) & (t < 0.0) & (q > 0.0)
    value = np.exp(-1.0 / np.where(inside, q, 1.0))
    return np.where(inside, np.where(left, value, -value), 0.0)


def random_signs(
    rng: np.random.Generator, d: int, perturbations: int = PERTURBATIONS
) -> np.ndarray:
    """I.i.d. uniform signs ``θ_ν``, ``ν ∈ {1..P}^d``, as an array of shape ``(P,) * d``."""
    return rng.choice(np.array([-1.0, 1.0]), size=(perturbations,) * d)


def perturbed_density(x: np.ndarray, signs: np.ndarray, scale: float) -> np.ndarray:
    """The density ``1 + scale·e^d·Σ_ν θ_ν Π_r G(P·x_r − ν_r)`` at the rows of ``x`` (k, d).

    Only the ``ν`` of the grid cell containing a point can be non-zero
    (``G`` vanishes outside (−1, 0)); 0 outside [0, 1]^d.
    """
    x = np.asarray(x, dtype=np.float64)
    perturbations, d = signs.shape[0], signs.ndim
    cell = np.clip(np.floor(perturbations * x).astype(np.intp), 0, perturbations - 1)
    product = np.prod(bump(perturbations * x - (cell + 1)), axis=1)
    theta = signs[tuple(cell.T)]
    inside = np.all((x >= 0.0) & (x <= 1.0), axis=1)
    return np.where(inside, 1.0 + scale * np.e**d * theta * product, 0.0)


def sample_perturbed(
    rng: np.random.Generator, size: int, signs: np.ndarray, scale: float
) -> np.ndarray:
    """``size`` points of :func:`perturbed_density` by rejection from uniform[0, 1]^d
    (envelope ``1 + scale``)."""
    d = signs.ndim
    batches, count = [], 0
    while count < size:
        batch = int(np.ceil((size - count) * (1.0 + scale))) + 16
        candidates = rng.random((batch, d))
        keep = rng.random(batch) * (1.0 + scale) < perturbed_density(candidates, signs, scale)
        batches.append(candidates[keep])
        count += int(keep.sum())
    return np.concatenate(batches)[:size]


def perturbed_uniform(
    rng: np.random.Generator, n: int, m: int, *, d: int, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """x from the perturbed uniform (fresh signs), y from uniform[0, 1]^d."""
    signs = random_signs(rng, d)
    return sample_perturbed(rng, n, signs, scale), rng.random((m, d))


def mean_shift(
    rng: np.random.Generator, n: int, m: int, *, d: int = 10, shift: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    """x ~ N(0, I_d), y ~ N(0, I_d) + shift·e_1."""
    x, y = rng.standard_normal((n, d)), rng.standard_normal((m, d))
    y[:, 0] += shift
    return x, y


def variance_change(
    rng: np.random.Generator, n: int, m: int, *, d: int = 10, std: float = 1.1
) -> tuple[np.ndarray, np.ndarray]:
    """x ~ N(0, I_d), y ~ N(0, std² I_d)."""
    return rng.standard_normal((n, d)), std * rng.standard_normal((m, d))


def null_uniform(
    rng: np.random.Generator, n: int, m: int, *, d: int
) -> tuple[np.ndarray, np.ndarray]:
    """x and y from uniform[0, 1]^d."""
    return rng.random((n, d)), rng.random((m, d))


def null_normal(
    rng: np.random.Generator, n: int, m: int, *, d: int
) -> tuple[np.ndarray, np.ndarray]:
    """x and y from N(0, I_d)."""
    return rng.standard_normal((n, d)), rng.standard_normal((m, d))


Draw = Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Cell:
    """A benchmark cell: a name, the generator and the full-run sample sizes."""

    name: str
    draw: Draw
    n: int
    m: int

    def sizes(self, settings: Settings) -> tuple[int, int]:
        return self.n // settings.size_divisor, self.m // settings.size_divisor


POWER_CELLS = (
    Cell("uniform-d1-s0.2", partial(perturbed_uniform, d=1, scale=0.2), 500, 500),
    Cell("uniform-d1-s0.3", partial(perturbed_uniform, d=1, scale=0.3), 500, 500),
    Cell("uniform-d1-s0.4", partial(perturbed_uniform, d=1, scale=0.4), 500, 500),
    Cell("uniform-d2-s0.6", partial(perturbed_uniform, d=2, scale=0.6), 500, 500),
    Cell("uniform-d2-s0.8", partial(perturbed_uniform, d=2, scale=0.8), 500, 500),
    Cell("mean-shift", mean_shift, 250, 250),
    Cell("variance", variance_change, 250, 250),
)
LEVEL_CELLS = (
    Cell("null-uniform-d2", partial(null_uniform, d=2), 500, 500),
    Cell("null-normal-d10", partial(null_normal, d=10), 250, 250),
    Cell("null-normal-d10-unequal", partial(null_normal, d=10), 200, 300),
)
TIMING = "timing"


# --------------------------------------------------------------------------- running


def repetition_seeds(cell: str, rep: int) -> tuple[np.random.SeedSequence, int]:
    """The data seed and the permutation seed of one repetition of a cell."""
    key = int.from_bytes(hashlib.sha256(cell.encode()).digest()[:8], "little")
    data, permutations = np.random.SeedSequence(key, spawn_key=(rep,)).spawn(2)
    return data, int(permutations.generate_state(1, np.uint64)[0])


def run_test(
    x: np.ndarray,
    y: np.ndarray,
    method: str,
    estimator: str | None,
    permutations: int,
    seed: int,
) -> float:
    """The p-value of one ``mmd_test`` call (``estimator=None``: the method's default)."""
    options = {} if estimator is None else {"estimator": estimator}
    result = mmd_any.mmd_test(
        x, y, aggregate=METHODS[method], n_permutations=permutations, seed=seed, **options
    )
    return float(result.pvalue)


def run_cell(
    cell: Cell,
    variants: Sequence[tuple[str, str | None]],
    reps: int,
    settings: Settings,
) -> dict[tuple[str, str | None], np.ndarray]:
    """P-values (reps,) of every (method, estimator) variant on the same data per repetition."""
    n, m = cell.sizes(settings)
    pvalues = {variant: np.empty(reps) for variant in variants}
    for rep in range(reps):
        data_seed, permutation_seed = repetition_seeds(cell.name, rep)
        x, y = cell.draw(np.random.default_rng(data_seed), n, m)
        for method, estimator in variants:
            pvalues[method, estimator][rep] = run_test(
                x, y, method, estimator, settings.permutations, permutation_seed
            )
    return pvalues


def timing(methods: Sequence[str], settings: Settings) -> dict[str, float]:
    """Seconds of one call of each method (interleaved) on a shifted N(0, I_10) pair."""
    n, permutations = settings.timing_n, settings.timing_permutations
    x, y = mean_shift(np.random.default_rng(0), n, n, d=TIMING_DIM)
    calls = {method: partial(run_test, x, y, method, None, permutations, 0) for method in methods}
    return interleaved(calls, rounds=1, warmup=0)


# --------------------------------------------------------------------------- summaries


def power_and_se(rejects: np.ndarray) -> tuple[float, float]:
    """The rejection rate and its standard error ``sqrt(p(1 − p)/R)``."""
    power = float(np.mean(rejects))
    return power, float(np.sqrt(power * (1.0 - power) / rejects.size))


def paired_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean of ``a − b`` (reject indicators) and its paired standard error."""
    diff = a.astype(np.float64) - b.astype(np.float64)
    spread = float(np.std(diff, ddof=1)) if diff.size > 1 else 0.0
    return float(np.mean(diff)), spread / np.sqrt(diff.size)


def reference_text(value: float | tuple[float, float] | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return f"{value[0]:.2f}–{value[1]:.2f}"
    return f"{value:.2f}"


def reference_upper(value: float | tuple[float, float]) -> float:
    """A quoted power, or the upper end of a quoted range."""
    return value[1] if isinstance(value, tuple) else value


def best_minus_recommended(powers: dict[str, float], references: dict[str, Any], reps: int) -> str:
    """``max(power) − power(combined)`` over the methods and references, in combined SEs."""
    if RECOMMENDED not in powers:
        return "-"
    candidates = dict(powers)
    candidates.update({name: reference_upper(value) for name, value in references.items()})
    best = max(candidates, key=lambda name: candidates[name])
    recommended = powers[RECOMMENDED]
    gap = candidates[best] - recommended
    se = np.sqrt(recommended * (1.0 - recommended) / reps)
    if gap <= 0:
        return f"+0.0 ({RECOMMENDED})"
    return f"{gap / se:+.1f} ({best})" if se > 0 else f"+inf ({best})"


def power_row(cell: Cell, settings: Settings, rejects: dict[str, np.ndarray]) -> list[str]:
    """One row of the power table."""
    n, m = cell.sizes(settings)
    references = REFERENCE_POWER.get(cell.name, {})
    powers: dict[str, float] = {}
    row = [cell.name, f"{n}, {m}"]
    for method, reject in rejects.items():
        power, se = power_and_se(reject)
        powers[method] = power
        row.append(f"{power:.2f} ± {se:.2f}")
    row += [reference_text(references.get(column)) for column in REFERENCE_COLUMNS]
    row.append(best_minus_recommended(powers, references, settings.power_reps))
    others = [method for method in rejects if method != RECOMMENDED]
    if RECOMMENDED in rejects and others:
        best = max(others, key=lambda method: powers[method])
        diff, se = paired_difference(rejects[RECOMMENDED], rejects[best])
        row.append(f"{diff:+.2f} ± {se:.2f} ({best})")
    else:
        row.append("-")
    return row


def level_summary(pvalues: np.ndarray) -> dict[str, Any]:
    """Rejections at ALPHA, their 99 % Clopper–Pearson interval and band, and the KS p."""
    reps = pvalues.size
    count = int(np.sum(pvalues <= ALPHA))
    interval = stats.binomtest(count, reps, ALPHA).proportion_ci(0.99, method="exact")
    band = stats.binom.ppf([0.005, 0.995], reps, ALPHA).astype(int)
    return {
        "rejections": count,
        "reps": reps,
        "rate": count / reps,
        "interval": (float(interval.low), float(interval.high)),
        "band": (int(band[0]), int(band[1])),
        "inside": bool(band[0] <= count <= band[1]),
        "ks_pvalue": float(stats.kstest(pvalues, "uniform").pvalue),
    }


def level_row(cell: Cell, settings: Settings, method: str, estimator: str, s: dict) -> list[str]:
    """One row of the level table."""
    n, m = cell.sizes(settings)
    low, high = s["interval"]
    return [
        cell.name,
        f"{n}, {m}",
        method,
        estimator,
        f"{s['rejections']}/{s['reps']}",
        f"{s['rate']:.3f}",
        f"[{low:.3f}, {high:.3f}]",
        f"[{s['band'][0]}, {s['band'][1]}]",
        "yes" if s["inside"] else "NO",
        f"{s['ks_pvalue']:.3f}",
    ]


def timing_row(seconds: dict[str, float], settings: Settings) -> list[str]:
    """The timing row: seconds of each method and the ratios to min-p."""
    minp = seconds.get("minp")
    row = [str(settings.timing_n), str(TIMING_DIM), str(settings.timing_permutations)]
    row += [f"{value:.3f}" for value in seconds.values()]
    row += [ratio(seconds.get(name), minp) for name in ("fuse", "combined")]
    return row


# --------------------------------------------------------------------------- main


def parse_list(text: str | None, valid: Sequence[str], what: str) -> list[str]:
    """Comma-separated names, each one of ``valid`` (all of them when ``text`` is None)."""
    if text is None:
        return list(valid)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in valid]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown {what} {unknown}; choose from {list(valid)}")
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="n = m ≤ 50, few repetitions")
    parser.add_argument("--reps", type=int, help="repetitions per power cell (default 100)")
    parser.add_argument("--level-reps", type=int, help="repetitions per null cell (default 300)")
    parser.add_argument("--methods", help=f"comma-separated, from {','.join(METHODS)}")
    cells = [cell.name for cell in POWER_CELLS + LEVEL_CELLS] + [TIMING]
    parser.add_argument("--cells", help=f"comma-separated, from {','.join(cells)}")
    parser.add_argument("--json", metavar="FILE", help="write the p-values and summaries")
    args = parser.parse_args(argv)
    try:
        args.methods = parse_list(args.methods, list(METHODS), "methods")
        args.cells = parse_list(args.cells, cells, "cells")
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    for name in ("reps", "level_reps"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def settings_for(args: argparse.Namespace) -> Settings:
    base = QUICK if args.quick else FULL
    return Settings(
        args.reps or base.power_reps,
        args.level_reps or base.level_reps,
        base.permutations,
        base.size_divisor,
        base.timing_n,
        base.timing_permutations,
    )


def done(cell: str, reps: int, start: float) -> None:
    progress(f"done: {cell} ({reps} reps, {time.perf_counter() - start:.1f} s)")


def power_section(args: argparse.Namespace, settings: Settings, out: dict) -> list[str]:
    rows = []
    for cell in (c for c in POWER_CELLS if c.name in args.cells):
        start = time.perf_counter()
        variants = [(method, None) for method in args.methods]
        pvalues = run_cell(cell, variants, settings.power_reps, settings)
        rejects = {method: pvalues[method, None] <= ALPHA for method in args.methods}
        rows.append(power_row(cell, settings, rejects))
        out["power"][cell.name] = {m: pvalues[m, None].tolist() for m in args.methods}
        done(cell.name, settings.power_reps, start)
    if not rows:
        return []
    headers = ["cell", "n, m", *args.methods, *REFERENCE_COLUMNS]
    headers += ["best − recommended (SE)", f"{RECOMMENDED} − best other (paired)"]
    title = (
        f"Power at α = {ALPHA} (rejection rate ± SE over {settings.power_reps} repetitions, "
        "default estimators; references: issue 14's runs of the reference code)"
    )
    return [title, "", table(headers, rows), ""]


def level_section(args: argparse.Namespace, settings: Settings, out: dict) -> list[str]:
    rows = []
    for cell in (c for c in LEVEL_CELLS if c.name in args.cells):
        start = time.perf_counter()
        variants = [(m, e) for m in args.methods for e in ESTIMATORS[m]]
        pvalues = run_cell(cell, variants, settings.level_reps, settings)
        out["level"][cell.name] = {}
        for method, estimator in variants:
            summary = level_summary(pvalues[method, estimator])
            rows.append(level_row(cell, settings, method, estimator, summary))
            out["level"][cell.name][f"{method} {estimator}"] = {
                **summary,
                "pvalues": pvalues[method, estimator].tolist(),
            }
        done(cell.name, settings.level_reps, start)
    if not rows:
        return []
    headers = ["cell", "n, m", "method", "estimator", "rejections", "rate", "99 % CI"]
    headers += ["99 % band", "inside", "KS p"]
    title = (
        f"Level at α = {ALPHA} under H0 ({settings.level_reps} repetitions; exact 99 % "
        f"interval, 99 % acceptance band of Binomial({settings.level_reps}, {ALPHA}), "
        "KS test of the p-values against uniform)"
    )
    return [title, "", table(headers, rows), ""]


def timing_section(args: argparse.Namespace, settings: Settings, out: dict) -> list[str]:
    if TIMING not in args.cells:
        return []
    start = time.perf_counter()
    seconds = timing(args.methods, settings)
    out["timing"] = seconds
    done(TIMING, 1, start)
    headers = ["n = m", "d", "permutations", *(f"{m} (s)" for m in args.methods)]
    headers += ["fuse / minp", "combined / minp"]
    title = "Timing (seconds of one call, one interleaved round, N(0, I) against a shift)"
    return [title, "", table(headers, [timing_row(seconds, settings)]), ""]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = settings_for(args)
    out: dict[str, Any] = {"settings": asdict(settings), "power": {}, "level": {}}
    lines = [
        f"mmd_any.mmd_test power and level: α = {ALPHA}, {settings.permutations} permutations, "
        f"methods {','.join(args.methods)}; {timestamp()}"
    ]
    if args.quick:
        lines.append("--quick: samples 1/10 of the cells' sizes, not comparable to the references")
    lines.append("")
    lines += power_section(args, settings, out)
    lines += level_section(args, settings, out)
    lines += timing_section(args, settings, out)
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(out, file, indent=1)


if __name__ == "__main__":
    main()
