"""N-D convolution (cross-correlation) on channels-last arrays, used for 3D: forward and backward.

With r spatial axes, output cell o = (o_1..o_r), kernel tap t = (t_1..t_r) and xp the
zero-padded input:

    y[n, o, f] = act(b[f] + sum_{t, c} xp[n, o*s + t*d, g*Cg + c] * w[t, c, f])

(per axis o_i*s_i + t_i*d_i; g = f // (F / groups) the group of filter f). The same chunked
im2col + BLAS approach as the 2D kernel (``conv.py``): the batch is cut into chunks of
images, each padded into a reused workspace and unrolled into a (rows, K*Cg) matrix
(rows = n * prod(O), K = prod(kernel)) multiplied with the kernel matrix (K*Cg, F/groups).
A video clip can be too big for one chunk even alone: then its first output axis (depth)
is cut into blocks of planes, one im2col product each. Chunks run on all cores.

Backward, per chunk with g = dy (masked by y > 0 when relu was fused):

* db = sum of g over the output cells, dw = im2col(x)^T g (partial sums per worker,
  added in worker order, so runs repeat bit for bit);
* dx, stride 1: the correlation of the zero-padded g with the rotated kernel (channels
  swapped), one im2col product per block; strides or groups: col2im(g W^T), one product
  per block, then for each kernel tap one strided add of (n, O, C) onto the padded cells
  that tap read (no two outputs of one tap share a cell).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import parallel
from .geometry import output_size
from .windows import CHUNK_BYTES, chunk_size, select


class ConvNDCache:
    """What the backward pass needs: the unpadded input, the geometry, y for the relu mask."""

    __slots__ = ("x", "w", "in_sz", "pads", "strides", "dilation", "groups", "out_sz",
                 "has_bias", "y")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


def kernel_matrix(w: np.ndarray, groups: int) -> np.ndarray:
    """w: (K_1..K_r, Cg, F) -> (G, prod(K)*Cg, F/G)."""
    *ks, cg, f = w.shape
    fg = f // groups
    w3 = w.reshape(math.prod(ks), cg, groups, fg)  # filter f = g*fg + j
    return w3.transpose(2, 0, 1, 3).reshape(groups, math.prod(ks) * cg, fg)  # (G, K*Cg, Fg)


def window_view(xp: np.ndarray, kernel, strides, dilation, out_sz) -> np.ndarray:
    """xp: (n, P_1..P_r, C) -> read-only view (n, O_1..O_r, K_1..K_r, C), no copy."""
    st = xp.strides
    inner = st[1:-1]
    shape = (xp.shape[0], *out_sz, *kernel, xp.shape[-1])
    strides = (st[0], *(a * s for a, s in zip(inner, strides)),
               *(a * d for a, d in zip(inner, dilation)), st[-1])
    return as_strided(xp, shape=shape, strides=strides, writeable=False)


def tap_slices(tap, strides, dilation, out_sz) -> tuple:
    """Index of the padded cells that kernel tap ``tap`` reads, for all outputs at once."""
    return (slice(None), *(slice(t * d, t * d + s * (o - 1) + 1, s)
                           for t, s, d, o in zip(tap, strides, dilation, out_sz)), slice(None))


def pad_into(out: np.ndarray, x: np.ndarray, pads) -> np.ndarray:
    """Write x (n, S_1..S_r, C) zero-padded by ``pads`` into out; only the border is zeroed."""
    inner = []
    for (p0, _), size in zip(pads, x.shape[1:-1]):
        lead = (slice(None), *inner)
        out[(*lead, slice(0, p0))] = 0
        out[(*lead, slice(p0 + size, None))] = 0
        inner.append(slice(p0, p0 + size))
    out[(slice(None), *inner)] = x
    return out


def interior(pads, sizes) -> tuple:
    """Index of the unpadded cells inside a padded (n, P..., C) array."""
    return (slice(None), *(slice(p0, p0 + n) for (p0, _), n in zip(pads, sizes)))


def padded_chunk(x, pads, n0, n1, tag="xpad_nd"):
    """x[n0:n1] zero-padded in this thread's workspace (x[n0:n1] itself without padding)."""
    xs = x[n0:n1]
    if all(p == 0 for pair in pads for p in pair):
        return xs
    shape = (n1 - n0, *(s + p0 + p1 for s, (p0, p1) in zip(xs.shape[1:-1], pads)), xs.shape[-1])
    return pad_into(parallel.scratch(tag, shape, xs.dtype), xs, pads)


def _blocks(n_images, out_sz, per_plane, itemsize):
    """Blocks [o0, o1) of the first output axis: whole unless one image is too big."""
    if n_images > 1 or per_plane * out_sz[0] * itemsize <= CHUNK_BYTES:
        return [(0, out_sz[0])]
    bd = max(1, CHUNK_BYTES // (per_plane * itemsize))
    return [(o0, min(out_sz[0], o0 + bd)) for o0 in range(0, out_sz[0], bd)]


def _block_input(xp, o0, o1, kernel, strides, dilation):
    """The padded rows of the first spatial axis read by outputs [o0, o1)."""
    s, d, k = strides[0], dilation[0], kernel[0]
    return xp[:, o0 * s:(o1 - 1) * s + (k - 1) * d + 1]


def _im2col(xb, kernel, strides, dilation, out_sz, groups) -> np.ndarray:
    """Patches of xb (n, P..., C) in a workspace: (G, rows, K*Cg)."""
    view = window_view(xb, kernel, strides, dilation, out_sz)  # (n, O..., K..., C)
    n, c = xb.shape[0], xb.shape[-1]
    rows, taps = n * math.prod(out_sz), math.prod(kernel)
    if groups == taps == 1 and all(s == 1 for s in strides) and xb.flags.c_contiguous:
        return xb.reshape(1, rows, c)  # a 1x1x1 stride-1 conv reads x as it is (read only)
    cols = parallel.scratch("cols_nd", (groups, rows, taps * (c // groups)), xb.dtype)
    if groups == 1:
        cols.reshape(view.shape)[...] = view
    else:
        v = view.reshape(n, *out_sz, *kernel, groups, c // groups)
        r = len(out_sz)
        order = (2 * r + 1, *range(2 * r + 1), 2 * r + 2)  # (G, n, O..., K..., Cg)
        cols.reshape(groups, *view.shape[:-1], c // groups)[...] = v.transpose(order)
    return cols


def _geometry(x_shape, w_shape, strides, pads, dilation):
    sizes, kernel = x_shape[1:-1], w_shape[:-2]
    out = tuple(output_size(n, k, s, p0, p1, d)
                for n, k, s, (p0, p1), d in zip(sizes, kernel, strides, pads, dilation))
    return tuple(sizes), tuple(kernel), out


def convnd_forward(x, w, b, strides, pads, dilation, groups, relu=False):
    """x: (N, S_1..S_r, C), w: (K_1..K_r, C/groups, F), b: (F,) or None
    -> (y: (N, O_1..O_r, F), cache). ``pads``: ((before, after), ...) per axis."""
    sizes, kernel, out_sz = _geometry(x.shape, w.shape, strides, pads, dilation)
    n, c, f = x.shape[0], x.shape[-1], w.shape[-1]
    dtype = np.result_type(x, w)
    x = x.astype(dtype, copy=False)
    wm = kernel_matrix(w.astype(dtype, copy=False), groups)  # (G, K*Cg, Fg)
    fg = f // groups
    y = np.empty((n, *out_sz, f), dtype)
    bias = None if b is None else b.astype(dtype, copy=False)
    per_plane = math.prod(out_sz[1:]) * math.prod(kernel) * c

    def chunk(worker, n0, n1):
        xp = padded_chunk(x, pads, n0, n1)  # (n, P..., C)
        for o0, o1 in _blocks(n1 - n0, out_sz, per_plane, x.itemsize):
            blk = (o1 - o0, *out_sz[1:])
            xb = _block_input(xp, o0, o1, kernel, strides, dilation)
            cols = _im2col(xb, kernel, strides, dilation, blk, groups)  # (G, rows, K*Cg)
            out = y[n0:n1, o0:o1].reshape(-1, f)  # (rows, F), a view: one image or whole
            if groups == 1:
                np.matmul(cols[0], wm[0], out=out)
            else:
                out.reshape(-1, groups, fg)[...] = np.matmul(cols, wm).transpose(1, 0, 2)
            if bias is not None:
                out += bias
            if relu:
                np.maximum(out, 0, out=out)

    per_image = math.prod(out_sz) * math.prod(kernel) * c
    parallel.run_chunks(chunk, n, chunk_size(n, per_image, x.itemsize))
    cache = ConvNDCache(x=x, w=w, in_sz=sizes, pads=tuple(pads), strides=tuple(strides),
                        dilation=tuple(dilation), groups=groups, out_sz=out_sz,
                        has_bias=b is not None, y=y if relu else None)
    return y, cache


CORRELATION_MAX_RATIO = 8  # dx by correlation (stride 1) while F <= this many times C


def convnd_backward(dy, cache: ConvNDCache, needs=(True, True, True)):
    """dy: (N, O..., F) -> (dx: (N, S..., C) | None, dw: w.shape | None, db: (F,) | None).

    dx with stride 1 (no groups) is a correlation of the zero-padded gradient with the
    rotated kernel: one im2col copy of g and one product per block, every cell of dx written
    once. Measured on a C3D layer (16 -> 32 channels, 3x3x3) it takes a fifth of the time
    of col2im's 27 strided read-modify-write adds, which serve strides and groups.
    Only the shape and dtype of ``cache.x`` are read when dw is not needed.
    """
    x, w, groups = cache.x, cache.w, cache.groups
    kernel, out_sz, strides, dilation, pads = (tuple(w.shape[:-2]), cache.out_sz, cache.strides,
                                               cache.dilation, cache.pads)
    n, c, f = x.shape[0], x.shape[-1], w.shape[-1]
    cg, fg, taps, rank = w.shape[-2], f // groups, math.prod(kernel), len(kernel)
    in_sz = tuple(cache.in_sz)
    dtype = np.result_type(dy, x)
    dy = dy.astype(dtype, copy=False)
    need_x, need_w, need_b = needs[0], needs[1], needs[2] and cache.has_bias
    by_correlation = need_x and groups == 1 and all(s == 1 for s in strides) and \
        f <= CORRELATION_MAX_RATIO * c
    workers = parallel.num_workers()
    wm = kernel_matrix(w.astype(dtype, copy=False), groups)  # (G, K*Cg, Fg)
    if by_correlation:  # (K..., C, F) rotated 180 degrees, channels swapped -> (K*F, C)
        w_rot = np.ascontiguousarray(np.swapaxes(w[(slice(None, None, -1),) * rank], -1, -2)
                                     .astype(dtype, copy=False)).reshape(taps * f, c)
    elif need_x:
        w_t = np.ascontiguousarray(wm.transpose(0, 2, 1))  # (G, Fg, K*Cg)
    acc = np.zeros((workers, *wm.shape), dtype) if need_w else None
    dbs = np.zeros((workers, f), dtype) if need_b else None
    dx = np.empty((n, *in_sz, c), dtype) if need_x else None
    padded_sz = tuple(s + p0 + p1 for s, (p0, p1) in zip(in_sz, pads))
    per_plane = math.prod(out_sz[1:]) * taps * c
    per_plane_in = math.prod(in_sz[1:]) * taps * f
    tap_list = list(np.ndindex(*kernel))

    def out_blocks(n_images):
        for o0, o1 in _blocks(n_images, out_sz, per_plane, dtype.itemsize):
            yield o0, o1, (o1 - o0, *out_sz[1:])

    def chunk(worker, n0, n1):
        g = dy[n0:n1]  # (n, O..., F)
        if cache.y is not None:  # fused relu: the gradient passes where y > 0
            g = select(np.ascontiguousarray(g), cache.y[n0:n1] > 0,
                       parallel.scratch("g_nd", g.shape, dtype))
        if need_b:
            dbs[worker] += np.ones(g.size // f, dtype) @ g.reshape(-1, f)  # a BLAS row sum
        if need_w:
            xp = padded_chunk(x, pads, n0, n1)
            for o0, o1, blk in out_blocks(n1 - n0):
                gb = g[:, o0:o1].reshape(-1, groups, fg).transpose(1, 0, 2)  # (G, rows, Fg)
                xb = _block_input(xp, o0, o1, kernel, strides, dilation)
                cols = _im2col(xb, kernel, strides, dilation, blk, groups)  # (G, rows, K*Cg)
                acc[worker] += np.matmul(cols.transpose(0, 2, 1), gb)  # (G, K*Cg, Fg)
        if by_correlation:
            gp = _padded_gradient(g, kernel, pads, dilation, in_sz)  # (n, S + (K-1)*d, F)
            for i0, i1 in _blocks(n1 - n0, in_sz, per_plane_in, dtype.itemsize):
                blk = (i1 - i0, *in_sz[1:])
                gb = _block_input(gp, i0, i1, kernel, (1,) * rank, dilation)
                cols = _im2col(gb, kernel, (1,) * rank, dilation, blk, 1)  # (1, rows, K*F)
                np.matmul(cols[0], w_rot, out=dx[n0:n1, i0:i1].reshape(-1, c))
        elif need_x:
            dxp = parallel.scratch("dxp_nd", (n1 - n0, *padded_sz, c), dtype)
            dxp[...] = 0
            for o0, o1, blk in out_blocks(n1 - n0):
                gb = g[:, o0:o1].reshape(-1, groups, fg).transpose(1, 0, 2)  # (G, rows, Fg)
                back = np.matmul(gb, w_t)  # (G, rows, K*Cg): what each output sends back
                back = back.reshape(groups, n1 - n0, *blk, taps, cg)
                dxb = dxp[:, o0 * strides[0]:]  # padded cells from the block's first window
                for ti, tap in enumerate(tap_list):
                    part = back[..., ti, :]  # (G, n, O..., Cg)
                    if groups > 1:  # channel g*Cg + c
                        part = np.moveaxis(part, 0, -2).reshape(n1 - n0, *blk, c)
                    else:
                        part = part[0]
                    dxb[tap_slices(tap, strides, dilation, blk)] += part
            dx[n0:n1] = dxp[interior(pads, in_sz)]

    per_image = 2 * math.prod(out_sz) * taps * c
    if by_correlation:
        per_image = max(per_image, (math.prod(in_sz) * taps + math.prod(padded_sz)) * f)
    used = parallel.run_chunks(chunk, n, chunk_size(n, per_image, dtype.itemsize))
    dw = db = None
    if need_w:
        total = acc[0]
        for k in range(1, used):  # fixed order: the same sum on every run
            total += acc[k]
        # (G, K*Cg, Fg) -> (K..., Cg, G*Fg): inverse of kernel_matrix
        dw = total.reshape(groups, taps, cg, fg).transpose(1, 2, 0, 3).reshape(w.shape)
    if need_b:
        db = dbs[0]
        for k in range(1, used):
            db += dbs[k]
    return dx, dw, db


def _padded_gradient(g, kernel, pads, dilation, in_sz):
    """gp (n, S_i + (K_i - 1) * d_i ..., F) with gp[q] = g[q - B], B = (K - 1) * d - p_before
    per axis, zero elsewhere.

    With stride 1, dx[i] = sum_t g[i + p_before - t*d] @ w[t]^T, which is
    sum_t' gp[i + t'*d] @ w[K-1-t']^T: a stride-1 correlation of gp with the kernel rotated
    180 degrees, input and output channels swapped.
    """
    n, f = g.shape[0], g.shape[-1]
    gsz = tuple(m + (k - 1) * d for m, k, d in zip(in_sz, kernel, dilation))
    gp = parallel.scratch("gp_nd", (n, *gsz, f), g.dtype)
    gp[...] = 0
    src, dst = [slice(None)], [slice(None)]
    for o, length, k, d, (p0, _) in zip(g.shape[1:-1], gsz, kernel, dilation, pads):
        b = (k - 1) * d - p0  # where g's cell 0 lands in gp (negative: before gp starts)
        s0, d0 = max(0, -b), max(0, b)
        m = min(o - s0, length - d0)
        if m <= 0:
            return gp  # no gradient reaches the input
        src.append(slice(s0, s0 + m))
        dst.append(slice(d0, d0 + m))
    gp[tuple(dst)] = g[tuple(src)]
    return gp


__all__ = ["ConvNDCache", "convnd_backward", "convnd_forward", "kernel_matrix", "pad_into",
           "padded_chunk", "tap_slices", "window_view"]
