"""The one harness of the benchmark scripts: child processes, timing, readings, tables.

Every ``bench_*.py`` imports this module from beside itself (a script's folder is
first on ``sys.path``) and holds only its cases: what to run, on which data, and
which rows and columns to report. The layout follows SciPy's
``benchmarks/benchmarks/common.py`` (one shared module with the machinery that
every benchmark file uses, so that the benchmark files stay declarative); the
code here is this project's own. Nothing here imports NumPy or torch at import
time, so a parent that only spawns cases stays small.

Child processes
    :func:`spawn` runs one case of a script in a fresh interpreter,
    ``python SCRIPT --child SPEC`` with the case's JSON ``SPEC``, in a session
    and process group of its own (``start_new_session=True``) under a timeout.
    On timeout the whole group is killed with ``os.killpg`` (the child and
    whatever it started, such as Dask's worker processes), and so is anything
    left in the group after a normal exit. The answer is an :class:`Outcome`:
    ``status`` ``"ok"`` (the child printed its result line), ``"timeout"`` or
    ``"error"``, the child's JSON result, the tail of its stderr, its exit code
    and wall time. The child side is :func:`serve_child`, which a script's
    ``main`` calls first: it runs the case and prints its result as one marked
    JSON line. A fresh process per case keeps a case's peak memory and state
    (imports, caches, compiled code) its own.
Timing
    :func:`measure` is the one timing loop: ``warmup`` calls of each callable,
    then ``rounds`` rounds that call every callable in turn (interleaved), each
    call followed by ``sync()`` (where a GPU waits for its queue; a no-op on
    the CPU), with ``time.perf_counter`` around call and sync; a time budget
    can cut the number of rounds. On a shared machine the noise moves a
    one-case-at-a-time median by ±30 % between runs; interleaving turns it into
    a common factor that cancels in the ratios. :func:`interleaved` (medians),
    :func:`time_call` (one callable with its values, load and peak memory) and
    :func:`first_call_seconds` (compile times) are views of it.
CPU time and load
    :func:`own_cpu_seconds` is this process's user + system CPU time (all its
    threads, ``getrusage(RUSAGE_SELF)``) plus that of its children that have
    ended and been waited for (``RUSAGE_CHILDREN``; a child still running is
    not counted). :func:`busy_cpu_seconds` is the whole machine's busy time
    from ``/proc/stat``. The difference over the timed rounds, per second of
    wall time, is a :class:`Timing`'s ``other_load``: the mean number of CPUs
    that other processes kept busy, to flag timings taken on a busy machine.
Memory
    :func:`peak_rss_mib` is the one peak reader (``ru_maxrss`` in the
    platform's unit, or the resettable ``VmHWM``); :class:`PeakMemory` turns it
    into the peak above a baseline, or reads torch's CUDA allocator on a GPU.
Tables and headers
    :class:`Table` with :func:`render_table` (aligned plain text or Markdown),
    :func:`render_report` (header lines, tables, closing lines), :func:`table`
    (a bare Markdown table), :func:`fmt` and :func:`ratio` (``1.23×``) for the
    cells; :func:`timestamp`, :func:`machine` and :func:`versions` for the
    header lines.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The option that makes a benchmark script run one case (see :func:`serve_child`).
CHILD_FLAG = "--child"
#: The prefix of the child's result line on its stdout.
RESULT_MARK = "@@RESULT "
#: Characters of a child's stderr kept in its :class:`Outcome`.
STDERR_TAIL = 4000
MIB = 2**20
#: The environment variables that size the thread pools of BLAS, OpenMP and numba.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMBA_NUM_THREADS",
)

_START = time.perf_counter()


def progress(message: str) -> None:
    """``message`` on stderr with the seconds since this process started."""
    print(f"  [{time.perf_counter() - _START:6.0f} s] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------- child processes


@dataclass
class Outcome:
    """What became of one spawned case.

    ``status`` is ``"ok"`` when the child printed its result line, ``"timeout"``
    when it ran past its timeout and its process group was killed, ``"error"``
    otherwise; ``result`` is the child's JSON result (``None`` without one).
    """

    status: str
    result: dict[str, Any] | None
    stderr_tail: str
    returncode: int | None
    wall_s: float
    timeout_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        """One line on what happened, for a table's note column."""
        if self.status == "ok":
            return "ok"
        if self.status == "timeout":
            return f"timeout: killed after {self.timeout_s:.0f} s"
        lines = [line for line in self.stderr_tail.strip().splitlines() if line.strip()]
        last = lines[-1] if lines else "no output"
        code = self.returncode
        why = "killed (out of memory?)" if code in (-9, 137) else f"exit code {code}"
        return f"failed ({why}): {last[:300]}"

    def require(self) -> dict[str, Any]:
        """The child's result; raises ``RuntimeError`` with its stderr where there is none."""
        if self.ok and self.result is not None:
            return self.result
        raise RuntimeError(f"{self.describe()}\n--- stderr (tail) ---\n{self.stderr_tail}")


def thread_environment(threads: int, wait_policy: str | None = None) -> dict[str, str]:
    """Environment variables that pin a child's thread pools (and OpenMP's wait policy)."""
    env = {name: str(threads) for name in THREAD_VARIABLES}
    if wait_policy is not None:
        env["OMP_WAIT_POLICY"] = wait_policy
    return env


def limit_threads(threads: int) -> Any:
    """Limit the thread pools already loaded in this process (threadpoolctl where installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(threads)


def _kill_group(pgid: int) -> None:
    """SIGKILL every process of the group ``pgid`` (nothing if it is empty)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _drain(process: subprocess.Popen) -> tuple[str, str]:
    """The rest of a killed child's output (nothing if an escaped process holds its pipes)."""
    try:
        return process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        process.wait()
        return "", ""


def spawn(
    script: str | os.PathLike[str],
    spec: Mapping[str, Any],
    *,
    timeout: float | None,
    env: Mapping[str, str] | None = None,
    unset: Iterable[str] = (),
    label: str | None = None,
) -> Outcome:
    """Run one case, ``python SCRIPT --child SPEC``, in its own process group.

    ``env`` is added to this process's environment, without the variables in
    ``unset``; ``timeout`` is in seconds (``None``: no limit); ``label`` is
    printed to stderr as progress. On timeout, or should this process be
    interrupted, the child's whole process group is killed.
    """
    if label is not None:
        progress(f"{label} ...")
    dropped = set(unset)
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    environment.update(env or {})
    command = [sys.executable, str(Path(script).resolve()), CHILD_FLAG, json.dumps(spec)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=True,
    )
    status = "error"
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)
        out, err = _drain(process)
        status = "timeout"
    except BaseException:
        _kill_group(process.pid)
        _drain(process)
        raise
    finally:
        _kill_group(process.pid)  # whatever the child left behind in its group
    wall = time.perf_counter() - started
    result = None
    for line in reversed(out.splitlines()):
        if line.startswith(RESULT_MARK):
            result = json.loads(line[len(RESULT_MARK) :])
            break
    if status != "timeout" and result is not None:
        status = "ok"
    return Outcome(status, result, err[-STDERR_TAIL:], process.returncode, wall, timeout)


def serve_child(
    run: Callable[[dict[str, Any]], dict[str, Any]], argv: Sequence[str] | None = None
) -> bool:
    """Run the case of ``--child SPEC`` and print its result line; False if not a child.

    A benchmark's ``main`` starts with ``if serve_child(run_case): return``. A
    ``MemoryError`` of the case is reported as the result
    ``{"status": "failed: MemoryError"}``; any other exception ends the child
    with its traceback on stderr (an ``"error"`` :class:`Outcome`).
    """
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 2 or args[0] != CHILD_FLAG:
        return False
    spec = json.loads(args[1])
    try:
        result = run(spec)
    except MemoryError:
        result = {"status": "failed: MemoryError"}
    print(RESULT_MARK + json.dumps(result, default=float), flush=True)
    return True


# ----------------------------------------------------------------------- CPU time and load


def own_cpu_seconds() -> float:
    """User + system CPU seconds of this process (all threads) and of its waited-for children.

    ``getrusage(RUSAGE_SELF)`` plus ``getrusage(RUSAGE_CHILDREN)``; the latter
    counts only children that have ended and been waited for.
    """
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine spent busy since boot (``/proc/stat``; None elsewhere)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


# -------------------------------------------------------------------------------- memory


def current_rss_mib() -> float:
    """Resident set size now (``/proc/self/statm``; the peak where that is unreadable)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return peak_rss_mib()
    return pages * resource.getpagesize() / MIB


def reset_peak_rss() -> bool:
    """Reset the peak-RSS counter ``VmHWM`` to the current RSS; False where impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def peak_rss_mib(since_reset: bool = False) -> float:
    """Peak resident set size of this process, MiB.

    ``since_reset=False``: ``ru_maxrss`` (KiB on Linux, bytes on macOS), the
    peak over the process's life; on Linux it also counts the image the process
    had before ``exec`` (a copy of its parent's). ``since_reset=True``:
    ``VmHWM`` of ``/proc/self/status``, the peak since the last
    :func:`reset_peak_rss` (``ru_maxrss`` where it cannot be read).
    """
    if since_reset:
        with contextlib.suppress(OSError):
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    unit = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / MIB


class PeakMemory:
    """Peak memory above the level at construction, on the host or a CUDA device.

    On the host (``device="cpu"``): the RSS now is the baseline and the peak
    counter is reset, so :meth:`extra_mib` is ``VmHWM`` (or ``ru_maxrss``
    where the reset is impossible) minus the baseline. On ``"cuda…"``: torch's
    allocator, ``max_memory_allocated`` after ``reset_peak_memory_stats``
    minus ``memory_allocated``.
    """

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        if device.startswith("cuda"):
            import torch

            torch.cuda.reset_peak_memory_stats(device)
            self.baseline = torch.cuda.memory_allocated(device) / MIB
            self.reset = True
        else:
            self.baseline = current_rss_mib()
            self.reset = reset_peak_rss()

    def extra_mib(self) -> float:
        """Peak above the baseline so far, MiB."""
        if self.device.startswith("cuda"):
            import torch

            return torch.cuda.max_memory_allocated(self.device) / MIB - self.baseline
        return peak_rss_mib(self.reset) - self.baseline


# -------------------------------------------------------------------------------- timing


def no_sync() -> None:
    """The ``sync`` of a host library: nothing to wait for."""
    return None


def scalar(value: Any) -> float | None:
    """A Python float from a number, 0-d array or 0-d tensor; None for anything else."""
    if isinstance(value, int | float):
        return float(value)
    if getattr(value, "ndim", None) != 0:
        return None
    if hasattr(value, "detach"):
        value = value.detach().cpu()
    return float(value)


@dataclass
class Timing:
    """The timed calls of one callable: seconds, values (where kept) and readings."""

    times: list[float]
    values: list[float | None] = field(default_factory=list)
    warmup_s: float | None = None
    other_load: float | None = None
    peak_extra_mib: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict: ``seconds`` (the median), ``times``, ``runs``, values, readings."""
        return {
            "seconds": self.median,
            "times": self.times,
            "runs": len(self.times),
            "warmup_s": self.warmup_s,
            "values": self.values,
            "value": self.values[-1] if self.values else None,
            "peak_extra_mib": self.peak_extra_mib,
            "other_load": self.other_load,
        }


def measure(
    calls: Mapping[str, Callable[[], Any]],
    rounds: int,
    *,
    warmup: int = 1,
    sync: Callable[[], None] = no_sync,
    budget_s: float | None = None,
    values: bool = False,
) -> dict[str, Timing]:
    """The timing loop: ``warmup`` calls of each, then ``rounds`` interleaved rounds.

    Every call, warm-up included, is followed by ``sync()`` and timed with
    ``time.perf_counter``. With ``budget_s``, when the warm-up says that
    ``rounds`` rounds would take longer, the rounds are cut to
    ``budget_s / (seconds of one warm round)``, at least 1. ``values=True``
    keeps each timed call's result as :func:`scalar` (converted after the
    clock stops).
    """
    warm: dict[str, float] = {}
    for name, call in calls.items():
        for _ in range(warmup):
            start = time.perf_counter()
            call()
            sync()
            warm[name] = time.perf_counter() - start
    if budget_s is not None and warm:
        per_round = sum(warm.values())
        if per_round * rounds > budget_s:
            rounds = max(1, int(budget_s // per_round))
    times: dict[str, list[float]] = {name: [] for name in calls}
    kept: dict[str, list[float | None]] = {name: [] for name in calls}
    busy0, own0, wall0 = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            result = call()
            sync()
            times[name].append(time.perf_counter() - start)
            if values:
                kept[name].append(scalar(result))
    busy1, own1, wall1 = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
    other = None
    if busy0 is not None and busy1 is not None and wall1 > wall0:
        other = max(0.0, (busy1 - busy0) - (own1 - own0)) / (wall1 - wall0)
    return {name: Timing(times[name], kept[name], warm.get(name), other) for name in calls}


def interleaved(
    calls: Mapping[str, Callable[[], Any]],
    rounds: int,
    warmup: int = 3,
    sync: Callable[[], None] = no_sync,
) -> dict[str, float]:
    """Median seconds of each call over ``rounds`` rounds that call every one in turn."""
    timings = measure(calls, rounds, warmup=warmup, sync=sync)
    return {name: timing.median for name, timing in timings.items()}


def time_call(
    call: Callable[[], Any],
    runs: int,
    *,
    warmup: int = 1,
    sync: Callable[[], None] = no_sync,
    budget_s: float | None = None,
    memory: str | None = "cpu",
) -> Timing:
    """One callable: ``warmup`` calls, ``runs`` timed ones, their values and the peak memory.

    ``memory`` is the device whose peak above the level before the first call
    is read (:class:`PeakMemory`; None: not read).
    """
    sync()
    peak = PeakMemory(memory) if memory is not None else None
    timing = measure({"call": call}, runs, warmup=warmup, sync=sync, budget_s=budget_s, values=True)
    result = timing["call"]
    if peak is not None:
        result.peak_extra_mib = peak.extra_mib()
    return result


def first_call_seconds(call: Callable[[], Any], sync: Callable[[], None] = no_sync) -> float:
    """Wall time of one call (for compile times: the first call of a fresh function)."""
    return measure({"first": call}, 1, warmup=0, sync=sync)["first"].times[0]


def torch_sync(device: Any) -> Callable[[], None]:
    """The ``sync`` of a torch device: ``torch.cuda.synchronize`` on CUDA, else nothing."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return no_sync


def normal_pair(n: int, d: int, shift: float, seed: int = 0) -> tuple[Any, Any]:
    """``x ~ N(0, 1)``, ``y ~ N(shift, 1)``, ``(n, d)`` float32, without float64 temporaries."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d), dtype=np.float32)
    y = rng.standard_normal((n, d), dtype=np.float32)
    y += np.float32(shift)
    return x, y


# -------------------------------------------------------------------------------- tables


def fmt(value: float | None, spec: str) -> str:
    """``format(value, spec)``, or ``-`` for None."""
    return "-" if value is None else format(value, spec)


def ratio(value: float | None, baseline: float | None, digits: int = 2, mark: str = "×") -> str:
    """``value / baseline`` as ``1.23×``, or ``-`` when either is missing or ``baseline`` is 0."""
    if value is None or baseline is None or baseline == 0:
        return "-"
    return f"{value / baseline:.{digits}f}{mark}"


def cell(value: Any) -> str:
    """A table cell: strings as they are, floats with 4 significant digits, None as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@dataclass
class Table:
    """A table with an optional title and notes printed under it.

    ``align`` gives each column's alignment in plain text, ``"l"`` or ``"r"``;
    columns past its end are right-aligned (the default: the first column left).
    """

    title: str | None
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    notes: list[str] = field(default_factory=list)
    align: str = "l"


def render_table(table: Table, markdown: bool = False) -> str:
    """Aligned plain text, or a Markdown pipe table, with the title and notes.

    Plain text: title, rule, headers, rule, rows, rule, then the notes indented
    by two spaces; two spaces between columns. Markdown: ``### title``, the
    pipe table (``|`` in a cell becomes ``/``), the notes as a list.
    """
    headers = [str(h) for h in table.headers]
    rows = [[cell(v) for v in row] + [""] * (len(headers) - len(row)) for row in table.rows]
    if markdown:
        lines = [f"### {table.title}", ""] if table.title else []
        lines.append("| " + " | ".join(h.replace("|", "/") for h in headers) + " |")
        lines.append("|" + "---|" * len(headers))
        lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows]
        if table.notes:
            lines += ["", *(f"- {note}" for note in table.notes)]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    align = table.align + "r" * (len(headers) - len(table.align))

    def line(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(cells, widths, align, strict=False)
        ]
        return "  ".join(padded).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    body = [table.title] if table.title else []
    body += [rule, line(headers), rule, *(line(r) for r in rows), rule]
    return "\n".join(body + [f"  {note}" for note in table.notes])


def render_report(
    head: Sequence[str], tables: Sequence[Table], tail: Sequence[str] = (), markdown: bool = False
) -> str:
    """Header lines, the tables and closing lines, separated by blank lines.

    In Markdown the first header line is a ``##`` heading and the other
    header and closing lines are list items.
    """
    blocks = []
    if head:
        if markdown:
            items = [f"- {line}" for line in head[1:]]
            blocks.append("\n".join([f"## {head[0]}", *(["", *items] if items else [])]))
        else:
            blocks.append("\n".join(head))
    blocks += [render_table(t, markdown) for t in tables]
    if tail:
        blocks.append("\n".join(f"- {line}" for line in tail) if markdown else "\n".join(tail))
    return "\n\n".join(blocks) + "\n"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A bare Markdown pipe table (floats with 4 significant digits)."""
    return render_table(Table(None, headers, rows), markdown=True)


# ------------------------------------------------------------------------------- headers


def timestamp() -> str:
    """The time now, ``YYYY-MM-DD HH:MM UTC``."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def cpu_model() -> str:
    """The ``model name`` of ``/proc/cpuinfo``, else ``platform.processor()``."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def memory_gib() -> str:
    """Total memory from ``/proc/meminfo``."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    return "? GiB"


def machine() -> str:
    """Platform, CPU model, logical CPUs and memory of this machine, one line."""
    return (
        f"{platform.platform()}; CPU {cpu_model()}; {os.cpu_count()} logical CPUs; "
        f"{memory_gib()} RAM"
    )


def versions(*distributions: str) -> str:
    """Python's version and each distribution's (``name (not installed)`` where missing)."""
    parts = [f"Python {platform.python_version()}"]
    for name in distributions:
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)
