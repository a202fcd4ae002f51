"""Noise injection.

Takes a batch ``images: (N, H, W, C)`` of any real dtype and returns float32
(float64 for float64 input); values are not rescaled, so ``stddev`` is in the
images' own units (e.g. 0.1 for images in [0, 1], 25.5 for uint8 images).
"""

from __future__ import annotations

import numpy as np

from ...seeding import make_generator
from . import _common as cm


def gaussian_noise(images, stddev, mean: float = 0.0, value_range=None, seed=None):
    """Add independent Gaussian noise ``N(mean, stddev**2)`` to every value.

    ``stddev``: a number >= 0, or an ``(N,)`` array with one standard deviation per
    image. ``value_range=(low, high)`` clips the result; None leaves it unclipped.
    """
    fn = "gaussian_noise"
    x = cm.image_batch(images, fn)
    mu = cm.real(mean, fn, "mean")
    sd = cm.per_sample(stddev, x.shape[0], fn, "stddev", dtype=x.dtype)
    if np.any(sd < 0):
        raise ValueError(f"{fn}: stddev must be >= 0")
    rng = make_generator(seed)
    z = rng.standard_normal(x.shape, dtype=x.dtype)  # drawn directly in the output dtype
    out = x + (z * sd.reshape(-1, 1, 1, 1) + x.dtype.type(mu))
    return cm.clip_range(out, value_range, fn)


def random_gaussian_noise(images, max_stddev, mean: float = 0.0, value_range=None, seed=None):
    """Gaussian noise whose standard deviation is drawn per image, uniform in
    ``[0, max_stddev]`` (or a ``(low, high)`` pair)."""
    fn = "random_gaussian_noise"
    bounds = cm.value_range(max_stddev, fn, "max_stddev", symmetric=False, lo=0.0)
    x = cm.image_batch(images, fn)
    rng = make_generator(seed)
    sd = cm.draw(rng, bounds, x.shape[0])
    return gaussian_noise(x, sd, mean, value_range, rng)
