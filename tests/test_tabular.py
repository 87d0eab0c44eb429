"""Tabular inputs done deliberately (issue 15, item 3).

DataFrames and Series as samples (numeric columns matched by name, the index never
a feature, non-numeric columns named), the file loaders dropping a pandas index,
and ``standardize=``: the pooled sample's per-feature mean and standard deviation
applied before the kernel. References are plain NumPy on
``frame[columns].to_numpy()``.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.spatial.distance import pdist

import mmd_any
from mmd_any import cli
from mmd_any._capabilities import capability
from mmd_any._validation import prepare_samples, prepare_single
from mmd_any.io import InputNote, load_sample

from .conftest import Backend, get_backend

pd = pytest.importorskip("pandas")

RNG = np.random.default_rng(15)
X = RNG.normal(3.0, [1.0, 10.0, 1000.0], size=(12, 3))
Y = RNG.normal(2.0, [2.0, 10.0, 500.0], size=(9, 3))
COLUMNS = ["height", "weight", "income"]


def _frame(values: np.ndarray, index: Any = None) -> Any:
    return pd.DataFrame(values, columns=COLUMNS, index=index)


def _reference_standardized(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pooled sample's z-scores (ddof 0); a constant feature is 0."""
    z = np.concatenate([x, y])
    spread = z.std(axis=0)
    constant = z.min(axis=0) == z.max(axis=0)
    scaled = np.where(constant, 0.0, (z - z.mean(axis=0)) / np.where(constant, 1.0, spread))
    return scaled[: len(x)], scaled[len(x) :]


def _public_keyword(name: str) -> bool:
    return "standardize" in inspect.signature(getattr(mmd_any, name)).parameters


needs_keyword = pytest.mark.skipif(
    not all(
        _public_keyword(name)
        for name in ("mmd2", "mmd", "kid", "mmd_test", "mmd2_rff", "kernel_matrix")
    ),
    reason="the public standardize= keyword is not there yet",
)


# -- DataFrames and Series ---------------------------------------------------------------


INDEXES = {
    "shuffled integers": lambda n: pd.Index(RNG.permutation(1000)[:n]),
    "named": lambda n: pd.Index(np.arange(100, 100 + n), name="patient_id"),
    "strings": lambda n: pd.Index([f"row{i}" for i in range(n)]),
    "multiindex": lambda n: pd.MultiIndex.from_arrays(
        [np.arange(n) // 3, np.arange(n) % 3], names=["site", "visit"]
    ),
}


@pytest.mark.parametrize("index", sorted(INDEXES))
def test_the_index_is_never_a_feature(index: str) -> None:
    x = _frame(X, INDEXES[index](len(X)))
    y = _frame(Y, INDEXES[index](len(Y)))
    samples = prepare_samples(x, y)
    assert samples.x.shape == (12, 3)
    np.testing.assert_array_equal(samples.x, x[COLUMNS].to_numpy())
    np.testing.assert_array_equal(samples.y, y[COLUMNS].to_numpy())
    assert float(mmd_any.mmd2(x, y)) == float(mmd_any.mmd2(X, Y))


def test_columns_are_matched_by_name() -> None:
    x, y = _frame(X), _frame(Y)
    shuffled = y[["income", "height", "weight"]]
    np.testing.assert_array_equal(prepare_samples(x, shuffled).y, Y)
    assert float(mmd_any.mmd2(x, shuffled)) == float(mmd_any.mmd2(X, Y))


def test_different_column_names_are_refused_by_name() -> None:
    x = _frame(X)
    y = _frame(Y).rename(columns={"income": "salary"}).assign(age=1.0)
    message = r"`y` lacks \['income'\] and has extra \['salary', 'age'\]"
    with pytest.raises(ValueError, match=message):
        prepare_samples(x, y)
    with pytest.raises(ValueError, match=r"`y` has extra \['age'\]"):
        mmd_any.mmd2(x, _frame(Y).assign(age=1.0))


def test_repeated_names_in_another_order_are_refused() -> None:
    x = pd.DataFrame(X, columns=["a", "a", "b"])
    y = pd.DataFrame(Y, columns=["b", "a", "a"])
    with pytest.raises(ValueError, match="repeated"):
        prepare_samples(x, y)


def test_a_frame_and_an_array_or_two_series_match_by_position() -> None:
    np.testing.assert_array_equal(prepare_samples(_frame(X), Y).y, Y)
    # two columns of one table: their distributions compared, whatever their names
    samples = prepare_samples(_frame(X)["height"], _frame(X)["weight"])
    assert samples.x.shape == samples.y.shape == (12, 1)
    np.testing.assert_array_equal(samples.y[:, 0], X[:, 1])


def test_a_series_is_one_feature() -> None:
    x = pd.Series(X[:, 0], index=np.arange(50, 62), name="height")
    y = pd.Series(Y[:, 0], name="height")
    samples = prepare_samples(x, y)
    assert samples.x.shape == (12, 1)
    np.testing.assert_array_equal(samples.x[:, 0], X[:, 0])
    assert float(mmd_any.mmd2(x, y)) == float(mmd_any.mmd2(X[:, 0], Y[:, 0]))


def test_booleans_are_zero_and_one_and_nullable_columns_are_floats() -> None:
    frame = pd.DataFrame(
        {
            "flag": [True, False, True, True],
            "count": pd.array([1, 2, 3, 4], dtype="Int64"),
            "level": pd.array([0.5, 1.5, 2.5, 3.5], dtype="Float64"),
            "small": np.array([1, 2, 3, 4], dtype=np.int8),
        }
    )
    samples = prepare_single(frame)
    assert samples.x.dtype == np.float64
    expected = np.array([[1, 1, 0.5, 1], [0, 2, 1.5, 2], [1, 3, 2.5, 3], [1, 4, 3.5, 4]])
    np.testing.assert_array_equal(samples.x, expected)


def test_a_missing_value_is_a_nan() -> None:
    frame = pd.DataFrame({"count": pd.array([1, None, 3], dtype="Int64")})
    with pytest.raises(ValueError, match="`y` contains NaN"):
        prepare_samples(np.ones((3, 1)), frame)


def test_float32_columns_stay_float32() -> None:
    frame = _frame(X).astype("float32")
    assert prepare_samples(frame, frame.copy()).dtype == np.float32
    assert prepare_samples(frame, _frame(Y)).dtype == np.float64


@pytest.mark.parametrize("where", ["x", "y"])
def test_non_numeric_columns_are_named_with_their_dtypes(where: str) -> None:
    table = _frame(X).assign(
        label=[f"c{i}" for i in range(12)],
        when=pd.Timestamp("2024-01-01"),
        kind=pd.Categorical(["a", "b"] * 6),
    )
    x, y = (table, X) if where == "x" else (X, table)
    pattern = (
        rf"`{where}` has non-numeric column\(s\) 'label' \(\w+\), "
        r"'when' \(datetime64.*\), 'kind' \(category\)"
    )
    with pytest.raises(ValueError, match=pattern):
        prepare_samples(x, y)
    with pytest.raises(TypeError, match=pattern):  # what such input raised before
        mmd_any.mmd2(x, y)


def test_a_frame_becomes_the_other_samples_library() -> None:
    torch = pytest.importorskip("torch")
    samples = prepare_samples(_frame(X), torch.asarray(Y))
    assert isinstance(samples.x, torch.Tensor)
    np.testing.assert_array_equal(samples.x.numpy(), X)


# -- standardize ---------------------------------------------------------------------------


def _with_constant(a: np.ndarray, value: float) -> np.ndarray:
    return np.column_stack([a, np.full(len(a), value)])


def test_standardize_matches_numpy_on_every_backend(backend: Backend) -> None:
    x, y = _with_constant(X, 0.1), _with_constant(Y, 0.1)  # 0.1: its mean is not 0.1
    samples = prepare_samples(backend.from_numpy(x), backend.from_numpy(y), standardize=True)
    assert samples.standardized
    if capability("mmd2", backend.name).lazy:  # still lazy
        assert type(samples.x).__module__.startswith("dask")
    ref_x, ref_y = _reference_standardized(x, y)
    got_x, got_y = backend.to_numpy(samples.x), backend.to_numpy(samples.y)
    np.testing.assert_allclose(got_x, ref_x, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(got_y, ref_y, rtol=1e-13, atol=1e-14)
    assert np.all(got_x[:, -1] == 0.0)
    assert np.all(got_y[:, -1] == 0.0)
    assert samples.x.dtype == backend.from_numpy(x).dtype


def test_standardize_keeps_float32_and_the_device() -> None:
    xps = pytest.importorskip("array_api_strict")
    device = xps.Device("device1")
    x = xps.asarray(X.astype(np.float32), device=device)
    y = xps.asarray(Y.astype(np.float32), device=device)
    samples = prepare_samples(x, y, standardize=True)
    assert samples.x.dtype == samples.y.dtype == xps.float32
    assert samples.x.device == samples.y.device == device
    ref_x, _ = _reference_standardized(X, Y)
    on_host = xps.asarray(samples.x, device=xps.Device("CPU_DEVICE"))
    np.testing.assert_allclose(np.from_dlpack(on_host), ref_x, rtol=1e-5, atol=1e-5)


def test_standardize_runs_under_jit() -> None:
    jax = pytest.importorskip("jax")
    get_backend("jax")  # x64, as the suite runs it

    @jax.jit
    def standardized(a: Any, b: Any) -> Any:
        samples = prepare_samples(a, b, standardize=True, check_finite=False)
        return samples.x, samples.y

    got_x, got_y = standardized(jax.numpy.asarray(X), jax.numpy.asarray(Y))
    ref_x, ref_y = _reference_standardized(X, Y)
    np.testing.assert_allclose(np.asarray(got_x), ref_x, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(np.asarray(got_y), ref_y, rtol=1e-13, atol=1e-14)


def test_standardize_has_no_host_sync() -> None:
    torch = pytest.importorskip("torch")
    x, y = torch.empty(30, 4, device="meta"), torch.empty(20, 4, device="meta")
    samples = prepare_samples(x, y, standardize=True, check_finite=False)
    assert samples.x.device.type == samples.y.device.type == "meta"


def test_gradients_flow_with_the_statistics_held_fixed() -> None:
    """d(x_std)/dx = 1/std: the mean and std are constants, as the bandwidths are."""
    torch = pytest.importorskip("torch")
    x = torch.asarray(_with_constant(X, 4.0), requires_grad=True)
    y = torch.asarray(_with_constant(Y, 4.0), requires_grad=True)
    weights = torch.asarray(RNG.normal(size=(21, 4)))
    samples = prepare_samples(x, y, standardize=True)
    (torch.cat([samples.x, samples.y]) * weights).sum().backward()
    z = np.concatenate([x.detach().numpy(), y.detach().numpy()])
    spread = np.where(z.std(axis=0) > 0, z.std(axis=0), 1.0)
    expected = weights.numpy() / spread
    np.testing.assert_allclose(x.grad.numpy(), expected[:12], rtol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), expected[12:], rtol=1e-12)


def test_one_sample_is_standardized_with_its_own_statistics() -> None:
    samples = prepare_single(X, standardize=True)
    assert samples.y is samples.x
    np.testing.assert_allclose(samples.x, (X - X.mean(0)) / X.std(0), rtol=1e-13, atol=1e-14)


def test_standardize_survives_extreme_magnitudes() -> None:
    """Per-feature powers of two: no sum of squares overflows or underflows."""
    x = np.array([[1e300, 1e-300, 5.0], [-1e300, 3e-300, 5.0]])
    y = np.array([[0.0, 2e-300, 5.0]])
    samples = prepare_samples(x, y, standardize=True)
    ref_x, ref_y = _reference_standardized(x / [1e300, 1e-300, 1.0], y / [1e300, 1e-300, 1.0])
    np.testing.assert_allclose(samples.x, ref_x, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(samples.y, ref_y, rtol=1e-12, atol=1e-15)


def test_standardize_after_the_finiteness_check() -> None:
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="`x` contains NaN"):
        prepare_samples(bad, Y, standardize=True)


@needs_keyword
def test_the_public_functions_standardize() -> None:
    ref_x, ref_y = _reference_standardized(X, Y)
    assert float(mmd_any.mmd2(X, Y, standardize=True)) == pytest.approx(
        float(mmd_any.mmd2(ref_x, ref_y)), rel=1e-12
    )
    assert float(mmd_any.mmd(X, Y, standardize=True)) == pytest.approx(
        float(mmd_any.mmd(ref_x, ref_y)), rel=1e-12
    )
    np.testing.assert_allclose(
        mmd_any.kernel_matrix(X, Y, standardize=True), mmd_any.kernel_matrix(ref_x, ref_y)
    )
    alone = (X - X.mean(0)) / X.std(0)
    np.testing.assert_allclose(
        mmd_any.kernel_matrix(X, standardize=True), mmd_any.kernel_matrix(alone), atol=1e-14
    )
    fixed = mmd_any.mmd_test(X, Y, n_permutations=49, seed=0, standardize=True)
    expected = mmd_any.mmd_test(ref_x, ref_y, n_permutations=49, seed=0)
    assert float(fixed.statistic) == pytest.approx(float(expected.statistic), rel=1e-12)
    assert fixed.pvalue == expected.pvalue
    assert fixed.bandwidths[0] == pytest.approx(expected.bandwidths[0], rel=1e-12)
    assert float(mmd_any.mmd2_rff(X, Y, standardize=True, seed=0)) == pytest.approx(
        float(mmd_any.mmd2_rff(ref_x, ref_y, seed=0)), rel=1e-10
    )
    kid = mmd_any.kid(X, Y, subsets=2, subset_size=6, seed=0, standardize=True)
    expected_kid = mmd_any.kid(ref_x, ref_y, subsets=2, subset_size=6, seed=0)
    np.testing.assert_allclose(
        [float(v) for v in np.atleast_1d(kid)], [float(v) for v in np.atleast_1d(expected_kid)]
    )


@needs_keyword
def test_standardized_mmd_ignores_the_units_of_each_feature() -> None:
    scales, offsets = np.array([1e-3, 1.0, 1e4]), np.array([5.0, -2.0, 1e6])
    plain = float(mmd_any.mmd2(X, Y, standardize=True))
    rescaled = float(mmd_any.mmd2(X * scales + offsets, Y * scales + offsets, standardize=True))
    assert rescaled == pytest.approx(plain, rel=1e-9)


@needs_keyword
@pytest.mark.parametrize("name", ["torch", "array_api_strict"])
def test_the_public_functions_standardize_on(name: str) -> None:
    backend: Backend | None = get_backend(name)
    if backend is None:
        pytest.skip(f"{name} is not installed")
    value = mmd_any.mmd2(backend.from_numpy(X), backend.from_numpy(Y), standardize=True)
    ref_x, ref_y = _reference_standardized(X, Y)
    assert float(backend.to_numpy(value)) == pytest.approx(
        float(mmd_any.mmd2(ref_x, ref_y)), rel=1e-12
    )


@needs_keyword
def test_wine_bandwidth_is_no_longer_proline() -> None:
    """Class 0 vs class 1 of the wine data: the raw median distance (350.8) is the
    proline column's alone (350.0); standardised, it is 4.85 standard deviations."""
    datasets = pytest.importorskip("sklearn.datasets")
    wine = datasets.load_wine(as_frame=True)
    frame, target = wine.data, wine.target
    x, y = frame[target == 0], frame[target == 1]
    raw = mmd_any.mmd_test(x, y, n_permutations=19, seed=0)
    scaled = mmd_any.mmd_test(x, y, n_permutations=19, seed=0, standardize=True)
    z = np.concatenate([x.to_numpy(), y.to_numpy()])
    proline = np.median(pdist(z[:, [list(frame.columns).index("proline")]]))
    assert raw.bandwidths[0] == pytest.approx(np.median(pdist(z)), rel=1e-12)
    assert abs(raw.bandwidths[0] - proline) < 0.01 * proline  # proline is the bandwidth
    zs = (z - z.mean(0)) / z.std(0)
    assert scaled.bandwidths[0] == pytest.approx(np.median(pdist(zs)), rel=1e-12)
    assert scaled.bandwidths[0] < 0.05 * raw.bandwidths[0]
    # no single feature dominates: the median distance over all features is well above
    # that of any one of them
    assert all(scaled.bandwidths[0] > 2 * np.median(pdist(zs[:, [k]])) for k in range(13))


# -- files written by pandas ---------------------------------------------------------------


def _load(path: Path, **options: Any) -> tuple[np.ndarray, list[str]]:
    notes: list[str] = []
    return load_sample(path, notes=notes.append, **options), notes


@pytest.fixture
def table() -> Any:
    """A frame with a non-default index (pandas stores it as a column in parquet)."""
    return _frame(X, pd.Index(RNG.permutation(100)[:12]))


def test_parquet_drops_the_pandas_index_column(tmp_path: Path, table: Any) -> None:
    path = tmp_path / "a.parquet"
    table.to_parquet(path)
    values, notes = _load(path)
    np.testing.assert_array_equal(values, X)
    assert notes == [f"{path}: dropped the pandas index column '__index_level_0__' (not a feature)"]
    with pytest.warns(InputNote, match="__index_level_0__"):
        load_sample(path)


def test_parquet_drops_a_named_index_and_a_multiindex(tmp_path: Path) -> None:
    named = _frame(X, pd.Index(RNG.permutation(100)[:12], name="patient_id"))
    named.to_parquet(tmp_path / "named.parquet")
    values, notes = _load(tmp_path / "named.parquet")
    np.testing.assert_array_equal(values, X)
    assert notes == [
        f"{tmp_path / 'named.parquet'}: dropped the pandas index column 'patient_id' "
        "(not a feature)"
    ]
    multi = _frame(X, INDEXES["multiindex"](12))
    multi.to_parquet(tmp_path / "multi.parquet")
    values, notes = _load(tmp_path / "multi.parquet")
    np.testing.assert_array_equal(values, X)
    assert notes == [
        f"{tmp_path / 'multi.parquet'}: dropped the pandas index columns 'site', 'visit' "
        "(not features)"
    ]


def test_parquet_with_a_range_index_has_nothing_to_drop(tmp_path: Path) -> None:
    _frame(X).to_parquet(tmp_path / "plain.parquet")  # a RangeIndex is metadata only
    values, notes = _load(tmp_path / "plain.parquet")
    np.testing.assert_array_equal(values, X)
    assert notes == []


def test_parquet_columns_after_the_index_is_dropped(tmp_path: Path, table: Any) -> None:
    path = tmp_path / "a.parquet"
    table.set_index(table.index.rename("id")).to_parquet(path)
    values, notes = _load(path, columns=["income", "0"])
    np.testing.assert_array_equal(values, X[:, [2, 0]])
    assert len(notes) == 1
    values, notes = _load(path, columns=["2"])
    np.testing.assert_array_equal(values, X[:, [2]])
    # asked for by name, the index is read (and nothing was dropped)
    values, notes = _load(path, columns=["id", "height"])
    np.testing.assert_array_equal(values, np.column_stack([table.index, X[:, 0]]))
    assert notes == []


def test_csv_drops_the_unnamed_index_column(tmp_path: Path, table: Any) -> None:
    path = tmp_path / "a.csv"
    table.to_csv(path)
    assert path.read_text().startswith(",height,")
    values, notes = _load(path)
    np.testing.assert_allclose(values, X, rtol=1e-15)
    assert notes == [
        f"{path}: dropped the unnamed first column, a pandas index (integer row labels, "
        "not a feature)"
    ]
    tsv = tmp_path / "a.tsv"
    table.to_csv(tsv, sep="\t")
    values, notes = _load(tsv)
    np.testing.assert_allclose(values, X, rtol=1e-15)
    assert len(notes) == 1
    values, _ = _load(path, columns=["0", "income"])  # indices count the features
    np.testing.assert_allclose(values, X[:, [0, 2]], rtol=1e-15)


def test_csv_multiindex_columns_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    frame = _frame(X, INDEXES["multiindex"](12))
    frame.index.names = [None, None]
    frame.to_csv(path)
    values, notes = _load(path)
    np.testing.assert_allclose(values, X, rtol=1e-15)
    assert notes == [
        f"{path}: dropped the 2 unnamed first columns, a pandas MultiIndex (integer row "
        "labels, not a feature)"
    ]


def test_csv_keeps_a_named_or_a_repeated_first_column(tmp_path: Path, table: Any) -> None:
    named = tmp_path / "named.csv"
    table.to_csv(named, index_label="id")  # a name: a feature, whatever it holds
    values, notes = _load(named)
    np.testing.assert_allclose(values, np.column_stack([table.index, X]), rtol=1e-15)
    assert notes == []
    plain = tmp_path / "plain.csv"
    table.to_csv(plain, index=False)
    values, notes = _load(plain)
    assert values.shape == (12, 3)
    assert notes == []
    counts = tmp_path / "counts.csv"  # unnamed, but integers that repeat: not row labels
    counts.write_text(",a\n1,0.5\n1,0.25\n2,0.125\n")
    values, notes = _load(counts)
    np.testing.assert_array_equal(values, [[1, 0.5], [1, 0.25], [2, 0.125]])
    assert notes == []
    fractions = tmp_path / "fractions.csv"
    fractions.write_text(",a\n0.5,1\n1,2\n")
    assert _load(fractions)[1] == []


def test_csv_with_a_text_index_says_where_it_comes_from(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    _frame(X, INDEXES["strings"](12)).to_csv(path)
    with pytest.raises(ValueError, match=r"non-numeric value 'row0'.*index=False"):
        load_sample(path, notes=print)


# -- the command line: the breast-cancer halves ------------------------------------


@pytest.fixture(scope="module")
def halves(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    datasets = pytest.importorskip("sklearn.datasets")
    frame = datasets.load_breast_cancer(as_frame=True).data
    half = len(frame) // 2
    first, second = frame.iloc[:half], frame.iloc[half:]
    folder = tmp_path_factory.mktemp("halves")
    files = {}
    for label, part in (("a", first), ("b", second)):
        part.to_csv(folder / f"{label}.csv")  # the index kept, as by default
        part.sample(frac=1.0, random_state=0).to_parquet(folder / f"{label}.parquet")
        files[label] = part
    return {"folder": folder, "x": first.to_numpy(), "y": second.to_numpy(), **files}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_breast_cancer_halves_have_30_features(halves, suffix: str, capsys) -> None:
    folder = halves["folder"]
    a, b = str(folder / f"a{suffix}"), str(folder / f"b{suffix}")
    assert cli.main(["distance", a, b, "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["d"] == 30
    assert report["standardized"] is False
    expected = float(mmd_any.mmd2(halves["x"], halves["y"]))
    assert report["mmd2"] == pytest.approx(expected, rel=1e-10)
    assert report["mmd2"] == pytest.approx(0.034286, abs=5e-7)  # the 0.034
    with_index = mmd_any.mmd2(
        halves["a"].reset_index().to_numpy(float), halves["b"].reset_index().to_numpy(float)
    )
    assert float(with_index) == pytest.approx(0.174071, abs=5e-7)  # the 0.174
    lines = captured.err.strip().splitlines()
    assert len(lines) == 2, lines  # one line per file
    assert lines[0].startswith(f"{a}: dropped the ")
    assert lines[1].startswith(f"{b}: dropped the ")
    assert all("not a feature" in line for line in lines)


@needs_keyword
def test_distance_and_test_standardize(halves, capsys) -> None:
    folder = halves["folder"]
    a, b = str(folder / "a.csv"), str(folder / "b.csv")
    assert cli.main(["distance", a, b, "--standardize", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["standardized"] is True
    ref_x, ref_y = _reference_standardized(halves["x"], halves["y"])
    assert report["mmd2"] == pytest.approx(float(mmd_any.mmd2(ref_x, ref_y)), rel=1e-10)
    z = np.concatenate([ref_x, ref_y])
    assert report["bandwidth"][0] == pytest.approx(np.median(pdist(z)), rel=1e-10)
    assert cli.main(["distance", a, b, "--standardize"]) == 0
    assert "standardized: true" in capsys.readouterr().out
    arguments = ["test", a, b, "--permutations", "19", "--standardize"]
    assert cli.main([*arguments, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["standardized"] is True
    assert report["bandwidth"] == pytest.approx(np.median(pdist(z)), rel=1e-10)
    assert cli.main(arguments) == 0
    assert "standardized: true" in capsys.readouterr().out
    assert cli.main(arguments[:-1]) == 0
    assert "standardized: false" in capsys.readouterr().out
