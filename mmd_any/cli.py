"""The ``mmd-any`` command: two-sample tests and distances between two files.

    mmd-any demo
    mmd-any test A.npy B.csv [--kernel gaussian] [--bandwidth median|FLOAT|LIST] ...
    mmd-any test A.npy B.csv --aggregate [minp|fuse|combined] ...
    mmd-any distance A.npy B.npy [--kernel ...] [--estimator ...]
    mmd-any --version

Errors in the inputs print one line and exit with status 2 (argparse's
convention), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from . import _scaling, kernels
from ._aggregation import METHODS, RECOMMENDED
from ._compat import BACKENDS, array_on, full_precision, host_floats
from ._validation import prepare_samples
from .io import InputError, load_sample
from .two_sample import TEST_ESTIMATORS

__all__ = ["main"]

DEMO_PLOT = "mmd-any-demo.png"


class UsageError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


# -- arguments ---------------------------------------------------------------------------


def _version() -> str:
    """The installed distribution's version, else the package's own (a bare checkout)."""
    try:
        return metadata.version("mmd-any")
    except metadata.PackageNotFoundError:
        from . import __version__

        return __version__


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each option's default as "(default: …)", except where there is
    none to show (None, a flag's False) or the help text already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        if default is None or default is False or default is argparse.SUPPRESS:
            return action.help
        if "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _kernel_name(text: str) -> str:
    """A kernel name of ``--kernel``, the library's aliases (rbf, imq, poly) mapped to
    their canonical names."""
    return kernels.ALIASES.get(text, text)


def _bandwidth(text: str) -> Any:
    if text in ("median", "mean"):
        return text
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'median', 'mean', a number or a comma-separated list, got {text!r}"
        ) from None
    if not values or any(not (v > 0 and np.isfinite(v)) for v in values):
        raise argparse.ArgumentTypeError(f"bandwidths must be positive numbers, got {text!r}")
    return values[0] if len(values) == 1 else values


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _add_sample_options(
    parser: argparse.ArgumentParser, aggregate: bool = False, estimator: bool = True
) -> None:
    """The options of ``test``, ``distance`` and ``explain`` (``aggregate``: their help
    texts say what they mean with ``--aggregate``, an option of ``test`` only;
    ``estimator``: offer ``--estimator``)."""
    aliases = ", ".join(f"{alias} = {name}" for alias, name in kernels.ALIASES.items())
    parser.add_argument("a", help="first sample: .npy, .npz, .csv, .tsv or .parquet")
    parser.add_argument("b", help="second sample, same number of columns")
    parser.add_argument(
        "--key", help="array name inside .npz files (default: the file's only array)"
    )
    parser.add_argument(
        "--columns", help="comma-separated column names or 0-based indices (default: all)"
    )
    parser.add_argument(
        "--standardize",
        action="store_true",
        help="scale every column to mean 0 and standard deviation 1 with the statistics of "
        "both files pooled, before the kernel: the median bandwidth is then in standard "
        "deviations, and a number given to --bandwidth is too",
    )
    parser.add_argument(
        "--kernel",
        default=None,
        type=_kernel_name,
        choices=sorted({*kernels.KERNELS, *kernels.ALIASES}),
        metavar="NAME",
        help=f"{', '.join(kernels.KERNELS)} (default: gaussian); aliases {aliases}"
        + ("; with --aggregate, default: the method's own collection" if aggregate else ""),
    )
    parser.add_argument(
        "--bandwidth",
        type=_bandwidth,
        default=None,
        help="median, mean, a number or a list like 0.5,1,2 (radial kernels; default: median)"
        + (
            "; with --aggregate, the collection's bandwidths (median: median·2^k for minp)"
            if aggregate
            else ""
        ),
    )
    if estimator:
        parser.add_argument(
            "--estimator",
            default=None,
            choices=TEST_ESTIMATORS,
            help="the MMD² estimator (default: biased"
            + ("; unbiased for --aggregate fuse/combined, which need it)" if aggregate else ")"),
        )
    parser.add_argument(
        "--backend",
        default="numpy",
        choices=BACKENDS,
        help="array library to compute with",
    )
    parser.add_argument(
        "--device",
        default=None,
        help="e.g. cpu or cuda:0 (torch, cupy, jax; default: the backend's default device)",
    )
    parser.add_argument(
        "--dtype",
        default="float64",
        choices=["float32", "float64"],
        help="floating dtype of the computation",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of the text report"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmd-any",
        description="Maximum Mean Discrepancy between two samples.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"mmd-any {_version()}",
        help="print the version and exit",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    test = commands.add_parser(
        "test",
        help="permutation two-sample test",
        description="Permutation test of H0: the rows of both files come from the same "
        "distribution.",
        formatter_class=_HelpFormatter,
    )
    _add_sample_options(test, aggregate=True)
    test.add_argument(
        "--permutations", type=int, default=1000, help="number of random permutations"
    )
    methods = "; ".join(f"{name}: {method.description}" for name, method in METHODS.items())
    test.add_argument(
        "--aggregate",
        nargs="?",
        const=RECOMMENDED,
        default=None,
        metavar="METHOD",
        help=f"an aggregated test over a kernel collection, exact level; alone: "
        f"{RECOMMENDED} (recommended). {methods}",
    )
    _add_decision_options(test, "level of the test", "the null distribution picture")
    distance = commands.add_parser(
        "distance",
        help="MMD² and MMD only",
        description="The MMD² and MMD between the rows of two files, without a test.",
        formatter_class=_HelpFormatter,
    )
    _add_sample_options(distance)
    demo = commands.add_parser(
        "demo",
        help="a real two-sample problem end to end (digits)",
        description="Two tests on scikit-learn's digits (same distribution, shifted "
        "domain) and a picture of their null distributions.",
        formatter_class=_HelpFormatter,
    )
    demo.add_argument("--permutations", type=int, default=500, help="number of random permutations")
    demo.add_argument("--plot", default=DEMO_PLOT, metavar="FILE", help="picture to write")
    explain = commands.add_parser(
        "explain",
        help="where the samples differ: the most discrepant rows and features",
        description="The rows of each file that the other lacks most (by the MMD witness "
        "function), and the features ranked by how much their own distribution moved "
        "(marginal MMD², permutation p-values corrected for the number of features).",
        formatter_class=_HelpFormatter,
    )
    _add_sample_options(explain, estimator=False)
    explain.add_argument("--top", type=int, default=10, help="rows of each file to list")
    explain.add_argument(
        "--features", type=int, default=10, help="ranked features to list (--json: all)"
    )
    explain.add_argument(
        "--permutations", type=int, default=200, help="permutations shared by the features"
    )
    _add_decision_options(
        explain, "family-wise level of the changed features", "the witness and feature picture"
    )
    return parser


def _add_decision_options(command: argparse.ArgumentParser, level: str, picture: str) -> None:
    """``--alpha``, ``--seed`` (of the permutations) and ``--plot`` of a permutation command."""
    command.add_argument("--alpha", type=float, default=0.05, help=level)
    command.add_argument(
        "--seed", type=_seed, default=0, help="seed of the permutations, a non-negative integer"
    )
    command.add_argument(
        "--plot", metavar="FILE", help=f"write {picture} to this .png, .pdf or .svg"
    )


# -- backends ----------------------------------------------------------------------------


def _to_backend(values: np.ndarray, backend: str, device: str | None, dtype: str) -> Any:
    try:
        return array_on(values.astype(dtype), backend, device)
    except ImportError:
        raise UsageError(
            f"--backend {backend} is not installed (pip install mmd-any[{backend}])"
        ) from None
    except ValueError as error:  # array_on's own: a device this library lacks here
        raise UsageError(f"--device {device}: {str(error).splitlines()[0]}") from None
    except (RuntimeError, IndexError, AssertionError) as error:
        raise UsageError(
            f"--backend {backend} --device {device}: {str(error).splitlines()[0]}"
        ) from None


def _kernel(name: str | None, bandwidth: Any) -> kernels.Kernel:
    """The kernel of ``--kernel``/``--bandwidth`` (default: Gaussian, median bandwidth)."""
    name = name or "gaussian"
    if kernels.has_bandwidth(name):
        return kernels.as_kernel(name, "median" if bandwidth is None else bandwidth)
    if bandwidth not in (None, "median"):
        raise UsageError(f"--bandwidth applies to radial kernels only, not --kernel {name}")
    return kernels.as_kernel(name)


def _test_kernel(args: argparse.Namespace) -> kernels.Kernel | None:
    """The test's kernel; None (the method's own collection) for an aggregated test
    without an explicit ``--kernel`` or ``--bandwidth``."""
    if args.aggregate and args.kernel is None and args.bandwidth is None:
        return None
    return _kernel(args.kernel, args.bandwidth)


def _bandwidths_used(
    kernel: kernels.Kernel, x: np.ndarray, y: np.ndarray, standardize: bool = False
) -> list[float] | None:
    """The bandwidths the kernel resolves to on these samples (for the report), in the
    units the kernel sees (standard deviations with ``standardize``)."""
    if not hasattr(kernel, "rule"):
        return None
    if standardize:
        samples = prepare_samples(x, y, standardize=True)
        x, y = samples.x, samples.y
    z = np.concatenate([x, y])
    with full_precision(np):
        _, groups, data_scale = _scaling.resolve_parameters(np, kernel, z, [len(x), len(y)])
    unit = 1.0 if data_scale is None else float(data_scale)
    return [float(value) for group in groups for value in group.values(unit)]


def _note(message: str) -> None:
    """A loader's one-line note on how a file was read (a dropped pandas index)."""
    print(message, file=sys.stderr)


def _load(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    columns = args.columns.split(",") if args.columns else None
    x = load_sample(args.a, key=args.key, columns=columns, notes=_note)
    y = load_sample(args.b, key=args.key, columns=columns, notes=_note)
    if x.shape[1] != y.shape[1]:
        raise UsageError(f"{args.a} has {x.shape[1]} columns but {args.b} has {y.shape[1]}")
    if len(x) < 2 or len(y) < 2:
        raise UsageError("each file needs at least 2 rows")
    return x, y


# -- commands ----------------------------------------------------------------------------


def _progress_wanted(args: argparse.Namespace) -> bool:
    if args.json or not sys.stderr.isatty():
        return False
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def _run_test(
    x: np.ndarray, y: np.ndarray, args: argparse.Namespace, labels: tuple[str, str]
) -> dict:
    from .two_sample import mmd_test

    kernel = _test_kernel(args)
    xb = _to_backend(x, args.backend, args.device, args.dtype)
    yb = _to_backend(y, args.backend, args.device, args.dtype)
    start = time.perf_counter()
    result = mmd_test(
        xb,
        yb,
        kernel=kernel,
        estimator=args.estimator,
        n_permutations=args.permutations,
        alpha=args.alpha,
        seed=args.seed,
        aggregate=args.aggregate or False,
        progress=_progress_wanted(args),
        standardize=getattr(args, "standardize", False),
    )
    seconds = time.perf_counter() - start
    report = {
        "command": "test",
        "a": labels[0],
        "b": labels[1],
        "statistic": float(result.statistic),
        "pvalue": result.pvalue,
        "reject": bool(result.reject),
        "alpha": result.alpha,
        "n_x": result.n_x,
        "n_y": result.n_y,
        "d": x.shape[1],
        "standardized": getattr(args, "standardize", None),  # None: the demo, no such option
        "kernel": args.kernel or _families(result.kernel_names),
        "bandwidth": _bandwidth_report(result),
        "estimator": result.estimator,
        "permutations": args.permutations,
        "aggregate": result.aggregated,
        "method": result.method,
        "seed": args.seed,
        "backend": args.backend,
        "device": args.device or "cpu",
        "dtype": args.dtype,
        "seconds": round(seconds, 4),
    }
    if result.aggregated:
        report.update(_aggregate_report(result))
    if getattr(args, "plot", None):
        figure = result.plot()
        _save(figure, args.plot)
        report["plot"] = str(Path(args.plot))
    report["_result"] = result
    return report


def _families(names: Sequence[str]) -> str:
    """The kernels of a collection's members by their registered names, each once,
    e.g. ``gaussian+laplacian``."""
    return "+".join(dict.fromkeys(names))


def _bandwidth_report(result: Any) -> float | list[float | None] | None:
    """The bandwidth(s) the test used: a float (single test, one bandwidth), the
    list (aggregated test: one per member; a single kernel with several), or None
    for a kernel without one."""
    widths = list(result.bandwidths)
    if result.aggregated:
        return widths
    if all(width is None for width in widths):
        return None
    return widths[0] if len(widths) == 1 else widths


def _aggregate_report(result: Any) -> dict:
    """The aggregated test's own fields: method, aggregated statistic, members."""
    mmd2s = host_floats(result.statistics)
    members = [
        {"kernel": name, "bandwidth": width, "mmd2": value, "pvalue": float(pvalue)}
        for name, width, value, pvalue in zip(
            result.kernels, result.bandwidths, mmd2s, result.pvalues, strict=True
        )
    ]
    selected = result.selected
    report = {
        "selected": {
            "index": selected,
            "kernel": result.kernels[selected],
            "bandwidth": result.bandwidths[selected],
        },
        "combined_statistic": float(result.combined_statistic),
        "combined_statistic_kind": METHODS[result.method].statistic_kind,
        "members": members,
    }
    if result.component_pvalues is not None:
        report["component_pvalues"] = {
            name: float(value) for name, value in result.component_pvalues.items()
        }
    return report


def _check_plot_path(plot: str) -> None:
    """Refuse a ``--plot`` file whose folder does not exist, before any work."""
    folder = Path(plot).expanduser().parent
    if not folder.is_dir():
        raise UsageError(f"--plot {plot}: the folder {folder} does not exist")


def _save(figure: Any, plot: str) -> None:
    """Write the picture of ``figure``: a Figure, or what ``MMDTestResult.plot`` returns
    (its Axes, or an array of them), whose figure it is."""
    import matplotlib.pyplot as plt

    if not hasattr(figure, "savefig"):
        first = figure if hasattr(figure, "figure") else np.asarray(figure).flat[0]
        figure = first.figure
    try:
        figure.savefig(plot, dpi=120)
    except OSError as error:
        message = error.strerror or str(error)
        raise UsageError(f"--plot {plot}: cannot write the picture ({message})") from None
    finally:
        plt.close(figure)  # the command draws many pictures in one process (tests, demo)


def _format_bandwidth(values: float | list[float | None] | None) -> str:
    if values is None:
        return "none"
    if isinstance(values, float):
        values = [values]
    return ", ".join("none" if v is None else f"{v:.4g}" for v in values)


def _format_members(values: list[float | None]) -> str:
    """``20 members, σ from 0.43 to 8.5`` (the text report lists each member below)."""
    count = f"{len(values)} member{'s' if len(values) != 1 else ''}"
    widths = [v for v in values if v is not None]
    if not widths:
        return count
    if len(widths) == 1:
        return f"{count}, σ = {widths[0]:.4g}"
    return f"{count}, σ from {min(widths):.4g} to {max(widths):.4g}"


def _sigma(value: float | None) -> str:
    return "" if value is None else f", σ = {value:.4g}"


def _print_test(report: dict) -> None:
    decision = "reject H0 (the samples differ)" if report["reject"] else "do not reject H0"
    sizes = f"(n = {report['n_x']}) vs {report['b']} (m = {report['n_y']}), d = {report['d']}"
    runs = f"{report['permutations']} permutations, seed {report['seed']}"
    kernel = f"{report['kernel']}, bandwidth {_format_bandwidth(report['bandwidth'])}"
    if report["aggregate"]:
        kernel = f"{report['kernel']}, {_format_members(report['bandwidth'])}"
    lines = [
        f"mmd-any test: {report['a']} {sizes}",
        f"  kernel      {kernel}",
        f"  estimator   {report['estimator']}, {runs}",
    ]
    if report["standardized"] is not None:
        lines.append(f"  features    standardized: {str(report['standardized']).lower()}")
    if report["aggregate"]:
        method = report["method"]
        selected = report["selected"]
        lines.insert(1, f"  test        aggregated, {method}: {METHODS[method].summary}")
        lines += [
            f"  MMD²        {report['statistic']:.6g} (selected member: {selected['kernel']}"
            f"{_sigma(selected['bandwidth'])})",
            f"  aggregated  {report['combined_statistic']:.6g} "
            f"({report['combined_statistic_kind']})",
        ]
        if "component_pvalues" in report:
            parts = ", ".join(f"{k} {v:.4g}" for k, v in report["component_pvalues"].items())
            lines.append(f"  components  p-values: {parts} (uncorrected)")
    else:
        lines.append(f"  MMD²        {report['statistic']:.6g}")
    lines += [
        f"  p-value     {report['pvalue']:.4g} -> {decision} at alpha = {report['alpha']:g}",
        f"  time        {report['seconds']:.2f} s on {report['backend']} ({report['device']}, "
        f"{report['dtype']})",
    ]
    if report["aggregate"]:
        lines.append("  members     (MMD², p-value uncorrected)")
        for member in report["members"]:
            lines.append(
                f"    {member['kernel']}{_sigma(member['bandwidth'])}: "
                f"MMD² = {member['mmd2']:.6g}, p = {member['pvalue']:.4g}"
            )
    if "plot" in report:
        lines.append(f"  plot        {report['plot']}")
    print("\n".join(lines))


def _public(report: dict) -> dict:
    return {key: value for key, value in report.items() if not key.startswith("_")}


def _command_test(args: argparse.Namespace) -> int:
    if args.permutations < 1:
        raise UsageError(f"--permutations must be at least 1, got {args.permutations}")
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
    if args.aggregate is not None and args.aggregate not in METHODS:
        raise UsageError(
            f"--aggregate takes {', '.join(METHODS)} or no value ({RECOMMENDED}), "
            f"got {args.aggregate!r}"
        )
    if args.plot and not args.plot.lower().endswith((".png", ".pdf", ".svg")):
        raise UsageError(f"--plot must end in .png, .pdf or .svg, got {args.plot}")
    if args.plot:
        _check_plot_path(args.plot)
    x, y = _load(args)
    report = _run_test(x, y, args, (args.a, args.b))
    if args.json:
        print(json.dumps(_public(report)))
    else:
        _print_test(report)
    return 0


def _command_distance(args: argparse.Namespace) -> int:
    from .estimators import mmd2

    x, y = _load(args)
    kernel = _kernel(args.kernel, args.bandwidth)
    estimator = args.estimator or "biased"
    start = time.perf_counter()
    value = float(
        mmd2(
            _to_backend(x, args.backend, args.device, args.dtype),
            _to_backend(y, args.backend, args.device, args.dtype),
            kernel=kernel,
            estimator=estimator,
            standardize=args.standardize,
        )
    )
    seconds = time.perf_counter() - start
    report = {
        "command": "distance",
        "a": args.a,
        "b": args.b,
        "mmd2": value,
        "mmd": float(np.sqrt(max(value, 0.0))),
        "estimator": estimator,
        "n_x": len(x),
        "n_y": len(y),
        "d": x.shape[1],
        "standardized": args.standardize,
        "kernel": args.kernel or "gaussian",
        "bandwidth": _bandwidths_used(kernel, x, y, args.standardize),
        "backend": args.backend,
        "device": args.device or "cpu",
        "dtype": args.dtype,
        "seconds": round(seconds, 4),
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"MMD² = {value:.6g}   MMD = {report['mmd']:.6g}   ({estimator}, {report['kernel']}, "
            f"bandwidth {_format_bandwidth(report['bandwidth'])}; n = {len(x)}, m = {len(y)}, "
            f"d = {x.shape[1]}; standardized: {str(args.standardize).lower()}; "
            f"{args.dtype}, {seconds:.2f} s)"
        )
    return 0


#: Top features whose values ``mmd-any explain`` lists beside each row.
ROW_FEATURES = 3


def _explain_report(result: Any, x: np.ndarray, y: np.ndarray, names: tuple[str, str]) -> dict:
    """The explanation as plain data, with each listed row's values of the top features."""
    from ._compat import host_floats

    report: dict[str, Any] = {"command": "explain", "a": names[0], "b": names[1]}
    report.update({"n_x": len(x), "n_y": len(y), "d": x.shape[1], **result.to_dict()})
    shown = [entry["feature"] for entry in report["features"][:ROW_FEATURES]]
    witness = host_floats(result.witness)
    for key, offset, data in (("x_rows", 0, x), ("y_rows", len(x), y)):
        report[key] = [
            {
                "row": row,
                "witness": witness[offset + row],
                "values": {result.feature_label(j): float(data[row, j]) for j in shown},
            }
            for row in report[key]
        ]
    return report


def _print_rows(title: str, rows: list[dict]) -> None:
    print(title)
    if not rows:
        return
    columns = list(rows[0]["values"])
    print("    row     witness  " + "  ".join(f"{name:>12s}" for name in columns))
    for entry in rows:
        values = "  ".join(f"{entry['values'][name]:12.4g}" for name in columns)
        print(f"  {entry['row']:5d}  {entry['witness']:+10.3e}  {values}")


def _print_explain(report: dict, features: int) -> None:
    print(
        f"mmd-any explain: {report['a']} (n = {report['n_x']}) vs {report['b']} "
        f"(m = {report['n_y']}), d = {report['d']}; witness kernel {report['kernel']}; "
        f"{report['n_permutations']} permutations"
    )
    print(
        "\nfeatures, most changed first (marginal MMD², each feature's own median "
        "bandwidth;\np corrected for the number of features: Westfall-Young min-P, "
        f"family-wise level {report['alpha']:g})"
    )
    print("  rank  feature            score        z   p corrected     p raw")
    for rank, entry in enumerate(report["features"][:features], start=1):
        mark = "*" if entry["pvalue"] <= report["alpha"] else " "
        print(
            f"  {rank:4d}  {entry['name']:<14s} {entry['score']:9.3e} {entry['zscore']:8.1f}"
            f"   {entry['pvalue']:9.3g} {mark}  {entry['raw_pvalue']:8.3g}"
        )
    hidden = len(report["features"]) - features
    if hidden > 0:
        print(f"  ... {hidden} more (--features, or --json for all)")
    changed = report["changed_features"]
    listed = [entry["name"] for entry in report["features"] if entry["feature"] in changed]
    names = ", ".join(listed[:features]) + (", ..." if len(listed) > features else "")
    print(
        f"  changed (* above): {len(changed)} of {report['d']}" + (f": {names}" if changed else "")
    )
    print()
    _print_rows(
        f"rows of {report['a']} where it has most mass that {report['b']} lacks "
        "(largest witness; 0-based data rows):",
        report["x_rows"],
    )
    if report["x_rows"] and report["x_rows"][0]["witness"] <= 0:
        print(
            f"  (no row of {report['a']} has a positive witness: {report['b']} is denser "
            "wherever it has data; these are the rows where least so)"
        )
    _print_rows(
        f"\nrows of {report['b']} where it has most mass that {report['a']} lacks "
        "(most negative witness):",
        report["y_rows"],
    )
    if report["y_rows"] and report["y_rows"][0]["witness"] >= 0:
        print(
            f"  (no row of {report['b']} has a negative witness: {report['a']} is denser "
            "wherever it has data; these are the rows where least so)"
        )


def _command_explain(args: argparse.Namespace) -> int:
    from .explain import explain

    for option in ("top", "features", "permutations"):
        if getattr(args, option) < 1:
            raise UsageError(f"--{option} must be at least 1, got {getattr(args, option)}")
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
    if args.plot:
        if not args.plot.lower().endswith((".png", ".pdf", ".svg")):
            raise UsageError(f"--plot must end in .png, .pdf or .svg, got {args.plot}")
        _check_plot_path(args.plot)
    x, y = _load(args)
    result = explain(
        _to_backend(x, args.backend, args.device, args.dtype),
        _to_backend(y, args.backend, args.device, args.dtype),
        top=args.top,
        kernel=_kernel(args.kernel, args.bandwidth),
        n_permutations=args.permutations,
        alpha=args.alpha,
        seed=args.seed,
        standardize=args.standardize,
    )
    report = _explain_report(result, x, y, (args.a, args.b))
    if args.json:
        print(json.dumps(report))
    else:
        _print_explain(report, args.features)
    if args.plot:
        _save(result.plot(x, y, labels=(Path(args.a).name, Path(args.b).name)), args.plot)
        print(
            f"\nplot written to {Path(args.plot).resolve()}",
            file=sys.stderr if args.json else sys.stdout,
        )
    return 0


def _digits_domains(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8×8 digits: one half, the held-out half, and that half as seen by a
    different scanner (lower contrast, brighter, noisier)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise UsageError("mmd-any demo needs scikit-learn (pip install scikit-learn)") from None
    images = load_digits().data / 16.0
    order = np.random.default_rng(seed).permutation(len(images))
    half = len(images) // 2
    source, held_out = images[order[:half]], images[order[half:]]
    noise = np.random.default_rng(seed + 1).normal(0.0, 0.08, size=held_out.shape)
    scanner = np.clip(0.75 * held_out + 0.12 + noise, 0.0, 1.0)
    return source, held_out, scanner


#: Permutations of the demo's explanations (shared by the 64 pixels).
DEMO_EXPLAIN_PERMUTATIONS = 200


def _pixel(j: int) -> str:
    return f"({j // 8}, {j % 8})"


def _demo_explain(source: np.ndarray, others: list[tuple[str, np.ndarray]]) -> Any:
    """Which pixels moved: the ranked pixels of each pair, and the 8×8 score map of the
    last one (the shifted domain). Returns that explanation."""
    from .explain import explain

    print(
        f"mmd-any explain: which pixels moved ({DEMO_EXPLAIN_PERMUTATIONS} permutations "
        "shared by the 64 pixels; p corrected for 64 tests: Westfall-Young min-P)"
    )
    for label, other in others:
        result = explain(source, other, n_permutations=DEMO_EXPLAIN_PERMUTATIONS, seed=0)
        changed = result.changed_features
        scores = np.asarray(result.feature_scores)
        print(f"  A vs {label}: {len(changed)} of 64 pixels changed at family-wise level 0.05")
        if changed:
            ranked = ", ".join(f"{_pixel(j)} {scores[j]:.2f}" for j in changed[:5])
            print(f"    most changed (row, column): {ranked}")
    print("  marginal MMD² of each pixel, A vs B (rows of the 8×8 image):")
    for row in scores.reshape(8, 8):
        print("    " + " ".join(f"{value:4.2f}" for value in row))
    return result


def _command_demo(args: argparse.Namespace) -> int:
    _check_plot_path(args.plot)
    source, held_out, scanner = _digits_domains()
    print("mmd-any demo: scikit-learn digits (8×8 images, 64 features)")
    print(
        f"  domain A: {len(source)} images; A': the other {len(held_out)} images;"
        " B: A' through another scanner (contrast ×0.75, +0.12, noise 0.08)\n"
    )
    figures = []
    options = argparse.Namespace(
        kernel="gaussian",
        bandwidth="median",
        estimator="biased",
        backend="numpy",
        device=None,
        dtype="float64",
        permutations=args.permutations,
        alpha=0.05,
        seed=0,
        aggregate=None,
        json=False,
        plot=None,
    )
    pairs = (("A' (held-out half of A)", held_out), ("B (shifted domain)", scanner))
    for label, other in pairs:
        report = _run_test(source, other, options, ("A", label))
        _print_test(report)
        print()
        figures.append(report["_result"])
    explained = _demo_explain(source, [("A'", held_out), ("B", scanner)])
    print()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, 3, figsize=(15, 4.3), layout="constrained", width_ratios=(1.0, 1.0, 0.8)
    )
    for ax, result, title in zip(
        axes, figures, ("A vs A' (same distribution)", "A vs B (shifted)"), strict=False
    ):
        result.plot(ax=ax)
        ax.set_title(f"{title}\np-value = {result.pvalue:.3g}", fontsize=10)
    scores = np.asarray(explained.feature_scores).reshape(8, 8)
    image = axes[2].imshow(scores, cmap="magma", vmin=0.0)
    axes[2].set_title("which pixels moved, A vs B:\neach pixel's own MMD²", fontsize=10)
    axes[2].set_xticks(range(8))
    axes[2].set_yticks(range(8))
    fig.colorbar(image, ax=axes[2], shrink=0.8, label="marginal MMD²")
    fig.suptitle("mmd-any demo: permutation null of MMD² (Gaussian kernel, median bandwidth)")
    _save(fig, args.plot)
    print(f"plot written to {Path(args.plot).resolve()}")
    return 0


def _bare_aggregate(argv: Sequence[str]) -> list[str]:
    """``--aggregate`` followed by an existing file (or nothing) is the flag alone, the
    recommended test: ``mmd-any test --aggregate a.npy b.npy`` must not read ``a.npy``
    as the method. Any other word stays the method, and an unknown one its error."""
    tokens = list(argv)
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token == "--aggregate" and (following is None or Path(following).is_file()):
            tokens[index] = f"--aggregate={RECOMMENDED}"
    return tokens


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mmd-any`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(_bare_aggregate(sys.argv[1:] if argv is None else argv))
    commands = {
        "test": _command_test,
        "distance": _command_distance,
        "demo": _command_demo,
        "explain": _command_explain,
    }
    try:
        return commands[args.command](args)
    except (InputError, UsageError) as error:
        print(f"mmd-any: error: {error}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as error:
        print(f"mmd-any: error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    except (ImportError, OSError) as error:
        print(f"mmd-any: error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
