"""Benchmark of the exact biased MMD² against the machine bound and two baselines.

Run it with::

    python benchmarks/bench_core.py            # add --large, --skip-seed, --markdown FILE

What is measured
----------------
Two samples of ``n = m = 2048`` points in ``d = 64`` dimensions, float32, drawn
from ``rng = np.random.default_rng(0)``: ``x ~ N(0, 1)`` and ``y ~ N(0.1, 1)``.
Every row of the table runs in its own fresh subprocess (this script with a
hidden ``--case NAME``) and reports the median wall time over ``--reps``
repetitions after one warm-up, and the peak extra resident memory:
``ru_maxrss`` at the end minus the RSS once the inputs exist (the kernel's
peak-RSS counter is also reset at that point where Linux allows it).

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
relative difference to the float64 NumPy plain version, computed once in the
parent process.

``--large`` adds ``mmd_any`` alone at ``n = m = 100,000``: the default kernel
(``"gaussian"``, median bandwidth) and the seeds' kernel, on NumPy and torch,
one repetition each, also one fresh subprocess per case.

Timing calls a ``sync()`` hook of each library after every repetition; it is a
no-op on the CPU and is where a CUDA device would synchronise.
"""

from __future__ import annotations

import argparse
import datetime
import json
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

Array = Any
Runner = Callable[[], Any]

N_SAMPLES = 2048
N_LARGE = 100_000
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


# The seeds' code, kept in its widely copied shape (names lower-cased for ruff).
def guassian_kernel(
    source: Array,
    target: Array,
    kernel_mul: float = 2.0,
    kernel_num: int = 5,
    fix_sigma: float | None = None,
) -> Array:
    """The seeds' multi-bandwidth Gaussian Gram matrix of ``[source; target]``."""
    import torch

    n_samples = int(source.size()[0]) + int(target.size()[0])
    total = torch.cat([source, target], dim=0)
    total0 = total.unsqueeze(0).expand(int(total.size(0)), int(total.size(0)), int(total.size(1)))
    total1 = total.unsqueeze(1).expand(int(total.size(0)), int(total.size(0)), int(total.size(1)))
    l2_distance = ((total0 - total1) ** 2).sum(2)
    bandwidth = fix_sigma if fix_sigma else torch.sum(l2_distance.data) / (n_samples**2 - n_samples)
    bandwidth /= kernel_mul ** (kernel_num // 2)
    bandwidth_list = [bandwidth * (kernel_mul**i) for i in range(kernel_num)]
    kernel_val = [torch.exp(-l2_distance / b) for b in bandwidth_list]
    return sum(kernel_val)


def get_mmd(
    source: Array,
    target: Array,
    kernel_mul: float = 2.0,
    kernel_num: int = 5,
    fix_sigma: float | None = None,
) -> Array:
    """The seeds' biased MMD² (``get_MMD``)."""
    import torch

    batch_size = int(source.size()[0])
    kernels = guassian_kernel(source, target, kernel_mul, kernel_num, fix_sigma)
    xx = kernels[:batch_size, :batch_size]
    yy = kernels[batch_size:, batch_size:]
    xy = kernels[:batch_size, batch_size:]
    yx = kernels[batch_size:, :batch_size]
    return torch.mean(xx + yy - xy - yx)


def build_seed(x: Array, y: Array) -> Runner:
    """The seeds' ``get_MMD`` with its defaults (ratio 2, five kernels)."""
    return lambda: get_mmd(x, y, KERNEL_MUL, KERNEL_NUM)


@dataclass(frozen=True)
class Case:
    """One row: which library, how to build the timed callable, how often to run it."""

    library: str
    build: Callable[[Array, Array], Runner]
    large: bool = False
    seed_like: bool = False


CASES: dict[str, Case] = {
    "bound_numpy": Case("numpy", build_bound_numpy),
    "bound_torch": Case("torch", build_bound_torch),
    "mmd_any_numpy": Case("numpy", build_mmd_any(seed_kernel())),
    "mmd_any_torch": Case("torch", build_mmd_any(seed_kernel())),
    "plain_numpy": Case("numpy", build_plain),
    "plain_torch": Case("torch", build_plain),
    "seed_torch": Case("torch", build_seed, seed_like=True),
    "large_numpy_gaussian": Case("numpy", build_mmd_any("gaussian"), large=True),
    "large_numpy_seed_kernel": Case("numpy", build_mmd_any(seed_kernel()), large=True),
    "large_torch_gaussian": Case("torch", build_mmd_any("gaussian"), large=True),
    "large_torch_seed_kernel": Case("torch", build_mmd_any(seed_kernel()), large=True),
}


# ------------------------------------------------------------------ child process


def current_rss_mib() -> float:
    """Resident set size now, from ``/proc/self/statm``."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS counter to the current RSS (Linux ≥ 4.0; best effort)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_mib() -> float:
    """``ru_maxrss`` of this process (KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_runner(run: Runner, sync: Callable[[], None], warmup: int, reps: int) -> tuple[Any, list]:
    """Run ``warmup`` untimed then ``reps`` timed calls; return the last value and the times."""
    value = None
    for _ in range(warmup):
        value = run()
        sync()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        value = run()
        sync()
        times.append(time.perf_counter() - start)
    return value, times


def run_case(name: str, n: int, d: int, warmup: int, reps: int) -> dict[str, Any]:
    """Build, time and measure one case in this (fresh) process."""
    case = CASES[name]
    backend = BACKENDS[case.library]()
    x, y = make_data(n, d)
    run = case.build(backend.asarray(x), backend.asarray(y))
    backend.sync()
    baseline = current_rss_mib()
    reset_peak_rss()
    value, times = time_runner(run, backend.sync, warmup, reps)
    return {
        "name": name,
        "seconds": statistics.median(times),
        "times": times,
        "peak_extra_mib": peak_rss_mib() - baseline,
        "value": None if value is None else float(value),
    }


# ----------------------------------------------------------------- parent process


def spawn_case(name: str, n: int, warmup: int, reps: int) -> dict[str, Any]:
    """Run one case in a fresh interpreter and parse its JSON line."""
    print(f"  running {name} ...", file=sys.stderr, flush=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--case", name]
    command += ["--n", str(n), "--warmup", str(warmup), "--reps", str(reps)]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def torch_available() -> bool:
    """Whether torch can be imported."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def cpu_model() -> str:
    """The ``model name`` of ``/proc/cpuinfo``, else ``platform.processor()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def header_line() -> str:
    """Date, CPU, thread count and library versions."""
    import os

    parts = [
        datetime.datetime.now().isoformat(timespec="seconds"),
        f"CPU {cpu_model()} ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} logical)",
        f"numpy {np.__version__}",
    ]
    if torch_available():
        import torch

        parts += [f"torch {torch.__version__}", f"torch threads {torch.get_num_threads()}"]
    return " | ".join(parts)


def reference_value(n: int) -> float:
    """The plain version in float64 NumPy on the same (float32) data."""
    x, y = make_data(n, DIM)
    return float(plain_mmd2(x.astype(np.float64), y.astype(np.float64)))


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def core_rows(results: dict[str, dict[str, Any]], reference: float) -> list[list[str]]:
    """Table rows of the n = 2048 cases."""
    bounds = {
        lib: results[f"bound_{lib}"]["seconds"]
        for lib in ("numpy", "torch")
        if f"bound_{lib}" in results
    }
    min_bound = min(bounds.values())
    rows = []
    for name, res in results.items():
        lib = CASES[name].library
        seconds = res["seconds"]
        ours = results.get(f"mmd_any_{lib}")
        value = res["value"]
        rows.append(
            [
                name,
                _fmt(seconds, ".4f"),
                _fmt(seconds / bounds[lib] if lib in bounds else None, ".2f"),
                _fmt(seconds / min_bound, ".2f"),
                _fmt(seconds / ours["seconds"] if ours else None, ".2f"),
                _fmt(res["peak_extra_mib"], ".1f"),
                _fmt(value, ".8g"),
                _fmt(None if value is None else abs(value - reference) / abs(reference), ".1e"),
            ]
        )
    return rows


CORE_HEADERS = [
    "case",
    "median s",
    "/ own bound",
    "/ min bound",
    "mmd_any speed-up",
    "peak extra MiB",
    "MMD²",
    "rel. diff vs f64",
]
LARGE_HEADERS = ["case", "seconds", "peak extra MiB", "MMD²", "rel. diff torch vs numpy"]


def large_rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    """Table rows of the n = 100,000 cases."""
    rows = []
    for name, res in results.items():
        twin = results.get(name.replace("_torch_", "_numpy_"))
        diff = None
        if "_torch_" in name and twin is not None:
            diff = abs(res["value"] - twin["value"]) / abs(twin["value"])
        rows.append(
            [
                name,
                _fmt(res["seconds"], ".2f"),
                _fmt(res["peak_extra_mib"], ".1f"),
                _fmt(res["value"], ".8g"),
                _fmt(diff, ".1e"),
            ]
        )
    return rows


def format_table(headers: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    """Aligned plain text, or a Markdown pipe table."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] * len(headers)) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)])

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def report(
    sections: list[tuple[str, list[str], list[list[str]]]], head: str, markdown: bool
) -> str:
    """The whole report: header line, then one titled table per section."""
    parts = [f"**{head}**" if markdown else head]
    for title, headers, rows in sections:
        parts += ["", f"### {title}" if markdown else title, format_table(headers, rows, markdown)]
    return "\n".join(parts) + "\n"


def core_case_names(skip_seed: bool, with_torch: bool) -> list[str]:
    """The n = 2048 cases to run, in table order."""
    names = [name for name, case in CASES.items() if not case.large]
    if skip_seed:
        names = [name for name in names if not CASES[name].seed_like]
    if not with_torch:
        names = [name for name in names if CASES[name].library != "torch"]
    return names


def main_parent(args: argparse.Namespace) -> None:
    """Run every case in its own subprocess, then print (and save) the tables."""
    start = time.perf_counter()
    with_torch = torch_available()
    head = header_line()
    reference = reference_value(N_SAMPLES)
    core = {}
    for name in core_case_names(args.skip_seed, with_torch):
        seed_like = CASES[name].seed_like
        reps = args.seed_reps if seed_like else args.reps
        core[name] = spawn_case(name, N_SAMPLES, warmup=1, reps=reps)
    sections = [
        (
            f"n = m = {N_SAMPLES}, d = {DIM}, float32; median of {args.reps} reps after 1 warm-up "
            f"({args.seed_reps} for seed_torch); float64 reference MMD² = {reference:.10g}",
            CORE_HEADERS,
            core_rows(core, reference),
        )
    ]
    if args.large:
        large = {
            name: spawn_case(name, N_LARGE, warmup=0, reps=1)
            for name, case in CASES.items()
            if case.large and (with_torch or case.library != "torch")
        }
        sections.append(
            (
                f"mmd_any only, n = m = {N_LARGE:,}, d = {DIM}, float32; one run each, no warm-up",
                LARGE_HEADERS,
                large_rows(large),
            )
        )
    head += f" | wall {time.perf_counter() - start:.0f} s"
    print(report(sections, head, markdown=False), end="")
    if args.markdown is not None:
        Path(args.markdown).write_text(report(sections, head, markdown=True))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line; ``--case``, ``--n`` and ``--warmup`` are internal."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--large", action="store_true", help="add the n = m = 100,000 cases")
    parser.add_argument("--skip-seed", action="store_true", help="skip the seeds' 8 GiB code")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions (default 5)")
    parser.add_argument("--seed-reps", type=int, default=2, help="for seed_torch (default 2)")
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=N_SAMPLES, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=1, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point: a parent that spawns cases, or one case (``--case``)."""
    args = parse_args(argv)
    if args.case is None:
        main_parent(args)
        return
    print(json.dumps(run_case(args.case, args.n, DIM, args.warmup, args.reps)))


if __name__ == "__main__":
    main()
