"""Benchmark of the permutation test ``mmd_any.mmd_test`` against one ``mmd2`` call and two peers.

Run it with::

    python benchmarks/bench_test.py            # add --markdown FILE, --reps N

The peers are optional: run it in an environment that also has ``alibi-detect``
and ``hyppo`` (e.g. ``.venv-peers``) to fill their rows; elsewhere those rows
say "skipped: ... not installed". Torch rows are skipped the same way without
torch.

What is measured
----------------
Data as in ``bench_core.py``: ``rng = np.random.default_rng(0)``,
``x ~ N(0, 1)``, ``y ~ N(0.1, 1)``, float32, ``d = 64``; 1000 permutations.

``n = m = 2048``
    ``mmd2_<lib>``: ``mmd_any.mmd2(x, y)`` (Gaussian, median bandwidth), the
    unit; ``test_<lib>``: ``mmd_any.mmd_test(x, y, n_permutations=1000,
    seed=0)``, also with ``estimator="unbiased"`` (``test_unbiased_<lib>``) and
    ``aggregate=True`` (``test_aggregate_<lib>``, nine bandwidths);
    ``alibi_detect``: ``MMDDrift(x, backend="pytorch", p_val=.05,
    n_permutations=1000)`` (the constructor, timed as "setup": it computes the
    reference Gram matrix) then ``.predict(y)`` (timed), with
    ``torch.manual_seed(0)``.
``n = m = 512``
    ``mmd2_<lib>`` and ``test_<lib>`` as above; ``hyppo``:
    ``MMD().test(x, y, reps=1000, auto=False, random_state=0)``.

Every row runs in its own fresh subprocess (this script with a hidden
``--case NAME``). Each case first runs once on tiny data (n = 16: imports,
hyppo's numba compilation, alibi-detect's backend), then its setup is timed on
the real data, then mmd_any rows get one untimed warm-up on the real data and
``--reps`` timed repetitions (median reported); peers get no full-size
warm-up. A case whose first timed repetition exceeds 20 s is run once. Peak
extra RSS is measured as in ``bench_core.py`` (above the RSS once the inputs
exist, setup included); "other load" is the mean number of CPUs kept busy by
other processes during the timed repetitions (``/proc/stat``), and rows where
it reaches 0.5 are listed under the tables.

Columns: median seconds of the timed call; setup seconds; the row's time as a
multiple of ``mmd2`` of the same library and size (target for the tests at
n = 2048: ≤ 3); the row's time divided by the ``mmd_any`` biased test on NumPy
and on torch of the same size (targets: alibi-detect ≥ 50× the torch test,
hyppo ≥ 500× both); the statistic (MMD², the peers' own estimates; for the
aggregated test the smallest per-kernel p-value); the p-value; repetitions;
peak extra MiB; other load. A "targets" table follows.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import (
    DIM,
    Backend,
    busy_cpu_seconds,
    cpu_model,
    current_rss_mib,
    format_table,
    library_info,
    make_data,
    maxrss_mib,
    numpy_backend,
    own_cpu_seconds,
    peak_extra_mib,
    reset_peak_rss,
    torch_backend,
)

Array = Any
Outcome = tuple[float | None, float | None]  # (statistic, p-value)
Runner = Callable[[], Outcome]

N_LARGE = 2048
N_SMALL = 512
N_TINY = 16
PERMUTATIONS = 1000
SEED = 0
LONG_SECONDS = 20.0
BUSY = 0.5  # other load (CPUs) from which a row is flagged
TARGET_TEST_OVER_MMD2 = 3.0
TARGET_ALIBI = 50.0
TARGET_HYPPO = 500.0


# -------------------------------------------------------------------- the cases


def build_mmd2(x: Array, y: Array) -> Runner:
    """``mmd_any.mmd2(x, y)`` with the default kernel."""
    import mmd_any

    return lambda: (float(mmd_any.mmd2(x, y)), None)


def build_test(**options: Any) -> Callable[[Array, Array], Runner]:
    """``mmd_any.mmd_test`` with 1000 permutations, seed 0 and ``options``."""

    def build(x: Array, y: Array) -> Runner:
        import mmd_any

        def run() -> Outcome:
            result = mmd_any.mmd_test(x, y, n_permutations=PERMUTATIONS, seed=SEED, **options)
            return float(result.statistic), result.pvalue

        return run

    return build


def build_alibi(x: np.ndarray, y: np.ndarray) -> Runner:
    """alibi-detect's ``MMDDrift`` on torch; the constructor runs here (timed as setup)."""
    import torch
    from alibi_detect.cd import MMDDrift

    torch.manual_seed(SEED)
    detector = MMDDrift(x, backend="pytorch", p_val=0.05, n_permutations=PERMUTATIONS)

    def run() -> Outcome:
        data = detector.predict(y)["data"]
        return float(data["distance"]), float(data["p_val"])

    return run


def build_hyppo(x: np.ndarray, y: np.ndarray) -> Runner:
    """hyppo's permutation MMD test (``auto=False``: no chi² approximation)."""
    from hyppo.ksample import MMD

    def run() -> Outcome:
        stat, pvalue = MMD().test(x, y, reps=PERMUTATIONS, auto=False, random_state=SEED)
        return float(stat), float(pvalue)

    return run


@dataclass(frozen=True)
class Case:
    """One row: library (inputs), sample size, builder, required module, peer or not."""

    library: str
    n: int
    build: Callable[[Array, Array], Runner]
    requires: str
    peer: bool = False


def _mmd_any_cases(n: int, tests: dict[str, dict[str, Any]]) -> dict[str, Case]:
    cases = {}
    for lib in ("numpy", "torch"):
        cases[f"mmd2_{lib}_{n}"] = Case(lib, n, build_mmd2, lib)
        for label, options in tests.items():
            cases[f"{label}_{lib}_{n}"] = Case(lib, n, build_test(**options), lib)
    return cases


CASES: dict[str, Case] = {
    **_mmd_any_cases(
        N_LARGE,
        {
            "test": {},
            "test_unbiased": {"estimator": "unbiased"},
            "test_aggregate": {"aggregate": True},
        },
    ),
    f"alibi_detect_{N_LARGE}": Case("numpy", N_LARGE, build_alibi, "alibi_detect", peer=True),
    **_mmd_any_cases(N_SMALL, {"test": {}}),
    f"hyppo_{N_SMALL}": Case("numpy", N_SMALL, build_hyppo, "hyppo", peer=True),
}


# ------------------------------------------------------------------ child process


def backend_of(case: Case) -> Backend:
    """The inputs' library (peers take NumPy arrays)."""
    return torch_backend() if case.library == "torch" else numpy_backend()


def time_reps(run: Runner, sync: Callable[[], None], reps: int) -> tuple[Outcome, list[float]]:
    """Up to ``reps`` timed calls; a single one when the first exceeds ``LONG_SECONDS``."""
    outcome: Outcome = (None, None)
    times: list[float] = []
    while len(times) < reps and not (times and times[0] > LONG_SECONDS):
        start = time.perf_counter()
        outcome = run()
        sync()
        times.append(time.perf_counter() - start)
    return outcome, times


def version_of(case: Case) -> str:
    """Version of what the case runs on (and torch's thread count)."""
    if not case.peer:
        return library_info(case.library)
    module = importlib.import_module(case.requires)
    return f"{case.requires} {getattr(module, '__version__', '?')}"


def run_case(name: str, reps: int) -> dict[str, Any]:
    """Build, warm up, time and measure one case in this (fresh) process."""
    case = CASES[name]
    try:
        importlib.import_module(case.requires)
    except ImportError as error:
        return {"name": name, "skipped": f"{case.requires} not importable ({error})"}
    backend = backend_of(case)
    tiny_x, tiny_y = make_data(N_TINY, DIM)
    case.build(backend.asarray(tiny_x), backend.asarray(tiny_y))()
    x, y = make_data(case.n, DIM)
    x, y = backend.asarray(x), backend.asarray(y)
    baseline = current_rss_mib()
    reset_peak_rss()
    inherited = maxrss_mib() > baseline + 1.0
    start = time.perf_counter()
    run = case.build(x, y)
    setup = time.perf_counter() - start
    if not case.peer:
        run()
        backend.sync()
    busy0, own0, wall0 = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
    (statistic, pvalue), times = time_reps(run, backend.sync, reps)
    busy1, own1, wall1 = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
    others = None
    if busy0 is not None and busy1 is not None:
        others = max(0.0, (busy1 - busy0) - (own1 - own0)) / (wall1 - wall0)
    return {
        "name": name,
        "seconds": statistics.median(times),
        "times": times,
        "setup": setup,
        "statistic": statistic,
        "pvalue": pvalue,
        "peak_extra_mib": peak_extra_mib(baseline, inherited),
        "other_load": others,
        "version": version_of(case),
    }


# ----------------------------------------------------------------- parent process


def spawn_case(name: str, reps: int) -> dict[str, Any]:
    """Run one case in a fresh interpreter and parse its JSON line."""
    print(f"  running {name} ...", file=sys.stderr, flush=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--case", name, "--reps", str(reps)]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


HEADERS = [
    "case",
    "median s",
    "setup s",
    "× mmd2",
    "÷ test numpy",
    "÷ test torch",
    "statistic",
    "p-value",
    "reps",
    "peak extra MiB",
    "other load",
]


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _seconds(results: dict[str, dict[str, Any]], name: str) -> float | None:
    return results.get(name, {}).get("seconds")


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return None if numerator is None or denominator is None else numerator / denominator


def table_rows(results: dict[str, dict[str, Any]], n: int) -> list[list[str]]:
    """Rows of the cases of size ``n``; skipped cases keep a row with the reason."""
    rows = []
    for name, res in results.items():
        case = CASES[name]
        if case.n != n:
            continue
        if "skipped" in res:
            rows.append([name, "skipped", *["-"] * (len(HEADERS) - 2)])
            continue
        seconds = res["seconds"]
        unit = None if case.peer else _seconds(results, f"mmd2_{case.library}_{n}")
        reps = f"{len(res['times'])}" + (" (> 20 s)" if len(res["times"]) == 1 else "")
        rows.append(
            [
                name,
                _fmt(seconds, ".4f"),
                _fmt(res["setup"], ".4f"),
                _fmt(_ratio(seconds, unit), ".2f"),
                _fmt(_ratio(seconds, _seconds(results, f"test_numpy_{n}")), ".1f"),
                _fmt(_ratio(seconds, _seconds(results, f"test_torch_{n}")), ".1f"),
                _fmt(res["statistic"], ".6g"),
                _fmt(res["pvalue"], ".4g"),
                reps,
                _fmt(res["peak_extra_mib"], ".1f"),
                _fmt(res["other_load"], ".2f"),
            ]
        )
    return rows


def _target(label: str, value: float | None, target: float, at_most: bool) -> list[str]:
    sign = "≤" if at_most else "≥"
    if value is None:
        return [label, "-", f"{sign} {target:g}", "not measured"]
    met = value <= target if at_most else value >= target
    return [label, f"{value:.2f}", f"{sign} {target:g}", "met" if met else "MISSED"]


def target_rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    """The targets, each measured value against its bound."""
    big, small = N_LARGE, N_SMALL
    alibi, hyppo = _seconds(results, f"alibi_detect_{big}"), _seconds(results, f"hyppo_{small}")
    alibi_setup = results.get(f"alibi_detect_{big}", {}).get("setup")
    alibi_total = None if alibi is None or alibi_setup is None else alibi + alibi_setup
    torch_test = _seconds(results, f"test_torch_{big}")
    rows = []
    for lib in ("numpy", "torch"):
        ratio = _ratio(
            _seconds(results, f"test_{lib}_{big}"), _seconds(results, f"mmd2_{lib}_{big}")
        )
        rows.append(_target(f"test / mmd2, {lib}, n = {big}", ratio, TARGET_TEST_OVER_MMD2, True))
    rows.append(
        _target("alibi predict / test torch", _ratio(alibi, torch_test), TARGET_ALIBI, False)
    )
    rows.append(
        _target(
            "alibi setup+predict / test torch", _ratio(alibi_total, torch_test), TARGET_ALIBI, False
        )
    )
    for lib in ("numpy", "torch"):
        speed_up = _ratio(hyppo, _seconds(results, f"test_{lib}_{small}"))
        rows.append(_target(f"hyppo / test {lib}, n = {small}", speed_up, TARGET_HYPPO, False))
    return rows


def header_line(results: dict[str, dict[str, Any]], wall: float) -> str:
    """Date, CPU, versions of what ran, total wall time."""
    versions = dict.fromkeys(res["version"] for res in results.values() if "version" in res)
    parts = [
        datetime.datetime.now().isoformat(timespec="seconds"),
        f"CPU {cpu_model()} ({os.cpu_count()} logical)",
        f"Python {platform.python_version()}",
        f"mmd_any {importlib.metadata.version('mmd-any')}",
        *versions,
        f"wall {wall:.0f} s",
    ]
    return " | ".join(parts)


def report(results: dict[str, dict[str, Any]], head: str, reps: int, markdown: bool) -> str:
    """Header line, one table per sample size, the targets, and the rows run under load."""
    common = (
        f"d = {DIM}, float32, {PERMUTATIONS} permutations; mmd_any: median of {reps} after "
        "a warm-up; peers: no full-size warm-up, one run if the first exceeds 20 s"
    )
    sections = [
        (f"n = m = {N_LARGE}, {common}", HEADERS, table_rows(results, N_LARGE)),
        (f"n = m = {N_SMALL}, {common}", HEADERS, table_rows(results, N_SMALL)),
        ("Targets", ["target", "value", "bound", "status"], target_rows(results)),
    ]
    parts = [f"**{head}**" if markdown else head]
    for title, headers, rows in sections:
        parts += ["", f"### {title}" if markdown else title, format_table(headers, rows, markdown)]
    skipped = [f"{n}: skipped, {r['skipped']}" for n, r in results.items() if "skipped" in r]
    parts += ["", *skipped] if skipped else []
    busy = [name for name, res in results.items() if (res.get("other_load") or 0.0) >= BUSY]
    if busy:
        parts += [
            "",
            f"Other load ≥ {BUSY} (timings inflated by other processes): {', '.join(busy)}",
        ]
    return "\n".join(parts) + "\n"


def main_parent(args: argparse.Namespace) -> None:
    """Run every case in its own subprocess, then print (and save) the tables."""
    start = time.perf_counter()
    results = {}
    for name, case in CASES.items():
        if importlib.util.find_spec(case.requires) is None:
            results[name] = {"name": name, "skipped": f"{case.requires} not installed"}
        else:
            results[name] = spawn_case(name, args.reps)
    head = header_line(results, time.perf_counter() - start)
    print(report(results, head, args.reps, markdown=False), end="")
    if args.markdown is not None:
        Path(args.markdown).write_text(report(results, head, args.reps, markdown=True))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line; ``--case`` is internal."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown")
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions (default 3)")
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point: a parent that spawns cases, or one case (``--case``)."""
    args = parse_args(argv)
    if args.case is None:
        main_parent(args)
        return
    print(json.dumps(run_case(args.case, args.reps)))


if __name__ == "__main__":
    main()
