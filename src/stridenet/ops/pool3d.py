"""3D pooling ops (channels last), differentiable: windowed max/avg and global pooling.

The windowed ops are single Functions around ``kernels/pool3d.py``; global pooling is a
mean / max over D, H and W from autograd primitives, as in 1D and 2D.
"""

from __future__ import annotations

from ..autograd import Function
from ..autograd import max as _max
from ..autograd import mean as _mean
from .kernels.pool3d import (
    avg_pool3d_backward,
    avg_pool3d_forward,
    max_pool3d_backward,
    max_pool3d_forward,
)
from .pool import _flag, _global, _prepare

_LAYOUT = "(N, D, H, W, C)"


class MaxPool3DFunction(Function):
    @staticmethod
    def forward(ctx, x, pool, strides, pads, ceil_mode):
        y, ctx.cache = max_pool3d_forward(x, pool, strides, pads, ceil_mode)
        return y

    @staticmethod
    def backward(ctx, dy):
        return (max_pool3d_backward(dy, ctx.cache),)


class AvgPool3DFunction(Function):
    @staticmethod
    def forward(ctx, x, pool, strides, pads, count_include_pad, ceil_mode):
        y, ctx.cache = avg_pool3d_forward(x, pool, strides, pads, count_include_pad, ceil_mode)
        return y

    @staticmethod
    def backward(ctx, dy):
        return (avg_pool3d_backward(dy, ctx.cache),)


def max_pool3d(x, pool_size, strides=None, padding="valid", ceil_mode=False):
    """3D max pooling. x: (N, D, H, W, C) -> (N, OD, OH, OW, C).

    ``strides`` default to ``pool_size``; ``padding``: "valid", "same" (Keras rule), an int,
    three ints or three (before, after) pairs; padded cells are never selected.
    ``ceil_mode`` rounds the output size up (PyTorch). The gradient of each output goes to
    the first maximum of its window in (d, h, w) order.
    """
    x, pool, strides, pads, ceil_mode = _prepare("max_pool3d", x, pool_size, strides, padding,
                                                 ceil_mode, 3, _LAYOUT)
    return MaxPool3DFunction.apply(x, pool=pool, strides=strides, pads=pads, ceil_mode=ceil_mode)


def avg_pool3d(x, pool_size, strides=None, padding="valid", count_include_pad=False,
               ceil_mode=False):
    """3D average pooling. x: (N, D, H, W, C) -> (N, OD, OH, OW, C).

    Arguments as for ``max_pool3d``. ``count_include_pad=False`` divides each window sum by
    its number of input cells (Keras); True by its cells inside input + explicit padding
    (PyTorch).
    """
    op = "avg_pool3d"
    cip = _flag(count_include_pad, "count_include_pad", op)
    x, pool, strides, pads, ceil_mode = _prepare(op, x, pool_size, strides, padding, ceil_mode,
                                                 3, _LAYOUT)
    return AvgPool3DFunction.apply(x, pool=pool, strides=strides, pads=pads,
                                   count_include_pad=cip, ceil_mode=ceil_mode)


def global_avg_pool3d(x, keepdims=False):
    """Mean over D, H and W. x: (N, D, H, W, C) -> (N, C), or (N, 1, 1, 1, C) with keepdims."""
    x, axes = _global("global_avg_pool3d", x, 3, _LAYOUT)
    return _mean(x, axis=axes, keepdims=bool(keepdims))


def global_max_pool3d(x, keepdims=False):
    """Max over D, H and W. x: (N, D, H, W, C) -> (N, C), or (N, 1, 1, 1, C) with keepdims.

    Tied maxima share the gradient equally (autograd ``max``)."""
    x, axes = _global("global_max_pool3d", x, 3, _LAYOUT)
    return _max(x, axis=axes, keepdims=bool(keepdims))


__all__ = ["avg_pool3d", "global_avg_pool3d", "global_max_pool3d", "max_pool3d"]
