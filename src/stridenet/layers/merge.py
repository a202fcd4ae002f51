"""Merge layers: Add (residual connections) and Concatenate (Inception branches)."""

from __future__ import annotations

from ..autograd import math_ops as M
from .base import Layer


class _Merge(Layer):
    def _check(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(f"{self.name}: expects a list of at least 2 inputs, "
                             f"got {input_shape}")


class Add(_Merge):
    """Elementwise sum of inputs of one shape: a[l+2] = g(z[l+2] + a[l])."""

    def build(self, input_shape):
        self._check(input_shape)
        first = input_shape[0]
        for s in input_shape[1:]:
            if len(s) != len(first) or any(a != b and None not in (a, b)
                                           for a, b in zip(s[1:], first[1:])):
                raise ValueError(f"{self.name}: inputs must have equal shapes, got "
                                 f"{input_shape}")

    def call(self, inputs, training=False):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out

    def compute_output_shape(self, input_shape):
        return input_shape[0]


class Concatenate(_Merge):
    """Join inputs along ``axis`` (channels by default)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape):
        self._check(input_shape)
        rank = len(input_shape[0])
        ax = self.axis % rank
        for s in input_shape:
            other = [d for i, d in enumerate(s) if i not in (0, ax)]
            ref = [d for i, d in enumerate(input_shape[0]) if i not in (0, ax)]
            if len(s) != rank or any(a != b and None not in (a, b) for a, b in zip(other, ref)):
                raise ValueError(f"{self.name}: shapes must agree except on axis {self.axis}, "
                                 f"got {input_shape}")

    def call(self, inputs, training=False):
        return M.concatenate(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape):
        ax = self.axis % len(input_shape[0])
        sizes = [s[ax] for s in input_shape]
        out = list(input_shape[0])
        out[ax] = None if None in sizes else sum(sizes)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
