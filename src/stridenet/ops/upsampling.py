"""Upsampling ops (channels last), differentiable: nearest in 1D/2D/3D, bilinear in 2D.

Keras 3's UpSampling layers: nearest repeats each cell ``size`` times per axis
([0, 1, 2] -> [0, 0, 1, 1, 2, 2]); UpSampling2D(interpolation="bilinear") resizes with
half-pixel centres and no antialiasing (``keras.ops.image.resize``), which is what
``kernels/resize.py`` computes.
"""

from __future__ import annotations

from ..autograd import Function
from ._checks import check_rank, float_input
from .kernels.geometry import as_tuple
from .kernels.resize import bilinear_backward, bilinear_forward, nearest_backward, nearest_forward

INTERPOLATIONS = ("nearest", "bilinear")
_KERAS_ONLY = ("bicubic", "lanczos3", "lanczos5")


class NearestUpsampleFunction(Function):
    @staticmethod
    def forward(ctx, x, sizes):
        ctx.shape, ctx.sizes = x.shape, sizes
        return nearest_forward(x, sizes)

    @staticmethod
    def backward(ctx, dy):
        return (nearest_backward(dy, ctx.shape, ctx.sizes),)


class BilinearUpsampleFunction(Function):
    @staticmethod
    def forward(ctx, x, sizes):
        ctx.shape, ctx.sizes = x.shape, sizes
        return bilinear_forward(x, sizes)

    @staticmethod
    def backward(ctx, dy):
        return (bilinear_backward(dy, ctx.shape, ctx.sizes),)


def _prepare(op, x, size, rank, layout):
    x = float_input(x, "x", op)
    check_rank(x, rank + 2, "x", op, layout)
    sizes = as_tuple(size, rank, f"{op}: size")
    return x, sizes


def upsample1d(x, size=2):
    """x: (N, L, C) -> (N, L * size, C), each step repeated ``size`` times."""
    x, sizes = _prepare("upsample1d", x, size, 1, "(N, L, C)")
    return NearestUpsampleFunction.apply(x, sizes=sizes)


def upsample2d(x, size=(2, 2), interpolation="nearest"):
    """x: (N, H, W, C) -> (N, H * size[0], W * size[1], C).

    ``interpolation``: "nearest" (repeat rows and columns) or "bilinear" (half-pixel
    centres, edges clamped: Keras 3's UpSampling2D, tf.image.resize, PyTorch's
    interpolate(mode="bilinear", align_corners=False)).
    """
    x, sizes = _prepare("upsample2d", x, size, 2, "(N, H, W, C)")
    mode = interpolation.lower() if isinstance(interpolation, str) else interpolation
    if mode == "nearest":
        return NearestUpsampleFunction.apply(x, sizes=sizes)
    if mode == "bilinear":
        return BilinearUpsampleFunction.apply(x, sizes=sizes)
    extra = " (Keras also has it, stridenet does not)" if mode in _KERAS_ONLY else ""
    raise ValueError(f"upsample2d: interpolation must be 'nearest' or 'bilinear', got "
                     f"{interpolation!r}{extra}; x has shape {tuple(x.shape)}")


def upsample3d(x, size=(2, 2, 2)):
    """x: (N, D, H, W, C) -> (N, D * size[0], H * size[1], W * size[2], C), nearest."""
    x, sizes = _prepare("upsample3d", x, size, 3, "(N, D, H, W, C)")
    return NearestUpsampleFunction.apply(x, sizes=sizes)


__all__ = ["INTERPOLATIONS", "upsample1d", "upsample2d", "upsample3d"]
