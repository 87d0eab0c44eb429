"""Layers: dependencies inside mmd_any point down, and adapters plug in from above.

Every import between the package's modules counts, also those inside functions
(a function-level import is still a dependency, only a later one).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mmd_any"

#: Backend adapters: the engine and the estimators must not import them.
ADAPTERS = {"_dask", "torch"}


def _imports(path: Path) -> set[str]:
    """The mmd_any modules that ``path`` imports (relative or absolute)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("mmd_any."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mmd_any."):
                    found.add(alias.name.split(".")[1])
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    return found & modules - {path.stem}


GRAPH = {p.stem: _imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def _cycle() -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(GRAPH.get(node, ())):
            if target == "__init__":
                continue
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(GRAPH):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_package_has_no_import_cycle() -> None:
    assert _cycle() is None, " -> ".join(_cycle())


@pytest.mark.parametrize("module", ["estimators", "_gram", "_plan", "_algebra", "kernels"])
def test_the_core_imports_no_adapter(module: str) -> None:
    assert not (GRAPH[module] & ADAPTERS), GRAPH[module]


def test_the_estimator_algebra_is_written_once() -> None:
    """Only the algebra module derives the unbiased coefficients."""
    for path in PACKAGE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.stem != "_algebra":
            assert "def unbiased_coefficients" not in text, path
            assert "a * b - cross" not in text, path


def test_importing_the_package_imports_no_backend() -> None:
    import subprocess
    import sys

    code = (
        "import sys, mmd_any; "
        "print(sorted(m for m in ('torch', 'jax', 'dask', 'cupy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
