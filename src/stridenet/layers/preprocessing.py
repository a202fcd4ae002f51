"""Augmentation and colour-space layers with Keras 3 names and arguments (channels last).

Random layers change their input only when called with ``training=True`` (``fit`` does)
and are the identity otherwise, as in Keras. They run the seeded, batch-vectorised
functions of ``stridenet.data.augment`` on the input's array, one draw per image, from
the layer's own generator (an int ``seed``) or the global one (``seed=None``, reset by
``stridenet.utils.set_random_seed``). Geometric and colour layers pass no gradient to
their input, so they belong at the front of a model (they raise, rather than silently
cut the gradient, when training behind a layer with weights); ``GaussianNoise``
(additive) and the two grayscale conversions are differentiable and may sit anywhere.

Inputs are ``(N, H, W, C)`` batches or single ``(H, W, C)`` images; outputs are float32
(float64 for float64 input).

The layers live in two modules, re-exported here: ``preprocessing_geometric``
(translation, rotation, zoom, flip, crop) and ``preprocessing_color`` (noise,
brightness, contrast, grayscale, saturation, hue, RGB <-> grayscale and RGB <-> HSV);
their shared base classes are in ``preprocessing_base``.
"""

from __future__ import annotations

from .preprocessing_color import (
    GaussianNoise,
    GrayscaleToRGB,
    HSVToRGB,
    RandomBrightness,
    RandomContrast,
    RandomGrayscale,
    RandomHue,
    RandomSaturation,
    RGBToGrayscale,
    RGBToHSV,
)
from .preprocessing_geometric import (
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)

__all__ = [
    "GaussianNoise", "GrayscaleToRGB", "HSVToRGB", "RGBToGrayscale", "RGBToHSV",
    "RandomBrightness", "RandomContrast", "RandomCrop", "RandomFlip", "RandomGrayscale",
    "RandomHue", "RandomRotation", "RandomSaturation", "RandomTranslation", "RandomZoom",
]
