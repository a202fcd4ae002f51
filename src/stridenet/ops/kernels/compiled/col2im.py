"""Compiled twin of the col2im scatter of ``conv_backward``: the input gradient from the
columns ``back = g @ W^T``.

Written as a gather: each input cell sums, over the kernel taps (a, b) in row-major order,
the column entries of the outputs that read it through that tap -- the same additions in
the same order as the NumPy twin's strided add per tap onto zeros, so the results agree
bit for bit; and each cell is written once, straight into the unpadded gradient (no
zeroed padded buffer, no cropping copy).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def _readers(size, pad, k, stride, dilation, out_size):
    """For each cell of one axis (unpadded): the taps that read it and the outputs that
    read it through them, in tap order -- (taps (size, k), outputs (size, k), counts (size,)).
    A table built once per call keeps divisions out of the loop over cells."""
    taps = np.empty((size, k), np.int64)
    outs = np.empty((size, k), np.int64)
    counts = np.zeros(size, np.int64)
    for y in range(size):
        for a in range(k):
            i = y + pad - a * dilation  # output row that reads row y through tap row a
            if i >= 0 and i % stride == 0 and i // stride < out_size:
                taps[y, counts[y]] = a
                outs[y, counts[y]] = i // stride
                counts[y] += 1
    return taps, outs, counts


@jit
def _gather(back, out, sh, sw, dh, dw, pt, pl):
    n, oh, ow, kh, kw, c = back.shape
    h, wd = out.shape[1], out.shape[2]
    row_taps, row_outs, row_counts = _readers(h, pt, kh, sh, dh, oh)
    col_taps, col_outs, col_counts = _readers(wd, pl, kw, sw, dw, ow)
    acc = np.empty(c, out.dtype)
    for im in range(n):
        for y in range(h):
            for x in range(wd):
                acc[:] = 0
                for u in range(row_counts[y]):
                    a, i = row_taps[y, u], row_outs[y, u]
                    for v in range(col_counts[x]):
                        src = back[im, i, col_outs[x, v], a, col_taps[x, v]]
                        for ch in range(c):
                            acc[ch] += src[ch]
                out[im, y, x] = acc


def col2im(back6, out, strides, dilation, pads):
    """back6: (n, OH, OW, KH, KW, C), out: (n, H, W, C) written: out = crop(col2im(back6))."""
    (sh, sw), (dh, dw), ((pt, _), (pl, _)) = strides, dilation, pads
    _gather(back6, out, sh, sw, dh, dw, pt, pl)
