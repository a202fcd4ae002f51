"""Transposed convolutions (channels last), differentiable: ``conv_transpose1d/2d/3d``.

The kernel layout is Keras': ``kernel_size + (F_out, C_in)`` -- output channels before
input channels, the reverse of a convolution kernel, because it IS the kernel of the
convolution this op is the adjoint of (see ``kernels/conv_transpose.py``).
"""

from __future__ import annotations

import numbers

from ..autograd import Function
from ._checks import check_rank, float_input, optional_float_input
from ._layout import to_channels_first, to_channels_last
from .kernels.conv_transpose import (
    TransposeGeometry,
    conv_transpose_backward,
    conv_transpose_forward,
)
from .kernels.geometry import as_tuple

_LAYOUTS = {1: ("(N, L, C_in)", "(K, F_out, C_in)"),
            2: ("(N, H, W, C_in)", "(KH, KW, F_out, C_in)"),
            3: ("(N, D, H, W, C_in)", "(KD, KH, KW, F_out, C_in)")}


class ConvTransposeFunction(Function):
    """One Function for 1D/2D/3D; a 1D input runs as a height-1 image on the 2D kernels."""

    @staticmethod
    def forward(ctx, x, w, b, geo):
        one_d = x.ndim == 3
        if one_d:
            x, w = x[:, None], w[None]  # (N, 1, L, C_in), (1, K, F_out, C_in)
        ctx.save_for_backward(x, w)
        ctx.geo, ctx.one_d = geo, one_d
        y = conv_transpose_forward(x, w, b, geo)
        return y[:, 0] if one_d else y  # (N, OL, F_out) in 1D

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved
        if ctx.one_d:
            dy = dy[:, None]  # (N, 1, OL, F_out)
        dx, dw, db = conv_transpose_backward(dy, x, w, ctx.geo, ctx.needs_input_grad)
        if ctx.one_d:
            dx = None if dx is None else dx[:, 0]
            dw = None if dw is None else dw[0]
        return dx, dw, db


def _output_padding(value, strides, op):
    if value is None:
        return None
    rank = len(strides)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        vals = (int(value),) * rank
    elif isinstance(value, tuple | list) and len(value) == rank and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        vals = tuple(int(v) for v in value)
    else:
        raise ValueError(f"{op}: output_padding must be None, an int or {rank} ints, "
                         f"got {value!r}")
    if any(v < 0 for v in vals):
        raise ValueError(f"{op}: output_padding must be non-negative, got {value!r}")
    if any(v >= s for v, s in zip(vals, strides)):
        raise ValueError(f"{op}: output_padding {vals} must be smaller than strides "
                         f"{tuple(strides)} on every axis")
    return vals


def prepare_transpose(op, x, kernel, bias, strides, padding, output_padding, dilation_rate,
                      rank):
    """Check the arguments; -> (x, kernel, bias, TransposeGeometry)."""
    layout, klayout = _LAYOUTS[rank]
    x = float_input(x, "x", op)
    kernel = float_input(kernel, "kernel", op)
    bias = optional_float_input(bias, "bias", op)
    check_rank(x, rank + 2, "x", op, layout)
    check_rank(kernel, rank + 2, "kernel", op, klayout)
    strides = as_tuple(strides, rank, f"{op}: strides")
    dilation = as_tuple(dilation_rate, rank, f"{op}: dilation_rate")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    output_padding = _output_padding(output_padding, strides, op)
    f, c = kernel.shape[-2], kernel.shape[-1]
    if f == 0 or 0 in kernel.shape[:-2]:
        raise ValueError(f"{op}: kernel {tuple(kernel.shape)} {klayout} has no output channels "
                         f"or an empty spatial axis")
    if c != x.shape[-1]:
        raise ValueError(f"{op}: kernel {tuple(kernel.shape)} {klayout} expects {c} input "
                         f"channels but x {tuple(x.shape)} has {x.shape[-1]}")
    if bias is not None and tuple(bias.shape) != (f,):
        raise ValueError(f"{op}: bias must have shape ({f},) for {f} output channels, "
                         f"got {tuple(bias.shape)}")
    sizes = tuple(x.shape[1:-1])
    if 0 in sizes:
        raise ValueError(f"{op}: x has an empty spatial axis: shape {tuple(x.shape)}")
    geo = TransposeGeometry(sizes, kernel.shape[:-2], strides, dilation, padding.lower(),
                            output_padding)
    if min(geo.out) <= 0:
        raise ValueError(f"{op}: the output would be empty ({geo.out}) for x {tuple(x.shape)}, "
                         f"kernel {tuple(kernel.shape)}, padding {padding!r}, "
                         f"output_padding {output_padding}")
    if rank == 1:  # the kernels see a height-1 image
        geo = TransposeGeometry((1, *sizes), (1, kernel.shape[0]), (1, *strides),
                                (1, *dilation), padding.lower(),
                                None if output_padding is None else (0, *output_padding))
    return x, kernel, bias, geo


def _transpose(op, rank, x, kernel, bias, strides, padding, output_padding, dilation_rate):
    x, kernel, bias, geo = prepare_transpose(op, x, kernel, bias, strides, padding,
                                             output_padding, dilation_rate, rank)
    return ConvTransposeFunction.apply(x, kernel, bias, geo=geo)


def conv_transpose1d(x, kernel, bias=None, strides=1, padding="valid", output_padding=None,
                     dilation_rate=1):
    """1D transposed convolution. x: (N, L, C_in), kernel: (K, F_out, C_in), bias: (F_out,)
    -> (N, OL, F_out), OL as in SPEC section 6 (e.g. L=10, K=3, strides=2: 21 'valid',
    20 'same')."""
    return _transpose("conv_transpose1d", 1, x, kernel, bias, strides, padding, output_padding,
                      dilation_rate)


def conv_transpose2d(x, kernel, bias=None, strides=1, padding="valid", output_padding=None,
                     dilation_rate=1):
    """2D transposed convolution. x: (N, H, W, C_in), kernel: (KH, KW, F_out, C_in),
    bias: (F_out,) -> (N, OH, OW, F_out).

    Per axis, with k' = (k - 1) * d + 1: 'valid' gives (n - 1) * s + k' + output_padding
    (default max(k', s) - k'); 'same' gives n * s, or (n - 1) * s + k' % 2 + output_padding
    when output_padding is given. ``output_padding`` must be smaller than ``strides``.
    """
    return _transpose("conv_transpose2d", 2, x, kernel, bias, strides, padding, output_padding,
                      dilation_rate)


def conv_transpose3d(x, kernel, bias=None, strides=1, padding="valid", output_padding=None,
                     dilation_rate=1):
    """3D transposed convolution. x: (N, D, H, W, C_in), kernel: (KD, KH, KW, F_out, C_in),
    bias: (F_out,) -> (N, OD, OH, OW, F_out); sizes as for ``conv_transpose2d``."""
    return _transpose("conv_transpose3d", 3, x, kernel, bias, strides, padding, output_padding,
                      dilation_rate)


_BY_RANK = {3: conv_transpose1d, 4: conv_transpose2d, 5: conv_transpose3d}


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """General 1D/2D/3D transposed convolution with ``keras.ops.conv_transpose``'s
    arguments; the rank of ``inputs`` picks it.

    inputs: (N, S..., C_in) (or (N, C_in, S...) with ``data_format="channels_first"``),
    kernel: (K..., F_out, C_in) -> (N, O..., F_out), sizes as for ``conv_transpose2d``.
    """
    x = float_input(inputs, "inputs", "conv_transpose")
    fn = _BY_RANK.get(x.ndim)
    if fn is None:
        raise ValueError(f"conv_transpose: inputs must have rank 3, 4 or 5 ((N, L, C), "
                         f"(N, H, W, C) or (N, D, H, W, C)), got shape {tuple(x.shape)}")
    x, back = to_channels_last(x, data_format, "conv_transpose")
    y = fn(x, kernel, None, strides=strides, padding=padding, output_padding=output_padding,
           dilation_rate=dilation_rate)
    return to_channels_first(y) if back else y


__all__ = ["conv_transpose", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "prepare_transpose"]
