"""Transposed convolution: the adjoint of the convolution, built from its kernels.

A transposed convolution of x (N, S..., C_in) with w (K..., F_out, C_in) is the input gradient
of the convolution with the same w read as a conv kernel (K..., C_in_conv = F_out, F = C_in):
each input cell spreads x[i] @ w[t]^T over a kernel-sized patch of the output. So

* forward  = the conv input-gradient kernel, with x in the place of dy;
* backward = for x, the conv forward of dy (the output gradient); for w, the conv
  kernel-gradient kernel with dy as the conv's input and x as its output gradient.

Geometry per axis (n input cells, k' = (k - 1) * d + 1, Keras 3's rules): spreading every
cell whole gives ``full = (n - 1) * s + k'`` cells; the output keeps ``out`` cells starting
at ``crop`` of them (zeros where the output reaches past ``full``):

* 'valid': out = (n - 1) * s + k' + op, with op = output_padding or max(k', s) - k'; crop 0;
* 'same':  out = n * s, or (n - 1) * s + k' % 2 + op with output_padding op; the cells
  cropped are about half of the padding, rounded down (Keras' left pad is rounded up).

In the convolution's view this is a conv over ``core`` = the output cells that receive a
patch, with padding (crop, full - crop - core), which gives back the n input cells.
"""

from __future__ import annotations

import numpy as np

from .conv import ConvCache, conv2d_forward
from .conv_backward import conv2d_backward
from .convnd import ConvNDCache, convnd_backward, convnd_forward


def transposed_axis(n: int, k: int, s: int, d: int, padding: str, output_padding):
    """-> (out, crop, core) for one spatial axis (see the module docstring)."""
    kk = (k - 1) * d + 1
    if padding == "valid":
        op = max(kk, s) - kk if output_padding is None else output_padding
        pad_len = 2 * (kk - 1) + op  # zeros around the zero-inserted input, Keras' view
        left = kk - 1
    else:
        pad_len = s + kk - 2 if output_padding is None else kk + kk % 2 - 2 + output_padding
        left = min(pad_len // 2 + pad_len % 2, kk - 1)
    out = (n - 1) * s + pad_len - kk + 2
    crop = kk - 1 - left
    full = (n - 1) * s + kk
    return out, crop, min(out, full - crop)


class TransposeGeometry:
    """Per-axis output sizes and the convolution they are the adjoint of."""

    __slots__ = ("out", "core", "conv_pads", "strides", "dilation", "in_sz")

    def __init__(self, in_sz, kernel, strides, dilation, padding, output_padding):
        ops = output_padding if output_padding is not None else (None,) * len(in_sz)
        axes = [transposed_axis(n, k, s, d, padding, op)
                for n, k, s, d, op in zip(in_sz, kernel, strides, dilation, ops)]
        self.in_sz = tuple(in_sz)
        self.out = tuple(a[0] for a in axes)
        self.core = tuple(a[2] for a in axes)
        self.conv_pads = tuple((crop, (n - 1) * s + (k - 1) * d + 1 - crop - core)
                               for (_, crop, core), n, k, s, d
                               in zip(axes, in_sz, kernel, strides, dilation))
        self.strides, self.dilation = tuple(strides), tuple(dilation)


def _engine(rank):
    """(conv forward, conv backward, cache class) for the rank: the 2D kernels (also 1D as a
    height-1 image) or the N-D ones."""
    return (conv2d_forward, conv2d_backward, True) if rank == 2 else \
        (convnd_forward, convnd_backward, False)


def _conv_cache(two_d, x_like, w, geo: TransposeGeometry):
    """The cache a conv over ``x_like`` (N, core..., F_out) with kernel w would have left."""
    if two_d:
        return ConvCache(x=x_like, xpads=geo.conv_pads, w=w, in_hw=geo.core, pads=geo.conv_pads,
                         strides=geo.strides, dilation=geo.dilation, groups=1,
                         out_hw=geo.in_sz, has_bias=False, y=None, winograd=False)
    return ConvNDCache(x=x_like, w=w, in_sz=geo.core, pads=geo.conv_pads, strides=geo.strides,
                       dilation=geo.dilation, groups=1, out_sz=geo.in_sz, has_bias=False, y=None)


def conv_transpose_forward(x, w, b, geo: TransposeGeometry):
    """x: (N, S..., C_in), w: (K..., F_out, C_in), b: (F_out,) | None -> (N, O..., F_out)."""
    rank = x.ndim - 2
    _, backward, two_d = _engine(rank)
    dtype = np.result_type(x, w)
    n, f = x.shape[0], w.shape[-2]
    # only the shape and dtype of the conv's input are read for its input gradient
    shape_only = np.broadcast_to(np.zeros((), dtype), (n, *geo.core, f))
    w = w.astype(dtype, copy=False)
    core, _, _ = backward(x.astype(dtype, copy=False), _conv_cache(two_d, shape_only, w, geo),
                          (True, False, False))
    if geo.core == geo.out:
        y = core
    else:  # output cells past every patch hold zeros (then the bias)
        y = np.zeros((n, *geo.out, f), dtype)
        y[(slice(None), *(slice(0, c) for c in geo.core))] = core
    if b is not None:
        y += b.astype(dtype, copy=False)
    return y


def conv_transpose_backward(dy, x, w, geo: TransposeGeometry, needs=(True, True, True)):
    """dy: (N, O..., F_out) -> (dx: x.shape | None, dw: w.shape | None, db: (F_out,) | None)."""
    rank = x.ndim - 2
    forward, backward, two_d = _engine(rank)
    dtype = np.result_type(dy, x, w)
    dy = dy.astype(dtype, copy=False)
    x = x.astype(dtype, copy=False)
    w = w.astype(dtype, copy=False)
    dx = dw = db = None
    g = np.ascontiguousarray(dy[(slice(None), *(slice(0, c) for c in geo.core))])  # (N, core, F)
    if needs[0]:
        dx, cache = forward(g, w, None, geo.strides, geo.conv_pads, geo.dilation, 1)
    elif needs[1]:
        cache = _conv_cache(two_d, g, w, geo)
    if needs[1]:
        _, dw, _ = backward(x, cache, (False, True, False))
    if needs[2]:
        db = dy.reshape(-1, dy.shape[-1]).sum(axis=0)
    return dx, dw, db


__all__ = ["TransposeGeometry", "conv_transpose_backward", "conv_transpose_forward",
           "transposed_axis"]
