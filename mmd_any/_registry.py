"""What upper layers plug into lower ones, so that dependencies point down.

* **Presets**: :mod:`mmd_any.presets` (which calls the estimators) registers its
  conventions here by name; :func:`mmd_any.mmd2` looks ``preset="kid"`` up here
  and never imports the presets module.
* **Adapters**: an array library with its own execution model (Dask: one task
  per pair of row chunks) registers an :class:`Adapter`; the estimators ask
  :func:`adapter_for` and never import an adapter. ``mmd_any/__init__`` imports
  the adapters, so they are registered whenever the package is.
* **Gradient adapters**: an autodiff library (torch) registers a
  :class:`GradientAdapter` that runs the hand-written gradient of the single-tile
  forms (:mod:`mmd_any._gradient`) through its own autodiff machinery.
"""

from __future__ import annotations

from typing import Any, Protocol

from ._typing import Array

__all__ = [
    "ADAPTERS",
    "GRADIENT_ADAPTERS",
    "PRESETS",
    "Adapter",
    "GradientAdapter",
    "adapter_for",
    "gradient_adapter_for",
    "register_adapter",
    "register_gradient_adapter",
    "resolve_preset",
]


#: Presets by the name ``mmd2(..., preset=NAME)`` accepts (filled by mmd_any.presets).
PRESETS: dict[str, Any] = {}

_PRESET_FIELDS = ("name", "kernel", "estimator", "scale", "offset", "equal_sizes")


def resolve_preset(preset: Any) -> Any:
    """A registered preset by name, or a preset object as given.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones).
    TypeError
        For anything that is neither a name nor a preset.
    """
    if isinstance(preset, str):
        try:
            return PRESETS[preset]
        except KeyError:
            raise ValueError(
                f"unknown `preset` {preset!r}; valid names are {sorted(PRESETS)}"
            ) from None
    if all(hasattr(preset, name) for name in _PRESET_FIELDS):
        return preset
    raise TypeError(f"`preset` must be a preset name or a Preset, got {type(preset).__qualname__}")


class Adapter(Protocol):
    """An array library the engine reaches through its own execution model."""

    def handles(self, array: Array) -> bool:
        """Whether this adapter computes for ``array``."""
        ...

    def quadratic_forms(
        self, xp: Any, kernel: Any, x: Array, y: Array, statistic: Any, block_size: int | None
    ) -> Array:
        """The ``(R,)`` forms of ``statistic``'s weight rows (:mod:`mmd_any._algebra`)."""
        ...


#: Registered adapters, consulted in order.
ADAPTERS: list[Adapter] = []


def register_adapter(adapter: Adapter) -> Adapter:
    """Add ``adapter`` (once) and return it."""
    if adapter not in ADAPTERS:
        ADAPTERS.append(adapter)
    return adapter


def adapter_for(array: Array) -> Adapter | None:
    """The registered adapter that handles ``array``, if any."""
    return next((adapter for adapter in ADAPTERS if adapter.handles(array)), None)


class GradientAdapter(Protocol):
    """An autodiff library that differentiates the single-tile forms by hand."""

    def handles(self, x: Array, y: Array) -> bool:
        """Whether ``x``, ``y`` are this library's arrays and a gradient is being recorded."""
        ...

    def forms(
        self, gram: Any, weights_t: Array, statistic: Any, x: Array, y: Array
    ) -> Array | None:
        """The ``(P,)`` single-tile forms of ``statistic``'s weight rows
        (``weights_t`` on the device), differentiable in ``x`` and ``y`` through
        :mod:`mmd_any._gradient`; None where that does not apply (the engine's
        generic path then records the gradient)."""
        ...


#: Registered gradient adapters, consulted in order.
GRADIENT_ADAPTERS: list[GradientAdapter] = []


def register_gradient_adapter(adapter: GradientAdapter) -> GradientAdapter:
    """Add ``adapter`` (once) and return it."""
    if adapter not in GRADIENT_ADAPTERS:
        GRADIENT_ADAPTERS.append(adapter)
    return adapter


def gradient_adapter_for(x: Array, y: Array) -> GradientAdapter | None:
    """The registered gradient adapter that handles ``x`` and ``y``, if any."""
    return next((a for a in GRADIENT_ADAPTERS if a.handles(x, y)), None)
