"""Geometric augmentation: flips, crops, translation, rotation and zoom.

All functions take a batch ``images: (N, H, W, C)`` (any real dtype) and return a
new float array (float64 for float64 input, else float32); pixel values are not
rescaled. Random variants draw one set of parameters per image from a single
generator made from ``seed`` (None, an int or a ``np.random.Generator``), so the
same seed gives bit-identical output.

Translation, rotation and zoom resample the image through a coordinate map (see
``_sampling``): ``interpolation`` is ``"bilinear"`` or ``"nearest"``, and points that
fall outside the image are filled per ``fill_mode`` (``"constant"`` with
``fill_value``, ``"nearest"``, ``"reflect"``, ``"mirror"`` or ``"wrap"``).
"""

from __future__ import annotations

import numbers

import numpy as np

from ...seeding import make_generator
from . import _common as cm
from ._sampling import affine_resample, check_modes, linear_about_centre

# ---------------------------------------------------------------------------- flips


def flip_left_right(images) -> np.ndarray:
    """Mirror each image horizontally: ``(N, H, W, C) -> (N, H, W, C)``."""
    return cm.image_batch(images, "flip_left_right")[:, :, ::-1].copy()


def flip_up_down(images) -> np.ndarray:
    """Mirror each image vertically: ``(N, H, W, C) -> (N, H, W, C)``."""
    return cm.image_batch(images, "flip_up_down")[:, ::-1].copy()


_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


def random_flip(images, mode: str = "horizontal", probability: float = 0.5, seed=None):
    """Flip each image with ``probability``; ``mode`` is ``"horizontal"``, ``"vertical"`` or
    ``"horizontal_and_vertical"`` (the two flips drawn independently)."""
    fn = "random_flip"
    x = cm.image_batch(images, fn)
    if mode not in _FLIP_MODES:
        raise ValueError(f"{fn}: mode must be one of {_FLIP_MODES}, got {mode!r}")
    p = cm.real(probability, fn, "probability", 0.0, 1.0)
    rng = make_generator(seed)
    n = x.shape[0]
    out = x
    if mode in ("horizontal", "horizontal_and_vertical"):
        flip = (rng.random(n) < p).reshape(n, 1, 1, 1)
        out = np.where(flip, out[:, :, ::-1], out)
    if mode in ("vertical", "horizontal_and_vertical"):
        flip = (rng.random(n) < p).reshape(n, 1, 1, 1)
        out = np.where(flip, out[:, ::-1], out)
    return out  # np.where made a new array


# ---------------------------------------------------------------------------- crops


def _padding(padding, fn: str):
    """``((top, bottom), (left, right))`` from an int, a pair ``(ph, pw)`` or the full form."""
    def count(v):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ValueError(f"{fn}: padding must hold non-negative ints, got {padding!r}")
        return int(v)

    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        p = count(padding)
        return (p, p), (p, p)
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        if all(isinstance(v, (tuple, list)) and len(v) == 2 for v in padding):
            return tuple(tuple(count(v) for v in pair) for pair in padding)
        ph, pw = count(padding[0]), count(padding[1])
        return (ph, ph), (pw, pw)
    raise ValueError(f"{fn}: padding must be an int, (ph, pw) or ((top, bottom), (left, right)),"
                     f" got {padding!r}")


def _window_size(height, width, h: int, w: int, fn: str):
    for name, v, limit in (("height", height, h), ("width", width, w)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not 0 < v <= limit:
            raise ValueError(f"{fn}: {name} must be an int in [1, {limit}] (the image size, "
                             f"padding included), got {v!r}")
    return int(height), int(width)


def crop(images, top, left, height: int, width: int) -> np.ndarray:
    """Cut an ``height x width`` window from each image at per-image offsets ``top, left``.

    ``images: (N, H, W, C) -> (N, height, width, C)``; offsets are ints or (N,) int
    arrays, and every window must lie inside the image.
    """
    fn = "crop"
    x = cm.image_batch(images, fn)
    n, h, w, c = x.shape
    height, width = _window_size(height, width, h, w, fn)
    top, left = np.asarray(top), np.asarray(left)
    for name, v in (("top", top), ("left", left)):
        if v.ndim != 0 and v.shape != (n,):
            raise ValueError(f"{fn}: {name} must be an int or have shape ({n},), got {v.shape}")
    top, left = np.broadcast_to(top, (n,)), np.broadcast_to(left, (n,))
    if not (np.issubdtype(top.dtype, np.integer) and np.issubdtype(left.dtype, np.integer)):
        raise TypeError(f"{fn}: top and left must be ints, got {top.dtype} and {left.dtype}")
    if np.any(top < 0) or np.any(top + height > h) or np.any(left < 0) or \
            np.any(left + width > w):
        raise ValueError(f"{fn}: a {height}x{width} window at the given offsets leaves the "
                         f"{h}x{w} image")
    rows = top.reshape(n, 1, 1) + np.arange(height).reshape(1, height, 1)  # (N, height, 1)
    cols = left.reshape(n, 1, 1) + np.arange(width).reshape(1, 1, width)  # (N, 1, width)
    lin = (np.arange(n).reshape(n, 1, 1) * h + rows) * w + cols  # (N, height, width)
    return np.take(x.reshape(n * h * w, c), lin, axis=0)  # (N, height, width, C)


def center_crop(images, height: int, width: int) -> np.ndarray:
    """The central ``height x width`` window of each image (extra pixel goes bottom/right)."""
    x = cm.image_batch(images, "center_crop")
    h, w = x.shape[1:3]
    height, width = _window_size(height, width, h, w, "center_crop")
    return crop(x, (h - height) // 2, (w - width) // 2, height, width)


def random_crop(images, height: int | None = None, width: int | None = None, padding=0,
                fill_value: float = 0.0, seed=None) -> np.ndarray:
    """Pad each image by ``padding`` (filled with ``fill_value``), then cut a random
    ``height x width`` window: ``(N, H, W, C) -> (N, height, width, C)``.

    ``height``/``width`` default to the input's, so ``random_crop(x, padding=4)`` is the
    usual random shift by up to 4 pixels.
    """
    fn = "random_crop"
    x = cm.image_batch(images, fn)
    (pt, pb), (pl, pr) = _padding(padding, fn)
    fill = cm.real(fill_value, fn, "fill_value")
    n, h, w, c = x.shape
    if pt or pb or pl or pr:
        x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
    ph, pw = x.shape[1:3]
    height, width = _window_size(h if height is None else height,
                                 w if width is None else width, ph, pw, fn)
    rng = make_generator(seed)
    top = rng.integers(0, ph - height + 1, size=n)
    left = rng.integers(0, pw - width + 1, size=n)
    return crop(x, top, left, height, width)


# ------------------------------------------------------------- affine resampling


def _resample(fn, images, matrices_fn, interpolation, fill_mode, fill_value):
    x = cm.image_batch(images, fn)
    check_modes(interpolation, fill_mode, fn)
    fill = cm.real(fill_value, fn, "fill_value")
    return affine_resample(x, matrices_fn(x.shape[0], *x.shape[1:3]), interpolation,
                           fill_mode, fill)


def translate(images, dy, dx, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """Shift each image by ``dy`` rows down and ``dx`` columns right (scalars or (N,) arrays,
    fractional shifts interpolate): ``out[y, x] = in[y - dy, x - dx]``."""
    fn = "translate"

    def matrices(n, h, w):
        a = np.zeros((n, 2, 3))
        a[:, 0, 0] = a[:, 1, 1] = 1.0
        a[:, 0, 2] = -cm.per_sample(dy, n, fn, "dy")
        a[:, 1, 2] = -cm.per_sample(dx, n, fn, "dx")
        return a

    return _resample(fn, images, matrices, interpolation, fill_mode, fill_value)


def random_translate(images, height_factor, width_factor, interpolation="bilinear",
                     fill_mode="constant", fill_value=0.0, seed=None):
    """Shift each image by a random fraction of its size.

    ``height_factor``: ``f`` (shift drawn in ``[-f*H, f*H]``) or a ``(low, high)`` pair of
    fractions in [-1, 1], positive = down; ``width_factor`` likewise, positive = right.
    """
    fn = "random_translate"
    hb = cm.value_range(height_factor, fn, "height_factor", lo=-1.0, hi=1.0)
    wb = cm.value_range(width_factor, fn, "width_factor", lo=-1.0, hi=1.0)
    x = cm.image_batch(images, fn)
    rng = make_generator(seed)
    n, h, w = x.shape[:3]
    dy = cm.draw(rng, hb, n) * h
    dx = cm.draw(rng, wb, n) * w
    return translate(x, dy, dx, interpolation, fill_mode, fill_value)


def rotate(images, degrees, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """Rotate each image counter-clockwise (as displayed) about its centre by ``degrees``
    (a scalar or an (N,) array)."""
    fn = "rotate"

    def matrices(n, h, w):
        t = np.deg2rad(cm.per_sample(degrees, n, fn, "degrees"))
        cos, sin = np.cos(t), np.sin(t)
        # with rows pointing down, a counter-clockwise turn reads the source at
        # (row, col) = c + [[cos, sin], [-sin, cos]] (p - c)
        m = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], 1)  # (N, 2, 2)
        return linear_about_centre(m, h, w)

    return _resample(fn, images, matrices, interpolation, fill_mode, fill_value)


def random_rotation(images, degrees, interpolation="bilinear", fill_mode="constant",
                    fill_value=0.0, seed=None):
    """Rotate each image by an angle uniform in ``[-degrees, degrees]`` (or a
    ``(low, high)`` pair of degrees); positive = counter-clockwise."""
    fn = "random_rotation"
    bounds = cm.value_range(degrees, fn, "degrees")
    x = cm.image_batch(images, fn)
    angles = cm.draw(make_generator(seed), bounds, x.shape[0])
    return rotate(x, angles, interpolation, fill_mode, fill_value)


def zoom(images, scale_y, scale_x=None, interpolation="bilinear", fill_mode="constant",
         fill_value=0.0):
    """Magnify each image about its centre by ``scale_y`` rows-wise and ``scale_x``
    column-wise (scalars or (N,) arrays, > 0; ``scale_x`` defaults to ``scale_y``).
    ``scale > 1`` zooms in, ``scale < 1`` zooms out."""
    fn = "zoom"

    def matrices(n, h, w):
        sy = cm.per_sample(scale_y, n, fn, "scale_y")
        sx = sy if scale_x is None else cm.per_sample(scale_x, n, fn, "scale_x")
        if np.any(sy <= 0) or np.any(sx <= 0):
            raise ValueError(f"{fn}: scales must be > 0")
        m = np.zeros((n, 2, 2))
        m[:, 0, 0] = 1.0 / sy  # the source is the output point pulled toward the centre
        m[:, 1, 1] = 1.0 / sx
        return linear_about_centre(m, h, w)

    return _resample(fn, images, matrices, interpolation, fill_mode, fill_value)


def random_zoom(images, height_factor, width_factor=None, interpolation="bilinear",
                fill_mode="constant", fill_value=0.0, seed=None):
    """Zoom each image by a random amount, with Keras's ``RandomZoom`` factors.

    ``height_factor``: ``f`` (drawn in ``[-f, f]``) or a ``(low, high)`` pair with
    ``low > -1``; a draw ``z`` shows ``1 + z`` times the field of view, so positive
    values zoom out and negative values zoom in. ``width_factor=None`` uses the same
    draw for both axes (keeping the aspect ratio).
    """
    fn = "random_zoom"
    hb = cm.value_range(height_factor, fn, "height_factor")
    wb = None if width_factor is None else cm.value_range(width_factor, fn, "width_factor")
    for name, b in (("height_factor", hb), ("width_factor", wb)):
        if b is not None and b[0] <= -1.0:
            raise ValueError(f"{fn}: {name} must stay above -1 (a zoom of 1 + z > 0), "
                             f"got {b}")
    x = cm.image_batch(images, fn)
    rng = make_generator(seed)
    n = x.shape[0]
    zy = 1.0 + cm.draw(rng, hb, n)
    zx = zy if wb is None else 1.0 + cm.draw(rng, wb, n)
    return zoom(x, 1.0 / zy, 1.0 / zx, interpolation, fill_mode, fill_value)
