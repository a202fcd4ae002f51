"""Compiled twin of the col2im scatter of ``conv_backward``: the input gradient from the
columns ``back = g @ W^T``.

Image by image, the same additions in the same order as the NumPy twin's strided add per
kernel tap onto zeros (taps (a, b) in row-major order; within one tap no two outputs share
a cell), so the results agree bit for bit. The difference is where the data is: the
gradient of one image (H*W*C) stays in the first-level cache while all its taps are added,
each tap's output row is one run of adjacent cells (OW*C contiguous floats when the stride
is 1), and the cells of the padding are skipped instead of added and cropped -- no padded
buffer, no cropping copy.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def _first_last(k, size, pad, stride, dilation, out_size):
    """The outputs [o0, o1) that read a real (unpadded) cell through tap k of one axis."""
    off = k * dilation - pad  # the cell output o reads: o*stride + off
    o0 = 0 if off >= 0 else (-off + stride - 1) // stride
    o1 = min(out_size, (size - 1 - off) // stride + 1) if size - 1 - off >= 0 else 0
    return o0, max(o0, o1), off


@jit
def _scatter(back, out, sh, sw, dh, dw, pt, pl):
    """back: (n, OH, OW, KH, KW, C), out: (n, H, W, C), both C-contiguous.

    Indices are unsigned: numba then skips its negative-index wraparound, which otherwise
    keeps LLVM from vectorising the inner runs (measured 1.5-2x slower)."""
    n, oh, ow, kh, kw, c = back.shape
    h, wd = out.shape[1], out.shape[2]
    src_all = back.reshape(n, oh * ow * kh * kw * c)
    dst_all = out.reshape(n, h * wd * c)
    zero = out.dtype.type(0)
    cells = kh * kw * c  # one output cell's row of back
    runs = sw == 1 and dw == 1  # tap row a of one output cell lands on adjacent cells
    for im in range(n):
        dst = dst_all[im]
        src = src_all[im]
        for k in range(np.uintp(h * wd * c)):
            dst[k] = zero
        for a in range(kh):
            i0, i1, roff = _first_last(a, h, pt, sh, dh, oh)
            if runs:
                # taps (a, 0..KW-1) of output (i, j) are KW*C adjacent values of back and
                # go to KW*C adjacent cells: one run per (i, j). Outputs j in descending
                # order: a cell then receives its taps b in ascending order, as NumPy adds.
                for i in range(i0, i1):
                    d_row = (i * sh + roff) * wd
                    for j in range(ow - 1, -1, -1):
                        b0 = max(0, pl - j)  # taps left of the input's first column
                        b1 = min(kw, wd + pl - j)  # taps right of its last column
                        if b1 <= b0:
                            continue
                        d = np.uintp((d_row + j - pl + b0) * c)
                        e = np.uintp(((i * ow + j) * kh + a) * kw * c + b0 * c)
                        for k in range(np.uintp((b1 - b0) * c)):
                            dst[d + k] += src[e + k]
                continue
            for b in range(kw):
                j0, j1, coff = _first_last(b, wd, pl, sw, dw, ow)
                for i in range(i0, i1):
                    d0 = ((i * sh + roff) * wd + coff) * c
                    s0 = (i * ow * kh * kw + a * kw + b) * c
                    for j in range(j0, j1):
                        d = np.uintp(d0 + j * sw * c)
                        e = np.uintp(s0 + j * cells)
                        for ch in range(np.uintp(c)):
                            dst[d + ch] += src[e + ch]


def col2im(back6, out, strides, dilation, pads):
    """back6: (n, OH, OW, KH, KW, C), out: (n, H, W, C) written: out = crop(col2im(back6))."""
    (sh, sw), (dh, dw), ((pt, _), (pl, _)) = strides, dilation, pads
    _scatter(back6, out, sh, sw, dh, dw, pt, pl)
