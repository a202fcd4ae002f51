"""Zero padding of the spatial axes as a differentiable op (ZeroPadding1D/2D/3D)."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._checks import check_rank, float_input
from .kernels.convnd import interior, pad_into
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


class PadNDFunction(Function):
    """Zero padding of any number of spatial axes: x (N, S..., C)."""

    @staticmethod
    def forward(ctx, x, pads):
        ctx.pads, ctx.sizes = pads, x.shape[1:-1]
        shape = (x.shape[0], *(n + a + b for n, (a, b) in zip(x.shape[1:-1], pads)), x.shape[-1])
        return pad_into(np.empty(shape, x.dtype), x, pads)

    @staticmethod
    def backward(ctx, dy):
        return dy[interior(ctx.pads, ctx.sizes)]  # the gradient of a copy is the same slice


def pad3d(x, padding):
    """x: (N, D, H, W, C) -> (N, D + d0 + d1, H + h0 + h1, W + w0 + w1, C), zeros added.

    ``padding``: an int, three ints (symmetric) or three (before, after) pairs.
    """
    x = float_input(x, "x", "pad3d")
    check_rank(x, 5, "x", "pad3d", "(N, D, H, W, C)")
    try:
        pads = resolve_padding(padding, x.shape[1:4], (1, 1, 1), (1, 1, 1), (1, 1, 1))
    except ValueError as e:
        raise ValueError(f"pad3d: {e} (x shape {tuple(x.shape)})") from None
    return PadNDFunction.apply(x, pads=pads)
