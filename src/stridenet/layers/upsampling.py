"""UpSampling1D/2D/3D: repeat each cell ``size`` times along each spatial axis (nearest), or
in 2D interpolate bilinearly (half-pixel centres, as Keras 3). No weights.

Nearest: [0, 1, 2] with size 2 -> [0, 0, 1, 1, 2, 2].
"""

from __future__ import annotations

from .. import ops
from ..ops.kernels.geometry import as_tuple
from ..ops.upsampling import INTERPOLATIONS
from ._args import check_data_format, check_input_rank
from .base import Layer

_LAYOUT = {1: "(N, L, C)", 2: "(N, H, W, C)", 3: "(N, D, H, W, C)"}


class _UpSampling(Layer):
    rank = 2

    def __init__(self, size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, type(self).__name__)
        self.size = as_tuple(size, self.rank, f"{type(self).__name__}: size")

    def build(self, input_shape):
        check_input_rank(self, input_shape, self.rank + 2, _LAYOUT[self.rank])

    def compute_output_shape(self, input_shape):
        n, *sizes, c = input_shape
        return (n, *(None if d is None else d * s for d, s in zip(sizes, self.size)), c)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size),
                "data_format": "channels_last"}


class UpSampling1D(_UpSampling):
    """x: (N, L, C) -> (N, L * size, C)."""

    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(size, **kwargs)

    def call(self, inputs, training=False):
        return ops.upsample1d(inputs, self.size)

    def get_config(self):
        cfg = super().get_config()
        del cfg["data_format"]  # Keras 3's UpSampling1D has no data_format
        cfg["size"] = self.size[0]
        return cfg


class UpSampling2D(_UpSampling):
    """x: (N, H, W, C) -> (N, H * size[0], W * size[1], C); ``interpolation`` "nearest" or
    "bilinear"."""

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format=data_format, **kwargs)
        mode = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if mode not in INTERPOLATIONS:
            raise ValueError(f"UpSampling2D: interpolation must be one of "
                             f"{sorted(INTERPOLATIONS)}, got {interpolation!r}")
        self.interpolation = mode

    def call(self, inputs, training=False):
        return ops.upsample2d(inputs, self.size, interpolation=self.interpolation)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    """x: (N, D, H, W, C) -> (N, D * size[0], H * size[1], W * size[2], C), nearest."""

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format=data_format, **kwargs)

    def call(self, inputs, training=False):
        return ops.upsample3d(inputs, self.size)
