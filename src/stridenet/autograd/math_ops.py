"""Differentiable array math: the functional forms of the cheap elementwise and shape
operations (the Functions are in ``elementwise.py`` and ``shape_ops.py``).

The functions accept Tensors, ndarrays or Python numbers.
"""

from __future__ import annotations

import numpy as np

from .elementwise import (
    Abs,
    Add,
    Clip,
    Div,
    Exp,
    Log,
    MatMul,
    Maximum,
    Mul,
    Neg,
    Power,
    Sqrt,
    Sub,
    Where,
)
from .shape_ops import AsType, Concatenate, Extremum, GetItem, Mean, Reshape, Stack, Sum, Transpose
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
