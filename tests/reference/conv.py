"""Convolution by explicit loops over every output cell and every kernel tap."""

from __future__ import annotations

import numpy as np


def pad(x, pads, value=0.0):
    """x: (N, H, W, C) with explicit ((top, bottom), (left, right)) padding."""
    (pt, pb), (pl, pr) = pads
    return np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=value)


def conv2d(x, w, b=None, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), groups=1,
           flip=False):
    """y[n,i,j,f] = b[f] + sum_{a,b,c} xp[n, i*sh + a*dh, j*sw + b*dw, g*Cg + c] * w[a,b,c,f]."""
    if flip:
        w = w[::-1, ::-1]
    xp = pad(x, pads)
    n, hp, wp, c = xp.shape
    kh, kw, cg, f = w.shape
    sh, sw = strides
    dh, dw = dilation
    oh = (hp - dh * (kh - 1) - 1) // sh + 1
    ow = (wp - dw * (kw - 1) - 1) // sw + 1
    fg = f // groups
    y = np.zeros((n, oh, ow, f))
    for s in range(n):
        for i in range(oh):
            for j in range(ow):
                for k in range(f):
                    g = k // fg
                    total = 0.0 if b is None else b[k]
                    for a in range(kh):
                        for bb in range(kw):
                            for ch in range(cg):
                                total += xp[s, i * sh + a * dh, j * sw + bb * dw,
                                            g * cg + ch] * w[a, bb, ch, k]
                    y[s, i, j, k] = total
    return y


def conv1d(x, w, b=None, stride=1, pads=(0, 0), dilation=1, groups=1, flip=False):
    """x: (N, L, C), w: (K, Cg, F): a height-1 conv2d written out again in 1D."""
    if flip:
        w = w[::-1]
    xp = np.pad(x, ((0, 0), pads, (0, 0)))
    n, lp, c = xp.shape
    k, cg, f = w.shape
    ol = (lp - dilation * (k - 1) - 1) // stride + 1
    fg = f // groups
    y = np.zeros((n, ol, f))
    for s in range(n):
        for i in range(ol):
            for q in range(f):
                g = q // fg
                total = 0.0 if b is None else b[q]
                for t in range(k):
                    for ch in range(cg):
                        total += xp[s, i * stride + t * dilation, g * cg + ch] * w[t, ch, q]
                y[s, i, q] = total
    return y
