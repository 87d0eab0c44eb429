"""Each list of names is defined once, and everything that lists them is built from it.

The kernels (:data:`mmd_any.kernels.KERNELS`, :data:`mmd_any.kernels.ALIASES`),
the estimators (:data:`mmd_any.estimators.ESTIMATORS`, the permutation tests'
:data:`mmd_any.two_sample.TEST_ESTIMATORS`), the aggregated tests
(:data:`mmd_any._aggregation.METHODS`) and the presets
(:data:`mmd_any.presets.PRESETS`): the CLI's choices, the docstrings, the docs'
tables, the error messages and the test reference must follow each registry,
so that a new entry needs no edit anywhere else (the recipes of
``docs/guide/architecture.rst``).
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import numpy as np
import pytest

import mmd_any
from mmd_any import _aggregation, cli, estimators, kernels, presets, two_sample
from mmd_any.torch import MMDLoss

from . import reference

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _subcommand_options(command: str) -> dict[str, argparse.Action]:
    parser = cli._parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        opt: action for action in sub.choices[command]._actions for opt in action.option_strings
    }


# -- kernels -------------------------------------------------------------------------------


def test_every_kernel_is_registered_under_its_own_name() -> None:
    for name, cls in kernels.KERNELS.items():
        assert cls.name == name
        assert not inspect.isabstract(cls), cls
        assert isinstance(kernels.as_kernel(name), cls)
        assert cls.formula, cls  # the docs' table reads them
        assert cls.defaults, cls
    for alias, name in kernels.ALIASES.items():
        assert name in kernels.KERNELS
        assert alias not in kernels.KERNELS
        assert type(kernels.as_kernel(alias)) is kernels.KERNELS[name]


def test_every_concrete_kernel_class_is_registered() -> None:
    """A Kernel subclass defined in kernels.py but missing from KERNELS is a bug."""
    concrete = {
        cls
        for _, cls in inspect.getmembers(kernels, inspect.isclass)
        if issubclass(cls, kernels.Kernel)
        and not inspect.isabstract(cls)
        and cls.__module__ == kernels.__name__
        and not cls.__name__.startswith("_")
    }
    assert concrete == set(kernels.KERNELS.values())


def test_every_kernel_has_a_reference() -> None:
    assert set(reference.FORMULAS) == set(kernels.KERNELS)
    assert set(reference.EXAMPLES) == set(kernels.KERNELS)
    for name, examples in reference.EXAMPLES.items():
        assert examples, name
        assert all(k.name == name for k in examples), name
        assert examples[0] == kernels.KERNELS[name](), "the default comes first"


@pytest.mark.parametrize("kernel", reference.default_kernels(), ids=lambda k: k.name)
def test_every_registered_kernel_matches_its_formula(kernel: kernels.Kernel) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(9, 3)), rng.normal(0.4, 1.2, size=(7, 3))
    for estimator in ("biased", "unbiased"):
        got = float(mmd_any.mmd2(x, y, kernel=kernel, estimator=estimator))
        want = reference.mmd2(x, y, kernel, estimator)
        assert abs(got - want) <= reference.tolerance("float64", kernel, x, y), (got, want)


def test_the_cli_offers_every_kernel_and_alias() -> None:
    for command in ("test", "distance"):
        action = _subcommand_options(command)["--kernel"]
        assert set(action.choices) == set(kernels.KERNELS) | set(kernels.ALIASES)
        for name in kernels.KERNELS:
            assert name in action.help, (command, name)


@pytest.mark.parametrize("function", [mmd_any.mmd2, mmd_any.kernel_matrix, kernels.as_kernel])
def test_the_docstrings_list_every_kernel(function) -> None:
    for name in [*kernels.KERNELS, *kernels.ALIASES]:
        assert f'``"{name}"``' in function.__doc__, (function.__name__, name)
    assert "{KERNEL" not in function.__doc__


def test_the_module_docstring_and_the_docs_table_come_from_the_registry() -> None:
    table = kernels.kernel_table()
    assert table in kernels.__doc__
    for name, cls in kernels.KERNELS.items():
        assert f"mmd_any.kernels.{cls.__name__}" in table, name
        assert cls.formula in table, name
    page = (DOCS / "guide" / "kernels.rst").read_text(encoding="utf-8")
    assert ".. registry-table:: kernels" in page
    assert "* - :class:`~mmd_any.kernels." not in page, "a hand-written copy of the table"


def test_an_unknown_kernel_name_lists_the_registered_ones() -> None:
    with pytest.raises(ValueError, match="valid names are") as info:
        kernels.as_kernel("gausian")
    for name in [*kernels.KERNELS, *kernels.ALIASES]:
        assert repr(name) in str(info.value)


def test_bandwidth_kernels_are_the_radial_ones() -> None:
    for name, cls in kernels.KERNELS.items():
        assert kernels.has_bandwidth(name) == hasattr(cls(), "rule"), name
        if not kernels.has_bandwidth(name):
            with pytest.raises(ValueError, match="has no bandwidth"):
                kernels.as_kernel(name, bandwidth=1.0)


# -- estimators ----------------------------------------------------------------------------


def test_every_estimator_is_documented_and_accepted() -> None:
    for function in (mmd_any.mmd2, MMDLoss):
        for name in estimators.ESTIMATORS:
            assert f'"{name}"' in function.__doc__, (function, name)
    x = np.random.default_rng(1).normal(size=(6, 2))
    for name, fewest in estimators.ESTIMATORS.items():
        assert np.isfinite(float(mmd_any.mmd2(x, x + 1, estimator=name)))
        with pytest.raises(ValueError, match="at least"):
            mmd_any.mmd2(x[: fewest - 1 or 0], x, estimator=name)
    with pytest.raises(ValueError, match="valid") as info:
        mmd_any.mmd2(x, x, estimator="nope")
    for name in estimators.ESTIMATORS:
        assert repr(name) in str(info.value)


def test_the_tests_estimators_are_a_registered_subset() -> None:
    assert set(two_sample.TEST_ESTIMATORS) <= set(estimators.ESTIMATORS)
    for command in ("test", "distance"):
        assert tuple(_subcommand_options(command)["--estimator"].choices) == (
            two_sample.TEST_ESTIMATORS
        )
    for name in two_sample.TEST_ESTIMATORS:
        assert f'"{name}"' in two_sample.mmd_test.__doc__
    for name in set(estimators.ESTIMATORS) - set(two_sample.TEST_ESTIMATORS):
        with pytest.raises(ValueError, match="must be one of"):
            mmd_any.mmd_test(np.zeros((4, 1)), np.ones((4, 1)), estimator=name)


# -- aggregated tests ----------------------------------------------------------------------


def test_every_aggregation_is_documented_and_offered() -> None:
    assert tuple(_aggregation.METHODS) == two_sample.AGGREGATIONS
    assert two_sample.RECOMMENDED in _aggregation.METHODS
    for name in _aggregation.METHODS:
        assert f'"{name}"' in two_sample.mmd_test.__doc__, name
    unbiased = {name for name, m in _aggregation.METHODS.items() if m.unbiased_only}
    assert set(two_sample.UNBIASED_ONLY) == unbiased
    exponents = _aggregation.AGGREGATE_EXPONENTS
    assert f"k = {exponents[0]}..{exponents[-1]}" in _aggregation.METHODS["minp"].description


@pytest.mark.parametrize("name", list(_aggregation.METHODS))
def test_every_aggregation_runs_and_reports_its_kind(name: str) -> None:
    rng = np.random.default_rng(2)
    result = mmd_any.mmd_test(
        rng.normal(size=(12, 2)),
        rng.normal(size=(12, 2)),
        aggregate=name,
        n_permutations=19,
        seed=0,
    )
    assert result.method == name
    assert len(result.kernel_names) == len(result.kernels)
    assert set(result.kernel_names) <= set(kernels.KERNELS)


# -- presets -------------------------------------------------------------------------------


def test_every_preset_is_registered_under_its_own_name_and_in_the_docs() -> None:
    page = (DOCS / "guide" / "presets.rst").read_text(encoding="utf-8")
    assert ".. preset-table::" in page
    for name, preset in presets.PRESETS.items():
        assert preset.name == name
        assert presets.as_preset(name) is preset
    with pytest.raises(ValueError, match="valid names") as info:
        mmd_any.mmd2(np.zeros((3, 1)), np.ones((3, 1)), preset="nope")
    for name in presets.PRESETS:
        assert repr(name) in str(info.value)
