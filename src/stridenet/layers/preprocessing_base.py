"""Shared plumbing of the preprocessing layers: argument checks, the image layer base
(rank and channel checks, unbatched input, constant outputs) and the random layer base
(identity unless training, seeded draws, configs)."""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Tensor, is_grad_enabled
from ..seeding import make_generator, spawn_generator
from .base import Layer

_CHANNELS = {1: "1 channel (grayscale)", 3: "3 channels (RGB)"}


def _bounds(factor, layer, arg, lo=None, hi=None, symmetric=True):
    """``f`` -> ``(-|f|, |f|)`` (``(|f|, |f|)`` if not symmetric); a pair -> ``(low, high)``."""
    if isinstance(factor, (tuple, list)) and len(factor) == 2:
        pair = factor
    elif isinstance(factor, numbers.Real) and not isinstance(factor, bool):
        f = abs(float(factor))
        pair = (-f, f) if symmetric else (f, f)
    else:
        raise ValueError(f"{layer}: {arg} must be a number or a (low, high) pair, "
                         f"got {factor!r}")
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v)
               for v in pair):
        raise ValueError(f"{layer}: {arg} must hold finite numbers, got {factor!r}")
    a, b = float(pair[0]), float(pair[1])
    if symmetric and a > b:
        raise ValueError(f"{layer}: {arg} must have low <= high, got {factor!r}")
    if (lo is not None and min(a, b) < lo) or (hi is not None and max(a, b) > hi):
        raise ValueError(f"{layer}: {arg}={factor!r} must lie within [{lo}, {hi}]")
    return a, b


def _unit_factor(factor, layer):
    """Keras colour factors in [0, 1]: ``f`` -> ``(0, f)``; a pair -> ``(low, high)``."""
    if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
        if not 0.0 <= factor <= 1.0:
            raise ValueError(f"{layer}: factor must be a number in [0, 1] or a (low, high) "
                             f"pair within it, got {factor!r}")
        return 0.0, float(factor)
    return _bounds(factor, layer, "factor", 0.0, 1.0)


def _value_range(value_range, layer):
    if not isinstance(value_range, (tuple, list)):
        raise ValueError(f"{layer}: value_range must be a (low, high) pair, "
                         f"got {value_range!r}")
    lo, hi = _bounds(value_range, layer, "value_range", symmetric=True)
    if lo >= hi:
        raise ValueError(f"{layer}: value_range must have low < high, got {value_range!r}")
    return lo, hi


def _float(x: np.ndarray) -> np.ndarray:
    """float64 stays float64, every other dtype becomes float32 (as the augment functions)."""
    return x.astype(np.float64 if x.dtype == np.float64 else np.float32, copy=False)


def _pair(value):
    return list(value) if isinstance(value, (tuple, list)) else value


class _ImageLayer(Layer):
    """Shared plumbing: image rank (and channel) checks, unbatched input, constant outputs."""

    any_rank = False
    channels: int | None = None  # the channel count the layer requires, if any

    def build(self, input_shape):
        if not self.any_rank and len(input_shape) not in (3, 4):
            raise ValueError(f"{self.name}: expects images (N, H, W, C) or (H, W, C), got "
                             f"input shape {tuple(input_shape)}")
        if self.channels is not None and input_shape[-1] != self.channels:
            raise ValueError(f"{self.name}: expects {_CHANNELS[self.channels]}, got input "
                             f"shape {tuple(input_shape)}")

    def _apply(self, inputs, fn):
        """``fn`` on the ndarray as a batch ``(N, H, W, C)``; returns a constant Tensor."""
        if inputs.requires_grad and is_grad_enabled():
            raise ValueError(
                f"{self.name}: {type(self).__name__} passes no gradient to its input, so it "
                f"must come before every layer with weights (first in the model); its input "
                f"requires a gradient")
        x = inputs.data
        out = fn(x[None] if x.ndim == 3 else x)
        return Tensor(out[0] if x.ndim == 3 else out)


class _RandomLayer(_ImageLayer):
    """Identity unless ``training``; parameters from the layer's own generator."""

    _config: tuple = ()  # constructor arguments get_config reports

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                                 or seed < 0):
            raise ValueError(f"{type(self).__name__}: seed must be None or a non-negative "
                             f"int, got {seed!r}")
        self.seed = seed
        # The layer owns its stream: from an int seed, or (seed=None) seeded by one draw
        # from the global generator, so that a saved model keeps its state.
        self._rng = make_generator(seed) if seed is not None else spawn_generator()

    def _generator(self) -> np.random.Generator:
        return self._rng

    def call(self, inputs, training=False):
        if not training:
            return self._inference(inputs)
        return self._apply(inputs, lambda x: self._augment(x, self._generator()))

    def _inference(self, inputs):
        return inputs

    def _augment(self, x, rng):  # pragma: no cover - interface
        raise NotImplementedError

    def get_config(self):
        # tuples become lists, as a JSON round trip would make them
        return {**super().get_config(), "seed": self.seed,
                **{k: _pair(getattr(self, k)) for k in self._config}}
