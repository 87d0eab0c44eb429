"""The documentation site builds, warning-free and in time, and its code runs.

* The whole site (``make docs``: ``sphinx-build -W --keep-going``) builds in under
  two minutes; its worked examples run during the build.
* The ``run-example`` directive (``docs/_ext/run_example.py``) fails the build when
  a script exits non-zero or runs past its limit, and shows a script's output
  otherwise: checked on a one-page site in a temporary folder.
* Every ``.. code-block:: python`` of the pages runs, and every script in
  ``docs/examples`` is shown by some page.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BUILD_LIMIT_S = 120
SPHINX_MODULES = ("sphinx", "numpydoc", "pydata_sphinx_theme")

needs_sphinx = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in SPHINX_MODULES),
    reason="the docs extra (sphinx, numpydoc, pydata-sphinx-theme) is not installed",
)


def _sphinx(source: Path, out: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """``sphinx-build -W --keep-going -b html`` as ``make docs`` runs it, into ``out``."""
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    return subprocess.run(
        [*command, "-d", str(out / "doctrees"), str(source), str(out / "html")],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


@needs_sphinx
@pytest.mark.slow
def test_site_builds_without_warnings_in_under_two_minutes(tmp_path: Path) -> None:
    started = time.perf_counter()
    done = _sphinx(DOCS, tmp_path, timeout=2 * BUILD_LIMIT_S)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    assert seconds < BUILD_LIMIT_S, f"the docs took {seconds:.0f} s to build"
    html = tmp_path / "html"
    for page in ("index", "guide/tests", "examples/drift", "api/generated/mmd_any.mmd_test"):
        assert (html / f"{page}.html").is_file(), page
    drift = (html / "examples/drift.html").read_text(encoding="utf-8")
    assert "Output" in drift
    assert "-&gt; drift at alpha" in drift


# -- the run-example directive on a one-page site -------------------------------------------

SCRIPTS = {
    "prints": "print('hello from the example')\n",
    "fails": "import sys\nprint('oops', file=sys.stderr)\nsys.exit(1)\n",
    "hangs": "import time\ntime.sleep(30)\n",
}


def _one_page_site(tmp_path: Path, script: str, options: str = "") -> Path:
    source = tmp_path / "src"
    source.mkdir()
    (source / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(DOCS / '_ext')!r})\nextensions = ['run_example']\n",
        encoding="utf-8",
    )
    (source / "example.py").write_text(SCRIPTS[script], encoding="utf-8")
    (source / "index.rst").write_text(
        f"Page\n====\n\n.. run-example:: example.py\n{options}", encoding="utf-8"
    )
    return source


@needs_sphinx
def test_run_example_shows_the_source_and_the_output(tmp_path: Path) -> None:
    done = _sphinx(_one_page_site(tmp_path, "prints"), tmp_path / "out", timeout=120)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "out" / "html" / "index.html").read_text(encoding="utf-8")
    assert "hello from the example" in page  # the output
    assert "print" in page  # the source


@needs_sphinx
@pytest.mark.parametrize(
    ("script", "options", "message"),
    [
        ("fails", "", "exited with status 1"),
        ("hangs", "   :timeout: 1\n", "ran past its 1 s limit"),
    ],
)
def test_a_failing_example_fails_the_build(
    tmp_path: Path, script: str, options: str, message: str
) -> None:
    done = _sphinx(_one_page_site(tmp_path, script, options), tmp_path / "out", timeout=120)
    assert done.returncode != 0
    assert message in done.stderr
    if script == "fails":
        assert "oops" in done.stderr  # the script's stderr is quoted


# -- the pages' code ------------------------------------------------------------------------

PAGES = sorted(DOCS.rglob("*.rst"))
BLOCK = re.compile(r"^\.\. code-block:: python\n((?:\n|   .*\n)+)", re.M)


def _blocks() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        if "_build" in page.parts or "generated" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            code = "\n".join(line[3:] for line in match.group(1).splitlines())
            line = text[: match.start()].count("\n") + 1
            found.append((f"{page.relative_to(DOCS)}:{line}", code))
    return found


BLOCKS = _blocks()


def test_the_pages_have_python_blocks() -> None:
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_page_block_runs(where: str, code: str) -> None:
    for module in re.findall(r"^\s*(?:import|from) (\w+)", code, flags=re.M):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    exec(compile(code, where, "exec"), {"__name__": "docs"})


def test_every_example_script_is_shown_by_a_page() -> None:
    shown = set()
    for page in PAGES:
        for name in re.findall(r"^\.\. run-example:: (\S+)", page.read_text("utf-8"), re.M):
            shown.add((page.parent / name).resolve())
    scripts = set((DOCS / "examples").glob("*.py"))
    assert scripts, "no example scripts"
    assert {s.resolve() for s in scripts} <= shown, sorted(map(str, scripts))
