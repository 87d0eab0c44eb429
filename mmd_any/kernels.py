"""The kernels, by the names every ``kernel=`` argument accepts.

{KERNEL_TABLE}

The radial kernels take a ``bandwidth``: a positive float, a sequence of
them (the kernel is then the sum over the bandwidths), ``"median"`` (default),
``"mean"``, or a rule from :mod:`mmd_any.bandwidths`. Squared distances are
computed after centring the pooled sample on its mean, L1 and Euclidean ones
from coordinate differences; the dot-product kernels are not translation
invariant and see the data as given. The energy kernel has no bandwidth.

A ladder of Gaussian (or Laplacian, exponential) bandwidths whose exponents differ by powers
of two, such as the seeds' ratio-2 ladder, is evaluated with a single ``exp``
and repeated squaring.
"""

from __future__ import annotations

import abc
import functools
import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from array_api_compat import device

from ._checks import check_count, check_real
from ._compat import is_host
from ._docstrings import fill, list_table, quoted
from ._typing import Array
from .bandwidths import BandwidthRule, Sigmas, as_bandwidth

__all__ = [
    "ALIASES",
    "KERNELS",
    "Energy",
    "Exponential",
    "Gaussian",
    "InverseMultiquadric",
    "Kernel",
    "Laplacian",
    "Linear",
    "Polynomial",
    "as_kernel",
    "has_bandwidth",
]


#: Up to this many weight rows, products with a multi-bandwidth kernel tile
#: are taken term by term (see :meth:`Kernel.left_times_profile`).
FEW_ROWS = 4

#: Longest run of squarings in one exp ladder: ``e^(2^8)`` carries at most
#: ``2^9`` ulps of relative error, below the test tolerances of every dtype.
MAX_LADDER_DOUBLINGS = 8

#: Ratios within this relative distance of ``start · 2^j`` join its chain: the
#: exponent then differs by at most 4 float64 ulps, below every dtype's rounding.
LADDER_RTOL = 8 * 2.0**-53


class Kernel(abc.ABC):
    """Base class of the kernels.

    A subclass must define:

    * ``name`` (the lower-case name :func:`as_kernel` knows it by) and
      ``metric`` (``"sqeuclidean"``, ``"cityblock"``, ``"euclidean"`` or
      ``"dot"``: what the engine computes on each tile);
    * :meth:`profile`, the kernel as an elementwise function of the metric
      values of a tile (abstract here; the radial kernels of several
      bandwidths define :meth:`terms` instead, one summand per bandwidth, and
      inherit a ``profile`` that sums them).

    It may override :meth:`parameters` (data-driven values, resolved once per
    call from the pooled sample; default: none), :meth:`prepare` (those
    values in the form the tiles use, computed once per call, not once per
    tile; default: unchanged), ``homogeneity`` (how the MMD² scales with the
    data; default None: not homogeneous) and :meth:`profile_and_slope` (for
    the hand-written gradient). ``terms``, ``n_terms``, ``profile`` and the
    products take prepared parameters.
    """

    name: ClassVar[str]
    metric: ClassVar[str]
    #: ``k(x, y)`` as reST, for the kernel tables of the docs.
    formula: ClassVar[str]
    #: The default parameters in words, for the same tables.
    defaults: ClassVar[str]
    #: Whether kernel values may have either sign (the dot-product kernels): their
    #: sum then cancels and does not measure their size (a test's tie tolerance).
    signed_entries: ClassVar[bool] = False
    #: ``h`` such that the MMD² of ``s·x`` and ``s·y`` is ``s^h`` times that of ``x``
    #: and ``y`` (bandwidths scaling with the data): the engine then computes on
    #: data rescaled by an exact power of two (:mod:`mmd_any._scaling`). None: not
    #: homogeneous, computed on the data as given.
    homogeneity: ClassVar[int | None] = None

    @property
    def translation_invariant(self) -> bool:
        """Whether ``k(x + c, y + c) = k(x, y)`` (the distance-based kernels)."""
        return self.metric != "dot"

    @property
    def forms_translation_invariant(self) -> bool:
        """Whether quadratic forms whose weights sum to zero (every MMD estimator)
        are unchanged when all points move by the same vector: the
        translation-invariant kernels, and the linear kernel."""
        return self.translation_invariant

    def parameters(
        self, xp: Any, z: Array, sizes: Sequence[int] | None = None, *, centred: bool = False
    ) -> Any:
        """Resolve data-driven parameters from the pooled sample ``z``.

        ``sizes`` are the sample sizes stacked in ``z`` (None: one sample);
        ``centred``: whether ``z`` is centred on its mean. The engine calls this
        once per call, through :func:`mmd_any._scaling.resolve_parameters`.
        """
        return None

    def prepare(self, xp: Any, params: Any, host: bool = True, like: Array | None = None) -> Any:
        """The parameters as the tile functions use them (default: unchanged).

        ``host``: the tiles run on the host CPU (fewest flops) rather than on an
        accelerator (fewest array calls); ``like``: an array of the data's dtype
        and device, for constants built there.
        """
        return params

    def terms(self, xp: Any, values: Array, params: Any) -> Iterator[Array]:
        """The summands of the kernel (one per bandwidth) on a tile of metric values
        (default: the profile, a single summand)."""
        yield self.profile(xp, values, params)

    def n_terms(self, params: Any) -> int:
        """How many summands :meth:`terms` yields."""
        return 1

    def term_order(self, params: Any) -> list[int]:
        """For each summand :meth:`terms` yields, in that order, its index among
        the kernel's bandwidths (the order of the groups and their ``scales``)."""
        order: list[int] = []
        for part in params if isinstance(params, list) else []:
            positions = getattr(part, "positions", ())
            order.extend(positions or range(len(order), len(order) + _count_terms([part])))
        return order or list(range(self.n_terms(params)))

    @abc.abstractmethod
    def profile(self, xp: Any, values: Array, params: Any) -> Array:
        """Kernel values from a tile of metric values (elementwise)."""

    def profile_and_slope(self, xp: Any, values: Array, params: Any) -> tuple[Array, Array] | None:
        """Kernel values and their derivative with respect to the metric value, on
        one tile: what a hand-written gradient of the quadratic forms needs
        (:mod:`mmd_any._gradient`). None where the kernel does not provide it."""
        return None

    def left_times_profile(
        self, xp: Any, left: Array, values: Array, params: Any, host: bool = True
    ) -> Array:
        """``left @ profile(values)``.

        On the host, for a few rows of ``left`` (the MMD's weight vectors) the
        product is taken term by term, which reads each term once instead of
        adding full tiles; for many rows (permutations) the terms are summed
        first so that there is a single large matmul, and subnormal kernel
        values are flushed (see :func:`_flush_subnormal`). Elsewhere (``host``
        False) the terms are always summed first: the fewest array calls.
        """
        if left.shape[0] > FEW_ROWS:
            profile = self.profile(xp, values, params)
            return left @ (_flush_subnormal(xp, profile) if host else profile)
        if not host or self.n_terms(params) == 1:
            return left @ self.profile(xp, values, params)
        total = None
        for term in self.terms(xp, values, params):
            product = left @ term
            total = product if total is None else total + product
        return total

    def left_times_terms(
        self,
        xp: Any,
        left: Array,
        values: Array,
        params: Any,
        host: bool = True,
        diagonal: Array | None = None,
        squares: bool = False,
    ) -> tuple[list[Array], list[Array]]:
        """``[left @ term for term in terms(values)]`` (one product per bandwidth) and,
        with ``squares``, each term's sum of squared entries (0-d; MMD-FUSE's
        normalisation), from the same terms: one evaluation of the kernel serves both.
        ``diagonal``: a boolean mask of entries set to 0 first."""
        flush = host and left.shape[0] > FEW_ROWS
        products, sums = [], []
        for term in self.terms(xp, values, params):
            if diagonal is not None:
                term = xp.where(diagonal, 0.0, term)
            elif flush:
                term = _flush_subnormal(xp, term)
            products.append(left @ term)
            if squares:
                sums.append(xp.sum(term * term))
        return products, sums


def _flush_subnormal(xp: Any, tile: Array) -> Array:
    """Set kernel values below the smallest normal number (in magnitude) to 0.

    Narrow bandwidths give exp values in the subnormal range, and every
    arithmetic operation on a subnormal costs a microcode assist on x86: a
    matmul with many weight rows (permutations) reads each entry once per row
    and ran 8x slower. The change is below 1.2e-38 (float32) per entry.
    """
    tiny = xp.finfo(tile.dtype).smallest_normal
    return xp.where(xp.abs(tile) < tiny, xp.zeros_like(tile), tile)


@functools.lru_cache(maxsize=256)
def _ladder_chains(
    ratios: tuple[float, ...],
) -> tuple[tuple[float, tuple[int, ...], tuple[int, ...]], ...]:
    """Group exponent ratios into chains ``start · 2^j``, j ≤ MAX_LADDER_DOUBLINGS.

    Returns ``((start, (multiplier, ...), (position, ...)), ...)`` where each
    multiplier is an integer power of two, ``exp(−t·start·mult) = exp(−t·start)^mult``,
    and each position the index in ``ratios`` of the term it gives. Cached: a
    kernel's ladder is the same on every call.
    """
    chains: list[tuple[float, list[int], list[int]]] = []
    for position in sorted(range(len(ratios)), key=lambda k: ratios[k]):
        ratio = ratios[position]
        for start, multipliers, positions in chains:
            # a power of two up to the rounding of the ratios themselves (the
            # seeds' σ = sqrt(2^k) squares back to 2^k only within an ulp)
            doublings = round(math.log2(ratio / start))
            exact = start * 2.0**doublings
            if 0 <= doublings <= MAX_LADDER_DOUBLINGS and abs(ratio - exact) <= LADDER_RTOL * exact:
                multipliers.append(2**doublings)
                positions.append(position)
                break
        else:
            chains.append((ratio, [1], [position]))
    return tuple((start, tuple(mult), tuple(pos)) for start, mult, pos in chains)


@dataclass(frozen=True)
class ExpChain:
    """``exp(values · coefficient)^multiplier`` for each multiplier (internal);
    ``positions``: the index of each of these terms among the kernel's bandwidths."""

    coefficient: float | Array
    multipliers: tuple[int, ...]
    positions: tuple[int, ...] = ()


def _float_power(value: float, power: int) -> float:
    """``value ** power`` for a small positive integer power, by multiplication: inf
    beyond the float range and 0 below it, never an ``OverflowError``."""
    result = value
    for _ in range(power - 1):
        result = result * value
    return result


def bandwidth_coefficient(
    xp: Any, base: float | Array, factor: float, power: int, dtype: Any = None
) -> float | Array:
    """``factor / base^power`` for a bandwidth ``base`` (a float or a 0-d array).

    Clamped to the largest finite magnitude of ``dtype`` (the data's): a zero
    distance times it stays 0, so an extreme but valid bandwidth gives the
    kernel's limit (``σ → 0``: the identity matrix, distinct points have kernel
    0; ``σ → ∞``: all ones) instead of ``0 · inf = NaN``, and a Python float
    never raises ``OverflowError``/``ZeroDivisionError``. On a device bandwidth
    this is at most three array operations, once per call.
    """
    largest = float(xp.finfo(dtype).max) if dtype is not None else sys.float_info.max
    if isinstance(base, (int, float)):
        inverse = 1.0 / float(base) if base != 0 else math.inf  # 0: underflowed
        value = factor * _float_power(inverse, power)
        return min(largest, max(-largest, value))
    scaled = base ** (-power) if factor == 1.0 else base ** (-power) * factor
    return xp.clip(scaled, min=-largest, max=largest)


def exp_chains(
    xp: Any, groups: list[Sigmas], power: int, const: float, dtype: Any = None
) -> list[ExpChain]:
    """The ladder chains of ``exp(−values · const / σ_k^power)``, coefficients resolved
    once (a device bandwidth costs three array operations per chain here, none per
    tile; see :func:`bandwidth_coefficient`)."""
    chains = []
    offset = 0
    for group in groups:
        ratios = [_float_power(1.0 / scale, power) for scale in group.scales]
        for start, multipliers, positions in _ladder_chains(tuple(ratios)):
            coefficient = bandwidth_coefficient(xp, group.base, -(const * start), power, dtype)
            placed = tuple(offset + p for p in positions)
            chains.append(ExpChain(coefficient, multipliers, placed))
        offset += len(group.scales)
    return chains


def chain_terms(xp: Any, values: Array, chains: list[Any]) -> Iterator[Array]:
    """The terms of :func:`exp_chains` (one exp per chain, then repeated squaring)
    or of a :class:`StackedExp` (one broadcast exp)."""
    for chain in chains:
        if isinstance(chain, StackedExp):
            stacked = xp.exp(values[None, ...] * chain.coefficients[:, None, None])
            yield from (stacked[k, ...] for k in range(chain.count))
            continue
        current = xp.exp(values * chain.coefficient)
        reached = 1
        for multiplier in chain.multipliers:
            while reached < multiplier:
                current = current * current
                reached *= 2
            yield current


def chain_profile_and_slope(xp: Any, values: Array, chains: list[Any]) -> tuple[Array, Array]:
    """``Σ_k exp(c_k·t)`` and its derivative ``Σ_k c_k·exp(c_k·t)`` with respect to
    the metric value ``t``, from the terms of :func:`chain_terms` (no extra exp).

    For a forward pass that autodiff does not record (:mod:`mmd_any._gradient`):
    the sums accumulate with the standard's in-place operators (out of place
    for immutable arrays such as JAX's), because on the host every fresh
    tile-sized buffer costs page faults (measured 5x the arithmetic), and only
    one term is alive at a time.
    """
    profile = slope = None
    for chain in chains:
        if isinstance(chain, StackedExp):
            coefficients = chain.coefficients[:, None, None]
            stacked = xp.exp(values[None, ...] * coefficients)
            part, part_slope = xp.sum(stacked, axis=0), xp.sum(stacked * coefficients, axis=0)
        else:
            part = weighted = None
            terms = chain_terms(xp, values, [chain])
            for term, multiplier in zip(terms, chain.multipliers, strict=True):
                if part is None:  # ``part`` aliases the first term, which the ladder
                    part, weighted = term, term * float(multiplier)  # has squared already
                    continue
                part += term
                weighted += term * float(multiplier)
            weighted *= chain.coefficient
            part_slope = weighted
        if profile is None:
            profile, slope = part, part_slope
        else:
            profile += part
            slope += part_slope
    return profile, slope


@dataclass(frozen=True)
class StackedExp:
    """``exp(values · c_k)`` for a ``(count,)`` device array of coefficients (internal).

    The accelerator form of a multi-bandwidth exp kernel: one broadcast multiply,
    one exp and one sum over ``(count, rows, cols)``, three array calls forward
    and three backward, where the ladder's exp and squarings take ``2 + 2L``
    forward and ``4L`` backward. More exps and memory, far fewer launches.
    """

    coefficients: Array
    count: int


#: Geometric coefficient ladders are detected up to this many ulps.
GEOMETRIC_RTOL = 16 * 2.0**-52


@functools.lru_cache(maxsize=256)
def _geometric_ratio(values: tuple[float, ...]) -> float | None:
    """The common ratio of a geometric sequence (up to :data:`GEOMETRIC_RTOL`), else None."""
    ratio = values[1] / values[0]
    exact = all(
        abs(v - values[0] * ratio**k) <= GEOMETRIC_RTOL * abs(v) for k, v in enumerate(values)
    )
    return ratio if exact else None


def _device_constants(xp: Any, values: tuple[float, ...], like: Array) -> Array:
    """``values`` as an array of ``like``'s dtype on its device. On the host one
    conversion; on a device it is built there (no copy from the host, which would
    wait for the device's queue): ``first · ratio^k`` for a geometric list, else
    one fill each."""
    dev, dtype = device(like), like.dtype
    if is_host(xp, dev):
        return xp.asarray(values, dtype=dtype, device=dev)
    ratio = _geometric_ratio(values)
    if ratio is not None:
        return (ratio ** xp.arange(len(values), dtype=dtype, device=dev)) * values[0]
    return xp.concat([xp.full((1,), v, dtype=dtype, device=dev) for v in values])


def exp_prepared(
    xp: Any, groups: list[Sigmas], power: int, const: float, host: bool, like: Array | None
) -> list[Any]:
    """Prepared parameters of ``Σ_k exp(−values · const / σ_k^power)``: ladder chains on
    the host (fewest exps), one :class:`StackedExp` per bandwidth group elsewhere."""
    dtype = None if like is None else like.dtype
    if host or like is None:
        return exp_chains(xp, groups, power, const, dtype)
    prepared: list[Any] = []
    for group in groups:
        if len(group.scales) == 1:
            prepared.extend(exp_chains(xp, [group], power, const, dtype))
            continue
        constants = tuple(-const * _float_power(1.0 / scale, power) for scale in group.scales)
        if isinstance(group.base, (int, float)):
            inverse = bandwidth_coefficient(xp, group.base, 1.0, power, dtype)
            coefficients = _device_constants(xp, constants, like) * inverse
        else:  # one clamp of the products (bandwidth_coefficient): three operations
            coefficients = _device_constants(xp, constants, like) * group.base ** (-power)
            largest = float(xp.finfo(dtype).max)
            coefficients = xp.clip(coefficients, min=-largest, max=largest)
        prepared.append(StackedExp(coefficients, len(constants)))
    return prepared


def _count_terms(params: list[Any]) -> int:
    """Number of terms of prepared radial parameters (chains, stacks or bandwidth groups)."""
    counts = {ExpChain: lambda p: len(p.multipliers), StackedExp: lambda p: p.count}
    return sum(counts.get(type(p), lambda p: len(p.scales))(p) for p in params)


@dataclass(frozen=True)
class _Radial(Kernel):
    bandwidth: Any = "median"
    _rule: BandwidthRule = field(init=False, repr=False, compare=False)

    homogeneity: ClassVar[int | None] = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rule", as_bandwidth(self.bandwidth))

    @property
    def rule(self) -> BandwidthRule:
        """The bandwidth rule this kernel uses."""
        return self._rule

    def parameters(
        self, xp: Any, z: Array, sizes: Sequence[int] | None = None, *, centred: bool = False
    ) -> list[Sigmas]:
        data = self._rule.data(z, sizes)
        return self._rule.resolve(xp, data, self.metric, centred and data is z)

    def n_terms(self, params: list[Any]) -> int:
        return _count_terms(params)

    @abc.abstractmethod
    def terms(self, xp: Any, values: Array, params: Any) -> Iterator[Array]:
        """One summand per bandwidth, in the order of :meth:`term_order`."""

    def profile(self, xp: Any, values: Array, params: Any) -> Array:
        """The sum of :meth:`terms` (one stacked exp for a :class:`StackedExp` group)."""
        if isinstance(params, list) and len(params) == 1 and isinstance(params[0], StackedExp):
            stacked = params[0]
            return xp.sum(xp.exp(values[None, ...] * stacked.coefficients[:, None, None]), axis=0)
        total = None
        for term in self.terms(xp, values, params):
            total = term if total is None else total + term
        return total


@dataclass(frozen=True)
class _ExpRadial(_Radial):
    """``Σ_k exp(−const · metric / σ_k^power)``: evaluated by exp ladders."""

    _power: ClassVar[int]
    _const: ClassVar[float]

    def prepare(
        self, xp: Any, params: list[Sigmas], host: bool = True, like: Array | None = None
    ) -> list[Any]:
        return exp_prepared(xp, params, self._power, self._const, host, like)

    def terms(self, xp: Any, values: Array, params: list[ExpChain]) -> Iterator[Array]:
        return chain_terms(xp, values, params)

    def profile_and_slope(
        self, xp: Any, values: Array, params: list[Any]
    ) -> tuple[Array, Array] | None:
        return chain_profile_and_slope(xp, values, params)


@dataclass(frozen=True)
class Gaussian(_ExpRadial):
    """Gaussian (RBF) kernel ``exp(−‖x−y‖² / (2σ²))``, summed over bandwidths.

    Parameters
    ----------
    bandwidth : float, sequence of float, array, str or BandwidthRule
        σ, or a rule for it (default ``"median"``).

    Examples
    --------
    >>> import numpy as np
    >>> from mmd_any import kernel_matrix
    >>> from mmd_any.kernels import Gaussian
    >>> K = kernel_matrix(np.zeros((1, 2)), np.ones((1, 2)), kernel=Gaussian(1.0))
    >>> float(K[0, 0])  # exp(-1)
    0.36787944117144233
    """

    name: ClassVar[str] = "gaussian"
    formula: ClassVar[str] = "``Σ_k exp(−‖x−y‖² / (2σ_k²))``"
    defaults: ClassVar[str] = '``bandwidth="median"``'
    metric: ClassVar[str] = "sqeuclidean"
    _power: ClassVar[int] = 2
    _const: ClassVar[float] = 0.5


@dataclass(frozen=True)
class Laplacian(_ExpRadial):
    """Laplacian kernel ``exp(−‖x−y‖₁ / σ)``, summed over bandwidths.

    The median rule uses the median L1 distance for this kernel.
    """

    name: ClassVar[str] = "laplacian"
    formula: ClassVar[str] = "``Σ_k exp(−‖x−y‖₁ / σ_k)``"
    defaults: ClassVar[str] = '``bandwidth="median"`` (median L1 distance)'
    metric: ClassVar[str] = "cityblock"
    _power: ClassVar[int] = 1
    _const: ClassVar[float] = 1.0


@dataclass(frozen=True)
class _Floored:
    """A kernel of Euclidean distances with an optional floor under the square root of
    the squared distance (GeomLoss's tensorized backend uses 1e-8)."""

    sq_distance_floor: float = 0.0

    def __post_init__(self) -> None:
        parent = getattr(super(), "__post_init__", None)
        if parent is not None:
            parent()
        floor = check_real(
            self.sq_distance_floor,
            "sq_distance_floor",
            lower=0.0,
            closed=True,
            expected="be a non-negative float",
        )
        object.__setattr__(self, "sq_distance_floor", floor)


@dataclass(frozen=True)
class Exponential(_Floored, _Radial):
    """Exponential kernel ``exp(−‖x−y‖ / σ)`` (Euclidean norm), summed over bandwidths.

    The Matérn kernel of smoothness 1/2; GeomLoss calls it ``"laplacian"``
    (:class:`Laplacian` here is the L1 one). Distances are computed from
    coordinate differences (exact near 0), at about the cost of the Laplacian.

    Parameters
    ----------
    bandwidth : float, sequence of float, array, str or BandwidthRule
        σ, or a rule for it (default ``"median"``, the median Euclidean distance).
    sq_distance_floor : float
        Use ``max(‖x−y‖² / σ², floor)`` under the square root. 0 (default) is
        exact; GeomLoss's tensorized backend uses 1e-8, so ``k(x, x) = exp(−1e-4)``.
    """

    name: ClassVar[str] = "exponential"
    formula: ClassVar[str] = '``Σ_k exp(−‖x−y‖ / σ_k)`` (Euclidean norm; GeomLoss\'s "laplacian")'
    defaults: ClassVar[str] = '``bandwidth="median"`` (median Euclidean distance)'
    metric: ClassVar[str] = "euclidean"

    def prepare(
        self, xp: Any, params: list[Sigmas], host: bool = True, like: Array | None = None
    ) -> list[Any]:
        if self.sq_distance_floor == 0:
            return exp_prepared(xp, params, 1, 1.0, host, like)
        return params

    def terms(self, xp: Any, values: Array, params: list[Any]) -> Iterator[Array]:
        if self.sq_distance_floor == 0:
            yield from chain_terms(xp, values, params)
            return
        floor = math.sqrt(self.sq_distance_floor)
        for group in params:
            for scale in group.scales:
                coeff = bandwidth_coefficient(xp, group.base, 1.0 / scale, 1, values.dtype)
                yield xp.exp(-xp.maximum(values * coeff, floor))


@dataclass(frozen=True)
class InverseMultiquadric(_Radial):
    """Inverse multiquadric ``(1 + ‖x−y‖² / σ²)^(−1/2)``, summed over bandwidths."""

    name: ClassVar[str] = "inverse_multiquadric"
    formula: ClassVar[str] = "``Σ_k (1 + ‖x−y‖² / σ_k²)^(−1/2)``"
    defaults: ClassVar[str] = '``bandwidth="median"``'
    metric: ClassVar[str] = "sqeuclidean"

    def terms(self, xp: Any, values: Array, params: list[Sigmas]) -> Iterator[Array]:
        for group in params:
            for scale in group.scales:
                factor = 1.0 / (scale * scale)
                coeff = bandwidth_coefficient(xp, group.base, factor, 2, values.dtype)
                yield 1.0 / xp.sqrt(1.0 + values * coeff)


@dataclass(frozen=True)
class Energy(_Floored, Kernel):
    """Distance kernel ``−‖x−y‖``: the biased MMD² is the energy distance.

    Only conditionally positive definite, which is enough: the MMD² weights
    sum to zero, so the biased MMD² equals the energy distance
    ``2 E‖X−Y‖ − E‖X−X′‖ − E‖Y−Y′‖`` of Székely and Rizzo, and
    ``sqrt`` of it is a metric. No bandwidth.

    Parameters
    ----------
    sq_distance_floor : float
        Use ``max(‖x−y‖², floor)`` under the square root (GeomLoss's
        tensorized backend uses 1e-8). 0 (default) is exact.
    """

    name: ClassVar[str] = "energy"
    formula: ClassVar[str] = "``−‖x−y‖`` (the biased MMD² is the energy distance)"
    defaults: ClassVar[str] = "no bandwidth"
    metric: ClassVar[str] = "euclidean"

    @property
    def homogeneity(self) -> int | None:  # type: ignore[override]
        """1: distances scale with the data; None with a floor, which is absolute."""
        return 1 if self.sq_distance_floor == 0 else None

    def profile(self, xp: Any, values: Array, params: Any) -> Array:
        if self.sq_distance_floor == 0:
            return -values
        return -xp.maximum(values, math.sqrt(self.sq_distance_floor))


@dataclass(frozen=True)
class Linear(Kernel):
    """Linear kernel ``x · y``: the MMD² is ``‖mean(x) − mean(y)‖²``."""

    name: ClassVar[str] = "linear"
    signed_entries: ClassVar[bool] = True
    formula: ClassVar[str] = "``x · y`` (MMD² = ``‖mean(x) − mean(y)‖²``)"
    defaults: ClassVar[str] = "no parameters"
    metric: ClassVar[str] = "dot"
    homogeneity: ClassVar[int | None] = 2

    @property
    def forms_translation_invariant(self) -> bool:
        """``(x+c)·(y+c) = x·y + c·x + c·y + c·c``: the extra terms cancel in every
        form whose weights sum to zero."""
        return True

    def profile(self, xp: Any, values: Array, params: Any) -> Array:
        return values


def _integer_power(values: Array, degree: int) -> Array:
    """``values ** degree`` by repeated squaring (exact sign, no NaN)."""
    result = None
    base = values
    while degree:
        if degree & 1:
            result = base if result is None else result * base
        degree >>= 1
        if degree:
            base = base * base
    return result


@dataclass(frozen=True)
class Polynomial(Kernel):
    """Polynomial kernel ``(γ x · y + c)^p``; the KID kernel with the defaults.

    Parameters
    ----------
    degree : int
        The power ``p`` (a positive integer).
    gamma : float or None
        ``γ``; None means ``1 / d`` for ``d`` features.
    coef0 : float
        ``c ≥ 0``.

    Raises
    ------
    TypeError
        A ``degree`` that is not an integer (bools and floats, even ``2.0``,
        are refused), a ``gamma``/``coef0`` that is not a real number.
    ValueError
        ``degree`` < 1, ``gamma`` ≤ 0, ``coef0`` < 0, or NaN/inf.
    """

    degree: int = 3
    gamma: float | None = None
    coef0: float = 1.0

    name: ClassVar[str] = "polynomial"
    signed_entries: ClassVar[bool] = True
    formula: ClassVar[str] = "``(γ x · y + c)^p``"
    defaults: ClassVar[str] = "``p = 3``, ``γ = 1/d``, ``c = 1`` (the KID kernel)"
    metric: ClassVar[str] = "dot"

    def __post_init__(self) -> None:
        degree = check_count(self.degree, "degree", 1)
        gamma = check_real(
            self.gamma, "gamma", lower=0.0, allow_none=True, expected="be positive or None"
        )
        coef0 = check_real(
            self.coef0, "coef0", lower=0.0, closed=True, expected="be a non-negative float"
        )
        object.__setattr__(self, "degree", degree)
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "coef0", coef0)

    def parameters(
        self, xp: Any, z: Array, sizes: Sequence[int] | None = None, *, centred: bool = False
    ) -> float:
        return 1.0 / z.shape[1] if self.gamma is None else float(self.gamma)

    def profile(self, xp: Any, values: Array, params: float) -> Array:
        return _integer_power(values * params + self.coef0, self.degree)


#: The kernels by the lower-case name every ``kernel=`` argument (and the CLI's
#: ``--kernel``) accepts: the one list of them. A new kernel class is added here.
KERNELS: dict[str, type[Kernel]] = {
    cls.name: cls
    for cls in (
        Gaussian,
        Laplacian,
        Exponential,
        InverseMultiquadric,
        Energy,
        Linear,
        Polynomial,
    )
}

#: Other names of kernels in :data:`KERNELS` (scikit-learn's and the seeds').
ALIASES: dict[str, str] = {"rbf": "gaussian", "imq": "inverse_multiquadric", "poly": "polynomial"}


def kernel_table(indent: str = "") -> str:
    """The registered kernels as an reST table: class, name (and aliases), ``k(x, y)``,
    defaults; the module docstring's and the docs' kernels table."""
    aliases: dict[str, list[str]] = {}
    for alias, name in ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    rows = [
        (
            f":class:`~mmd_any.kernels.{cls.__name__}`",
            " or ".join(f'``"{n}"``' for n in (name, *aliases.get(name, []))),
            cls.formula,
            cls.defaults,
        )
        for name, cls in KERNELS.items()
    ]
    return list_table(("kernel", "name", "``k(x, y)``", "default parameters"), rows, indent)


def has_bandwidth(kernel: str | type[Kernel] | Kernel) -> bool:
    """Whether a kernel (a name in :data:`KERNELS` or :data:`ALIASES`, a class or an
    instance) takes a ``bandwidth``.

    Examples
    --------
    >>> from mmd_any.kernels import has_bandwidth
    >>> has_bandwidth("rbf"), has_bandwidth("linear")
    (True, False)
    """
    if isinstance(kernel, str):
        kernel = KERNELS[ALIASES.get(kernel, kernel)]
    cls = kernel if isinstance(kernel, type) else type(kernel)
    return issubclass(cls, _Radial)


@fill(
    KERNEL_NAMES=quoted(KERNELS),
    KERNEL_ALIASES=quoted(ALIASES),
    OTHER_KERNELS=quoted(name for name in KERNELS if not has_bandwidth(name)),
)
def as_kernel(kernel: str | Kernel, bandwidth: Any = None) -> Kernel:
    """A :class:`Kernel` from an instance or a lower-case name, with an optional bandwidth.

    Every public function that takes ``kernel=`` also takes ``bandwidth=`` and
    resolves the pair here: ``as_kernel("gaussian", 1.0)`` is ``Gaussian(1.0)``.

    Parameters
    ----------
    kernel : str or Kernel
        A kernel name ({KERNEL_NAMES}, or an alias {KERNEL_ALIASES}) or an instance.
    bandwidth : float, sequence of float, array, str or BandwidthRule, optional
        The bandwidth of a named radial kernel, anything the kernels accept
        (``1.0``, ``[0.5, 1.0, 2.0]``, ``"median"``, ``"mean"``, a rule of
        :mod:`mmd_any.bandwidths`, an array). None (default): the kernel's
        default, the median rule.

    Returns
    -------
    Kernel

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones), a ``bandwidth``
        with a kernel that has none ({OTHER_KERNELS}), a ``bandwidth``
        with a Kernel instance (give it to the kernel instead: ``Gaussian(1.0)``),
        and the kernels' own errors for the bandwidth (non-positive values, ...).
    TypeError
        For anything that is neither a name nor a :class:`Kernel`, and a
        bandwidth of an unsupported type.

    Examples
    --------
    >>> from mmd_any.kernels import as_kernel
    >>> as_kernel("rbf", bandwidth=[0.5, 1.0]) == Gaussian([0.5, 1.0])
    True
    """
    if isinstance(kernel, Kernel):
        if bandwidth is not None:
            if not has_bandwidth(kernel):
                raise ValueError(
                    f"{kernel!r} has no bandwidth; pass `bandwidth` only with a "
                    "radial kernel's name"
                )
            raise ValueError(
                f"`bandwidth` goes with a kernel name, but {kernel!r} is a Kernel with its own "
                f"bandwidth: give the bandwidth to the kernel, e.g. "
                f"{type(kernel).__name__}(1.0), or pass kernel={kernel.name!r}"
            )
        return kernel
    if isinstance(kernel, str):
        key = ALIASES.get(kernel, kernel)
        if key not in KERNELS:
            raise ValueError(
                f"unknown `kernel` {kernel!r}; valid names are {sorted(KERNELS)} "
                f"(aliases {sorted(ALIASES)})"
            )
        cls = KERNELS[key]
        if bandwidth is None:
            return cls()
        if not has_bandwidth(cls):
            with_one = sorted(name for name in KERNELS if has_bandwidth(name))
            raise ValueError(
                f"the {key!r} kernel has no bandwidth; `bandwidth` goes with one of {with_one}"
            )
        return cls(bandwidth)
    raise TypeError(
        "`kernel` must be a kernel name or a mmd_any.kernels.Kernel, "
        f"got {type(kernel).__qualname__}"
    )


fill(KERNEL_TABLE=kernel_table())(sys.modules[__name__])
