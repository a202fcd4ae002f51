"""Pixel-value layers: noise, brightness, contrast and the colour-space transforms
(grayscale, saturation, hue, RGB <-> HSV), channels last, Keras 3 names and arguments.

The random ones change their input only with ``training=True`` and pass no gradient to
it, except ``GaussianNoise`` (additive, with autograd). ``RGBToGrayscale`` and
``GrayscaleToRGB`` are always on and differentiable; ``RGBToHSV`` and ``HSVToRGB`` are
always on and pass no gradient (so they go at the front of a model).

``value_range = (low, high)`` is the range of the images' values. Brightness and
contrast clip their result to it; saturation and hue map the images from it to [0, 1]
(clipping values outside it), work in HSV there and map the result back.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Tensor
from ..autograd import math_ops as M
from ..data import augment as A
from .preprocessing_base import (
    _bounds,
    _float,
    _ImageLayer,
    _RandomLayer,
    _unit_factor,
    _value_range,
)


class GaussianNoise(_RandomLayer):
    """Add ``N(0, stddev^2)`` noise to every value in training (any input rank). The noise
    is added with autograd, so the layer may sit anywhere in a model."""

    _config = ("stddev",)
    any_rank = True

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, numbers.Real) or \
                not 0 <= stddev < np.inf:
            raise ValueError(f"GaussianNoise: stddev must be a finite number >= 0, "
                             f"got {stddev!r}")
        self.stddev = float(stddev)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        rng = self._generator()
        noise = rng.standard_normal(inputs.shape, dtype=inputs.dtype) * inputs.dtype.type(
            self.stddev)
        return inputs + Tensor(noise)


class RandomBrightness(_RandomLayer):
    """Add ``d * (high - low)`` per image, ``d`` drawn from ``factor`` (``f`` -> ``[-f, f]``,
    or a pair, within [-1, 1]), then clip to ``value_range = (low, high)``."""

    _config = ("factor", "value_range")

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _bounds(factor, "RandomBrightness", "factor", -1.0, 1.0)
        self.value_range = _value_range(value_range, "RandomBrightness")

    def _augment(self, x, rng):
        lo, hi = self.value_range
        delta = rng.uniform(*self.factor, size=x.shape[0]) * (hi - lo)
        return A.adjust_brightness(x, delta, self.value_range)


class RandomContrast(_RandomLayer):
    """Per image and channel ``(x - mean) * c + mean`` with ``c`` uniform in
    ``[1 - lower, 1 + upper]`` (``factor`` = ``f`` gives lower = upper = f, or a pair
    ``(lower, upper)``, lower in [0, 1]), clipped to ``value_range``."""

    _config = ("factor", "value_range")

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _bounds(factor, "RandomContrast", "factor", lo=0.0, symmetric=False)
        if self.factor[0] > 1.0:
            raise ValueError(f"RandomContrast: the lower factor must be in [0, 1] (a "
                             f"contrast factor >= 0), got {factor!r}")
        self.value_range = _value_range(value_range, "RandomContrast")

    def _augment(self, x, rng):
        c = rng.uniform(1.0 - self.factor[0], 1.0 + self.factor[1], size=x.shape[0])
        return A.adjust_contrast(x, c, self.value_range)


class RandomGrayscale(_RandomLayer):
    """With probability ``factor`` per image, set every RGB channel to the BT.601 luma
    (the channel count is kept); single-channel images are already gray."""

    _config = ("factor",)

    def __init__(self, factor=0.5, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _bounds(factor, "RandomGrayscale", "factor", 0.0, 1.0, False)[0]

    def _augment(self, x, rng):
        pick = (rng.random(x.shape[0]) < self.factor).reshape(-1, 1, 1, 1)  # (N, 1, 1, 1)
        if x.shape[-1] == 1:
            return _float(x).copy()
        return np.where(pick, A.rgb_to_grayscale(x), x)  # (N, H, W, 1) broadcasts to 3


class _HSVLayer(_RandomLayer):
    """Random RGB colour change made in HSV on images mapped from ``value_range`` to [0, 1]."""

    _config = ("factor", "value_range")
    channels = 3

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _unit_factor(factor, type(self).__name__)
        self.value_range = _value_range(value_range, type(self).__name__)

    def _augment(self, x, rng):
        lo, hi = self.value_range
        hsv = A.rgb_to_hsv(np.clip((_float(x) - lo) / (hi - lo), 0, 1))  # (N, H, W, 3)
        self._change(hsv, rng)
        return np.clip(A.hsv_to_rgb(hsv) * (hi - lo) + lo, lo, hi)

    def _change(self, hsv, rng):  # pragma: no cover - interface
        raise NotImplementedError


class RandomSaturation(_HSVLayer):
    """Scale the HSV saturation ``S`` of each RGB image by ``s / (1 - s)``, ``s`` drawn
    uniformly from ``factor``: ``f`` in [0, 1] gives ``[0, f]``, a pair ``(low, high)``
    within [0, 1] gives ``[low, high]`` (as in Keras). So ``s = 0.5`` keeps the image,
    ``s = 0`` makes it gray (every channel equal to ``V``) and ``s = 1`` fully saturates
    every non-gray pixel; ``S`` is clipped to 1. Grays stay gray."""

    def _change(self, hsv, rng):
        s = rng.uniform(*self.factor, size=(hsv.shape[0], 1, 1)).astype(hsv.dtype)
        sat = hsv[..., 1]  # (N, H, W)
        full = (sat * s >= 1 - s) & (sat > 0)  # the scaled S reaches 1 (always when s = 1)
        hsv[..., 1] = np.where(full, 1, sat * s / np.where(s < 1, 1 - s, 1))


class RandomHue(_HSVLayer):
    """Turn the hue of each RGB image by ``d / 2`` of a full turn, in a random direction
    (each with probability 1/2), ``d`` drawn uniformly from ``factor``: ``f`` in [0, 1]
    gives ``[0, f]``, a pair ``(low, high)`` within [0, 1] gives ``[low, high]`` (as in
    Keras). ``factor=0`` keeps the image; ``1`` turns it by half a turn, the largest
    change a hue turn can make (a full turn is the identity). Grays stay gray."""

    def _change(self, hsv, rng):
        n = hsv.shape[0]
        d = rng.uniform(*self.factor, size=n)
        sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        turn = (0.5 * sign * d).astype(hsv.dtype).reshape(-1, 1, 1)  # (N, 1, 1)
        hsv[..., 0] = np.mod(hsv[..., 0] + turn, 1)


class RGBToGrayscale(_ImageLayer):
    """Luma ``0.299 R + 0.587 G + 0.114 B``: ``(N, H, W, 3) -> (N, H, W, 1)``, always on
    and differentiable."""

    channels = 3

    def call(self, inputs, training=False):
        w = np.asarray(A.LUMA_WEIGHTS, dtype=inputs.dtype)
        return M.sum(inputs * Tensor(w), axis=-1, keepdims=True)  # (N, H, W, 1)

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], 1)


class GrayscaleToRGB(_ImageLayer):
    """Repeat the one channel: ``(N, H, W, 1) -> (N, H, W, 3)``, always on, differentiable."""

    channels = 1

    def call(self, inputs, training=False):
        return M.concatenate([inputs, inputs, inputs], axis=-1)  # (N, H, W, 3)

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], 3)


class RGBToHSV(_ImageLayer):
    """RGB -> HSV, ``(N, H, W, 3) -> (N, H, W, 3)``, always on (a stridenet extension;
    Keras has no such layer): H in [0, 1) turns, S in [0, 1], V the largest channel in the
    input's units. Values must be >= 0. Passes no gradient to its input."""

    channels = 3

    def call(self, inputs, training=False):
        return self._apply(inputs, A.rgb_to_hsv)


class HSVToRGB(_ImageLayer):
    """HSV -> RGB, the inverse of :class:`RGBToHSV` (a stridenet extension; Keras has no
    such layer): H is taken mod 1, S should lie in [0, 1], RGB comes out in V's units.
    Always on; passes no gradient to its input."""

    channels = 3

    def call(self, inputs, training=False):
        return self._apply(inputs, A.hsv_to_rgb)


__all__ = [
    "GaussianNoise", "GrayscaleToRGB", "HSVToRGB", "RGBToGrayscale", "RGBToHSV",
    "RandomBrightness", "RandomContrast", "RandomGrayscale", "RandomHue",
    "RandomSaturation",
]
