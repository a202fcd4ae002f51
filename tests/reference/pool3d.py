"""3D pooling by explicit loops over every output cell and every cell of its window.

Window placement and padded-cell rules are those of ``reference/pool.py`` (windows placed one
after another, ceil-mode windows starting inside the input or the left padding).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .pool import _pool_axis_cells, window_starts


def pool3d(x, kind, pool, strides, pads, ceil_mode=False, count_include_pad=False):
    """x: (N, D, H, W, C) -> (N, OD, OH, OW, C), kind "max" or "avg"."""
    n_img, *sizes, c = x.shape
    starts = [window_starts(n, k, s, p0, p1, ceil_mode)
              for n, k, s, (p0, p1) in zip(sizes, pool, strides, pads)]
    y = np.zeros((n_img, *map(len, starts), c))
    for out in itertools.product(*[range(len(s)) for s in starts]):
        axes = [_pool_axis_cells(st[o], k, n, p0, p1)
                for st, o, k, n, (p0, p1) in zip(starts, out, pool, sizes, pads)]
        real_cells = math.prod(len(real) for real, _ in axes)
        all_cells = math.prod(len(real) + len(padded) for real, padded in axes)
        for s in range(n_img):
            for ch in range(c):
                best, total = -math.inf, 0.0
                for cell in itertools.product(*[real for real, _ in axes]):
                    v = x[(s, *cell, ch)]
                    best = max(best, v)
                    total += v
                if kind == "max":
                    y[(s, *out, ch)] = best
                else:
                    y[(s, *out, ch)] = total / (all_cells if count_include_pad else real_cells)
    return y
