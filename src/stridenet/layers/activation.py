"""Activation layers with Keras 3 names and defaults: LeakyReLU, ELU, PReLU, Softmax.

Each keeps its input's shape: x: (N, ...) -> (N, ...).
"""

from __future__ import annotations

import numbers
import warnings

from .. import initializers, ops, regularizers
from ..autograd import math_ops as M
from ._args import init_config, reg_config
from .base import Layer


def _real(value, name, layer, lo=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise ValueError(f"{layer}: {name} must be a real number, got {value!r}")
    if lo is not None and value < lo:
        raise ValueError(f"{layer}: {name} must be >= {lo}, got {value!r}")
    return float(value)


class LeakyReLU(Layer):
    """x for x > 0, negative_slope * x otherwise (Keras 3 default slope 0.3)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # Keras 2's name, still accepted by Keras 3 with a warning
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: the argument `alpha` is deprecated, use "
                          "`negative_slope`", DeprecationWarning, stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = _real(negative_slope, "negative_slope", "LeakyReLU", lo=0)

    def call(self, inputs, training=False):
        return ops.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """x for x >= 0, alpha * (exp(x) - 1) otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _real(alpha, "alpha", "ELU")

    def call(self, inputs, training=False):
        return ops.elu(inputs, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """exp(x) / sum(exp(x)) along ``axis`` (an int, or a list of axes as in Keras)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, list | tuple):
            if not axis or not all(isinstance(a, int) and not isinstance(a, bool)
                                   for a in axis):
                raise ValueError(f"Softmax: axis must be an int or a list of ints, got {axis!r}")
            axis = list(axis)
        elif isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"Softmax: axis must be an int or a list of ints, got {axis!r}")
        self.axis = axis

    def build(self, input_shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if any(not -len(input_shape) <= a < len(input_shape) for a in axes):
            raise ValueError(f"{self.name} (Softmax): axis {self.axis} is out of range for "
                             f"input shape {tuple(input_shape)}")

    def call(self, inputs, training=False):
        if not isinstance(self.axis, list):
            return ops.softmax(inputs, self.axis)
        # Several axes: move them to the end, flatten them into one, softmax, and undo.
        nd = inputs.ndim
        axes = sorted({a % nd for a in self.axis})
        rest = [a for a in range(nd) if a not in axes]
        moved = M.transpose(inputs, (*rest, *axes))  # (rest..., softmax axes...)
        shape = moved.shape
        flat = M.reshape(moved, (*shape[:len(rest)], -1))  # (rest..., prod(axes))
        y = M.reshape(ops.softmax(flat, -1), shape)
        inverse = [0] * nd
        for i, a in enumerate((*rest, *axes)):
            inverse[a] = i
        return M.transpose(y, tuple(inverse))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class PReLU(Layer):
    """x for x >= 0, alpha * x otherwise, with a learned ``alpha``.

    alpha has the input's shape without the batch axis, (d1, ..., dk), with size 1 along
    each of ``shared_axes`` (1-based as in Keras: ``shared_axes=[1, 2]`` shares over H, W
    of (N, H, W, C) and gives alpha (1, 1, C)).
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        if alpha_constraint is not None:
            raise ValueError("PReLU: weight constraints are not supported; "
                             f"alpha_constraint must be None, got {alpha_constraint!r}")
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = None
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = [shared_axes] if isinstance(shared_axes, int) else list(shared_axes)
            if not all(isinstance(a, int) and not isinstance(a, bool) and a != 0 for a in axes):
                raise ValueError(f"PReLU: shared_axes must be non-zero ints (axis 0 is the "
                                 f"batch), got {shared_axes!r}")
            self.shared_axes = axes

    def build(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(f"{self.name} (PReLU): expects input of shape (N, ...), got "
                             f"input shape {input_shape}")
        shape = list(input_shape[1:])
        for a in self.shared_axes or []:
            if not -len(input_shape) < a < len(input_shape):
                raise ValueError(f"{self.name} (PReLU): shared axis {a} is out of range for "
                                 f"input shape {tuple(input_shape)}")
            shape[(a % len(input_shape)) - 1] = 1
        if None in shape:
            raise ValueError(f"{self.name} (PReLU): every axis that is not shared must have "
                             f"a known size, got input shape {tuple(input_shape)}")
        self.alpha = self.add_weight(tuple(shape), self.alpha_initializer, "alpha",
                                     regularizer=self.alpha_regularizer)

    def call(self, inputs, training=False):
        # relu(x) - alpha * relu(-x): alpha scales the negative part only
        return M.sub(ops.relu(inputs), M.mul(self.alpha, ops.relu(M.neg(inputs))))

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": init_config(self.alpha_initializer),
                "alpha_regularizer": reg_config(self.alpha_regularizer),
                "alpha_constraint": None, "shared_axes": self.shared_axes}
