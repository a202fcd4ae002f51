"""ONNX converters of convolution and pooling layers (channels-first nodes)."""

from __future__ import annotations

from .onnx_graph import FIRST, LAST, Value
from .onnx_registry import _fn_name, _np, _pads, activation, converter

# -- convolutions ------------------------------------------------------------------


def _conv_node(g, layer, x, kernel, bias, strides, padding, dilation, groups, flip=False):
    """Conv on channels-first data; kernel (k1..kr, C_in/groups, F) -> (F, C_in/groups, k..)."""
    rank = kernel.ndim - 2
    if flip:  # true convolution: the kernel turned by 180 degrees
        kernel = kernel[tuple([slice(None, None, -1)] * rank)]
    w = kernel.transpose(rank + 1, rank, *range(rank))  # (F, C_in / groups, k1..kr)
    ksize = list(kernel.shape[:rank])
    pads = _pads(layer, x, ksize, strides, dilation, padding, causal_ok=rank == 1)
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
    bias = None if layer.bias is None else _np(layer.bias)
    y = _conv_node(g, layer, x, _np(layer.kernel), bias, layer.strides, layer.padding,
                   layer.dilation_rate, layer.groups, getattr(layer, "flip_kernel", False))
    shape = layer.compute_output_shape(x.shape)
    return activation(g, Value(y, shape, FIRST), _fn_name(layer.activation), layer.name)


@converter("DepthwiseConv2D", "DepthwiseConv1D")
def _depthwise(g, layer, inputs):
    x = inputs[0]
    k = _np(layer.kernel)  # (k.., C, M)
    rank = k.ndim - 2
    c, m = k.shape[-2:]
    k = k.reshape(*k.shape[:rank], 1, c * m)  # output channel c*M + m belongs to group c
    bias = None if layer.bias is None else _np(layer.bias)
    y = _conv_node(g, layer, x, k, bias, layer.strides, layer.padding, layer.dilation_rate, c)
    shape = layer.compute_output_shape(x.shape)
    return activation(g, Value(y, shape, FIRST), _fn_name(layer.activation), layer.name)


@converter("SeparableConv1D", "SeparableConv2D")
def _separable(g, layer, inputs):
    x = inputs[0]
    dk = _np(layer.depthwise_kernel)  # (k.., C, M)
    rank = dk.ndim - 2
    c, m = dk.shape[-2:]
    dk = dk.reshape(*dk.shape[:rank], 1, c * m)
    mid = _conv_node(g, layer, x, dk, None, layer.strides, layer.padding, layer.dilation_rate, c)
    mid_shape = (x.shape[0], *layer.compute_output_shape(x.shape)[1:-1], c * m)
    pk = _np(layer.pointwise_kernel)
    bias = None if layer.bias is None else _np(layer.bias)
    y = _conv_node(g, layer, Value(mid, mid_shape, FIRST), pk, bias, (1,) * rank, "valid",
                   (1,) * rank, 1)
    shape = layer.compute_output_shape(x.shape)
    return activation(g, Value(y, shape, FIRST), _fn_name(layer.activation), layer.name)


# -- pooling ------------------------------------------------------------------------


@converter("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
           "AveragePooling2D", "AveragePooling3D")
def _pool(g, layer, inputs):
    x = inputs[0]
    size, strides = list(layer.pool_size), list(layer.strides)
    pads = _pads(layer, x, size, strides, [1] * len(size), layer.padding)
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
