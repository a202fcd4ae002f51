"""Colour-space transforms and colour augmentation.

Batches are ``(N, H, W, C)``, returned as float32 (float64 for float64 input).
Values are not rescaled: brightness deltas are in the images' own units, and the
HSV form keeps ``V`` in those units while ``H`` (a fraction of a full turn, in
[0, 1)) and ``S`` (in [0, 1]) do not depend on the scale. So uint8 images work as
they are. ``value_range=(low, high)`` clips a result; None leaves it unclipped.

Definitions, per pixel with ``max``/``min`` over R, G, B:

- grayscale (ITU-R BT.601 luma): ``Y = 0.299 R + 0.587 G + 0.114 B``
- ``V = max``, ``S = (max - min) / max`` (0 where ``max = 0``), and ``H`` is the
  position on the colour hexagon: ``((G - B) / d) mod 6`` when R is the max,
  ``(B - R) / d + 2`` when G is, ``(R - G) / d + 4`` when B is (``d = max - min``;
  ``H = 0`` for grays), divided by 6.
- back: channel ``k = (n + 6 H) mod 6`` for ``n = 5, 3, 1`` (R, G, B) is
  ``V - V S clip(min(k, 4 - k), 0, 1)``.
"""

from __future__ import annotations

import numpy as np

from ...seeding import make_generator
from . import _common as cm

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601; they sum to 1, so grays stay put


def rgb_to_grayscale(images) -> np.ndarray:
    """Luma of each pixel: ``(N, H, W, 3) -> (N, H, W, 1)``."""
    x = cm.image_batch(images, "rgb_to_grayscale")
    cm.check_channels(x, 3, "rgb_to_grayscale")
    return x @ np.asarray(LUMA_WEIGHTS, dtype=x.dtype).reshape(3, 1)  # (N, H, W, 1)


def grayscale_to_rgb(images) -> np.ndarray:
    """Repeat the single channel three times: ``(N, H, W, 1) -> (N, H, W, 3)``."""
    x = cm.image_batch(images, "grayscale_to_rgb")
    cm.check_channels(x, 1, "grayscale_to_rgb")
    return np.repeat(x, 3, axis=-1)


def _non_negative(x: np.ndarray, fn: str) -> None:
    if x.size and x.min() < 0:
        raise ValueError(f"{fn}: RGB values must be >= 0 for HSV, got a minimum of {x.min()}")


def rgb_to_hsv(images) -> np.ndarray:
    """RGB -> HSV: ``(N, H, W, 3) -> (N, H, W, 3)`` with H in [0, 1), S in [0, 1] and V
    the max channel (same units as the input). Values must be >= 0."""
    fn = "rgb_to_hsv"
    x = cm.image_batch(images, fn)
    cm.check_channels(x, 3, fn)
    _non_negative(x, fn)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v = x.max(axis=-1)
    d = v - x.min(axis=-1)
    s = np.where(v > 0, d / np.where(v > 0, v, 1), 0)
    dd = np.where(d > 0, d, 1)  # grays: any divisor, the hue is set to 0 below
    h = np.where(v == r, np.mod((g - b) / dd, 6),
                 np.where(v == g, (b - r) / dd + 2, (r - g) / dd + 4))
    h = np.where(d > 0, h / 6, 0)
    h = np.where(h >= 1, h - 1, h)  # mod 6 can round to exactly 6 for tiny negative values
    return np.stack([h, s, v], axis=-1).astype(x.dtype, copy=False)


def hsv_to_rgb(images) -> np.ndarray:
    """HSV -> RGB, the inverse of :func:`rgb_to_hsv`: ``(N, H, W, 3) -> (N, H, W, 3)``.
    H is taken mod 1; S should be in [0, 1]."""
    fn = "hsv_to_rgb"
    x = cm.image_batch(images, fn)
    cm.check_channels(x, 3, fn)
    h6 = np.mod(x[..., 0:1], 1) * 6  # (N, H, W, 1)
    s, v = x[..., 1:2], x[..., 2:3]
    k = np.mod(np.asarray([5, 3, 1], dtype=x.dtype) + h6, 6)  # (N, H, W, 3)
    return v - v * s * np.clip(np.minimum(k, 4 - k), 0, 1)


def adjust_brightness(images, delta, value_range=None) -> np.ndarray:
    """Add ``delta`` (a number or one per image, (N,)) to every value."""
    fn = "adjust_brightness"
    x = cm.image_batch(images, fn)
    d = cm.per_sample(delta, x.shape[0], fn, "delta", dtype=x.dtype).reshape(-1, 1, 1, 1)
    return cm.clip_range(x + d, value_range, fn)


def adjust_contrast(images, factor, value_range=None) -> np.ndarray:
    """Scale each channel's deviation from its per-image mean by ``factor`` (>= 0; a
    number or one per image): ``(x - mean) * factor + mean``."""
    fn = "adjust_contrast"
    x = cm.image_batch(images, fn)
    f = cm.per_sample(factor, x.shape[0], fn, "factor", dtype=x.dtype).reshape(-1, 1, 1, 1)
    if np.any(f < 0):
        raise ValueError(f"{fn}: factor must be >= 0")
    mean = x.mean(axis=(1, 2), keepdims=True)  # (N, 1, 1, C)
    return cm.clip_range((x - mean) * f + mean, value_range, fn)


def adjust_saturation(images, factor, value_range=None) -> np.ndarray:
    """Multiply the HSV saturation by ``factor`` (>= 0; a number or one per image),
    clipped to [0, 1]. ``factor=0`` gives grays; RGB input, values >= 0."""
    fn = "adjust_saturation"
    hsv = rgb_to_hsv(images)
    f = cm.per_sample(factor, hsv.shape[0], fn, "factor", dtype=hsv.dtype).reshape(-1, 1, 1)
    if np.any(f < 0):
        raise ValueError(f"{fn}: factor must be >= 0")
    hsv[..., 1] = np.clip(hsv[..., 1] * f, 0, 1)
    return cm.clip_range(hsv_to_rgb(hsv), value_range, fn)


def adjust_hue(images, delta, value_range=None) -> np.ndarray:
    """Turn the hue by ``delta`` (a fraction of a full turn; a number or one per image).
    RGB input, values >= 0."""
    fn = "adjust_hue"
    hsv = rgb_to_hsv(images)
    d = cm.per_sample(delta, hsv.shape[0], fn, "delta", dtype=hsv.dtype).reshape(-1, 1, 1)
    hsv[..., 0] = np.mod(hsv[..., 0] + d, 1)
    return cm.clip_range(hsv_to_rgb(hsv), value_range, fn)


def random_brightness(images, max_delta, value_range=None, seed=None) -> np.ndarray:
    """Add a delta drawn per image, uniform in ``[-max_delta, max_delta]`` (or a
    ``(low, high)`` pair)."""
    fn = "random_brightness"
    bounds = cm.value_range(max_delta, fn, "max_delta")
    x = cm.image_batch(images, fn)
    return adjust_brightness(x, cm.draw(make_generator(seed), bounds, x.shape[0]), value_range)


def _factor_bounds(factor, fn: str):
    """``f`` -> ``(max(0, 1 - f), 1 + f)``; a ``(low, high)`` pair gives the factors directly."""
    if isinstance(factor, (tuple, list)):
        return cm.value_range(factor, fn, "factor", lo=0.0)
    f = cm.real(factor, fn, "factor", lo=0.0)
    return max(0.0, 1.0 - f), 1.0 + f


def random_contrast(images, factor, value_range=None, seed=None) -> np.ndarray:
    """Contrast factor per image, uniform in ``[1 - factor, 1 + factor]`` (floored at 0),
    or in ``[low, high]`` for a pair."""
    fn = "random_contrast"
    bounds = _factor_bounds(factor, fn)
    x = cm.image_batch(images, fn)
    return adjust_contrast(x, cm.draw(make_generator(seed), bounds, x.shape[0]), value_range)


def random_saturation(images, factor, value_range=None, seed=None) -> np.ndarray:
    """Saturation factor per image, uniform in ``[1 - factor, 1 + factor]`` (floored at
    0), or in ``[low, high]`` for a pair."""
    fn = "random_saturation"
    bounds = _factor_bounds(factor, fn)
    x = cm.image_batch(images, fn)
    return adjust_saturation(x, cm.draw(make_generator(seed), bounds, x.shape[0]), value_range)


def random_hue(images, max_delta, value_range=None, seed=None) -> np.ndarray:
    """Hue turn per image, uniform in ``[-max_delta, max_delta]`` turns (``max_delta`` in
    [0, 0.5]) or a ``(low, high)`` pair."""
    fn = "random_hue"
    bounds = cm.value_range(max_delta, fn, "max_delta", lo=-0.5, hi=0.5)
    x = cm.image_batch(images, fn)
    return adjust_hue(x, cm.draw(make_generator(seed), bounds, x.shape[0]), value_range)
