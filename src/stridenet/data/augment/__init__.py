"""Seeded, vectorised augmentation of image batches ``(N, H, W, C)``.

Pure functions: each returns a new float array (float64 for float64 input, else
float32) and leaves its input untouched. Random ones take ``seed`` (None, an int or
a ``np.random.Generator``) and draw one set of parameters per image, so the same
seed gives bit-identical output.
"""

from .color import (
    LUMA_WEIGHTS,
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    grayscale_to_rgb,
    hsv_to_rgb,
    random_brightness,
    random_contrast,
    random_hue,
    random_saturation,
    rgb_to_grayscale,
    rgb_to_hsv,
)
from .geometric import (
    center_crop,
    crop,
    flip_left_right,
    flip_up_down,
    random_crop,
    random_flip,
    random_rotation,
    random_translate,
    random_zoom,
    rotate,
    translate,
    zoom,
)
from .noise import gaussian_noise, random_gaussian_noise

__all__ = [
    "LUMA_WEIGHTS",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "center_crop",
    "crop",
    "flip_left_right",
    "flip_up_down",
    "gaussian_noise",
    "grayscale_to_rgb",
    "hsv_to_rgb",
    "random_brightness",
    "random_contrast",
    "random_crop",
    "random_flip",
    "random_gaussian_noise",
    "random_hue",
    "random_rotation",
    "random_saturation",
    "random_translate",
    "random_zoom",
    "rgb_to_grayscale",
    "rgb_to_hsv",
    "rotate",
    "translate",
    "zoom",
]
