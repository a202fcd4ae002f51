"""Compiled twin of the col2im scatter of ``conv_backward``: the input gradient from the
columns ``back = g @ W^T``.

Written as a gather: each input cell sums, over the kernel taps (a, b) in row-major order,
the column entries of the outputs that read it through that tap -- the same additions in
the same order as the NumPy twin's strided add per tap onto zeros, so the results agree
bit for bit; and each cell is written once, straight into the unpadded gradient (no
zeroed padded buffer, no cropping copy).
"""

from __future__ import annotations

from ._jit import jit


@jit
def _gather(back, out, sh, sw, dh, dw, pt, pl):
    n, oh, ow, kh, kw, c = back.shape
    h, wd = out.shape[1], out.shape[2]
    for im in range(n):
        for y in range(h):
            r = y + pt  # row in the padded input
            for x in range(wd):
                s = x + pl
                for ch in range(c):
                    out[im, y, x, ch] = 0.0
                for a in range(kh):
                    i = r - a * dh  # output row that reads row r through tap row a
                    if i < 0 or i % sh != 0:
                        continue
                    i //= sh
                    if i >= oh:
                        continue
                    for b in range(kw):
                        j = s - b * dw
                        if j < 0 or j % sw != 0:
                            continue
                        j //= sw
                        if j >= ow:
                            continue
                        for ch in range(c):
                            out[im, y, x, ch] += back[im, i, j, a, b, ch]


def col2im(back6, out, strides, dilation, pads):
    """back6: (n, OH, OW, KH, KW, C), out: (n, H, W, C) written: out = crop(col2im(back6))."""
    (sh, sw), (dh, dw), ((pt, _), (pl, _)) = strides, dilation, pads
    _gather(back6, out, sh, sw, dh, dw, pt, pl)
