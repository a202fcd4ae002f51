"""Pooling ops (channels last), differentiable: windowed max/avg in 1D and 2D, and global.

The windowed ops are single Functions around the NumPy kernels of
``kernels/pool.py`` (hand-written backward); 1D pooling is 2D pooling over a
height-1 image. Global pooling is a plain mean / max over the spatial axes,
composed from autograd primitives.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..autograd import max as _max
from ..autograd import mean as _mean
from ._checks import check_rank, float_input
from .kernels.geometry import as_tuple, output_size, resolve_padding
from .kernels.pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)


class MaxPool2DFunction(Function):
    @staticmethod
    def forward(ctx, x, pool, strides, pads, ceil_mode):
        y, ctx.cache = max_pool2d_forward(x, pool, strides, pads, ceil_mode)
        return y

    @staticmethod
    def backward(ctx, dy):
        return (max_pool2d_backward(dy, ctx.cache),)


class AvgPool2DFunction(Function):
    @staticmethod
    def forward(ctx, x, pool, strides, pads, count_include_pad, ceil_mode):
        y, ctx.cache = avg_pool2d_forward(x, pool, strides, pads, count_include_pad, ceil_mode)
        return y

    @staticmethod
    def backward(ctx, dy):
        return (avg_pool2d_backward(dy, ctx.cache),)


class MaxPool1DFunction(Function):
    """max_pool1d as max_pool2d over a height-1 image: x (N, L, C) -> (N, 1, L, C)."""

    @staticmethod
    def forward(ctx, x, pool, strides, pads, ceil_mode):
        y, ctx.cache = max_pool2d_forward(x[:, None], (1, pool[0]), (1, strides[0]),
                                          ((0, 0), pads[0]), ceil_mode)
        return y[:, 0]  # (N, OL, C)

    @staticmethod
    def backward(ctx, dy):
        return (max_pool2d_backward(dy[:, None], ctx.cache)[:, 0],)  # (N, L, C)


class AvgPool1DFunction(Function):
    """avg_pool1d as avg_pool2d over a height-1 image: x (N, L, C) -> (N, 1, L, C)."""

    @staticmethod
    def forward(ctx, x, pool, strides, pads, count_include_pad, ceil_mode):
        y, ctx.cache = avg_pool2d_forward(x[:, None], (1, pool[0]), (1, strides[0]),
                                          ((0, 0), pads[0]), count_include_pad, ceil_mode)
        return y[:, 0]  # (N, OL, C)

    @staticmethod
    def backward(ctx, dy):
        return (avg_pool2d_backward(dy[:, None], ctx.cache)[:, 0],)  # (N, L, C)


def _flag(value, name: str, op: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{op}: {name} must be True or False, got {value!r}")
    return bool(value)


def _prepare(op, x, pool_size, strides, padding, ceil_mode, rank, layout):
    """Check the arguments; -> (x, pool, strides, explicit pads, ceil_mode)."""
    x = float_input(x, "x", op)
    check_rank(x, rank + 2, "x", op, layout)
    pool = as_tuple(pool_size, rank, f"{op}: pool_size")
    strides = pool if strides is None else as_tuple(strides, rank, f"{op}: strides")
    ceil_mode = _flag(ceil_mode, "ceil_mode", op)
    sizes = tuple(x.shape[1:-1])
    if 0 in sizes:
        raise ValueError(f"{op}: x has an empty spatial axis: shape {tuple(x.shape)}")
    try:
        pads = resolve_padding(padding, sizes, pool, strides, (1,) * rank, causal_ok=rank == 1)
    except ValueError as e:
        raise ValueError(f"{op}: {e} (x shape {tuple(x.shape)})") from None
    for axis, (n, k, s, (p0, p1)) in enumerate(zip(sizes, pool, strides, pads)):
        where = (f"on spatial axis {axis} (x shape {tuple(x.shape)}, pool_size {pool}, "
                 f"strides {strides}, padding {padding!r})")
        if n + p0 + p1 < k:
            raise ValueError(f"{op}: the pooling window ({k} cells) is larger than the padded "
                             f"input ({n + p0 + p1} cells) {where}")
        out = output_size(n, k, s, p0, p1, 1, ceil_mode)
        # Every window must hold at least one real cell: a window of padding only has no
        # max and no average. The first window starts at padded cell 0, the last at
        # (out - 1) * s; the input occupies padded cells [p0, p0 + n).
        if p0 >= k or (out - 1) * s >= p0 + n:
            raise ValueError(f"{op}: padding {padding!r} leaves a pooling window with no "
                             f"input cell {where}; padding must be smaller than the window")
    return x, pool, strides, pads, ceil_mode


def max_pool2d(x, pool_size, strides=None, padding="valid", ceil_mode=False):
    """2D max pooling. x: (N, H, W, C) -> (N, OH, OW, C).

    ``strides`` default to ``pool_size``; ``padding``: "valid", "same" (Keras rule), an
    int, a pair (ph, pw) or ((top, bottom), (left, right)); padded cells are never
    selected (as if -inf). ``ceil_mode``: round the output size up, as PyTorch does.
    The gradient of each output goes to the first maximum of its window (row-major).
    """
    x, pool, strides, pads, ceil_mode = _prepare("max_pool2d", x, pool_size, strides, padding,
                                                 ceil_mode, 2, "(N, H, W, C)")
    return MaxPool2DFunction.apply(x, pool=pool, strides=strides, pads=pads, ceil_mode=ceil_mode)


def avg_pool2d(x, pool_size, strides=None, padding="valid", count_include_pad=False,
               ceil_mode=False):
    """2D average pooling. x: (N, H, W, C) -> (N, OH, OW, C).

    Arguments as for ``max_pool2d``. ``count_include_pad=False`` divides each window sum
    by its number of input cells (Keras); True by its cells inside input + explicit
    padding, not counting cells past the padding in ``ceil_mode`` (PyTorch).
    """
    op = "avg_pool2d"
    cip = _flag(count_include_pad, "count_include_pad", op)
    x, pool, strides, pads, ceil_mode = _prepare(op, x, pool_size, strides, padding, ceil_mode,
                                                 2, "(N, H, W, C)")
    return AvgPool2DFunction.apply(x, pool=pool, strides=strides, pads=pads,
                                   count_include_pad=cip, ceil_mode=ceil_mode)


def max_pool1d(x, pool_size, strides=None, padding="valid", ceil_mode=False):
    """1D max pooling. x: (N, L, C) -> (N, OL, C). ``padding`` also takes (left, right)."""
    x, pool, strides, pads, ceil_mode = _prepare("max_pool1d", x, pool_size, strides, padding,
                                                 ceil_mode, 1, "(N, L, C)")
    return MaxPool1DFunction.apply(x, pool=pool, strides=strides, pads=pads, ceil_mode=ceil_mode)


def avg_pool1d(x, pool_size, strides=None, padding="valid", count_include_pad=False,
               ceil_mode=False):
    """1D average pooling. x: (N, L, C) -> (N, OL, C). Arguments as for ``avg_pool2d``."""
    op = "avg_pool1d"
    cip = _flag(count_include_pad, "count_include_pad", op)
    x, pool, strides, pads, ceil_mode = _prepare(op, x, pool_size, strides, padding, ceil_mode,
                                                 1, "(N, L, C)")
    return AvgPool1DFunction.apply(x, pool=pool, strides=strides, pads=pads,
                                   count_include_pad=cip, ceil_mode=ceil_mode)


def _global(op, x, rank, layout):
    x = float_input(x, "x", op)
    check_rank(x, rank + 2, "x", op, layout)
    if 0 in x.shape[1:-1]:
        raise ValueError(f"{op}: x has an empty spatial axis: shape {tuple(x.shape)}")
    return x, tuple(range(1, rank + 1))


def global_avg_pool2d(x, keepdims=False):
    """Mean over H and W. x: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with ``keepdims``."""
    x, axes = _global("global_avg_pool2d", x, 2, "(N, H, W, C)")
    return _mean(x, axis=axes, keepdims=bool(keepdims))


def global_max_pool2d(x, keepdims=False):
    """Max over H and W. x: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with ``keepdims``.

    Tied maxima share the gradient equally (autograd ``max``).
    """
    x, axes = _global("global_max_pool2d", x, 2, "(N, H, W, C)")
    return _max(x, axis=axes, keepdims=bool(keepdims))


def global_avg_pool1d(x, keepdims=False):
    """Mean over L. x: (N, L, C) -> (N, C), or (N, 1, C) with ``keepdims``."""
    x, axes = _global("global_avg_pool1d", x, 1, "(N, L, C)")
    return _mean(x, axis=axes, keepdims=bool(keepdims))


def global_max_pool1d(x, keepdims=False):
    """Max over L. x: (N, L, C) -> (N, C), or (N, 1, C) with ``keepdims``."""
    x, axes = _global("global_max_pool1d", x, 1, "(N, L, C)")
    return _max(x, axis=axes, keepdims=bool(keepdims))


__all__ = ["avg_pool1d", "avg_pool2d", "global_avg_pool1d", "global_avg_pool2d",
           "global_max_pool1d", "global_max_pool2d", "max_pool1d", "max_pool2d"]
