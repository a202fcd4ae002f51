"""ONNX converters of convolution, pooling, upsampling and cropping layers."""

from __future__ import annotations

import numpy as np

from .onnx_graph import FIRST, LAST, Value, axis_in
from .onnx_registry import (
    UnsupportedLayer,
    activation,
    activation_name,
    array_of,
    converter,
    explicit_pads,
)

# -- convolutions ------------------------------------------------------------------


def _conv_node(g, layer, x, kernel, bias, strides, padding, dilation, groups, flip=False):
    """Conv on channels-first data; kernel (k1..kr, C_in/groups, F) -> (F, C_in/groups, k..)."""
    rank = kernel.ndim - 2
    if flip:  # true convolution: the kernel turned by 180 degrees
        kernel = kernel[tuple([slice(None, None, -1)] * rank)]
    w = kernel.transpose(rank + 1, rank, *range(rank))  # (F, C_in / groups, k1..kr)
    ksize = list(kernel.shape[:rank])
    pads = explicit_pads(layer, x, ksize, strides, dilation, padding, causal_ok=rank == 1)
    xf = g.as_first(x)
    ins = [xf.name, g.const(w, f"{layer.name}/kernel")]
    if bias is not None:
        ins.append(g.const(bias, f"{layer.name}/bias"))
    y = g.node("Conv", ins, layer.name, kernel_shape=ksize, strides=list(strides),
               dilations=list(dilation), pads=pads, group=int(groups))
    return y


@converter("Conv1D", "Conv2D", "Conv3D")
def _conv(g, layer, inputs):
    x = inputs[0]
    bias = None if layer.bias is None else array_of(layer.bias)
    y = _conv_node(g, layer, x, array_of(layer.kernel), bias, layer.strides, layer.padding,
                   layer.dilation_rate, layer.groups, getattr(layer, "flip_kernel", False))
    shape = layer.compute_output_shape(x.shape)
    return activation(g, Value(y, shape, FIRST), activation_name(layer.activation), layer.name)


@converter("DepthwiseConv2D", "DepthwiseConv1D")
def _depthwise(g, layer, inputs):
    x = inputs[0]
    k = array_of(layer.kernel)  # (k.., C, M)
    rank = k.ndim - 2
    c, m = k.shape[-2:]
    k = k.reshape(*k.shape[:rank], 1, c * m)  # output channel c*M + m belongs to group c
    bias = None if layer.bias is None else array_of(layer.bias)
    y = _conv_node(g, layer, x, k, bias, layer.strides, layer.padding, layer.dilation_rate, c)
    shape = layer.compute_output_shape(x.shape)
    return activation(g, Value(y, shape, FIRST), activation_name(layer.activation), layer.name)


@converter("SeparableConv1D", "SeparableConv2D")
def _separable(g, layer, inputs):
    x = inputs[0]
    dk = array_of(layer.depthwise_kernel)  # (k.., C, M)
    rank = dk.ndim - 2
    c, m = dk.shape[-2:]
    dk = dk.reshape(*dk.shape[:rank], 1, c * m)
    mid = _conv_node(g, layer, x, dk, None, layer.strides, layer.padding, layer.dilation_rate, c)
    mid_shape = (x.shape[0], *layer.compute_output_shape(x.shape)[1:-1], c * m)
    pk = array_of(layer.pointwise_kernel)
    bias = None if layer.bias is None else array_of(layer.bias)
    y = _conv_node(g, layer, Value(mid, mid_shape, FIRST), pk, bias, (1,) * rank, "valid",
                   (1,) * rank, 1)
    shape = layer.compute_output_shape(x.shape)
    return activation(g, Value(y, shape, FIRST), activation_name(layer.activation), layer.name)


# -- pooling ------------------------------------------------------------------------


@converter("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
           "AveragePooling2D", "AveragePooling3D")
def _pool(g, layer, inputs):
    x = inputs[0]
    size, strides = list(layer.pool_size), list(layer.strides)
    pads = explicit_pads(layer, x, size, strides, [1] * len(size), layer.padding)
    xf = g.as_first(x)
    if type(layer).__name__.startswith("Max"):
        y = g.node("MaxPool", [xf.name], layer.name, kernel_shape=size, strides=strides,
                   pads=pads)
    else:  # Keras leaves padded cells out of the mean
        y = g.node("AveragePool", [xf.name], layer.name, kernel_shape=size, strides=strides,
                   pads=pads, count_include_pad=0)
    return Value(y, layer.compute_output_shape(x.shape), FIRST)


@converter("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D")
def _global_pool(g, layer, inputs):
    x = g.as_first(inputs[0])
    op = "GlobalMaxPool" if "Max" in type(layer).__name__ else "GlobalAveragePool"
    y = g.node(op, [x.name], layer.name)  # (N, C, 1, .., 1)
    shape = layer.compute_output_shape(x.shape)
    if layer.keepdims:
        return Value(y, shape, FIRST)
    return Value(g.node("Flatten", [y], f"{layer.name}/squeeze", axis=1), shape, LAST)


@converter("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def _conv_transpose(g, layer, inputs):
    """ConvTranspose: the adjoint of the Conv with the same kernel. Its full output, n cells
    -> (n - 1) * s + k', is cut to the layer's size: 'same' drops what the matching forward
    convolution's 'same' padding puts before (the odd cell goes after); extra cells at the
    end ('valid' or output_padding) come from output_padding."""
    from ..ops.kernels.geometry import same_padding

    x = inputs[0]
    k = array_of(layer.kernel)  # (k1..kr, F, C_in)
    rank = k.ndim - 2
    w = k.transpose(rank + 1, rank, *range(rank))  # (C_in, F, k1..kr)
    shape = layer.compute_output_shape(x.shape)
    begin, end, extra = [], [], []
    for n, o, kk, s, d in zip(x.shape[1:-1], shape[1:-1], layer.kernel_size, layer.strides,
                              layer.dilation_rate):
        if n is None:
            raise UnsupportedLayer(f"{layer.name} ({type(layer).__name__}): ONNX export needs "
                                   f"known spatial sizes, got input shape {x.shape}")
        full = (n - 1) * s + (kk - 1) * d + 1
        b = same_padding(o, kk, s, d)[0] if layer.padding == "same" else 0
        op = max(0, o + b - full)
        begin.append(b)
        end.append(full + op - b - o)
        extra.append(op)
    xf = g.as_first(x)
    ins = [xf.name, g.const(w, f"{layer.name}/kernel")]
    if layer.bias is not None:
        ins.append(g.const(array_of(layer.bias), f"{layer.name}/bias"))
    y = g.node("ConvTranspose", ins, layer.name, kernel_shape=list(layer.kernel_size),
               strides=list(layer.strides), dilations=list(layer.dilation_rate),
               pads=begin + end, output_padding=extra)
    return activation(g, Value(y, shape, FIRST), activation_name(layer.activation), layer.name)


@converter("UpSampling1D", "UpSampling2D", "UpSampling3D")
def _upsampling(g, layer, inputs):
    """Resize by whole factors: nearest repeats each cell (floor of i / size); bilinear
    samples at half-pixel centres, as Keras's image resize."""
    x = inputs[0]
    scales = [1.0] * x.rank
    for i, s in enumerate(layer.size):
        scales[axis_in(x.layout, i + 1, x.rank)] = float(s)
    mode = getattr(layer, "interpolation", "nearest")
    if mode == "nearest":
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                 "nearest_mode": "floor"}
    elif mode == "bilinear":
        attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
    else:
        raise UnsupportedLayer(f"{layer.name} ({type(layer).__name__}): interpolation "
                               f"{mode!r} has no ONNX converter")
    y = g.node("Resize", [x.name, "", g.const(np.asarray(scales, np.float32),
                                              f"{layer.name}/scales", np.float32)],
               layer.name, **attrs)
    return Value(y, layer.compute_output_shape(x.shape), x.layout)


@converter("Cropping1D", "Cropping2D", "Cropping3D")
def _cropping(g, layer, inputs):
    x = inputs[0]
    axes = [axis_in(x.layout, i + 1, x.rank) for i in range(len(layer.cropping))]
    starts = [int(b) for b, _ in layer.cropping]
    ends = [-int(a) if a else np.iinfo(np.int64).max for _, a in layer.cropping]
    y = g.node("Slice", [x.name, g.ints(starts, f"{layer.name}/starts"),
                         g.ints(ends, f"{layer.name}/ends"),
                         g.ints(axes, f"{layer.name}/axes")], layer.name)
    return Value(y, layer.compute_output_shape(x.shape), x.layout)
