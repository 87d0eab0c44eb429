"""Torch autodiff adapter: the single-tile forms with a hand-written backward.

For the training loss (one tile, a Gaussian-type kernel, a constant bandwidth)
torch's autograd would run backwards through every exp, squaring and sum of the
kernel and the distance matmul. This adapter wraps the engine's forms in a
``torch.autograd.Function`` whose backward is :func:`mmd_any._gradient.points_gradient`
(one product with the saved slopes and one matmul), and forms the gradient of
only the samples that need one. Higher-order gradients (``create_graph=True``)
are taken by differentiating the generic path again, so they stay exact. Under
``torch.compile`` the adapter steps aside: the compiler fuses the generic path.

``import mmd_any`` does not import torch: the adapter looks at an array's type
by name first, and imports torch only for torch tensors (already imported then).
"""

from __future__ import annotations

from typing import Any

from array_api_compat import is_torch_array

from . import _gradient, _gram
from ._plan import Plan
from ._registry import register_gradient_adapter
from ._typing import Array


def _constant(prepared: list[Any]) -> bool:
    """Whether no prepared kernel parameter requires a gradient (a learned bandwidth)."""
    for part in prepared if isinstance(prepared, list) else [prepared]:
        for name in ("coefficient", "coefficients"):
            value = getattr(part, name, None)
            if getattr(value, "requires_grad", False):
                return False
    return True


def _generic_forms(
    gram: _gram.PooledGram, weights_t: Array, exclude: bool, x: Array, y: Array
) -> Array:
    """The forms through the engine's generic (autograd-recorded) single-tile path."""
    again = _gram.PooledGram(gram.xp, gram.kernel, [x, y], params=gram.params, scale=gram.scale)
    plan = Plan(gram.size, gram.size, 1, 0)
    return again.quadratic_forms(weights_t, plan, exclude_diagonal=exclude)


def _function() -> Any:
    import torch

    class SingleTileForms(torch.autograd.Function):
        @staticmethod
        def forward(
            ctx: Any, x: Array, y: Array, gram: Any, weights_t: Array, values: Any, exclude: bool
        ) -> Array:
            forms, slopes = _gradient.forms_and_slopes(gram, weights_t, values, exclude)
            ctx.gram, ctx.exclude, ctx.values = gram, exclude, values
            ctx.save_for_backward(x, y, weights_t, *slopes.tiles)
            return forms

        @staticmethod
        def backward(ctx: Any, grad_forms: Array):
            x, y, weights_t, *tiles = ctx.saved_tensors
            need_x, need_y = ctx.needs_input_grad[:2]
            gram, n = ctx.gram, x.shape[0]
            if torch.is_grad_enabled():  # create_graph=True: exact higher orders
                inputs = [t for t, need in ((x, need_x), (y, need_y)) if need]
                forms = _generic_forms(gram, weights_t, ctx.exclude, x, y)
                grads = iter(torch.autograd.grad(forms, inputs, grad_forms, create_graph=True))
                grad_x = next(grads) if need_x else None
                grad_y = next(grads) if need_y else None
                return grad_x, grad_y, None, None, None, None
            rows = slice(0 if need_x else n, gram.size if need_y else n)
            slopes = _gradient.Slopes(tuple(tiles), ctx.values)
            grad = _gradient.points_gradient(
                gram.xp, gram.points, slopes, weights_t, grad_forms, rows
            )
            if gram.scale is not None:  # the points were divided by it
                grad = grad / gram.scale
            grad_x = grad[: n - rows.start] if need_x else None
            grad_y = grad[n - rows.start :] if need_y else None
            return grad_x, grad_y, None, None, None, None

    return SingleTileForms


class TorchGradient:
    """The :class:`mmd_any._registry.GradientAdapter` of torch."""

    _function: Any = None

    def handles(self, x: Array, y: Array) -> bool:
        if not is_torch_array(x):
            return False
        import torch

        recording = torch.is_grad_enabled() and (x.requires_grad or y.requires_grad)
        return recording and not torch.compiler.is_compiling()

    def forms(
        self, gram: Any, weights_t: Array, statistic: Any, x: Array, y: Array
    ) -> Array | None:
        if not (_gradient.supports(gram) and _constant(gram.prepared)):
            return None
        if TorchGradient._function is None:
            TorchGradient._function = _function()
        values, exclude = statistic.values, statistic.exclude_diagonal
        return TorchGradient._function.apply(x, y, gram, weights_t, values, exclude)


register_gradient_adapter(TorchGradient())
