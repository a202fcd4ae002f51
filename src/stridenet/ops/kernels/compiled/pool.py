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
