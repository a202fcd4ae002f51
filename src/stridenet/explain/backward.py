"""Traced backward pass of a single-filter conv2d: both gradients as correlations.

With xp the padded input, w the applied kernel (KH, KW, C), strides (sh, sw),
dilation (dh, dw) and the output gradient dy (OH, OW):

kernel gradient -- the padded input correlated with dy, dy's taps spaced by the stride:
    dw[a, b, c] = sum_{i, j} dy[i, j] * xp[i*sh + a*dh, j*sw + b*dw, c]

input gradient -- the full correlation of dy with w rotated 180 degrees:
    dy_dil  = dy with sh-1 / sw-1 zeros between entries           (stride undone)
    dy_full = dy_dil zero-padded by d*(k-1) before and after (plus the input cells
              past the last window, which no output read)
    dxp[p, q, c] = sum_{a, b} dy_full[p + a*dh, q + b*dw] * rot(w)[a, b, c]
    dx = dxp without the padding rows/cols

With ``flip_kernel`` the forward pass used w = rot(kernel), so the gradient of the
kernel as given is dw rotated back. The bias gradient is sum(dy).
"""

from __future__ import annotations

import numpy as np

from .conv import as_numbers, conv2d
from .trace import BackwardTrace, GradCell, Term


def _as_dy(dy, out_hw, op: str) -> np.ndarray:
    g = as_numbers(dy, "dy", op)
    oh, ow = out_hw
    if g.shape in ((oh, ow, 1), (1, oh, ow, 1)):
        g = g.reshape(oh, ow)
    if g.shape != (oh, ow):
        raise ValueError(f"{op}: dy must have the output's shape ({oh}, {ow}) (or ({oh}, {ow}, "
                         f"1) / (1, {oh}, {ow}, 1)), got {g.shape}")
    return g


def _kernel_grad(fwd, dyl, xpl):
    """One GradCell per tap of the kernel as given (flip undone)."""
    kh, kw, c = fwd.applied.shape
    (sh, sw), (dh, dw) = fwd.strides, fwd.dilation
    (pt, _), (pl, _) = fwd.pads
    h, w = fwd.x.shape[:2]
    oh, ow = len(dyl), len(dyl[0])
    cells, totals = [], {}
    for ga in range(kh):
        for gb in range(kw):
            a, b = (kh - 1 - ga, kw - 1 - gb) if fwd.flip else (ga, gb)  # tap of applied w
            for ch in range(c):
                terms = []
                for i in range(oh):
                    for j in range(ow):
                        r, q = i * sh + a * dh, j * sw + b * dw
                        v = xpl[r][q][ch]
                        padded = not (pt <= r < pt + h and pl <= q < pl + w)
                        terms.append(Term(dyl[i][j], v, dyl[i][j] * v, (r, q, ch), (i, j, 0),
                                          padded))
                total = sum(t.product for t in terms)
                totals[ga, gb, ch] = total
                cells.append(GradCell((ga, gb, ch), tuple(terms), total))
    return cells, totals


def conv2d_backward(x, kernel, dy, strides=1, padding="valid", dilation_rate=1,
                    flip_kernel=False, bias=None) -> BackwardTrace:
    """Trace the gradients of ``conv2d`` (arguments as :func:`stridenet.explain.conv2d`)
    for the output gradient ``dy``: (OH, OW). ``trace.dx`` is (H, W, C), ``trace.dkernel``
    (KH, KW, C), ``trace.dbias`` sum(dy) when a bias is given."""
    op = "conv2d_backward"
    fwd = conv2d(x, kernel, strides, padding, dilation_rate, flip_kernel, bias)
    g = _as_dy(dy, fwd.y.shape, op)
    xp, applied = fwd.padded, fwd.applied
    hp, wp, c = xp.shape
    kh, kw, _ = applied.shape
    oh, ow = g.shape
    (sh, sw), (dh, dw) = fwd.strides, fwd.dilation
    (pt, _), (pl, _) = fwd.pads
    h, w = fwd.x.shape[:2]
    dyl = g.tolist()
    dk_cells, dk_totals = _kernel_grad(fwd, dyl, xp.tolist())

    # input gradient: spread dy by the stride, pad it for a full correlation
    dy_dil = np.zeros(((oh - 1) * sh + 1, (ow - 1) * sw + 1), dtype=g.dtype)
    dy_dil[::sh, ::sw] = g
    top, left = dh * (kh - 1), dw * (kw - 1)
    bottom, right = hp - 1 - (oh - 1) * sh, wp - 1 - (ow - 1) * sw  # = d*(k-1) + unread cells
    dy_full = np.pad(dy_dil, ((top, bottom), (left, right)))  # (Hp + dh*(KH-1), Wp + dw*(KW-1))
    rot = applied[::-1, ::-1]  # (KH, KW, C)
    dtype = np.result_type(g, applied, xp)
    dx_padded = np.zeros((hp, wp, c), dtype=dtype)
    for a in range(kh):
        for b in range(kw):
            patch = dy_full[a * dh:a * dh + hp, b * dw:b * dw + wp]  # (Hp, Wp)
            dx_padded += patch[:, :, None] * rot[a, b][None, None, :]
    fl, rl = dy_full.tolist(), rot.tolist()
    dx_cells, dx = [], np.zeros((h, w, c), dtype=dtype)
    for p in range(pt, pt + h):
        for q in range(pl, pl + w):
            for ch in range(c):
                terms = []
                for a in range(kh):
                    for b in range(kw):
                        u, v = p + a * dh, q + b * dw
                        real = (u - top) % sh == 0 and (v - left) % sw == 0 and \
                            0 <= u - top < dy_dil.shape[0] and 0 <= v - left < dy_dil.shape[1]
                        wt, val = rl[a][b][ch], fl[u][v]
                        terms.append(Term(wt, val, wt * val, (u, v, 0), (a, b, ch), not real))
                total = sum(t.product for t in terms)
                dx[p - pt, q - pl, ch] = total
                dx_cells.append(GradCell((p - pt, q - pl, ch), tuple(terms), total))
    dkernel = np.zeros(fwd.kernel.shape, dtype=dtype)
    for idx, total in dk_totals.items():
        dkernel[idx] = total
    notes = (
        f"dy spread by the stride {fwd.strides}: {sh - 1} zero row(s) / {sw - 1} zero col(s) "
        f"between entries -> {dy_dil.shape[0]}x{dy_dil.shape[1]}",
        f"dy_full pads: top {top}, bottom {bottom}, left {left}, right {right} "
        f"(d*(k-1) = {top}, {left}; bottom/right add the padded cells no window reached)",
        f"full correlation of {dy_full.shape[0]}x{dy_full.shape[1]} with the rotated "
        f"{kh}x{kw} kernel -> {hp}x{wp} (the padded input), cropped to {h}x{w}",
    )
    dbias = None if bias is None else sum(sum(r) for r in dyl)
    return BackwardTrace(fwd, g, dy_dil, dy_full, ((top, bottom), (left, right)), rot,
                         tuple(dk_cells), tuple(dx_cells), dkernel, dx_padded, dx, dbias, notes)


__all__ = ["conv2d_backward"]
