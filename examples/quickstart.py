"""mmd_any end to end: one two-sample problem on every installed array library.

Run with ``python examples/quickstart.py``. It draws a reference sample and two
comparison samples (one from the same distribution, one with a small mean
shift in 2 of 16 dimensions), then computes the MMD² with each kernel and
estimator on NumPy and, where installed, on PyTorch, JAX and Dask, and checks
that all libraries agree with NumPy.
"""

from __future__ import annotations

import importlib
import time

import numpy as np

import mmd_any
from mmd_any import kernels
from mmd_any.bandwidths import MeanSquaredDistance


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference, same-distribution and shifted samples (n = 1500, 1200, 1300)."""
    rng = np.random.default_rng(seed)
    reference = rng.normal(size=(1500, 16))
    same = rng.normal(size=(1200, 16))
    shifted = rng.normal(size=(1300, 16))
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


def main() -> None:
    reference, same, shifted = make_data()
    cases = [
        ("gaussian, median bandwidth", kernels.Gaussian(), "biased"),
        ("gaussian, median bandwidth", kernels.Gaussian(), "unbiased"),
        ("seeds' 5 gaussians (MK-MMD)", kernels.Gaussian(MeanSquaredDistance.seed()), "biased"),
        ("laplacian, median L1", kernels.Laplacian(), "unbiased"),
        ("KID polynomial", kernels.Polynomial(), "unbiased"),
        ("gaussian, linear-time", kernels.Gaussian(), "linear"),
    ]
    libraries = converters()
    print(f"libraries: {', '.join(libraries)}")
    header = f"{'kernel':30} {'estimator':9} {'same':>10} {'shifted':>10}  agree  seconds"
    print(header)
    print("-" * len(header))
    for label, kernel, estimator in cases:
        rows = {}
        start = time.perf_counter()
        for name, convert in libraries.items():
            ref = convert(reference if estimator != "linear" else reference[:1200])
            values = []
            for other in (same, shifted if estimator != "linear" else shifted[:1200]):
                values.append(
                    to_float(mmd_any.mmd2(ref, convert(other), kernel=kernel, estimator=estimator))
                )
            rows[name] = values
        seconds = time.perf_counter() - start
        base = rows["numpy"]
        agree = all(np.allclose(v, base, rtol=1e-3, atol=1e-5) for v in rows.values())
        verdict = "yes" if agree else "NO"
        same, shift = base
        print(f"{label:30} {estimator:9} {same:10.5f} {shift:10.5f}  {verdict:5}  {seconds:6.2f}")
        if not agree:
            raise SystemExit(f"libraries disagree: {rows}")
    distance = mmd_any.mmd(reference, shifted)
    print(f"\nMMD (the metric) between reference and shifted: {float(distance):.4f}")


if __name__ == "__main__":
    main()
