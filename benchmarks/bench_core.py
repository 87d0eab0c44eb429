"""Benchmark of the exact biased MMD² against the machine bound and two baselines.

Run it with::

    python benchmarks/bench_core.py            # add --large, --skip-seed, --markdown FILE
    python benchmarks/bench_core.py --quick    # n = m = 256, one rep: seconds (the suite runs it)

What is measured
----------------
Two samples of ``n = m = 2048`` points in ``d = 64`` dimensions, float32, drawn
from ``rng = np.random.default_rng(0)``: ``x ~ N(0, 1)`` and ``y ~ N(0.1, 1)``.
Every row of the table runs in its own fresh subprocess (this script with a
hidden ``--case NAME``) and reports the median wall time over ``--reps``
repetitions after one warm-up, and the peak extra resident memory:
``ru_maxrss`` at the end minus the RSS once the inputs exist. The parent stays
small (no torch, no big arrays), because a child's ``ru_maxrss`` starts from
the parent's peak at ``exec``; the child also resets its peak-RSS counter
(``/proc/self/clear_refs``) at the baseline and falls back to the resettable
``VmHWM`` should ``ru_maxrss`` already be above it.

``bound_<lib>``
    The machine bound of the full-matrix approach in that library: one
    ``4096 × 64 × 4096`` matmul and five ``4096 × 4096`` exps, all into
    preallocated buffers (``out=``).
``mmd_any_<lib>``
    ``mmd_any.mmd2(x, y, kernel=Gaussian(MeanSquaredDistance.seed()),
    check_finite=False)``: the seeds' five Gaussians, tiled, exact.
``plain_<lib>``
    The straightforward full-matrix version: squared distances from norms and
    one matmul, the same five bandwidths, three block means.
``seed_torch``
    The widely copied ``guassian_kernel``/``get_MMD`` code of the seeds, as a
    baseline (``(N, N, d)`` broadcast temporaries, about 8 GiB here).

Columns: median seconds; ratio to the same library's bound and to the faster
of the two bounds; the speed-up of ``mmd_any`` over the row (row time over the
``mmd_any`` time of the same library); peak extra MiB; the MMD² value and its
relative difference to the float64 NumPy plain version (computed once, in a
subprocess of its own); "other load", the mean number of CPUs that other
processes kept busy during the timed repetitions (from ``/proc/stat``), to
flag timings taken on a shared machine.

``--large`` adds ``mmd_any`` alone at ``n = m = 100,000``: the default kernel
(``"gaussian"``, median bandwidth) and the seeds' kernel, on NumPy and torch,
one repetition each, also one fresh subprocess per case.

Timing calls a ``sync()`` hook of each library after every repetition; it is a
no-op on the CPU and is where a CUDA device would synchronise.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from readings import (  # beside this script
    busy_cpu_seconds,
    cpu_model,
    current_rss_mib,
    reset_peak_rss,
)

Array = Any
Runner = Callable[[], Any]

N_SAMPLES = 2048
N_LARGE = 100_000
QUICK_N = 256
DIM = 64
SHIFT = 0.1
KERNEL_MUL = 2.0
KERNEL_NUM = 5
TORCH_DEVICE = "cpu"


# --------------------------------------------------------------------------- data


def make_data(n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``x ~ N(0, 1)``, ``y ~ N(0.1, 1)``, float32, drawn without float64 temporaries."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d), dtype=np.float32)
    y = rng.standard_normal((n, d), dtype=np.float32)
    y += np.float32(SHIFT)
    return x, y


# ----------------------------------------------------------------------- backends


@dataclass(frozen=True)
class Backend:
    """How a library receives the NumPy inputs and waits for its work."""

    name: str
    asarray: Callable[[np.ndarray], Array]
    sync: Callable[[], None]


def _no_sync() -> None:
    return None


def numpy_backend() -> Backend:
    """NumPy: inputs as given, nothing to wait for."""
    return Backend("numpy", lambda a: a, _no_sync)


def torch_backend() -> Backend:
    """Torch on :data:`TORCH_DEVICE`; ``sync`` waits for CUDA work if any."""
    import torch

    device = torch.device(TORCH_DEVICE)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return Backend("torch", lambda a: torch.from_numpy(a).to(device), sync)


BACKENDS: dict[str, Callable[[], Backend]] = {"numpy": numpy_backend, "torch": torch_backend}


# -------------------------------------------------------------------- the cases


def build_bound_numpy(x: np.ndarray, y: np.ndarray) -> Runner:
    """One matmul and five exps of the pooled size into preallocated buffers."""
    z = np.concatenate([x, y])
    size = z.shape[0]
    out = np.empty((size, size), dtype=z.dtype)
    np.matmul(z, z.T, out=out)
    sq = np.sum(z * z, axis=1)
    out *= -2.0
    out += sq[:, None]
    out += sq[None, :]
    np.maximum(out, 0.0, out=out)
    scaled = np.empty_like(out)
    np.divide(out, -out.mean(), out=scaled)  # realistic exponents: -D / mean(D)

    def run() -> None:
        np.matmul(z, z.T, out=out)
        for _ in range(KERNEL_NUM):
            np.exp(scaled, out=out)

    return run


def build_bound_torch(x: Array, y: Array) -> Runner:
    """Torch version of :func:`build_bound_numpy`."""
    import torch

    z = torch.cat([x, y])
    size = z.shape[0]
    out = torch.empty((size, size), dtype=z.dtype, device=z.device)
    torch.matmul(z, z.T, out=out)
    sq = torch.sum(z * z, dim=1)
    out.mul_(-2.0).add_(sq[:, None]).add_(sq[None, :]).clamp_(min=0.0)
    scaled = torch.empty_like(out)
    torch.div(out, -out.mean(), out=scaled)

    def run() -> None:
        torch.matmul(z, z.T, out=out)
        for _ in range(KERNEL_NUM):
            torch.exp(scaled, out=out)

    return run


def seed_kernel() -> Any:
    """The seeds' kernel in mmd_any: five Gaussians, ratio 2 in σ², mean bandwidth."""
    from mmd_any.bandwidths import MeanSquaredDistance
    from mmd_any.kernels import Gaussian

    return Gaussian(MeanSquaredDistance.seed(KERNEL_MUL, KERNEL_NUM))


def build_mmd_any(kernel: Any) -> Callable[[Array, Array], Runner]:
    """``mmd_any.mmd2`` (biased, exact) with ``kernel`` on any backend."""

    def build(x: Array, y: Array) -> Runner:
        import mmd_any

        return lambda: mmd_any.mmd2(x, y, kernel=kernel, check_finite=False)

    return build


def plain_mmd2(x: Array, y: Array) -> Array:
    """Full-matrix biased MMD² with the seeds' five Gaussians, no tricks."""
    from array_api_compat import array_namespace

    xp = array_namespace(x, y)
    n = x.shape[0]
    z = xp.concat([x, y], axis=0)
    size = z.shape[0]
    sq = xp.sum(z * z, axis=1)
    dist = xp.maximum(sq[:, None] + sq[None, :] - 2.0 * (z @ z.T), 0.0)
    bandwidth = xp.sum(dist) / (size * size - size)
    k = sum(
        xp.exp(-dist / (bandwidth * KERNEL_MUL ** (i - KERNEL_NUM // 2))) for i in range(KERNEL_NUM)
    )
    return xp.mean(k[:n, :n]) + xp.mean(k[n:, n:]) - 2.0 * xp.mean(k[:n, n:])


def build_plain(x: Array, y: Array) -> Runner:
    """:func:`plain_mmd2` on any backend."""
    return lambda: plain_mmd2(x, y)


def build_seed(x: Array, y: Array) -> Runner:
    """The seeds' ``get_MMD`` with its defaults (ratio 2, five kernels)."""
    from seed_baseline import get_mmd  # beside this script; imports torch

    return lambda: get_mmd(x, y, KERNEL_MUL, KERNEL_NUM)


def build_reference(x: np.ndarray, y: np.ndarray) -> Runner:
    """:func:`plain_mmd2` in float64 NumPy on the float32 data: the reference value."""
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    return lambda: plain_mmd2(x64, y64)


@dataclass(frozen=True)
class Case:
    """One row: its library, how to build the timed callable, and its group.

    Groups: ``"core"`` (n = 2048), ``"seed"`` (n = 2048, fewer repetitions),
    ``"large"`` (n = 100,000, one run) and ``"reference"`` (float64, one run).
    """

    library: str
    build: Callable[[Array, Array], Runner]
    group: str = "core"


CASES: dict[str, Case] = {
    "bound_numpy": Case("numpy", build_bound_numpy),
    "bound_torch": Case("torch", build_bound_torch),
    "mmd_any_numpy": Case("numpy", build_mmd_any(seed_kernel())),
    "mmd_any_torch": Case("torch", build_mmd_any(seed_kernel())),
    "plain_numpy": Case("numpy", build_plain),
    "plain_torch": Case("torch", build_plain),
    "seed_torch": Case("torch", build_seed, "seed"),
    "large_numpy_gaussian": Case("numpy", build_mmd_any("gaussian"), "large"),
    "large_numpy_seed_kernel": Case("numpy", build_mmd_any(seed_kernel()), "large"),
    "large_torch_gaussian": Case("torch", build_mmd_any("gaussian"), "large"),
    "large_torch_seed_kernel": Case("torch", build_mmd_any(seed_kernel()), "large"),
    "reference_f64": Case("numpy", build_reference, "reference"),
}


# ------------------------------------------------------------------ child process


def maxrss_mib() -> float:
    """``ru_maxrss`` of this process (KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vm_hwm_mib() -> float | None:
    """``VmHWM`` of ``/proc/self/status``: the peak RSS since the last reset."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_extra_mib(baseline: float, inherited: bool) -> float:
    """Peak RSS above ``baseline``: ``ru_maxrss``, or ``VmHWM`` if ``ru_maxrss`` is stale.

    ``ru_maxrss`` also counts the peak of the process image before ``exec``
    (the parent's); when that was already above the baseline, the resettable
    ``VmHWM`` is used instead.
    """
    hwm = vm_hwm_mib()
    peak = hwm if inherited and hwm is not None else maxrss_mib()
    return peak - baseline


def own_cpu_seconds() -> float:
    """CPU seconds of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def time_runner(
    run: Runner, sync: Callable[[], None], warmup: int, reps: int
) -> tuple[Any, list[float], float | None]:
    """``warmup`` untimed then ``reps`` timed calls.

    Returns the last value, the times, and the mean number of CPUs that other
    processes kept busy during the timed calls (None where unknown).
    """
    value = None
    for _ in range(warmup):
        value = run()
        sync()
    busy0, own0, wall0 = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        value = run()
        sync()
        times.append(time.perf_counter() - start)
    busy1, own1, wall1 = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
    others = None
    if busy0 is not None and busy1 is not None:
        others = max(0.0, (busy1 - busy0) - (own1 - own0)) / (wall1 - wall0)
    return value, times, others


def library_info(library: str) -> str:
    """Version (and thread count for torch) of the library a case ran on."""
    if library == "torch":
        import torch

        return f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    return f"numpy {np.__version__}"


def run_case(name: str, n: int, d: int, warmup: int, reps: int) -> dict[str, Any]:
    """Build, time and measure one case in this (fresh) process."""
    case = CASES[name]
    backend = BACKENDS[case.library]()
    x, y = make_data(n, d)
    run = case.build(backend.asarray(x), backend.asarray(y))
    backend.sync()
    baseline = current_rss_mib()
    reset_peak_rss()
    inherited = maxrss_mib() > baseline + 1.0
    value, times, others = time_runner(run, backend.sync, warmup, reps)
    return {
        "name": name,
        "seconds": statistics.median(times),
        "times": times,
        "peak_extra_mib": peak_extra_mib(baseline, inherited),
        "value": None if value is None else float(value),
        "other_load": others,
        "library": library_info(case.library),
    }


# ----------------------------------------------------------------- parent process
# The parent imports neither torch nor large arrays, so that the children's
# ru_maxrss (which starts from the parent's peak at exec) stays meaningful.


def spawn_case(name: str, n: int, warmup: int, reps: int) -> dict[str, Any]:
    """Run one case in a fresh interpreter and parse its JSON line."""
    print(f"  running {name} ...", file=sys.stderr, flush=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--case", name]
    command += ["--n", str(n), "--warmup", str(warmup), "--reps", str(reps)]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def header_line(results: list[dict[str, Any]], wall: float) -> str:
    """Date, CPU, library versions and torch threads, total wall time."""
    libraries = dict.fromkeys(res["library"] for res in results)
    parts = [
        datetime.datetime.now().isoformat(timespec="seconds"),
        f"CPU {cpu_model()} ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} logical)",
        *libraries,
        f"wall {wall:.0f} s",
    ]
    return " | ".join(parts)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _rel(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None:
        return None
    return abs(value - reference) / abs(reference)


CORE_HEADERS = [
    "case",
    "median s",
    "/ own bound",
    "/ min bound",
    "mmd_any speed-up",
    "peak extra MiB",
    "MMD²",
    "rel. diff vs f64",
    "other load",
]
LARGE_HEADERS = [
    "case",
    "seconds",
    "peak extra MiB",
    "MMD²",
    "rel. diff torch vs numpy",
    "other load",
]


def core_rows(results: dict[str, dict[str, Any]], reference: float) -> list[list[str]]:
    """Table rows of the n = 2048 cases."""
    bounds = {
        CASES[name].library: res["seconds"]
        for name, res in results.items()
        if name.startswith("bound_")
    }
    min_bound = min(bounds.values(), default=None)
    rows = []
    for name, res in results.items():
        lib, seconds = CASES[name].library, res["seconds"]
        ours = results.get(f"mmd_any_{lib}")
        rows.append(
            [
                name,
                _fmt(seconds, ".4f"),
                _fmt(seconds / bounds[lib] if lib in bounds else None, ".2f"),
                _fmt(seconds / min_bound if min_bound else None, ".2f"),
                _fmt(seconds / ours["seconds"] if ours else None, ".2f"),
                _fmt(res["peak_extra_mib"], ".1f"),
                _fmt(res["value"], ".8g"),
                _fmt(_rel(res["value"], reference), ".1e"),
                _fmt(res["other_load"], ".2f"),
            ]
        )
    return rows


def large_rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    """Table rows of the n = 100,000 cases."""
    rows = []
    for name, res in results.items():
        twin = results.get(name.replace("_torch_", "_numpy_")) if "_torch_" in name else None
        rows.append(
            [
                name,
                _fmt(res["seconds"], ".2f"),
                _fmt(res["peak_extra_mib"], ".1f"),
                _fmt(res["value"], ".8g"),
                _fmt(_rel(res["value"], twin["value"] if twin else None), ".1e"),
                _fmt(res["other_load"], ".2f"),
            ]
        )
    return rows


def format_table(headers: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    """Aligned plain text, or a Markdown pipe table."""
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] * len(headers)) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([cells[0].ljust(widths[0]), *rest])

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


Section = tuple[str, list[str], list[list[str]]]


def report(sections: list[Section], head: str, markdown: bool) -> str:
    """The whole report: header line, then one titled table per section."""
    parts = [f"**{head}**" if markdown else head]
    for title, headers, rows in sections:
        parts += ["", f"### {title}" if markdown else title, format_table(headers, rows, markdown)]
    return "\n".join(parts) + "\n"


def selected(group: str, with_torch: bool) -> list[str]:
    """Names of the cases of ``group`` that can run here, in table order."""
    return [
        name
        for name, case in CASES.items()
        if case.group == group and (with_torch or case.library != "torch")
    ]


def main_parent(args: argparse.Namespace) -> None:
    """Run every case in its own subprocess, then print (and save) the tables."""
    start = time.perf_counter()
    with_torch = importlib.util.find_spec("torch") is not None
    n = args.n
    reference = spawn_case("reference_f64", n, warmup=0, reps=1)
    names = selected("core", with_torch) + ([] if args.skip_seed else selected("seed", with_torch))
    core = {}
    for name in names:
        reps = args.seed_reps if CASES[name].group == "seed" else args.reps
        core[name] = spawn_case(name, n, warmup=1, reps=reps)
    sections: list[Section] = [
        (
            f"n = m = {n}, d = {DIM}, float32; median of {args.reps} reps after 1 "
            f"warm-up ({args.seed_reps} for seed_torch); float64 reference MMD² = "
            f"{reference['value']:.10g}; other load = CPUs busy with other processes",
            CORE_HEADERS,
            core_rows(core, reference["value"]),
        )
    ]
    large = {}
    if args.large:
        large = {name: spawn_case(name, N_LARGE, 0, 1) for name in selected("large", with_torch)}
        sections.append(
            (
                f"mmd_any only, n = m = {N_LARGE:,}, d = {DIM}, float32; one run each, no warm-up",
                LARGE_HEADERS,
                large_rows(large),
            )
        )
    results = [reference, *core.values(), *large.values()]
    head = header_line(results, time.perf_counter() - start)
    print(report(sections, head, markdown=False), end="")
    if args.markdown is not None:
        Path(args.markdown).write_text(report(sections, head, markdown=True))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line; ``--case``, ``--n`` and ``--warmup`` are internal."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--large", action="store_true", help="add the n = m = 100,000 cases")
    parser.add_argument("--skip-seed", action="store_true", help="skip the seeds' 8 GiB code")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions (default 5)")
    parser.add_argument("--seed-reps", type=int, default=2, help="for seed_torch (default 2)")
    parser.add_argument(
        "--quick", action="store_true", help="n = m = 256, one rep, no --large: seconds"
    )
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=N_SAMPLES, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.reps, args.seed_reps, args.large = QUICK_N, 1, 1, False
    return args


def main(argv: list[str] | None = None) -> None:
    """Entry point: a parent that spawns cases, or one case (``--case``)."""
    args = parse_args(argv)
    if args.case is None:
        main_parent(args)
        return
    print(json.dumps(run_case(args.case, args.n, DIM, args.warmup, args.reps)))


if __name__ == "__main__":
    main()
