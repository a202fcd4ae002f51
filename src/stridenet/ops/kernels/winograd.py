"""Winograd minimal filtering F(m x m, r x r): stride-1 convolutions in fewer multiplications.

In 1D, m outputs of an r-tap correlation ``y[i] = sum_k g[k] d[i + k]`` over a tile d of
``a = m + r - 1`` inputs are

    y = AT @ ((G @ g) * (BT @ d))            AT: (m, a), G: (a, r), BT: (a, a)

which costs a multiplications instead of m*r. The matrices come from polynomial
interpolation (Toom-Cook): with points p_0..p_{a-2} and infinity, E_d evaluates a
polynomial of d coefficients at the points (the row for infinity picks the leading
coefficient), and AT = E_m^T, G = E_r, BT = (E_a^{-1})^T. Nested over rows and columns,
with channels summed in the transformed domain, a 2D convolution becomes

    y_tile = AT [ sum_c (G w_c G^T) * (BT d_c B) ] A

-- one batched matrix product (P tiles x C) @ (C x F) per transformed position (a*a of
them). F(4x4, 5x5) multiplies 64 times per 16 outputs instead of 400 (6.25x fewer);
F(4x4, 3x3) 36 instead of 144. The transforms themselves are small matrix products
over the tile axes. The points {0, +-1, +-2, +-1/2} keep float32 errors near 1e-5
relative (measured in the tests), against about 1e-6 for im2col.

The kernel gradient is the same algorithm with the roles swapped: dw is the r x r
correlation of x with the m x m tiles of the output gradient g, i.e. F(r x r, m x m),
whose matrices are AT_r = G^T, G_m = AT^T and the same BT:

    dw = G^T [ sum_tiles (AT^T g AT) * (BT d B) ] G

so the sum over every tile of every image is one more batched product (C x P) @ (P x F).
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import backend, parallel

OUTPUT_TILE = 4  # m: outputs per tile side
POINTS = {6: (0, 1, -1, 2, -2), 8: (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))}
# Where Winograd is used is measured (batch 128, float32, both paths on this project's
# 2-core test machines, forward/backward ms): 5x5 wins by about 2x from 16 channels
# (28x28, 32 -> 32: 18/35 against 37/79 for im2col); 3x3 only with 32 channels or more
# and outputs that fill whole tiles (16x16x32: 4.6/9.1 against 5.2/11.0; 8x8x64: 2.8/5.4
# against 3.9/8.0), while 14x14 (a quarter of the tiles padding) and 16 channels are
# as fast or faster with im2col (32x32x16: 11.2/20.3 against 7.7/15.8).
MIN_CHANNELS = {5: 16, 3: 32}
# With the compiled transforms (numba), F(4x4, 3x3) on outputs that leave the last tiles
# partly empty (14x14: 16 tiles, a quarter of their cells padding) measured faster from
# 64 channels in and out (SPEC conv4, 14x14x64 -> 64, one thread, fwd/bwd ms: 24.5/57.7
# against 34.7/73.6 for im2col; the whole SPEC step 533 -> 453 ms) and slower below
# (conv3, 32 -> 64: 25.7/52.1 against 24.9/45.3; 32x32x16: 2x slower).
PARTIAL_TILES_MIN_CHANNELS = 64
FORCE = False  # True: wherever Winograd applies, whatever the speed (the tests use this)


def usable(kernel_hw, strides, dilation, groups, channels, filters, out_hw) -> bool:
    """Whether this convolution runs with Winograd: 3x3 or 5x5, stride 1, no dilation or
    groups, enough channels, and (3x3) an output that fills whole tiles -- or, with the
    compiled transforms, 64 channels or more in and out."""
    kh, kw = kernel_hw
    if kh != kw or kh not in MIN_CHANNELS or tuple(strides) != (1, 1) \
            or tuple(dilation) != (1, 1) or groups != 1:
        return False
    if FORCE:
        return True
    if min(channels, filters) < MIN_CHANNELS[kh]:
        return False
    if kh == 5 or all(o % OUTPUT_TILE == 0 for o in out_hw):
        return True
    return min(channels, filters) >= PARTIAL_TILES_MIN_CHANNELS and \
        backend.kernel_mode() == "numba"


def _evaluation(points, d):
    """E_d: (a, d) -- a polynomial of d coefficients at each point, then at infinity."""
    rows = [[Fraction(p) ** k for k in range(d)] for p in points]
    rows.append([Fraction(0)] * (d - 1) + [Fraction(1)])
    return rows


def _inverse(matrix):
    """Exact inverse of a square matrix of Fractions (Gauss-Jordan)."""
    n = len(matrix)
    rows = [list(r) + [Fraction(int(i == j)) for j in range(n)] for i, r in enumerate(matrix)]
    for col in range(n):
        pivot = next(i for i in range(col, n) if rows[i][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        scale = rows[col][col]
        rows[col] = [v / scale for v in rows[col]]
        for i in range(n):
            if i != col and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[col])]
    return [r[n:] for r in rows]


@functools.cache
def transforms(m: int, r: int, dtype=np.float64):
    """(AT (m, a), G (a, r), BT (a, a)) of F(m, r), exact rationals rounded to ``dtype``."""
    a = m + r - 1
    points = POINTS[a]
    at = np.array(_evaluation(points, m), dtype=object).T
    g = np.array(_evaluation(points, r), dtype=object)
    bt = np.array(_inverse(_evaluation(points, a)), dtype=object).T
    mats = tuple(np.array(mat.astype(np.float64), dtype=dtype) for mat in (at, g, bt))
    for mat in mats:
        mat.flags.writeable = False  # cached: shared by every call
    return mats


def tiles_for(out_hw, r: int):
    """(tiles per axis, padded input size per axis) covering an output of ``out_hw``."""
    m = OUTPUT_TILE
    th, tw = -(-out_hw[0] // m), -(-out_hw[1] // m)
    return (th, tw), (th * m + r - 1, tw * m + r - 1)


def workspace_per_image(tiles_hw, r: int, c: int, f: int) -> int:
    """Elements of one image's largest transformed buffer (a*a, tiles, max(C, F)), doubled
    for the buffers alive at the same time: the chunk size is set from this."""
    a = OUTPUT_TILE + r - 1
    return 2 * a * a * tiles_hw[0] * tiles_hw[1] * max(c, f)


def kernel_transform(w: np.ndarray) -> np.ndarray:
    """w: (r, r, C, F) -> U = G w G^T: (a*a, C, F), transformed positions ordered (nu, xi)
    -- column index first, the order the input transform produces."""
    r, _, c, f = w.shape
    _, g, _ = transforms(OUTPUT_TILE, r, w.dtype)
    a = g.shape[0]
    u = np.tensordot(g, w, axes=(1, 0))  # (a[xi], r, C, F): rows transformed
    u = np.tensordot(g, u, axes=(1, 1))  # (a[nu], a[xi], C, F): columns transformed
    return np.ascontiguousarray(u).reshape(a * a, c, f)


# Workspaces: each step reads one buffer and writes the other, so three per thread serve
# the whole pipeline ("wino_a", "wino_b", and "wino_c" for the one product that needs a
# third) -- the forward goes a -> b -> a -> b -> a -> b.


def _input_transform(xp, r, tiles_hw):
    """xp: (n, th*m + r - 1, tw*m + r - 1, C) -> V = BT d B of every tile: (a*a, P, C), with
    positions ordered (nu, xi) and tiles P = (n, ti, tj). (Compiled twin in
    ``compiled/winograd.py``; ``backend`` picks.)

    Rows first, straight from the image: the a rows a tile row reads are one contiguous
    (a, Wp*C) block, so R[n, ti] = BT @ xp[n, ti*m : ti*m + a] is a batched product with
    no copy before it. Then the columns: the (a, P*C) gather of R's overlapping column
    windows, and one more product with BT.
    """
    m = OUTPUT_TILE
    a = m + r - 1
    n, hp, wp, c = xp.shape
    # (Wp, C) as one axis; reshaping also gives a size-1 axis a real stride
    flat = np.ascontiguousarray(xp).reshape(n, hp, wp * c)
    th, tw = tiles_hw
    p = n * th * tw
    _, _, bt = transforms(m, r, xp.dtype)
    s0, s1, s2 = flat.strides
    rows = as_strided(flat, (n, th, a, wp * c), (s0, s1 * m, s1, s2), writeable=False)
    rr = parallel.scratch("wino_a", (n, th, a, wp, c), xp.dtype)
    np.matmul(bt, rows, out=rr.reshape(n, th, a, wp * c))  # [n, ti, xi, w, c]
    q0, q1, q2, q3, q4 = rr.strides
    cols = as_strided(rr, (a, a, n, th, tw, c), (q3, q2, q0, q1, q3 * m, q4),
                      writeable=False)  # [j, xi, n, ti, tj, c] = rr[n, ti, xi, tj*m + j, c]
    d = parallel.scratch("wino_b", (a, a, n, th, tw, c), xp.dtype)
    d[...] = cols
    v = parallel.scratch("wino_a", (a, a * p * c), xp.dtype)
    np.matmul(bt, d.reshape(a, a * p * c), out=v)  # columns: (a[nu], a[xi] * P * C)
    return v.reshape(a * a, p, c)


def forward_chunk(xp, u, r, tiles_hw, out):
    """out (n, th*m, tw*m, F) = the stride-1 correlation of xp with the kernel behind ``u``."""
    m = OUTPUT_TILE
    a = m + r - 1
    n = xp.shape[0]
    th, tw = tiles_hw
    f = u.shape[-1]
    p = n * th * tw
    v = backend.twin(_input_transform, "winograd.input_transform", xp)(xp, r, tiles_hw)
    prod = parallel.scratch("wino_b", (a * a, p, f), xp.dtype)
    np.matmul(v, u, out=prod)  # one (P, C) @ (C, F) per transformed position (nu, xi)
    backend.twin(_output_transform, "winograd.output_transform", prod, out)(prod, r, tiles_hw,
                                                                            out)


def _output_transform(prod, r, tiles_hw, out):
    """prod: (a*a, P, F) -> out (n, th*m, tw*m, F) = AT prod A per tile (NumPy twin)."""
    m = OUTPUT_TILE
    a = m + r - 1
    n, _, _, f = out.shape
    th, tw = tiles_hw
    p = n * th * tw
    at, _, _ = transforms(m, r, prod.dtype)
    y1 = parallel.scratch("wino_a", (m, a * p * f), prod.dtype)
    np.matmul(at, prod.reshape(a, a * p * f), out=y1)  # columns back: (m[j], a[xi] * P * F)
    y = parallel.scratch("wino_b", (m, m, p * f), prod.dtype)
    np.matmul(at, y1.reshape(m, a, p * f), out=y)  # rows back, for each j: (m[i], P * F)
    # [j, i, n, ti, tj, f] -> out[n, ti*m + i, tj*m + j, f]
    out.reshape(n, th, m, tw, m, f)[...] = y.reshape(m, m, n, th, tw, f).transpose(2, 3, 1, 4,
                                                                                     0, 5)


def forward_into(xp, u, r, tiles_hw, out):
    """``forward_chunk`` into out (n, OH, OW, F), which may be smaller than the tiles cover."""
    n, oh, ow, f = out.shape
    full = (tiles_hw[0] * OUTPUT_TILE, tiles_hw[1] * OUTPUT_TILE)
    if (oh, ow) == full:
        forward_chunk(xp, u, r, tiles_hw, out)
        return
    tmp = parallel.scratch("wino_out", (n, *full, f), out.dtype)
    forward_chunk(xp, u, r, tiles_hw, tmp)
    out[...] = tmp[:, :oh, :ow]


def weight_grad_chunk(xp, g, r, tiles_hw, acc):
    """acc (a*a, C, F) += sum over tiles of (BT d B)^T (AT^T g AT), per transformed position
    (ordered (nu, xi), as everywhere here).

    xp: (n, th*m + r - 1, tw*m + r - 1, C) as in the forward; g: (n, th*m, tw*m, F), zero
    beyond the real output. ``kernel_grad(acc)`` turns the sum into dw.
    """
    v = backend.twin(_input_transform, "winograd.input_transform", xp)(xp, r, tiles_hw)
    g2 = backend.twin(_gradient_transform, "winograd.gradient_transform", g)(g, r, tiles_hw)
    acc += np.matmul(v.transpose(0, 2, 1), g2)  # (a*a, C, F)


def _gradient_transform(g, r, tiles_hw):
    """g: (n, th*m, tw*m, F) -> AT^T g AT of every tile: (a*a, P, F) (NumPy twin)."""
    m = OUTPUT_TILE
    a = m + r - 1
    n, _, _, f = g.shape
    th, tw = tiles_hw
    p = n * th * tw
    at, _, _ = transforms(m, r, g.dtype)
    # g tiles [j, i, n, ti, tj, f] = g[n, ti*m + i, tj*m + j, f], then AT^T g AT
    gt = parallel.scratch("wino_b", (m, m, n, th, tw, f), g.dtype)
    gt[...] = g.reshape(n, th, m, tw, m, f).transpose(4, 2, 0, 1, 3, 5)
    g1 = parallel.scratch("wino_c", (a, m * p * f), g.dtype)
    np.matmul(at.T, gt.reshape(m, m * p * f), out=g1)  # columns: (a[nu], m[i] * P * F)
    g2 = parallel.scratch("wino_b", (a, a, p * f), g.dtype)
    np.matmul(at.T, g1.reshape(a, m, p * f), out=g2)  # rows, for each nu: (a[xi], P * F)
    return g2.reshape(a * a, p, f)


def kernel_grad(acc: np.ndarray, r: int) -> np.ndarray:
    """acc (a*a, C, F), positions (nu, xi) -> dw = G^T acc G: (r, r, C, F)."""
    _, g, _ = transforms(OUTPUT_TILE, r, acc.dtype)
    a = g.shape[0]
    m4 = acc.reshape(a, a, *acc.shape[1:])  # [nu, xi, C, F]
    dw = np.tensordot(g.T, m4, axes=(1, 1))  # rows: (r[a], a[nu], C, F)
    dw = np.tensordot(g.T, dw, axes=(1, 1))  # columns: (r[b], r[a], C, F)
    return np.ascontiguousarray(dw.transpose(1, 0, 2, 3))
