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
