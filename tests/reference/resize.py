"""Upsampling by explicit loops over every output cell."""

from __future__ import annotations

import itertools
import math

import numpy as np


def nearest(x, sizes):
    """x: (N, S..., C): output cell o reads input cell o // s on every axis."""
    out = [n * s for n, s in zip(x.shape[1:-1], sizes)]
    y = np.zeros((x.shape[0], *out, x.shape[-1]))
    for o in itertools.product(*map(range, out)):
        y[(slice(None), *o)] = x[(slice(None), *(v // s for v, s in zip(o, sizes)))]
    return y


def _source(o, n, s):
    """Half-pixel centres: output o samples the input at (o + 0.5) / s - 0.5, between cells
    i0 = floor and i1 = i0 + 1 (both clamped into the input), with weight t on i1."""
    pos = (o + 0.5) / s - 0.5
    i0 = math.floor(pos)
    t = pos - i0
    return min(max(i0, 0), n - 1), min(max(i0 + 1, 0), n - 1), t


def bilinear(x, sizes):
    """x: (N, H, W, C) -> (N, H*sh, W*sw, C)."""
    n, h, w, c = x.shape
    sh, sw = sizes
    y = np.zeros((n, h * sh, w * sw, c))
    for i in range(h * sh):
        r0, r1, tr = _source(i, h, sh)
        for j in range(w * sw):
            c0, c1, tc = _source(j, w, sw)
            y[:, i, j] = ((1 - tr) * (1 - tc) * x[:, r0, c0] + (1 - tr) * tc * x[:, r0, c1]
                          + tr * (1 - tc) * x[:, r1, c0] + tr * tc * x[:, r1, c1])
    return y
