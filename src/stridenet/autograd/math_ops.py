"""Differentiable array math: the cheap elementwise and shape operations.

Each class is a ``Function`` on plain ndarrays; the lower-case functions accept
Tensors, ndarrays or Python numbers. Broadcasting is undone in ``Tensor.backward``
(see ``unbroadcast``), so a backward here returns gradients in the broadcast shape.
"""

from __future__ import annotations

import numpy as np

from .function import Function
from .tensor import Tensor, _as_array


def _lift(x):
    """Tensors pass through; anything else becomes a constant array.

    Python numbers stay Python numbers: NumPy treats them as weak scalars, so
    ``float32_tensor * 2`` stays float32.
    """
    if isinstance(x, Tensor | bool | int | float):
        return x
    return _as_array(x)


def _binary_operands(a, b):
    return _lift(a), _lift(b)


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, dy):
        return dy, dy


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, dy):
        return dy, (-dy if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, dy):
        a, b = ctx.saved
        da = dy * b if ctx.needs_input_grad[0] else None
        db = dy * a if ctx.needs_input_grad[1] else None
        return da, db


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, dy):
        a, b = ctx.saved
        da = dy / b if ctx.needs_input_grad[0] else None
        db = -dy * a / (b * b) if ctx.needs_input_grad[1] else None
        return da, db


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, dy):
        return -dy


class Power(Function):
    @staticmethod
    def forward(ctx, a, exponent):
        ctx.save_for_backward(a)
        ctx.exponent = exponent
        return a**exponent

    @staticmethod
    def backward(ctx, dy):
        (a,) = ctx.saved
        p = ctx.exponent
        return dy * p * a ** (p - 1)


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        y = np.exp(a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, dy):
        return dy * ctx.saved[0]


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, dy):
        return dy / ctx.saved[0]


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        y = np.sqrt(a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, dy):
        return dy / (2 * ctx.saved[0])


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, dy):
        return dy * np.sign(ctx.saved[0])


class Clip(Function):
    """clip(a, lo, hi); the gradient passes where lo <= a <= hi."""

    @staticmethod
    def forward(ctx, a, lo, hi):
        inside = np.ones(a.shape, dtype=bool)
        if lo is not None:
            inside &= a >= lo
        if hi is not None:
            inside &= a <= hi
        ctx.save_for_backward(inside)
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, dy):
        return dy * ctx.saved[0]


class Maximum(Function):
    """Elementwise max; where a == b the gradient is split in half, as in PyTorch."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, dy):
        a, b = ctx.saved
        wa = (a > b) + 0.5 * (a == b)
        return dy * wa, dy * (1.0 - wa)


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, dy):
        (cond,) = ctx.saved
        zero = np.zeros((), dy.dtype)
        return None, np.where(cond, dy, zero), np.where(cond, zero, dy)


class MatMul(Function):
    """a @ b with NumPy's rules for 1-D operands and batch broadcasting."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, dy):
        a, b = ctx.saved
        a2 = a[None, :] if a.ndim == 1 else a  # (n,) -> (1, n)
        b2 = b[:, None] if b.ndim == 1 else b  # (n,) -> (n, 1)
        dy2 = dy
        if a.ndim == 1:
            dy2 = np.expand_dims(dy2, -2)  # restore the row axis
        if b.ndim == 1:
            dy2 = np.expand_dims(dy2, -1)  # restore the column axis
        da = db = None
        if ctx.needs_input_grad[0]:
            da = unbroadcast_to(dy2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            db = unbroadcast_to(np.swapaxes(a2, -1, -2) @ dy2, b2.shape).reshape(b.shape)
        return da, db


def unbroadcast_to(g, shape):
    from .tensor import unbroadcast

    return unbroadcast(g, tuple(shape))


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


# -- functional forms -------------------------------------------------------
def add(a, b):
    return Add.apply(*_binary_operands(a, b))


def sub(a, b):
    return Sub.apply(*_binary_operands(a, b))


def mul(a, b):
    return Mul.apply(*_binary_operands(a, b))


def div(a, b):
    return Div.apply(*_binary_operands(a, b))


def neg(a):
    return Neg.apply(_lift(a))


def power(a, exponent):
    return Power.apply(_lift(a), exponent=exponent)


def exp(a):
    return Exp.apply(_lift(a))


def log(a):
    return Log.apply(_lift(a))


def sqrt(a):
    return Sqrt.apply(_lift(a))


def abs(a):  # noqa: A001 - mirrors np.abs
    return Abs.apply(_lift(a))


def clip(a, lo=None, hi=None):
    return Clip.apply(_lift(a), lo=lo, hi=hi)


def maximum(a, b):
    return Maximum.apply(*_binary_operands(a, b))


def minimum(a, b):
    return neg(maximum(neg(a), neg(b)))


def where(cond, a, b):
    return Where.apply(np.asarray(cond, dtype=bool), *_binary_operands(a, b))


def matmul(a, b):
    return MatMul.apply(*_binary_operands(a, b))


def sum(a, axis=None, keepdims=False):  # noqa: A001 - mirrors np.sum
    return Sum.apply(_lift(a), axis=axis, keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    return Mean.apply(_lift(a), axis=axis, keepdims=keepdims)


def max(a, axis=None, keepdims=False):  # noqa: A001 - mirrors np.max
    return Extremum.apply(_lift(a), axis=axis, keepdims=keepdims, op=np.max)


def min(a, axis=None, keepdims=False):  # noqa: A001 - mirrors np.min
    return Extremum.apply(_lift(a), axis=axis, keepdims=keepdims, op=np.min)


def reshape(a, shape):
    return Reshape.apply(_lift(a), shape=tuple(shape))


def transpose(a, axes=None):
    return Transpose.apply(_lift(a), axes=None if axes is None else tuple(axes))


def getitem(a, index):
    if isinstance(index, Tensor):
        index = index.data
    return GetItem.apply(_lift(a), index=index)


def concatenate(tensors, axis=0):
    return Concatenate.apply(*[_lift(t) for t in tensors], axis=axis)


def stack(tensors, axis=0):
    return Stack.apply(*[_lift(t) for t in tensors], axis=axis)


def astype(a, dtype):
    return AsType.apply(_lift(a), dtype=np.dtype(dtype))
