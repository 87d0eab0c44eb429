"""Benchmark of the exact biased MMD² against the machine bound and two baselines.

Run it with::

    python benchmarks/bench_core.py            # add --large, --skip-seed, --markdown FILE
    python benchmarks/bench_core.py --quick    # n = m = 256, one rep: seconds (the suite runs it)

What is measured
----------------
Two samples of ``n = m = 2048`` points in ``d = 64`` dimensions, float32, drawn
from ``rng = np.random.default_rng(0)``: ``x ~ N(0, 1)`` and ``y ~ N(0.1, 1)``.
Every row of the table runs in its own fresh subprocess (this script with a
hidden ``--child``, through ``_harness.spawn``) and reports the median wall time
over ``--reps`` repetitions after one warm-up, and the peak extra resident
memory: the peak RSS since the child reset its counter (``VmHWM`` after
``/proc/self/clear_refs``, else ``ru_maxrss``) minus the RSS once the inputs
exist. The parent stays small (no torch, no big arrays), because where the
reset is impossible a child's ``ru_maxrss`` starts from the parent's peak at
``exec``.

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
no-op on the CPU and is where a CUDA device would synchronise. The subprocesses,
timer, readings and tables are those of ``_harness.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _harness  # beside this script
import numpy as np
from _harness import fmt

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
#: Seconds one case may run before its process group is killed.
CASE_TIMEOUT = 3600.0


# --------------------------------------------------------------------------- data


def make_data(n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``x ~ N(0, 1)``, ``y ~ N(0.1, 1)``, float32, from ``default_rng(0)``."""
    return _harness.normal_pair(n, d, SHIFT)


# ----------------------------------------------------------------------- backends


@dataclass(frozen=True)
class Backend:
    """How a library receives the NumPy inputs and waits for its work."""

    name: str
    asarray: Callable[[np.ndarray], Array]
    sync: Callable[[], None]


def numpy_backend() -> Backend:
    """NumPy: inputs as given, nothing to wait for."""
    return Backend("numpy", lambda a: a, _harness.no_sync)


def torch_backend() -> Backend:
    """Torch on :data:`TORCH_DEVICE`; ``sync`` waits for CUDA work if any."""
    import torch

    device = torch.device(TORCH_DEVICE)
    return Backend("torch", lambda a: torch.from_numpy(a).to(device), _harness.torch_sync(device))


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


def run_case(spec: dict[str, Any]) -> dict[str, Any]:
    """Build, time and measure one case in this (fresh) process (``--child``)."""
    name = spec["case"]
    case = CASES[name]
    backend = BACKENDS[case.library]()
    x, y = make_data(spec["n"], DIM)
    run = case.build(backend.asarray(x), backend.asarray(y))
    timing = _harness.time_call(run, spec["reps"], warmup=spec["warmup"], sync=backend.sync)
    result = {"name": name, **timing.summary()}
    if case.library == "torch":
        import torch

        result["torch_threads"] = torch.get_num_threads()
    return result


# ----------------------------------------------------------------- parent process
# The parent imports neither torch nor large arrays, so that the children's
# ru_maxrss (which starts from the parent's peak at exec) stays meaningful.


def spawned(name: str, n: int, warmup: int, reps: int) -> dict[str, Any]:
    """The result of one case run in a fresh interpreter (raises if it failed)."""
    spec = {"case": name, "n": n, "warmup": warmup, "reps": reps}
    outcome = _harness.spawn(__file__, spec, timeout=CASE_TIMEOUT, label=name)
    return outcome.require()


def header_line(results: list[dict[str, Any]], wall: float) -> str:
    """Date, machine, library versions and torch threads, total wall time."""
    threads = sorted({res["torch_threads"] for res in results if "torch_threads" in res})
    parts = [
        _harness.timestamp(),
        _harness.machine(),
        _harness.versions("mmd-any", "numpy", "torch"),
        *(f"torch {t} threads" for t in threads),
        f"wall {wall:.0f} s",
    ]
    return " | ".join(parts)


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
                fmt(seconds, ".4f"),
                fmt(seconds / bounds[lib] if lib in bounds else None, ".2f"),
                fmt(seconds / min_bound if min_bound else None, ".2f"),
                fmt(seconds / ours["seconds"] if ours else None, ".2f"),
                fmt(res["peak_extra_mib"], ".1f"),
                fmt(res["value"], ".8g"),
                fmt(_rel(res["value"], reference), ".1e"),
                fmt(res["other_load"], ".2f"),
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
                fmt(res["seconds"], ".2f"),
                fmt(res["peak_extra_mib"], ".1f"),
                fmt(res["value"], ".8g"),
                fmt(_rel(res["value"], twin["value"] if twin else None), ".1e"),
                fmt(res["other_load"], ".2f"),
            ]
        )
    return rows


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
    reference = spawned("reference_f64", n, warmup=0, reps=1)
    names = selected("core", with_torch) + ([] if args.skip_seed else selected("seed", with_torch))
    core = {}
    for name in names:
        reps = args.seed_reps if CASES[name].group == "seed" else args.reps
        core[name] = spawned(name, n, warmup=1, reps=reps)
    tables = [
        _harness.Table(
            f"n = m = {n}, d = {DIM}, float32; median of {args.reps} reps after 1 "
            f"warm-up ({args.seed_reps} for seed_torch); float64 reference MMD² = "
            f"{reference['value']:.10g}; other load = CPUs busy with other processes",
            CORE_HEADERS,
            core_rows(core, reference["value"]),
        )
    ]
    large = {}
    if args.large:
        large = {name: spawned(name, N_LARGE, 0, 1) for name in selected("large", with_torch)}
        tables.append(
            _harness.Table(
                f"mmd_any only, n = m = {N_LARGE:,}, d = {DIM}, float32; one run each, no warm-up",
                LARGE_HEADERS,
                large_rows(large),
            )
        )
    results = [reference, *core.values(), *large.values()]
    head = [header_line(results, time.perf_counter() - start)]
    print(_harness.render_report(head, tables), end="")
    if args.markdown is not None:
        Path(args.markdown).write_text(_harness.render_report(head, tables, markdown=True))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line (``--child SPEC``, one case, is read by :func:`_harness.serve_child`)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--large", action="store_true", help="add the n = m = 100,000 cases")
    parser.add_argument("--skip-seed", action="store_true", help="skip the seeds' 8 GiB code")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions (default 5)")
    parser.add_argument("--seed-reps", type=int, default=2, help="for seed_torch (default 2)")
    parser.add_argument(
        "--quick", action="store_true", help="n = m = 256, one rep, no --large: seconds"
    )
    args = parser.parse_args(argv)
    args.n = N_SAMPLES
    if args.quick:
        args.n, args.reps, args.seed_reps, args.large = QUICK_N, 1, 1, False
    return args


def main(argv: list[str] | None = None) -> None:
    """Entry point: a parent that spawns cases, or one case (``--child``)."""
    if _harness.serve_child(run_case, argv):
        return
    main_parent(parse_args(argv))


if __name__ == "__main__":
    main()
