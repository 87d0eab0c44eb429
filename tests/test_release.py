"""Release metadata, checked without building anything: license, changelog, typing
marker, project URLs and classifiers, dependencies, and the version the command prints.
(`.ci/wheel_smoke.sh` builds and installs the wheel itself.)"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mmd_any
from mmd_any.cli import main

from .conftest import imported_modules

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
CHANGELOG = ROOT / "CHANGELOG.md"
#: The section kinds of Keep a Changelog 1.1.0.
CHANGE_KINDS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")


# -- license ----------------------------------------------------------------------------


def test_license_is_bsd_3_clause() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License")
    for clause in (
        "Redistributions of source code must retain the above copyright notice",
        "Redistributions in binary form must reproduce the above copyright notice",
        "Neither the name of the copyright holder nor the names of its",
        'PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"',
    ):
        assert clause in " ".join(text.split()), clause


def test_pyproject_declares_the_license() -> None:
    assert PROJECT["license"] == "BSD-3-Clause"  # an SPDX expression (PEP 639)
    assert "LICENSE" in PROJECT["license-files"]
    # PEP 639: a license expression replaces the License :: classifiers
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]


# -- changelog --------------------------------------------------------------------------


def _sections(text: str) -> list[tuple[str, str]]:
    """``(heading, body)`` of each ``## `` section."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return list(zip(parts[1::2], parts[2::2], strict=True))


def test_changelog_follows_keep_a_changelog() -> None:
    text = CHANGELOG.read_text(encoding="utf-8")
    assert text.startswith("# Changelog\n")
    assert "https://keepachangelog.com/en/1.1.0/" in text
    sections = _sections(text)
    headings = [heading for heading, _ in sections]
    assert headings[0] == "[Unreleased]"
    released = headings[1:]
    assert released, "no released version"
    for heading in released:
        assert re.fullmatch(r"\[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}", heading), heading
    for heading, body in sections:
        kinds = re.findall(r"^### (.+)$", body, flags=re.M)
        assert kinds, f"{heading} has no ### sections"
        assert set(kinds) <= set(CHANGE_KINDS), (heading, kinds)
        assert len(kinds) == len(set(kinds)), (heading, kinds)
        for kind_body in re.split(r"^### .+$", body, flags=re.M)[1:]:
            assert re.search(r"^- ", kind_body, flags=re.M), f"an empty section in {heading}"
    # every version links to its changes
    for name in ["Unreleased", *(h.split("]")[0][1:] for h in released)]:
        assert re.search(rf"^\[{re.escape(name)}\]: https://", text, flags=re.M), name


def test_changelog_unreleased_section_has_its_kinds() -> None:
    (heading, body), *_ = _sections(CHANGELOG.read_text(encoding="utf-8"))
    assert heading == "[Unreleased]"
    kinds = re.findall(r"^### (.+)$", body, flags=re.M)
    for kind in ("Added", "Changed", "Fixed", "Removed"):
        assert kind in kinds, kind


def test_changelog_has_the_package_version() -> None:
    text = CHANGELOG.read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(PROJECT['version'])}\] - ", text, flags=re.M)


# -- typing, URLs, classifiers ------------------------------------------------------------


def test_package_is_marked_typed() -> None:
    assert (ROOT / "mmd_any" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["mmd_any"]
    assert "Typing :: Typed" in PROJECT["classifiers"]


def test_project_urls_and_classifiers() -> None:
    urls = PROJECT["urls"]
    for name in ("Homepage", "Documentation", "Source", "Issues", "Changelog"):
        assert urls[name].startswith("https://"), name
    assert urls["Changelog"].endswith("CHANGELOG.md")
    classifiers = PROJECT["classifiers"]
    assert any(c.startswith("Development Status ::") for c in classifiers)
    assert any(c.startswith("Intended Audience ::") for c in classifiers)
    assert any(c.startswith("Topic :: Scientific/Engineering") for c in classifiers)
    minimum = re.fullmatch(r">=3\.(\d+)", PROJECT["requires-python"])
    assert minimum, PROJECT["requires-python"]
    versions = [c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r".*:: 3\.\d+", c)]
    assert versions, "no Python version classifiers"
    assert min(int(v.split(".")[1]) for v in versions) == int(minimum.group(1))


# -- dependencies -----------------------------------------------------------------------


def _python_files() -> list[Path]:
    folders = ("mmd_any", "tests", "benchmarks", "examples", "docs")
    return [
        path
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "_build" not in path.parts
    ]


def _parse(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_array_api_extra_is_neither_imported_nor_a_dependency() -> None:
    files = _python_files()
    assert ROOT / "mmd_any" / "cli.py" in files
    importing = [
        str(p.relative_to(ROOT)) for p in files if "array_api_extra" in imported_modules(_parse(p))
    ]
    assert importing == []
    requirements = [*PROJECT["dependencies"], *PYPROJECT["build-system"]["requires"]]
    requirements += [r for extra in PROJECT["optional-dependencies"].values() for r in extra]
    names = [re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements]
    assert "array-api-extra" not in names
    assert "array_api_extra" not in names
    readme = (ROOT / "README.md").read_text(encoding="utf-8").lower()
    assert "array-api-extra" not in readme
    assert "array_api_extra" not in readme


def test_plain_dependencies_are_numpy_and_array_api_compat() -> None:
    names = {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in PROJECT["dependencies"]}
    assert names == {"numpy", "array-api-compat"}


# -- version ----------------------------------------------------------------------------


def test_package_version_is_the_project_s() -> None:
    assert mmd_any.__version__ == PROJECT["version"]


def test_version_option_prints_the_package_version(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"mmd-any {PROJECT['version']}\n"


def test_version_option_of_the_module() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mmd_any.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == f"mmd-any {mmd_any.__version__}\n"
