"""Cropping of the spatial axes as a differentiable op (Keras' Cropping1D/2D/3D).

The forward is a slice; the gradient is zero on the cropped cells and dy on the kept ones.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._checks import check_rank, float_input
from .kernels.geometry import resolve_padding


class CropFunction(Function):
    @staticmethod
    def forward(ctx, x, crops):
        ctx.shape, ctx.index = x.shape, _kept(x.shape, crops)
        return np.ascontiguousarray(x[ctx.index])

    @staticmethod
    def backward(ctx, dy):
        dx = np.zeros(ctx.shape, dy.dtype)
        dx[ctx.index] = dy
        return (dx,)


def _kept(shape, crops):
    """Index of the kept cells of (N, S..., C)."""
    return (slice(None), *(slice(a, n - b) for n, (a, b) in zip(shape[1:-1], crops)),
            slice(None))


def _crop(op, x, cropping, rank, layout):
    x = float_input(x, "x", op)
    check_rank(x, rank + 2, "x", op, layout)
    sizes = tuple(x.shape[1:-1])
    try:  # the same forms as padding: an int, one int per axis or (before, after) pairs
        crops = resolve_padding(cropping, sizes, (1,) * rank, (1,) * rank, (1,) * rank)
    except ValueError as e:
        raise ValueError(f"{op}: {str(e).replace('padding', 'cropping')}") from None
    for axis, (n, (a, b)) in enumerate(zip(sizes, crops)):
        if a + b >= n:
            raise ValueError(f"{op}: cropping {cropping!r} removes {a + b} of the {n} cells of "
                             f"spatial axis {axis} (x shape {tuple(x.shape)}); at least one "
                             f"must remain")
    return CropFunction.apply(x, crops=crops)


def crop1d(x, cropping=(1, 1)):
    """x: (N, L, C) -> (N, L - start - end, C). ``cropping``: an int or (start, end)."""
    return _crop("crop1d", x, cropping, 1, "(N, L, C)")


def crop2d(x, cropping=((0, 0), (0, 0))):
    """x: (N, H, W, C) -> (N, H - top - bottom, W - left - right, C).

    ``cropping``: an int, (symmetric_h, symmetric_w) or ((top, bottom), (left, right)).
    """
    return _crop("crop2d", x, cropping, 2, "(N, H, W, C)")


def crop3d(x, cropping=((1, 1), (1, 1), (1, 1))):
    """x: (N, D, H, W, C) -> (N, D', H', W', C), each axis cropped (before, after).

    ``cropping``: an int, three ints (symmetric) or three (before, after) pairs.
    """
    return _crop("crop3d", x, cropping, 3, "(N, D, H, W, C)")


__all__ = ["crop1d", "crop2d", "crop3d"]
