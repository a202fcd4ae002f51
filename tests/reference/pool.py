"""Pooling by explicit loops over every output cell and every cell of its window.

The output size is found by placing windows one after another, not from the
closed-form formula the fast kernel uses: window i starts at padded position
i*s; a further window is added while the previous one has not reached the end
of the padded input (ceil mode) or while it still fits whole (floor mode), and
in ceil mode only if it starts inside the input or the left padding.
"""

from __future__ import annotations

import math

import numpy as np


def window_starts(n, k, s, p0, p1, ceil_mode):
    """Padded positions where the windows along one axis start."""
    total = n + p0 + p1
    starts = [0]
    while True:
        nxt = starts[-1] + s
        if ceil_mode:
            if starts[-1] + k >= total or nxt >= n + p0:
                break
        elif nxt + k > total:
            break
        starts.append(nxt)
    return starts


def _pool_axis_cells(start, k, n, p0, p1):
    """The window's input rows, split into real ones and ones in the explicit padding."""
    real, padded = [], []
    for t in range(k):
        row = start + t - p0  # input coordinate of this window cell
        if 0 <= row < n:
            real.append(row)
        elif -p0 <= row < n + p1:
            padded.append(row)
        # else: a ceil-mode cell past the padding, counted nowhere
    return real, padded


def pool2d(x, kind, pool, strides, pads, ceil_mode=False, count_include_pad=False):
    """x: (N, H, W, C) -> (N, OH, OW, C), kind "max" or "avg"."""
    n_img, h, w, c = x.shape
    (kh, kw), (sh, sw), ((pt, pb), (pl, pr)) = pool, strides, pads
    rows = window_starts(h, kh, sh, pt, pb, ceil_mode)
    cols = window_starts(w, kw, sw, pl, pr, ceil_mode)
    y = np.zeros((n_img, len(rows), len(cols), c))
    for s in range(n_img):
        for i, r0 in enumerate(rows):
            real_r, pad_r = _pool_axis_cells(r0, kh, h, pt, pb)
            for j, c0 in enumerate(cols):
                real_c, pad_c = _pool_axis_cells(c0, kw, w, pl, pr)
                for ch in range(c):
                    best, total, real_cells, pad_cells = -math.inf, 0.0, 0, 0
                    for r in real_r + pad_r:
                        for q in real_c + pad_c:
                            if r in real_r and q in real_c:
                                v = x[s, r, q, ch]
                                best = max(best, v)
                                total += v
                                real_cells += 1
                            else:
                                pad_cells += 1  # a padded cell: value 0, never the max
                    if kind == "max":
                        y[s, i, j, ch] = best
                    else:
                        count = real_cells + (pad_cells if count_include_pad else 0)
                        y[s, i, j, ch] = total / count
    return y


def pool1d(x, kind, pool, stride, pads, ceil_mode=False, count_include_pad=False):
    """x: (N, L, C) -> (N, OL, C): the same loops written out in 1D."""
    n_img, length, c = x.shape
    p0, p1 = pads
    starts = window_starts(length, pool, stride, p0, p1, ceil_mode)
    y = np.zeros((n_img, len(starts), c))
    for s in range(n_img):
        for i, t0 in enumerate(starts):
            real, padded = _pool_axis_cells(t0, pool, length, p0, p1)
            for ch in range(c):
                values = [x[s, t, ch] for t in real]
                if kind == "max":
                    y[s, i, ch] = max(values)
                else:
                    count = len(real) + (len(padded) if count_include_pad else 0)
                    y[s, i, ch] = sum(values) / count
    return y
