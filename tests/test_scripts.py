"""Every script the README names runs, in a configuration of seconds, and prints
what it should: the examples and each benchmark's ``--quick`` mode.

Each benchmark runs as a user runs it (a subprocess of this interpreter) and its
table is read back: every row it promises is there, the numbers parse, and the
values it computes agree with the suite's float64 reference within the float32
error model of :mod:`tests.reference`.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmd_any import kernels
from mmd_any.bandwidths import MeanSquaredDistance

from . import reference

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
EXAMPLES = ROOT / "examples"

pytestmark = pytest.mark.slow


def _run(script: Path, *args: str, timeout: float = 240) -> str:
    done = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _import(path: Path):
    """Import a script as a module (its folder on the path, as when it runs)."""
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _rows(text: str, first: str) -> list[list[str]]:
    """The whitespace-split lines of a table whose first cell starts with ``first``."""
    return [line.split() for line in text.splitlines() if line.startswith(first)]


def test_readme_names_only_scripts_that_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"((?:benchmarks|examples)/\w+\.py)", readme))
    assert named, "the README names no script"
    for path in named:
        assert (ROOT / path).is_file(), path


# --------------------------------------------------------------------------- examples


def test_quickstart_values_agree_with_the_float64_reference() -> None:
    quickstart = _import(EXAMPLES / "quickstart.py")
    scale = 0.05
    reference_x, same, shifted = quickstart.make_data(scale=scale)
    rows = quickstart.run(scale=scale)
    assert [(r.label, r.estimator) for r in rows] == [(c[0], c[2]) for c in quickstart.CASES]
    assert set(rows[0].values) >= {"numpy", "torch"}
    for row, (_, kernel, estimator) in zip(rows, quickstart.CASES, strict=True):
        assert row.agree, row
        paired = min(len(reference_x), len(same), len(shifted))
        cut = paired if estimator == "linear" else None
        for other, column in ((same, 0), (shifted, 1)):
            x, y = reference_x[:cut], other[:cut]
            expected = reference.mmd2(x, y, kernel, estimator)
            numpy_tol = reference.tolerance("float64", kernel, x, y)
            assert abs(row.values["numpy"][column] - expected) <= numpy_tol, row
            float32_tol = reference.tolerance("float32", kernel, x, y)
            for name, values in row.values.items():
                assert abs(values[column] - expected) <= float32_tol, (name, row)


def test_quickstart_prints_one_agreeing_row_per_case(capsys) -> None:
    quickstart = _import(EXAMPLES / "quickstart.py")
    quickstart.main(["--scale", "0.05"])
    out = capsys.readouterr().out
    assert out.startswith("libraries: numpy")
    table = [line for line in out.splitlines() if re.search(r"\s(yes|NO)\s", line)]
    assert len(table) == len(quickstart.CASES)
    assert all(" yes " in line for line in table), out
    assert re.search(r"MMD \(the metric\) between reference and shifted: 0\.\d{4}", out)


# domain_adaptation.py runs shortened in tests/test_domain_adaptation.py


# --------------------------------------------------------------------------- benchmarks


def test_bench_core_quick() -> None:
    core = _import(BENCHMARKS / "bench_core.py")
    out = _run(BENCHMARKS / "bench_core.py", "--quick")
    header = re.search(r"n = m = (\d+), d = (\d+).*float64 reference MMD² = ([0-9.e-]+)", out)
    assert header, out
    n, d, value64 = int(header[1]), int(header[2]), float(header[3])
    assert n == core.QUICK_N
    x, y = core.make_data(n, d)
    kernel = kernels.Gaussian(MeanSquaredDistance.seed())
    printed = 5e-10 * value64  # the header prints 10 significant digits
    assert value64 == pytest.approx(
        reference.mmd2(x, y, kernel, "biased"),
        abs=reference.tolerance("float64", kernel, x.astype(float), y.astype(float)) + printed,
    )
    rows = {row[0]: row for row in _rows(out, ("mmd_any_", "plain_", "bound_", "seed_"))}
    assert set(rows) >= {"bound_numpy", "mmd_any_numpy", "plain_numpy"}
    float32_tol = reference.tolerance("float32", kernel, x.astype(float), y.astype(float))
    for name in ("mmd_any_numpy", "mmd_any_torch", "plain_numpy", "plain_torch"):
        if name in rows:
            seconds, value = float(rows[name][1]), float(rows[name][6])
            assert seconds > 0
            assert abs(value - value64) <= float32_tol, (name, value, value64)


def test_bench_loss_quick() -> None:
    pytest.importorskip("torch")
    loss = _import(BENCHMARKS / "bench_loss.py")
    out = _run(BENCHMARKS / "bench_loss.py", "--quick")
    rows = [row for row in _rows(out, " ") if row and row[0].isdigit()]
    cases = {(int(row[0]), row[1]) for row in rows}
    assert cases == {
        (b, mode) for b in loss.QUICK_BATCHES for mode in ("forward", "forward+backward")
    }
    half = 0.5e-4  # times are printed with 4 decimals, the ratio with 1
    for row in rows:
        ours, seed, speed = float(row[2]), float(row[3]), float(row[4].rstrip("x"))
        low, high = (seed - half) / (ours + half), (seed + half) / max(ours - half, 1e-12)
        assert low - 0.05 <= speed <= high + 0.05, row


def test_bench_small_quick() -> None:
    pytest.importorskip("torch")
    out = _run(BENCHMARKS / "bench_small.py", "--quick")
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| 64 |")]
    names = {cells[1].strip() for cells in rows}
    assert {"mmd_any", "mmd_any check_finite=False", "mmd_any preset='kid'"} <= names
    assert all(float(cells[2]) > 0 for cells in rows)


def test_bench_two_sample_quick() -> None:
    pytest.importorskip("torch")
    two_sample = _import(BENCHMARKS / "bench_two_sample.py")
    big, _small, permutations, _ = two_sample.SIZES[True]
    out = _run(BENCHMARKS / "bench_two_sample.py", "--quick")
    assert out.startswith(f"{permutations} permutations")
    pvalues = {}
    for line in out.splitlines():
        match = re.match(r"(mmd_any \w+ \w+ \d+)\s+([0-9.]+).*\s(\S+)$", line)
        if match:
            pvalues[match[1]] = None if match[3] == "-" else float(match[3])
    assert set(pvalues) == {name for name in two_sample.cases(True) if name.startswith("mmd_any")}
    for name, pvalue in pvalues.items():
        if pvalue is not None:
            assert 1 / (1 + permutations) <= pvalue <= 1, name
    # y is shifted by 0.1 in 64 dimensions: every test at n = 256 rejects
    for library in ("numpy", "torch"):
        assert pvalues[f"mmd_any {library} biased {big}"] <= 0.05


def test_bench_suite_quick() -> None:
    pytest.importorskip("torch")
    out = _run(BENCHMARKS / "bench_suite.py", "--quick", timeout=400)
    exact = [row for row in _rows(out, "256 ") if "mmd_any" in row[2]]
    assert len(exact) >= 2, out
    for row in exact:
        check = next(cell for cell in row[::-1] if re.fullmatch(r"[0-9.]+e[-+]\d+", cell))
        # float32 against float64: a few hundred eps for this kernel and data
        assert float(check) <= 4096 * reference.eps("float32"), row
    rff = _rows(out, "rff ")
    assert len(rff) >= 6
    for row in rff:
        within = next(cell for cell in row if re.fullmatch(r"\d+/\d+", cell))
        hits, total = (int(v) for v in within.split("/"))
        assert hits == total, row
    dask = [line for line in out.splitlines() if re.match(r"[\d,]+\s+(exact mmd2|mmd2_rff)", line)]
    computed = [line for line in dask if "not run" not in line]
    assert len(computed) >= 3, out
    values = [float(line.split()[-1]) for line in computed]
    assert all(np.isfinite(values))
    assert all(v > 0 for v in values)


def _markdown_rows(text: str, title: str) -> list[list[str]]:
    """The body rows of the first Markdown table after the line starting with ``title``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows and not line.startswith("|"):
            break
    return rows[1:]  # without the header


def test_bench_launches_quick() -> None:
    pytest.importorskip("torch")
    out = _run(BENCHMARKS / "bench_launches.py", "--quick")
    operations = _markdown_rows(out, "Compute operations")
    assert [row[0] for row in operations] == ["32", "64"]
    for row in operations:
        ours, minimal = int(row[1]), int(row[-2])
        assert ours <= minimal, row  # the budget, as printed by the benchmark
    exact = re.search(r"1 GiB budget: (\d+) operations", out)
    assert exact
    assert int(exact[1]) > 0
    # the first column of seconds of each table
    for title, column in (("CPU small batches", 1), ("Aggregated test", 2), ("Host plan", 2)):
        rows = _markdown_rows(out, title)
        assert rows, title
        assert all(float(row[column]) > 0 for row in rows), title
    if importlib.util.find_spec("jax"):
        compile_rows = _markdown_rows(out, "JAX jit(mmd2)")
        assert compile_rows
        assert float(compile_rows[0][1]) > 0


def test_bench_gpu_quick_runs_its_code_paths_on_the_cpu() -> None:
    pytest.importorskip("torch")
    out = _run(BENCHMARKS / "bench_gpu.py", "--quick", "--device", "cpu")
    loss = _markdown_rows(out, "MMDLoss forward+backward on cpu")
    assert [row[0] for row in loss] == ["32", "64"]
    exact = _markdown_rows(out, "Exact mmd2 on cpu")
    assert exact
    assert exact[0][1] == "torch"
    assert float(exact[0][-1]) > 0


def test_bench_checks_quick() -> None:
    pytest.importorskip("torch")
    out = _run(BENCHMARKS / "bench_checks.py", "--quick")
    rows = [line for line in out.splitlines() if line.startswith("| ") and "ms" not in line]
    assert len(rows) == 4  # the loss step, two plain mmd2 and the outlier case
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert float(cells[1]) > 0
        assert all(cell.endswith("×") and float(cell[:-1]) > 0 for cell in cells[2:]), row


def test_bench_power_quick() -> None:
    stats = pytest.importorskip("scipy.stats")
    power = _import(BENCHMARKS / "bench_power.py")
    settings, methods = power.QUICK, list(power.METHODS)
    out = _run(BENCHMARKS / "bench_power.py", "--quick")

    # the power table: its header and one row per cell, power ± its SE per method
    headers = ["cell", "n, m", *methods, *power.REFERENCE_COLUMNS]
    headers += ["best − recommended (SE)", "combined − best other (paired)"]
    assert "| " + " | ".join(headers) + " |" in out, out
    rows = _markdown_rows(out, "Power at α = 0.05")
    assert [row[0] for row in rows] == [cell.name for cell in power.POWER_CELLS]
    reps = settings.power_reps
    for row, cell in zip(rows, power.POWER_CELLS, strict=True):
        assert len(row) == len(headers), row
        assert row[1] == "{}, {}".format(*cell.sizes(settings))
        for text in row[2 : 2 + len(methods)]:
            match = re.fullmatch(r"(\d\.\d\d) ± (\d\.\d\d)", text)
            assert match, row
            rate, se = float(match[1]), float(match[2])
            assert round(rate * reps) == pytest.approx(rate * reps, abs=0.03), row
            assert se == pytest.approx(np.sqrt(rate * (1 - rate) / reps), abs=0.006), row
        quoted = power.REFERENCE_POWER.get(cell.name, {})
        for column, text in zip(power.REFERENCE_COLUMNS, row[2 + len(methods) :], strict=False):
            assert text == power.reference_text(quoted.get(column)), row
        assert re.fullmatch(r"\+(\d+\.\d|inf) \(.+\)", row[-2]), row
        assert re.fullmatch(r"[+-]\d\.\d\d ± \d\.\d\d \(\w+\)", row[-1]), row

    # the level table: every null cell, method and estimator, consistent counts
    headers = ["cell", "n, m", "method", "estimator", "rejections", "rate", "99 % CI"]
    assert "| " + " | ".join([*headers, "99 % band", "inside", "KS p"]) + " |" in out, out
    rows = _markdown_rows(out, "Level at α = 0.05")
    expected = [
        (cell.name, method, estimator)
        for cell in power.LEVEL_CELLS
        for method in methods
        for estimator in power.ESTIMATORS[method]
    ]
    assert [(row[0], row[2], row[3]) for row in rows] == expected
    assert ("fuse", "biased") not in {(row[2], row[3]) for row in rows}
    for row in rows:
        count, total = (int(v) for v in row[4].split("/"))
        assert total == settings.level_reps
        assert float(row[5]) == pytest.approx(count / total, abs=5e-4)
        low, high = (float(v) for v in row[6].strip("[]").split(","))
        assert low <= count / total <= high
        band = [int(v) for v in row[7].strip("[]").split(",")]
        assert row[8] == ("yes" if band[0] <= count <= band[1] else "NO"), row
        assert 0 <= float(row[9]) <= 1
        # far outside any valid test: P(Binomial(20, 0.05) ≥ 8) < 1e-5
        assert count < 8, row

    timing = _markdown_rows(out, "Timing")
    assert len(timing) == 1
    assert all(float(value) > 0 for value in timing[0][3 : 3 + len(methods)])
    assert all(value.endswith("×") for value in timing[0][-2:]), timing

    # the generators: shapes, support, the density and the sampler
    rng = np.random.default_rng(1)
    for cell in power.POWER_CELLS + power.LEVEL_CELLS:
        x, y = cell.draw(rng, 7, 9)
        dim = re.search(r"-d(\d+)", cell.name)
        assert x.shape == (7, int(dim[1]) if dim else 10), cell.name
        assert y.shape == (9, x.shape[1]), cell.name
    for d in (1, 2):
        x, y = power.perturbed_uniform(rng, 2000, 300, d=d, scale=1.0)
        assert x.shape == (2000, d)
        assert y.shape == (300, d)
        assert np.all((x >= 0) & (x <= 1))
    x, _ = power.perturbed_uniform(rng, 2000, 1, d=1, scale=0.0)
    assert stats.kstest(x[:, 0], "uniform").pvalue > 0.001
    grid1 = (np.arange(20_000) + 0.5) / 20_000
    grid2 = np.stack(np.meshgrid(grid1[::20], grid1[::20]), axis=-1).reshape(-1, 2)
    for grid in (grid1[:, None], grid2):
        for scale in (0.3, 1.0):
            signs = power.random_signs(rng, grid.shape[1])
            density = power.perturbed_density(grid, signs, scale)
            assert np.mean(density) == pytest.approx(1.0, abs=1e-6)
            assert density.min() >= 0
            assert np.max(np.abs(density - 1)) == pytest.approx(scale, rel=1e-3)
    # the rejection sampler follows the density: counts in 16 bins against its integral
    signs = np.array([1.0, -1.0])
    x = power.sample_perturbed(rng, 20_000, signs, 1.0)[:, 0]
    counts = np.histogram(x, bins=16, range=(0, 1))[0]
    mass = power.perturbed_density(grid1[:, None], signs, 1.0).reshape(16, -1).mean(axis=1)
    assert stats.chisquare(counts, 20_000 * mass / 16).pvalue > 0.001
    x, y = power.mean_shift(rng, 20_000, 20_000)
    shift = y.mean(axis=0) - x.mean(axis=0)
    assert shift[0] == pytest.approx(0.3, abs=0.05)
    assert np.all(np.abs(shift[1:]) < 0.05)
    x, y = power.variance_change(rng, 20_000, 20_000)
    assert y.std() / x.std() == pytest.approx(1.1, abs=0.01)
    # a repetition's seeds depend on its cell and number only
    assert power.repetition_seeds("variance", 3)[1] == power.repetition_seeds("variance", 3)[1]
    assert power.repetition_seeds("variance", 3)[1] != power.repetition_seeds("variance", 4)[1]
    assert power.repetition_seeds("variance", 3)[1] != power.repetition_seeds("mean", 3)[1]
    data_state = [power.repetition_seeds(c, 3)[0].generate_state(2) for c in ("variance", "mean")]
    assert not np.array_equal(*data_state)  # the data seed depends on the cell too


def test_bench_explain_quick() -> None:
    out = _run(BENCHMARKS / "bench_explain.py", "--quick", "--markdown")
    cost = _markdown_rows(out, "### Cost")
    assert [row[0].split(",")[0] for row in cost] == ["witness", "explain"]
    assert all(row[4].endswith("×") and float(row[4][:-1]) > 0 for row in cost), cost
    accuracy = _markdown_rows(out, "### Accuracy and level")
    assert len(accuracy) == 3
    assert float(accuracy[0][1].split()[1].rstrip(",")) >= 0.9  # planted share, mean
