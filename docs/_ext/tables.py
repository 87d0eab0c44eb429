"""Tables the pages take from their one source instead of copying them.

``.. markdown-table:: ../benchmarks/RESULTS.md``
    The ``:index:``-th (default 0) pipe table under the first heading that starts
    with ``:section:``, as a docutils table. Inline markdown in the cells
    (backticks, bold) becomes the reStructuredText equivalent. A missing file,
    heading or table is a build error: the page and the file moved apart.

``.. preset-table::``
    One row per preset of :data:`mmd_any.presets.PRESETS`: the name, the peer, the
    formula and what differs from mmd_any's default, read from the presets
    themselves; with ``:defects:``, the peers' known defects instead.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


def _inline(cell: str) -> str:
    """Markdown inline code and emphasis as reStructuredText."""
    cell = cell.strip().replace("\\|", "|")
    parts = re.split(r"(`[^`]+`)", cell)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"``{part[1:-1]}``")
        else:
            out.append(part.replace("*", "\\*").replace("\\*\\*", "**"))
    text = "".join(out)
    return text if text else "\\ "


def _list_table(rows: list[list[str]], title: str = "") -> list[str]:
    lines = [f".. list-table:: {title}".rstrip(), "   :header-rows: 1", ""]
    for row in rows:
        for j, cell in enumerate(row):
            lines.append(("   * - " if j == 0 else "     - ") + cell)
    return lines


def markdown_tables(text: str, section: str) -> list[list[list[str]]]:
    """The pipe tables under the first heading starting with ``section`` (up to the
    next heading of the same or a higher level)."""
    lines = text.splitlines()
    start = level = None
    for i, line in enumerate(lines):
        match = re.match(r"^(#+)\s+(.*)$", line)
        if match and match.group(2).startswith(section):
            start, level = i + 1, len(match.group(1))
            break
    if start is None:
        raise LookupError(f"no heading starting with {section!r}")
    body = []
    for line in lines[start:]:
        match = re.match(r"^(#+)\s", line)
        if match and len(match.group(1)) <= level:
            break
        body.append(line)
    tables, current = [], []
    for line in [*body, ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    parsed = []
    for table in tables:
        rows = [
            [_inline(cell) for cell in line.strip().strip("|").split("|")]
            for line in table
            if not re.match(r"^\|[\s:|-]+\|?\s*$", line)
        ]
        parsed.append(rows)
    return parsed


class _TableDirective(SphinxDirective):
    def _parse(self, lines: list[str]) -> list[nodes.Node]:
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=self.get_source_info()[0]), 0, container)
        return container.children

    def _fail(self, message: str) -> list[nodes.Node]:
        logger.error(message, location=self.get_location())
        return []


class MarkdownTable(_TableDirective):
    required_arguments = 1
    option_spec = {  # noqa: RUF012 - docutils reads a class attribute
        "section": directives.unchanged_required,
        "index": directives.nonnegative_int,
        "title": directives.unchanged,
    }

    def run(self) -> list[nodes.Node]:
        relative, path = self.env.relfn2path(self.arguments[0], self.env.docname)
        if not Path(path).is_file():
            return self._fail(f"markdown-table: no such file {relative!r}")
        self.env.note_dependency(relative)
        section = self.options.get("section", "")
        index = self.options.get("index", 0)
        try:
            tables = markdown_tables(Path(path).read_text(encoding="utf-8"), section)
            rows = tables[index]
        except LookupError as error:
            return self._fail(f"markdown-table: {relative}: {error}")
        except IndexError:
            return self._fail(
                f"markdown-table: {relative}: section {section!r} has {len(tables)} "
                f"table(s), no table {index}"
            )
        widths = {len(row) for row in rows}
        if len(widths) != 1:
            return self._fail(f"markdown-table: {relative}: ragged table under {section!r}")
        return self._parse(_list_table(rows, self.options.get("title", "")))


class PresetTable(_TableDirective):
    option_spec = {"defects": directives.flag}  # noqa: RUF012 - read by docutils

    def run(self) -> list[nodes.Node]:
        from mmd_any.presets import PRESETS

        if "defects" in self.options:
            rows = [["preset", "known peer defect (not copied)"]]
            rows += [
                [f"``{name}``", _inline(preset.peer_defect)]
                for name, preset in PRESETS.items()
                if preset.peer_defect
            ]
            return self._parse(_list_table(rows))
        rows = [["preset", "peer", "formula", "differs from the default"]]
        for name, preset in PRESETS.items():
            rows.append(
                [
                    f"``{name}``",
                    _inline(preset.peer),
                    f"``{preset.formula}``",
                    _inline(preset.differs),
                ]
            )
        return self._parse(_list_table(rows))


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("markdown-table", MarkdownTable)
    app.add_directive("preset-table", PresetTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
