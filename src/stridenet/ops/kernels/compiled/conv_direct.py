"""Compiled direct convolution for inputs with few channels (grayscale, RGB): stride 1,
no im2col.

With C = 1, im2col copies single values into a (rows, KH*KW) matrix that is bigger than
the image 25 times over (5x5), and BLAS runs the thin products with it (F = 6 filters, or
KH*KW x F for the kernel gradient) far from its peak. Here each image is copied once into
zero-padded planar rows (C, Hp*Wp): output cell (i, j) reads input (i + a*dh, j + b*dw),
at flat offset i*Wp + j + (a*dh*Wp + b*dw), so with outputs laid out on the padded width
too (OH*Wp cells, the last Wp - OW of each row unused), one kernel tap is ONE multiply-add
over a contiguous run of OH*Wp values -- long enough for LLVM to vectorise well.

* forward: out[f] = bias[f] + sum_{c, a, b} w[a, b, c, f] * xrow[c][off(a, b):], then
  written to the NHWC output (relu as ``np.maximum``: NaN passes);
* kernel gradient: dw[a, b, c, f] += <g[f], xrow[c][off(a, b):]> over the same runs, with
  g laid out on the padded width (zeros in the unused cells); db[f] += sum g[f]. These are
  dot products, compiled with reassociation allowed (``fastmath`` reassoc/contract/nsz
  only: inf and NaN behave as usual) so that LLVM vectorises the sums.

The im2col path sums in the order BLAS chooses: the two agree within rounding.
Measured at one thread, batch 128 (ms, im2col -> direct): LeNet-5 conv1 (28x28x1 -> 6,
5x5) forward 6.5 -> 2.4, kernel gradient 5.7 -> 2.6; ResNet-20 stem (32x32x3 -> 16, 3x3)
forward 9.8 -> 8.0, kernel gradient 9.8 -> 6.4. With 32 filters (the SPEC model's conv1)
neither pass was reliably faster, and with C = 6 (LeNet-5 conv2) the direct loops were
1.7x slower than im2col: ``conv.direct_kernel`` says where they run.
"""

from __future__ import annotations

import numba
import numpy as np

from .. import backend, parallel
from ._jit import jit


def _jit_sums(fn):
    """``_jit.jit`` with reassociation allowed, for the dot products only."""
    return numba.njit(cache=backend.caching(), nogil=True, parallel=False,
                      error_model="numpy", fastmath={"reassoc", "contract", "nsz"})(fn)


@jit
def _planar(x, im, pt, pl, wp, xpl):
    """xpl[c, (r + pt)*wp + s + pl] = x[im, r, s, c]: the image's cells into planar rows
    whose padding (zero) is left as it is."""
    h, wd, c = x.shape[1], x.shape[2], x.shape[3]
    for ch in range(c):
        for r in range(h):
            base = np.uintp((r + pt) * wp + pl)
            for s in range(wd):
                xpl[ch, base + np.uintp(s)] = x[im, r, s, ch]


@jit
def _zero(a2):
    zero = a2.dtype.type(0)
    for i in range(a2.shape[0]):
        for k in range(np.uintp(a2.shape[1])):
            a2[i, k] = zero


@jit
def _forward(x, w, bias, y, dh, dw, pt, pl, wp, relu, xpl, yw):
    """y (n, OH, OW, F) = conv(x (n, H, W, C), w) + bias; xpl (C, >= (Hp + 1)*wp) and
    yw (F, OH*wp) are workspaces. Indices are unsigned: numba then skips its negative-index
    wraparound, which keeps LLVM from vectorising the runs."""
    n, c = x.shape[0], x.shape[3]
    kh, kw, f = w.shape[0], w.shape[1], w.shape[3]
    oh, ow = y.shape[1], y.shape[2]
    length = np.uintp(oh * wp)
    zero = y.dtype.type(0)
    _zero(xpl)
    for im in range(n):
        _planar(x, im, pt, pl, wp, xpl)
        for k in range(f):
            bk = bias[k]
            for q in range(length):
                yw[k, q] = bk
        for ch in range(c):
            xr = xpl[ch]
            for a in range(kh):
                for b in range(kw):
                    off = np.uintp(a * dh * wp + b * dw)
                    for k in range(f):
                        wv = w[a, b, ch, k]
                        yr = yw[k]
                        for q in range(length):
                            yr[q] += wv * xr[off + q]
        for i in range(oh):
            for j in range(ow):
                q = i * wp + j
                for k in range(f):
                    v = yw[k, q]
                    if relu and not (v > zero or v != v):  # np.maximum(v, 0): NaN passes
                        v = zero
                    y[im, i, j, k] = v


@_jit_sums
def _weight_grad(x, g, dw_acc, db_acc, dh, dw, pt, pl, wp, has_bias, xpl, gw):
    """dw_acc (KH, KW, C, F) and db_acc (F,) += the gradients of one chunk; g (n, OH, OW, F);
    xpl (C, >= (Hp + 1)*wp) and gw (F, OH*wp) are workspaces."""
    n, c = x.shape[0], x.shape[3]
    oh, ow, f = g.shape[1], g.shape[2], g.shape[3]
    kh, kw = dw_acc.shape[0], dw_acc.shape[1]
    length = np.uintp(oh * wp)
    zero = x.dtype.type(0)
    _zero(xpl)
    _zero(gw)  # the unused cells of each row stay zero
    for im in range(n):
        _planar(x, im, pt, pl, wp, xpl)
        for i in range(oh):
            for j in range(ow):
                q = i * wp + j
                for k in range(f):
                    gw[k, q] = g[im, i, j, k]
        for k in range(f):
            gr = gw[k]
            if has_bias:
                s = zero
                for q in range(length):
                    s += gr[q]
                db_acc[k] += s
            for ch in range(c):
                xr = xpl[ch]
                for a in range(kh):
                    for b in range(kw):
                        off = np.uintp(a * dh * wp + b * dw)
                        s = zero
                        for q in range(length):
                            s += gr[q] * xr[off + q]
                        dw_acc[a, b, ch, k] += s


def _workspaces(x, pads, out_hw, f):
    (pt, pb), (pl, pr) = pads
    h, wd, c = x.shape[1], x.shape[2], x.shape[3]
    wp = wd + pl + pr
    # rows past the padded image: the unused cells of the last output row read up to
    # (KH-1)*dh*wp + (KW-1)*dw + OH*wp - 1, which may pass Hp*wp by up to (KW-1)*dw
    xpl = parallel.scratch("direct_x", (c, (h + pt + pb + 1) * wp), x.dtype)
    out = parallel.scratch("direct_out", (f, out_hw[0] * wp), x.dtype)
    return wp, xpl, out


def forward(x, w, bias, y, dilation, pads, relu):
    """y (n, OH, OW, F) = relu?(conv(x (n, H, W, C), w (KH, KW, C, F)) + bias), stride 1;
    ``bias`` None means zeros; ``pads``: ((top, bottom), (left, right))."""
    f = w.shape[-1]
    wp, xpl, yw = _workspaces(x, pads, y.shape[1:3], f)
    if bias is None:
        bias = np.zeros(f, y.dtype)
    _forward(x, w, bias, y, dilation[0], dilation[1], pads[0][0], pads[1][0], wp, relu, xpl,
             yw)


def weight_grad(x, g, dw_acc, db_acc, dilation, pads):
    """dw_acc (KH, KW, C, F) += dL/dw and db_acc (F,) += dL/db (None: not wanted) of one
    chunk: x (n, H, W, C), g (n, OH, OW, F) the output gradient, stride 1."""
    f = g.shape[-1]
    wp, xpl, gw = _workspaces(x, pads, g.shape[1:3], f)
    has_bias = db_acc is not None
    _weight_grad(x, g, dw_acc, db_acc if has_bias else np.zeros(f, dw_acc.dtype),
                 dilation[0], dilation[1], pads[0][0], pads[1][0], wp, has_bias, xpl, gw)
