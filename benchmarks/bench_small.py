"""Small batches, interleaved: mmd_any against GeomLoss, alibi-detect and torchmetrics.

At n = m ≤ 512 a call takes a few milliseconds and this shared machine's noise is
as large as the differences, so the suite's one-case-at-a-time medians are not
enough. Here every implementation is called in turn, 150 rounds, and the medians
are compared (``_harness.interleaved``; float32, torch, 2 threads, one Gaussian
σ = 11.21, d = 64). Peers that are not installed are left out.

    python benchmarks/bench_small.py 256 512
    python benchmarks/bench_small.py --quick     # n = 64, 5 rounds: seconds
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable

import numpy as np
import torch
from _harness import interleaved, table

import mmd_any
from mmd_any import kernels

SIGMA, FEATURES, ROUNDS = 11.21, 64, 150


def implementations(x: torch.Tensor, y: torch.Tensor) -> dict[str, Callable[[], object]]:
    """The calls to compare; peers only where they import."""
    gaussian = kernels.Gaussian(SIGMA)
    calls: dict[str, Callable[[], object]] = {
        "mmd_any": lambda: mmd_any.mmd2(x, y, kernel=gaussian),
        "mmd_any check_finite=False": lambda: mmd_any.mmd2(
            x, y, kernel=gaussian, check_finite=False
        ),
        "mmd_any preset='kid'": lambda: mmd_any.mmd2(x, y, preset="kid"),
    }
    try:
        from geomloss import SamplesLoss

        loss = SamplesLoss("gaussian", blur=SIGMA, backend="tensorized")
        calls["GeomLoss tensorized"] = lambda: loss(x, y)
    except ImportError:
        pass
    try:
        from alibi_detect.utils.pytorch.distance import mmd2 as alibi_mmd2
        from alibi_detect.utils.pytorch.kernels import GaussianRBF

        rbf = GaussianRBF(sigma=torch.tensor([SIGMA]))
        calls["alibi-detect mmd2"] = lambda: alibi_mmd2(x, y, rbf)
    except ImportError:
        pass
    try:
        from torchmetrics.image.kid import poly_mmd

        calls["torchmetrics poly_mmd (KID)"] = lambda: poly_mmd(x, y)
    except Exception:  # noqa: BLE001 - torchmetrics fails to import without torchvision beside torch-fidelity
        pass
    return calls


def main(sizes: list[int], rounds: int = ROUNDS) -> None:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        x = torch.from_numpy(rng.normal(size=(n, FEATURES)).astype(np.float32))
        y = torch.from_numpy(rng.normal(0.1, size=(n, FEATURES)).astype(np.float32))
        medians = interleaved(implementations(x, y), rounds, warmup=5)
        rows += [[n, name, f"{seconds * 1e3:.2f}"] for name, seconds in medians.items()]
    print(table(["n = m", "implementation", "median ms"], rows))


if __name__ == "__main__":
    if sys.argv[1:] == ["--quick"]:
        main([64], rounds=5)
    else:
        main([int(a) for a in sys.argv[1:]] or [64, 256, 512])
