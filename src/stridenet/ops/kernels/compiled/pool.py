"""Compiled max pooling that stores each window's winning tap (its "argmax").

The forward pass reads the unpadded input and visits only the real cells of each window,
in row-major window order; the first one starts the max, and a later cell wins when it is
greater or the first NaN -- the cell the NumPy backward would route the gradient to (the
first maximum, or the first NaN; never padding). y equals the NumPy twin's (padding is
-inf there, which never beats a real cell). The backward pass sends each output's gradient
to its stored tap: in one pass when windows do not overlap, else tap by tap in row-major
order, the order in which the NumPy twin adds -- the same sums bit for bit.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def _forward(x, y, arg, kh, kw, sh, sw, pt, pl):
    n, h, w, c = x.shape
    oh, ow = y.shape[1], y.shape[2]
    best = np.empty(c, x.dtype)  # the running max and its tap, per channel
    tap = np.empty(c, np.int32)
    for im in range(n):
        for i in range(oh):
            for j in range(ow):
                first = True
                for a in range(kh):
                    r = i * sh - pt + a
                    if r < 0 or r >= h:
                        continue
                    for b in range(kw):
                        s = j * sw - pl + b
                        if s < 0 or s >= w:
                            continue
                        t = np.int32(a * kw + b)
                        cell = x[im, r, s]
                        if first:  # the first real cell starts the max
                            best[:] = cell
                            tap[:] = t
                            first = False
                            continue
                        for ch in range(c):  # branch-free, so the channel loop vectorises
                            v = cell[ch]
                            m = best[ch]
                            take = (v > m) | ((v != v) & (m == m))
                            best[ch] = v if take else m
                            tap[ch] = t if take else tap[ch]
                if first:  # no real cell (cannot happen with Keras/PyTorch padding rules)
                    best[:] = -np.inf
                    tap[:] = -1
                y[im, i, j] = best
                arg[im, i, j] = tap


@jit
def _backward(dy, arg, dx, kw, sh, sw, pt, pl, taps):
    """taps = 0: windows do not overlap (each cell gets at most one gradient), one pass;
    else visit taps 0..taps-1 in order, so each cell's sum is added in tap order."""
    n, oh, ow, c = dy.shape
    h, w = dx.shape[1], dx.shape[2]
    for im in range(n):
        for r in range(h):
            for s in range(w):
                for ch in range(c):
                    dx[im, r, s, ch] = 0.0
        for t in range(max(taps, 1)):
            for i in range(oh):
                for j in range(ow):
                    for ch in range(c):
                        k = arg[im, i, j, ch]
                        if k < 0 or (taps > 0 and k != t):
                            continue
                        a = k // kw
                        r = i * sh - pt + a
                        s = j * sw - pl + (k - a * kw)
                        if taps > 0:
                            dx[im, r, s, ch] += dy[im, i, j, ch]
                        else:
                            dx[im, r, s, ch] = dy[im, i, j, ch]


def max_pool_forward(x, y, arg, pool, strides, pads):
    """x: (n, H, W, C) -> y: (n, OH, OW, C) and arg (int32, winning tap a*KW + b, -1 when a
    window holds no real cell), both written. ``pads``: ((top, _), (left, _))."""
    (kh, kw), (sh, sw), ((pt, _), (pl, _)) = pool, strides, pads
    _forward(x, y, arg, kh, kw, sh, sw, pt, pl)


def max_pool_backward(dy, arg, dx, pool, strides, pads):
    """dy, arg: (n, OH, OW, C) -> dx: (n, H, W, C) written (every cell)."""
    (kh, kw), (sh, sw), ((pt, _), (pl, _)) = pool, strides, pads
    overlap = sh < kh or sw < kw
    _backward(dy, arg, dx, kw, sh, sw, pt, pl, kh * kw if overlap else 0)


# --- average pooling ---------------------------------------------------------------------------
# The NumPy twin pads with zeros and, per output, starts from the first tap and adds the
# others in row-major order, then divides by the window's count; its backward divides dy by
# the count once and adds it (assigns it, when the windows tile the input exactly) tap by
# tap. These loops do the same operations in the same order -- a padded cell adds +0.0 here
# too, which turns a sum of -0.0 into +0.0 as NumPy does -- so the twins agree bit for bit,
# in one pass over the input instead of a padded copy and one pass per tap.


@jit
def _avg_forward(x, y, count, kh, kw, sh, sw, pt, pl):
    """Flat, unsigned indices (numba's negative-index wraparound otherwise keeps LLVM from
    vectorising the channel runs: measured no faster than NumPy that way)."""
    n, h, w, c = x.shape
    oh, ow = y.shape[1], y.shape[2]
    xf = x.reshape(n * h * w * c)
    yf = y.reshape(n * oh * ow * c)
    cf = count.reshape(oh * ow)
    cu = np.uintp(c)
    zero = y.dtype.type(0)
    for im in range(n):
        for i in range(oh):
            for j in range(ow):
                o = np.uintp(((im * oh + i) * ow + j) * c)
                for a in range(kh):
                    r = i * sh - pt + a
                    for b in range(kw):
                        s = j * sw - pl + b
                        inside = r >= 0 and r < h and s >= 0 and s < w
                        e = np.uintp(((im * h + r) * w + s) * c) if inside else np.uintp(0)
                        if a == 0 and b == 0:
                            for ch in range(cu):
                                yf[o + ch] = xf[e + ch] if inside else zero
                        elif inside:
                            for ch in range(cu):
                                yf[o + ch] += xf[e + ch]
                        else:
                            for ch in range(cu):
                                yf[o + ch] += zero
                d = cf[i * ow + j]
                for ch in range(cu):
                    yf[o + ch] /= d


@jit
def _avg_backward(dy, count, dx, kh, kw, sh, sw, pt, pl, assign, g):
    """g (OH*OW*C,): one image's dy / count, a workspace. Flat, unsigned indices."""
    n, oh, ow, c = dy.shape
    h, w = dx.shape[1], dx.shape[2]
    dyf = dy.reshape(n * oh * ow * c)
    dxf = dx.reshape(n * h * w * c)
    cf = count.reshape(oh * ow)
    cu = np.uintp(c)
    zero = dx.dtype.type(0)
    for im in range(n):
        base = np.uintp(im * oh * ow * c)
        for q in range(oh * ow):
            d = cf[q]
            for ch in range(cu):
                g[q * cu + ch] = dyf[base + q * cu + ch] / d
        dbase = np.uintp(im * h * w * c)
        if not assign:
            for k in range(np.uintp(h * w * c)):
                dxf[dbase + k] = zero
        for a in range(kh):
            for b in range(kw):
                for i in range(oh):
                    r = i * sh - pt + a
                    if r < 0 or r >= h:
                        continue
                    for j in range(ow):
                        s = j * sw - pl + b
                        if s < 0 or s >= w:
                            continue
                        e = dbase + np.uintp((r * w + s) * c)
                        o = np.uintp((i * ow + j) * c)
                        if assign:
                            for ch in range(cu):
                                dxf[e + ch] = g[o + ch]
                        else:
                            for ch in range(cu):
                                dxf[e + ch] += g[o + ch]


def avg_pool_forward(x, y, count, pool, strides, pads):
    """x: (n, H, W, C) -> y: (n, OH, OW, C) written; count (OH, OW, 1) divides each window's
    sum. ``pads``: ((top, _), (left, _)), the ceil-mode extra cells included."""
    (kh, kw), (sh, sw), ((pt, _), (pl, _)) = pool, strides, pads
    _avg_forward(x, y, count, kh, kw, sh, sw, pt, pl)


def avg_pool_backward(dy, count, dx, pool, strides, pads, tiled):
    """dy: (n, OH, OW, C) -> dx: (n, H, W, C) written; ``tiled``: the windows cover the
    padded input exactly once (each cell is assigned, not added)."""
    (kh, kw), (sh, sw), ((pt, _), (pl, _)) = pool, strides, pads
    g = np.empty(dy.shape[1] * dy.shape[2] * dy.shape[3], dx.dtype)
    _avg_backward(dy, count, dx, kh, kw, sh, sw, pt, pl, tiled, g)
