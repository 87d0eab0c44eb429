"""Benchmark suite: mmd_any against its peers, the machine bound, the approximations and Dask.

Run it with (best in an environment where every peer is installed)::

    python benchmarks/bench_suite.py               # everything but the opt-in cases
    python benchmarks/bench_suite.py --quick       # smoke test: n = 256, 1 run (the suite runs it)
    python benchmarks/bench_suite.py --markdown --output results.md
    python benchmarks/bench_suite.py --only exact  # or: approx, dask

It is not part of CI (nothing here is collected by pytest). All data are float32,
``x ~ N(0, 1)``, ``y ~ N(shift, 1)`` from ``numpy.random.default_rng(0)``; BLAS,
OpenMP, numba and torch are pinned to 2 threads, with ``OMP_WAIT_POLICY=PASSIVE``
(``--omp-wait-policy``): on this shared 2-core machine, with another process busy,
torch's spinning OpenMP threads made small kernels up to 50× slower. Every case
runs in a fresh subprocess (this script with a hidden ``--child``, started by
``_harness.spawn`` in a process group of its own, killed whole past ``--timeout``);
its peak extra memory is the resident-set high-water mark (``VmHWM`` after a reset
of ``/proc/self/clear_refs``, else ``ru_maxrss``) minus the RSS once the inputs
exist and the implementation is imported. Times are medians after one untimed
warm-up; the number of timed runs is in each table (fewer than requested where
one run is slow: at most ``--case-budget`` seconds per case; ``--runs-large``
runs and no warm-up at n = 100,000).

Sections
--------
``exact``
    Exact MMD² at (n, d) in {(512, 64), (2048, 64), (8192, 64), (4096, 512),
    (16384, 64), (100000, 64)}, n = m, ``shift = 0.1``. All Gaussian rows use
    one fixed bandwidth σ (the median pairwise distance of the first 500 rows
    of x and of y, computed outside the timing) so that every implementation
    computes the same single-Gaussian kernel: ``mmd_any.mmd2`` (NumPy and
    torch, ``kernel=Gaussian(σ)``, biased), GeomLoss ``SamplesLoss("gaussian",
    blur=σ, backend="tensorized")`` (half the biased MMD²), alibi-detect's
    ``utils.pytorch.distance.mmd2`` with ``GaussianRBF(σ)`` (unbiased) and
    hyppo's ``MMD(compute_kernel="gaussian", gamma=1/(2σ²)).statistic``
    (its HSIC-based statistic, scikit-learn kernels in NumPy; given float64
    copies made outside the timing, as its numba code fails on float32). Two rows
    compare other kernels: torchmetrics' ``poly_mmd`` (the KID cubic kernel,
    unbiased) against ``mmd_any.mmd2(preset="kid")``, and the seeds'
    broadcast ``get_mmd`` (``seed_baseline.py``, five Gaussians) against
    ``mmd_any.mmd2(preset="seed")``. Peers whose estimated peak memory
    (calibrated on measured peaks) exceeds ``--mem-limit`` GiB (default 8) are
    skipped, the seeds' code where its ``(2n)²·d·4`` byte broadcast temporary
    exceeds 6 GiB; torchmetrics is loaded without torch-fidelity's
    ``__init__`` where torchvision is missing (as ``tests/golden/make_golden.py``).
    A float64 NumPy ``mmd_any`` run of each quantity (n ≤ 16384) checks every
    value.

    The machine bound is measured in the same run: the best float32 matmul
    rate ``R_mm`` (a 2048×2048 by 2048×2048 product, NumPy and torch) and exp
    rate ``R_exp`` (2^24 elements, NumPy and torch). With ``N = n + m`` and
    ``E = N(N+1)/2`` kernel entries (the upper triangle, diagonal included,
    which is all mmd_any evaluates), ``bound = E·2(d+2)/R_mm + E/R_exp``:
    the ``(d+2)``-deep matmul of the augmented distance trick plus one exp per
    entry. Every time is reported as a multiple of this bound.

``approx``
    n = m = 8192, d = 64, ``shift = 0.5``: ``mmd_any.mmd2_rff`` with
    ``n_features`` D in {256, 1024, 4096} (10 seeds) and the linear-time
    estimator, against the exact biased MMD² with the same ``Gaussian(σ)``
    (float64 reference). RFF error: RMS and largest over the 10 seeds, next to
    the library's Hoeffding bound ``4·L·sqrt(log(2/δ)/D)`` (δ = 0.05, L = 1
    bandwidth; equal to ``sqrt(8·log(2/δ)/(D/2))·L``) and its bound on the
    standard deviation ``2·√2·L/√D``.

``dask``
    A ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``;
    inputs ``dask.array.random.default_rng(seed).standard_normal`` (lazy,
    float32, d = 32, chunks of 25,000 rows; ``y`` shifted by 0.1), σ fixed as
    above. Exact ``mmd2`` at n = m = 10^5, ``mmd2_rff`` (D = 1024) at 10^5 and
    10^6: time to build the graph, wall time of the computation (data
    generation included), peak RSS of the workers (sampled every 0.2 s with
    psutil) above their RSS before the computation. The exact case at 10^6 is
    opt-in (``--dask-exact-million``); by default it is estimated from the
    10^5 rate (×100 kernel entries).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _harness  # beside this script
from _harness import fmt

THREADS = 2
HERE = Path(__file__).resolve().parent

EXACT_SIZES = [(512, 64), (2048, 64), (8192, 64), (4096, 512), (16384, 64), (100_000, 64)]
QUICK_SIZES = [(256, 16)]
LARGE_N = 100_000
REFERENCE_MAX_N = 16_384
EXACT_SHIFT = 0.1
APPROX_SHIFT = 0.5
APPROX_FEATURES = (256, 1024, 4096)
APPROX_SEEDS = 10
DELTA = 0.05
DASK_DIM = 32
DASK_CHUNK = 25_000
DASK_RFF_FEATURES = 1024
GIB = 2**30
#: The distributions whose versions head the report.
DISTRIBUTIONS = (
    "mmd-any",
    "numpy",
    "torch",
    "torchmetrics",
    "geomloss",
    "alibi-detect",
    "hyppo",
    "dask",
    "distributed",
)

Runner = Callable[[], Any]


# ============================================================== child: helpers


def import_torch() -> Any:
    """torch with :data:`THREADS` intra-op threads."""
    import torch

    torch.set_num_threads(THREADS)
    return torch


def make_data(n: int, d: int, shift: float) -> tuple[Any, Any]:
    """``x ~ N(0, 1)``, ``y ~ N(shift, 1)``, float32, from ``default_rng(0)``."""
    return _harness.normal_pair(n, d, shift)


def median_sigma(x: Any, y: Any, rows: int = 500) -> float:
    """Median pairwise Euclidean distance over the first ``rows`` rows of x and of y."""
    import numpy as np

    z = np.concatenate([np.asarray(x[:rows]), np.asarray(y[:rows])]).astype(np.float64)
    sq = np.sum(z * z, axis=1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (z @ z.T), 0.0)
    upper = dist[np.triu_indices(z.shape[0], k=1)]
    return float(np.sqrt(np.median(upper)))


def timed(run: Runner, warmup: int, runs: int, budget_s: float) -> dict[str, Any]:
    """Time ``run`` in this process (harness timer; peak memory above the RSS now)."""
    timing = _harness.time_call(run, runs, warmup=warmup, budget_s=budget_s)
    return {"status": "ok", **timing.summary()}


# ====================================================== child: the machine bound


def child_rates(runs: int) -> dict[str, Any]:
    """Matmul GFLOP/s and exp Gelem/s of NumPy and torch (float32, 2 threads)."""
    import numpy as np

    torch = import_torch()
    rng = np.random.default_rng(0)
    size, thin_n, thin_k = 2048, 4096, 66
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty((size, size), dtype=np.float32)
    ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out.copy())
    p = rng.standard_normal((thin_n, thin_k), dtype=np.float32)
    thin_out = np.empty((thin_n, thin_n), dtype=np.float32)
    tp, tthin = torch.from_numpy(p), torch.from_numpy(thin_out.copy())
    e = rng.uniform(-10.0, 0.0, size=1 << 24).astype(np.float32)
    eout = np.empty_like(e)
    te, teout = torch.from_numpy(e), torch.from_numpy(eout.copy())

    def best(run: Runner) -> float:
        return _harness.time_call(run, runs, budget_s=60.0, memory=None).median

    flops, thin_flops = 2.0 * size**3, 2.0 * thin_n * thin_n * thin_k
    return {
        "status": "ok",
        "matmul_numpy": flops / best(lambda: np.matmul(a, b, out=out)),
        "matmul_torch": flops / best(lambda: torch.matmul(ta, tb, out=tout)),
        "thin_numpy": thin_flops / best(lambda: np.matmul(p, p.T, out=thin_out)),
        "thin_torch": thin_flops / best(lambda: torch.matmul(tp, tp.T, out=tthin)),
        "exp_numpy": e.size / best(lambda: np.exp(e, out=eout)),
        "exp_torch": e.size / best(lambda: torch.exp(te, out=teout)),
    }


# ========================================================= child: exact section


def _torch_runner(fn: Callable[[], Any]) -> Runner:
    torch = import_torch()

    def run() -> Any:
        with torch.no_grad():
            return fn()

    return run


def build_mmd_any(x: Any, y: Any, sigma: float, library: str, what: str) -> Runner:
    """``mmd_any.mmd2`` (biased ``Gaussian(σ)``, or a preset) on NumPy or torch."""
    import mmd_any

    if library == "torch":
        torch = import_torch()
        x, y = torch.from_numpy(x), torch.from_numpy(y)
    if what == "gaussian":
        options: dict[str, Any] = {"kernel": mmd_any.kernels.Gaussian(sigma)}
    else:
        options = {"preset": what}

    def call() -> Any:
        return mmd_any.mmd2(x, y, check_finite=False, **options)

    return _torch_runner(call) if library == "torch" else call


def _bare_torch_fidelity() -> None:
    """Let torchmetrics import where torch-fidelity is installed without torchvision.

    torchmetrics imports torch-fidelity whenever it is installed, and
    torch-fidelity's package ``__init__`` imports torchvision; the KID code
    (``torchmetrics.image.kid``) needs neither, so the package is registered
    without running its ``__init__`` (as ``tests/golden/make_golden.py`` does).
    """
    import importlib.util

    spec = importlib.util.find_spec("torch_fidelity")
    if spec is None or importlib.util.find_spec("torchvision") is not None:
        return
    if "torch_fidelity" not in sys.modules:
        sys.modules["torch_fidelity"] = importlib.util.module_from_spec(spec)


def build_torchmetrics(x: Any, y: Any, sigma: float) -> Runner:
    """torchmetrics' ``poly_mmd`` (KID: cubic kernel, unbiased)."""
    _bare_torch_fidelity()
    from torchmetrics.image.kid import poly_mmd

    torch = import_torch()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    return _torch_runner(lambda: poly_mmd(tx, ty))


def build_geomloss(x: Any, y: Any, sigma: float) -> Runner:
    """GeomLoss ``SamplesLoss("gaussian", blur=σ, backend="tensorized")``."""
    from geomloss import SamplesLoss

    torch = import_torch()
    loss = SamplesLoss("gaussian", blur=sigma, backend="tensorized")
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    return _torch_runner(lambda: loss(tx, ty))


def build_alibi(x: Any, y: Any, sigma: float) -> Runner:
    """alibi-detect's torch ``mmd2`` with ``GaussianRBF(σ)`` (unbiased)."""
    from alibi_detect.utils.pytorch.distance import mmd2
    from alibi_detect.utils.pytorch.kernels import GaussianRBF

    torch = import_torch()
    kernel = GaussianRBF(sigma=torch.tensor([sigma], dtype=torch.float32))
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    return _torch_runner(lambda: mmd2(tx, ty, kernel))


def build_hyppo(x: Any, y: Any, sigma: float) -> Runner:
    """hyppo's ``MMD(compute_kernel="gaussian", gamma=1/(2σ²)).statistic``."""
    import numpy as np
    from hyppo.ksample import MMD

    test = MMD(compute_kernel="gaussian", gamma=1.0 / (2.0 * sigma * sigma))
    x64, y64 = x.astype(np.float64), y.astype(np.float64)  # numba TypingError on float32
    return lambda: test.statistic(x64, y64)


def build_seed(x: Any, y: Any, sigma: float) -> Runner:
    """The seeds' ``get_mmd`` (five Gaussians around the mean distance), as is."""
    sys.path.insert(0, str(HERE))
    from seed_baseline import get_mmd

    torch = import_torch()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    return _torch_runner(lambda: get_mmd(tx, ty))


@dataclass(frozen=True)
class Impl:
    """One implementation of the exact section.

    ``quantity``: what its value estimates (``biased``, ``half_biased``,
    ``unbiased``, ``kid``, ``seed``, or ``None`` for a statistic of its own);
    ``ours``: the mmd_any implementation it is compared with; ``memory``:
    estimated peak bytes at ``(n, d)`` (None: no estimate needed).
    """

    label: str
    library: str
    kernel: str
    quantity: str | None
    build: Callable[[Any, Any, float], Runner]
    ours: str | None = None
    memory: Callable[[int, int], float] | None = None
    memory_note: str = "estimated peak"
    module: str | None = None
    limit_gib: float | None = None


def _mmd_any_impl(library: str, what: str) -> Callable[[Any, Any, float], Runner]:
    return lambda x, y, sigma: build_mmd_any(x, y, sigma, library, what)


IMPLS: dict[str, Impl] = {
    "mmd_any_numpy": Impl(
        "mmd_any numpy", "numpy", "Gaussian(σ)", "biased", _mmd_any_impl("numpy", "gaussian")
    ),
    "mmd_any_torch": Impl(
        "mmd_any torch", "torch", "Gaussian(σ)", "biased", _mmd_any_impl("torch", "gaussian")
    ),
    "geomloss": Impl(
        "GeomLoss SamplesLoss tensorized (= MMD²/2)",
        "torch",
        "Gaussian(σ)",
        "half_biased",
        build_geomloss,
        ours="mmd_any_torch",
        memory=lambda n, d: 6.0 * n * n * 4,
        module="geomloss",
    ),
    "alibi": Impl(
        "alibi-detect pytorch mmd2 (unbiased)",
        "torch",
        "Gaussian(σ)",
        "unbiased",
        build_alibi,
        ours="mmd_any_torch",
        memory=lambda n, d: 7.0 * n * n * 4,
        module="alibi_detect",
    ),
    "hyppo": Impl(
        "hyppo MMD.statistic (HSIC form, float64)",
        "numpy",
        "Gaussian(σ)",
        None,
        build_hyppo,
        ours="mmd_any_numpy",
        memory=lambda n, d: 8.0 * (2 * n) ** 2 * 8,
        module="hyppo",
    ),
    "mmd_any_kid": Impl(
        "mmd_any torch preset='kid'", "torch", "poly³ (KID)", "kid", _mmd_any_impl("torch", "kid")
    ),
    "torchmetrics": Impl(
        "torchmetrics poly_mmd (KID kernel)",
        "torch",
        "poly³ (KID)",
        "kid",
        build_torchmetrics,
        ours="mmd_any_kid",
        memory=lambda n, d: 5.0 * n * n * 4,
        module="torchmetrics",
    ),
    "mmd_any_seed": Impl(
        "mmd_any torch preset='seed'",
        "torch",
        "5 Gaussians (seed)",
        "seed",
        _mmd_any_impl("torch", "seed"),
    ),
    "seed": Impl(
        "seeds' get_mmd (broadcast)",
        "torch",
        "5 Gaussians (seed)",
        "seed",
        build_seed,
        ours="mmd_any_seed",
        memory=lambda n, d: float((2 * n) ** 2 * d * 4),
        memory_note="(2n)²·d·4 B broadcast temporary",
        limit_gib=6.0,
        module="torch",
    ),
}
#: The mmd_any rows that only exist to be compared with one peer.
COMPANIONS = {"mmd_any_kid": "torchmetrics", "mmd_any_seed": "seed"}


def child_exact(spec: dict[str, Any]) -> dict[str, Any]:
    """Time one implementation at one size."""
    impl = IMPLS[spec["impl"]]
    x, y = make_data(spec["n"], spec["d"], EXACT_SHIFT)
    sigma = median_sigma(x, y)
    try:
        run = impl.build(x, y, sigma)
    except ImportError as error:
        return {"status": f"not installed: {type(error).__name__}: {error}", "sigma": sigma}
    result = timed(run, spec["warmup"], spec["runs"], spec["budget"])
    result["sigma"] = sigma
    return result


def child_reference(spec: dict[str, Any]) -> dict[str, Any]:
    """float64 NumPy ``mmd_any`` values of every quantity at one size (the check)."""
    import numpy as np

    import mmd_any

    x, y = make_data(spec["n"], spec["d"], EXACT_SHIFT)
    sigma = median_sigma(x, y)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    kernel = mmd_any.kernels.Gaussian(sigma)
    values = {
        "biased": float(mmd_any.mmd2(x64, y64, kernel=kernel)),
        "unbiased": float(mmd_any.mmd2(x64, y64, kernel=kernel, estimator="unbiased")),
        "kid": float(mmd_any.mmd2(x64, y64, preset="kid")),
    }
    if spec.get("with_seed"):
        values["seed"] = float(mmd_any.mmd2(x64, y64, preset="seed"))
    values["half_biased"] = values["biased"] / 2.0
    return {"status": "ok", "sigma": sigma, "values": values}


# ====================================================== child: approximations


def rff_bounds(n_features: int) -> tuple[float, float]:
    """The documented Hoeffding bound (δ = 0.05) and standard-deviation bound, L = 1."""
    try:
        from mmd_any.approximate import rff_error_bound

        hoeffding = rff_error_bound(n_features, 1, DELTA)
    except ImportError:
        hoeffding = math.sqrt(8.0 * math.log(2.0 / DELTA) / (n_features / 2))
    return hoeffding, 2.0 * math.sqrt(2.0) / math.sqrt(n_features)


def child_approx(spec: dict[str, Any]) -> dict[str, Any]:
    """One approximation (or the exact value) at n = m = ``spec['n']``, d = 64."""
    import numpy as np

    import mmd_any

    x, y = make_data(spec["n"], spec["d"], APPROX_SHIFT)
    sigma = median_sigma(x, y)
    kernel = mmd_any.kernels.Gaussian(sigma)
    method = spec["method"]
    if method == "reference":
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        return {
            "status": "ok",
            "sigma": sigma,
            "value": float(mmd_any.mmd2(x64, y64, kernel=kernel)),
        }
    if method == "rff" and not hasattr(mmd_any, "mmd2_rff"):
        return {"status": "not available: mmd_any.mmd2_rff does not exist yet", "sigma": sigma}
    if spec["library"] == "torch":
        torch = import_torch()
        x, y = torch.from_numpy(x), torch.from_numpy(y)
    if method == "rff":
        seeds = iter(range(10**6))
        features = spec["features"]

        def run() -> Any:
            return mmd_any.mmd2_rff(
                x, y, kernel=kernel, n_features=features, seed=next(seeds), check_finite=False
            )

        run()  # seed 0, untimed; the timed runs use seeds 1..APPROX_SEEDS
        result = timed(run, 0, spec["runs"], 1e9)
    else:
        options = {"estimator": "linear"} if method == "linear" else {}

        def run() -> Any:
            return mmd_any.mmd2(x, y, kernel=kernel, check_finite=False, **options)

        result = timed(run, spec["warmup"], spec["runs"], spec["budget"])
    result["sigma"] = sigma
    return result


# ================================================================ child: Dask


def child_dask(spec: dict[str, Any]) -> dict[str, Any]:
    """One Dask computation on a 2-worker LocalCluster, with worker memory sampling."""
    import dask.array as da
    import numpy as np
    import psutil
    from distributed import Client, LocalCluster

    import mmd_any

    n, method, timeout = spec["n"], spec["method"], spec["timeout"]
    chunk = min(spec["chunk"], n)
    x = da.random.default_rng(1).standard_normal(
        (n, DASK_DIM), chunks=(chunk, DASK_DIM), dtype=np.float32
    )
    y = da.random.default_rng(2).standard_normal(
        (n, DASK_DIM), chunks=(chunk, DASK_DIM), dtype=np.float32
    ) + np.float32(EXACT_SHIFT)
    if method == "rff" and not hasattr(mmd_any, "mmd2_rff"):
        return {"status": "not available: mmd_any.mmd2_rff does not exist yet"}
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        head_x, head_y = da.compute(x[:500], y[:500])
        sigma = median_sigma(head_x, head_y)
        kernel = mmd_any.kernels.Gaussian(sigma)
        start = time.perf_counter()
        if method == "exact":
            lazy = mmd_any.mmd2(x, y, kernel=kernel, check_finite=False)
        else:
            lazy = mmd_any.mmd2_rff(
                x, y, kernel=kernel, n_features=spec["features"], seed=0, check_finite=False
            )
        build_s = time.perf_counter() - start
        tasks = len(lazy.__dask_graph__())
        workers = [psutil.Process(pid) for pid in client.run(os.getpid).values()]
        baseline = [w.memory_info().rss for w in workers]
        peaks = list(baseline)
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.2):
                for i, worker in enumerate(workers):
                    with contextlib.suppress(psutil.Error):
                        peaks[i] = max(peaks[i], worker.memory_info().rss)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        start = time.perf_counter()
        future = client.compute(lazy)
        result: dict[str, Any] = {"sigma": sigma, "build_s": build_s, "tasks": tasks}
        try:
            value = future.result(timeout=timeout)
            result.update(status="ok", seconds=time.perf_counter() - start, value=float(value))
        except TimeoutError:
            states = client.run_on_scheduler(_task_states)
            result.update(
                status=f"timeout after {timeout:.0f} s (scheduler task states: {states})",
                seconds=time.perf_counter() - start,
            )
            future.cancel()
        except Exception as error:  # noqa: BLE001 - report whatever the computation raised
            result.update(
                status=f"failed: {type(error).__name__}: {str(error)[:300]}",
                seconds=time.perf_counter() - start,
            )
        stop.set()
        sampler.join()
    mib = 2**20
    result["worker_baseline_mib"] = [b / mib for b in baseline]
    result["worker_peak_extra_mib"] = [(p - b) / mib for p, b in zip(peaks, baseline, strict=True)]
    result["worker_peak_mib"] = [p / mib for p in peaks]
    return result


def _task_states(dask_scheduler: Any) -> dict[str, int]:
    """Number of the scheduler's tasks in each state (run on the scheduler)."""
    counts: dict[str, int] = {}
    for task in dask_scheduler.tasks.values():
        counts[task.state] = counts.get(task.state, 0) + 1
    return counts


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "rates": lambda spec: child_rates(spec["runs"]),
    "exact": child_exact,
    "reference": child_reference,
    "approx": child_approx,
    "dask": child_dask,
}


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """One case in this fresh process (``--child``), every thread pool at :data:`THREADS`."""
    limits = _harness.limit_threads(THREADS)
    try:
        return CHILDREN[spec["kind"]](spec)
    finally:
        del limits


# ============================================================ parent: running


@dataclass
class Runtime:
    """Parent-side state: the options and the wall clock."""

    args: argparse.Namespace
    start: float = field(default_factory=time.perf_counter)


def run_case(rt: Runtime, spec: dict[str, Any], timeout: float, label: str) -> dict[str, Any]:
    """Run ``spec`` in a fresh interpreter with pinned threads; its result or why none."""
    policy = None if rt.args.omp_wait_policy == "default" else rt.args.omp_wait_policy
    outcome = _harness.spawn(
        __file__,
        spec,
        timeout=timeout,
        env=_harness.thread_environment(THREADS, policy),
        unset=("OMP_WAIT_POLICY",),
        label=label,
    )
    if not outcome.ok or outcome.result is None:
        return {"status": outcome.describe()}
    return {**outcome.result, "wall_s": outcome.wall_s}


def _ok(result: dict[str, Any] | None) -> bool:
    return result is not None and result.get("status") == "ok"


# --------------------------------------------------------- section: exact


def bound_seconds(rates: dict[str, Any], n: int, m: int, d: int) -> float | None:
    """``E·2(d+2)/R_mm + E/R_exp`` with ``E = N(N+1)/2``, ``N = n + m``, best rates."""
    if not _ok(rates):
        return None
    size = n + m
    entries = size * (size + 1) / 2
    matmul = max(rates["matmul_numpy"], rates["matmul_torch"])
    exp = max(rates["exp_numpy"], rates["exp_torch"])
    return entries * 2 * (d + 2) / matmul + entries / exp


def exact_plan(n: int, d: int, rt: Runtime) -> list[tuple[str, str | None]]:
    """The implementations to run at ``(n, d)`` and, for the others, why not."""

    def too_big(impl: Impl) -> str | None:
        limit = impl.limit_gib if impl.limit_gib is not None else rt.args.mem_limit
        if impl.memory is None or impl.memory(n, d) <= limit * GIB:
            return None
        return f"skipped: {impl.memory_note} ≈ {impl.memory(n, d) / GIB:.1f} GiB > {limit:g} GiB"

    plan: list[tuple[str, str | None]] = []
    for name, impl in IMPLS.items():
        if name in COMPANIONS and too_big(IMPLS[COMPANIONS[name]]):
            continue  # no peer to compare with at this size
        plan.append((name, too_big(impl)))
    return plan


def run_exact(rt: Runtime, rates: dict[str, Any]) -> tuple[_harness.Table, dict[str, Any]]:
    """Every (size, implementation) of the exact section; the table and the raw results."""
    args = rt.args
    sizes = QUICK_SIZES if args.quick else EXACT_SIZES
    if args.skip_large:
        sizes = [s for s in sizes if s[0] < LARGE_N]
    results: dict[str, Any] = {}
    rows: list[list[str]] = []
    sigmas: list[str] = []
    for n, d in sizes:
        large = n >= LARGE_N
        plan = exact_plan(n, d, rt)
        reference: dict[str, Any] | None = None
        if n <= REFERENCE_MAX_N:
            with_seed = any(name == "seed" and skip is None for name, skip in plan)
            reference = run_case(
                rt,
                {"kind": "reference", "n": n, "d": d, "with_seed": with_seed},
                args.timeout,
                f"exact n={n} d={d}: float64 reference",
            )
        size_results: dict[str, dict[str, Any]] = {}
        for name, skip in plan:
            if skip is not None:
                size_results[name] = {"status": skip}
                continue
            spec = {
                "kind": "exact",
                "impl": name,
                "n": n,
                "d": d,
                "warmup": 0 if large else 1,
                "runs": args.runs_large if large else args.runs,
                "budget": args.case_budget,
            }
            size_results[name] = run_case(rt, spec, args.timeout, f"exact n={n} d={d}: {name}")
        bound = bound_seconds(rates, n, n, d)
        results[f"{n}x{d}"] = {"reference": reference, "cases": size_results, "bound": bound}
        sigma = next((r["sigma"] for r in size_results.values() if "sigma" in r), None)
        sigmas.append(f"n={n}, d={d}: σ = {fmt(sigma, '.4g')}")
        for name, res in size_results.items():
            rows.append(exact_row(n, d, name, res, size_results, reference, bound))
    notes = [
        "× bound: median time / machine bound of the case (see the header); "
        "× mmd_any: row time / time of the mmd_any row it is compared with "
        "(same library and kernel; > 1 means mmd_any is faster).",
        "check: |value − float64 mmd_any value of the same quantity| / |that value| "
        "(GeomLoss: MMD²/2; alibi-detect: unbiased; torchmetrics: KID preset); "
        f"at n = {LARGE_N:,}: torch vs NumPy mmd_any.",
        "peak MiB: peak RSS above the RSS after inputs and imports, in a fresh process.",
        "other load: CPUs kept busy by other processes during the timed runs.",
        "Bandwidths (median distance of the first 500 rows of x and y): " + "; ".join(sigmas),
    ]
    title = (
        f"Exact MMD², n = m, float32, {THREADS} threads, y ~ N({EXACT_SHIFT}, 1); median of "
        f"the stated runs after one warm-up (no warm-up at n = {LARGE_N:,})"
    )
    table = _harness.Table(title, EXACT_HEADERS, rows, notes, align="lll")
    table.notes += exact_targets(results)
    return table, results


EXACT_HEADERS = [
    "n",
    "d",
    "implementation",
    "kernel",
    "runs",
    "median s",
    "× bound",
    "× mmd_any",
    "peak MiB",
    "value",
    "check",
    "other load",
    "note",
]


def exact_row(
    n: int,
    d: int,
    name: str,
    res: dict[str, Any],
    size_results: dict[str, dict[str, Any]],
    reference: dict[str, Any] | None,
    bound: float | None,
) -> list[str]:
    """One table row."""
    impl = IMPLS[name]
    head = [str(n), str(d), impl.label, impl.kernel]
    if not _ok(res):
        return head + ["-"] * 8 + [res.get("status", "?")]
    seconds = res["seconds"]
    ours = size_results.get(impl.ours) if impl.ours else None
    check = None
    if impl.quantity is not None and res["value"] is not None:
        expected = None
        if _ok(reference):
            expected = reference["values"].get(impl.quantity)
        elif name == "mmd_any_torch" and _ok(size_results.get("mmd_any_numpy")):
            expected = size_results["mmd_any_numpy"]["value"]
        if expected:
            check = abs(res["value"] - expected) / abs(expected)
    note = []
    if name == "seed":
        note.append("5 kernels, mean-distance bandwidth")
    return [
        *head,
        str(res["runs"]),
        fmt(seconds, ".4g"),
        fmt(seconds / bound if bound else None, ".2f"),
        fmt(seconds / ours["seconds"] if _ok(ours) else None, ".2f"),
        fmt(res["peak_extra_mib"], ".0f"),
        fmt(res["value"], ".6g"),
        fmt(check, ".1e"),
        fmt(res["other_load"], ".2f"),
        "; ".join(note),
    ]


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def exact_targets(results: dict[str, Any]) -> list[str]:
    """The PASS/FAIL lines of the exact section."""
    lines: list[str] = []
    # 1. within 2x of the bound for n >= 2048 (best of mmd_any's two libraries per size)
    ratios, worst = [], 0.0
    for key, block in results.items():
        n, d = (int(v) for v in key.split("x"))
        if n < 2048:
            continue
        bound = block.get("bound")
        per_lib = {
            lib: block["cases"][f"mmd_any_{lib}"]["seconds"] / bound
            for lib in ("numpy", "torch")
            if bound and _ok(block["cases"].get(f"mmd_any_{lib}"))
        }
        if per_lib:
            best = min(per_lib.values())
            worst = max(worst, best)
            ratios.append(
                f"{n}×{d}: " + "/".join(f"{per_lib.get(lib, float('nan')):.2f}" for lib in per_lib)
            )
    if ratios:
        lines.append(
            f"{_verdict(worst <= 2.0)}: exact mmd_any within 2× of the machine bound for "
            f"n ≥ 2048 (best library per size; × bound numpy/torch: {', '.join(ratios)}; "
            "against a full-matrix bound of N² entries these ratios halve)"
        )
    # 2. faster than every peer where both run
    slower, compared = [], 0
    for key, block in results.items():
        for name, res in block["cases"].items():
            impl = IMPLS[name]
            ours = block["cases"].get(impl.ours) if impl.ours else None
            if _ok(res) and _ok(ours):
                compared += 1
                if ours["seconds"] >= res["seconds"]:
                    slower.append(f"{name} at {key} ({res['seconds'] / ours['seconds']:.2f}×)")
    if compared:
        detail = "slower than " + ", ".join(slower) if slower else f"{compared} comparisons"
        lines.append(
            f"{_verdict(not slower)}: mmd_any faster than every peer at every size where "
            f"both run (same library and kernel; {detail})"
        )
    # 3. >= 20x faster than the seed at n = 2048
    block = results.get("2048x64")
    if block and _ok(block["cases"].get("seed")) and _ok(block["cases"].get("mmd_any_seed")):
        seed = block["cases"]["seed"]["seconds"]
        ratio = seed / block["cases"]["mmd_any_seed"]["seconds"]
        single = block["cases"].get("mmd_any_torch")
        extra = (
            f"; {seed / single['seconds']:.1f}× against mmd_any's single Gaussian"
            if _ok(single)
            else ""
        )
        lines.append(
            f"{_verdict(ratio >= 20)}: ≥ 20× faster than the seeds' code at n = 2048 "
            f"({ratio:.1f}× with the same five kernels{extra})"
        )
    # 4. n = 100,000 in under 2 GiB extra memory
    block = results.get(f"{LARGE_N}x64")
    if block:
        peaks = {
            lib: block["cases"][f"mmd_any_{lib}"]["peak_extra_mib"]
            for lib in ("numpy", "torch")
            if _ok(block["cases"].get(f"mmd_any_{lib}"))
        }
        if peaks:
            shown = ", ".join(f"{lib} {mib:.0f} MiB" for lib, mib in peaks.items())
            lines.append(
                f"{_verdict(max(peaks.values()) < 2048)}: n = {LARGE_N:,} in under 2 GiB extra "
                f"memory ({shown})"
            )
    return lines


# -------------------------------------------------------- section: approx


APPROX_HEADERS = [
    "method",
    "library",
    "D",
    "runs",
    "median s",
    "× exact time",
    "peak MiB",
    "value (mean)",
    "abs error (RMS)",
    "max abs error",
    "bound δ=0.05",
    "sd bound",
    "within bound",
    "note",
]


def run_approx(rt: Runtime) -> tuple[_harness.Table, dict[str, Any]]:
    """RFF and the linear estimator against the exact biased MMD²."""
    args = rt.args
    n, d = (1024, 16) if args.quick else (8192, 64)
    base = {"kind": "approx", "n": n, "d": d, "budget": args.case_budget}
    reference = run_case(
        rt, {**base, "method": "reference"}, args.timeout, f"approx n={n}: float64 exact"
    )
    exact_value = reference.get("value") if _ok(reference) else None
    results: dict[str, Any] = {"reference": reference}
    rows: list[list[str]] = []
    exact_times: dict[str, float] = {}
    plan: list[tuple[str, str, int | None]] = [("exact", lib, None) for lib in ("numpy", "torch")]
    plan += [("linear", lib, None) for lib in ("numpy", "torch")]
    plan += [("rff", lib, k) for k in APPROX_FEATURES for lib in ("numpy", "torch")]
    for method, lib, features in plan:
        spec = {**base, "method": method, "library": lib, "features": features}
        spec.update(warmup=1, runs=APPROX_SEEDS if method == "rff" else args.runs)
        label = f"approx n={n}: {method} {lib}" + (f" D={features}" if features else "")
        res = run_case(rt, spec, args.timeout, label)
        results[label] = res
        if method == "exact" and _ok(res):
            exact_times[lib] = res["seconds"]
        rows.append(approx_row(method, lib, features, res, exact_value, exact_times))
    notes = [
        f"n = m = {n}, d = {d}, float32, y ~ N({APPROX_SHIFT}, 1), Gaussian(σ) with σ = "
        f"{fmt(reference.get('sigma'), '.4g')} (median heuristic, fixed); exact biased MMD² "
        f"(float64 mmd_any) = {fmt(exact_value, '.6g')}.",
        "RFF: mmd2_rff(x, y, kernel=Gaussian(σ), n_features=D, seed=s), s = 1..10 timed (one "
        "untimed warm-up with s = 0); error = value − exact biased MMD²; bound: the library's "
        "4·L·sqrt(log(2/δ)/D) (δ = 0.05, L = 1), sd bound 2·√2·L/√D.",
        "linear: mmd2(x, y, kernel=Gaussian(σ), estimator='linear'), deterministic; its error is "
        "against the biased V-statistic (it estimates the population MMD², with sd ~ 1/√n).",
    ]
    title = "Approximations vs exact (biased) MMD²"
    return _harness.Table(title, APPROX_HEADERS, rows, notes, align="lll"), results


def approx_row(
    method: str,
    lib: str,
    features: int | None,
    res: dict[str, Any],
    exact: float | None,
    exact_times: dict[str, float],
) -> list[str]:
    """One row of the approximation table."""
    head = [method, lib, "-" if features is None else str(features)]
    if not _ok(res):
        return head + ["-"] * 10 + [res.get("status", "?")]
    values = [v for v in res["values"] if v is not None]
    mean = statistics.fmean(values)
    errors = [v - exact for v in values] if exact is not None else []
    rms = math.sqrt(statistics.fmean([e * e for e in errors])) if errors else None
    largest = max((abs(e) for e in errors), default=None)
    bound = sd_bound = None
    within = "-"
    if method == "rff" and features:
        bound, sd_bound = rff_bounds(features)
        if errors:
            within = f"{sum(abs(e) <= bound for e in errors)}/{len(errors)}"
    own = exact_times.get(lib)
    return [
        *head,
        str(res["runs"]),
        fmt(res["seconds"], ".4g"),
        fmt(res["seconds"] / own if own else None, ".3f"),
        fmt(res["peak_extra_mib"], ".0f"),
        fmt(mean, ".6g"),
        fmt(rms, ".2e"),
        fmt(largest, ".2e"),
        fmt(bound, ".3g"),
        fmt(sd_bound, ".3g"),
        within,
        "",
    ]


# ---------------------------------------------------------- section: dask


DASK_HEADERS = [
    "n = m",
    "computation",
    "chunks",
    "tasks",
    "graph s",
    "compute s",
    "worker peak extra MiB",
    "worker peak MiB",
    "value",
    "note",
]


def run_dask(rt: Runtime) -> tuple[_harness.Table, dict[str, Any]]:
    """Exact and RFF MMD² of lazy Dask arrays on a local 2-process cluster."""
    args = rt.args
    small, big = (2_000, 8_000) if args.quick else (100_000, 1_000_000)
    chunk = 1_000 if args.quick else DASK_CHUNK
    base = {"kind": "dask", "chunk": chunk, "features": DASK_RFF_FEATURES}
    plan = [("exact", small), ("rff", small), ("rff", big), ("exact", big)]
    results: dict[str, Any] = {}
    rows: list[list[str]] = []
    for method, n in plan:
        label = f"dask {method} n={n:,}"
        if method == "exact" and n == big and not args.dask_exact_million:
            res = {"status": "not run"}
            first = results.get(f"dask exact n={small:,}")
            if _ok(first):
                estimate = first["seconds"] * (big / small) ** 2
                res["status"] = (
                    f"not run (opt-in --dask-exact-million): estimated {estimate / 60:.0f} min "
                    f"from the n = {small:,} rate"
                )
            results[label] = res
        else:
            spec = {**base, "method": method, "n": n, "timeout": args.dask_timeout}
            res = run_case(rt, spec, args.dask_timeout + 180, label)
            results[label] = res
        rows.append(dask_row(method, n, chunk, res))
    notes = [
        "LocalCluster(n_workers=2, threads_per_worker=1, processes=True); inputs from "
        f"da.random.default_rng(seed).standard_normal, float32, d = {DASK_DIM}, y shifted by "
        f"{EXACT_SHIFT}; Gaussian(σ) fixed (median heuristic on 500 + 500 rows); RFF with "
        f"D = {DASK_RFF_FEATURES}, seed 0. One run each.",
        "graph s: the mmd2 call that builds the lazy graph; compute s: client.compute(...).result()"
        ", data generation included; worker memory: RSS of each worker process sampled every "
        "0.2 s with psutil (largest worker; extra = above its RSS before the computation).",
    ]
    exact = results.get(f"dask exact n={small:,}", {})
    rff = results.get(f"dask rff n={small:,}", {})
    if _ok(exact) and _ok(rff):
        notes.append(
            f"RFF at n = {small:,}: abs(rff − exact) = {abs(rff['value'] - exact['value']):.2e} "
            f"(bound δ=0.05: {rff_bounds(DASK_RFF_FEATURES)[0]:.3g})."
        )
    title = "Dask (distributed, 2 workers × 1 thread)"
    return _harness.Table(title, DASK_HEADERS, rows, notes, align="lll"), results


def dask_row(method: str, n: int, chunk: int, res: dict[str, Any]) -> list[str]:
    """One row of the Dask table."""
    what = "exact mmd2" if method == "exact" else f"mmd2_rff D={DASK_RFF_FEATURES}"
    head = [f"{n:,}", what, f"{min(chunk, n):,} rows"]
    status = res.get("status", "?")
    if "seconds" not in res:
        return head + ["-"] * 6 + [status]
    return [
        *head,
        str(res.get("tasks", "-")),
        fmt(res.get("build_s"), ".2f"),
        fmt(res.get("seconds"), ".1f"),
        fmt(max(res.get("worker_peak_extra_mib") or [0.0]), ".0f"),
        fmt(max(res.get("worker_peak_mib") or [0.0]), ".0f"),
        fmt(res.get("value"), ".6g"),
        "" if status == "ok" else status,
    ]


# ------------------------------------------------------------------ main


def header_lines(
    rates: dict[str, Any], load_start: tuple[float, ...], wait_policy: str
) -> list[str]:
    """Date, machine, versions, threads, rates and the bound formula."""
    lines = [
        f"mmd_any benchmark suite — {_harness.timestamp()}",
        f"machine: {_harness.machine()}",
        f"versions: {_harness.versions(*DISTRIBUTIONS)}",
        f"threads: {THREADS} (torch.set_num_threads, threadpoolctl and "
        f"{'/'.join(_harness.THREAD_VARIABLES)}), OMP_WAIT_POLICY={wait_policy}; "
        f"load average (1 min) at start: {load_start[0]:.2f}",
    ]
    if _ok(rates):
        lines.append(
            "machine rates (float32, median of runs): matmul 2048³ numpy "
            f"{rates['matmul_numpy'] / 1e9:.1f} / torch {rates['matmul_torch'] / 1e9:.1f} "
            f"GFLOP/s; thin matmul 4096×66×4096 numpy {rates['thin_numpy'] / 1e9:.1f} / torch "
            f"{rates['thin_torch'] / 1e9:.1f} GFLOP/s (information only); exp of 2^24 numpy "
            f"{rates['exp_numpy'] / 1e9:.3f} / torch {rates['exp_torch'] / 1e9:.3f} Gelem/s"
        )
        lines.append(
            "machine bound of an exact case: E·2(d+2)/R_mm + E/R_exp, E = N(N+1)/2 entries "
            "(upper triangle with diagonal, all mmd_any evaluates), N = n + m, R_mm and R_exp "
            "the best 2048³ matmul and exp rates above; one exp per entry (a single Gaussian)"
        )
    else:
        lines.append(f"machine rates: {rates.get('status')}")
    return lines


def main_parent(args: argparse.Namespace) -> None:
    """Run the selected sections, then print (and save) the report."""
    rt = Runtime(args)
    load_start = os.getloadavg()
    if args.quick:
        args.runs = 1
    sections = [args.only] if args.only else ["exact", "approx", "dask"]
    if args.skip_dask and "dask" in sections:
        sections.remove("dask")
    rates = run_case(rt, {"kind": "rates", "runs": 5}, args.timeout, "machine rates")
    tables: list[_harness.Table] = []
    raw: dict[str, Any] = {"rates": rates}
    for section in sections:
        if section == "exact":
            table, raw["exact"] = run_exact(rt, rates)
        elif section == "approx":
            table, raw["approx"] = run_approx(rt)
        else:
            table, raw["dask"] = run_dask(rt)
        tables.append(table)
    load_end = os.getloadavg()
    wall = time.perf_counter() - rt.start
    tail = [
        f"load average (1 min): {load_start[0]:.2f} at start, {load_end[0]:.2f} at end; "
        f"total wall time {wall / 60:.1f} min"
    ]
    head = header_lines(rates, load_start, args.omp_wait_policy)
    text = _harness.render_report(head, tables, tail, args.markdown)
    print(text, end="")
    if args.output:
        Path(args.output).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1, default=str))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line (``--child SPEC``, one case, is read by :func:`_harness.serve_child`)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: tiny sizes, 1 run")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--output", metavar="FILE", help="also write the report to FILE")
    parser.add_argument("--json", metavar="FILE", help="write the raw results as JSON")
    parser.add_argument("--only", choices=["exact", "approx", "dask"], help="one section")
    parser.add_argument("--skip-large", action="store_true", help=f"skip n = {LARGE_N:,}")
    parser.add_argument("--skip-dask", action="store_true", help="skip the Dask section")
    parser.add_argument(
        "--dask-exact-million", action="store_true", help="run the exact Dask case at n = 10^6"
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument(
        "--runs-large", type=int, default=1, help=f"timed runs at n = {LARGE_N:,} (default 1)"
    )
    parser.add_argument(
        "--case-budget",
        type=float,
        default=120.0,
        help="cut the timed runs of a case to about this many seconds (default 120)",
    )
    parser.add_argument(
        "--mem-limit",
        type=float,
        default=8.0,
        help="skip peers whose estimated peak memory exceeds this many GiB (default 8; the "
        "seeds' code: its broadcast temporary above 6 GiB)",
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds per case before it is killed"
    )
    parser.add_argument(
        "--dask-timeout", type=float, default=1500.0, help="seconds per Dask computation"
    )
    parser.add_argument(
        "--omp-wait-policy",
        choices=["PASSIVE", "ACTIVE", "default"],
        default="PASSIVE",
        help="OMP_WAIT_POLICY of the cases (default PASSIVE: with another process busy on "
        "this 2-core machine, torch's spinning OpenMP threads at the default policy make "
        "small kernels up to 50x slower; 'default' leaves it unset)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point: the parent, or one case in a child process (``--child``)."""
    if _harness.serve_child(run_child, argv):
        return
    main_parent(parse_args(argv))


if __name__ == "__main__":
    main()
