"""GPU benchmark: torch CUDA and CuPy against the seeds, GeomLoss and the device's own rates.

Run it on a machine with an NVIDIA GPU (under 8 minutes on one H200)::

    python benchmarks/bench_gpu.py                    # --device cuda:0
    python benchmarks/bench_gpu.py --quick --device cpu   # a smoke run of the code paths

1. **Device rates**: float32 matmul (8192³, IEEE precision) in TFLOP/s and exp
   in Gelem/s, the roofline of the exact MMD²: ``E·2(d + 2)/R_mm + L·E/R_exp``
   for ``E = N(N + 1)/2`` kernel entries (the upper triangle mmd_any evaluates
   on tiles, or ``N²`` for one tile) and ``L`` bandwidths.
2. **MMDLoss** forward + backward (the seeds' five Gaussians, d = 256) at
   B = 32 … 4096: mmd_any against the seeds' module (skipped where its
   ``(2B, 2B, d)`` temporaries do not fit) and GeomLoss (one Gaussian,
   tensorized), interleaved medians with a device synchronisation after each call.
3. **Exact mmd2** (Gaussian, median bandwidth, float32, d = 64) at n = m = 10⁴ and
   10⁵ on torch CUDA and CuPy, against the roofline, and GeomLoss's KeOps
   backend where pykeops is installed.

Goals (issue 12): n = m = 10⁵ exact ≤ 0.3 s; MMDLoss at B = 64 no slower than the
seeds' module.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import warnings

import numpy as np
import torch
from _harness import (
    interleaved,
    normal_pair,
    ratio,
    table,
    time_call,
    torch_sync,
    versions,
)
from seed_baseline import SeedMMDLoss

import mmd_any
from mmd_any.torch import MMDLoss

DIM_LOSS, DIM_EXACT = 256, 64


def device_rates(device: torch.device, size: int, rounds: int) -> tuple[float, float]:
    """(matmul FLOP/s, exp elements/s) in float32 on ``device``."""
    sync = torch_sync(device)
    a = torch.randn(size, size, device=device)
    elements = torch.randn(size * size, device=device)
    out = torch.empty_like(a)
    matmul = torch.backends.cuda.matmul
    previous = getattr(matmul, "fp32_precision", None)
    if previous is not None:
        matmul.fp32_precision = "ieee"
    try:
        medians = interleaved(
            {
                "matmul": lambda: torch.matmul(a, a, out=out),
                "exp": lambda: torch.exp(elements, out=elements),
            },
            rounds,
            sync=sync,
        )
    finally:
        if previous is not None:
            matmul.fp32_precision = previous
    return 2 * size**3 / medians["matmul"], size * size / medians["exp"]


def seed_fits(batch: int, device: torch.device) -> bool:
    need = 3 * (2 * batch) ** 2 * DIM_LOSS * 4
    if device.type == "cuda":
        return need < 0.8 * torch.cuda.get_device_properties(device).total_memory
    return need < 4 * 2**30


def section_loss(device: torch.device, batches: list[int], rounds: int) -> str:
    sync = torch_sync(device)
    losses = {"mmd_any": MMDLoss(), "seeds": SeedMMDLoss()}
    if importlib.util.find_spec("geomloss"):
        from geomloss import SamplesLoss

        losses["GeomLoss"] = SamplesLoss("gaussian", blur=11.0, backend="tensorized")
    rows = []
    for batch in batches:
        torch.manual_seed(0)
        source = torch.randn(batch, DIM_LOSS, device=device, requires_grad=True)
        target = torch.randn(batch, DIM_LOSS, device=device) + 0.1
        calls = {
            name: (lambda fn=fn, s=source, t=target: fn(s, t).backward())
            for name, fn in losses.items()
            if name != "seeds" or seed_fits(batch, device)
        }
        medians = interleaved(calls, rounds, sync=sync)
        ours = medians["mmd_any"]
        rows.append(
            [
                batch,
                ours * 1e3,
                medians.get("seeds", float("nan")) * 1e3,
                medians.get("GeomLoss", float("nan")) * 1e3,
                ratio(ours, medians.get("seeds")),
                ratio(ours, medians.get("GeomLoss")),
            ]
        )
    return f"MMDLoss forward+backward on {device}, d = {DIM_LOSS}\n\n" + table(
        ["B", "mmd_any ms", "seeds ms", "GeomLoss ms", "/ seeds", "/ GeomLoss"], rows
    )


def _exact_inputs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return normal_pair(n, DIM_EXACT, 0.1, seed)


def cupy_sync() -> None:
    import cupy

    cupy.cuda.Device().synchronize()


def section_exact(device: torch.device, sizes: list[int], rates: tuple[float, float]) -> str:
    sync = torch_sync(device)
    rate_mm, rate_exp = rates
    rows = []
    for n in sizes:
        points = 2 * n
        entries = points * (points + 1) / 2
        roofline = entries * 2 * (DIM_EXACT + 2) / rate_mm + entries / rate_exp
        x, y = _exact_inputs(n)
        runs = {}
        xt, yt = torch.asarray(x, device=device), torch.asarray(y, device=device)
        runs["torch"] = lambda a=xt, b=yt: mmd_any.mmd2(a, b, check_finite=False)
        if device.type == "cuda" and importlib.util.find_spec("cupy"):
            import cupy

            xc, yc = cupy.asarray(x), cupy.asarray(y)
            runs["cupy"] = lambda a=xc, b=yc: mmd_any.mmd2(a, b, check_finite=False)
        if device.type == "cuda" and importlib.util.find_spec("pykeops"):
            from geomloss import SamplesLoss

            keops = SamplesLoss("gaussian", blur=11.0, backend="online")
            runs["GeomLoss KeOps"] = lambda a=xt, b=yt, f=keops: f(a, b)
        for name, run in runs.items():
            wait = cupy_sync if name == "cupy" else sync
            timing = time_call(run, 1, warmup=1, sync=wait, memory=None)  # one warm-up, one run
            seconds = timing.median
            rows.append([n, name, seconds, roofline, ratio(seconds, roofline), timing.values[-1]])
    return f"Exact mmd2 on {device}, Gaussian (median), float32, d = {DIM_EXACT}\n\n" + table(
        ["n = m", "implementation", "seconds", "roofline s", "/ roofline", "value"], rows
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--device", default="cuda:0")
    parser.add_argument("--quick", action="store_true", help="small sizes, few rounds")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: nothing measured (use --device cpu for a smoke run)")
        sys.exit(0)
    quick = args.quick
    start = time.perf_counter()
    rates = device_rates(device, 512 if quick else 8192, 3 if quick else 20)
    print(
        f"{versions('mmd-any', 'torch')}, {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
        + f"; float32 matmul {rates[0] / 1e12:.2f} TFLOP/s, exp {rates[1] / 1e9:.1f} Gelem/s\n"
    )
    print(
        section_loss(device, [32, 64] if quick else [32, 64, 256, 1024, 4096], 5 if quick else 50)
    )
    print()
    print(section_exact(device, [1000] if quick else [10_000, 100_000], rates))
    print(f"\ntotal {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
