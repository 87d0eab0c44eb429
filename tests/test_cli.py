"""The ``mmd-any`` command line: reports, JSON, plots, loaders and exit status 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import types
import typing
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

import mmd_any
from mmd_any import cli, two_sample
from mmd_any._aggregation import METHODS
from mmd_any.cli import main
from mmd_any.io import load_sample
from mmd_any.kernels import ALIASES as _ALIASES

pytest.importorskip("matplotlib")


def _write_pair(folder: Path, seed: int, sizes: tuple[int, int], shift: float, stem: str):
    """``stem``a.npy and ``stem``b.csv (with a header): normal samples, the second shifted."""
    rng = np.random.default_rng(seed)
    a, b = folder / f"{stem}a.npy", folder / f"{stem}b.csv"
    np.save(a, rng.normal(size=(sizes[0], 3)))
    shifted = rng.normal(shift, size=(sizes[1], 3))
    b.write_text("f1,f2,f3\n" + "\n".join(",".join(f"{v:.17g}" for v in row) for row in shifted))
    return a, b


@pytest.fixture
def samples(tmp_path: Path) -> tuple[Path, Path]:
    return _write_pair(tmp_path, 0, (60, 50), 1.0, "")


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    """Small samples (n, m ≤ 40) for the aggregated tests, which run 20 kernels."""
    return _write_pair(tmp_path, 3, (32, 28), 0.6, "small_")


def _json(arguments: list[str], capsys) -> dict:
    code = main([*arguments, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_test_command_prints_the_report(samples, capsys) -> None:
    a, b = samples
    assert main(["test", str(a), str(b), "--permutations", "99", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    for text in ("n = 60", "m = 50", "gaussian, bandwidth", "MMD²", "p-value", "reject H0", "time"):
        assert text in out, text


def test_json_output_has_the_documented_fields(samples, capsys) -> None:
    a, b = samples
    code = main(
        [
            "test",
            str(a),
            str(b),
            "--json",
            "--permutations",
            "49",
            "--kernel",
            "laplacian",
            "--bandwidth",
            "0.5,1,2",
            "--estimator",
            "unbiased",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    for key in (
        "statistic",
        "pvalue",
        "reject",
        "alpha",
        "n_x",
        "n_y",
        "kernel",
        "bandwidth",
        "seconds",
    ):
        assert key in report, key
    assert report["bandwidth"] == [0.5, 1.0, 2.0]
    assert report["n_x"] == 60
    assert report["n_y"] == 50
    assert report["reject"] is True
    assert report["pvalue"] == pytest.approx(1 / 50)
    assert report["estimator"] == "unbiased"
    assert report["method"] == "single"
    assert report["aggregate"] is False


def test_single_test_reports_the_bandwidth_and_estimator_used(samples, capsys) -> None:
    a, b = samples
    report = _json(["test", str(a), str(b), "--permutations", "19"], capsys)
    x, y = load_sample(str(a)), load_sample(str(b))
    result = mmd_any.mmd_test(x, y, n_permutations=19, seed=0)
    assert isinstance(report["bandwidth"], float)
    assert report["bandwidth"] == result.bandwidths[0]
    assert report["statistic"] == float(result.statistic)
    assert report["pvalue"] == result.pvalue
    assert report["estimator"] == "biased"  # the default, as the test used it
    assert report["kernel"] == "gaussian"
    for key in ("members", "combined_statistic", "statistic_kind", "largest_member_mmd2"):
        assert key not in report, key


@pytest.mark.parametrize(
    ("option", "method", "kind"),
    [
        ([], "combined", "smallest component p-value"),
        (["minp"], "minp", "smallest member p-value"),
        (["fuse"], "fuse", "fused statistic"),
        (["combined"], "combined", "smallest component p-value"),
    ],
)
def test_aggregate_methods_report_the_selected_member(
    small, option: list[str], method: str, kind: str, capsys
) -> None:
    a, b = small
    arguments = ["test", str(a), str(b), "--permutations", "19", "--seed", "4"]
    report = _json([*arguments, "--aggregate", *option], capsys)
    x, y = load_sample(str(a)), load_sample(str(b))
    result = mmd_any.mmd_test(x, y, aggregate=method, n_permutations=19, seed=4)
    assert report["method"] == method
    assert report["aggregate"] is True
    assert report["estimator"] == result.estimator == ("biased" if method == "minp" else "unbiased")
    # the statistic is an MMD², the selected member's
    selected = result.selected
    assert report["statistic"] == float(result.statistics[selected])
    assert report["selected"] == {
        "index": selected,
        "kernel": result.kernels[selected],
        "bandwidth": result.bandwidths[selected],
    }
    assert report["pvalue"] == result.pvalue
    assert report["combined_statistic"] == float(result.combined_statistic)
    assert report["combined_statistic_kind"] == kind
    assert report["n_x"] == result.n_x == 32
    assert report["n_y"] == result.n_y == 28
    # the bandwidths used: one float per member (the method's own collection)
    assert report["bandwidth"] == list(result.bandwidths)
    assert all(isinstance(width, float) for width in report["bandwidth"])
    assert len(report["bandwidth"]) == (9 if method == "minp" else 20)
    assert report["kernel"] == ("gaussian" if method == "minp" else "gaussian+laplacian")
    members = report["members"]
    assert [m["kernel"] for m in members] == list(result.kernels)
    assert [m["bandwidth"] for m in members] == report["bandwidth"]
    assert [m["mmd2"] for m in members] == pytest.approx(np.asarray(result.statistics), abs=0)
    assert [m["pvalue"] for m in members] == list(result.pvalues)
    if method == "combined":
        assert report["component_pvalues"] == result.component_pvalues
        assert set(report["component_pvalues"]) == {"fuse", "minp", "standardised fuse"}
    else:
        assert "component_pvalues" not in report
    for key in ("statistic_kind", "largest_member_mmd2", "member_pvalues"):
        assert key not in report, key


def test_aggregate_with_an_explicit_kernel(small, capsys) -> None:
    a, b = small
    arguments = ["test", str(a), str(b), "--permutations", "19", "--aggregate", "minp"]
    # the median bandwidth of the given kernel expands to median·2^k, k = -4..4
    report = _json([*arguments, "--kernel", "laplacian"], capsys)
    assert report["kernel"] == "laplacian"
    widths = np.asarray(report["bandwidth"])
    assert widths.shape == (9,)
    np.testing.assert_allclose(widths[1:] / widths[:-1], 2.0, rtol=1e-12)
    assert all(m["kernel"].startswith("Laplacian") for m in report["members"])


def test_aggregate_with_explicit_bandwidths(small, capsys) -> None:
    """Explicit bandwidths are the collection, one member each."""
    a, b = small
    arguments = ["test", str(a), str(b), "--permutations", "19", "--aggregate"]
    report = _json([*arguments, "minp", "--bandwidth", "0.5,1,2"], capsys)
    assert report["kernel"] == "gaussian"
    assert report["bandwidth"] == [0.5, 1.0, 2.0]
    assert [m["bandwidth"] for m in report["members"]] == [0.5, 1.0, 2.0]
    report = _json([*arguments, "fuse", "--bandwidth", "1,2"], capsys)
    assert report["method"] == "fuse"
    assert report["bandwidth"] == [1.0, 2.0]


def test_aggregate_text_report(small, capsys) -> None:
    a, b = small
    assert main(["test", str(a), str(b), "--permutations", "19", "--aggregate"]) == 0
    out = capsys.readouterr().out
    for text in (
        "aggregated, combined",
        "gaussian+laplacian, 20 members",
        "estimator   unbiased",
        "MMD²",
        "selected member: ",
        "smallest component p-value",
        "standardised fuse",
        "Laplacian(quantile grid, geometric, 10/10), σ = ",
        "p-value",
    ):
        assert text in out, text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--aggregate", "maxp"], "--aggregate takes minp, fuse, combined"),
        (["--aggregate", "fuse", "--estimator", "biased"], "unbiased estimator"),
    ],
)
def test_bad_aggregate_exits_2_with_one_line(small, arguments, message, capsys) -> None:
    a, b = small
    assert main(["test", str(a), str(b), "--permutations", "19", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("mmd-any: error: ")
    assert message in captured.err


def test_aggregate_plot_and_torch_backend(small, tmp_path: Path, capsys) -> None:
    pytest.importorskip("torch")
    a, b = small
    picture = tmp_path / "null.png"
    code = main(
        [
            "test",
            str(a),
            str(b),
            "--aggregate",
            "--permutations",
            "19",
            "--backend",
            "torch",
            "--device",
            "cpu",
            "--plot",
            str(picture),
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["aggregate"] is True
    assert report["method"] == "combined"
    assert len(report["bandwidth"]) == 20
    assert all(isinstance(width, float) for width in report["bandwidth"])
    assert isinstance(report["statistic"], float)
    assert picture.stat().st_size > 10_000
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_distance_command(samples, capsys) -> None:
    a, b = samples
    assert main(["distance", str(a), str(b), "--json", "--kernel", "energy"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mmd"] == pytest.approx(np.sqrt(report["mmd2"]))
    assert report["bandwidth"] is None
    assert main(["distance", str(a), str(b)]) == 0
    assert "MMD² =" in capsys.readouterr().out


def test_loaders(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=(30, 4))
    np.savez(tmp_path / "z.npz", feats=values, other=values[:, :2])
    (tmp_path / "plain.tsv").write_text("\n".join("\t".join(str(v) for v in row) for row in values))
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    pq.write_table(pa.table({f"c{i}": values[:, i] for i in range(4)}), tmp_path / "t.parquet")
    for first, second, extra in [
        ("z.npz", "plain.tsv", ["--key", "feats"]),
        ("t.parquet", "plain.tsv", []),
    ]:
        code = main(["distance", str(tmp_path / first), str(tmp_path / second), "--json", *extra])
        assert code == 0
        assert json.loads(capsys.readouterr().out)["mmd2"] == pytest.approx(0.0, abs=1e-12)
    (tmp_path / "named.csv").write_text(
        "a,b,c\n" + "\n".join(f"{r[0]},{r[1]},{r[2]}" for r in values)
    )
    code = main(
        [
            "distance",
            str(tmp_path / "named.csv"),
            str(tmp_path / "plain.tsv"),
            "--columns",
            "a,b",
            "--json",
        ]
    )
    assert code == 2  # plain.tsv has no header: names cannot be resolved there
    assert "--columns must be 0-based indices" in capsys.readouterr().err


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    good = tmp_path / "good.npy"
    np.save(good, np.ones((5, 2)))
    (tmp_path / "text.csv").write_text("a,b\n1,x\n2,3\n")
    (tmp_path / "ragged.csv").write_text("1,2\n3\n4,5\n")
    (tmp_path / "nan.csv").write_text("1,2\nnan,3\n")
    np.save(tmp_path / "three.npy", np.ones((5, 3)))
    (tmp_path / "data.xlsx").write_text("not supported")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return {
        "missing file": ([str(tmp_path / "nope.npy"), str(good)], "no such file"),
        "not numeric": ([str(tmp_path / "text.csv"), str(good)], "non-numeric value 'x'"),
        "ragged rows": ([str(tmp_path / "ragged.csv"), str(good)], "ragged rows"),
        "NaN": ([str(tmp_path / "nan.csv"), str(good)], "non-finite value"),
        "mismatched columns": ([str(good), str(tmp_path / "three.npy")], "has 2 columns but"),
        "unsupported suffix": (
            [str(tmp_path / "data.xlsx"), str(good)],
            "unsupported file type .xlsx",
        ),
        "pickled npy": ([str(tmp_path / "objects.npy"), str(good)], "without pickle"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing file",
        "not numeric",
        "ragged rows",
        "NaN",
        "mismatched columns",
        "unsupported suffix",
        "pickled npy",
    ],
)
def test_bad_inputs_exit_2_with_one_line(case: str, tmp_path: Path, capsys) -> None:
    arguments, message = _bad_inputs(tmp_path)[case]
    assert main(["test", *arguments, "--permutations", "9"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("mmd-any: error: ")
    assert message in captured.err


@pytest.mark.parametrize(
    "arguments",
    [
        ["--bandwidth", "-1"],
        ["--kernel", "cosine"],
        ["--backend", "numpy", "--device", "cuda:0"],
        ["--alpha", "2"],
        ["--kernel", "linear", "--bandwidth", "1.0"],
    ],
)
def test_bad_options_exit_2(samples, arguments: list[str], capsys) -> None:
    a, b = samples
    try:
        code = main(["test", str(a), str(b), "--permutations", "9", *arguments])
    except SystemExit as exit_info:  # argparse's own errors
        code = exit_info.code
    assert code == 2
    assert "error" in capsys.readouterr().err


def test_demo_writes_report_and_plot(tmp_path: Path, monkeypatch, capsys) -> None:
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--permutations", "99"]) == 0
    out = capsys.readouterr().out
    assert out.count("mmd-any test:") == 2
    assert "do not reject H0" in out
    assert "reject H0 (the samples differ)" in out
    assert (tmp_path / "mmd-any-demo.png").stat().st_size > 20_000


def test_console_script_is_installed(samples) -> None:
    script = shutil.which("mmd-any") or str(Path(sys.executable).with_name("mmd-any"))
    if not Path(script).exists():
        pytest.fail("the mmd-any console script is not installed: pip install -e .")
    a, b = samples
    completed = subprocess.run(
        [script, "distance", str(a), str(b), "--json"], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["mmd2"] > 0
    completed = subprocess.run(
        [script, "test", str(a), "missing.npy"], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr


def test_the_cli_describes_every_aggregated_method_of_the_library(capsys) -> None:
    """Every registered method is an --aggregate choice, described in --help."""
    with pytest.raises(SystemExit):
        main(["test", "--help"])
    text = "".join(capsys.readouterr().out.split())  # argparse wraps, also at hyphens
    for name, method in METHODS.items():
        assert "".join(f"{name}: {method.description}".split()) in text
    assert "".join(f"{two_sample.RECOMMENDED} (recommended)".split()) in text


# -- version, help, aliases, dtype, progress ----------------------------------------------


def test_version_prints_the_package_version_without_a_command(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    captured = capsys.readouterr()
    assert captured.out == f"mmd-any {metadata.version('mmd-any')}\n"
    assert captured.err == ""
    assert metadata.version("mmd-any") == mmd_any.__version__


def test_version_falls_back_to_the_package_attribute(monkeypatch) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(cli.metadata, "version", missing)
    assert cli._version() == mmd_any.__version__


def _help(command: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # one line, whatever the terminal width


@pytest.mark.parametrize(
    ("command", "defaults"),
    [
        (
            ["test"],
            [
                "number of random permutations (default: 1000)",
                "level of the test (default: 0.05)",
                "a non-negative integer (default: 0)",
                "(default: float64)",
                "(default: numpy)",
                "(default: biased; unbiased for --aggregate fuse/combined",
                "kernels; default: median)",
                "(default: gaussian)",
            ],
        ),
        (["distance"], ["(default: float64)", "(default: numpy)", "(default: biased)"]),
        (["demo"], ["(default: 500)", "(default: mmd-any-demo.png)"]),
    ],
)
def test_help_shows_the_defaults(command: list[str], defaults: list[str], capsys) -> None:
    text = _help(command, capsys)
    for default in defaults:
        assert default in text, default
    for unhelpful in ("(default: None)", "(default: False)", "(default: True)"):
        assert unhelpful not in text
    if command == ["distance"]:
        assert "--aggregate" not in text  # an option of `test` only


def test_help_lists_the_kernel_aliases(capsys) -> None:
    text = _help(["test"], capsys)
    for alias, name in _ALIASES.items():
        assert f"{alias} = {name}" in text


@pytest.mark.parametrize(("alias", "name"), sorted(_ALIASES.items()))
def test_kernel_aliases_are_reported_by_their_canonical_name(
    samples, alias: str, name: str, capsys
) -> None:
    a, b = samples
    report = _json(["distance", str(a), str(b), "--json", "--kernel", alias], capsys)
    assert report["kernel"] == name
    assert report == {
        **_json(["distance", str(a), str(b), "--json", "--kernel", name], capsys),
        "seconds": report["seconds"],
    }


def test_test_command_accepts_an_alias(samples, capsys) -> None:
    a, b = samples
    arguments = ["test", str(a), str(b), "--permutations", "19"]
    report = _json([*arguments, "--json", "--kernel", "rbf"], capsys)
    assert report["kernel"] == "gaussian"
    assert main([*arguments, "--kernel", "rbf"]) == 0
    out = capsys.readouterr().out
    assert "gaussian, bandwidth" in out
    assert "rbf" not in out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reports_say_the_dtype(samples, dtype: str, capsys) -> None:
    a, b = samples
    test = ["test", str(a), str(b), "--permutations", "19", "--dtype", dtype]
    assert _json([*test, "--json"], capsys)["dtype"] == dtype
    assert main(test) == 0
    assert f"(cpu, {dtype})" in capsys.readouterr().out
    distance = ["distance", str(a), str(b), "--dtype", dtype]
    assert _json([*distance, "--json"], capsys)["dtype"] == dtype
    assert main(distance) == 0
    assert f"; {dtype}, " in capsys.readouterr().out


class _RecordingBar:
    """Stands in for tqdm: records the total and every update."""

    bars: typing.ClassVar[list[_RecordingBar]] = []

    def __init__(self, total: int, **options: object) -> None:
        self.total, self.options, self.updates, self.closed = total, options, [], False
        _RecordingBar.bars.append(self)

    def update(self, done: int) -> None:
        self.updates.append(done)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def recorded_bars(monkeypatch) -> list[_RecordingBar]:
    package, auto = types.ModuleType("tqdm"), types.ModuleType("tqdm.auto")
    auto.tqdm = package.tqdm = _RecordingBar
    package.auto = auto
    monkeypatch.setitem(sys.modules, "tqdm", package)
    monkeypatch.setitem(sys.modules, "tqdm.auto", auto)
    monkeypatch.setattr(_RecordingBar, "bars", [])
    return _RecordingBar.bars


@pytest.mark.parametrize("aggregate", [False, "minp", "fuse"])
def test_progress_updates_add_up_to_the_total(recorded_bars, aggregate) -> None:
    """Several tiles (60 points, 16-row tiles: 4 row blocks) and several permutation
    blocks (a budget of 10 weight rows per pass for 1 + 49 labellings): the bar ends
    at exactly its total, and shows percent, not kernel entries."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    itemsize, n_points = 8, 60
    mmd_any.mmd_test(
        x,
        y,
        n_permutations=49,
        seed=0,
        aggregate=aggregate,
        progress=True,
        block_size=16,
        memory_budget=8 * 10 * n_points * itemsize,
    )
    (bar,) = recorded_bars
    assert bar.closed
    assert sum(bar.updates) == bar.total
    row_blocks = 4
    assert len(bar.updates) % row_blocks == 0
    assert len(bar.updates) // row_blocks >= 5  # passes: kernels × permutation blocks
    assert "{percentage" in bar.options["bar_format"]
    assert "{n" not in bar.options["bar_format"]  # no count of entries


def test_progress_of_a_single_tile_adds_up_to_the_total(recorded_bars) -> None:
    rng = np.random.default_rng(3)
    mmd_any.mmd_test(rng.normal(size=(20, 2)), rng.normal(size=(15, 2)), progress=True)
    (bar,) = recorded_bars
    assert sum(bar.updates) == bar.total == 35 * 36 // 2


def test_cli_progress_bar_when_stderr_is_a_terminal(samples, recorded_bars, monkeypatch) -> None:
    a, b = samples
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main(["test", str(a), str(b), "--permutations", "19"]) == 0
    (bar,) = recorded_bars
    assert sum(bar.updates) == bar.total


def test_plot_of_a_single_test(samples, tmp_path: Path, capsys) -> None:
    a, b = samples
    picture = tmp_path / "single.png"
    arguments = ["test", str(a), str(b), "--permutations", "19", "--plot", str(picture)]
    assert _json([*arguments, "--json"], capsys)["plot"] == str(picture)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_takes_a_figure_its_axes_or_an_array_of_them(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawings = [plt.figure(), plt.subplots()[1], plt.subplots(1, 2)[1], list(plt.subplots(1, 3)[1])]
    for index, drawn in enumerate(drawings):
        figure = drawn if index == 0 else np.asarray(drawn).flat[0].figure
        target = tmp_path / f"{index}.png"
        cli._save(drawn, str(target))
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert not plt.fignum_exists(figure.number)  # closed after writing


def test_a_bare_aggregate_before_the_files_is_the_recommended_test(small, capsys) -> None:
    a, b = small
    report = _json(["test", "--aggregate", str(a), str(b), "--permutations", "19"], capsys)
    assert report["method"] == "combined"
    report = _json(["test", "--aggregate", "minp", str(a), str(b), "--permutations", "19"], capsys)
    assert report["method"] == "minp"


# -- explain -------------------------------------------------------------------------------


@pytest.fixture
def moved(tmp_path: Path) -> tuple[Path, Path]:
    """d = 5, feature 3 moved by 1.5, and the last 10 rows of b far from everything."""
    rng = np.random.default_rng(21)
    a, b = rng.normal(size=(80, 5)), rng.normal(size=(70, 5))
    b[:, 3] += 1.5
    b[-10:] = rng.normal(7.0, 0.2, size=(10, 5))
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    return tmp_path / "a.npy", tmp_path / "b.npy"


def test_explain_prints_the_features_and_the_rows(moved, capsys) -> None:
    a, b = moved
    assert main(["explain", str(a), str(b), "--top", "4", "--permutations", "99"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if line.lstrip().startswith("rank"))
    assert lines[first + 1].split()[:3] == ["1", "feature", "3"]
    assert "Westfall-Young min-P" in out
    rows_of_b = out.split("rows of " + str(b))[-1].splitlines()[2:6]
    assert all(int(line.split()[0]) >= 60 for line in rows_of_b), rows_of_b  # the far rows
    assert "feature 3" in out.split("rows of " + str(a))[1].splitlines()[1]  # values shown


def test_explain_json_has_every_feature_and_the_rows(moved, capsys) -> None:
    a, b = moved
    report = _json(["explain", str(a), str(b), "--top", "3", "--permutations", "199"], capsys)
    assert report["features"][0]["feature"] == 3
    assert len(report["features"]) == 5
    assert len(report["y_rows"]) == 3
    assert set(report["y_rows"][0]) == {"row", "witness", "values"}
    assert report["y_rows"][0]["witness"] < report["x_rows"][0]["witness"]
    assert 3 in report["changed_features"]


def test_explain_says_when_one_sample_is_denser_everywhere(tmp_path: Path, capsys) -> None:
    """a: a ring; b: half of it and a cluster at the centre, nearer (at the median
    bandwidth) to every point of the ring than the ring's own mean: every witness
    value is negative, so a's listed rows are where b is least over-represented."""
    rng = np.random.default_rng(22)
    angles = rng.uniform(0, 2 * np.pi, 150)
    ring = np.column_stack([np.cos(angles), np.sin(angles)]) + rng.normal(0, 0.05, (150, 2))
    centred = np.concatenate([ring[:75], rng.normal(0, 0.1, (75, 2))])
    np.save(tmp_path / "ring.npy", ring)
    np.save(tmp_path / "centred.npy", centred)
    files = [str(tmp_path / "ring.npy"), str(tmp_path / "centred.npy")]
    assert main(["explain", *files, "--permutations", "19"]) == 0
    out = capsys.readouterr().out
    assert f"no row of {files[0]} has a positive witness" in out
    assert "has a negative witness" not in out
    assert main(["explain", *files[::-1], "--permutations", "19"]) == 0
    out = capsys.readouterr().out
    assert f"no row of {files[0]} has a negative witness" in out
    assert "has a positive witness" not in out


def test_explain_plot_is_written(moved, tmp_path: Path, capsys) -> None:
    pytest.importorskip("matplotlib")
    a, b = moved
    plot = tmp_path / "where.png"
    assert main(["explain", str(a), str(b), "--permutations", "19", "--plot", str(plot)]) == 0
    assert "plot written to" in capsys.readouterr().out
    assert plot.stat().st_size > 20_000


@pytest.mark.parametrize(
    "arguments",
    [["--top", "0"], ["--permutations", "0"], ["--alpha", "2"], ["--plot", "out.gif"]],
)
def test_explain_refuses_bad_options(moved, arguments: list[str], capsys) -> None:
    a, b = moved
    assert main(["explain", str(a), str(b), *arguments]) == 2
    assert "error" in capsys.readouterr().err
