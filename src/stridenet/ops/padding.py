"""Zero padding of the spatial axes as a differentiable op (ZeroPadding1D/2D)."""

from __future__ import annotations

from ..autograd import Function
from ._checks import check_rank, float_input
from .kernels.geometry import resolve_padding
from .kernels.windows import pad_nhwc


class Pad2DFunction(Function):
    @staticmethod
    def forward(ctx, x, pads, value):
        ctx.pads, ctx.hw = pads, x.shape[1:3]
        return pad_nhwc(x, pads, value)

    @staticmethod
    def backward(ctx, dy):
        (pt, _), (pl, _) = ctx.pads
        h, w = ctx.hw
        return dy[:, pt:pt + h, pl:pl + w, :]  # the gradient of a copy is the same slice


def pad2d(x, padding, value=0.0):
    """x: (N, H, W, C) -> (N, H + top + bottom, W + left + right, C), new cells = value.

    ``padding``: an int, (ph, pw) or ((top, bottom), (left, right)).
    """
    x = float_input(x, "x", "pad2d")
    check_rank(x, 4, "x", "pad2d", "(N, H, W, C)")
    pads = resolve_padding(padding, x.shape[1:3], (1, 1), (1, 1), (1, 1))
    return Pad2DFunction.apply(x, pads=pads, value=value)


def pad1d(x, padding, value=0.0):
    """x: (N, L, C) -> (N, L + left + right, C). ``padding``: an int or (left, right)."""
    x = float_input(x, "x", "pad1d")
    check_rank(x, 3, "x", "pad1d", "(N, L, C)")
    (pads,) = resolve_padding(padding, x.shape[1:2], (1,), (1,), (1,))
    x4 = x.reshape(x.shape[0], 1, x.shape[1], x.shape[2])  # (N, 1, L, C)
    y = Pad2DFunction.apply(x4, pads=((0, 0), pads), value=value)
    return y.reshape(y.shape[0], y.shape[2], y.shape[3])  # (N, L', C)
