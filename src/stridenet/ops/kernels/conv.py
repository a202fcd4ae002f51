"""2D convolution (cross-correlation) on NHWC arrays: forward and backward.

    y[n, i, j, f] = act(b[f] + sum_{a, b, c} xp[n, i*sh + a*dh, j*sw + b*dw, g*Cg + c]
                                               * w[a, b, c, f])

where xp is the zero-padded input, g = f // (F / groups) the group of filter f and act
the identity or relu (fused, so its mask is applied while the chunk is in cache).

The batch is cut into chunks of images that stay in cache; each chunk is unrolled with
im2col into a reused workspace (rows = n*OH*OW, cols = KH*KW*Cg) and multiplied with the
kernel matrix (KH*KW*Cg, F/groups) by BLAS, straight into the output. Chunks run on all
cores (``parallel.run_chunks``). Stride-1 3x3 and 5x5 convolutions with enough channels
use Winograd's F(4x4, r x r) instead (``winograd.py``), and stride-1 convolutions of 1-4
input channels into up to 16 filters a compiled direct kernel when numba runs. The
backward pass is in ``conv_backward.py``.
"""

from __future__ import annotations

import numpy as np

from . import backend, parallel, winograd
from .geometry import output_size
from .windows import chunk_size, pad_into, window_view


class ConvCache:
    """What the backward pass needs: the input (padded again chunk by chunk, so no padded
    copy of the batch is kept), the geometry, and y for the relu mask."""

    __slots__ = ("x", "xpads", "w", "in_hw", "pads", "strides", "dilation", "groups",
                 "out_hw", "has_bias", "y", "winograd")

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


def _cols(view: np.ndarray) -> np.ndarray:
    """im2col of a window view into this thread's workspace: (n*OH*OW, KH*KW*C)."""
    n, oh, ow, kh, kw, c = view.shape
    if kh == kw == 1:
        flat = view.reshape(n, oh, ow, c)
        if flat.flags.c_contiguous:  # a 1x1 stride-1 conv reads x as it is
            return flat.reshape(n * oh * ow, c)
    cols = parallel.scratch("cols", (n * oh * ow, kh * kw * c), view.dtype)
    cols.reshape(view.shape)[...] = view
    return cols


TRANSPOSED_MAX_CHANNELS = 2  # im2col as (K, rows) for up to this many input channels


def _cols_t(xp, kernel, strides, dilation, out_hw) -> np.ndarray:
    """im2col transposed, (KH*KW*C, n*OH*OW), one strided copy per kernel tap.

    For a grayscale input the (rows, K) copy moves runs of KW single values; per tap, the
    copy moves whole output rows instead (measured 6x faster for C = 1, 2x for C = 2, even
    at C = 3), and BLAS reads the transposed matrix as it is.
    """
    n, _, _, c = xp.shape
    (kh, kw), (oh, ow) = kernel, out_hw
    (sh, sw), (dh, dw) = strides, dilation
    cols = parallel.scratch("cols", (kh, kw, c, n, oh, ow), xp.dtype)
    for a in range(kh):
        for b in range(kw):
            tap = xp[:, a * dh:a * dh + sh * (oh - 1) + 1:sh, b * dw:b * dw + sw * (ow - 1) + 1:sw]
            cols[a, b] = tap.transpose(3, 0, 1, 2)  # (C, n, OH, OW)
    return cols.reshape(kh * kw * c, n * oh * ow)


def im2col_matrix(xp, kernel, strides, dilation, out_hw) -> np.ndarray:
    """(n*OH*OW, KH*KW*C) patches of xp (n, Hp, Wp, C), possibly a transposed view."""
    if xp.shape[-1] <= TRANSPOSED_MAX_CHANNELS and kernel != (1, 1):
        return _cols_t(xp, kernel, strides, dilation, out_hw).T
    return _cols(window_view(xp, kernel, strides, dilation, out_hw))


def padded_chunk(x, pads, n0, n1):
    """x[n0:n1] zero-padded by ``pads`` in this thread's workspace (x itself if no padding)."""
    (pt, pb), (pl, pr) = pads
    xs = x[n0:n1]
    if pt == pb == pl == pr == 0:
        return xs
    n, h, w, c = xs.shape
    out = parallel.scratch("xpad", (n, h + pt + pb, w + pl + pr, c), xs.dtype)
    return pad_into(out, xs, pads)


# The compiled direct kernels (``compiled/conv_direct.py``) for stride-1 convolutions of
# inputs with up to this many channels (measured faster for 1 and 3; 1.7x slower for 6)
# and up to this many filters (with 32 the forward was as fast as im2col and the kernel
# gradient, timed in fresh processes, 8.1-9.7 ms with im2col against 10.9-11.5 direct).
DIRECT_MAX_CHANNELS = 4
DIRECT_MAX_FILTERS = 16


def direct_kernel(name, x, w, strides, groups, max_filters=None):
    """The compiled direct kernel ``name`` where it applies (numba running, groups 1, stride
    1, few input channels and, if given, filters), else None."""
    c, f = w.shape[2], w.shape[3]
    if groups != 1 or tuple(strides) != (1, 1) or c > DIRECT_MAX_CHANNELS or \
            (max_filters is not None and f > max_filters) or x.size == 0:
        return None
    return backend.twin(None, f"conv_direct.{name}", x, w)


def conv2d_forward(x, w, b, strides, pads, dilation, groups, relu=False):
    """x: (N, H, W, C), w: (KH, KW, C/groups, F), b: (F,) or None -> (y: (N, OH, OW, F), cache).

    ``pads`` are explicit ((top, bottom), (left, right)); strides and dilation pairs;
    ``relu=True`` applies max(., 0) to the result.
    """
    n, h, wd, c = x.shape
    kh, kw, cg, f = w.shape
    oh = output_size(h, kh, strides[0], *pads[0], dilation[0])
    ow = output_size(wd, kw, strides[1], *pads[1], dilation[1])
    dtype = np.result_type(x, w)
    x = x.astype(dtype, copy=False)
    wino = winograd.usable((kh, kw), strides, dilation, groups, c, f, (oh, ow))
    if wino:
        # Winograd reads whole tiles: pad the bottom/right further with zeros to cover them
        tiles, (hp, wp) = winograd.tiles_for((oh, ow), kh)
        (pt, _), (pl, _) = pads
        xpads = ((pt, hp - h - pt), (pl, wp - wd - pl))
        u = winograd.kernel_transform(w.astype(dtype, copy=False))  # (a*a, C, F)
        per_image = winograd.workspace_per_image(tiles, kh, c, f)
    else:
        xpads = pads
        wm = _kernel_matrix(w, groups)  # (G, K, Fg)
        per_image = oh * ow * kh * kw * c
    y = np.empty((n, oh, ow, f), dtype=dtype)
    bias = None if b is None else b.astype(dtype, copy=False)
    direct = direct_kernel("forward", x, w, strides, groups, DIRECT_MAX_FILTERS)
    if direct is not None:
        x, w = np.ascontiguousarray(x), np.ascontiguousarray(w, dtype=dtype)

    def chunk(worker, n0, n1):
        if direct is not None:  # compiled, bias and relu included
            direct(x[n0:n1], w, bias, y[n0:n1], dilation, pads, relu)
            return
        xp = padded_chunk(x, xpads, n0, n1)  # (n, Hp, Wp, C)
        out = y[n0:n1].reshape(-1, f)  # (rows, F), a view into y
        if wino:
            winograd.forward_into(xp, u, kh, tiles, y[n0:n1])
        elif groups == 1:
            cols = im2col_matrix(xp, (kh, kw), strides, dilation, (oh, ow))
            np.matmul(cols, wm[0], out=out)
        else:
            view = window_view(xp, (kh, kw), strides, dilation, (oh, ow))
            yg = np.matmul(_im2col(view, groups), wm)  # (G, rows, Fg)
            out.reshape(-1, groups, f // groups)[...] = yg.transpose(1, 0, 2)
        if bias is not None:
            out += bias
        if relu:
            np.maximum(out, 0, out=out)

    parallel.run_chunks(chunk, n, chunk_size(n, per_image, x.itemsize, big_images=not wino))
    cache = ConvCache(x=x, xpads=xpads, w=w, in_hw=(h, wd), pads=pads, strides=strides,
                      dilation=dilation, groups=groups, out_hw=(oh, ow), has_bias=b is not None,
                      y=y if relu else None, winograd=wino)
    return y, cache


