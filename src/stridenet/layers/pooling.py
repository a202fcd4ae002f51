"""Pooling layers (no weights): max/average 1D, 2D and 3D, and global pooling."""

from __future__ import annotations

from .. import ops
from ..ops.kernels.geometry import as_tuple
from ._args import check_data_format, check_input_rank, spatial_output_shape
from .base import Layer

_LAYOUT = {1: "(N, L, C)", 2: "(N, H, W, C)", 3: "(N, D, H, W, C)"}


class _Pool(Layer):
    rank = 2
    kind = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, type(self).__name__)
        self.pool_size = as_tuple(pool_size, self.rank, "pool_size")
        self.strides = self.pool_size if strides is None else as_tuple(strides, self.rank,
                                                                       "strides")
        self.padding = padding.lower() if isinstance(padding, str) else padding
        self.data_format = "channels_last"

    def build(self, input_shape):
        check_input_rank(self, input_shape, self.rank + 2, _LAYOUT[self.rank])

    def call(self, inputs, training=False):
        name = f"{self.kind}_pool{self.rank}d"
        return getattr(ops, name)(inputs, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        return spatial_output_shape(input_shape, self.pool_size, self.strides, self.padding, 1,
                                    input_shape[-1], owner=f"{self.name} ({type(self).__name__})")

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format}


class MaxPooling2D(_Pool):
    """x: (N, H, W, C) -> (N, OH, OW, C), the largest value of each window."""

    rank, kind = 2, "max"


class AveragePooling2D(_Pool):
    """x: (N, H, W, C) -> (N, OH, OW, C); padded cells are not counted (Keras)."""

    rank, kind = 2, "avg"


class MaxPooling1D(_Pool):
    rank, kind = 1, "max"


class AveragePooling1D(_Pool):
    rank, kind = 1, "avg"


class MaxPooling3D(_Pool):
    """x: (N, D, H, W, C) -> (N, OD, OH, OW, C), the largest value of each window."""

    rank, kind = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format,
                         **kwargs)


class AveragePooling3D(_Pool):
    """x: (N, D, H, W, C) -> (N, OD, OH, OW, C); 'same' leaves padded cells out of the
    count (Keras). ``pool_size`` is required, as in Keras 3."""

    rank, kind = 3, "avg"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format,
                         **kwargs)


class _GlobalPool(Layer):
    rank = 2
    kind = "avg"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, type(self).__name__)
        self.keepdims = keepdims

    def build(self, input_shape):
        check_input_rank(self, input_shape, self.rank + 2, _LAYOUT[self.rank])

    def call(self, inputs, training=False):
        return getattr(ops, f"global_{self.kind}_pool{self.rank}d")(inputs, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0], *([1] * self.rank), input_shape[-1])
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPool):
    """x: (N, H, W, C) -> (N, C), the mean of each channel."""

    rank, kind = 2, "avg"


class GlobalMaxPooling2D(_GlobalPool):
    rank, kind = 2, "max"


class GlobalAveragePooling1D(_GlobalPool):
    rank, kind = 1, "avg"


class GlobalMaxPooling1D(_GlobalPool):
    rank, kind = 1, "max"


class GlobalAveragePooling3D(_GlobalPool):
    """x: (N, D, H, W, C) -> (N, C) (or (N, 1, 1, 1, C) with keepdims), each channel's mean."""

    rank, kind = 3, "avg"


class GlobalMaxPooling3D(_GlobalPool):
    """x: (N, D, H, W, C) -> (N, C) (or (N, 1, 1, 1, C) with keepdims), each channel's max."""

    rank, kind = 3, "max"
