"""Augmentation layers with Keras 3 names and arguments (channels last).

Random layers change their input only when called with ``training=True`` (``fit`` does)
and are the identity otherwise, as in Keras. They run the seeded, batch-vectorised
functions of ``stridenet.data.augment`` on the input's array, one draw per image, from
the layer's own generator (an int ``seed``) or the global one (``seed=None``, reset by
``stridenet.utils.set_random_seed``). Geometric and colour layers pass no gradient to
their input, so they belong at the front of a model (they raise, rather than silently
cut the gradient, when training behind a layer with weights); ``GaussianNoise``
(additive) and the two colour conversions are differentiable and may sit anywhere.

Inputs are ``(N, H, W, C)`` batches or single ``(H, W, C)`` images; outputs are float32
(float64 for float64 input). Factors follow Keras: fractions of the image height/width
(translation), of a full turn 2*pi (rotation), of the field of view (zoom) or of
``value_range`` (brightness).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Tensor, is_grad_enabled
from ..autograd import math_ops as M
from ..data import augment as A
from ..data.augment._sampling import affine_resample
from ..seeding import make_generator
from .base import Layer

_FILL_MODES = ("reflect", "wrap", "constant", "nearest", "mirror")


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


def _pair(value):
    return list(value) if isinstance(value, (tuple, list)) else value


class _ImageLayer(Layer):
    """Shared plumbing: image rank checks, unbatched input, constant outputs."""

    any_rank = False

    def build(self, input_shape):
        if not self.any_rank and len(input_shape) not in (3, 4):
            raise ValueError(f"{self.name}: expects images (N, H, W, C) or (H, W, C), got "
                             f"input shape {tuple(input_shape)}")

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
    """Identity unless ``training``; parameters from the layer's or the global generator."""

    _config: tuple = ()  # constructor arguments get_config reports

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                                 or seed < 0):
            raise ValueError(f"{type(self).__name__}: seed must be None or a non-negative "
                             f"int, got {seed!r}")
        self.seed = seed
        # An int seed gives the layer its own stream; None draws from the global one at
        # call time (set_random_seed replaces that generator).
        self._rng = make_generator(seed) if seed is not None else None

    def _generator(self) -> np.random.Generator:
        return make_generator(self._rng)

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


class _ResampleLayer(_RandomLayer):
    """Layers that resample through a coordinate map (translation, rotation, zoom)."""

    _config = ("fill_mode", "interpolation", "fill_value")

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(seed=seed, **kwargs)
        layer = type(self).__name__
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"{layer}: fill_mode must be one of {_FILL_MODES}, "
                             f"got {fill_mode!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"{layer}: interpolation must be 'bilinear' or 'nearest', "
                             f"got {interpolation!r}")
        _bounds(fill_value, layer, "fill_value")
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = float(fill_value)

    def _modes(self):
        return dict(interpolation=self.interpolation, fill_mode=self.fill_mode,
                    fill_value=self.fill_value)


class RandomTranslation(_ResampleLayer):
    """Shift each image by fractions of its size: ``height_factor`` ``f`` shifts by up to
    ``f*H`` rows (a pair ``(low, high)`` in [-1, 1]; positive = down), ``width_factor``
    likewise in columns (positive = right)."""

    _config = (*_ResampleLayer._config, "height_factor", "width_factor")

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor = _bounds(height_factor, "RandomTranslation", "height_factor",
                                     -1.0, 1.0)
        self.width_factor = _bounds(width_factor, "RandomTranslation", "width_factor",
                                    -1.0, 1.0)

    def _augment(self, x, rng):
        return A.random_translate(x, self.height_factor, self.width_factor, seed=rng,
                                  **self._modes())


class RandomRotation(_ResampleLayer):
    """Rotate each image by a fraction of a full turn: ``factor`` ``f`` draws the angle in
    ``[-f * 2pi, f * 2pi]`` (or a ``(low, high)`` pair); positive = counter-clockwise."""

    _config = (*_ResampleLayer._config, "factor")

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.factor = _bounds(factor, "RandomRotation", "factor")

    def _augment(self, x, rng):
        degrees = (self.factor[0] * 360.0, self.factor[1] * 360.0)
        return A.random_rotation(x, degrees, seed=rng, **self._modes())


class RandomZoom(_ResampleLayer):
    """Zoom each image: a draw ``z`` from ``height_factor`` (``f`` -> ``[-f, f]``, or a pair,
    all > -1) shows ``1 + z`` times the field of view, so positive zooms out. With
    ``width_factor=None`` both axes share the draw (aspect ratio kept)."""

    _config = (*_ResampleLayer._config, "height_factor", "width_factor")

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor = _bounds(height_factor, "RandomZoom", "height_factor", lo=-1.0)
        self.width_factor = (None if width_factor is None else
                             _bounds(width_factor, "RandomZoom", "width_factor", lo=-1.0))
        for arg, b in (("height_factor", self.height_factor), ("width_factor",
                                                               self.width_factor)):
            if b is not None and b[0] <= -1.0:
                raise ValueError(f"RandomZoom: {arg} must stay above -1, got {b}")

    def _augment(self, x, rng):
        return A.random_zoom(x, self.height_factor, self.width_factor, seed=rng,
                             **self._modes())


class RandomFlip(_RandomLayer):
    """Flip each image with probability 1/2: ``mode`` is ``"horizontal"``, ``"vertical"``
    or ``"horizontal_and_vertical"`` (two independent draws)."""

    _config = ("mode",)

    def __init__(self, mode="horizontal_and_vertical", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        modes = ("horizontal", "vertical", "horizontal_and_vertical")
        if mode not in modes:
            raise ValueError(f"RandomFlip: mode must be one of {modes}, got {mode!r}")
        self.mode = mode

    def _augment(self, x, rng):
        return A.random_flip(x, self.mode, 0.5, seed=rng)


class RandomCrop(_RandomLayer):
    """``(N, H, W, C) -> (N, height, width, C)``: in training, a random window per image.

    Otherwise (and in training when the image is smaller than the window), as in Keras:
    the largest centred window with the target aspect ratio, resized bilinearly to
    ``height x width`` (the identity when the input already has that size). Keras crops
    a whole batch at one location; here each image draws its own.
    """

    _config = ("height", "width")

    def __init__(self, height, width, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        for arg, v in (("height", height), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"RandomCrop: {arg} must be a positive int, got {v!r}")
        self.height, self.width = height, width

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-3], self.height, self.width, input_shape[-1])

    def _augment(self, x, rng):
        if x.shape[1] < self.height or x.shape[2] < self.width:
            return self._resize_crop(x)
        return A.random_crop(x, self.height, self.width, seed=rng)

    def _inference(self, inputs):
        if tuple(inputs.shape[-3:-1]) == (self.height, self.width):
            return inputs
        return self._apply(inputs, self._resize_crop)

    def _resize_crop(self, x):
        """Centre window with the target aspect ratio -> bilinear resize (half-pixel
        centres: output cell ``o`` reads window cell ``(o + 1/2) * window / size - 1/2``)."""
        n, h, w = x.shape[:3]
        ch = max(1, min(h, int(w * self.height / self.width)))  # at least one pixel
        cw = max(1, min(w, int(h * self.width / self.height)))
        top, left = (h - ch) // 2, (w - cw) // 2
        window = x[:, top:top + ch, left:left + cw]  # (N, ch, cw, C); edges clamp to it
        sy, sx = ch / self.height, cw / self.width
        a = np.zeros((n, 2, 3))
        a[:, 0, 0], a[:, 0, 2] = sy, 0.5 * sy - 0.5
        a[:, 1, 1], a[:, 1, 2] = sx, 0.5 * sx - 0.5
        return affine_resample(window, a, "bilinear", "nearest", 0.0,
                               (self.height, self.width))


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
            return x.copy()
        return np.where(pick, A.rgb_to_grayscale(x), x)  # (N, H, W, 1) broadcasts to 3


def _value_range(value_range, layer):
    if not isinstance(value_range, (tuple, list)):
        raise ValueError(f"{layer}: value_range must be a (low, high) pair, "
                         f"got {value_range!r}")
    lo, hi = _bounds(value_range, layer, "value_range", symmetric=True)
    if lo >= hi:
        raise ValueError(f"{layer}: value_range must have low < high, got {value_range!r}")
    return lo, hi


class RGBToGrayscale(_ImageLayer):
    """Luma ``0.299 R + 0.587 G + 0.114 B``: ``(N, H, W, 3) -> (N, H, W, 1)``, always on
    and differentiable."""

    def build(self, input_shape):
        super().build(input_shape)
        if input_shape[-1] != 3:
            raise ValueError(f"{self.name}: expects 3 channels (RGB), got input shape "
                             f"{tuple(input_shape)}")

    def call(self, inputs, training=False):
        w = np.asarray(A.LUMA_WEIGHTS, dtype=inputs.dtype)
        return M.sum(inputs * Tensor(w), axis=-1, keepdims=True)  # (N, H, W, 1)

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], 1)


class GrayscaleToRGB(_ImageLayer):
    """Repeat the one channel: ``(N, H, W, 1) -> (N, H, W, 3)``, always on, differentiable."""

    def build(self, input_shape):
        super().build(input_shape)
        if input_shape[-1] != 1:
            raise ValueError(f"{self.name}: expects 1 channel, got input shape "
                             f"{tuple(input_shape)}")

    def call(self, inputs, training=False):
        return M.concatenate([inputs, inputs, inputs], axis=-1)  # (N, H, W, 3)

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], 3)


__all__ = [
    "GaussianNoise", "GrayscaleToRGB", "RGBToGrayscale", "RandomBrightness", "RandomContrast",
    "RandomCrop", "RandomFlip", "RandomGrayscale", "RandomRotation", "RandomTranslation",
    "RandomZoom",
]
