"""Shape layers: Flatten, Reshape, ZeroPadding1D/2D."""

from __future__ import annotations

import math

from .. import ops
from ..autograd import math_ops as M
from ..ops.kernels.geometry import resolve_padding
from ._args import check_data_format
from .base import Layer


class Flatten(Layer):
    """x: (N, d1, d2, ...) -> (N, d1*d2*...), row-major (channels last, as Keras)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, "Flatten")

    def call(self, inputs, training=False):
        return M.reshape(inputs, (inputs.shape[0], -1))  # (N, prod(rest))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last"}


class Reshape(Layer):
    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, inputs, training=False):
        return M.reshape(inputs, (inputs.shape[0], *self.target_shape))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class ZeroPadding2D(Layer):
    """x: (N, H, W, C) -> (N, H + top + bottom, W + left + right, C)."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, "ZeroPadding2D")
        self.padding = resolve_padding(padding, (1, 1), (1, 1), (1, 1), (1, 1))

    def call(self, inputs, training=False):
        return ops.pad2d(inputs, self.padding)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        (t, b), (l, r) = self.padding
        return (n, None if h is None else h + t + b, None if w is None else w + l + r, c)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding],
                "data_format": "channels_last"}


class ZeroPadding1D(Layer):
    """x: (N, L, C) -> (N, L + left + right, C)."""

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        (self.padding,) = resolve_padding(padding, (1,), (1,), (1,), (1,))

    def call(self, inputs, training=False):
        return ops.pad1d(inputs, self.padding)

    def compute_output_shape(self, input_shape):
        n, length, c = input_shape
        return (n, None if length is None else length + sum(self.padding), c)

    def get_config(self):
        return {**super().get_config(), "padding": list(self.padding)}
