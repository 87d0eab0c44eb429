"""mmd_any end to end: one two-sample problem on every installed array library.

Run with ``python examples/quickstart.py`` (a few seconds; ``--scale 0.1`` for
tenth-size samples). It draws a reference sample and two comparison samples (one
from the same distribution, one with a small mean shift in 2 of 16 dimensions),
then computes the MMD² with each kernel and estimator on NumPy (float64) and,
where installed, on PyTorch, JAX and Dask (float32), and checks that every
library agrees with NumPy within float32 rounding.
"""

from __future__ import annotations

import argparse
import importlib
import time
from dataclasses import dataclass

import numpy as np

import mmd_any
from mmd_any import kernels
from mmd_any.bandwidths import MeanSquaredDistance

#: Roundings a float32 MMD² may carry relative to the kernel's scale: the kernel
#: entries are rounded (a few eps each, times the distances' conditioning, here
#: below 20 for unit-variance data and median bandwidths) and summed in float64.
FLOAT32_ROUNDINGS = 256

CASES = [
    ("gaussian, median bandwidth", kernels.Gaussian(), "biased"),
    ("gaussian, median bandwidth", kernels.Gaussian(), "unbiased"),
    ("seeds' 5 gaussians (MK-MMD)", kernels.Gaussian(MeanSquaredDistance.seed()), "biased"),
    ("laplacian, median L1", kernels.Laplacian(), "unbiased"),
    ("KID polynomial", kernels.Polynomial(), "unbiased"),
    ("gaussian, linear-time", kernels.Gaussian(), "linear"),
]


def make_data(seed: int = 0, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference, same-distribution and shifted samples (n = 1500, 1200, 1300 × scale)."""
    rng = np.random.default_rng(seed)
    sizes = [max(4, round(size * scale)) for size in (1500, 1200, 1300)]
    reference = rng.normal(size=(sizes[0], 16))
    same = rng.normal(size=(sizes[1], 16))
    shifted = rng.normal(size=(sizes[2], 16))
    shifted[:, :2] += 0.3
    return reference, same, shifted


def converters() -> dict[str, object]:
    """``name -> function(np.ndarray) -> array`` for the installed libraries."""
    found: dict[str, object] = {"numpy": lambda a: a}
    torch = importlib.util.find_spec("torch") and importlib.import_module("torch")
    if torch:
        found["torch"] = lambda a: torch.asarray(a, dtype=torch.float32)
    if importlib.util.find_spec("jax"):
        jnp = importlib.import_module("jax.numpy")
        found["jax"] = lambda a: jnp.asarray(a, dtype=jnp.float32)
    if importlib.util.find_spec("dask"):
        da = importlib.import_module("dask.array")
        found["dask"] = lambda a: da.from_array(a.astype(np.float32), chunks=(500, -1))
    return found


def to_float(value: object) -> float:
    """A Python number from any library's 0-d array (computes Dask)."""
    compute = getattr(value, "compute", None)
    return float(compute() if compute else value)


def kernel_scale(kernel: kernels.Kernel, pooled: np.ndarray) -> float:
    """Largest kernel value on the data: the number of summed bandwidths for the
    radial kernels (k(z, z) = 1 each), ``(γ·max‖z‖² + c)^p`` for the polynomial."""
    if isinstance(kernel, kernels.Polynomial):
        gamma = 1.0 / pooled.shape[1] if kernel.gamma is None else kernel.gamma
        return float(gamma * (pooled**2).sum(axis=1).max() + kernel.coef0) ** kernel.degree
    return float(kernel.rule.count)


@dataclass(frozen=True)
class Row:
    """One kernel and estimator: MMD² (same, shifted) per library, and the verdict."""

    label: str
    estimator: str
    values: dict[str, tuple[float, float]]
    tolerance: float
    seconds: float

    @property
    def agree(self) -> bool:
        base = self.values["numpy"]
        return all(
            abs(v - b) <= self.tolerance
            for values in self.values.values()
            for v, b in zip(values, base, strict=True)
        )


def run(scale: float = 1.0) -> list[Row]:
    """Every case of :data:`CASES` on every installed library."""
    reference, same, shifted = make_data(scale=scale)
    paired = min(len(reference), len(same), len(shifted))
    libraries = converters()
    rows = []
    for label, kernel, estimator in CASES:
        values = {}
        start = time.perf_counter()
        for name, convert in libraries.items():
            cut = paired if estimator == "linear" else None
            ref = convert(reference[:cut])
            values[name] = tuple(
                to_float(
                    mmd_any.mmd2(ref, convert(other[:cut]), kernel=kernel, estimator=estimator)
                )
                for other in (same, shifted)
            )
        pooled = np.concatenate([reference, same, shifted])
        eps32 = float(np.finfo(np.float32).eps)
        tolerance = FLOAT32_ROUNDINGS * eps32 * kernel_scale(kernel, pooled)
        rows.append(Row(label, estimator, values, tolerance, time.perf_counter() - start))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--scale", type=float, default=1.0, help="sample sizes × SCALE")
    args = parser.parse_args(argv)
    print(f"libraries: {', '.join(converters())}")
    header = f"{'kernel':30} {'estimator':9} {'same':>10} {'shifted':>10}  agree  seconds"
    print(header)
    print("-" * len(header))
    for row in run(args.scale):
        same_value, shifted_value = row.values["numpy"]
        verdict = "yes" if row.agree else "NO"
        print(
            f"{row.label:30} {row.estimator:9} {same_value:10.5f} {shifted_value:10.5f}  "
            f"{verdict:5}  {row.seconds:6.2f}"
        )
        if not row.agree:
            raise SystemExit(f"libraries disagree beyond {row.tolerance:.2g}: {row.values}")
    reference, _, shifted = make_data(scale=args.scale)
    distance = mmd_any.mmd(reference, shifted)
    print(f"\nMMD (the metric) between reference and shifted: {float(distance):.4f}")


if __name__ == "__main__":
    main()
