"""One output cell of a 3D convolution, every product of it.

    out[d, h, w] = bias + sum_{a, b, c, ch} w[a, b, c, ch] * xp[d*sd + a*dd, h*sh + b*dh,
                                                                w*sw + c*dw, ch]

with xp the zero-padded (D, H, W, C) input. Padding and sizes come from
``ops.kernels.geometry`` (what ``ops.conv3d`` uses); the sum is taken in Python numbers,
so integer inputs give exact integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ops.kernels.geometry import as_tuple, resolve_padding
from .conv import as_bias, as_numbers, check_fits
from .shapes import conv_formulas
from .sizes_nd import AXES_3D
from .trace import Term
from .transpose import _TransposeRendered


class _Rendered(_TransposeRendered):
    """Markdown, HTML and str() as the transposed-convolution traces; own text and repr."""

    def to_text(self, **options) -> str:
        from .render_transpose import render_conv3d_text

        return render_conv3d_text(self, **options)

    def __repr__(self) -> str:
        return (f"<Conv3DCellTrace out[{','.join(map(str, self.cell_index))}] = {self.total}:"
                " print() it for every product>")


@dataclass(eq=False, repr=False)
class Conv3DCellTrace(_Rendered):
    """x: (D, H, W, C), kernel: (KD, KH, KW, C) one filter; ``window``: per axis the input
    coordinates the taps read (negative or past the end: padding); ``patch``: (KD, KH, KW, C)
    the values read, ``patch_pad``: (KD, KH, KW) True where a tap reads padding; ``terms``:
    one Term per (tap, channel) with ``pos`` the (depth, row, col) input coordinates."""

    op: str
    x: np.ndarray
    kernel: np.ndarray
    strides: tuple
    dilation: tuple
    padding: object
    pads: tuple
    formulas: tuple
    out_shape: tuple  # (OD, OH, OW)
    cell_index: tuple  # (d, h, w)
    window: tuple
    patch: np.ndarray
    patch_pad: np.ndarray
    terms: tuple
    bias: object
    total: object


def _as_volume(x, op):
    arr = as_numbers(x, "x", op)
    if arr.ndim == 5 and arr.shape[0] == 1:
        arr = arr[0]
    elif arr.ndim == 3:
        arr = arr[..., None]
    elif arr.ndim != 4:
        raise ValueError(f"{op}: x must have shape (D, H, W), (D, H, W, C) or "
                         f"(1, D, H, W, C) (one volume), got {arr.shape}")
    if 0 in arr.shape:
        raise ValueError(f"{op}: x has an empty axis: shape {arr.shape}")
    return arr  # (D, H, W, C)


def _as_kernel3(kernel, channels, op):
    k = as_numbers(kernel, "kernel", op)
    if k.ndim == 5:
        if k.shape[-1] != 1:
            raise ValueError(f"{op}: explain traces one filter; kernel {k.shape} has "
                             f"{k.shape[-1]} filters (slice one: kernel[..., f:f+1])")
        k = k[..., 0]
    elif k.ndim == 3:
        k = k[..., None]
    elif k.ndim != 4:
        raise ValueError(f"{op}: kernel must have shape (KD, KH, KW), (KD, KH, KW, C) or "
                         f"(KD, KH, KW, C, 1), got {k.shape}")
    if k.shape[-1] != channels:
        raise ValueError(f"{op}: kernel {k.shape} has {k.shape[-1]} channel(s) but x has "
                         f"{channels}")
    if 0 in k.shape:
        raise ValueError(f"{op}: kernel has an empty axis: shape {k.shape}")
    return k  # (KD, KH, KW, C)


def conv3d(x, kernel, strides=1, padding="valid", dilation_rate=1, bias=None,
           cell=(0, 0, 0)) -> Conv3DCellTrace:
    """Trace one output ``cell`` (d, h, w) of a single-filter 3D convolution.

    x: (D, H, W), (D, H, W, C) or (1, D, H, W, C); kernel: (KD, KH, KW), (KD, KH, KW, C) or
    (KD, KH, KW, C, 1); arguments as ``stridenet.ops.conv3d``, whose value at ``cell`` the
    trace's ``total`` equals.

    >>> t = conv3d(np.arange(27).reshape(3, 3, 3), np.ones((2, 2, 2), int), cell=(1, 1, 1))
    >>> t.total, t.out_shape
    (156, (2, 2, 2))
    """
    op = "conv3d"
    xv = _as_volume(x, op)
    k = _as_kernel3(kernel, xv.shape[-1], op)
    b = as_bias(bias, op)
    s = as_tuple(strides, 3, f"{op}: strides")
    d = as_tuple(dilation_rate, 3, f"{op}: dilation_rate")
    sizes, ksizes = xv.shape[:3], k.shape[:3]
    pads = resolve_padding(padding, sizes, ksizes, s, d)
    check_fits(op, sizes, ksizes, d, pads, xv.shape, padding)
    formulas = conv_formulas(padding, sizes, ksizes, s, d, pads, AXES_3D)
    out = tuple(f.value for f in formulas)
    try:
        idx = tuple(int(v) for v in cell)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: cell must be three ints (d, h, w), got {cell!r}") from None
    if len(idx) != 3 or not all(0 <= i < n for i, n in zip(idx, out)):
        raise ValueError(f"{op}: cell {cell!r} is outside the output (D, H, W) = {out}")
    window = tuple(tuple(i * st - p0 + a * dd for a in range(kk))
                   for i, st, (p0, _), dd, kk in zip(idx, s, pads, d, ksizes))
    xs, ks = xv.tolist(), k.tolist()
    terms = []
    patch = np.zeros(k.shape, dtype=xv.dtype)  # (KD, KH, KW, C)
    pad = np.zeros(k.shape[:3], dtype=bool)
    for a, zd in enumerate(window[0]):
        for bb, zr in enumerate(window[1]):
            for c, zc in enumerate(window[2]):
                inside = 0 <= zd < sizes[0] and 0 <= zr < sizes[1] and 0 <= zc < sizes[2]
                pad[a, bb, c] = not inside
                for ch in range(xv.shape[3]):
                    v = xs[zd][zr][zc][ch] if inside else 0
                    patch[a, bb, c, ch] = v
                    wt = ks[a][bb][c][ch]
                    terms.append(Term(wt, v, wt * v, (zd, zr, zc, ch), (a, bb, c, ch),
                                      not inside))
    total = sum(t.product for t in terms)
    if b is not None:
        total += b
    return Conv3DCellTrace(op, xv, k, s, d, padding, pads, formulas, out, idx, window, patch,
                           pad, tuple(terms), b, total)


__all__ = ["Conv3DCellTrace", "conv3d"]
