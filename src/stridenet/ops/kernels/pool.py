"""Max and average pooling on NHWC arrays: forward and backward.

Per spatial axis, with input size n, window k, stride s and explicit padding
(p0, p1), output window i covers the padded cells ``[i*s, i*s + k)``, i.e. the
input rows ``i*s - p0 ... i*s - p0 + k - 1``. In ``ceil_mode`` the last window
may run past the padding; those extra cells are added after ``p1`` (see
``geometry.ceil_extra``). With xp the padded input:

    max: y[n, i, j, c] = max_{a, b} xp[n, i*sh + a, j*sw + b, c]       (padding = -inf)
    avg: y[n, i, j, c] = sum_{a, b} xp[n, i*sh + a, j*sw + b, c] / count[i, j]   (padding = 0)

``count`` is separable, rows(i) * cols(j): the window cells inside the input
(``count_include_pad=False``) or inside input + explicit padding, never the
ceil-mode extra cells (``count_include_pad=True``, PyTorch's rule).

Every loop below runs over kernel taps only; each tap is one strided slice of xp
covering all N, OH, OW, C at once, and within a tap no two outputs share a cell.
The max-pool gradient goes to ONE cell per window: the first maximum in
row-major window order (as PyTorch on the CPU does).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import backend, parallel
from .geometry import ceil_extra, output_size
from .windows import chunk_size, pad_nhwc, select, tap_slices

_UNIT = (1, 1)  # pooling has no dilation


class PoolCache:
    """What a pooling backward needs: geometry, plus the padded input for max."""

    __slots__ = ("xp", "y", "in_hw", "pads", "padded_shape", "pool", "strides", "out_hw",
                 "real", "count", "argmax")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


def pool_geometry(in_hw, pool, strides, pads, ceil_mode):
    """-> (out_hw, full pads): explicit pads with the ceil-mode extra cells added after."""
    out_hw, full = [], []
    for n, k, s, (p0, p1) in zip(in_hw, pool, strides, pads):
        o = output_size(n, k, s, p0, p1, 1, ceil_mode)
        out_hw.append(o)
        full.append((p0, p1 + ceil_extra(n, k, s, p0, p1, 1, o)))
    return tuple(out_hw), tuple(full)


def _cells_inside(lo: int, hi: int, k: int, s: int, p0: int, out: int) -> np.ndarray:
    """(out,): how many of each window's k cells lie in input rows [lo, hi)."""
    start = np.arange(out) * s - p0  # first input row of each window
    return np.clip(np.minimum(start + k, hi) - np.maximum(start, lo), 0, None)


@functools.lru_cache(maxsize=256)
def _window_counts(in_hw, pool, strides, pads, out_hw, count_include_pad, dtype):
    """(OH, OW, 1) read-only: the divisor of each average-pooling window (memoised, as
    it depends on the geometry alone)."""
    per_axis = []
    for hw, k, s, (p0, p1), o in zip(in_hw, pool, strides, pads, out_hw):
        lo, hi = (-p0, hw + p1) if count_include_pad else (0, hw)
        per_axis.append(_cells_inside(lo, hi, k, s, p0, o))
    count = np.multiply.outer(*per_axis).astype(dtype)[:, :, None]
    count.flags.writeable = False
    return count


@functools.lru_cache(maxsize=256)
def _real_taps(n: int, k: int, s: int, p0: int, out: int) -> np.ndarray:
    """(k, out) bool: does tap a of window i read an input cell (not padding)?"""
    row = np.arange(out)[None, :] * s + np.arange(k)[:, None] - p0  # (k, out)
    real = (row >= 0) & (row < n)
    real.flags.writeable = False  # memoised: shared by every call with this geometry
    return real


def _taps(pool, strides, out_hw):
    kh, kw = pool
    for a in range(kh):
        for b in range(kw):
            yield a, b, tap_slices(a, b, strides, _UNIT, out_hw)


def _crop(dxp, cache):
    (pt, _), (pl, _) = cache.pads
    h, w = cache.in_hw
    return dxp[:, pt:pt + h, pl:pl + w, :]  # (N, H, W, C)


def max_pool2d_forward(x, pool, strides, pads, ceil_mode=False):
    """x: (N, H, W, C) -> (y: (N, OH, OW, C), cache). ``pads``: ((top, bottom), (left, right))."""
    n, h, w, c = x.shape
    out_hw, full = pool_geometry((h, w), pool, strides, pads, ceil_mode)
    kern = backend.twin(None, "pool.max_pool_forward", x)
    if kern is not None:  # compiled: the winning taps stored, no padded copy
        x = np.ascontiguousarray(x)
        y = np.empty((n, *out_hw, c), x.dtype)
        arg = np.empty((n, *out_hw, c), np.int32)
        parallel.run_chunks(lambda worker, n0, n1: kern(x[n0:n1], y[n0:n1], arg[n0:n1], pool,
                                                        strides, full),
                            n, chunk_size(n, 2 * math.prod(x.shape[1:]), x.itemsize))
        cache = PoolCache(xp=None, y=y, in_hw=(h, w), pads=full, padded_shape=None, pool=pool,
                          strides=strides, out_hw=out_hw, real=None, count=None, argmax=arg)
        return y, cache
    xp = pad_nhwc(x, full, value=-np.inf)  # a padded cell never wins the max
    y = np.empty((n, *out_hw, c), x.dtype)
    taps = list(_taps(pool, strides, out_hw))

    def chunk(worker, n0, n1):
        xs, ys = xp[n0:n1], y[n0:n1]
        ys[...] = xs[taps[0][2]]
        for _, _, slc in taps[1:]:
            np.maximum(ys, xs[slc], out=ys)  # NaN propagates, as in PyTorch

    parallel.run_chunks(chunk, n, chunk_size(n, 2 * math.prod(xp.shape[1:]), x.itemsize))
    real = [_real_taps(hw, k, s, p0, o)
            for hw, k, s, (p0, _), o in zip((h, w), pool, strides, pads, out_hw)]
    cache = PoolCache(xp=xp, y=y, in_hw=(h, w), pads=full, padded_shape=xp.shape, pool=pool,
                      strides=strides, out_hw=out_hw, real=real, count=None)
    return y, cache


def max_pool2d_backward(dy, cache: PoolCache):
    """dy: (N, OH, OW, C) -> dx: (N, H, W, C).

    Taps are visited in row-major window order; ``free`` marks the outputs whose
    gradient is not yet routed, so only the first cell equal to the max takes it.
    A padded cell is excluded explicitly, so a window whose real cells are all
    -inf still routes to its first real cell; a NaN output routes to its first NaN.
    Chunks of images run on all cores. A compiled forward stored the winning taps: the
    compiled backward routes through them.
    """
    if getattr(cache, "argmax", None) is not None:  # int32 (N, OH, OW, C), compiled forward
        return _max_backward_by_argmax(dy, cache)
    xp, y = cache.xp, cache.y
    dtype = np.result_type(dy, xp)
    dy = np.asarray(dy, dtype=dtype)
    # Without overlap every padded cell is read by at most one (tap, output) pair; when the
    # windows also tile the padded input exactly, every cell is written once: no zeroing.
    overlap = any(s < k for s, k in zip(cache.strides, cache.pool))
    tiled = _tiles_exactly(cache.out_hw, cache.strides, cache.pool, xp.shape[1:3])
    dxp = (np.empty if tiled else np.zeros)(xp.shape, dtype=dtype)
    has_nan = bool(np.isnan(y).any())
    real_h, real_w = cache.real
    taps = []
    for a, b, slc in _taps(cache.pool, cache.strides, cache.out_hw):
        real = real_h[a][:, None] & real_w[b][None, :]  # (OH, OW)
        taps.append((slc, None if real.all() else real[None, :, :, None]))

    def chunk(worker, n0, n1):
        xs, ys, dys, dxs = xp[n0:n1], y[n0:n1], dy[n0:n1], dxp[n0:n1]
        free = parallel.scratch("pool_free", ys.shape, bool)
        free[...] = True
        hit = parallel.scratch("pool_hit", ys.shape, bool)
        nan_out = np.isnan(ys) if has_nan else None
        for slc, real in taps:
            tap = xs[slc]  # (n, OH, OW, C) strided view
            np.equal(tap, ys, out=hit)
            if has_nan:
                hit |= np.isnan(tap) & nan_out
            if real is not None:
                hit &= real
            hit &= free
            free ^= hit  # hit is a subset of free
            if overlap:
                dxs[slc] += select(dys, hit)
            else:
                select(dys, hit, out=dxs[slc])

    parallel.run_chunks(chunk, xp.shape[0], chunk_size(xp.shape[0], 3 * math.prod(xp.shape[1:]),
                                                       xp.itemsize))
    return _crop(dxp, cache)


def _max_backward_by_argmax(dy, cache: PoolCache):
    """dy: (N, OH, OW, C) -> dx: (N, H, W, C) through the stored winning taps (compiled)."""
    arg = cache.argmax
    dtype = np.result_type(dy, cache.y)
    dy = np.ascontiguousarray(dy, dtype=dtype)
    n = arg.shape[0]
    dx = np.empty((n, *cache.in_hw, arg.shape[-1]), dtype)
    kern = backend.load("pool").max_pool_backward
    parallel.run_chunks(lambda worker, n0, n1: kern(dy[n0:n1], arg[n0:n1], dx[n0:n1],
                                                    cache.pool, cache.strides, cache.pads),
                        n, chunk_size(n, 3 * math.prod(dx.shape[1:]), dx.itemsize))
    return dx


def _tiles_exactly(out_hw, strides, pool, padded_hw) -> bool:
    """Do the windows cover the padded input exactly once (stride = pool, no remainder)?"""
    return all(s == k and o * s == p for o, s, k, p in zip(out_hw, strides, pool, padded_hw))


def avg_pool2d_forward(x, pool, strides, pads, count_include_pad=False, ceil_mode=False):
    """x: (N, H, W, C) -> (y: (N, OH, OW, C), cache). ``pads``: ((top, bottom), (left, right))."""
    n, h, w, c = x.shape
    out_hw, full = pool_geometry((h, w), pool, strides, pads, ceil_mode)
    y = np.empty((n, *out_hw, c), x.dtype)
    count = _window_counts((h, w), tuple(pool), tuple(strides), tuple(map(tuple, pads)),
                           out_hw, bool(count_include_pad), y.dtype)  # (OH, OW, 1)
    padded_shape = (n, h + sum(full[0]), w + sum(full[1]), c)
    kern = backend.twin(None, "pool.avg_pool_forward", x)
    if kern is not None:  # compiled: one pass, no padded copy
        x = np.ascontiguousarray(x)
        parallel.run_chunks(lambda worker, n0, n1: kern(x[n0:n1], y[n0:n1], count, pool,
                                                        strides, full),
                            n, chunk_size(n, 2 * math.prod(x.shape[1:]), x.itemsize))
        cache = PoolCache(xp=None, y=None, in_hw=(h, w), pads=full, padded_shape=padded_shape,
                          pool=pool, strides=strides, out_hw=out_hw, real=None, count=count)
        return y, cache
    xp = pad_nhwc(x, full, value=0.0)
    taps = [slc for _, _, slc in _taps(pool, strides, out_hw)]

    def chunk(worker, n0, n1):
        xs, ys = xp[n0:n1], y[n0:n1]
        ys[...] = xs[taps[0]]
        for slc in taps[1:]:
            ys += xs[slc]
        ys /= count

    parallel.run_chunks(chunk, n, chunk_size(n, 2 * math.prod(xp.shape[1:]), x.itemsize))
    cache = PoolCache(xp=None, y=None, in_hw=(h, w), pads=full, padded_shape=padded_shape,
                      pool=pool, strides=strides, out_hw=out_hw, real=None, count=count)
    return y, cache


def avg_pool2d_backward(dy, cache: PoolCache):
    """dy: (N, OH, OW, C) -> dx: (N, H, W, C): each cell of a window gets dy / count."""
    dtype = np.result_type(dy, cache.count)
    tiled = _tiles_exactly(cache.out_hw, cache.strides, cache.pool, cache.padded_shape[1:3])
    n = cache.padded_shape[0]
    kern = backend.twin(None, "pool.avg_pool_backward", dy, cache.count)
    if kern is not None:  # compiled: one pass per tap over each image, no padded buffer
        dy = np.ascontiguousarray(dy, dtype=dtype)
        count = cache.count.astype(dtype, copy=False)
        dx = np.empty((n, *cache.in_hw, cache.padded_shape[-1]), dtype)
        parallel.run_chunks(lambda worker, n0, n1: kern(dy[n0:n1], count, dx[n0:n1], cache.pool,
                                                        cache.strides, cache.pads, tiled),
                            n, chunk_size(n, 3 * math.prod(dx.shape[1:]), dx.itemsize))
        return dx
    dxp = (np.empty if tiled else np.zeros)(cache.padded_shape, dtype=dtype)
    taps = [slc for _, _, slc in _taps(cache.pool, cache.strides, cache.out_hw)]

    def chunk(worker, n0, n1):
        g = parallel.scratch("pool_g", (n1 - n0, *dy.shape[1:]), dtype)
        np.divide(dy[n0:n1], cache.count, out=g)  # (n, OH, OW, C)
        dxs = dxp[n0:n1]
        for slc in taps:
            if tiled:  # every cell belongs to exactly one window: assign, no zeroing
                dxs[slc] = g
            else:
                dxs[slc] += g

    parallel.run_chunks(chunk, n, chunk_size(n, 3 * math.prod(cache.padded_shape[1:]),
                                             np.dtype(dtype).itemsize))
    return _crop(dxp, cache)


__all__ = ["PoolCache", "avg_pool2d_backward", "avg_pool2d_forward", "max_pool2d_backward",
           "max_pool2d_forward", "pool_geometry"]
