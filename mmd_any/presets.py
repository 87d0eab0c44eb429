"""Named conventions of the MMD libraries people compare against.

Every library scales its kernel, picks its bandwidth and chooses its estimator
in its own way, so "the MMD" of two papers can differ by factors. A preset
names one library's convention and reproduces its number exactly (checked
against the real packages in ``tests/golden``)::

    mmd_any.mmd2(x, y, preset="kid")              # by name
    mmd_any.presets.kid.mmd2(x, y)                # the same, as an object
    mmd_any.presets.geomloss_gaussian.with_bandwidth(0.5).mmd2(x, y)  # blur=0.5

A :class:`Preset` expands to a kernel (with its bandwidth rule), an estimator,
a scale factor and, for Transfer-Learning-Library, an additive constant:
``value = scale · MMD²_estimator + offset(n, m)``. Where the peer has a defect
(unequal sample sizes, an ignored argument) the preset computes what the peer
meant and the difference is written in :attr:`Preset.peer_defect`.

======================  =====================================================
name                    peer
======================  =====================================================
``seed``                the seeds' ``MMDLoss`` / ``get_MMD`` (blog posts)
``tllib``               Transfer-Learning-Library MK-MMD (DAN), non-linear
``kid``                 torchmetrics / torch-fidelity KID, one subset
``alibi``               alibi-detect ``MMDDrift`` (PyTorch backend) default
``alibi-keops``         alibi-detect ``MMDDrift`` (KeOps backend) default
``geomloss-gaussian``   GeomLoss ``SamplesLoss("gaussian")``, tensorized
``geomloss-laplacian``  GeomLoss ``SamplesLoss("laplacian")``, tensorized
``geomloss-energy``     GeomLoss ``SamplesLoss("energy")``, tensorized
``mmdagg-gaussian``     MMDAgg's Gaussian kernel ``exp(−‖x−y‖²/λ²)``
``mmdagg-laplace``      MMDAgg's Laplace kernel ``exp(−‖x−y‖₁/λ)``
======================  =====================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from array_api_compat import is_array_api_obj

from . import _registry
from ._checks import is_real
from ._typing import Array
from .bandwidths import Fixed, MeanSquaredDistance, Median, _check_scales, seed_scales
from .estimators import mmd2 as _mmd2
from .kernels import Energy, Exponential, Gaussian, Kernel, Laplacian, Polynomial

__all__ = [
    "PRESETS",
    "Preset",
    "alibi",
    "alibi_keops",
    "as_preset",
    "geomloss_energy",
    "geomloss_gaussian",
    "geomloss_laplacian",
    "kid",
    "mmdagg_gaussian",
    "mmdagg_laplace",
    "seed",
    "tllib",
]


def _no_offset(n: int, m: int) -> float:
    return 0.0


@dataclass(frozen=True)
class Preset:
    """One library's MMD convention.

    Attributes
    ----------
    name : str
        The name :func:`mmd_any.mmd2` accepts as ``preset=``.
    kernel : Kernel
        Kernel with its bandwidth rule.
    estimator : {"biased", "unbiased"}
        The MMD² estimator before scaling.
    scale : float
        Factor applied to the estimator (GeomLoss reports half the MMD²,
        alibi-detect averages its kernels over the bandwidths).
    offset : callable
        ``offset(n, m)`` added after scaling (0 except for tllib).
    equal_sizes : bool
        The peer's formula is only defined for ``n = m``; other sizes raise.
    peer : str
        The package, version and call reproduced.
    formula : str
        The statistic in one line.
    differs : str
        What differs from mmd_any's default (Gaussian, median bandwidth, biased).
    peer_defect : str
        A known defect of the peer that the preset does not copy ("" if none).
    bandwidth_parameter : str
        The peer's name for the argument :meth:`with_bandwidth` sets ("" if
        the convention has no bandwidth).
    """

    name: str
    kernel: Kernel
    estimator: str
    peer: str
    formula: str
    differs: str
    scale: float = 1.0
    offset: Callable[[int, int], float] = field(default=_no_offset, repr=False)
    equal_sizes: bool = False
    peer_defect: str = ""
    bandwidth_parameter: str = ""
    _with_bandwidth: Callable[[Any], tuple[Kernel, float]] | None = field(
        default=None, repr=False, compare=False
    )

    def mmd2(
        self,
        x: Array,
        y: Array,
        *,
        block_size: int | None = None,
        memory_budget: int | None = None,
        check_finite: bool = True,
    ) -> Array:
        """The peer's statistic on ``x`` and ``y``; see :func:`mmd_any.mmd2`.

        Examples
        --------
        >>> import numpy as np
        >>> from mmd_any import presets
        >>> x, y = np.zeros((4, 1)), np.ones((4, 1))
        >>> float(presets.geomloss_gaussian.with_bandwidth(1.0).mmd2(x, y))  # ½(2 − 2/√e)
        0.3934693402873666
        """
        return _mmd2(
            x,
            y,
            preset=self,
            block_size=block_size,
            memory_budget=memory_budget,
            check_finite=check_finite,
        )

    def with_bandwidth(self, value: float | Sequence[float] | Array) -> Preset:
        """The same convention with a fixed bandwidth in the peer's own units.

        Parameters
        ----------
        value : float, sequence of float or array
            The peer's :attr:`bandwidth_parameter`: ``fix_sigma`` for the
            seeds, ``blur`` for GeomLoss, ``sigma`` (one or several, averaged)
            for alibi-detect, ``λ`` for MMDAgg.

        Raises
        ------
        ValueError
            If the convention has no bandwidth to set, for non-positive or
            non-finite values, and for several values where the peer takes one
            (``fix_sigma``).
        TypeError
            For a value that is not a real number, a sequence of them or an
            array (a bool, a string, None), naming the peer's parameter.
        """
        if self._with_bandwidth is None:
            raise ValueError(f"preset {self.name!r} has no bandwidth to set")
        if not is_array_api_obj(value) or is_real(value):
            value = _check_scales(value, self.bandwidth_parameter)  # type: ignore[arg-type]
        kernel, scale = self._with_bandwidth(value)
        return replace(self, kernel=kernel, scale=scale, _with_bandwidth=self._with_bandwidth)


def _values(value: float | Sequence[float] | Array) -> tuple[float, ...] | Array:
    """A bandwidth argument as a tuple of floats, or the array itself."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value),)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(float(v) for v in value)
    return value


def _count(values: tuple[float, ...] | Array) -> int:
    if isinstance(values, tuple):
        return len(values)
    return 1 if values.ndim == 0 else int(values.shape[0])


def _times(values: tuple[float, ...] | Array, factor: float) -> tuple[float, ...] | Array:
    if isinstance(values, tuple):
        return tuple(v * factor for v in values)
    return values * factor


def _seed_fixed(value: Any) -> tuple[Kernel, float]:
    values = _values(value)
    if not isinstance(values, tuple):
        raise TypeError(f"`fix_sigma` must be a positive float, got an array {value!r}")
    if len(values) != 1:
        raise ValueError(
            f"`fix_sigma` is a single positive float, got {len(values)} values {value!r}"
        )
    (fix_sigma,) = values
    base = math.sqrt(fix_sigma / 2.0)
    return Gaussian(Fixed([base * s for s in seed_scales(2.0, 5)])), 1.0


def _alibi_fixed(value: Any) -> tuple[Kernel, float]:
    sigmas = _values(value)
    return Gaussian(Fixed(sigmas)), 1.0 / _count(sigmas)


def _geomloss_fixed(kind: str) -> Callable[[Any], tuple[Kernel, float]]:
    def build(value: Any) -> tuple[Kernel, float]:
        blur = Fixed(_values(value))
        if kind == "gaussian":
            return Gaussian(blur), 0.5
        return Exponential(blur, sq_distance_floor=GEOMLOSS_SQ_DISTANCE_FLOOR), 0.5

    return build


def _mmdagg_fixed(kind: str) -> Callable[[Any], tuple[Kernel, float]]:
    def build(value: Any) -> tuple[Kernel, float]:
        lambdas = _values(value)
        if kind == "gaussian":
            return Gaussian(Fixed(_times(lambdas, 1.0 / math.sqrt(2.0)))), 1.0
        return Laplacian(Fixed(lambdas)), 1.0

    return build


def _tllib_offset(n: int, m: int) -> float:
    return 2.0 / (n - 1)


#: GeomLoss's tensorized backend takes ``sqrt(max(d², 1e-8))`` for distances.
GEOMLOSS_SQ_DISTANCE_FLOOR = 1e-8

#: DAN's five kernels in Transfer-Learning-Library: ``σ_k² = 2^k · mean d²``.
TLLIB_ALPHAS = tuple(2.0**k for k in range(-3, 2))

_HALF_SQRT2 = 1.0 / math.sqrt(2.0)

seed = Preset(
    name="seed",
    kernel=Gaussian(MeanSquaredDistance.seed(2.0, 5)),
    estimator="biased",
    peer="the seeds' MMDLoss / get_MMD (two blog posts, ../shared/seeds)",
    formula="V-statistic of Σ_{i=0..4} exp(−‖x−y‖² / (b·2^(i−2))), "
    "b = mean off-diagonal ‖x−y‖² of the pooled sample",
    differs="five summed Gaussians, mean-distance bandwidth",
    peer_defect="get_MMD's mean(XX + YY − XY − YX) crashes for n ≠ m; the MMDLoss "
    "module ignores fix_sigma; O((n+m)²·d) memory; integer inputs fail",
    bandwidth_parameter="fix_sigma",
    _with_bandwidth=_seed_fixed,
)

tllib = Preset(
    name="tllib",
    kernel=Gaussian(
        MeanSquaredDistance(tuple(math.sqrt(2.0 * a) for a in TLLIB_ALPHAS), include_diagonal=True)
    ),
    estimator="unbiased",
    offset=_tllib_offset,
    equal_sizes=True,
    peer="Transfer-Learning-Library (tllib 0.4) MultipleKernelMaximumMeanDiscrepancy, "
    "linear=False, kernels GaussianKernel(alpha=2^k), k = −3..1",
    formula="U-statistic of Σ_k exp(−‖x−y‖² / (2 α_k m̄)) + 2/(n−1), "
    "m̄ = mean ‖x−y‖² over all (n+m)² pairs, diagonal included",
    differs="five summed Gaussians, mean over all pairs, a constant added, n = m only",
    peer_defect="the +2/(n−1) constant (meant to keep the loss positive) does not "
    "vanish when the samples are equal; DAN's default linear=True is a different, "
    "circular-pair estimator",
)

kid = Preset(
    name="kid",
    kernel=Polynomial(degree=3, gamma=None, coef0=1.0),
    estimator="unbiased",
    peer="torchmetrics 1.9 KernelInceptionDistance (poly_mmd) and torch-fidelity KID, "
    "on one subset",
    formula="U-statistic of (x·y/d + 1)³: within-sample sums without the diagonal "
    "over n(n−1), cross sum over nm",
    differs="polynomial kernel on raw features, unbiased (can be negative)",
    peer_defect="torchmetrics' poly_mmd divides by the first sample's size for both "
    "samples, so it is wrong for n ≠ m (its KID draws equal subsets, where it is right)",
)

alibi = Preset(
    name="alibi",
    kernel=Gaussian(Median(scales=(_HALF_SQRT2,), max_samples=None, lower=True, sample="x")),
    estimator="unbiased",
    peer="alibi-detect 0.13 MMDDrift(backend='pytorch') defaults (GaussianRBF, "
    "sigma_median, mmd2_from_kernel_matrix); x is the reference set",
    formula="U-statistic of exp(−‖x−y‖² / (2σ²)), 2σ² = lower median of the distinct "
    "squared distances within x",
    differs="bandwidth from the reference sample x only, lower median, unbiased",
    peer_defect="permutation p-value (#{null ≥ obs} / P) can be exactly 0; sigma is "
    "stored in float32 even for float64 data; the median needs the full n×n matrix",
    bandwidth_parameter="sigma",
    _with_bandwidth=_alibi_fixed,
)

alibi_keops = Preset(
    name="alibi-keops",
    kernel=Gaussian(MeanSquaredDistance(sample="x")),
    estimator="unbiased",
    peer="alibi-detect 0.13 MMDDrift(backend='keops') defaults (GaussianRBF, sigma_mean); "
    "x is the reference set",
    formula="U-statistic of exp(−‖x−y‖² / (2σ²)), 2σ² = mean off-diagonal squared "
    "distance within x",
    differs="bandwidth = mean distance of the reference sample x, unbiased",
    peer_defect="the same p-value of exactly 0 as the PyTorch backend",
    bandwidth_parameter="sigma",
    _with_bandwidth=_alibi_fixed,
)

geomloss_gaussian = Preset(
    name="geomloss-gaussian",
    kernel=Gaussian(Fixed(0.05)),
    estimator="biased",
    scale=0.5,
    peer="GeomLoss 0.3.1 SamplesLoss('gaussian', blur=0.05, backend='tensorized')",
    formula="½ · V-statistic of exp(−‖x−y‖² / (2 blur²)), blur = 0.05",
    differs="half the biased MMD², fixed blur 0.05 (tiny for unit-scale data)",
    bandwidth_parameter="blur",
    _with_bandwidth=_geomloss_fixed("gaussian"),
)

geomloss_laplacian = Preset(
    name="geomloss-laplacian",
    kernel=Exponential(Fixed(0.05), sq_distance_floor=GEOMLOSS_SQ_DISTANCE_FLOOR),
    estimator="biased",
    scale=0.5,
    peer="GeomLoss 0.3.1 SamplesLoss('laplacian', blur=0.05, backend='tensorized')",
    formula="½ · V-statistic of exp(−max(‖x−y‖²/blur², 1e-8)^½), blur = 0.05",
    differs="Euclidean (not L1) distance, half the biased MMD², fixed blur",
    peer_defect="the 1e-8 floor on squared distances makes k(x, x) = exp(−1e-4) < 1",
    bandwidth_parameter="blur",
    _with_bandwidth=_geomloss_fixed("laplacian"),
)

geomloss_energy = Preset(
    name="geomloss-energy",
    kernel=Energy(sq_distance_floor=GEOMLOSS_SQ_DISTANCE_FLOOR),
    estimator="biased",
    scale=0.5,
    peer="GeomLoss 0.3.1 SamplesLoss('energy', backend='tensorized')",
    formula="½ · V-statistic of −max(‖x−y‖², 1e-8)^½ = ½ energy distance",
    differs="distance kernel (no bandwidth), half the energy distance",
    peer_defect="the 1e-8 floor on squared distances makes k(x, x) = −1e-4 ≠ 0",
)

mmdagg_gaussian = Preset(
    name="mmdagg-gaussian",
    kernel=Gaussian(Median(scales=(_HALF_SQRT2,))),
    estimator="unbiased",
    peer="MMDAgg (Schrab et al., JMLR 2023) kernel_matrix(kernel='gaussian', l='l2')",
    formula="U-statistic of exp(−‖x−y‖² / λ²), λ = median Euclidean distance (pooled) unless given",
    differs="λ² = 2σ²; one bandwidth (MMDAgg aggregates a collection: mmd_test(aggregate=True))",
    bandwidth_parameter="λ",
    _with_bandwidth=_mmdagg_fixed("gaussian"),
)

mmdagg_laplace = Preset(
    name="mmdagg-laplace",
    kernel=Laplacian(Median()),
    estimator="unbiased",
    peer="MMDAgg (Schrab et al., JMLR 2023) kernel_matrix(kernel='laplace', l='l1')",
    formula="U-statistic of exp(−‖x−y‖₁ / λ), λ = median L1 distance (pooled) unless given",
    differs="L1 distance (as mmd_any's Laplacian); one bandwidth",
    bandwidth_parameter="λ",
    _with_bandwidth=_mmdagg_fixed("laplace"),
)

#: Every preset by the name ``mmd2(..., preset=NAME)`` accepts (registered below,
#: where :func:`mmd_any.mmd2` looks names up).
PRESETS: dict[str, Preset] = _registry.PRESETS
PRESETS.update(
    (p.name, p)
    for p in (
        seed,
        tllib,
        kid,
        alibi,
        alibi_keops,
        geomloss_gaussian,
        geomloss_laplacian,
        geomloss_energy,
        mmdagg_gaussian,
        mmdagg_laplace,
    )
)


def as_preset(preset: str | Preset) -> Preset:
    """A :class:`Preset` from an instance or a name in :data:`PRESETS`.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones).
    TypeError
        For anything else.
    """
    if isinstance(preset, Preset):
        return preset
    if isinstance(preset, str):
        return _registry.resolve_preset(preset)
    raise TypeError(f"`preset` must be a preset name or a Preset, got {type(preset).__qualname__}")
