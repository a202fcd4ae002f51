"""3D max and average pooling on (N, D, H, W, C) arrays, from the 2D kernels of ``pool.py``.

A box window is separable: the max over (d, h, w) is the max over d of the max over (h, w),
and an average's sum and divisor (real cells, or cells inside input + explicit padding) are
products of per-axis parts. So a 3D pool is a 2D pool over every depth plane (N*D images
of (H, W)), then a pool of the result along depth ((N, D, OH*OW) images pooled (k_d, 1)).

The max-pool gradient reaches the first maximum in (d, h, w) order, as in the 2D kernel and
PyTorch: the depth stage picks the first plane holding the maximum, the plane stage the
first cell of that plane in row-major order.
"""

from __future__ import annotations

from .pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)


class Pool3DCache:
    __slots__ = ("planes", "depth", "shape", "mid")

    def __init__(self, planes, depth, shape, mid):
        self.planes, self.depth, self.shape, self.mid = planes, depth, shape, mid


def _pool3d(forward, x, pool, strides, pads, ceil_mode, *extra):
    n, d, h, w, c = x.shape
    y1, planes = forward(x.reshape(n * d, h, w, c), pool[1:], strides[1:], pads[1:], *extra,
                         ceil_mode=ceil_mode)  # (N*D, OH, OW, C)
    oh, ow = y1.shape[1:3]
    y2, depth = forward(y1.reshape(n, d, oh * ow, c), (pool[0], 1), (strides[0], 1),
                        (pads[0], (0, 0)), *extra, ceil_mode=ceil_mode)  # (N, OD, OH*OW, C)
    od = y2.shape[1]
    return y2.reshape(n, od, oh, ow, c), Pool3DCache(planes, depth, x.shape, (n, d, oh, ow, c))


def _pool3d_backward(backward, dy, cache: Pool3DCache):
    n, od, oh, ow, c = dy.shape
    g = backward(dy.reshape(n, od, oh * ow, c), cache.depth)  # (N, D, OH*OW, C)
    _, d, _, _, _ = cache.mid
    return backward(g.reshape(n * d, oh, ow, c), cache.planes).reshape(cache.shape)


def max_pool3d_forward(x, pool, strides, pads, ceil_mode=False):
    """x: (N, D, H, W, C) -> (y: (N, OD, OH, OW, C), cache); pads ((before, after),) * 3."""
    return _pool3d(max_pool2d_forward, x, pool, strides, pads, ceil_mode)


def max_pool3d_backward(dy, cache: Pool3DCache):
    """dy: (N, OD, OH, OW, C) -> dx: (N, D, H, W, C)."""
    return _pool3d_backward(max_pool2d_backward, dy, cache)


def avg_pool3d_forward(x, pool, strides, pads, count_include_pad=False, ceil_mode=False):
    """x: (N, D, H, W, C) -> (y: (N, OD, OH, OW, C), cache); divisor as in ``pool.py``."""
    return _pool3d(avg_pool2d_forward, x, pool, strides, pads, ceil_mode, count_include_pad)


def avg_pool3d_backward(dy, cache: Pool3DCache):
    """dy: (N, OD, OH, OW, C) -> dx: (N, D, H, W, C)."""
    return _pool3d_backward(avg_pool2d_backward, dy, cache)


__all__ = ["avg_pool3d_backward", "avg_pool3d_forward", "max_pool3d_backward",
           "max_pool3d_forward"]
