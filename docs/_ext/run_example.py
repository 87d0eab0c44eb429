"""``.. run-example:: examples/name.py``: run a script when the docs build, show it and its output.

The script runs in a subprocess of the interpreter that runs Sphinx, with the
documentation source folder as its working directory, a time limit, and one
thread per numerical library unless the environment sets ``OMP_NUM_THREADS``
(and the like) itself. The
page shows the script's source as a Python code block and what it printed to
stdout as a literal block. A script that exits with a non-zero status, or runs
past its limit, is a Sphinx error at the directive's location (so ``-W`` fails
the build) and its stderr is shown in the message. The page is rebuilt
on every build, so that the output shown is that of the library as it is
(each page with a ``run-example`` is re-read even when nothing in it changed).

Options:

``:timeout:`` seconds (default :data:`DEFAULT_TIMEOUT`).
``:hide-source:`` show only the output.
``:caption:`` caption of the source block (default: the script's path).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

#: Seconds a script may run before the build reports it as failed.
DEFAULT_TIMEOUT = 90

#: One thread per library unless the environment says otherwise: the examples are
#: small, and on a busy machine a team of OpenMP threads competing for the cores
#: made a 4 s example take 40 s.
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

#: Lines of stderr quoted in the error message of a failed script.
STDERR_LINES = 30


class RunExample(SphinxDirective):
    """Run a Python script at build time; include its source and its stdout."""

    required_arguments = 1
    has_content = False
    option_spec = {  # noqa: RUF012 - docutils reads a class attribute
        "timeout": directives.positive_int,
        "hide-source": directives.flag,
        "caption": directives.unchanged,
    }

    def run(self) -> list[nodes.Node]:
        relative, path = self.env.relfn2path(self.arguments[0], self.env.docname)
        script = Path(path)
        if not script.is_file():
            return [self._fail(f"run-example: no such script {relative!r}")]
        self.env.note_dependency(relative)
        _pages(self.env).add(self.env.docname)
        source = script.read_text(encoding="utf-8")
        timeout = self.options.get("timeout", DEFAULT_TIMEOUT)
        env = dict(os.environ)
        for name, value in THREADS.items():
            env.setdefault(name, value)
        env.setdefault("MPLBACKEND", "Agg")
        env["PYTHONHASHSEED"] = "0"
        started = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, str(script)],
                cwd=self.env.srcdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return [self._fail(f"run-example: {relative} ran past its {timeout} s limit")]
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-STDERR_LINES:])
            return [
                self._fail(f"run-example: {relative} exited with status {done.returncode}:\n{tail}")
            ]
        logger.info("run-example: %s ran in %.1f s", relative, seconds)
        result: list[nodes.Node] = []
        if "hide-source" not in self.options:
            code = nodes.literal_block(source, source, language="python")
            code["classes"].append("run-example-source")
            caption = self.options.get("caption", relative)
            container = nodes.container("", literal_block=True, classes=["literal-block-wrapper"])
            container += nodes.caption(caption, caption)
            container += code
            result.append(container)
        output = done.stdout.rstrip() or "(no output)"
        block = nodes.literal_block(output, output, language="text")
        block["classes"].append("run-example-output")
        label = nodes.paragraph()
        label += nodes.strong("Output", "Output")
        label += nodes.Text(f" (run when these pages were built, {seconds:.1f} s):")
        result.extend([label, block])
        return result

    def _fail(self, message: str) -> nodes.Node:
        """Report ``message`` as a Sphinx error at the directive (fails ``-W`` builds)
        and show it on the page in place of the output."""
        logger.error(message, location=self.get_location())
        return nodes.literal_block(message, message, classes=["run-example-error"])


def _pages(env: BuildEnvironment) -> set[str]:
    """The documents that run an example (kept in the environment between builds)."""
    if not hasattr(env, "run_example_pages"):
        env.run_example_pages = set()  # type: ignore[attr-defined]
    return env.run_example_pages  # type: ignore[attr-defined]


def _rerun(app: Sphinx, env: BuildEnvironment, added, changed, removed) -> list[str]:
    """Every page that runs an example is read again: its output must be today's."""
    return sorted(_pages(env) - set(removed))


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    _pages(env).discard(docname)


def _merge(app: Sphinx, env: BuildEnvironment, docnames, other: BuildEnvironment) -> None:
    _pages(env).update(_pages(other) & set(docnames))


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("run-example", RunExample)
    app.connect("env-get-outdated", _rerun)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
