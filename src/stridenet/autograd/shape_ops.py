"""Differentiable reductions (sum, mean, max/min) and shape operations (reshape,
transpose, indexing, concatenate, stack, astype): one ``Function`` each."""

from __future__ import annotations

import numpy as np

from .function import Function


def _norm_axis(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.isscalar(axis) else tuple(axis)
    return tuple(a % ndim if ndim else a for a in axes)


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, _norm_axis(axis, a.ndim), keepdims
        return np.asarray(a.sum(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, dy):
        if not ctx.keepdims:
            dy = np.expand_dims(dy, ctx.axes)
        return np.broadcast_to(dy, ctx.shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, _norm_axis(axis, a.ndim), keepdims
        ctx.count = int(np.prod([a.shape[i] for i in ctx.axes])) if a.ndim else 1
        return np.asarray(a.mean(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, dy):
        if not ctx.keepdims:
            dy = np.expand_dims(dy, ctx.axes)
        return np.broadcast_to(dy / ctx.count, ctx.shape)


class Extremum(Function):
    """max or min over axes; ties share the gradient equally."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, op=np.max):
        y = np.asarray(op(a, axis=axis, keepdims=True))
        ctx.save_for_backward(a, y)
        ctx.axes, ctx.keepdims = _norm_axis(axis, a.ndim), keepdims
        return y if keepdims else np.squeeze(y, axis=ctx.axes)

    @staticmethod
    def backward(ctx, dy):
        a, y = ctx.saved
        if not ctx.keepdims:
            dy = np.expand_dims(dy, ctx.axes)
        hit = a == y
        return hit * (dy / hit.sum(axis=ctx.axes, keepdims=True))


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, dy):
        return dy.reshape(ctx.shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, a, axes=None):
        ctx.axes = axes
        return np.transpose(a, axes)

    @staticmethod
    def backward(ctx, dy):
        inverse = None if ctx.axes is None else np.argsort(ctx.axes)
        return np.transpose(dy, inverse)


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        return a[index]

    @staticmethod
    def backward(ctx, dy):
        dx = np.zeros(ctx.shape, dtype=ctx.dtype)
        idx = ctx.index if isinstance(ctx.index, tuple) else (ctx.index,)
        if any(isinstance(i, np.ndarray | list) for i in idx):
            np.add.at(dx, ctx.index, dy)  # repeated fancy indices must accumulate
        else:
            dx[ctx.index] = dy
        return dx


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        ctx.bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, dy):
        return tuple(np.split(dy, ctx.bounds, axis=ctx.axis))


class Stack(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, dy):
        return tuple(np.moveaxis(dy, ctx.axis, 0))


class AsType(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, dy):
        return dy.astype(ctx.dtype)
