"""Sphinx configuration of the mmd_any documentation.

Build (warnings are errors; about 40 s on 2 busy CPU cores, examples included):

    sphinx-build -W --keep-going -b html docs docs/_build/html     # or: make docs

No network is needed: intersphinx is off, and no page uses math markup (formulas
are written in Unicode), so MathJax is never loaded. The worked examples in ``docs/examples`` run
while the pages are read (``docs/_ext/run_example.py``); a failing example fails
the build.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # the library as it is in this checkout
sys.path.insert(0, str(DOCS / "_ext"))

from sphinx.pycode import ModuleAnalyzer  # noqa: E402

import mmd_any  # noqa: E402

project = "mmd_any"
author = "The mmd_any developers"
copyright = "The mmd_any developers"
release = mmd_any.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "run_example",
    "tables",
    "registries",
]

# The public modules of the API reference (docs/api/index.rst lists the same).
PUBLIC_MODULES = [
    "mmd_any",
    "mmd_any.kernels",
    "mmd_any.bandwidths",
    "mmd_any.estimators",
    "mmd_any.two_sample",
    "mmd_any.presets",
    "mmd_any.approximate",
    "mmd_any.streaming",
    "mmd_any.torch",
    "mmd_any.plotting",
    "mmd_any.io",
    "mmd_any.cli",
]


def _kind(value: object) -> str:
    if inspect.ismodule(value):
        return "module"
    if inspect.isfunction(value) or inspect.isclass(value):
        return "api"
    return "data"


def _module_contents() -> dict[str, dict[str, object]]:
    """What each public module's page shows, from its ``__all__``.

    Each object is documented once. Functions and classes that ``mmd_any`` exports
    are documented under their top-level names (``mmd_any.mmd2``); the submodule that
    defines them links there. Data (constants, preset instances) is documented in
    its own module; a top-level re-export of it links there. Modules are linked.
    """
    top = {name: getattr(mmd_any, name) for name in mmd_any.__all__}
    contents: dict[str, dict[str, object]] = {
        modname: {"elsewhere": {}, "data": [], "modules": []} for modname in PUBLIC_MODULES
    }
    for modname in PUBLIC_MODULES[1:]:
        module = importlib.import_module(modname)
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            if name not in top or top[name] is not value:
                if _kind(value) == "data":
                    contents[modname]["data"].append(name)
            elif _kind(value) == "api":
                contents[modname]["elsewhere"][name] = f"mmd_any.{name}"
            elif _kind(value) == "data":
                contents[modname]["data"].append(name)
                # relative: autosummary resolves names against the current module
                contents["mmd_any"]["elsewhere"][name] = f"{modname[len('mmd_any.') :]}.{name}"
    contents["mmd_any"]["modules"] = [
        name for name, value in top.items() if _kind(value) == "module"
    ]
    return contents


autosummary_generate = True
autosummary_ignore_module_all = False  # a module's page lists exactly its __all__
autosummary_imported_members = False
autosummary_context = {"contents": _module_contents()}
# `mmd_any.KID` (the result class) and `mmd_any.kid` (the function) would be files
# that differ only in case, which case-insensitive file systems (macOS, Windows)
# cannot hold side by side.
autosummary_filename_map = {"mmd_any.KID": "mmd_any.KID-class"}
templates_path = ["_templates"]

autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_class_signature = "mixed"
autodoc_inherit_docstrings = False  # torch.nn.Module's docstrings are not ours

numpydoc_show_class_members = False  # the class template lists members with autodoc
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True

nitpicky = False
exclude_patterns = ["_build", "examples/*.py", "**/.ipynb_checkpoints"]
suppress_warnings: list[str] = []  # none needed: the build is clean with -W

html_theme = "pydata_sphinx_theme"
html_title = f"mmd_any {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
    "use_edit_page_button": False,
    "icon_links": [],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"index": [], "changelog": [], "benchmarks": []}
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None


# -- docstring fixes that belong in conf.py -----------------------------------------------

# numpydoc parses module docstrings too and warns (a Python UserWarning, not a Sphinx
# warning) about their narrative section titles ("Rules" in mmd_any.bandwidths); it
# renders them unchanged, so the message is noise.
warnings.filterwarnings("ignore", r"Unknown section .* of mmd_any\.", UserWarning, "numpydoc")


def _describe_instance(app, what: str, name: str, obj: object, options, lines: list[str]) -> None:
    """Module-level instances have no docstring of their own, and autodoc would repeat
    their class's for each: a preset gets its own attributes instead, anything else
    one line naming its type."""
    if what != "data" or inspect.ismodule(obj):
        return
    modname, _, attribute = name.rpartition(".")
    if ("", attribute) in ModuleAnalyzer.for_module(modname).find_attr_docs():
        return  # documented by a ``#:`` comment in the source
    from mmd_any.presets import Preset

    if isinstance(obj, Preset):
        described = [
            f'``preset="{obj.name}"``: {obj.peer}.',
            "",
            f"Formula: ``{obj.formula}``.",
            "",
            f"Differs from mmd_any's default: {obj.differs}.",
        ]
        if obj.peer_defect:
            described += ["", f"Known peer defect (not copied): {obj.peer_defect}."]
        if obj.bandwidth_parameter:
            described += [
                "",
                f"``with_bandwidth(v)`` sets the peer's ``{obj.bandwidth_parameter}``.",
            ]
        lines[:] = described
    else:
        lines[:] = [f"An instance of :class:`{type(obj).__module__}.{type(obj).__qualname__}`."]


def setup(app) -> None:
    app.connect("autodoc-process-docstring", _describe_instance)
