"""``dense``: the fully connected op y = x @ kernel + bias on the last axis."""

from __future__ import annotations

from ..autograd import Function
from ._checks import float_input, optional_float_input
from .kernels.dense import dense_backward, dense_forward


class DenseFunction(Function):
    """One Function for x @ W + b; the backward is hand written (one BLAS product each way)."""

    @staticmethod
    def forward(ctx, x, w, b):
        y, ctx.cache = dense_forward(x, w, b)
        return y

    @staticmethod
    def backward(ctx, dy):
        return dense_backward(dy, ctx.cache, ctx.needs_input_grad)


def dense(x, kernel, bias=None):
    """Fully connected: x (..., I), kernel (I, U), bias (U,) or None -> (..., U)."""
    op = "dense"
    x = float_input(x, "x", op)
    kernel = float_input(kernel, "kernel", op)
    bias = optional_float_input(bias, "bias", op)
    if x.ndim < 1:
        raise ValueError(f"{op}: x must have shape (..., I) with at least one axis, got a scalar")
    if kernel.ndim != 2:
        raise ValueError(f"{op}: kernel must have shape (I, U), got shape {tuple(kernel.shape)}")
    if kernel.shape[0] != x.shape[-1]:
        raise ValueError(
            f"{op}: kernel {tuple(kernel.shape)} expects {kernel.shape[0]} input features but "
            f"x {tuple(x.shape)} has {x.shape[-1]} on its last axis"
        )
    if bias is not None and tuple(bias.shape) != (kernel.shape[1],):
        raise ValueError(f"{op}: bias must have shape ({kernel.shape[1]},) for kernel "
                         f"{tuple(kernel.shape)}, got {tuple(bias.shape)}")
    return DenseFunction.apply(x, kernel, bias)
