"""MMD of data that arrives in chunks: a mergeable accumulator.

``StreamingMMD`` keeps O(D) state (``estimator="rff"``: feature sums) or O(d)
state (``estimator="linear"``: the running sum of the linear-time statistic
and one carried row per sample), so a DataLoader or a directory of files can
be consumed one chunk at a time, and partial results computed by different
workers combine with :meth:`StreamingMMD.merge` (in place, like
:meth:`StreamingMMD.update`) or :meth:`StreamingMMD.merged` (a new accumulator).

Kernel parameters and random features are fixed at the first :meth:`update`:
a data-driven bandwidth (the default median) is computed from that first pair
of chunks. Accumulators that will be merged must share them: either give a
fixed bandwidth (and, for ``"rff"``, the same ``seed``), or create the workers'
accumulators with :meth:`StreamingMMD.fork` after the first update.

``StreamingMMD(estimator=name)`` constructs the accumulator class registered
under ``name`` in ``_STREAMING_ESTIMATORS`` (a private subclass of
``StreamingMMD`` per estimator); the base class holds what they share: argument
checks, the checks of every chunk, merging, forking and copying.
"""

from __future__ import annotations

import abc
import itertools
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from array_api_compat import device

from . import _distances
from ._checks import check_choice, check_count, check_seed, reproducible_seed
from ._compat import as_0d, branches_cheaply, full_precision, is_host
from ._scaling import resolve_parameters
from ._summation import CompensatedSum
from ._typing import Array
from ._validation import prepare_samples
from .approximate import FourierFeatures, draw_features, features_for, mmd2_from_sums
from .bandwidths import Fixed, Sigmas
from .kernels import Kernel, as_kernel

__all__ = ["StreamingMMD"]


_fresh_ids = itertools.count()


@dataclass
class _Setup:
    """What the first update fixes: namespace, dtype, kernel parameters, features."""

    xp: Any
    dtype: Any
    dim: int
    params: Any
    features: FourierFeatures | None
    key: Any = field(default_factory=lambda: next(_fresh_ids))
    #: linear: the power of two the chunks are divided by and the shift subtracted
    #: after it (:mod:`mmd_any._scaling`), fixed by the first update
    scale: Any = None
    shift: Any = None
    #: the first chunks' array type and device: later chunks and merged
    #: accumulators must match them
    array_type: str = ""
    device: Any = None


def bandwidth_scale(params: list[Sigmas]) -> float:
    """The power of two of the largest fixed bandwidth (a Python float)."""
    largest = max(group.base for group in params)
    return 2.0 ** math.floor(math.log2(largest))


def _type_name(array: Array) -> str:
    return f"{type(array).__module__}.{type(array).__qualname__}"


def _different_devices(first: Any, second: Any) -> bool:
    """Both known (traced JAX values have no device) and not equal."""
    return first is not None and second is not None and first != second


def _fixed_bandwidth(kernel: Kernel) -> bool:
    rule = getattr(kernel, "rule", None)
    return rule is None or (isinstance(rule, Fixed) and isinstance(rule.values, tuple))


class StreamingMMD(abc.ABC):
    """Accumulate an MMD² estimate over chunks of the two samples.

    Parameters
    ----------
    kernel : str or Kernel
        As for :func:`mmd_any.mmd2` (``"rff"`` needs a Gaussian or Laplacian).
    estimator : {"rff", "linear"}
        ``"rff"``: the random-feature estimate of the biased MMD²
        (:func:`mmd_any.mmd2_rff`): the value after any sequence of updates
        equals ``mmd2_rff`` on all the data with the same features, and chunk
        sizes are free. ``"linear"``: the linear-time unbiased estimator
        (Gretton et al. 2012) over consecutive pairs of rows; each update needs
        as many ``x`` rows as ``y`` rows, and an odd row is carried to the next
        update.
    bandwidth : float, sequence of float, array, str or BandwidthRule, optional
        The bandwidth of a named kernel, as for :func:`mmd_any.mmd2`:
        ``kernel="gaussian", bandwidth=1.0`` is ``kernel=Gaussian(1.0)``. A
        fixed bandwidth (and, for ``"rff"``, the same ``seed``) makes separately
        created accumulators mergeable. None: the median of the first chunks.
    n_features : int
        ``D`` for ``"rff"``.
    seed : int, optional
        Seed of the random features (``"rff"``).
    check_finite : bool
        Raise ``ValueError`` on NaN/inf in a chunk (one host read per update).

    Raises
    ------
    TypeError
        A non-string ``estimator``, a ``kernel`` that is neither a name nor a
        Kernel, a non-integer ``n_features`` (bools and floats, even ``2.0``,
        are refused), a ``seed`` that is not None, a non-negative integer, a
        SeedSequence or a Generator.
    ValueError
        An unknown ``estimator``, ``n_features`` < 2, a negative ``seed``, and
        a ``bandwidth`` that :func:`mmd_any.kernels.as_kernel` refuses (with a
        Kernel instance or a kernel without bandwidth, a non-positive value).

    Notes
    -----
    The running sums (feature sums, ``Σh``) are kept in float64 where the
    device has it. On a device without float64 (MPS, JAX without x64) they are
    float32 sums carried with their rounding errors
    (:class:`mmd_any._summation.CompensatedSum`): over ``T`` chunks or blocks
    the accumulation adds at most ``u·|S| + γ²_{T−1}·Σ|partial sums|``
    (``u = 2⁻²⁴``; below ``2u·Σ|partial sums|`` up to 4096 partials), so the
    error does not grow with the number of updates or merges.

    Examples
    --------
    >>> import numpy as np
    >>> from mmd_any import StreamingMMD
    >>> rng = np.random.default_rng(0)
    >>> acc = StreamingMMD(kernel="gaussian", estimator="rff", seed=0)
    >>> for _ in range(4):
    ...     acc = acc.update(rng.normal(size=(500, 3)), rng.normal(0.5, size=(500, 3)))
    >>> bool(acc.value() > 0.05), acc.n_x
    (True, 2000)

    Workers' accumulators with a fixed bandwidth and one seed merge; ``merge``
    adds into the accumulator it is called on, ``merged`` returns a new one:

    >>> worker = StreamingMMD(kernel="gaussian", bandwidth=1.0, seed=0)
    >>> other = StreamingMMD(kernel="gaussian", bandwidth=1.0, seed=0)
    >>> _ = worker.update(rng.normal(size=(100, 3)), rng.normal(size=(100, 3)))
    >>> _ = other.update(rng.normal(size=(50, 3)), rng.normal(size=(50, 3)))
    >>> both = worker.merged(other)  # worker and other unchanged
    >>> worker.n_x, both.n_x
    (100, 150)
    >>> worker.merge(other) is worker  # in place
    True
    >>> worker.n_x
    150
    """

    #: the name of this accumulator's estimator: its key in ``_STREAMING_ESTIMATORS``
    estimator: ClassVar[str]

    def __new__(
        cls,
        kernel: str | Kernel = "gaussian",
        estimator: str = "rff",
        *,
        bandwidth: Any = None,
        n_features: int = 1024,
        seed: int | None = None,
        check_finite: bool = True,
    ) -> StreamingMMD:
        # the one constructor: StreamingMMD(estimator=name) builds the class registered
        # under name; a subclass (fork, copy, pickle) builds itself
        if cls is StreamingMMD:
            cls = _STREAMING_ESTIMATORS[check_choice(estimator, "estimator", _STREAMING_ESTIMATORS)]
        return super().__new__(cls)

    def __init__(
        self,
        kernel: str | Kernel = "gaussian",
        estimator: str = "rff",
        *,
        bandwidth: Any = None,
        n_features: int = 1024,
        seed: int | None = None,
        check_finite: bool = True,
    ) -> None:
        check_choice(estimator, "estimator", _STREAMING_ESTIMATORS)
        if not isinstance(self, _STREAMING_ESTIMATORS[estimator]):
            raise ValueError(
                f"{type(self).__qualname__} is the {self.estimator!r} accumulator, got "
                f"`estimator` {estimator!r}; construct accumulators with StreamingMMD"
            )
        self.kernel = as_kernel(kernel, bandwidth)
        self.n_features = check_count(n_features, "n_features", 2)
        self.seed = check_seed(seed)
        self.check_finite = check_finite
        self.n_x = 0
        self.n_y = 0
        self._setup: _Setup | None = None
        #: the running sums (CompensatedSum), as each subclass defines them
        self._sums: list[CompensatedSum] | None = None

    # -- construction helpers -------------------------------------------------------

    def fork(self) -> StreamingMMD:
        """An empty accumulator with the same kernel parameters and features.

        Call it after the first update to hand identical accumulators to
        workers whose results will be merged.
        """
        twin = type(self)(
            self.kernel,
            self.estimator,
            n_features=self.n_features,
            seed=self.seed,
            check_finite=self.check_finite,
        )
        twin._setup = self._setup
        return twin

    @abc.abstractmethod
    def _initialise(self, xp: Any, x: Array, y: Array) -> _Setup:
        """Fix the kernel parameters (and features) from the first chunks."""

    @abc.abstractmethod
    def _reproducible(self) -> bool:
        """Whether a fixed kernel gives equal parameters and features to every
        accumulator built with the same arguments."""

    def _key(self) -> Any:
        """Equal for accumulators whose parameters and features are equal by construction."""
        if _fixed_bandwidth(self.kernel) and self._reproducible():
            return (repr(self.kernel), self.estimator, self.n_features, self.seed)
        return next(_fresh_ids)

    # -- accumulation ------------------------------------------------------------------

    def update(self, x_chunk: Array, y_chunk: Array) -> StreamingMMD:
        """Add a chunk of each sample; returns ``self`` for chaining.

        Raises
        ------
        ValueError
            Bad chunks (as :func:`mmd_any.mmd2`), a chunk whose number of
            features differs from the first one, a chunk on another device
            than the first one, or (linear) chunks of different lengths. A
            chunk of another floating dtype is cast to the first chunk's.
        TypeError
            Chunks from another array library than the first ones, and the
            type errors of :func:`mmd_any.mmd2`.
        """
        samples = prepare_samples(x_chunk, y_chunk, check_finite=self.check_finite)
        xp, x, y = samples.xp, samples.x, samples.y
        with full_precision(xp, samples.device):
            self._update(xp, x, y)
        return self

    def _update(self, xp: Any, x: Array, y: Array) -> None:
        if self._setup is None:
            self._setup = self._initialise(xp, x, y)
            self._setup.array_type = _type_name(x)
            self._setup.device = device(x)
        setup = self._setup
        if xp is not setup.xp:
            raise TypeError(
                f"`x_chunk` and `y_chunk` are {_type_name(x)} but this accumulator's first "
                f"chunks were {setup.array_type}; feed every update from one array library"
            )
        if _different_devices(device(x), setup.device):
            raise ValueError(
                f"`x_chunk` and `y_chunk` are on device {device(x)!r} but this accumulator's "
                f"first chunks were on {setup.device!r}; move them to one device"
            )
        if x.shape[1] != setup.dim:
            raise ValueError(
                f"chunks must keep {setup.dim} features, got {x.shape[1]} in this update"
            )
        if x.dtype != setup.dtype:
            x, y = xp.astype(x, setup.dtype), xp.astype(y, setup.dtype)
        self._add(xp, x, y)

    @abc.abstractmethod
    def _add(self, xp: Any, x: Array, y: Array) -> None:
        """Add checked chunks (the first chunks' library, device, features and dtype)."""

    # -- results -----------------------------------------------------------------------

    def value(self) -> Array:
        """The current estimate, a 0-d array in the chunks' namespace and dtype.

        Raises
        ------
        ValueError
            Before any update (or, linear, before the first complete pair).
        """
        if self._sums is None:
            raise ValueError("StreamingMMD.value() needs at least one update with data")
        xp = self._setup.xp
        return as_0d(xp, xp.astype(self._value(xp), self._setup.dtype))

    @abc.abstractmethod
    def _value(self, xp: Any) -> Array:
        """The estimate from the running sums (there is at least one)."""

    def merge(self, other: StreamingMMD) -> StreamingMMD:
        """Add the data of ``other`` to this accumulator, in place; returns ``self``.

        Like :meth:`update`, this changes the accumulator it is called on, and
        returns it for chaining; ``other`` is left unchanged. For a new
        accumulator that leaves both operands unchanged use :meth:`merged`.

        For ``"rff"`` the result equals one accumulator fed all the chunks (up
        to the rounding of the running sums). For ``"linear"``, whose pairs
        are consecutive rows, the same holds when every update had an even
        number of rows; otherwise the two carried rows form one more pair.
        An empty accumulator takes over the parameters, features and data of
        ``other``; merging an empty ``other`` changes nothing.

        Raises
        ------
        TypeError
            If ``other`` is not a StreamingMMD, or holds arrays of another
            library.
        ValueError
            If ``other`` is this accumulator itself, if the accumulators differ
            in estimator, kernel, number of features per row or device, or do
            not share their kernel parameters and random features (use a fixed
            bandwidth and seed, or :meth:`fork`). Nothing is changed then.
        """
        if not isinstance(other, StreamingMMD):
            raise TypeError(f"can only merge a StreamingMMD, got {type(other).__qualname__}")
        if other is self:
            raise ValueError("cannot merge an accumulator with itself (its data would count twice)")
        self._check_estimator(other)
        if other._setup is None:
            return self
        if self._setup is None:
            if repr(other.kernel) != repr(self.kernel):
                raise ValueError(
                    f"cannot merge: `other` uses the kernel {other.kernel!r} but this "
                    f"accumulator {self.kernel!r}"
                )
            self._take(other)
            return self
        self._check_mergeable(other)
        if self._setup.key != other._setup.key:
            raise ValueError(
                "these accumulators use different kernel parameters or random features: "
                "give a fixed bandwidth and seed, or create the workers' accumulators with "
                "fork() after the first update"
            )
        data = self._merged_data(self._setup.xp, other)
        # everything computed: only now is this accumulator changed
        self._load(data)
        return self

    def merged(self, other: StreamingMMD) -> StreamingMMD:
        """A new accumulator holding the data of both; ``self`` and ``other`` are
        left unchanged (the functional form of :meth:`merge`).

        ``a.merged(b)`` is ``StreamingMMD.merged(a, b)``; it raises as :meth:`merge`.
        """
        if not isinstance(other, StreamingMMD):
            raise TypeError(f"can only merge a StreamingMMD, got {type(other).__qualname__}")
        if other is self:
            raise ValueError("cannot merge an accumulator with itself (its data would count twice)")
        return self._copy().merge(other)

    def _check_estimator(self, other: StreamingMMD) -> None:
        if other.estimator != self.estimator:
            raise ValueError(
                f"cannot merge: `other` uses estimator {other.estimator!r} but this "
                f"accumulator uses {self.estimator!r}"
            )

    def _check_mergeable(self, other: StreamingMMD) -> None:
        """Refuse to merge accumulators whose sums do not describe the same features."""
        mine, theirs = self._setup, other._setup
        self._check_estimator(other)
        if theirs.xp is not mine.xp:
            raise TypeError(
                f"cannot merge: `other` holds {theirs.array_type} arrays but this accumulator "
                f"holds {mine.array_type}"
            )
        if theirs.dim != mine.dim:
            raise ValueError(
                f"cannot merge: `other` was fed rows of {theirs.dim} features but this "
                f"accumulator rows of {mine.dim}"
            )
        if _different_devices(theirs.device, mine.device):
            raise ValueError(
                f"cannot merge: `other` is on device {theirs.device!r} but this accumulator "
                f"is on {mine.device!r}"
            )

    # -- the accumulated data, as attribute name -> value -----------------------------

    def _data(self) -> dict[str, Any]:
        """What the updates have accumulated (a copy that shares no list with ``self``)."""
        sums = None if self._sums is None else list(self._sums)
        return {"n_x": self.n_x, "n_y": self.n_y, "_sums": sums}

    def _merged_data(self, xp: Any, other: StreamingMMD) -> dict[str, Any]:
        """The data of both accumulators (same estimator, parameters and features),
        computed without changing either."""
        sums = self._sums
        if other._sums is not None:
            sums = (
                list(other._sums)
                if sums is None
                else [a.plus(xp, b) for a, b in zip(sums, other._sums, strict=True)]
            )
        return {"n_x": self.n_x + other.n_x, "n_y": self.n_y + other.n_y, "_sums": sums}

    def _load(self, data: dict[str, Any]) -> None:
        for name, value in data.items():
            setattr(self, name, value)

    def _copy(self) -> StreamingMMD:
        twin = self.fork()
        twin._load(self._data())
        return twin

    def _take(self, other: StreamingMMD) -> None:
        """Become a copy of ``other`` (an empty accumulator merging a fed one): its
        parameters and features (shared, as :meth:`fork` shares them) and its data."""
        self.n_features, self.seed = other.n_features, other.seed
        self._setup = other._setup
        self._load(other._data())

    def __repr__(self) -> str:
        return (
            f"StreamingMMD(kernel={self.kernel!r}, estimator={self.estimator!r}, "
            f"n_x={self.n_x}, n_y={self.n_y})"
        )


class _RandomFeatureStream(StreamingMMD):
    """``StreamingMMD(estimator="rff")``: the sums of the random Fourier features of
    each sample (``_sums`` is ``[Σφ(x), Σφ(y)]``, unweighted); chunk sizes are free."""

    def _initialise(self, xp: Any, x: Array, y: Array) -> _Setup:
        pooled = xp.concat([x, y], axis=0)
        sizes = [x.shape[0], y.shape[0]]
        if _fixed_bandwidth(self.kernel):
            # no data-dependent shift or scale: accumulators with the same fixed
            # kernel and seed draw the same features and merge without fork(); the
            # bandwidths' own power of two keeps the frequencies in range
            _, fixed, _ = resolve_parameters(xp, self.kernel, pooled, sizes, scale=1.0)
            scale = bandwidth_scale(fixed)
            _, params, _ = resolve_parameters(xp, self.kernel, pooled, sizes, scale=scale)
            features = draw_features(
                xp, self.kernel, params, self.n_features, self.seed, pooled, None, scale
            )
        else:
            features = features_for(xp, self.kernel, pooled, sizes, self.n_features, self.seed)
        return _Setup(xp, x.dtype, x.shape[1], None, features, self._key())

    def _reproducible(self) -> bool:
        return reproducible_seed(self.seed)

    def _add(self, xp: Any, x: Array, y: Array) -> None:
        features = self._setup.features
        parts = [features.feature_totals(xp, x), features.feature_totals(xp, y)]
        if (
            self.check_finite
            and branches_cheaply(xp, device(x))
            and not all(bool(xp.all(xp.isfinite(part.hi))) for part in parts)
        ):
            raise ValueError(
                f"the random features of {self.kernel!r} overflow on these chunks: the phases "
                "ω·x leave the float range (a fixed `bandwidth` far below the data's spacing); "
                "use a larger `bandwidth` or the exact estimator"
            )
        self._sums = (
            parts
            if self._sums is None
            else [a.plus(xp, b) for a, b in zip(self._sums, parts, strict=True)]
        )
        self.n_x += x.shape[0]
        self.n_y += y.shape[0]

    def _value(self, xp: Any) -> Array:
        sums_x, sums_y = (self._setup.features.weigh(xp, s) for s in self._sums)
        return mmd2_from_sums(xp, sums_x, self.n_x, sums_y, self.n_y)


class _LinearTimeStream(StreamingMMD):
    """``StreamingMMD(estimator="linear")``: the running ``Σh`` of the linear-time
    statistic over consecutive pairs of rows (``_sums`` is ``[Σh]``); an odd row of
    each sample is carried to the next update, or paired with ``other``'s in a merge."""

    #: one odd row of x and of y, waiting for its pair
    _carry: tuple[Array, Array] | None = None
    #: the number of complete pairs summed in ``_sums``
    _pairs: int = 0

    def _initialise(self, xp: Any, x: Array, y: Array) -> _Setup:
        pooled = xp.concat([x, y], axis=0)
        sizes = [x.shape[0], y.shape[0]]
        # the linear-time h is translation invariant: later chunks get the same shift
        points, params, scale = resolve_parameters(xp, self.kernel, pooled, sizes)
        return _Setup(xp, x.dtype, x.shape[1], params, None, self._key(), scale, points.shift)

    def _reproducible(self) -> bool:
        return True  # no random features: a fixed kernel fixes everything

    def _add(self, xp: Any, x: Array, y: Array) -> None:
        if x.shape[0] != y.shape[0]:
            raise ValueError(
                "the 'linear' streaming estimator pairs the samples: each update needs as "
                f"many `x` rows as `y` rows, got {x.shape[0]} and {y.shape[0]}"
            )
        self.n_x += x.shape[0]
        self.n_y += y.shape[0]
        if self._carry is not None:
            x = xp.concat([self._carry[0], x], axis=0)
            y = xp.concat([self._carry[1], y], axis=0)
            self._carry = None
        usable = 2 * (x.shape[0] // 2)
        if usable < x.shape[0]:
            self._carry = (x[usable:, :], y[usable:, :])
        if usable == 0:
            return
        total = self._linear_sum(xp, x[:usable, :], y[:usable, :])
        self._sums = [total] if self._sums is None else [self._sums[0].plus(xp, total)]
        self._pairs += usable // 2

    def _linear_sum(self, xp: Any, x: Array, y: Array) -> CompensatedSum:
        """``Σ_i h_i`` over the consecutive pairs of rows (float64 where available, else
        compensated: :class:`mmd_any._summation.CompensatedSum`)."""
        kernel, setup = self.kernel, self._setup
        if setup.scale is not None:
            x, y = x / setup.scale, y / setup.scale
        if setup.shift is not None:
            x, y = x - setup.shift, y - setup.shift
        prepared = kernel.prepare(xp, setup.params, host=is_host(xp, device(x)), like=x)

        def k(a: Array, b: Array) -> Array:
            return kernel.profile(xp, _distances.paired(xp, kernel.metric, a, b), prepared)

        x1, x2, y1, y2 = x[0::2, :], x[1::2, :], y[0::2, :], y[1::2, :]
        h = k(x1, x2) + k(y1, y2) - k(x1, y2) - k(x2, y1)
        total = CompensatedSum.of(xp, xp.reshape(h, (-1,)), device(h))  # (1, pairs) for a ladder
        if setup.scale is not None:  # in the data's units, one factor per degree
            for _ in range(kernel.homogeneity or 0):
                total = total.times(xp, setup.scale)
        return total

    def _value(self, xp: Any) -> Array:
        return self._sums[0].value(xp) / self._pairs

    def _data(self) -> dict[str, Any]:
        return {**super()._data(), "_pairs": self._pairs, "_carry": self._carry}

    def _merged_data(self, xp: Any, other: StreamingMMD) -> dict[str, Any]:
        data = super()._merged_data(xp, other)
        sums, pairs, carry = data["_sums"], self._pairs + other._pairs, self._carry
        if other._carry is not None:
            if carry is None:
                carry = other._carry
            else:  # the two carried rows form one more pair
                x = xp.concat([carry[0], other._carry[0]], axis=0)
                y = xp.concat([carry[1], other._carry[1]], axis=0)
                total = self._linear_sum(xp, x, y)
                sums = [total] if sums is None else [sums[0].plus(xp, total)]
                pairs, carry = pairs + 1, None
        return {**data, "_sums": sums, "_pairs": pairs, "_carry": carry}


#: the streaming estimators: the one definition of their names, and of the class that
#: ``StreamingMMD(estimator=name)`` constructs
_STREAMING_ESTIMATORS: dict[str, type[StreamingMMD]] = {
    "linear": _LinearTimeStream,
    "rff": _RandomFeatureStream,
}
for _name, _accumulator in _STREAMING_ESTIMATORS.items():
    _accumulator.estimator = _name
del _name, _accumulator
