"""ONNX converters of Dense, normalisation, shape, merge and colour layers."""

from __future__ import annotations

import numpy as np

from .onnx_graph import LAST, Value, axis_in
from .onnx_registry import UnsupportedLayer, activation, activation_name, array_of, converter

# -- dense, normalisation ----------------------------------------------------------------


@converter("Dense")
def _dense(g, layer, inputs):
    x = g.as_last(inputs[0])  # (..., I) @ (I, units)
    y = g.node("MatMul", [x.name, g.const(array_of(layer.kernel), f"{layer.name}/kernel")],
               f"{layer.name}/matmul")
    if layer.bias is not None:
        y = g.node("Add", [y, g.const(array_of(layer.bias), f"{layer.name}/bias")], layer.name)
    out = Value(y, layer.compute_output_shape(x.shape), LAST)
    return activation(g, out, activation_name(layer.activation), layer.name)


@converter("BatchNormalization")
def _batch_norm(g, layer, inputs):
    """Inference form (moving statistics) in one node, with the layer's epsilon."""
    x = inputs[0]
    c = x.shape[layer.axis]
    gamma = np.ones(c) if layer.gamma is None else array_of(layer.gamma)
    beta = np.zeros(c) if layer.beta is None else array_of(layer.beta)
    params = [gamma, beta, array_of(layer.moving_mean), array_of(layer.moving_variance)]
    names = ["gamma", "beta", "moving_mean", "moving_variance"]
    if layer.axis % x.rank == x.rank - 1:  # the channel axis: axis 1 in channels-first form
        xf = g.as_first(x) if x.rank >= 3 else x
        ins = [xf.name] + [g.const(p, f"{layer.name}/{n}") for p, n in zip(params, names)]
        y = g.node("BatchNormalization", ins, layer.name, epsilon=float(layer.epsilon))
        return Value(y, x.shape, xf.layout)
    # another axis: (x - mean) / sqrt(var + eps) * gamma + beta, broadcast channels last
    x = g.as_last(x)
    shape = [1] * x.rank
    shape[layer.axis % x.rank] = c
    scale = gamma / np.sqrt(params[3].astype(np.float64) + layer.epsilon)
    y = g.node("Sub", [x.name, g.const(params[2].reshape(shape), f"{layer.name}/mean")],
               f"{layer.name}/center")
    y = g.node("Mul", [y, g.const(scale.reshape(shape), f"{layer.name}/scale")],
               f"{layer.name}/scale")
    y = g.node("Add", [y, g.const(beta.reshape(shape), f"{layer.name}/beta")], layer.name)
    return Value(y, x.shape, LAST)


@converter("LayerNormalization")
def _layer_norm(g, layer, inputs):
    x = g.as_last(inputs[0])
    axes = layer.axis if isinstance(layer.axis, list | tuple) else [layer.axis]
    axes = sorted(a % x.rank for a in axes)
    if axes != list(range(axes[0], x.rank)):
        raise UnsupportedLayer(f"{layer.name} (LayerNormalization): axes {layer.axis} are not "
                               f"the trailing axes; ONNX LayerNormalization needs those")
    pshape = [x.shape[a] for a in axes]
    gamma = np.ones(pshape) if layer.gamma is None else array_of(layer.gamma).reshape(pshape)
    beta = np.zeros(pshape) if layer.beta is None else array_of(layer.beta).reshape(pshape)
    y = g.node("LayerNormalization", [x.name, g.const(gamma, f"{layer.name}/gamma"),
                                      g.const(beta, f"{layer.name}/beta")], layer.name,
               axis=axes[0], epsilon=float(layer.epsilon))
    return Value(y, x.shape, LAST)


# -- shapes and merges ----------------------------------------------------------------------


@converter("Flatten")
def _flatten(g, layer, inputs):
    x = g.as_last(inputs[0])  # back to NHWC first: the row-major order Keras flattens in
    return Value(g.node("Flatten", [x.name], layer.name, axis=1),
                 layer.compute_output_shape(x.shape), LAST)


@converter("Reshape")
def _reshape(g, layer, inputs):
    x = g.as_last(inputs[0])
    shape = layer.compute_output_shape(x.shape)
    target = [0] + [-1 if d is None else int(d) for d in shape[1:]]  # 0: keep the batch
    return Value(g.node("Reshape", [x.name, g.ints(target, f"{layer.name}/shape")], layer.name),
                 shape, LAST)


@converter("Permute")
def _permute(g, layer, inputs):
    x = g.as_last(inputs[0])
    perm = [0, *[int(d) for d in layer.dims]]
    return Value(g.node("Transpose", [x.name], layer.name, perm=perm),
                 layer.compute_output_shape(x.shape), LAST)


def _zero_pad(g, layer, inputs, pairs):
    x = inputs[0]
    rank = x.rank
    begin, end = [0] * rank, [0] * rank
    for i, (b, e) in enumerate(pairs):
        ax = axis_in(x.layout, i + 1, rank)
        begin[ax], end[ax] = int(b), int(e)
    y = g.node("Pad", [x.name, g.ints(begin + end, f"{layer.name}/pads")], layer.name)
    return Value(y, layer.compute_output_shape(x.shape), x.layout)


@converter("ZeroPadding2D", "ZeroPadding3D")
def _zero_padding(g, layer, inputs):
    return _zero_pad(g, layer, inputs, layer.padding)


@converter("ZeroPadding1D")
def _zero_padding1d(g, layer, inputs):
    return _zero_pad(g, layer, inputs, [layer.padding])


@converter("Add", "Subtract", "Multiply", "Maximum", "Minimum")
def _elementwise_merge(g, layer, inputs):
    op = {"Add": "Add", "Subtract": "Sub", "Multiply": "Mul", "Maximum": "Max",
          "Minimum": "Min"}[type(layer).__name__]
    layout = inputs[0].layout
    vals = [g.as_layout(v, layout) for v in inputs]
    y = vals[0].name
    for i, v in enumerate(vals[1:]):  # left to right, as stridenet sums
        y = g.node(op, [y, v.name], layer.name if i == len(vals) - 2 else f"{layer.name}/{i}")
    return Value(y, inputs[0].shape, vals[0].layout)


@converter("Concatenate")
def _concatenate(g, layer, inputs):
    layout = inputs[0].layout
    vals = [g.as_layout(v, layout) for v in inputs]
    rank = vals[0].rank
    axis = axis_in(vals[0].layout, layer.axis, rank)
    y = g.node("Concat", [v.name for v in vals], layer.name, axis=axis)
    return Value(y, layer.compute_output_shape([v.shape for v in inputs]), vals[0].layout)


@converter("GrayscaleToRGB")
def _gray_to_rgb(g, layer, inputs):
    x = inputs[0]
    axis = axis_in(x.layout, -1, x.rank)
    y = g.node("Concat", [x.name] * 3, layer.name, axis=axis)
    return Value(y, layer.compute_output_shape(x.shape), x.layout)


@converter("RGBToGrayscale")
def _rgb_to_gray(g, layer, inputs):
    from ..data.augment import LUMA_WEIGHTS

    x = g.as_last(inputs[0])  # (N, H, W, 3) @ (3, 1)
    w = np.asarray(LUMA_WEIGHTS).reshape(3, 1)
    y = g.node("MatMul", [x.name, g.const(w, f"{layer.name}/luma")], layer.name)
    return Value(y, layer.compute_output_shape(x.shape), LAST)


@converter("Rescaling")
def _rescaling(g, layer, inputs):
    x = g.as_last(inputs[0])  # scale and offset broadcast against the channels-last input
    y = g.node("Mul", [x.name, g.const(np.asarray(layer.scale), f"{layer.name}/scale")],
               f"{layer.name}/mul")
    y = g.node("Add", [y, g.const(np.asarray(layer.offset), f"{layer.name}/offset")], layer.name)
    return Value(y, x.shape, LAST)


@converter("Normalization")
def _normalization(g, layer, inputs):
    """(x - mean) / max(sqrt(variance), 1e-7), or its inverse, channels last."""
    x = g.as_last(inputs[0])
    if getattr(layer, "input_mean", None) is not None:
        mean, var = np.asarray(layer._mean), np.asarray(layer._variance)
    else:
        mean, var = array_of(layer.mean), array_of(layer.variance)
    from ..layers.preprocessing_numeric import _EPSILON

    std = np.maximum(np.sqrt(var.astype(np.float64)), _EPSILON)
    bshape = (1, *layer._bshape[1:])
    m = g.const(mean.reshape(bshape), f"{layer.name}/mean")
    s = g.const(std.reshape(bshape), f"{layer.name}/std")
    if layer.invert:
        y = g.node("Add", [g.node("Mul", [x.name, s], f"{layer.name}/scale"), m], layer.name)
    else:
        y = g.node("Div", [g.node("Sub", [x.name, m], f"{layer.name}/center"), s], layer.name)
    return Value(y, x.shape, LAST)
