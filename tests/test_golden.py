"""Every preset against the numbers the real peer packages computed.

``tests/golden/golden.json`` was written by ``tests/golden/make_golden.py``
running torchmetrics, GeomLoss, alibi-detect (PyTorch and KeOps backends) and
the seeds' and Transfer-Learning-Library's code on seeded inputs; the peer
versions are recorded in the file. The comparisons below need none of those
packages. ``test_peers_recomputed`` (marker ``peers``) runs the peers again where
they are importable, so that a peer release that changes its numbers is noticed.

Tolerances: 1e-6 relative in float64 (the peers and mmd_any evaluate the same
formula in different orders; the observed deviations are printed by
``pytest -s -k golden_deviation``). In float32 both sides round, and each by its
own error model: ours is the reference suite's ``64·eps·kernel scale·(1 +
conditioning)`` (centred data), the peer's is that of one uncentred matmul in
float32 (:func:`tests.reference.matmul_kernel_error`). A peer's float32 number
recomputed on another CPU, BLAS kernel or thread count differs from the stored one
by up to twice the peer's bound, never by a float64 ``rtol``.
"""

from __future__ import annotations

import importlib
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mmd_any
from mmd_any import presets

from . import reference
from .golden.cases import CASES, Case

GOLDEN = Path(__file__).parent / "golden" / "golden.json"
FLOAT64_RTOL = 1e-6

with GOLDEN.open() as handle:
    DATA: dict[str, Any] = json.load(handle)

CASE_BY_ID = {case.id: case for case in CASES}


def _preset(record: dict[str, Any]) -> presets.Preset:
    preset = presets.as_preset(record["preset"])
    if "bandwidth" in record["options"]:
        preset = preset.with_bandwidth(record["options"]["bandwidth"])
    return preset


def _peer_error(preset: presets.Preset, case: Case, expected: float) -> float:
    """How far one run of the peer can be from the exact value of its formula."""
    if case.dtype == "float64":
        return FLOAT64_RTOL * abs(expected) / 2
    x, y = (a.astype(np.float64) for a in case.arrays())
    return abs(preset.scale) * reference.matmul_kernel_error(
        preset.kernel, x, y, case.dtype, preset.estimator
    )


def _allowed(preset: presets.Preset, case: Case, expected: float) -> float:
    """|ours − peer|: our rounding plus the peer's."""
    if case.dtype == "float64":
        return FLOAT64_RTOL * abs(expected)
    x, y = (a.astype(np.float64) for a in case.arrays())
    ours = abs(preset.scale) * reference.tolerance(case.dtype, preset.kernel, x, y)
    return ours + _peer_error(preset, case, expected)


def _rerun_allowed(preset: presets.Preset, case: Case, expected: float) -> float:
    """|peer now − peer stored|: two runs of the peer, each within its own bound."""
    return 2 * _peer_error(preset, case, expected)


def _ours(preset: presets.Preset, case: Case) -> float:
    x, y = case.arrays()
    result = preset.mmd2(x, y)
    assert result.dtype == np.dtype(case.dtype)
    return float(result)


def test_golden_inputs_are_regenerated_bit_for_bit() -> None:
    assert set(DATA["cases"]) == set(CASE_BY_ID), "golden.json is stale: rerun make_golden.py"
    for case_id, stored in DATA["cases"].items():
        assert CASE_BY_ID[case_id].sha256() == stored["sha256"], case_id


def test_golden_covers_every_preset_and_case() -> None:
    covered = {record["preset"] for record in DATA["records"]}
    assert covered >= set(presets.PRESETS) - {"mmdagg-gaussian", "mmdagg-laplace"}, (
        set(presets.PRESETS) - covered
    )
    unequal = {
        r["case"] for r in DATA["records"] if CASE_BY_ID[r["case"]].n != CASE_BY_ID[r["case"]].m
    }
    float32 = {r["case"] for r in DATA["records"] if CASE_BY_ID[r["case"]].dtype == "float32"}
    assert unequal, "no case with n != m"
    assert float32, "no float32 case"


@pytest.mark.parametrize(
    "record",
    DATA["records"],
    ids=[f"{r['preset']}-{r['case']}-{r['peer']}-{r['options']}" for r in DATA["records"]],
)
def test_preset_reproduces_peer(record: dict[str, Any]) -> None:
    case = CASE_BY_ID[record["case"]]
    preset = _preset(record)
    ours = _ours(preset, case)
    expected = record["value"]
    assert abs(ours - expected) <= _allowed(preset, case, expected), (ours, expected)


@pytest.mark.parametrize("record", DATA["kid_subsets"], ids=lambda r: r["case"])
def test_kid_subsets_reproduce_peer_mean_and_std(record: dict[str, Any]) -> None:
    """The peer's own subsets (replayed from its RNG) through the ``kid`` preset."""
    case = CASE_BY_ID[record["case"]]
    x, y = case.arrays()
    values = [
        float(presets.kid.mmd2(x[rows_x], y[rows_y]))
        for rows_x, rows_y in zip(record["x_indices"], record["y_indices"], strict=True)
    ]
    assert len(values) == record["subsets"]
    assert np.mean(values) == pytest.approx(record["mean"], rel=FLOAT64_RTOL)
    assert np.std(values) == pytest.approx(record["std"], rel=FLOAT64_RTOL)


def _reference_sigma(x: np.ndarray, rule: str) -> float:
    """alibi-detect's σ from the reference set, in float64: 2σ² = lower median
    (PyTorch backend) or mean (KeOps backend) of the distinct squared distances."""
    x = x.astype(np.float64)
    sq = reference.pairwise(x, x, "sqeuclidean")[np.triu_indices(len(x), 1)]
    chosen = np.sort(sq)[(len(sq) - 1) // 2] if rule == "median" else sq.mean()
    return float(np.sqrt(chosen / 2))


@pytest.mark.parametrize("record", DATA["alibi_detector"], ids=lambda r: f"{r['peer']}-{r['case']}")
def test_alibi_detector_defaults(record: dict[str, Any]) -> None:
    """``MMDDrift`` itself stores σ in float32 (and its KeOps backend casts the data
    to float32): with the detector's σ the values agree, and that σ is our float64
    σ rounded to float32."""
    case = CASE_BY_ID[record["case"]]
    x, y = (a.astype(record["input_dtype"]) for a in case.arrays())
    keops = "keops" in record["peer"]
    preset = presets.alibi_keops if keops else presets.alibi
    value = float(preset.with_bandwidth(record["sigma"]).mmd2(x, y))
    if record["input_dtype"] == "float64":
        allowed = FLOAT64_RTOL * abs(record["mmd2"])
    else:
        x64, y64 = (a.astype(np.float64) for a in case.arrays())
        kernel = preset.with_bandwidth(record["sigma"]).kernel
        ours = reference.tolerance("float32", kernel, x64, y64)
        allowed = ours + reference.matmul_kernel_error(kernel, x64, y64, "float32")
    assert abs(value - record["mmd2"]) <= allowed, (value, record["mmd2"], allowed)
    sigma = _reference_sigma(x, "mean" if keops else "median")
    assert record["sigma"] == pytest.approx(sigma, rel=4 * float(np.finfo(np.float32).eps))


def _worse(a: float, b: float) -> float:
    """The larger of two deviations, NaN if either is (``max`` may drop a NaN)."""
    return float("nan") if np.isnan(a) or np.isnan(b) else max(a, b)


def test_golden_deviation_report() -> None:
    """Print the largest relative deviation from the peer per preset and dtype (-s),
    and the largest share of the allowed bound (:func:`_allowed`: 1e-6 relative in
    float64, the two error models in float32): every share at most 1, no NaN."""
    worst: dict[tuple[str, str], tuple[float, float]] = {}
    for record in DATA["records"]:
        case = CASE_BY_ID[record["case"]]
        preset, expected = _preset(record), record["value"]
        deviation = abs(_ours(preset, case) - expected)
        relative, share = deviation / abs(expected), deviation / _allowed(preset, case, expected)
        key = (record["preset"], case.dtype)
        so_far = worst.get(key, (0.0, 0.0))
        worst[key] = (_worse(so_far[0], relative), _worse(so_far[1], share))
    for (name, dtype), (relative, share) in sorted(worst.items()):
        print(
            f"golden deviation (max relative) {name:20s} {dtype} {relative:.2e}"
            f"  (max share of the allowed {share:.2e})"
        )
    assert {dtype for _, dtype in worst} == {"float64", "float32"}, sorted(worst)
    beyond = {key: value for key, value in worst.items() if not value[1] <= 1.0}
    assert not beyond, f"(relative deviation, share of the allowed) beyond the bound: {beyond}"


def _make_golden() -> Any:
    pytest.importorskip("torch")
    return importlib.import_module("tests.golden.make_golden")


@pytest.mark.peers
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_peers_recomputed(case: Case) -> None:
    """Run the installed peers again: they must still give the stored numbers and ours."""
    make_golden = _make_golden()
    stored = {
        (r["preset"], r["peer"], json.dumps(r["options"], sort_keys=True)): r["value"]
        for r in DATA["records"]
        if r["case"] == case.id
    }
    with warnings.catch_warnings():  # the peers' own deprecation warnings
        warnings.simplefilter("ignore")
        fresh = make_golden.records_for(case)
    if not fresh:
        pytest.skip("no peer package importable")
    for record in fresh:
        key = (record["preset"], record["peer"], json.dumps(record["options"], sort_keys=True))
        preset = _preset(record)
        ours = _ours(preset, case)
        assert abs(ours - record["value"]) <= _allowed(preset, case, record["value"]), key
        if key in stored:
            allowed = _rerun_allowed(preset, case, stored[key])
            assert abs(record["value"] - stored[key]) <= allowed, (
                f"{key}: the installed peer now gives {record['value']}, golden.json has "
                f"{stored[key]} ({DATA['peers']}); allowed {allowed:.3g}"
            )


def test_readme_preset_table_lists_every_preset() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for name in presets.PRESETS:
        assert f"`{name}`" in readme, name
    assert mmd_any.presets.PRESETS  # the module is public
