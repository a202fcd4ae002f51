"""Differentiable elementwise math and matmul: one ``Function`` per operation, on plain
ndarrays. Broadcasting is undone in ``Tensor.backward`` (see ``unbroadcast``), so a
backward here returns gradients in the broadcast shape."""

from __future__ import annotations

import numpy as np

from .function import Function
from .tensor import unbroadcast


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
            da = _unbroadcast_to(dy2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            db = _unbroadcast_to(np.swapaxes(a2, -1, -2) @ dy2, b2.shape).reshape(b.shape)
        return da, db


def _unbroadcast_to(g, shape):
    return unbroadcast(g, tuple(shape))
