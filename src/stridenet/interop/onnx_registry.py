"""Per-layer ONNX converters: one function per layer class, found by class name.

A converter ``fn(g, layer, inputs) -> Value`` gets the GraphBuilder, the layer and its
input Values (a list) and adds the nodes that compute the layer's inference output.
Register one with ``@converter("ClassName", ...)``; a subclass without its own converter
uses its nearest base class's. Classes are named, not imported, so that a converter can
exist before (or without) the layer's module.
"""

from __future__ import annotations

import math

import numpy as np

from .onnx_graph import LAST, GraphBuilder, Value, axis_in

CONVERTERS: dict = {}


def converter(*class_names):
    def register(fn):
        for name in class_names:
            CONVERTERS[name] = fn
        return fn
    return register


def find_converter(layer):
    """The converter of ``layer``'s class or its nearest base class; None if there is none."""
    for cls in type(layer).__mro__:
        if cls.__name__ in ("Layer", "object"):
            return None
        if cls.__name__ in CONVERTERS:
            return CONVERTERS[cls.__name__]
    return None


class UnsupportedLayer(ValueError):
    """A layer (or a layer argument) that has no ONNX counterpart."""


def array_of(var) -> np.ndarray:
    return np.asarray(var.data if hasattr(var, "data") else var)


def _spatial(x: Value) -> tuple:
    return tuple(x.shape[1:-1])


def explicit_pads(layer, x: Value, kernel, strides, dilation, padding,
                  causal_ok=False) -> list[int]:
    """Explicit ONNX pads [b1..bk, e1..ek]; Keras 'same' puts the odd cell at the end."""
    from ..ops.kernels.geometry import resolve_padding

    sizes = _spatial(x)
    if isinstance(padding, str) and padding.lower() == "same" and None in sizes and any(
            s > 1 for s in strides):
        raise UnsupportedLayer(f"{layer.name} ({type(layer).__name__}): padding 'same' with "
                               f"strides {strides} needs known spatial sizes, got input "
                               f"shape {x.shape}")
    known = tuple(1 if n is None else n for n in sizes)
    pads = resolve_padding(padding, known, kernel, strides, dilation, causal_ok=causal_ok)
    return [p[0] for p in pads] + [p[1] for p in pads]


# -- activations ------------------------------------------------------------------


def activation(g: GraphBuilder, x: Value, name: str, base: str, **params) -> Value:
    """The Keras activation ``name`` on ``x`` (any layout; softmax along the channels)."""
    if name in ("linear", None):
        return x
    simple = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}
    if name in simple:
        return g.unary(simple[name], x, f"{base}/{name}")
    if name in ("softmax", "log_softmax"):
        axis = axis_in(x.layout, params.get("axis", -1), x.rank)
        op = "Softmax" if name == "softmax" else "LogSoftmax"
        return g.unary(op, x, f"{base}/{name}", axis=axis)
    if name == "leaky_relu":
        return g.unary("LeakyRelu", x, f"{base}/{name}",
                       alpha=float(params.get("negative_slope", 0.2)))
    if name == "elu":
        return g.unary("Elu", x, f"{base}/{name}", alpha=float(params.get("alpha", 1.0)))
    if name == "gelu":
        # x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)); ONNX Gelu needs opset 20
        half, one = g.const(np.array(0.5), f"{base}/half"), g.const(np.array(1.0), f"{base}/one")
        root2 = g.const(np.array(math.sqrt(2.0)), f"{base}/sqrt2")
        t = g.node("Div", [x.name, root2], f"{base}/gelu_div")
        t = g.node("Erf", [t], f"{base}/gelu_erf")
        t = g.node("Add", [t, one], f"{base}/gelu_add")
        t = g.node("Mul", [t, half], f"{base}/gelu_half")
        return Value(g.node("Mul", [x.name, t], f"{base}/gelu"), x.shape, x.layout)
    raise UnsupportedLayer(f"activation {name!r} has no ONNX converter")


def activation_name(fn) -> str:
    from .. import activations

    return activations.serialize(fn)


@converter("Activation")
def _activation_layer(g, layer, inputs):
    return activation(g, inputs[0], activation_name(layer.activation), layer.name)


@converter("ReLU")
def _relu(g, layer, inputs):
    x = inputs[0]
    slope, th, top = layer.negative_slope, layer.threshold, layer.max_value
    if th == 0 and slope == 0:
        y = g.unary("Relu", x, f"{layer.name}/relu")
    elif th == 0:
        y = g.unary("LeakyRelu", x, f"{layer.name}/leaky", alpha=float(slope))
    else:  # x >= threshold ? x : (x - threshold) * slope
        thc = g.const(np.array(th), f"{layer.name}/threshold")
        mask = g.node("GreaterOrEqual", [x.name, thc], f"{layer.name}/mask")
        low = g.node("Sub", [x.name, thc], f"{layer.name}/shift")
        low = g.node("Mul", [low, g.const(np.array(slope), f"{layer.name}/slope")],
                     f"{layer.name}/low")
        y = Value(g.node("Where", [mask, x.name, low], f"{layer.name}/where"), x.shape, x.layout)
    if top is not None:
        y = Value(g.node("Min", [y.name, g.const(np.array(top), f"{layer.name}/max")],
                         f"{layer.name}/clip"), y.shape, y.layout)
    return y


@converter("LeakyReLU")
def _leaky(g, layer, inputs):
    return activation(g, inputs[0], "leaky_relu", layer.name, negative_slope=layer.negative_slope)


@converter("ELU")
def _elu(g, layer, inputs):
    return activation(g, inputs[0], "elu", layer.name, alpha=layer.alpha)


@converter("Softmax")
def _softmax(g, layer, inputs):
    if isinstance(layer.axis, list):
        raise UnsupportedLayer(f"{layer.name} (Softmax): a list of axes has no ONNX converter")
    return activation(g, inputs[0], "softmax", layer.name, axis=layer.axis)


@converter("PReLU")
def _prelu(g, layer, inputs):
    x = g.as_last(inputs[0])  # alpha has the input's (non-batch) shape, channels last
    alpha = g.const(array_of(layer.alpha), f"{layer.name}/alpha")
    return Value(g.node("PRelu", [x.name, alpha], layer.name), x.shape, LAST)


# -- layers that vanish at inference -------------------------------------------------


@converter("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
           "GaussianNoise", "GaussianDropout", "AlphaDropout", "InputLayer")
def _identity(g, layer, inputs):
    return inputs[0]


@converter("_RandomLayer")
def _random(g, layer, inputs):
    from ..layers.preprocessing_base import _RandomLayer

    if type(layer)._inference is not _RandomLayer._inference and not (
            type(layer).__name__ == "RandomCrop"
            and tuple(inputs[0].shape[-3:-1]) == (layer.height, layer.width)):
        raise UnsupportedLayer(f"{layer.name} ({type(layer).__name__}) changes its input at "
                               f"inference and has no ONNX converter")
    return inputs[0]  # augmentation: the identity at inference
