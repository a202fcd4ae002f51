"""Geometric augmentation layers: translation, rotation, zoom, flip and crop (channels
last, Keras 3 names and arguments).

They move pixels and pass no gradient to their input, so they belong at the front of a
model. Factors follow Keras: fractions of the image height/width (translation), of a full
turn 2*pi (rotation) or of the field of view (zoom).
"""

from __future__ import annotations

import numpy as np

from ..data import augment as A
from ..data.augment._sampling import affine_resample
from .preprocessing_base import _bounds, _RandomLayer

_FILL_MODES = ("reflect", "wrap", "constant", "nearest", "mirror")


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


__all__ = ["RandomCrop", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom"]
