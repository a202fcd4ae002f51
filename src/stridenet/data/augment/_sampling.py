"""Resampling a batch of images through per-image affine coordinate maps.

Every output pixel ``p = (y, x)`` of image ``n`` reads the input at the source point
``s = A[n] @ (y, x, 1)``, where ``A[n]`` is a 2x3 matrix (the inverse of the
transform applied to the picture). Source points between pixels are read with
bilinear interpolation (the four surrounding pixels weighted by
``(1 - fy)(1 - fx)``, ``(1 - fy) fx``, ``fy (1 - fx)``, ``fy fx``) or by taking the
nearest pixel. Points outside the image follow ``fill_mode``:

- ``constant``: ``fill_value``      (``k k k | a b c d | k k k``)
- ``nearest``:  the edge pixel      (``a a a | a b c d | d d d``)
- ``reflect``:  mirrored about the edge of the last pixel (``c b a | a b c d | d c b``)
- ``mirror``:   mirrored about the centre of the last pixel (``d c b | a b c d | c b a``)
- ``wrap``:     periodic            (``b c d | a b c d | a b c``)
"""

from __future__ import annotations

import numpy as np

FILL_MODES = ("constant", "nearest", "reflect", "mirror", "wrap")
INTERPOLATIONS = ("bilinear", "nearest")


def check_modes(interpolation: str, fill_mode: str, fn: str) -> None:
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"{fn}: interpolation must be one of {INTERPOLATIONS}, "
                         f"got {interpolation!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"{fn}: fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")


def _fold(i: np.ndarray, n: int, fill_mode: str) -> np.ndarray:
    """Integer indices folded into ``[0, n)`` by ``fill_mode`` (all but ``constant``)."""
    if fill_mode == "nearest":
        return np.clip(i, 0, n - 1)
    if fill_mode == "wrap":
        return np.mod(i, n)
    if fill_mode == "reflect":  # period 2n: a b c d d c b a
        m = np.mod(i, 2 * n)
        return np.where(m >= n, 2 * n - 1 - m, m)
    # mirror: period 2n - 2: a b c d c b (a single row/column maps to itself)
    if n == 1:
        return np.zeros_like(i)
    m = np.mod(i, 2 * n - 2)
    return np.where(m >= n, 2 * n - 2 - m, m)


def affine_resample(images: np.ndarray, matrices: np.ndarray, interpolation: str = "bilinear",
                    fill_mode: str = "constant", fill_value: float = 0.0,
                    output_size=None) -> np.ndarray:
    """Resample ``images: (N, H, W, C) -> (N, OH, OW, C)`` through ``matrices: (N, 2, 3)``.

    ``matrices[n]`` maps output (row, col, 1) to source (row, col) in pixel units;
    ``output_size`` = (OH, OW) defaults to (H, W). Keeps the float dtype of ``images``
    (coordinates are computed in it too).
    """
    n, h, w, c = images.shape
    oh, ow = (h, w) if output_size is None else output_size
    dt = images.dtype
    a = np.asarray(matrices, dtype=np.float64).astype(dt)
    rows = np.arange(oh, dtype=dt).reshape(1, oh, 1)
    cols = np.arange(ow, dtype=dt).reshape(1, 1, ow)

    def coef(i, j):
        return a[:, i, j].reshape(n, 1, 1)

    sy = coef(0, 0) * rows + coef(0, 1) * cols + coef(0, 2)  # (N, OH, OW) source rows
    sx = coef(1, 0) * rows + coef(1, 1) * cols + coef(1, 2)  # (N, OH, OW) source cols
    src, fold = images, fill_mode != "constant"
    if not fold:
        # A border of fill_value (one cell before, two after, for the +1 bilinear tap)
        # makes every outside point read the fill: coordinates beyond it are clamped onto
        # it, which changes no result since both taps there are fill already.
        src = np.pad(images, ((0, 0), (1, 2), (1, 2), (0, 0)), constant_values=fill_value)
        sy = np.clip(sy, -1, h, out=sy) + 1  # padded coordinates
        sx = np.clip(sx, -1, w, out=sx) + 1
    hs, ws = src.shape[1:3]
    flat = src.reshape(n * hs * ws, c)  # (N*HS*WS, C)
    base = (np.arange(n) * (hs * ws)).reshape(n, 1, 1)

    def gather(iy, ix):  # pixels src[n, iy, ix]: (N, OH, OW) indices -> (N, OH, OW, C)
        if fold:
            iy, ix = _fold(iy, h, fill_mode), _fold(ix, w, fill_mode)
        return np.take(flat, base + iy * ws + ix, axis=0)

    if interpolation == "nearest":
        # round half up, so a point exactly between two pixels picks the lower-right one
        return gather(np.floor(sy + 0.5).astype(np.intp), np.floor(sx + 0.5).astype(np.intp))
    y0 = np.floor(sy)
    x0 = np.floor(sx)
    fy = (sy - y0)[..., None]  # (N, OH, OW, 1) weights of the lower/right taps
    fx = (sx - x0)[..., None]
    y0 = y0.astype(np.intp)
    x0 = x0.astype(np.intp)
    top = gather(y0, x0) * (1 - fx) + gather(y0, x0 + 1) * fx
    bottom = gather(y0 + 1, x0) * (1 - fx) + gather(y0 + 1, x0 + 1) * fx
    return top * (1 - fy) + bottom * fy


def centre(h: int, w: int):
    """Centre of an ``h x w`` pixel grid in pixel-index coordinates."""
    return (h - 1) / 2.0, (w - 1) / 2.0


def linear_about_centre(m: np.ndarray, h: int, w: int) -> np.ndarray:
    """2x3 source maps ``s = c + M (p - c)`` for per-image 2x2 matrices ``m: (N, 2, 2)``."""
    cy, cx = centre(h, w)
    c = np.array([cy, cx])
    out = np.empty((m.shape[0], 2, 3))
    out[:, :, :2] = m
    out[:, :, 2] = c - m @ c
    return out
