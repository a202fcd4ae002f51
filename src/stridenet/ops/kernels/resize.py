"""Upsampling by integer factors on channels-last arrays: nearest and (bi)linear, forward
and backward.

Nearest repeats every cell ``s`` times per axis: y[o] = x[o // s]; its gradient sums each
block of s cells. Linear uses half-pixel centres (tf.image.resize, jax.image.resize,
PyTorch's align_corners=False; antialiasing changes nothing when enlarging): output cell o
samples the input at ``(o + 0.5) / s - 0.5``. With o = s*i + r that is i + delta_r,
delta_r = (r + 0.5) / s - 0.5 in (-1/2, 1/2), so each phase r of the output is

    y[s*i + r] = (1 - |delta_r|) * x[i] + |delta_r| * x[i +- 1]     (neighbour clamped at the edges)

-- two strided slices per phase, no gather; the gradient sends the same weights back with
two shifted slice adds. Bilinear is this along H, then along W. Chunks of images run on all
cores.
"""

from __future__ import annotations

import math

import numpy as np

from . import parallel
from .windows import chunk_size


def _blocks_shape(shape, sizes):
    """(N, S..., C) -> (N, S_1, s_1, S_2, s_2, ..., C): each output axis split in (cell, copy)."""
    inner = [v for n, s in zip(shape[1:-1], sizes) for v in (n, s)]
    return (shape[0], *inner, shape[-1])


def nearest_forward(x, sizes):
    """x: (N, S..., C) -> (N, S_1*s_1, ..., C), every cell repeated s_i times along axis i."""
    n, c = x.shape[0], x.shape[-1]
    y = np.empty((n, *(m * s for m, s in zip(x.shape[1:-1], sizes)), c), x.dtype)
    src_shape = _blocks_shape(x.shape, (1,) * len(sizes))  # (N, S_1, 1, S_2, 1, ..., C)

    def chunk(worker, n0, n1):
        blocks = y[n0:n1].reshape(_blocks_shape(x[n0:n1].shape, sizes))
        blocks[...] = x[n0:n1].reshape(n1 - n0, *src_shape[1:])  # broadcast over the copies

    parallel.run_chunks(chunk, n, chunk_size(n, 2 * math.prod(y.shape[1:]), x.itemsize))
    return y


def nearest_backward(dy, in_shape, sizes):
    """dy: (N, S_1*s_1, ..., C) -> dx: in_shape, the sum of each block of copies."""
    axes = tuple(range(2, 2 * len(sizes) + 1, 2))
    return dy.reshape(_blocks_shape(in_shape, sizes)).sum(axis=axes)


def _phases(s):
    """(r, |delta_r|, direction of the neighbour) for each output phase r of factor s."""
    for r in range(s):
        delta = (r + 0.5) / s - 0.5
        yield r, abs(delta), (1 if delta > 0 else -1 if delta < 0 else 0)


def _shifted(a, axis, step):
    """(a's cells except the edge one, the neighbours' destination) along ``axis``."""
    lo = [slice(None)] * a.ndim
    hi = [slice(None)] * a.ndim
    lo[axis], hi[axis] = slice(None, -1), slice(1, None)
    return (tuple(hi), tuple(lo)) if step > 0 else (tuple(lo), tuple(hi))


def _edge(a_ndim, axis, step):
    idx = [slice(None)] * a_ndim
    idx[axis] = slice(-1, None) if step > 0 else slice(0, 1)
    return tuple(idx)


def linear_axis_forward(x, axis, s, out):
    """out (..., n*s, ...) = x linearly upsampled by s along ``axis`` (half-pixel centres)."""
    n = x.shape[axis]
    view = out.reshape(*x.shape[:axis], n, s, *x.shape[axis + 1:])  # phase after the cell axis
    for r, a, step in _phases(s):
        yr = view[(slice(None),) * (axis + 1) + (r,)]  # (..., n, ...) strided view
        if step == 0:
            yr[...] = x
            continue
        np.multiply(x, 1.0 - a, out=yr)
        src, dst = _shifted(x, axis, step)  # y[i] += a * x[i + step] inside the axis
        yr[dst] += a * x[src]
        edge = _edge(x.ndim, axis, step)  # at the edge the neighbour is the cell itself
        yr[edge] += a * x[edge]
    return out


def linear_axis_backward(dy, axis, s, n):
    """The adjoint of ``linear_axis_forward``: dy (..., n*s, ...) -> dx (..., n, ...)."""
    shape = list(dy.shape)
    shape[axis:axis + 1] = [n, s]
    view = dy.reshape(shape)
    dx = None
    for r, a, step in _phases(s):
        g = view[(slice(None),) * (axis + 1) + (r,)]  # (..., n, ...)
        if dx is None:
            dx = g * (1.0 - a)
        else:
            dx += g * (1.0 - a)
        if step == 0:
            continue
        src, dst = _shifted(g, axis, step)  # y[i] took a * x[i + step]: send it back
        dx[src] += a * g[dst]
        edge = _edge(g.ndim, axis, step)
        dx[edge] += a * g[edge]
    return dx


def bilinear_forward(x, sizes):
    """x: (N, H, W, C) -> (N, H*sh, W*sw, C), half-pixel bilinear."""
    n, h, w, c = x.shape
    sh, sw = sizes
    y = np.empty((n, h * sh, w * sw, c), x.dtype)

    def chunk(worker, n0, n1):
        mid = parallel.scratch("resize_mid", (n1 - n0, h * sh, w, c), x.dtype)
        linear_axis_forward(x[n0:n1], 1, sh, mid)
        linear_axis_forward(mid, 2, sw, y[n0:n1])

    parallel.run_chunks(chunk, n, chunk_size(n, 3 * h * sh * w * sw * c, x.itemsize))
    return y


def bilinear_backward(dy, in_shape, sizes):
    """dy: (N, H*sh, W*sw, C) -> dx: (N, H, W, C)."""
    n, h, w, c = in_shape
    sh, sw = sizes
    dx = np.empty(in_shape, dy.dtype)

    def chunk(worker, n0, n1):
        mid = linear_axis_backward(dy[n0:n1], 2, sw, w)  # (n, H*sh, W, C)
        dx[n0:n1] = linear_axis_backward(mid, 1, sh, h)

    parallel.run_chunks(chunk, n, chunk_size(n, 3 * h * sh * w * sw * c, dy.itemsize))
    return dx


__all__ = ["bilinear_backward", "bilinear_forward", "linear_axis_backward",
           "linear_axis_forward", "nearest_backward", "nearest_forward"]
