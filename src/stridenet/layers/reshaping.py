"""Shape layers: Flatten, Reshape, Permute, ZeroPadding1D/2D/3D."""

from __future__ import annotations

import math

from .. import ops
from ..autograd import math_ops as M
from ..ops.kernels.geometry import resolve_padding
from ._args import check_data_format, check_input_rank
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
    """x: (N, d1, ..., dk) -> (N, *target_shape); one entry of target_shape may be -1
    (inferred from the others, as in Keras)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target = tuple(target_shape) if isinstance(target_shape, list | tuple) else None
        if target is None or not all(isinstance(d, int) and not isinstance(d, bool)
                                     and (d > 0 or d == -1) for d in target) \
                or target.count(-1) > 1:
            raise ValueError(f"Reshape: target_shape must be a tuple of positive ints with at "
                             f"most one -1, got {target_shape!r}")
        self.target_shape = target

    def _resolved(self, input_shape):
        rest = input_shape[1:]
        if None in rest:
            return tuple(None if d == -1 else d for d in self.target_shape)
        size, known = math.prod(rest), math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(f"{self.name} (Reshape): cannot reshape input shape "
                                 f"{tuple(input_shape)} to target_shape {self.target_shape}")
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if size != known:
            raise ValueError(f"{self.name} (Reshape): input shape {tuple(input_shape)} has "
                             f"{size} values per sample, target_shape {self.target_shape} "
                             f"has {known}")
        return self.target_shape

    def build(self, input_shape):
        check_input_rank(self, input_shape, range(1, 33), "(N, ...)")
        self._resolved(input_shape)

    def call(self, inputs, training=False):
        return M.reshape(inputs, (inputs.shape[0], *self._resolved(inputs.shape)))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self._resolved(input_shape))

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Reorder the non-batch axes: ``dims`` is 1-based, e.g. (2, 1) swaps axes 1 and 2.

    x: (N, d1, ..., dk) -> (N, d_dims[0], ..., d_dims[k-1])
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = tuple(dims) if isinstance(dims, list | tuple) else None
        if dims is None or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1..k, got {dims!r}")
        self.dims = dims

    def build(self, input_shape):
        check_input_rank(self, input_shape, len(self.dims) + 1,
                         f"(N, {len(self.dims)} more axes) for dims={self.dims}")

    def call(self, inputs, training=False):
        return M.transpose(inputs, (0, *self.dims))  # (N, permuted axes)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class ZeroPadding2D(Layer):
    """x: (N, H, W, C) -> (N, H + top + bottom, W + left + right, C)."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, "ZeroPadding2D")
        self.padding = resolve_padding(padding, (1, 1), (1, 1), (1, 1), (1, 1))

    def build(self, input_shape):
        check_input_rank(self, input_shape, 4, "(N, H, W, C)")

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

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, "ZeroPadding1D")
        (self.padding,) = resolve_padding(padding, (1,), (1,), (1,), (1,))

    def build(self, input_shape):
        check_input_rank(self, input_shape, 3, "(N, L, C)")

    def call(self, inputs, training=False):
        return ops.pad1d(inputs, self.padding)

    def compute_output_shape(self, input_shape):
        n, length, c = input_shape
        return (n, None if length is None else length + sum(self.padding), c)

    def get_config(self):
        return {**super().get_config(), "padding": list(self.padding),
                "data_format": "channels_last"}


class ZeroPadding3D(Layer):
    """x: (N, D, H, W, C) -> (N, D + d0 + d1, H + h0 + h1, W + w0 + w1, C).

    ``padding``: an int, (pd, ph, pw) or ((d0, d1), (h0, h1), (w0, w1)).
    """

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, "ZeroPadding3D")
        self.padding = resolve_padding(padding, (1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1))

    def build(self, input_shape):
        check_input_rank(self, input_shape, 5, "(N, D, H, W, C)")

    def call(self, inputs, training=False):
        return ops.pad3d(inputs, self.padding)

    def compute_output_shape(self, input_shape):
        n, *sizes, c = input_shape
        return (n, *(None if s is None else s + sum(p) for s, p in zip(sizes, self.padding)), c)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding],
                "data_format": "channels_last"}
