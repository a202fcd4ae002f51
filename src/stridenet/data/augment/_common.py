"""Argument checks and parameter draws shared by the augmentation functions."""

from __future__ import annotations

import numbers

import numpy as np


def image_batch(images, fn: str, name: str = "images") -> np.ndarray:
    """``images`` as a ``(N, H, W, C)`` float array: float64 stays float64, all else float32."""
    try:
        arr = np.asarray(images)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{fn}: {name} could not be read as an array: {e}") from None
    if arr.dtype == object or arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number) \
            or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{fn}: {name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 4:
        raise ValueError(f"{fn}: {name} must have shape (N, H, W, C), got shape {arr.shape}")
    return arr.astype(np.float64 if arr.dtype == np.float64 else np.float32, copy=False)


def check_channels(images: np.ndarray, channels: int, fn: str, name: str = "images") -> None:
    if images.shape[-1] != channels:
        raise ValueError(f"{fn}: {name} must have {channels} channel(s) on the last axis, "
                         f"got shape {images.shape}")


def real(value, fn: str, name: str, lo=None, hi=None) -> float:
    """A finite real scalar within ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a real number, got {value!r}")
    v = float(value)
    if not np.isfinite(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValueError(f"{fn}: {name} must be a finite number in "
                         f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}], "
                         f"got {value!r}")
    return v


def per_sample(value, n: int, fn: str, name: str, dtype=np.float64) -> np.ndarray:
    """A scalar or a length-``n`` array of finite numbers, as shape ``(n,)``."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{fn}: {name} must be a scalar or have shape ({n},) (one per "
                         f"image), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{fn}: {name} must be finite")
    return arr.astype(dtype, copy=False)


def value_range(spec, fn: str, name: str, symmetric: bool = True, lo=None, hi=None):
    """``(low, high)`` from a number ``f`` (``(-f, f)``; ``(0, f)`` if not symmetric) or a pair."""
    if isinstance(spec, (tuple, list)):
        if len(spec) != 2:
            raise ValueError(f"{fn}: {name} must be a number or a (low, high) pair, got {spec!r}")
        a = real(spec[0], fn, name, lo, hi)
        b = real(spec[1], fn, name, lo, hi)
        if a > b:
            raise ValueError(f"{fn}: {name} must have low <= high, got {spec!r}")
        return a, b
    f = real(spec, fn, name, lo=0.0)
    a, b = (-f, f) if symmetric else (0.0, f)
    if (lo is not None and a < lo) or (hi is not None and b > hi):
        raise ValueError(f"{fn}: {name}={spec!r} gives the range ({a}, {b}), outside "
                         f"[{lo}, {hi}]")
    return a, b


def draw(rng: np.random.Generator, bounds, n: int) -> np.ndarray:
    """``n`` numbers uniform in ``[low, high)`` (all equal to ``low`` when the range is empty)."""
    a, b = bounds
    return rng.uniform(a, b, size=n) if b > a else np.full(n, a)


def clip_range(images: np.ndarray, value_range, fn: str) -> np.ndarray:
    """Clip to ``value_range`` = ``(low, high)``, or return unchanged when it is None."""
    if value_range is None:
        return images
    lo, hi = value_range_pair(value_range, fn)
    return np.clip(images, lo, hi).astype(images.dtype, copy=False)


def value_range_pair(value_range, fn: str):
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"{fn}: value_range must be a (low, high) pair or None, "
                         f"got {value_range!r}")
    lo = real(value_range[0], fn, "value_range")
    hi = real(value_range[1], fn, "value_range")
    if lo >= hi:
        raise ValueError(f"{fn}: value_range must have low < high, got {value_range!r}")
    return lo, hi
