"""Compiled Winograd transforms, tile by tile: no gathered copies between the two halves
of each transform, and the zeros of the small transform matrices skipped.

``input_transform`` and ``gradient_transform`` are one loop (``_to_tiles``): every tile of
``src`` (t x t cells at a stride of m) becomes M T M^T with positions ordered (nu, xi),
M = BT (t = a) for the input, M = AT^T (t = m) for the output gradient of the kernel
gradient. ``output_transform`` takes the products back: AT P AT^T per tile, written into
the output. The NumPy twins do these as batched matrix products, whose summation order
BLAS chooses: the two agree within rounding, not bit for bit.

F(4x4, 3x3) runs compiled: at one BLAS thread the compiled transforms measured 1.1-1.5x
the NumPy twins' speed there (14x14 and 16x16, 64 channels). For F(4x4, 5x5), whose
8-point transforms have few zeros to skip, only the input transform runs compiled (see
``COMPILED_INPUT_R``); the other two measured 0.5-1.0x and stay on NumPy.
"""

from __future__ import annotations

import numpy as np

from .. import parallel, winograd
from ._jit import jit


@jit
def _to_tiles(src, mat, m, th, tw, out):
    """out[nu*a + xi, p, c] = sum_j mat[nu, j] sum_k mat[xi, k] src[n, ti*m + k, tj*m + j, c]
    for tile p = (n, ti, tj); cells of src beyond its end count as zeros.

    Rows first, once per tile row over the whole width (a (W*C)-long contiguous pass per
    coefficient, as the NumPy twin's product does), then the columns of each tile."""
    n, hs, ws, c = src.shape
    a, t = mat.shape
    rows = np.empty((a, ws, c), src.dtype)  # [xi, w, c]: one tile row's rows transformed
    p = 0
    for im in range(n):
        for ti in range(th):
            for xi in range(a):
                first = True
                for k in range(t):
                    r = ti * m + k
                    coef = mat[xi, k]
                    if r >= hs or coef == 0:
                        continue
                    for w in range(ws):
                        for ch in range(c):
                            v = coef * src[im, r, w, ch]
                            rows[xi, w, ch] = v if first else rows[xi, w, ch] + v
                    first = False
                if first:
                    rows[xi] = 0
            for tj in range(tw):
                for nu in range(a):
                    for xi in range(a):
                        first = True
                        for j in range(t):
                            col = tj * m + j
                            coef = mat[nu, j]
                            if col >= ws or coef == 0:
                                continue
                            for ch in range(c):
                                v = coef * rows[xi, col, ch]
                                out[nu * a + xi, p, ch] = v if first else \
                                    out[nu * a + xi, p, ch] + v
                            first = False
                        if first:
                            out[nu * a + xi, p] = 0
                p += 1


@jit
def _from_tiles(prod, at, m, th, tw, out):
    """out[n, ti*m + i, tj*m + j, f] = sum_xi at[i, xi] sum_nu at[j, nu] prod[nu*a + xi, p, f]
    for the cells inside out (which may end before the last tiles do)."""
    n, oh, ow, f = out.shape
    a = at.shape[1]
    cols = np.empty((m, a, f), prod.dtype)  # [j, xi, f]: the columns transformed back
    p = 0
    for im in range(n):
        for ti in range(th):
            for tj in range(tw):
                cols[...] = 0
                for nu in range(a):
                    for j in range(m):
                        coef = at[j, nu]
                        if coef == 0:
                            continue
                        for xi in range(a):
                            src = prod[nu * a + xi, p]
                            for ch in range(f):
                                cols[j, xi, ch] += coef * src[ch]
                for i in range(m):
                    r = ti * m + i
                    if r >= oh:
                        break
                    for j in range(m):
                        col = tj * m + j
                        if col >= ow:
                            break
                        for ch in range(f):
                            out[im, r, col, ch] = 0
                        for xi in range(a):
                            coef = at[i, xi]
                            if coef != 0:
                                for ch in range(f):
                                    out[im, r, col, ch] += coef * cols[j, xi, ch]
                p += 1


COMPILED_R = (3,)  # kernel sizes whose transforms run compiled (see above)
# The input transform of F(4x4, 5x5) too: inside the whole SPEC conv2 (28x28, 32 -> 32, one
# thread, chunks of 1 MiB) forward/backward 71/155 and 86/171 ms with the NumPy transform,
# 70/138 and 71/147 ms with this one (two runs); its other two transforms stay on NumPy.
COMPILED_INPUT_R = (3, 5)


def input_transform(xp, r, tiles_hw):
    """xp: (n, th*m + r - 1, tw*m + r - 1, C) -> V = BT d B of every tile: (a*a, P, C)."""
    if r not in COMPILED_R and r not in COMPILED_INPUT_R:
        return winograd._input_transform(xp, r, tiles_hw)
    m = winograd.OUTPUT_TILE
    _, _, bt = winograd.transforms(m, r, xp.dtype)
    th, tw = tiles_hw
    a, c = bt.shape[0], xp.shape[-1]
    v = parallel.scratch("wino_a", (a * a, xp.shape[0] * th * tw, c), xp.dtype)
    _to_tiles(xp, bt, m, th, tw, v)
    return v


def gradient_transform(g, r, tiles_hw):
    """g: (n, th*m, tw*m, F) -> AT^T g AT of every tile: (a*a, P, F)."""
    if r not in COMPILED_R:
        return winograd._gradient_transform(g, r, tiles_hw)
    m = winograd.OUTPUT_TILE
    at, _, _ = winograd.transforms(m, r, g.dtype)
    th, tw = tiles_hw
    a, f = at.shape[1], g.shape[-1]
    out = parallel.scratch("wino_b", (a * a, g.shape[0] * th * tw, f), g.dtype)
    _to_tiles(g, np.ascontiguousarray(at.T), m, th, tw, out)
    return out


def output_transform(prod, r, tiles_hw, out):
    """prod: (a*a, P, F) -> out (n, th*m, tw*m, F) = AT prod A per tile."""
    if r not in COMPILED_R:
        winograd._output_transform(prod, r, tiles_hw, out)
        return
    m = winograd.OUTPUT_TILE
    at, _, _ = winograd.transforms(m, r, prod.dtype)
    _from_tiles(prod, at, m, tiles_hw[0], tiles_hw[1], out)
