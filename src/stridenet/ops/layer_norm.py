"""``layer_norm``: layer normalisation (Ba et al. 2016) as one Function with a hand-written
backward (kernels in ``kernels/layernorm.py``); composed from autograd pieces it would keep
about eight intermediate arrays on the tape instead of two."""

from __future__ import annotations

import numbers

from ..autograd import Function
from ._checks import finite_number, float_input, optional_float_input
from .kernels.layernorm import layernorm_backward, layernorm_forward


class LayerNormFunction(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, statistics per sample over ``axes``."""

    @staticmethod
    def forward(ctx, x, gamma, beta, axes, epsilon):
        y, ctx.cache = layernorm_forward(x, gamma, beta, axes, epsilon)
        return y

    @staticmethod
    def backward(ctx, dy):
        return layernorm_backward(dy, ctx.cache, ctx.needs_input_grad)


def _axes(axis, ndim, op):
    axes = [axis] if isinstance(axis, numbers.Integral) else axis
    if not isinstance(axes, list | tuple) or not axes or not all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axes):
        raise TypeError(f"{op}: axis must be an int or a list of ints, got {axis!r}")
    if any(not -ndim <= a < ndim for a in axes) or ndim < 1:
        raise ValueError(f"{op}: axis {axis} is out of range for x with {ndim} axes")
    out = tuple(sorted({int(a) % ndim for a in axes}))
    if len(out) != len(axes):
        raise ValueError(f"{op}: axis {axis} names an axis twice")
    return out


def layer_norm(x, gamma=None, beta=None, axis=-1, epsilon=1e-3):
    """Normalise each sample over ``axis`` (an int or a list of ints), then scale and shift.

    x: (N, ...) -> same shape. gamma, beta: None or the sizes of x along ``axis``, in axis
    order (e.g. (C,) for axis=-1; (H, W, C) for axis=[1, 2, 3] of (N, H, W, C)).
    """
    op = "layer_norm"
    x = float_input(x, "x", op)
    axes = _axes(axis, x.ndim, op)
    epsilon = finite_number(epsilon, "epsilon", op, lo=0.0, lo_open=True)
    feature_shape = tuple(x.shape[a] for a in axes)
    bshape = tuple(x.shape[a] if a in axes else 1 for a in range(x.ndim))  # broadcastable
    params = []
    for name, p in (("gamma", gamma), ("beta", beta)):
        p = optional_float_input(p, name, op)
        if p is not None and tuple(p.shape) != feature_shape:
            raise ValueError(f"{op}: {name} must have shape {feature_shape} (x {tuple(x.shape)}"
                             f" along axes {axes}), got {tuple(p.shape)}")
        params.append(p)
    # (1.., C..): the reshape is differentiable, so gamma/beta get gradients in their shape
    gamma, beta = (None if p is None else p.reshape(bshape) for p in params)
    return LayerNormFunction.apply(x, gamma, beta, axes=axes, epsilon=epsilon)


__all__ = ["LayerNormFunction", "layer_norm"]
