"""2D convolution (cross-correlation) on NHWC arrays: forward and backward.

    y[n, i, j, f] = b[f] + sum_{a, b, c} xp[n, i*sh + a*dh, j*sw + b*dw, g*Cg + c] * w[a, b, c, f]

where xp is the zero-padded input and g = f // (F / groups) is the group of
filter f. Each chunk of images is unrolled with im2col into a matrix
(rows = N*OH*OW, cols = KH*KW*Cg) and multiplied with the kernel matrix
(KH*KW*Cg, F/groups) by BLAS, once per group.
"""

from __future__ import annotations

import numpy as np

from .geometry import output_size
from .windows import chunk_size, pad_nhwc, tap_slices, window_view


class ConvCache:
    """What the backward pass needs: the padded input and the geometry."""

    __slots__ = ("xp", "w", "in_hw", "pads", "strides", "dilation", "groups", "out_hw",
                 "has_bias")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


def _kernel_matrix(w: np.ndarray, groups: int) -> np.ndarray:
    """w: (KH, KW, Cg, F) -> (G, KH*KW*Cg, F/G)."""
    kh, kw, cg, f = w.shape
    fg = f // groups
    w5 = w.reshape(kh, kw, cg, groups, fg)  # filter f = g*fg + j
    return w5.transpose(3, 0, 1, 2, 4).reshape(groups, kh * kw * cg, fg)  # (G, K, Fg)


def _im2col(view: np.ndarray, groups: int) -> np.ndarray:
    """view (n, OH, OW, KH, KW, C) -> contiguous (G, n*OH*OW, KH*KW*Cg)."""
    n, oh, ow, kh, kw, c = view.shape
    if groups == 1:
        return view.reshape(1, n * oh * ow, kh * kw * c)  # reshape of a strided view copies
    v7 = view.reshape(n, oh, ow, kh, kw, groups, c // groups)
    cols = v7.transpose(5, 0, 1, 2, 3, 4, 6)  # (G, n, OH, OW, KH, KW, Cg)
    return np.ascontiguousarray(cols).reshape(groups, n * oh * ow, kh * kw * (c // groups))


def conv2d_forward(x, w, b, strides, pads, dilation, groups):
    """x: (N, H, W, C), w: (KH, KW, C/groups, F), b: (F,) or None -> (y: (N, OH, OW, F), cache).

    ``pads`` are explicit ((top, bottom), (left, right)); strides and dilation pairs.
    """
    n, h, wd, c = x.shape
    kh, kw, cg, f = w.shape
    oh = output_size(h, kh, strides[0], *pads[0], dilation[0])
    ow = output_size(wd, kw, strides[1], *pads[1], dilation[1])
    xp = pad_nhwc(x, pads)
    wm = _kernel_matrix(w, groups)  # (G, K, Fg)
    y = np.empty((n, oh, ow, f), dtype=np.result_type(x, w))
    step = chunk_size(n, oh * ow * kh * kw * c, x.itemsize)
    for n0 in range(0, n, step):
        n1 = min(n, n0 + step)
        view = window_view(xp[n0:n1], (kh, kw), strides, dilation, (oh, ow))
        cols = _im2col(view, groups)  # (G, rows, K)
        rows = cols.shape[1]
        if groups == 1:
            np.matmul(cols[0], wm[0], out=y[n0:n1].reshape(rows, f))
        else:
            yg = np.matmul(cols, wm)  # (G, rows, Fg)
            y[n0:n1] = yg.transpose(1, 0, 2).reshape(n1 - n0, oh, ow, f)
    if b is not None:
        y += b
    cache = ConvCache(xp=xp, w=w, in_hw=(h, wd), pads=pads, strides=strides, dilation=dilation,
                      groups=groups, out_hw=(oh, ow), has_bias=b is not None)
    return y, cache


def conv2d_backward(dy, cache: ConvCache, needs=(True, True, True)):
    """dy: (N, OH, OW, F) -> (dx: (N, H, W, C) | None, dw: w.shape | None, db: (F,) | None).

    dw = sum over outputs of im2col(x)^T dy (one matrix product per chunk and group);
    dx gathers dy @ w[a, b]^T back onto the cells each kernel tap (a, b) read.
    """
    xp, w, groups = cache.xp, cache.w, cache.groups
    kh, kw, cg, f = w.shape
    fg = f // groups
    n, _, _, c = xp.shape
    oh, ow = cache.out_hw
    wm = _kernel_matrix(w, groups)  # (G, K, Fg)
    need_x, need_w, need_b = needs[0], needs[1], needs[2] and cache.has_bias
    dxp = np.zeros(xp.shape, dtype=np.result_type(dy, xp)) if need_x else None
    dwm = np.zeros_like(wm) if need_w else None
    step = chunk_size(n, oh * ow * kh * kw * c, xp.itemsize)
    for n0 in range(0, n, step):
        n1 = min(n, n0 + step)
        rows = (n1 - n0) * oh * ow
        dyg = dy[n0:n1].reshape(rows, groups, fg).transpose(1, 0, 2)  # (G, rows, Fg)
        if need_w:
            view = window_view(xp[n0:n1], (kh, kw), cache.strides, cache.dilation, (oh, ow))
            cols = _im2col(view, groups)  # (G, rows, K)
            dwm += np.matmul(cols.transpose(0, 2, 1), dyg)  # (G, K, Fg)
        if need_x:
            _input_grad_by_taps(dxp[n0:n1], dyg, w, groups, cache.strides, cache.dilation,
                                (oh, ow))
    dx = dw = db = None
    if need_x:
        (pt, _), (pl, _) = cache.pads
        h, wd = cache.in_hw
        dx = dxp[:, pt:pt + h, pl:pl + wd, :]
    if need_w:
        # (G, KH*KW*Cg, Fg) -> (KH, KW, Cg, G*Fg): inverse of _kernel_matrix
        dw = dwm.reshape(groups, kh, kw, cg, fg).transpose(1, 2, 3, 0, 4).reshape(w.shape)
    if need_b:
        # a BLAS row-sum: much faster than dy.sum(axis=(0, 1, 2)) on large maps
        dy2 = dy.reshape(-1, f)  # (N*OH*OW, F)
        db = np.ones(dy2.shape[0], dy.dtype) @ dy2
    return dx, dw, db


def _input_grad_by_taps(dxp, dyg, w, groups, strides, dilation, out_hw):
    """dxp (n, Hp, Wp, C) += the input gradient, one matrix product per kernel tap.

    Tap (a, b) read xp[n, i*sh + a*dh, j*sw + b*dw, c] for every output (i, j), so it
    sends back dy[n, i, j, :] @ w[a, b, :, :]^T to exactly those cells (within one tap
    no two outputs share a cell, so the strided add needs no scatter).
    """
    kh, kw, cg, f = w.shape
    n = dxp.shape[0]
    oh, ow = out_hw
    fg = f // groups
    for a in range(kh):
        for b in range(kw):
            wt = w[a, b].reshape(cg, groups, fg).transpose(1, 2, 0)  # (G, Fg, Cg)
            contrib = np.matmul(dyg, wt)  # (G, rows, Cg)
            if groups > 1:
                contrib = contrib.transpose(1, 0, 2)  # (rows, G, Cg): channel g*Cg + c
            dxp[tap_slices(a, b, strides, dilation, out_hw)] += contrib.reshape(n, oh, ow,
                                                                              groups * cg)
