"""Benchmark of ``mmd_any.torch.MMDLoss`` against the seeds' ``MMDLoss``.

Run it with::

    python benchmarks/bench_loss.py            # add --device cuda on a GPU machine
    python benchmarks/bench_loss.py --quick    # B = 32 and 64, 3 reps: seconds

For each batch size ``B ∈ {64, 256, 1024, 4096}`` (source and target batches of
``B`` rows, ``d = 256``, float32, features that require grad) it measures the
forward pass and the forward + backward pass of both modules with their
default arguments (five Gaussians, ratio 2, bandwidth from the mean squared
distance): the median wall time over repetitions after a warm-up, and the
peak extra memory, first call included. Each case runs in a fresh subprocess
(this script with a hidden ``--child``, through ``_harness.spawn``); memory is
the peak RSS above the RSS before the first call on the CPU (``VmHWM`` after a
reset), or ``torch.cuda.max_memory_allocated`` above ``memory_allocated`` on a
GPU (``_harness.PeakMemory``). The seeds' module broadcasts a ``(2B, 2B, d)``
tensor: at B = 4096 it would need 64 GiB and is skipped where it cannot fit.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import _harness  # beside this script
import torch
from _harness import ratio
from seed_baseline import SeedMMDLoss

from mmd_any.torch import MMDLoss

BATCHES = (64, 256, 1024, 4096)
QUICK_BATCHES = (32, 64)
DIM = 256
MODES = ("forward", "forward+backward")
#: Seconds one case may run before its process group is killed.
CASE_TIMEOUT = 3600.0
HEADERS = [
    "batch",
    "mode",
    "mmd_any s",
    "seed s",
    "speed-up",
    "mmd_any MiB",
    "seed MiB",
    "memory ratio",
]


def _reps(batch: int, quick: bool = False) -> int:
    if quick:
        return 3
    return {64: 50, 256: 20, 1024: 5, 4096: 3}.get(batch, 3)


def run_case(spec: dict[str, Any]) -> dict[str, Any]:
    """Time one (module, mode, batch) and measure its peak extra memory (``--child``)."""
    module, mode, batch, device = spec["module"], spec["mode"], spec["batch"], spec["device"]
    torch.manual_seed(0)
    source = torch.randn(batch, DIM, device=device, requires_grad=True)
    target = torch.randn(batch, DIM, device=device) + 0.1
    loss_fn = MMDLoss() if module == "mmd_any" else SeedMMDLoss()

    def step() -> torch.Tensor:
        source.grad = None
        loss = loss_fn(source, target)
        if mode == "forward+backward":
            loss.backward()
        return loss

    timing = _harness.time_call(
        step,
        _reps(batch, spec["quick"]),
        sync=_harness.torch_sync(device),
        memory="cuda" if device.startswith("cuda") else "cpu",
    )
    return {"seconds": timing.median, "peak_mib": timing.peak_extra_mib, "value": timing.values[-1]}


def seed_need(batch: int) -> int:
    """Bytes of the seeds' broadcast temporaries: a few (2B, 2B, d) float32 tensors."""
    return 3 * (2 * batch) ** 2 * DIM * 4


def seed_fits(batch: int, device: str) -> bool:
    need = seed_need(batch)
    if device.startswith("cuda"):
        return need < torch.cuda.get_device_properties(device).total_memory * 0.8
    return need < 20 * 2**30


def case(module: str, mode: str, batch: int, device: str, quick: bool) -> dict[str, Any]:
    """One case in a fresh interpreter, so that its peak memory is its own."""
    spec = {"module": module, "mode": mode, "batch": batch, "device": device, "quick": quick}
    label = f"{module} {mode} B={batch}"
    return _harness.spawn(__file__, spec, timeout=CASE_TIMEOUT, label=label).require()


def rows(device: str, quick: bool) -> list[list[str]]:
    """Rows: batch, mode, both modules' time and memory, and the ratios."""
    out = []
    for batch in QUICK_BATCHES if quick else BATCHES:
        for mode in MODES:
            ours = case("mmd_any", mode, batch, device, quick)
            row = [str(batch), mode, f"{ours['seconds']:.4f}"]
            if seed_fits(batch, device):
                seed = case("seed", mode, batch, device, quick)
                row += [
                    f"{seed['seconds']:.4f}",
                    ratio(seed["seconds"], ours["seconds"], 1, "x"),
                    f"{ours['peak_mib']:.1f}",
                    f"{seed['peak_mib']:.1f}",
                    ratio(seed["peak_mib"], max(ours["peak_mib"], 1.0), 1, "x"),
                ]
            else:
                need = f">{seed_need(batch) / 2**30:.0f} GiB"
                row += ["-", "-", f"{ours['peak_mib']:.1f}", need, "(skipped)"]
            out.append(row)
    return out


def main(argv: list[str] | None = None) -> None:
    if _harness.serve_child(run_case, argv):
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="B = 32 and 64, 3 reps")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    args = parser.parse_args(argv)
    title = (
        f"MMDLoss, d = {DIM}, float32, device {args.device}, "
        f"{_harness.versions('mmd-any', 'torch')}, {torch.get_num_threads()} threads; "
        "median time, peak extra memory"
    )
    table = _harness.Table(title, HEADERS, rows(args.device, args.quick), align="rl")
    print(_harness.render_table(table))
    if args.markdown:
        Path(args.markdown).write_text(_harness.render_table(table, markdown=True) + "\n")


if __name__ == "__main__":
    main()
