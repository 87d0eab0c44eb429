"""Every Python block of the README runs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code: str) -> None:
    for module in re.findall(r"# requires: (\w+)", code):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
        if module == "cupy":
            cupy = importlib.import_module("cupy")
            try:
                if cupy.cuda.runtime.getDeviceCount() < 1:
                    pytest.skip("no GPU")
            except Exception:  # noqa: BLE001 - no driver
                pytest.skip("no GPU")
    for module in re.findall(r"^import (\w+)", code, flags=re.M):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})


TEXT_BLOCKS = re.findall(r"```text\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
DEMO = [block for block in TEXT_BLOCKS if block.startswith("$ mmd-any demo")]


def _stable(line: str) -> str:
    """A transcript line without what changes between runs (time, absolute path)."""
    if line.strip().startswith(("time ", "plot written to")):
        return ""
    return line.rstrip()


def test_readme_demo_transcript_is_what_the_demo_prints(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """The README's `mmd-any demo` block is the command's real output."""
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    from mmd_any.cli import main

    assert len(DEMO) == 1
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    printed = [_stable(line) for line in capsys.readouterr().out.splitlines()]
    documented = [_stable(line) for line in DEMO[0].splitlines()[1:]]
    assert printed == documented
