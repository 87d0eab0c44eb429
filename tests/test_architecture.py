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


# -- what each layer may know ----------------------------------------------------------

#: The modules that may name an array library: the compat layer, where every
#: library-specific decision lives, and the adapters that run the engine through
#: a library's own machinery (plugged in through mmd_any._registry).
NAMES_LIBRARIES = {"_compat", *ADAPTERS, "_torch"}
LIBRARIES = ("torch", "jax", "cupy", "dask", "array_api_strict")


def _library_mentions(path: Path) -> list[str]:
    """Imports of an array library and calls of array-api-compat's ``is_<library>_*``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.append(node.module)
                modules += [f"{node.module}.{a.name}" for a in node.names]
            for module in modules:
                parts = module.split(".")
                if parts[0] in LIBRARIES or any(
                    p.startswith("is_") and any(lib in p for lib in LIBRARIES) for p in parts
                ):
                    found.append(f"{path.name}:{node.lineno} imports {module}")
        elif isinstance(node, ast.Name) and any(f"is_{lib}_" in node.id for lib in LIBRARIES):
            found.append(f"{path.name}:{node.lineno} uses {node.id}")
    return found


def test_only_the_compat_layer_and_the_adapters_name_an_array_library() -> None:
    mentions = [
        line
        for path in sorted(PACKAGE.glob("*.py"))
        if path.stem not in NAMES_LIBRARIES
        for line in _library_mentions(path)
    ]
    assert not mentions, mentions


def test_the_compat_layer_is_found_by_the_check() -> None:
    """The check above would see a library named outside the allowed modules."""
    assert _library_mentions(PACKAGE / "_compat.py")
    assert _library_mentions(PACKAGE / "_dask.py")


#: What the kernels may import: the checks, the bandwidth rules, the compat layer's
#: device facts, the type alias and the docstring helpers; never the engine.
ENGINE = {"_gram", "_plan", "estimators", "matrices", "_validation", "two_sample"}


def test_the_kernels_import_no_engine() -> None:
    assert not (GRAPH["kernels"] & ENGINE), GRAPH["kernels"]
    assert not (GRAPH["bandwidths"] & (ENGINE | {"kernels"})), GRAPH["bandwidths"]


def test_the_array_alias_is_declared_once() -> None:
    declared = [
        path.name
        for path in PACKAGE.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and any(
            isinstance(target, ast.Name) and target.id == "Array"
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
    ]
    assert declared == ["_typing.py"], declared


# -- no code written twice -------------------------------------------------------------

#: A run of this many lines of code that stands twice in the package is a copy.
RUN = 6


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """The lines that are code: not blank, not comments, not docstrings, not imports,
    not signatures (public functions share their keyword arguments on purpose), not
    lone brackets; white space folded."""
    source = path.read_text(encoding="utf-8")
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            docstrings.update(range(node.lineno, node.body[0].lineno))
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.update(range(value.lineno, value.end_lineno + 1))
    lines = []
    for number, line in enumerate(source.splitlines(), start=1):
        text = " ".join(line.split())
        if (
            number in docstrings
            or not text
            or text.startswith(("#", "import ", "from ", "@"))
            or all(ch in "()[]{},:" for ch in text)
        ):
            continue
        lines.append((number, text))
    return lines


def _repeated_runs() -> list[str]:
    seen: dict[tuple[str, ...], str] = {}
    repeats = []
    for path in sorted(PACKAGE.glob("*.py")):
        lines = _code_lines(path)
        for start in range(len(lines) - RUN + 1):
            window = tuple(text for _, text in lines[start : start + RUN])
            place = f"{path.name}:{lines[start][0]}"
            if window in seen:
                repeats.append(f"{place} repeats {seen[window]}")
            seen.setdefault(window, place)
    return repeats


def test_no_run_of_six_lines_of_code_repeats_in_the_package() -> None:
    assert not _repeated_runs(), _repeated_runs()[:10]


# -- the architecture page is true ---------------------------------------------------

PAGE = PACKAGE.parent / "docs" / "guide" / "architecture.rst"


def _page_layers() -> dict[str, int]:
    """Module -> layer number, from the layer table of docs/guide/architecture.rst."""
    import re

    layers: dict[str, int] = {}
    rows = re.findall(
        r"^   \* - (\d+) [^\n]*\n     - ((?:[^\n]*\n)(?:       [^\n]*\n)*)",
        PAGE.read_text(encoding="utf-8"),
        flags=re.M,
    )
    for number, cell in rows:
        for module in re.findall(r"``(\w+)``", cell):
            assert module not in layers, f"{module} is in two layers"
            layers[module] = int(number)
    return layers


def test_the_architecture_page_places_every_module() -> None:
    layers = _page_layers()
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert set(layers) == modules, (modules - set(layers), set(layers) - modules)


def test_every_import_points_to_the_same_or_a_lower_layer() -> None:
    layers = _page_layers()
    upward = [
        f"{module} (layer {layers[module]}) imports {target} (layer {layers[target]})"
        for module, targets in GRAPH.items()
        for target in targets
        if target != "__init__" and layers[target] > layers[module]
    ]
    assert not upward, upward
