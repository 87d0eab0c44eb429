"""The engine on the accelerator plan and at small sizes: launches, JAX compile, CPU ratios.

Run it with::

    python benchmarks/bench_launches.py           # a few minutes on 2 cores
    python benchmarks/bench_launches.py --quick   # seconds (the test suite runs it)

Sections (each a table of ratios against the baselines of issue 12):

1. **Compute operations** of ``MMDLoss`` forward + backward (the seeds' five
   Gaussians, d = 256) at B = 32 … 4096: mmd_any, the seeds' module, GeomLoss
   (one Gaussian, tensorized) and a minimal hand-written five-Gaussian loss
   (``op_counts.minimal_mmd_loss``), counted on torch's ``meta`` device (the
   accelerator plan; each operator is at least one GPU launch). Then one exact
   default ``mmd2`` at n = m = 10⁵, d = 64 with a 1 GiB budget.
2. **JAX**: first call of ``jax.jit(mmd2)`` (trace + compile + run) at n = m =
   1024 … 16384, d = 64, float32, and jitted JAX against torch on the CPU at
   n = m = 2048 (interleaved medians).
3. **CPU small batches**: ``MMDLoss`` forward + backward with 1 thread, interleaved,
   against the minimal loss and GeomLoss, B = 32 … 256.
4. **Aggregated test**: ``mmd_test(aggregate=True)`` on torch CPU against NumPy,
   n = m = 2000, d = 10, 2000 permutations.
5. **Host plan**: ``mmd2`` on one tile against 256-row tiles, NumPy and torch,
   N = n + m = 256 … 4096, and a torch training step (the seeds' kernel, forward
   and backward) at N = 512 and 1024: why the host keeps 256-row tiles.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
import warnings

import numpy as np
import torch
from _harness import first_call_seconds, interleaved, ratio, table, timestamp, versions
from op_counts import count, loss_step, meta, minimal_mmd_loss
from seed_baseline import SeedMMDLoss

import mmd_any
import mmd_any.torch
from mmd_any.torch import MMDLoss

GEOMLOSS = importlib.util.find_spec("geomloss") is not None
JAX = importlib.util.find_spec("jax") is not None


def geomloss_loss():
    from geomloss import SamplesLoss

    return SamplesLoss("gaussian", blur=11.0, backend="tensorized")


def section_operations(batches: list[int], large: int) -> str:
    losses = {"mmd_any MMDLoss": MMDLoss(), "seeds' MMDLoss": SeedMMDLoss()}
    if GEOMLOSS:
        losses["GeomLoss (1 Gaussian)"] = geomloss_loss()
    losses["minimal hand-written"] = minimal_mmd_loss
    rows = []
    for batch in batches:
        counts = {}
        for name, loss in losses.items():
            try:
                counts[name] = count(loss_step(loss, batch)).total
            except Exception as exc:  # noqa: BLE001 - a peer that fails on meta is reported
                counts[name] = f"fails on meta: {type(exc).__name__}"
        ours = counts["mmd_any MMDLoss"]
        minimal = counts["minimal hand-written"]
        rows.append([batch, *counts.values(), ratio(float(ours), float(minimal))])
    headers = ["B", *losses, "mmd_any / minimal"]
    x, y = meta(large, 64), meta(large, 64)
    exact = count(lambda: mmd_any.mmd2(x, y, check_finite=False, memory_budget=1 << 30)).total
    return (
        "Compute operations, MMDLoss forward+backward (d = 256, meta device = accelerator plan)\n\n"
        + table(headers, rows)
        + f"\n\nexact default mmd2, n = m = {large:,}, d = 64, 1 GiB budget: {exact} operations"
    )


def section_jax(sizes: list[int], compare: int, rounds: int) -> str:
    if not JAX:
        return "JAX: not installed"
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        x = jnp.asarray(rng.normal(size=(n, 64)), dtype=jnp.float32)
        y = jnp.asarray(rng.normal(0.1, size=(n, 64)), dtype=jnp.float32)
        jitted = jax.jit(lambda a, b: mmd_any.mmd2(a, b, check_finite=False))
        first = first_call_seconds(lambda f=jitted, a=x, b=y: f(a, b).block_until_ready())
        second = first_call_seconds(lambda f=jitted, a=x, b=y: f(a, b).block_until_ready())
        rows.append([n, first, second, first - second])
    text = "JAX jit(mmd2), float32, d = 64, CPU\n\n" + table(
        ["n = m", "first call s", "second call s", "trace+compile s"], rows
    )
    xn = rng.normal(size=(compare, 64)).astype(np.float32)
    yn = rng.normal(0.1, size=(compare, 64)).astype(np.float32)
    xj, yj = jnp.asarray(xn), jnp.asarray(yn)
    xt, yt = torch.asarray(xn), torch.asarray(yn)
    jitted = jax.jit(lambda a, b: mmd_any.mmd2(a, b, check_finite=False))
    medians = interleaved(
        {
            "jax jit": lambda: jitted(xj, yj).block_until_ready(),
            "torch": lambda: mmd_any.mmd2(xt, yt, check_finite=False),
        },
        rounds,
    )
    text += "\n\n" + table(
        ["n = m", "jax jit s", "torch s", "jax / torch"],
        [
            [
                compare,
                medians["jax jit"],
                medians["torch"],
                ratio(medians["jax jit"], medians["torch"]),
            ]
        ],
    )
    return text


def section_small(batches: list[int], rounds: int) -> str:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rows = []
        ours_loss, geom = MMDLoss(), geomloss_loss() if GEOMLOSS else None
        for batch in batches:
            torch.manual_seed(0)
            source = torch.randn(batch, 256, requires_grad=True)
            target = torch.randn(batch, 256) + 0.1

            def step(loss_fn, source=source, target=target):
                return lambda: loss_fn(source, target).backward()

            calls = {"mmd_any": step(ours_loss), "minimal": step(minimal_mmd_loss)}
            if geom is not None:
                calls["GeomLoss"] = step(geom)
            medians = interleaved(calls, rounds)
            rows.append(
                [
                    batch,
                    medians["mmd_any"] * 1e3,
                    medians["minimal"] * 1e3,
                    medians.get("GeomLoss", float("nan")) * 1e3,
                    ratio(medians["mmd_any"], medians["minimal"]),
                    ratio(medians["mmd_any"], medians.get("GeomLoss")),
                ]
            )
    finally:
        torch.set_num_threads(threads)
    return "CPU small batches, MMDLoss forward+backward, 1 thread, interleaved medians\n\n" + table(
        ["B", "mmd_any ms", "minimal ms", "GeomLoss ms", "/ minimal", "/ GeomLoss"], rows
    )


def section_aggregated(n: int, permutations: int, rounds: int) -> str:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 10)).astype(np.float32)
    y = rng.normal(0.05, size=(n, 10)).astype(np.float32)
    xt, yt = torch.asarray(x), torch.asarray(y)

    def run(a, b):
        return lambda: mmd_any.mmd_test(a, b, aggregate=True, n_permutations=permutations, seed=0)

    medians = interleaved({"numpy": run(x, y), "torch": run(xt, yt)}, rounds, warmup=1)
    return "Aggregated test, float32, d = 10\n\n" + table(
        ["n = m", "permutations", "numpy s", "torch s", "torch / numpy"],
        [
            [
                n,
                permutations,
                medians["numpy"],
                medians["torch"],
                ratio(medians["torch"], medians["numpy"]),
            ]
        ],
    )


def section_single_tile(sizes: list[int], rounds: int) -> str:
    rng = np.random.default_rng(0)
    rows = []
    for points in sizes:
        half = points // 2
        x = rng.normal(size=(half, 64)).astype(np.float32)
        y = rng.normal(0.1, size=(half, 64)).astype(np.float32)
        for library, convert in (("numpy", np.asarray), ("torch", torch.asarray)):
            a, b = convert(x), convert(y)
            medians = interleaved(
                {
                    "one tile": lambda a=a, b=b, p=points: mmd_any.mmd2(
                        a, b, check_finite=False, block_size=p
                    ),
                    "256-row tiles": lambda a=a, b=b: mmd_any.mmd2(
                        a, b, check_finite=False, block_size=256
                    ),
                },
                rounds,
            )
            rows.append(
                [
                    points,
                    library,
                    medians["one tile"] * 1e3,
                    medians["256-row tiles"] * 1e3,
                    ratio(medians["one tile"], medians["256-row tiles"]),
                ]
            )
    for points in [p for p in sizes if p in (512, 1024)]:
        half = points // 2
        source = torch.randn(half, 256, requires_grad=True)
        target = torch.randn(half, 256)
        seed = mmd_any.torch.seed_kernel()

        def step(block: int, s=source, t=target, k=seed) -> None:
            mmd_any.mmd2(s, t, kernel=k, check_finite=False, block_size=block).backward()

        medians = interleaved(
            {"one tile": lambda p=points: step(p), "256-row tiles": lambda: step(256)}, rounds
        )
        rows.append(
            [
                points,
                "torch step (d = 256)",
                medians["one tile"] * 1e3,
                medians["256-row tiles"] * 1e3,
                ratio(medians["one tile"], medians["256-row tiles"]),
            ]
        )
    return "Host plan: one tile vs 256-row tiles, mmd2 default kernel, d = 64\n\n" + table(
        ["N = n + m", "library", "one tile ms", "256-row tiles ms", "one / tiled"], rows
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few rounds: seconds")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    quick = args.quick
    start = time.perf_counter()
    sections = [
        section_operations(
            [32, 64] if quick else [32, 64, 256, 512, 1024, 4096], 20_000 if quick else 100_000
        ),
        section_jax(
            [256] if quick else [1024, 2048, 4096, 16384],
            256 if quick else 2048,
            5 if quick else 30,
        ),
        section_small([32] if quick else [32, 64, 128, 256], 5 if quick else 200),
        section_aggregated(200 if quick else 2000, 100 if quick else 2000, 1 if quick else 3),
        section_single_tile([512] if quick else [256, 512, 1024, 2048, 4096], 3 if quick else 20),
    ]
    print(f"{versions('mmd-any', 'torch', 'jax')}; {timestamp()}\n")
    print("\n\n".join(sections))
    print(f"\ntotal {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
