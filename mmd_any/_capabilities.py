"""What each public entry point supports on each backend, declared once.

Pure data: nothing here imports an array library. A :class:`Capability` is what
one entry point does on one backend; it is the entry point's own features
(:class:`EntryPoint`) met with what the backend can do (:class:`BackendTraits`),
so a new backend is one row of :data:`BACKEND_TRAITS` and a new entry point one row
of :data:`ENTRY_POINTS`. The test suite's skips (``tests/conftest.require``), the
test that every claim here is true (``tests/test_capabilities.py``) and the docs'
table (``.. registry-table:: capabilities``, :func:`capability_table`) all read
:data:`CAPABILITIES`; SciPy's ``xp_capabilities`` is the model.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BACKEND_TRAITS",
    "CAPABILITIES",
    "ENTRY_POINTS",
    "FEATURES",
    "BackendTraits",
    "Capability",
    "EntryPoint",
    "capability",
    "capability_table",
]

#: The features a capability declares, with what each promises.
FEATURES: dict[str, str] = {
    "lazy": "returns a lazy result: nothing is computed until the caller asks (Dask)",
    "jit": "traceable by ``jax.jit``: no host reads, no value-dependent branches",
    "differentiable": "gradients reach ``x`` and ``y`` (torch autograd, ``jax.grad``)",
    "no_host_sync": (
        "reads nothing back from the device with ``check_finite=False`` "
        "(runs on torch's ``meta`` device)"
    ),
}


@dataclass(frozen=True)
class BackendTraits:
    """What an array library (on a device) can do for any entry point."""

    library: str
    devices: str
    dtypes: tuple[str, ...]
    lazy: bool = False
    jit: bool = False
    differentiable: bool = False
    #: eager arrays on a device whose values the host must wait for
    device_arrays: bool = False
    #: why a feature this backend lacks is missing, by feature
    lacks: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class EntryPoint:
    """The features of one public function or class, where the backend has them."""

    name: str
    lazy: bool = True
    jit: bool = True
    differentiable: bool = True
    no_host_sync: bool = True
    #: input dtypes whose result has the same dtype; ``None``: every backend's own
    dtypes: tuple[str, ...] | None = None
    #: backends it runs on; ``None``: all
    backends: tuple[str, ...] | None = None
    #: why a feature it lacks is missing, by feature
    lacks: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Capability:
    """What one entry point does on one backend."""

    entry: str
    backend: str
    supported: bool
    lazy: bool
    jit: bool
    differentiable: bool
    no_host_sync: bool
    dtypes: tuple[str, ...]
    devices: str
    #: why each missing feature is missing (``"supported"`` when it does not run)
    reasons: tuple[tuple[str, str], ...]

    def has(self, feature: str) -> bool:
        """Whether the capability has ``feature`` (one of :data:`FEATURES`)."""
        if feature not in FEATURES:
            raise ValueError(f"`feature` must be one of {sorted(FEATURES)}, got {feature!r}")
        return self.supported and bool(getattr(self, feature))

    def reason(self, missing: str) -> str:
        """Why ``missing`` (a feature, a dtype or ``"supported"``) is missing: the
        declared reason, else a generic one; empty when it is not missing."""
        declared = dict(self.reasons)
        if not self.supported:
            return declared.get("supported", f"{self.entry} does not run on {self.backend}")
        if missing in FEATURES and not self.has(missing):
            return declared.get(missing, f"{self.entry} on {self.backend} is not {missing}")
        if missing not in FEATURES and missing != "supported" and missing not in self.dtypes:
            return declared.get(missing, f"{self.entry} on {self.backend} keeps no {missing}")
        return ""


_HALF_TO_DOUBLE = ("float16", "float32", "float64")


def _torch_traits(devices: str) -> BackendTraits:
    return BackendTraits(
        "PyTorch",
        devices,
        ("float16", "bfloat16", *_HALF_TO_DOUBLE[1:]),
        differentiable=True,
        device_arrays=True,
    )


#: Each backend the package is tested on, by the name the tests use.
BACKEND_TRAITS: dict[str, BackendTraits] = {
    "numpy": BackendTraits(
        "NumPy", "CPU", _HALF_TO_DOUBLE, lacks=(("differentiable", "NumPy has no autodiff"),)
    ),
    "array_api_strict": BackendTraits(
        "array-api-strict",
        "CPU_DEVICE, device1, device2",
        ("float32", "float64"),
        lacks=(("differentiable", "the standard has no autodiff"),),
    ),
    "torch": _torch_traits("cpu (and meta: shapes only)"),
    "torch-cuda": _torch_traits("cuda"),
    "cupy": BackendTraits(
        "CuPy",
        "cuda",
        _HALF_TO_DOUBLE,
        device_arrays=True,
        lacks=(("differentiable", "CuPy has no autodiff"),),
    ),
    "jax": BackendTraits(
        "JAX",
        "every JAX device",
        ("float32", "float64"),
        jit=True,
        differentiable=True,
        device_arrays=True,
    ),
    "dask": BackendTraits(
        "Dask",
        "the scheduler's workers (NumPy chunks)",
        ("float32", "float64"),
        lazy=True,
        lacks=(("differentiable", "Dask has no autodiff"),),
    ),
}

_TEST_LACKS = (
    ("lazy", "computes its graph once, for the p-value it returns as a Python number"),
    ("jit", "returns a Python p-value and decision: read on the host"),
    ("differentiable", "a p-value is a count; only its statistic has a gradient"),
    ("no_host_sync", "reads the p-value on the host, once, at the end"),
)

#: Every public entry point that computes, by its public name.
ENTRY_POINTS: dict[str, EntryPoint] = {
    entry.name: entry
    for entry in (
        EntryPoint("mmd2"),
        EntryPoint("mmd"),
        EntryPoint("kernel_matrix"),
        EntryPoint("kid"),
        EntryPoint("mmd2_rff"),
        EntryPoint(
            "mmd_test",
            lazy=False,
            jit=False,
            differentiable=False,
            no_host_sync=False,
            lacks=_TEST_LACKS,
        ),
        EntryPoint("witness"),
        EntryPoint(
            "explain",
            lazy=False,
            jit=False,
            differentiable=False,
            no_host_sync=False,
            lacks=(
                ("lazy", "computes once, for the p-values that rank the features"),
                ("jit", "ranks the features by p-values read on the host"),
                ("differentiable", "a ranking and p-values; differentiate witness instead"),
                ("no_host_sync", "reads the features' p-values and widths on the host"),
            ),
        ),
        EntryPoint(
            "StreamingMMD",
            dtypes=("float32", "float64"),
            lacks=tuple(
                (half, "half-precision chunks accumulate and return float32")
                for half in ("float16", "bfloat16")
            ),
        ),
        EntryPoint(
            "MMDLoss",
            lazy=False,
            jit=False,
            backends=("torch", "torch-cuda"),
            lacks=(("supported", "a torch.nn.Module: on other libraries call mmd2"),),
        ),
    )
}


def _meet(entry: EntryPoint, backend: str, traits: BackendTraits) -> Capability:
    supported = entry.backends is None or backend in entry.backends
    features = {
        "lazy": entry.lazy and traits.lazy,
        "jit": entry.jit and traits.jit,
        "differentiable": entry.differentiable and traits.differentiable,
        # on host and lazy backends there is no device to wait for
        "no_host_sync": entry.no_host_sync and traits.device_arrays,
    }
    dtypes = tuple(d for d in traits.dtypes if entry.dtypes is None or d in entry.dtypes)
    # the entry point's own reason first: it holds on every backend
    known = {**dict(traits.lacks), **dict(entry.lacks)}
    granted = {name for name, has in features.items() if has}
    if supported:
        granted.add("supported")
    reasons = [(name, why) for name, why in known.items() if name not in granted]
    return Capability(
        entry=entry.name,
        backend=backend,
        supported=supported,
        dtypes=dtypes if supported else (),
        devices=traits.devices if supported else "",
        reasons=tuple(reasons),
        **{name: supported and has for name, has in features.items()},
    )


#: ``CAPABILITIES[entry][backend]``: every entry point on every backend.
CAPABILITIES: dict[str, dict[str, Capability]] = {
    entry.name: {name: _meet(entry, name, traits) for name, traits in BACKEND_TRAITS.items()}
    for entry in ENTRY_POINTS.values()
}


def capability(entry: str, backend: str) -> Capability:
    """What ``entry`` (a public name) does on ``backend`` (a name of :data:`BACKEND_TRAITS`).

    Examples
    --------
    >>> from mmd_any._capabilities import capability
    >>> capability("mmd2", "dask").lazy
    True
    >>> capability("mmd_test", "jax").jit
    False
    """
    if entry not in CAPABILITIES:
        raise ValueError(f"`entry` must be one of {sorted(CAPABILITIES)}, got {entry!r}")
    if backend not in BACKEND_TRAITS:
        raise ValueError(f"`backend` must be one of {sorted(BACKEND_TRAITS)}, got {backend!r}")
    return CAPABILITIES[entry][backend]


_MARKS = {"lazy": "lazy", "jit": "jit", "differentiable": "grad", "no_host_sync": "no sync"}


def capability_table() -> str:
    """The capabilities as a reStructuredText list table: an entry point per row,
    a backend per column, each cell its features (``lazy``, ``jit``, ``grad``,
    ``no sync``) and the dtypes whose result keeps their dtype."""
    from ._docstrings import list_table

    def cell(cap: Capability) -> str:
        if not cap.supported:
            return "—"
        marks = [mark for feature, mark in _MARKS.items() if cap.has(feature)]
        return " · ".join(["✓", *marks]) + " (" + ", ".join(cap.dtypes) + ")"

    rows = [
        (f"``{entry}``", *(cell(cap) for cap in by_backend.values()))
        for entry, by_backend in CAPABILITIES.items()
    ]
    header = ("entry point", *(f"``{name}``" for name in BACKEND_TRAITS))
    return list_table(header, rows)
