"""2D convolution (cross-correlation) on NHWC arrays: forward and backward.

    y[n, i, j, f] = act(b[f] + sum_{a, b, c} xp[n, i*sh + a*dh, j*sw + b*dw, g*Cg + c]
                                               * w[a, b, c, f])

where xp is the zero-padded input, g = f // (F / groups) the group of filter f and act
the identity or relu (fused, so its mask is applied while the chunk is in cache).

The batch is cut into chunks of images that stay in cache; each chunk is unrolled with
im2col into a reused workspace (rows = n*OH*OW, cols = KH*KW*Cg) and multiplied with the
kernel matrix (KH*KW*Cg, F/groups) by BLAS, straight into the output. Chunks run on all
cores (``parallel.run_chunks``). Backward, per chunk:

* dw += im2col(x)^T g (partial sums per worker, added in worker order);
* db = sum of g over rows;
* dx, stride 1: the correlation of the zero-padded g with the kernel rotated 180
  degrees and transposed -- im2col of g times one matrix, no scatter; stride > 1: each
  kernel tap (a, b) adds g @ w[a, b]^T onto the cells it read (a strided slice).

g is dy, or dy masked by y > 0 when relu is fused.
"""

from __future__ import annotations

import numpy as np

from . import parallel
from .geometry import output_size
from .windows import chunk_size, pad_nhwc, select, tap_slices, window_view


class ConvCache:
    """What the backward pass needs: the padded input, the geometry, and y for the mask."""

    __slots__ = ("xp", "w", "in_hw", "pads", "strides", "dilation", "groups", "out_hw",
                 "has_bias", "y")

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


def _cols(worker, view: np.ndarray) -> np.ndarray:
    """im2col of a window view into the worker's workspace: (n*OH*OW, KH*KW*C)."""
    n, oh, ow, kh, kw, c = view.shape
    if kh == kw == 1:
        flat = view.reshape(n, oh, ow, c)
        if flat.flags.c_contiguous:  # a 1x1 stride-1 conv reads x as it is
            return flat.reshape(n * oh * ow, c)
    cols = parallel.scratch(worker, "cols", (n * oh * ow, kh * kw * c), view.dtype)
    cols.reshape(view.shape)[...] = view
    return cols


def conv2d_forward(x, w, b, strides, pads, dilation, groups, relu=False):
    """x: (N, H, W, C), w: (KH, KW, C/groups, F), b: (F,) or None -> (y: (N, OH, OW, F), cache).

    ``pads`` are explicit ((top, bottom), (left, right)); strides and dilation pairs;
    ``relu=True`` applies max(., 0) to the result.
    """
    n, h, wd, c = x.shape
    kh, kw, cg, f = w.shape
    oh = output_size(h, kh, strides[0], *pads[0], dilation[0])
    ow = output_size(wd, kw, strides[1], *pads[1], dilation[1])
    xp = pad_nhwc(x, pads)
    wm = _kernel_matrix(w, groups)  # (G, K, Fg)
    dtype = np.result_type(x, w)
    y = np.empty((n, oh, ow, f), dtype=dtype)
    bias = None if b is None else b.astype(dtype, copy=False)

    def chunk(worker, n0, n1):
        view = window_view(xp[n0:n1], (kh, kw), strides, dilation, (oh, ow))
        out = y[n0:n1].reshape(-1, f)  # (rows, F), a view into y
        if groups == 1:
            np.matmul(_cols(worker, view), wm[0], out=out)
        else:
            yg = np.matmul(_im2col(view, groups), wm)  # (G, rows, Fg)
            out.reshape(-1, groups, f // groups)[...] = yg.transpose(1, 0, 2)
        if bias is not None:
            out += bias
        if relu:
            np.maximum(out, 0, out=out)

    parallel.run_chunks(chunk, n, chunk_size(n, oh * ow * kh * kw * c, x.itemsize))
    cache = ConvCache(xp=xp, w=w, in_hw=(h, wd), pads=pads, strides=strides, dilation=dilation,
                      groups=groups, out_hw=(oh, ow), has_bias=b is not None,
                      y=y if relu else None)
    return y, cache


def conv2d_backward(dy, cache: ConvCache, needs=(True, True, True)):
    """dy: (N, OH, OW, F) -> (dx: (N, H, W, C) | None, dw: w.shape | None, db: (F,) | None)."""
    xp, w, groups = cache.xp, cache.w, cache.groups
    kh, kw, cg, f = w.shape
    fg = f // groups
    n, _, _, c = xp.shape
    oh, ow = cache.out_hw
    sh, sw = cache.strides
    dtype = np.result_type(dy, xp)
    dy = dy.astype(dtype, copy=False)
    need_x, need_w, need_b = needs[0], needs[1], needs[2] and cache.has_bias
    by_correlation = need_x and sh == sw == 1 and groups == 1
    workers = parallel.num_workers()
    dwm = np.zeros((workers, *_kernel_matrix(w, groups).shape), dtype) if need_w else None
    dbs = np.zeros((workers, f), dtype) if need_b else None
    dx = np.empty((n, *cache.in_hw, c), dtype) if need_x else None
    w_rot = _rotated_matrix(w) if by_correlation else None  # (KH*KW*F, C)
    # the largest im2col workspace per image: x's for dw, or g's for dx
    per_image = kh * kw * max(oh * ow * c, cache.in_hw[0] * cache.in_hw[1] * f
                              if by_correlation else 0)

    def chunk(worker, n0, n1):
        rows = (n1 - n0) * oh * ow
        g = dy[n0:n1].reshape(rows, f)
        if cache.y is not None:  # fused relu: the gradient passes where y > 0
            mask = cache.y[n0:n1].reshape(rows, f) > 0
            g = select(g, mask, parallel.scratch(worker, "g", g.shape, dtype))
        if need_b:
            dbs[worker] += np.ones(rows, dtype) @ g  # a BLAS row sum
        dyg = g.reshape(rows, groups, fg).transpose(1, 0, 2)  # (G, rows, Fg)
        if need_w:
            view = window_view(xp[n0:n1], (kh, kw), cache.strides, cache.dilation, (oh, ow))
            cols = _cols(worker, view)[None] if groups == 1 else _im2col(view, groups)
            dwm[worker] += np.matmul(cols.transpose(0, 2, 1), dyg)  # (G, K, Fg)
        if by_correlation:
            _input_grad_by_correlation(worker, dx[n0:n1], g, w_rot, cache)
        elif need_x:
            dxp = parallel.scratch(worker, "dxp", (n1 - n0, *xp.shape[1:]), dtype)
            dxp[...] = 0
            _input_grad_by_taps(dxp, dyg, w, groups, cache.strides, cache.dilation, (oh, ow))
            (pt, _), (pl, _) = cache.pads
            dx[n0:n1] = dxp[:, pt:pt + cache.in_hw[0], pl:pl + cache.in_hw[1], :]

    used = parallel.run_chunks(chunk, n, chunk_size(n, per_image, xp.itemsize))
    dw = db = None
    if need_w:
        total = dwm[0]
        for k in range(1, used):  # fixed order: the same sum on every run
            total += dwm[k]
        # (G, KH*KW*Cg, Fg) -> (KH, KW, Cg, G*Fg): inverse of _kernel_matrix
        dw = total.reshape(groups, kh, kw, cg, fg).transpose(1, 2, 3, 0, 4).reshape(w.shape)
    if need_b:
        db = dbs[0]
        for k in range(1, used):
            db += dbs[k]
    return dx, dw, db


def _rotated_matrix(w: np.ndarray) -> np.ndarray:
    """w: (KH, KW, C, F) -> (KH*KW*F, C): rotated 180 degrees, input and output swapped."""
    kh, kw, c, f = w.shape
    return np.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2)).reshape(kh * kw * f, c)


def _input_grad_by_correlation(worker, dx, g, w_rot, cache):
    """dx (n, H, W, C) = full correlation of g (stride 1) with the rotated kernel.

    With stride 1, dx[h, w] = sum_{a, b} g[h + pt - a*dh, w + pl - b*dw] @ w[a, b]^T.
    Writing gp[r] = g[r - (KH-1)*dh + pt] (zero outside g) turns that into
    sum_{a'} gp[h + a'*dh] @ w[KH-1-a']^T: a plain stride-1 correlation of gp with the
    rotated kernel, one im2col and one matrix product.
    """
    kh, kw, c, f = cache.w.shape
    (pt, _), (pl, _) = cache.pads
    (dh, dw_) = cache.dilation
    n, h, wd, _ = dx.shape
    oh, ow = cache.out_hw
    gh, gw = h + (kh - 1) * dh, wd + (kw - 1) * dw_
    gp = parallel.scratch(worker, "gp", (n, gh, gw, f), g.dtype)
    gp[...] = 0
    g4 = g.reshape(n, oh, ow, f)
    r0, c0 = (kh - 1) * dh - pt, (kw - 1) * dw_ - pl  # where g's row/column 0 lands in gp
    src_r, src_c = max(0, -r0), max(0, -c0)
    dst_r, dst_c = max(0, r0), max(0, c0)
    rows = min(oh - src_r, gh - dst_r)
    cols = min(ow - src_c, gw - dst_c)
    if rows > 0 and cols > 0:
        gp[:, dst_r:dst_r + rows, dst_c:dst_c + cols] = g4[:, src_r:src_r + rows,
                                                           src_c:src_c + cols]
    view = window_view(gp, (kh, kw), (1, 1), cache.dilation, (h, wd))  # (n, H, W, KH, KW, F)
    np.matmul(_cols(worker, view), w_rot, out=dx.reshape(-1, c))


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
