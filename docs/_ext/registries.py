"""Tables of what the package registers, rendered from the registries themselves.

``.. registry-table:: NAME``
    ``kernels``: one row per kernel of :data:`mmd_any.kernels.KERNELS` (class,
    name and aliases, ``k(x, y)``, defaults; :func:`mmd_any.kernels.kernel_table`).
    ``estimators``: the estimators of :data:`mmd_any.estimators.ESTIMATORS`, with the
    fewest rows each needs and whether the permutation tests take it.
    ``aggregations``: the aggregated tests of :data:`mmd_any._aggregation.METHODS`.
    ``modules``: every module of the package with its docstring's first paragraph.
    ``capabilities``: what each entry point supports on each backend
    (:func:`mmd_any._capabilities.capability_table`).

A new kernel, estimator or aggregated test appears in the docs without an edit
here; an unknown name is a build error.
"""

from __future__ import annotations

from collections.abc import Callable

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


def _kernels() -> str:
    from mmd_any.kernels import kernel_table

    return kernel_table()


def _estimators() -> str:
    from mmd_any._docstrings import list_table
    from mmd_any.estimators import ESTIMATORS
    from mmd_any.two_sample import TEST_ESTIMATORS

    rows = [
        (f'``"{name}"``', str(rows), "yes" if name in TEST_ESTIMATORS else "no")
        for name, rows in ESTIMATORS.items()
    ]
    return list_table(("estimator", "fewest rows per sample", "permutation tests"), rows)


def _aggregations() -> str:
    from mmd_any._aggregation import METHODS, RECOMMENDED
    from mmd_any._docstrings import list_table

    rows = [
        (
            f'``"{name}"``' + (" (``True``)" if name == RECOMMENDED else ""),
            method.description,
            method.statistic_kind,
        )
        for name, method in METHODS.items()
    ]
    return list_table(("aggregate", "collection and statistic", "combined_statistic"), rows)


def _capabilities() -> str:
    from mmd_any._capabilities import capability_table

    return capability_table()


def _modules() -> str:
    import ast
    from pathlib import Path

    import mmd_any
    from mmd_any._docstrings import list_table

    rows = []
    for path in sorted(Path(mmd_any.__file__).parent.glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        first = doc.split("\n\n")[0].replace("\n", " ")
        rows.append((f"``{path.stem}``", first))
    return list_table(("module", "what it is"), rows)


TABLES: dict[str, Callable[[], str]] = {
    "modules": _modules,
    "kernels": _kernels,
    "estimators": _estimators,
    "aggregations": _aggregations,
    "capabilities": _capabilities,
}


class RegistryTable(SphinxDirective):
    """``.. registry-table:: NAME``: see the module docstring."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        if name not in TABLES:
            raise self.error(f"registry-table: unknown table {name!r}; known: {sorted(TABLES)}")
        container = nodes.container()
        lines = TABLES[name]().splitlines()
        self.state.nested_parse(StringList(lines, source=self.get_source_info()[0]), 0, container)
        return container.children


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("registry-table", RegistryTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
