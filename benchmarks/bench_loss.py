"""Benchmark of ``mmd_any.torch.MMDLoss`` against the seeds' ``MMDLoss``.

Run it with::

    python benchmarks/bench_loss.py            # add --device cuda on a GPU machine
    python benchmarks/bench_loss.py --quick    # B = 32 and 64, 3 reps: seconds

For each batch size ``B ∈ {64, 256, 1024, 4096}`` (source and target batches of
``B`` rows, ``d = 256``, float32, features that require grad) it measures the
forward pass and the forward + backward pass of both modules with their
default arguments (five Gaussians, ratio 2, bandwidth from the mean squared
distance): the median wall time over repetitions after a warm-up, and the
peak extra memory. Each case runs in a fresh subprocess (this script with a
hidden ``--case``); memory is the growth of the peak RSS on the CPU, or
``torch.cuda.max_memory_allocated`` on a GPU. The seeds' module broadcasts a
``(2B, 2B, d)`` tensor: at B = 4096 it would need 64 GiB and is skipped where
it cannot fit.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import torch
from seed_baseline import SeedMMDLoss

from mmd_any.torch import MMDLoss

BATCHES = (64, 256, 1024, 4096)
DIM = 256


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


QUICK_BATCHES = (32, 64)


def _reps(batch: int, quick: bool = False) -> int:
    if quick:
        return 3
    return {64: 50, 256: 20, 1024: 5, 4096: 3}.get(batch, 3)


def run_case(module: str, mode: str, batch: int, device: str, quick: bool) -> dict[str, Any]:
    """Time one (module, mode, batch) and measure its peak extra memory."""
    torch.manual_seed(0)
    source = torch.randn(batch, DIM, device=device, requires_grad=True)
    target = torch.randn(batch, DIM, device=device) + 0.1
    loss_fn = MMDLoss() if module == "mmd_any" else SeedMMDLoss()

    def step() -> float:
        source.grad = None
        loss = loss_fn(source, target)
        if mode == "forward+backward":
            loss.backward()
        return loss

    _sync(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    value = float(step().detach())  # warm-up; the peak of the first call counts too
    _sync(device)
    times = []
    for _ in range(_reps(batch, quick)):
        start = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - start)
    if device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    return {"seconds": statistics.median(times), "peak_mib": peak / 2**20, "value": value}


def seed_fits(batch: int, device: str) -> bool:
    """The seeds' broadcast temporaries: a few (2B, 2B, d) float32 tensors."""
    need = 3 * (2 * batch) ** 2 * DIM * 4
    if device.startswith("cuda"):
        return need < torch.cuda.get_device_properties(device).total_memory * 0.8
    return need < 20 * 2**30


def spawn(module: str, mode: str, batch: int, device: str, quick: bool) -> dict[str, Any]:
    """Run one case in a fresh interpreter so that peak memory is its own."""
    args = [sys.executable, __file__, "--case", module, mode, str(batch), "--device", device]
    args += ["--quick"] if quick else []
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(device: str, quick: bool) -> list[str]:
    """Rows: batch, mode, both modules' time and memory, and the ratios."""
    head = (
        f"{'batch':>5} {'mode':17} {'mmd_any s':>10} {'seed s':>10} {'speed-up':>9} "
        f"{'mmd_any MiB':>12} {'seed MiB':>10} {'memory ratio':>12}"
    )
    lines = [head, "-" * len(head)]
    for batch in QUICK_BATCHES if quick else BATCHES:
        for mode in ("forward", "forward+backward"):
            ours = spawn("mmd_any", mode, batch, device, quick)
            if seed_fits(batch, device):
                seed = spawn("seed", mode, batch, device, quick)
                speed = f"{seed['seconds'] / ours['seconds']:9.1f}x"
                memory = f"{seed['peak_mib'] / max(ours['peak_mib'], 1.0):11.1f}x"
                seed_cols = (
                    f"{seed['seconds']:10.4f} {speed} {ours['peak_mib']:12.1f} "
                    f"{seed['peak_mib']:10.1f}"
                )
            else:
                need = 3 * (2 * batch) ** 2 * DIM * 4 / 2**30
                seed_cols = f"{'-':>10} {'-':>10} {ours['peak_mib']:12.1f} {f'>{need:.0f} GiB':>10}"
                memory = f"{'(skipped)':>12}"
            lines.append(f"{batch:5d} {mode:17} {ours['seconds']:10.4f} {seed_cols} {memory}")
            print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="B = 32 and 64, 3 reps")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    parser.add_argument(
        "--case", nargs=3, metavar=("MODULE", "MODE", "BATCH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.case:
        module, mode, batch = args.case
        print(json.dumps(run_case(module, mode, int(batch), args.device, args.quick)))
        return
    print(
        f"MMDLoss, d = {DIM}, float32, device {args.device}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; median time, peak extra memory"
    )
    lines = table(args.device, args.quick)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as out:
            out.write("```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
