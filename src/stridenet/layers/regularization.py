"""SpatialDropout1D/2D/3D: dropout of whole channels (feature maps), seeded like Dropout.

Neighbouring cells of a feature map are strongly correlated, so dropping single cells
barely regularises a convolution; these layers drop a channel everywhere in a sample:
the mask has shape (N, 1, ..., 1, C) and is broadcast over the spatial axes.
"""

from __future__ import annotations

from ..ops.dropout import DropoutFunction, dropout_mask
from ..seeding import make_generator, spawn_generator
from ._args import check_data_format, check_input_rank
from .base import Layer


class _SpatialDropout(Layer):
    rank = 1
    layout = "(N, L, C)"

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1:
            raise ValueError(f"{name}: rate must be a number in [0, 1), got {rate!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                                 or seed < 0):
            raise ValueError(f"{name}: seed must be None or a non-negative int, got {seed!r}")
        self.rate, self.seed = float(rate), seed
        # The layer owns its stream: from an int seed, or (seed=None) seeded by one draw
        # from the global generator, so that a saved model keeps its state.
        self._rng = make_generator(seed) if seed is not None else spawn_generator()

    def build(self, input_shape):
        check_input_rank(self, input_shape, self.rank + 2, self.layout)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        shape = (inputs.shape[0], *([1] * self.rank), inputs.shape[-1])  # (N, 1.., C)
        keep = dropout_mask(shape, self.rate, make_generator(self._rng))
        return DropoutFunction.apply(inputs, keep=keep, scale=1.0 / (1.0 - self.rate))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class SpatialDropout1D(_SpatialDropout):
    """x: (N, L, C) -> (N, L, C); in training each (sample, channel) is dropped whole."""

    rank, layout = 1, "(N, L, C)"


class SpatialDropout2D(_SpatialDropout):
    """x: (N, H, W, C) -> (N, H, W, C); in training each (sample, channel) is dropped whole."""

    rank, layout = 2, "(N, H, W, C)"

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        check_data_format(data_format, type(self).__name__)
        super().__init__(rate, seed=seed, **kwargs)

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last"}


class SpatialDropout3D(SpatialDropout2D):
    """x: (N, D, H, W, C) -> same; in training each (sample, channel) is dropped whole."""

    rank, layout = 3, "(N, D, H, W, C)"


__all__ = ["SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"]
