"""Convolution ops: ``conv1d``, ``conv2d`` and ``conv3d`` (channels last), differentiable."""

from __future__ import annotations

from ..autograd import Function
from ._checks import check_rank, float_input, optional_float_input, positive_int
from ._layout import to_channels_first, to_channels_last
from .kernels.conv import conv2d_forward
from .kernels.conv_backward import conv2d_backward
from .kernels.convnd import convnd_backward, convnd_forward
from .kernels.geometry import as_tuple, effective_kernel, resolve_padding


class Conv2DFunction(Function):
    """One Function for the whole convolution; the backward is hand written."""

    @staticmethod
    def forward(ctx, x, w, b, strides, pads, dilation, groups, flip, relu=False):
        if flip:
            w = w[::-1, ::-1]  # rotate 180 degrees: true convolution
        y, ctx.cache = conv2d_forward(x, w, b, strides, pads, dilation, groups, relu)
        ctx.flip = flip
        return y

    @staticmethod
    def backward(ctx, dy):
        dx, dw, db = conv2d_backward(dy, ctx.cache, ctx.needs_input_grad)
        if dw is not None and ctx.flip:
            dw = dw[::-1, ::-1]
        return dx, dw, db


class Conv1DFunction(Function):
    """conv1d as conv2d over a height-1 image: x (N, L, C) -> (N, 1, L, C)."""

    @staticmethod
    def forward(ctx, x, w, b, strides, pads, dilation, groups, flip, relu=False):
        x4 = x[:, None]  # (N, 1, L, C)
        w4 = w[None]  # (1, K, Cg, F)
        y = Conv2DFunction.forward(ctx, x4, w4, b, (1, strides[0]), ((0, 0), pads[0]),
                                   (1, dilation[0]), groups, flip, relu)
        return y[:, 0]  # (N, OL, F)

    @staticmethod
    def backward(ctx, dy):
        dx, dw, db = Conv2DFunction.backward(ctx, dy[:, None])
        return (None if dx is None else dx[:, 0]), (None if dw is None else dw[0]), db


class Conv3DFunction(Function):
    """conv3d on the N-D im2col kernel (``kernels/convnd.py``); hand-written backward."""

    @staticmethod
    def forward(ctx, x, w, b, strides, pads, dilation, groups, flip, relu=False):
        if flip:
            w = w[::-1, ::-1, ::-1]  # rotate 180 degrees in every plane: true convolution
        y, ctx.cache = convnd_forward(x, w, b, strides, pads, dilation, groups, relu)
        ctx.flip = flip
        return y

    @staticmethod
    def backward(ctx, dy):
        dx, dw, db = convnd_backward(dy, ctx.cache, ctx.needs_input_grad)
        if dw is not None and ctx.flip:
            dw = dw[::-1, ::-1, ::-1]
        return dx, dw, db


def _prepare(op, x, kernel, bias, strides, padding, dilation_rate, groups, rank, layout,
             klayout):
    x = float_input(x, "x", op)
    kernel = float_input(kernel, "kernel", op)
    bias = optional_float_input(bias, "bias", op)
    check_rank(x, rank + 2, "x", op, layout)
    check_rank(kernel, rank + 2, "kernel", op, klayout)
    groups = positive_int(groups, "groups", op)
    strides = as_tuple(strides, rank, f"{op}: strides")
    dilation = as_tuple(dilation_rate, rank, f"{op}: dilation_rate")
    c, cg, f = x.shape[-1], kernel.shape[-2], kernel.shape[-1]
    if f == 0 or cg == 0:
        raise ValueError(f"{op}: kernel {tuple(kernel.shape)} has no filters or no input "
                         f"channels")
    if c % groups or f % groups:
        raise ValueError(
            f"{op}: groups={groups} must divide the input channels ({c}) and the filters ({f}); "
            f"x has shape {tuple(x.shape)}, kernel {tuple(kernel.shape)}"
        )
    if cg * groups != c:
        raise ValueError(
            f"{op}: kernel {tuple(kernel.shape)} expects {cg * groups} input channels "
            f"({cg} per group x {groups} groups) but x {tuple(x.shape)} has {c}"
        )
    if bias is not None and tuple(bias.shape) != (f,):
        raise ValueError(f"{op}: bias must have shape ({f},) for {f} filters, "
                         f"got {tuple(bias.shape)}")
    sizes, ksizes = tuple(x.shape[1:-1]), tuple(kernel.shape[:-2])
    pads = resolve_padding(padding, sizes, ksizes, strides, dilation, causal_ok=rank == 1)
    for axis, (n, k, d, (p0, p1)) in enumerate(zip(sizes, ksizes, dilation, pads)):
        if n + p0 + p1 < effective_kernel(k, d) or k == 0:
            raise ValueError(
                f"{op}: kernel {tuple(kernel.shape)} (dilation {dilation}) spans "
                f"{effective_kernel(k, d)} cells on spatial axis {axis}, more than the padded "
                f"input's {n + p0 + p1} (x shape {tuple(x.shape)}, padding {padding!r})"
            )
        if n == 0:
            raise ValueError(f"{op}: x has an empty spatial axis: shape {tuple(x.shape)}")
    return x, kernel, bias, strides, pads, dilation, groups


def _fused_relu(activation, op: str) -> bool:
    if activation is None or activation == "linear":
        return False
    if activation == "relu":
        return True
    raise ValueError(f"{op}: activation must be None, 'linear' or 'relu' (the ones fused into "
                     f"the kernel), got {activation!r}; apply others as ops afterwards")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1,
           flip_kernel=False, *, activation=None):
    """2D convolution (cross-correlation unless ``flip_kernel=True``).

    x: (N, H, W, C), kernel: (KH, KW, C // groups, F), bias: (F,) -> (N, OH, OW, F)

    ``padding``: "valid", "same" (Keras rule, odd cell bottom/right), an int, a pair
    (ph, pw) or ((top, bottom), (left, right)). ``groups == C`` is depthwise.
    ``activation="relu"`` gives ``relu(conv2d(...))`` from one fused kernel (the mask is
    applied chunk by chunk while the data is in cache); the numbers are the same.
    """
    relu = _fused_relu(activation, "conv2d")
    x, kernel, bias, strides, pads, dilation, groups = _prepare(
        "conv2d", x, kernel, bias, strides, padding, dilation_rate, groups, 2,
        "(N, H, W, C)", "(KH, KW, C_in // groups, F)")
    return Conv2DFunction.apply(x, kernel, bias, strides=strides, pads=pads, dilation=dilation,
                                groups=groups, flip=bool(flip_kernel), relu=relu)


def conv1d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1,
           flip_kernel=False, *, activation=None):
    """1D convolution. x: (N, L, C), kernel: (K, C // groups, F), bias: (F,) -> (N, OL, F).

    ``padding`` also accepts "causal" (all padding on the left); ``activation`` as conv2d.
    """
    relu = _fused_relu(activation, "conv1d")
    x, kernel, bias, strides, pads, dilation, groups = _prepare(
        "conv1d", x, kernel, bias, strides, padding, dilation_rate, groups, 1,
        "(N, L, C)", "(K, C_in // groups, F)")
    return Conv1DFunction.apply(x, kernel, bias, strides=strides, pads=pads, dilation=dilation,
                                groups=groups, flip=bool(flip_kernel), relu=relu)


def conv3d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1,
           flip_kernel=False, *, activation=None):
    """3D convolution (video, volumes), cross-correlation unless ``flip_kernel=True``.

    x: (N, D, H, W, C), kernel: (KD, KH, KW, C // groups, F), bias: (F,) -> (N, OD, OH, OW, F)

    ``padding``: "valid", "same" (Keras rule, odd cell at the end), an int, three ints or
    three (before, after) pairs. Strides together with dilation are allowed here (the
    Keras layer refuses them). ``activation`` as for ``conv2d``.
    """
    relu = _fused_relu(activation, "conv3d")
    x, kernel, bias, strides, pads, dilation, groups = _prepare(
        "conv3d", x, kernel, bias, strides, padding, dilation_rate, groups, 3,
        "(N, D, H, W, C)", "(KD, KH, KW, C_in // groups, F)")
    return Conv3DFunction.apply(x, kernel, bias, strides=strides, pads=pads, dilation=dilation,
                                groups=groups, flip=bool(flip_kernel), relu=relu)


_BY_RANK = {3: conv1d, 4: conv2d, 5: conv3d}


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """General 1D/2D/3D convolution with ``keras.ops.conv``'s arguments; the rank of
    ``inputs`` picks it.

    inputs: (N, S..., C) (or (N, C, S...) with ``data_format="channels_first"``),
    kernel: (K..., C // groups, F) -> (N, O..., F). As in Keras, a kernel with fewer input
    channels than ``inputs`` makes a grouped convolution (groups = C // kernel.shape[-2]).
    ``padding``: "valid" or "same" (Keras rule); the explicit forms of ``conv2d`` work too.
    """
    x = float_input(inputs, "inputs", "conv")
    fn = _BY_RANK.get(x.ndim)
    if fn is None:
        raise ValueError(f"conv: inputs must have rank 3, 4 or 5 ((N, L, C), (N, H, W, C) or "
                         f"(N, D, H, W, C)), got shape {tuple(x.shape)}")
    x, back = to_channels_last(x, data_format, "conv")
    k = float_input(kernel, "kernel", "conv")
    check_rank(k, x.ndim, "kernel", "conv", "(K..., C_in // groups, F) of the same rank as "
               "inputs")
    c, cg = x.shape[-1], k.shape[-2]
    if cg == 0 or c % cg:
        raise ValueError(f"conv: kernel {tuple(k.shape)} has {cg} input channels, which must "
                         f"divide the {c} channels of inputs {tuple(x.shape)}")
    y = fn(x, k, None, strides=strides, padding=padding, dilation_rate=dilation_rate,
           groups=c // cg)
    return to_channels_first(y) if back else y
