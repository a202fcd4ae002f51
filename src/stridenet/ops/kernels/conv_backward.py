"""The backward pass of ``conv2d_forward``: input, kernel and bias gradients.

With g the output gradient (dy, masked by y > 0 when relu was fused), per chunk of images:

* db = sum of g over every output cell;
* dw = the correlation of the input with g: Winograd F(r, m) when the forward used
  Winograd, the compiled direct kernel for stride 1, 1-4 input channels and up to 16
  filters (with db from the same pass), else im2col(x)^T g -- partial sums per worker,
  added in worker order;
* dx, stride 1: the full correlation of the zero-padded g with the kernel rotated 180
  degrees and transposed (C and F swapped): one Winograd or im2col product, no scatter;
  stride > 1: each kernel tap (a, b) adds g @ w[a, b]^T onto the cells it read.
"""

from __future__ import annotations

import numpy as np

from . import backend, parallel, winograd
from .conv import (
    DIRECT_MAX_FILTERS,
    ConvCache,
    _cols,
    _im2col,
    _kernel_matrix,
    direct_kernel,
    im2col_matrix,
    padded_chunk,
)
from .windows import chunk_size, select, tap_slices, window_view


def conv2d_backward(dy, cache: ConvCache, needs=(True, True, True)):
    """dy: (N, OH, OW, F) -> (dx: (N, H, W, C) | None, dw: w.shape | None, db: (F,) | None)."""
    x, w, groups = cache.x, cache.w, cache.groups
    kh, kw, cg, f = w.shape
    fg = f // groups
    n, _, _, c = x.shape
    oh, ow = cache.out_hw
    h, wd = cache.in_hw
    dtype = np.result_type(dy, x)
    dy = dy.astype(dtype, copy=False)
    need_x, need_w, need_b = needs[0], needs[1], needs[2] and cache.has_bias
    # dx, stride 1: a correlation of the padded gradient (F channels in) -- unless the input
    # has fewer channels than the output, where one product g @ W^T and a scatter of its
    # KH*KW column blocks (C channels each) moves less: "col2im", also used for strides
    by_correlation = need_x and tuple(cache.strides) == (1, 1) and groups == 1 and \
        (cache.winograd or c >= f)
    workers = parallel.num_workers()
    dbs = np.zeros((workers, f), dtype) if need_b else None
    dx = np.empty((n, h, wd, c), dtype) if need_x else None
    if cache.winograd:
        g_tiles, _ = winograd.tiles_for((oh, ow), kh)
        a = winograd.OUTPUT_TILE + kh - 1
        acc = np.zeros((workers, a * a, c, f), dtype) if need_w else None
        x_tiles, gp_hw = winograd.tiles_for((h, wd), kh)
        u_rot = winograd.kernel_transform(_rotated(w).astype(dtype, copy=False))
        per_image = winograd.workspace_per_image(g_tiles, kh, c, f)
    else:
        acc = np.zeros((workers, *_kernel_matrix(w, groups).shape), dtype) if need_w else None
        gp_hw = (h + (kh - 1) * cache.dilation[0], wd + (kw - 1) * cache.dilation[1])
        w_rot = _rotated(w).reshape(kh * kw * f, c) if by_correlation else None
        w_t = _kernel_matrix(w, 1)[0].T if need_x and groups == 1 else None  # (F, K)
        # the largest workspace per image: im2col of x (dw) or of g (dx), or the masked g
        per_image = max(kh * kw * max(oh * ow * c, h * wd * f if by_correlation else 0),
                        2 * oh * ow * f)

    direct = None
    if need_w and not cache.winograd:
        direct = direct_kernel("weight_grad", x, w, cache.strides, groups, DIRECT_MAX_FILTERS)
        if direct is not None:
            x, dy = np.ascontiguousarray(x, dtype=dtype), np.ascontiguousarray(dy)

    def chunk(worker, n0, n1):
        rows = (n1 - n0) * oh * ow
        g = dy[n0:n1].reshape(rows, f)
        if cache.y is not None:  # fused relu: the gradient passes where y > 0
            masked = parallel.scratch("g", g.shape, dtype)
            y_flat = cache.y[n0:n1].reshape(-1)
            backend.twin(_relu_mask, "activations.relu_grad", g, y_flat)(
                worker, masked.reshape(-1), g.reshape(-1), y_flat)
            g = masked
        if direct is not None:  # compiled: dw and db from the same pass over g
            direct(x[n0:n1], g.reshape(n1 - n0, oh, ow, f), acc[worker].reshape(w.shape),
                   dbs[worker] if need_b else None, cache.dilation, cache.xpads)
        elif need_b:
            dbs[worker] += np.ones(rows, dtype) @ g  # a BLAS row sum
        if need_w and cache.winograd:
            gt = _zero_extended(g.reshape(n1 - n0, oh, ow, f), g_tiles, "g_tiles")
            xp = padded_chunk(x, cache.xpads, n0, n1)
            winograd.weight_grad_chunk(xp, gt, kh, g_tiles, acc[worker])
        elif need_w and direct is None:
            xp = padded_chunk(x, cache.xpads, n0, n1)
            if groups == 1:
                cols = im2col_matrix(xp, (kh, kw), cache.strides, cache.dilation,
                                     (oh, ow))[None]
            else:
                view = window_view(xp, (kh, kw), cache.strides, cache.dilation, (oh, ow))
                cols = _im2col(view, groups)
            dyg = g.reshape(rows, groups, fg).transpose(1, 0, 2)  # (G, rows, Fg)
            acc[worker] += np.matmul(cols.transpose(0, 2, 1), dyg)  # (G, K, Fg)
        if by_correlation:
            gp = _padded_gradient(g.reshape(n1 - n0, oh, ow, f), cache, gp_hw)
            if cache.winograd:
                winograd.forward_into(gp, u_rot, kh, x_tiles, dx[n0:n1])
            else:
                view = window_view(gp, (kh, kw), (1, 1), cache.dilation, (h, wd))
                np.matmul(_cols(view), w_rot, out=dx[n0:n1].reshape(-1, c))
        elif need_x and groups == 1:
            _input_grad_by_col2im(dx[n0:n1], g, w_t, cache, (kh, kw))
        elif need_x:
            (pt, pb), (pl, pr) = cache.xpads
            dxp = parallel.scratch("dxp", (n1 - n0, h + pt + pb, wd + pl + pr, c),
                                   dtype)
            dxp[...] = 0
            dyg = g.reshape(rows, groups, fg).transpose(1, 0, 2)  # (G, rows, Fg)
            _input_grad_by_taps(dxp, dyg, w, groups, cache.strides, cache.dilation,
                                (oh, ow))
            dx[n0:n1] = dxp[:, pt:pt + h, pl:pl + wd, :]

    used = parallel.run_chunks(chunk, n, chunk_size(n, per_image, x.itemsize,
                                                    big_images=not cache.winograd))
    dw = db = None
    if need_w:
        total = acc[0]
        for k in range(1, used):  # fixed order: the same sum on every run
            total += acc[k]
        if cache.winograd:
            dw = winograd.kernel_grad(total, kh)
        else:
            # (G, KH*KW*Cg, Fg) -> (KH, KW, Cg, G*Fg): inverse of _kernel_matrix
            dw = total.reshape(groups, kh, kw, cg, fg).transpose(1, 2, 3, 0, 4).reshape(w.shape)
    if need_b:
        db = dbs[0]
        for k in range(1, used):
            db += dbs[k]
    return dx, dw, db


def _relu_mask(worker, out, g, y):
    """out = g where y > 0, else +0.0 (flat arrays; NumPy twin of the compiled relu mask)."""
    select(g, y > 0, out=out)


def _rotated(w: np.ndarray) -> np.ndarray:
    """w: (KH, KW, C, F) -> (KH, KW, F, C): rotated 180 degrees, input and output swapped."""
    return np.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2))


def _zero_extended(g4, tiles_hw, tag):
    """g4 (n, OH, OW, F) -> (n, th*m, tw*m, F) with zeros beyond OH, OW (g4 if it fits)."""
    n, oh, ow, f = g4.shape
    full = (tiles_hw[0] * winograd.OUTPUT_TILE, tiles_hw[1] * winograd.OUTPUT_TILE)
    if (oh, ow) == full:
        return g4
    out = parallel.scratch(tag, (n, *full, f), g4.dtype)
    out[...] = 0
    out[:, :oh, :ow] = g4
    return out


def _padded_gradient(g4, cache, gp_hw):
    """gp (n, *gp_hw, F) with gp[r] = g[r - (KH-1)*dh + pt] (zero outside g), per axis.

    With stride 1, dx[h, w] = sum_{a, b} g[h + pt - a*dh, w + pl - b*dw] @ w[a, b]^T,
    which is sum_{a'} gp[h + a'*dh] @ w[KH-1-a']^T: a plain stride-1 correlation of gp
    with the rotated kernel. gp may extend further with zeros (Winograd's whole tiles).
    """
    kh, kw = cache.w.shape[:2]
    (pt, _), (pl, _) = cache.pads
    dh, dw_ = cache.dilation
    n, oh, ow, f = g4.shape
    gh, gw = gp_hw
    gp = parallel.scratch("gp", (n, gh, gw, f), g4.dtype)
    gp[...] = 0
    r0, c0 = (kh - 1) * dh - pt, (kw - 1) * dw_ - pl  # where g's row/column 0 lands in gp
    src_r, src_c = max(0, -r0), max(0, -c0)
    dst_r, dst_c = max(0, r0), max(0, c0)
    rows = min(oh - src_r, gh - dst_r)
    cols = min(ow - src_c, gw - dst_c)
    if rows > 0 and cols > 0:
        gp[:, dst_r:dst_r + rows, dst_c:dst_c + cols] = g4[:, src_r:src_r + rows,
                                                           src_c:src_c + cols]
    return gp


def _input_grad_by_col2im(out, g, w_t, cache, kernel):
    """out (n, H, W, C) = col2im(g @ W^T): one product, then the scatter of its columns
    (compiled when numba runs, see ``backend``).

    (g @ W^T)[row, (a, b, c)] is what output ``row`` sends back through tap (a, b) to
    channel c.
    """
    kh, kw = kernel
    n, c = out.shape[0], out.shape[-1]
    oh, ow = cache.out_hw
    back = parallel.scratch("cols", (g.shape[0], w_t.shape[1]), g.dtype)
    np.matmul(g, w_t, out=back)  # (rows, KH*KW*C)
    back6 = back.reshape(n, oh, ow, kh, kw, c)
    scatter = backend.twin(col2im, "col2im.col2im", back6, out)
    scatter(back6, out, cache.strides, cache.dilation, cache.xpads)


def col2im(back6, out, strides, dilation, pads):
    """back6: (n, OH, OW, KH, KW, C), out: (n, H, W, C) written: the NumPy twin.

    Onto a zeroed padded buffer, per kernel tap one strided add (within one tap no two
    outputs share a cell, so each add is a plain slice), then the crop into ``out``.
    """
    n, oh, ow, kh, kw, c = back6.shape
    (pt, pb), (pl, pr) = pads
    h, wd = out.shape[1:3]
    dxp = parallel.scratch("dxp", (n, h + pt + pb, wd + pl + pr, c), out.dtype)
    dxp[...] = 0
    for a in range(kh):
        for b in range(kw):
            dxp[tap_slices(a, b, strides, dilation, (oh, ow))] += back6[:, :, :, a, b]
    out[...] = dxp[:, pt:pt + h, pl:pl + wd, :]


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
