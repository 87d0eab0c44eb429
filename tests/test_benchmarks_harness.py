"""The benchmarks' one harness (``benchmarks/_harness.py``) and that it is the only one.

Its spawn kills a case that overruns its timeout together with everything the
case started (the whole process group), its renderer formats tables and ratio
cells, and no benchmark script defines its own spawn, timer, CPU or memory
reader, or table formatter (an AST check). Seconds in all.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from .conftest import imported_modules

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"

#: Functions, classes and methods only ``_harness.py`` may define.
HARNESS_ONLY = frozenset(
    {
        # child processes
        "spawn",
        "spawn_case",
        "serve_child",
        "main_child",
        "thread_environment",
        "pin_threads",
        "limit_threads",
        # timing
        "measure",
        "measured",
        "time_runs",
        "time_runner",
        "time_call",
        "interleaved",
        "first_call_seconds",
        "synchroniser",
        "torch_sync",
        # CPU time, load and memory
        "own_cpu_seconds",
        "busy_cpu_seconds",
        "peak_rss_mib",
        "peak_extra_mib",
        "maxrss_mib",
        "vm_hwm_mib",
        "current_rss_mib",
        "reset_peak_rss",
        "PeakMemory",
        "Timing",
        # tables and headers
        "Table",
        "table",
        "format_table",
        "render",
        "render_table",
        "render_report",
        "report",
        "ratio",
        "fmt",
        "_fmt",
        "cpu_model",
        "memory_gib",
        "machine",
        "versions",
        "timestamp",
    }
)
#: Modules only the harness needs: a benchmark importing one is doing the harness's work.
HARNESS_MODULES = frozenset({"subprocess", "resource", "signal", "harness", "readings"})


def _harness():
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("_harness", BENCHMARKS / "_harness.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_harness", module)
    spec.loader.exec_module(module)
    return module


def _script(tmp_path: Path, body: str) -> Path:
    """A case script that serves ``run(spec)`` through the harness."""
    path = tmp_path / "case.py"
    head = f"import sys\nsys.path.insert(0, {str(BENCHMARKS)!r})\nimport _harness\n"
    tail = "\nif __name__ == '__main__':\n    assert _harness.serve_child(run)\n"
    path.write_text(head + textwrap.dedent(body) + tail)
    return path


def _gone(pid: int) -> bool:
    """The process ``pid`` no longer runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return state in ("Z", "X")


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")
def test_spawn_kills_the_whole_process_group_on_timeout(tmp_path: Path) -> None:
    harness = _harness()
    pid_file = tmp_path / "grandchild.pid"
    script = _script(
        tmp_path,
        """
        import subprocess, time
        from pathlib import Path

        def run(spec):
            grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            Path(spec["pid_file"]).write_text(str(grandchild.pid))
            time.sleep(60)
            return {"status": "ok"}
        """,
    )
    start = time.perf_counter()
    outcome = harness.spawn(script, {"pid_file": str(pid_file)}, timeout=2.0)
    assert time.perf_counter() - start < 20
    assert outcome.status == "timeout"
    assert not outcome.ok
    assert outcome.result is None
    assert outcome.describe() == "timeout: killed after 2 s"
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(grandchild), "the grandchild outlived its process group's timeout"
    with pytest.raises(RuntimeError, match="timeout"):
        outcome.require()


def test_spawn_returns_the_child_result_and_reports_failures(tmp_path: Path) -> None:
    harness = _harness()
    script = _script(
        tmp_path,
        """
        import os

        def run(spec):
            if spec["fail"]:
                raise ValueError("this case failed on purpose")
            print("noise on stdout")
            return {"status": "ok", "twice": 2 * spec["x"], "env": os.environ.get("BENCH_X")}
        """,
    )
    outcome = harness.spawn(script, {"x": 21, "fail": False}, timeout=60, env={"BENCH_X": "y"})
    assert outcome.ok, outcome.stderr_tail
    assert outcome.result == {"status": "ok", "twice": 42, "env": "y"}
    assert outcome.require()["twice"] == 42
    assert outcome.returncode == 0
    assert outcome.wall_s > 0
    failed = harness.spawn(script, {"x": 1, "fail": True}, timeout=60)
    assert failed.status == "error"
    assert failed.result is None
    assert failed.describe().startswith("failed (exit code 1): ValueError: this case failed")
    assert "Traceback" in failed.stderr_tail


def test_timer_interleaves_warms_up_syncs_and_keeps_values() -> None:
    harness = _harness()
    order: list[str] = []
    syncs = []
    calls = {"a": lambda: order.append("a") or 1.5, "b": lambda: order.append("b")}
    timings = harness.measure(calls, 3, warmup=2, sync=lambda: syncs.append(1), values=True)
    assert order == ["a", "a", "b", "b"] + ["a", "b"] * 3
    assert len(syncs) == len(order)
    assert [len(t.times) for t in timings.values()] == [3, 3]
    assert timings["a"].values == [1.5] * 3
    assert timings["b"].values == [None] * 3
    assert timings["a"].warmup_s is not None
    assert set(harness.interleaved(calls, 2, warmup=0)) == {"a", "b"}
    assert harness.first_call_seconds(lambda: None) >= 0
    # the budget cuts the rounds after a slow warm-up, to at least one
    slow = harness.measure({"s": lambda: time.sleep(0.02)}, 100, budget_s=0.01)["s"]
    assert len(slow.times) == 1
    timing = harness.time_call(lambda: 2.0, 4)
    summary = timing.summary()
    assert summary["runs"] == 4
    assert summary["value"] == 2.0
    assert summary["seconds"] == timing.median
    assert summary["peak_extra_mib"] is not None
    assert harness.own_cpu_seconds() > 0
    assert harness.peak_rss_mib() > 1
    assert harness.peak_rss_mib(since_reset=True) > 1


def test_renderer_formats_tables_and_ratios() -> None:
    harness = _harness()
    assert harness.ratio(3.0, 2.0) == "1.50×"
    assert harness.ratio(1.0, 3.0, 1, "x") == "0.3x"
    assert harness.ratio(None, 1.0) == harness.ratio(1.0, None) == harness.ratio(1.0, 0) == "-"
    assert harness.fmt(None, ".2f") == "-"
    assert harness.fmt(0.12345, ".2f") == "0.12"
    assert harness.table(["n", "s", "ratio"], [[1, 0.000123456, "2.00×"], [10, None, "-"]]) == (
        "| n | s | ratio |\n|---|---|---|\n| 1 | 0.0001235 | 2.00× |\n| 10 | - | - |"
    )
    table = harness.Table("Title", ["name", "kind", "value"], [["a", "x|y", "1.5"]], ["a note"])
    assert harness.render_table(table).splitlines() == [
        "Title",
        "-----------------",
        "name  kind  value",
        "-----------------",
        "a      x|y    1.5",
        "-----------------",
        "  a note",
    ]
    assert harness.render_table(harness.Table(None, ["n", "mode"], [[32, "f"]], align="rl")) == (
        "--------\n n  mode\n--------\n32  f\n--------"
    )
    assert harness.render_table(table, markdown=True) == (
        "### Title\n\n| name | kind | value |\n|---|---|---|\n| a | x/y | 1.5 |\n\n- a note"
    )
    report = harness.render_report(["Head", "more"], [table], ["end"], markdown=True)
    assert report.startswith("## Head\n\n- more\n\n### Title\n")
    assert report.endswith("\n\n- end\n")
    assert harness.render_report([], [table]).startswith("Title\n")
    assert harness.versions("pytest").startswith("Python 3.")
    assert "pytest " in harness.versions("pytest")
    assert "(not installed)" in harness.versions("no-such-distribution-here")
    assert "logical CPUs" in harness.machine()


def _defined_names(tree: ast.AST) -> set[str]:
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name for node in ast.walk(tree) if isinstance(node, kinds)}


def test_no_benchmark_defines_its_own_harness() -> None:
    scripts = sorted(BENCHMARKS.glob("*.py"))
    assert BENCHMARKS / "_harness.py" in scripts
    assert not (BENCHMARKS / "harness.py").exists()
    benches = [path for path in scripts if path.name.startswith("bench_")]
    assert len(benches) >= 9
    harness_names = _defined_names(ast.parse((BENCHMARKS / "_harness.py").read_text()))
    assert {"spawn", "measure", "peak_rss_mib", "own_cpu_seconds", "render_table"} <= (
        harness_names
    )
    for path in scripts:
        if path.name == "_harness.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        assert not _defined_names(tree) & HARNESS_ONLY, path.name
        assert not imported_modules(tree) & HARNESS_MODULES, path.name
        if path in benches:
            assert "_harness" in imported_modules(tree), path.name
