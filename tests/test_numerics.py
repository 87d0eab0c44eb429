"""Adversarial numerics (issue 13): the whole float range, degenerate samples, the sign.

Classes covered, on every installed backend:

* **magnitudes**: data scaled by powers of ten spanning each dtype's exponent
  range, subnormals included; every radial kernel with a data-driven bandwidth
  (and a fixed one scaled with the data) gives the unscaled value within the
  dtype's error bound of the float64 reference, never NaN or inf: ``mmd2``
  (both estimators), ``kernel_matrix``, ``mmd_test``'s p-value and ``MMDLoss``
  with its gradient;
* **degenerate samples**: constant samples of any sizes up to 8 × 8, and x = y,
  give p = 1 in the plain and the aggregated test, for every kernel and both
  estimators; constant columns and duplicate rows are finite;
* **sign**: the biased MMD² is ≥ 0 (x = y, near-duplicates, any backend);
* **close pairs**: near-duplicates beside an outlier and tight clusters far apart
  (Hypothesis over gaps and distances), within a conditioning-free bound of the
  float64 reference and symmetric on the host backends, within the matmul bound on
  the others; the issue's example;
* **extreme fixed bandwidths** (5e-324 … 1.7e308, 1e-45 … 3e38): the kernel's limits
  in ``kernel_matrix``, ``mmd2``, ``mmd_test``, streaming and ``MMDLoss(fix_sigma)``;
* **homogeneous kernels and offsets**: energy and linear MMD² scale as their degree
  over each dtype's range; the linear kernel at offsets 1e8 … 1e12; overflowing
  kernels are a ``ValueError``, never NaN;
* **random features and streaming** are scale-free; learned bandwidths have finite
  gradients on collapsed batches; aggregated members come in the order of their names.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import mmd_any
from mmd_any import kernels
from mmd_any.bandwidths import MeanSquaredDistance, Median

from . import reference
from .conftest import Backend, forall, require

#: Every registered kernel whose MMD² is homogeneous in the data (the engine
#: rescales those by a power of two), with its defaults, and three more bandwidths.
EVERY_KERNEL = [
    *(k for k in reference.default_kernels() if k.homogeneity is not None),
    kernels.Gaussian(1.0),
    kernels.Gaussian(MeanSquaredDistance.seed()),
    kernels.Gaussian(Median(scales=(0.5, 1.0, 3.0))),
]
#: Those whose bandwidths come from the data.
DATA_DRIVEN = [k for k in EVERY_KERNEL if getattr(getattr(k, "rule", None), "data_driven", False)]

#: Decimal exponents of the scale factors, per dtype: the normal range and into
#: the subnormals (the data's largest entry stays representable and finite).
EXPONENTS = {"float64": (-315, 305), "float32": (-42, 36)}


def _samples(seed: int, n: int = 12, m: int = 9, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(0.4, 1.3, size=(m, d))


def _scaled(a: np.ndarray, exponent: int, dtype: str) -> np.ndarray:
    """``a · 10^exponent`` in ``dtype``, computed in two exact-enough float64 steps."""
    half = exponent // 2
    return ((a * 10.0**half) * 10.0 ** (exponent - half)).astype(dtype)


def _flushed(a: np.ndarray) -> np.ndarray:
    """``a`` with its subnormal entries set to 0."""
    return np.where(np.abs(a) < np.finfo(a.dtype).smallest_normal, 0.0, a).astype(a.dtype)


def _subnormal_share(a: np.ndarray) -> float:
    tiny = np.finfo(a.dtype).smallest_normal
    return float(np.mean((np.abs(a) < tiny) & (a != 0)))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_data_driven_kernels_are_scale_free_over_the_whole_range(
    backend: Backend, dtype: str, estimator: str
) -> None:
    require(backend, "mmd2", dtype=dtype)
    low, high = EXPONENTS[dtype]

    @forall(
        backend,
        st.integers(low, high),
        st.sampled_from(range(len(DATA_DRIVEN))),
        st.integers(0, 2**16),
    )
    def prop(exponent: int, which: int, seed: int) -> None:
        kernel = DATA_DRIVEN[which]
        x, y = _samples(seed)
        xs, ys = _scaled(x, exponent, dtype), _scaled(y, exponent, dtype)
        if backend.name.startswith("jax"):
            # XLA flushes subnormal inputs to zero on the CPU: the data it computes on
            xs, ys = _flushed(xs), _flushed(ys)
        # the reference: the float64 value of the data as the dtype holds it, rescaled
        # (subnormal inputs keep fewer digits, so the reference is of what was passed)
        back = 10.0 ** (-exponent // 2), 10.0 ** (-(exponent - exponent // 2))
        held_x = xs.astype(np.float64) * back[0] * back[1]
        held_y = ys.astype(np.float64) * back[0] * back[1]
        expected = reference.mmd2(held_x, held_y, kernel, estimator)
        value = mmd_any.mmd2(
            backend.asarray(xs), backend.asarray(ys), kernel=kernel, estimator=estimator
        )
        computed = float(backend.to_numpy(value))
        assert np.isfinite(computed)
        bound = reference.tolerance(dtype, kernel, held_x, held_y)
        if max(_subnormal_share(xs), _subnormal_share(ys)) > 0:
            # a subnormal input is itself rounded to fewer digits: the reference
            # above is of those digits, the engine's rescaling of them is exact
            bound *= 4
        assert computed == pytest.approx(expected, abs=bound)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kernel_matrix_and_fixed_bandwidths_scale_with_the_data(dtype: str) -> None:
    low, high = EXPONENTS[dtype]
    x, y = _samples(7)
    kernel = kernels.Gaussian([0.8, 1.6])
    expected = reference.mmd2(x, y, kernel, "biased")
    bound = reference.tolerance(dtype, kernel, x, y)
    unscaled = reference.kernel_values(kernel, x, x, x)
    for exponent in range(low + 8, high, 23):  # normal range: the bandwidth is a float
        scale = 10.0**exponent
        scaled_kernel = kernels.Gaussian([0.8 * scale, 1.6 * scale])
        xs, ys = (x * scale).astype(dtype), (y * scale).astype(dtype)
        value = float(mmd_any.mmd2(xs, ys, kernel=scaled_kernel))
        assert value == pytest.approx(expected, abs=bound), exponent
        matrix = np.asarray(mmd_any.kernel_matrix(xs, kernel=scaled_kernel), dtype=np.float64)
        assert np.isfinite(matrix).all()
        np.testing.assert_allclose(matrix, unscaled, atol=64 * reference.eps(dtype))


@pytest.mark.parametrize("exponent", [-42, -30, -20, 0, 20, 30, 36])
def test_mmd_loss_and_its_gradient_over_the_float32_range(exponent: int) -> None:
    torch = pytest.importorskip("torch")
    from mmd_any.torch import MMDLoss

    x, y = _samples(3, n=16, m=16, d=4)
    xs, ys = _scaled(x, exponent, "float32"), _scaled(y, exponent, "float32")
    source = torch.asarray(xs, requires_grad=True)
    loss = MMDLoss()(source, torch.asarray(ys))
    loss.backward()
    held = 10.0 ** (-exponent)
    expected = reference.mmd2(
        xs.astype(np.float64) * held, ys.astype(np.float64) * held, MMDLoss().kernel, "biased"
    )
    bound = 4 * reference.tolerance("float32", MMDLoss().kernel, x, y)
    assert float(loss.detach()) == pytest.approx(expected, abs=bound)
    gradient = source.grad.numpy().astype(np.float64)
    # ∂/∂x scales like 10^-exponent: finite wherever that is representable in float32
    if abs(exponent) <= 36:
        assert np.isfinite(gradient).all()


def test_mmd_test_pvalue_is_the_same_at_every_scale() -> None:
    x, y = _samples(11, n=20, m=15)
    expected = mmd_any.mmd_test(x, y, n_permutations=99, seed=4).pvalue
    for exponent in (-310, -200, -100, 100, 200, 300):
        scale = 10.0**exponent
        assert mmd_any.mmd_test(x * scale, y * scale, n_permutations=99, seed=4).pvalue == expected


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 8),
    m=st.integers(1, 8),
    d=st.integers(1, 3),
    value=st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
    which=st.sampled_from(range(len(EVERY_KERNEL))),
    estimator=st.sampled_from(["biased", "unbiased"]),
    aggregate=st.sampled_from([False, "minp", "fuse", "combined"]),
)
def test_constant_samples_are_never_rejected(n, m, d, value, which, estimator, aggregate) -> None:
    """Identical (constant) samples: every statistic is rounding noise, all ties: p = 1."""
    if aggregate in ("fuse", "combined"):
        estimator = "unbiased"  # the fused statistics are defined on it alone
    assume(estimator == "biased" or min(n, m) >= 2)  # (an example Hypothesis replaces)
    kernel = EVERY_KERNEL[which]
    assume(not aggregate or hasattr(kernel, "rule"))  # the aggregated ones are radial
    x, y = np.full((n, d), value), np.full((m, d), value)
    result = mmd_any.mmd_test(
        x, y, kernel=kernel, estimator=estimator, n_permutations=49, seed=0, aggregate=aggregate
    )
    assert result.pvalue == 1.0
    assert not result.reject


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
@pytest.mark.parametrize("kernel", reference.every_example(), ids=repr)
def test_a_sample_against_itself_gets_p_one(kernel, estimator) -> None:
    """Permutations that give the observed split again tie with it, up to rounding:
    for every kernel, also those whose entries have both signs (whose sum cancels)."""
    x, _ = _samples(5, n=10)
    result = mmd_any.mmd_test(x, x.copy(), kernel=kernel, estimator=estimator, seed=1)
    assert result.pvalue == 1.0


def test_biased_value_is_never_negative(backend: Backend) -> None:
    @forall(
        backend,
        st.integers(0, 2**16),
        st.sampled_from(range(len(EVERY_KERNEL))),
        st.floats(0.0, 1e-9),
    )
    def prop(seed: int, which: int, jitter: float) -> None:
        x, _ = _samples(seed, n=9)
        near = x + jitter * np.random.default_rng(seed + 1).normal(size=x.shape)
        for other in (x, near):
            value = mmd_any.mmd2(
                backend.asarray(x), backend.asarray(other), kernel=EVERY_KERNEL[which]
            )
            assert float(backend.to_numpy(value)) >= 0.0


@pytest.mark.parametrize("kernel", EVERY_KERNEL, ids=repr)
def test_constant_columns_and_duplicate_rows_are_finite(kernel) -> None:
    x, y = _samples(9, n=10, m=8, d=3)
    x[:, 1], y[:, 1] = 5.0, 5.0
    x[3:6], y[2:5] = x[3], y[2]
    for estimator in ("biased", "unbiased"):
        value = float(mmd_any.mmd2(x, y, kernel=kernel, estimator=estimator))
        assert np.isfinite(value)
        expected = reference.mmd2(x, y, kernel, estimator)
        assert value == pytest.approx(expected, abs=reference.tolerance("float64", kernel, x, y))


@pytest.mark.parametrize(
    "call",
    [
        lambda x, y: mmd_any.mmd2(x, y),
        lambda x, y: mmd_any.mmd_test(x, y, n_permutations=19),
        lambda x, y: mmd_any.kid(x, y),
        lambda x, y: mmd_any.kernel_matrix(x, y),
    ],
    ids=["mmd2", "mmd_test", "kid", "kernel_matrix"],
)
def test_zero_features_are_refused_by_name(call) -> None:
    with pytest.raises(ValueError, match=r"`x` has 0 features"):
        call(np.ones((5, 0)), np.ones((4, 0)))


@pytest.mark.parametrize("kernel", DATA_DRIVEN, ids=repr)
def test_kernel_matrix_of_one_row_is_its_diagonal(kernel) -> None:
    matrix = np.asarray(mmd_any.kernel_matrix(np.array([[1.0, -2.0, 3.0]]), kernel=kernel))
    # k(z, z) = 1 for each bandwidth term of these kernels
    np.testing.assert_allclose(matrix, np.full((1, 1), float(kernel.rule.count)))


# -- precision of distances: outliers beside near-duplicates -------------------------------

#: Host backends recompute close pairs from differences; the others keep the
#: matmul bound (``reference.tolerance``, which carries the conditioning).
REFINING = ("numpy", "array_api_strict", "torch", "dask")
CLOSE_PAIR_KERNELS = [
    kernels.Gaussian(),
    kernels.Gaussian(MeanSquaredDistance.seed()),
    kernels.InverseMultiquadric(),
    kernels.Laplacian(),
    kernels.Exponential(),
]


def _close_pair_bound(dtype: str, kernel: kernels.Kernel, x: np.ndarray, y: np.ndarray) -> float:
    """The refined engine's bound, free of the data's conditioning.

    Every squared distance carries a relative error ``ρ ≤ 2⁶·3(d+2)u``
    (``mmd_any._distances.refine_close_pairs``); a radial term moves by at most
    ``ρ·max_t t·e^(−t) = ρ/e``; the estimator's weights add up to at most 4 in
    absolute value, and the sums of ``N`` terms round at ``N·u``.
    """
    scale, _ = reference.kernel_scale(kernel, x, y)
    unit = reference.eps(dtype) / 2
    rho = 64 * 3 * (x.shape[1] + 2) * unit
    return 4 * scale * (rho + 4 * (len(x) + len(y)) * unit)


def _outliers_beside_duplicates(seed: int, gap_exp: int, far_exp: int, d: int):
    """Tight groups of points ``10^gap_exp`` apart, and outliers ``10^far_exp`` away."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(5, d)) * 10.0**gap_exp
    y = np.concatenate([rng.normal(size=(4, d)) * 10.0**gap_exp, x[:1]])
    y = np.concatenate([y, rng.normal(size=(1, d)) * 10.0**far_exp])
    if seed % 2:  # two tight clusters far apart instead of one outlier
        x[:2] += 10.0**far_exp
        y[:2] += 10.0**far_exp
    return x, y


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_close_pairs_beside_an_outlier_are_exact_and_symmetric(
    backend: Backend, dtype: str
) -> None:
    require(backend, "mmd2", dtype=dtype)
    refining = backend.name in REFINING

    @forall(
        backend,
        st.integers(0, 2**16),
        st.integers(-7, -1) if dtype == "float64" else st.integers(-3, -1),
        st.integers(2, 6) if dtype == "float64" else st.integers(1, 3),
        st.integers(1, 3),
        st.sampled_from(range(len(CLOSE_PAIR_KERNELS))),
        st.sampled_from(["biased", "unbiased"]),
    )
    def prop(seed, gap_exp, far_exp, d, which, estimator) -> None:
        kernel = CLOSE_PAIR_KERNELS[which]
        x, y = (a.astype(dtype) for a in _outliers_beside_duplicates(seed, gap_exp, far_exp, d))
        held_x, held_y = x.astype(np.float64), y.astype(np.float64)
        expected = reference.mmd2(held_x, held_y, kernel, estimator)
        forward, backward = (
            float(
                backend.to_numpy(
                    mmd_any.mmd2(
                        backend.asarray(a), backend.asarray(b), kernel=kernel, estimator=estimator
                    )
                )
            )
            for a, b in ((x, y), (y, x))
        )
        if refining:
            bound = _close_pair_bound(dtype, kernel, held_x, held_y)
        else:  # the matmul form's bound, conditioning included (documented)
            bound = reference.tolerance(dtype, kernel, held_x, held_y)
        assert forward == pytest.approx(expected, abs=bound)
        assert backward == pytest.approx(expected, abs=bound)
        assert forward == pytest.approx(backward, abs=bound)


def test_the_issue_example_of_close_pairs() -> None:
    x = np.array([[0.0]])
    y = np.array([[0.0]] * 4 + [[-1e5], [-1e-5]])
    for kernel in (kernels.Gaussian(), kernels.Gaussian(1e-5)):
        expected = reference.mmd2(x, y, kernel, "biased")
        assert expected == pytest.approx(0.0993, abs=1e-4)
        bound = _close_pair_bound("float64", kernel, x, y)
        assert float(mmd_any.mmd2(x, y, kernel=kernel)) == pytest.approx(expected, abs=bound)
        assert float(mmd_any.mmd2(y, x, kernel=kernel)) == pytest.approx(expected, abs=bound)
    matrix = np.asarray(mmd_any.kernel_matrix(y, kernel=kernels.Gaussian(1e-5)))
    np.testing.assert_allclose(
        matrix,
        reference.kernel_values(kernels.Gaussian(1e-5), y, y, y),
        atol=_close_pair_bound("float64", kernels.Gaussian(1e-5), y, y),
    )


# -- extreme fixed bandwidths: the kernel's limits --------------------------------------------

EXTREME_BANDWIDTHS = {
    "float64": (5e-324, 1e-300, 1e-160, 1e160, 1e300, 1.7e308),
    "float32": (1e-45, 1e-30, 1e-20, 1e20, 1e30, 3e38),
}
FIXED_FAMILIES = (
    kernels.Gaussian,
    kernels.InverseMultiquadric,
    kernels.Laplacian,
    kernels.Exponential,
)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("family", FIXED_FAMILIES, ids=lambda f: f.__name__)
def test_extreme_fixed_bandwidths_give_the_kernel_limits(family, dtype: str) -> None:
    x, y = (a.astype(dtype) for a in _samples(13, n=6, m=5))
    for bandwidth in EXTREME_BANDWIDTHS[dtype]:
        kernel = family(bandwidth)
        narrow = bandwidth < 1.0
        # σ → 0: the identity (distinct points have kernel 0); σ → ∞: all ones
        matrix = np.asarray(mmd_any.kernel_matrix(x, kernel=kernel), dtype=np.float64)
        np.testing.assert_allclose(
            matrix, np.eye(len(x)) if narrow else np.ones((6, 6)), atol=4 * reference.eps(dtype)
        )
        limit = 1 / len(x) + 1 / len(y) if narrow else 0.0
        value = float(mmd_any.mmd2(x, y, kernel=kernel))
        assert value == pytest.approx(limit, abs=16 * reference.eps(dtype)), bandwidth
        result = mmd_any.mmd_test(x, y, kernel=kernel, n_permutations=19, seed=0)
        assert np.isfinite(float(result.statistic))
        assert 0 < result.pvalue <= 1
        if family in (kernels.Gaussian, kernels.Laplacian):
            # random features: finite, or an error naming the bandwidth where the
            # phases ω·x leave the float range
            stream = mmd_any.StreamingMMD(kernel=kernel, seed=0)
            if float(np.abs(x).max()) / bandwidth > float(np.finfo(dtype).max) / 1e3:
                with pytest.raises(ValueError, match="`bandwidth`"):
                    stream.update(x, y)
            else:
                assert np.isfinite(float(stream.update(x, y).value())), bandwidth


def test_mmd_loss_with_extreme_fixed_sigma_is_finite() -> None:
    torch = pytest.importorskip("torch")
    from mmd_any.torch import MMDLoss

    x, y = _samples(2, n=8, m=8)
    for sigma in (1e-300, 1e-160, 1e160, 1e300):
        source = torch.asarray(x, requires_grad=True)
        loss = MMDLoss(fix_sigma=sigma)(source, torch.asarray(y))
        loss.backward()
        assert torch.isfinite(loss), sigma
        assert bool(torch.isfinite(source.grad).all()), sigma


# -- homogeneous kernels, offsets, overflow --------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_energy_and_linear_scale_as_their_homogeneity(backend: Backend, dtype: str) -> None:
    require(backend, "mmd2", dtype=dtype)
    low, high = EXPONENTS[dtype]
    x, y = _samples(17)
    for kernel, power in ((kernels.Energy(), 1), (kernels.Linear(), 2)):
        expected = reference.mmd2(x, y, kernel, "biased")
        bound = reference.tolerance(dtype, kernel, x, y)
        checked = 0
        for exponent in range(low + 8, high, 37):
            magnitude = np.log10(abs(expected)) + exponent * power
            info = np.finfo(dtype)
            if not (np.log10(info.tiny) + 2 < magnitude < np.log10(info.max) - 2):
                continue  # the value itself is not representable in this dtype
            xs, ys = _scaled(x, exponent, dtype), _scaled(y, exponent, dtype)
            value = mmd_any.mmd2(backend.asarray(xs), backend.asarray(ys), kernel=kernel)
            computed = float(backend.to_numpy(value))
            for _ in range(power):  # undo the scale one power at a time (each representable)
                computed = computed * 10.0 ** -(exponent // 2) * 10.0 ** (exponent // 2 - exponent)
            assert computed == pytest.approx(expected, abs=bound, rel=16 * reference.eps(dtype))
            checked += 1
        assert checked, f"no representable scale checked for {kernel} in {dtype}"


def test_the_energy_kernel_at_1e200() -> None:
    x, y = _samples(19)
    expected = reference.mmd2(x, y, kernels.Energy(), "biased") * 1e200
    value = float(mmd_any.mmd2(x * 1e200, y * 1e200, kernel="energy"))
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("estimator", ["biased", "unbiased", "linear"])
def test_linear_kernel_is_shift_invariant_at_large_offsets(backend: Backend, estimator) -> None:
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([[0.5], [1.5], [2.5], [4.0]])
    expected = reference.mmd2(x, y, kernels.Linear(), estimator)
    if estimator == "biased":
        assert expected == pytest.approx((x.mean() - y.mean()) ** 2)  # ‖mean x − mean y‖²
    for offset in (1e8, 1.7e9, -1e12):
        value = mmd_any.mmd2(
            backend.asarray(x + offset),
            backend.asarray(y + offset),
            kernel="linear",
            estimator=estimator,
        )
        # the inputs themselves hold offset + x to within ulp(offset)
        bound = 64 * np.spacing(abs(offset)) * (1 + abs(x).max())
        assert float(backend.to_numpy(value)) == pytest.approx(expected, abs=bound), offset
    matrix = np.asarray(mmd_any.kernel_matrix(x + 3.0, y + 3.0, kernel="linear"))
    np.testing.assert_allclose(matrix, (x + 3.0) @ (y + 3.0).T)  # kernel values: not centred


@pytest.mark.parametrize(
    "call",
    [
        lambda x, y, k: mmd_any.mmd2(x, y, kernel=k),
        lambda x, y, k: mmd_any.mmd2(x, y, kernel=k, estimator="unbiased"),
        lambda x, y, k: mmd_any.mmd_test(x, y, kernel=k, n_permutations=19),
        lambda x, y, k: mmd_any.kernel_matrix(x, y, kernel=k),
    ],
    ids=["mmd2", "unbiased", "mmd_test", "kernel_matrix"],
)
@pytest.mark.parametrize(
    ("kernel", "scale"),
    [
        (kernels.Polynomial(degree=1000), 3.0),
        (kernels.Polynomial(), 1e120),
        (kernels.Linear(), 1e200),
    ],
    ids=["degree-1000", "cubic-1e120", "linear-1e200"],
)
def test_an_overflowing_kernel_is_an_error_not_nan(call, kernel, scale) -> None:
    x, y = _samples(23)
    with pytest.raises(ValueError, match="overflowed"):
        call(x * scale, y * scale, kernel)


# -- scale-free random features, streaming and gradients --------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_random_features_and_streaming_are_scale_free(dtype: str) -> None:
    low, high = EXPONENTS[dtype]
    x, y = _samples(29, n=40, m=40)

    def values(xs: np.ndarray, ys: np.ndarray, fixed: float) -> list[float]:
        chunked = mmd_any.StreamingMMD(seed=3).update(xs[:20], ys[:20]).update(xs[20:], ys[20:])
        linear = mmd_any.StreamingMMD(estimator="linear").update(xs, ys)
        stream = mmd_any.StreamingMMD(kernel=kernels.Gaussian(fixed), seed=3).update(xs, ys)
        found = [mmd_any.mmd2_rff(xs, ys, seed=3), chunked.value(), linear.value(), stream.value()]
        return [float(v) for v in found]

    expected = values(x.astype(dtype), y.astype(dtype), 2.0)
    bound = 256 * reference.eps(dtype)
    for exponent in range(low + 8, high, 29):
        xs, ys = _scaled(x, exponent, dtype), _scaled(y, exponent, dtype)
        found = values(xs, ys, 2.0 * 10.0**exponent)
        assert found == pytest.approx(expected, abs=bound), exponent


@pytest.mark.parametrize(
    "rule",
    [
        Median(detach=False),
        MeanSquaredDistance(detach=False),
        MeanSquaredDistance.seed(detach=False),
    ],
    ids=repr,
)
@pytest.mark.parametrize("family", FIXED_FAMILIES, ids=lambda f: f.__name__)
def test_learned_bandwidths_on_a_collapsed_batch_have_finite_gradients(family, rule) -> None:
    torch = pytest.importorskip("torch")
    for x, y in (
        (np.ones((8, 3)), np.ones((8, 3))),
        (np.zeros((1, 2)), np.zeros((1, 2))),
        (np.ones((6, 2)), np.random.default_rng(0).normal(size=(5, 2))),
    ):
        source = torch.asarray(x, requires_grad=True)
        target = torch.asarray(y, requires_grad=True)
        value = mmd_any.mmd2(source, target, kernel=family(rule))
        value.backward()
        assert torch.isfinite(value)
        assert bool(torch.isfinite(source.grad).all())
        assert bool(torch.isfinite(target.grad).all())


@pytest.mark.parametrize("scales", [(0.5, 1.0, 3.0), (3.0, 0.25, 1.0, 0.5), (1.0, 1.5, 2.0)])
def test_aggregated_members_are_reported_in_the_order_of_their_names(
    backend: Backend, scales
) -> None:
    """Each member's statistic is the MMD² of the bandwidth its name says (the host's
    exp ladders compute the terms chain by chain, not in the order of ``scales``)."""
    x, y = _samples(31, n=30, m=25)
    kernel = kernels.Gaussian(Median(scales=scales))
    result = mmd_any.mmd_test(
        backend.asarray(x),
        backend.asarray(y),
        kernel=kernel,
        aggregate="minp",
        n_permutations=19,
        seed=0,
    )
    assert result.kernels == tuple(f"Gaussian(Median × {s:g})" for s in scales)
    found = np.asarray(backend.to_numpy(result.statistics), dtype=np.float64)
    for scale, value in zip(scales, found, strict=True):
        member = kernels.Gaussian(Median(scales=(scale,)))
        expected = reference.mmd2(x, y, member, "biased")
        assert value == pytest.approx(expected, abs=reference.tolerance("float64", member, x, y))
