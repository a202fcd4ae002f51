"""``model.summary()``: the Keras table, plus an opt-in compute view.

The compute view adds, per layer and per sample: multiply-add FLOPs, the
receptive field (how many input pixels one output cell sees, per spatial axis)
and the memory of the layer's output activations.
"""

from __future__ import annotations

import math

import numpy as np

from ..layers.conv import DepthwiseConv2D, _Conv
from ..layers.conv_separable import DepthwiseConv1D, _SeparableConv
from ..layers.conv_transpose import _ConvTranspose
from ..layers.core import Dense
from ..layers.cropping import _Cropping
from ..layers.input_layer import InputLayer
from ..layers.layer_normalization import LayerNormalization
from ..layers.normalization import BatchNormalization
from ..layers.pooling import _GlobalPool, _Pool
from ..layers.reshaping import (
    Flatten,
    Permute,
    Reshape,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)
from ..layers.upsampling import UpSampling2D, _UpSampling
from ..ops.kernels.geometry import effective_kernel


def _with_none_batch(shape):
    if isinstance(shape, list):
        return [_with_none_batch(s) for s in shape]
    return (None, *tuple(shape)[1:])


def layer_io_shapes(model) -> list[tuple]:
    """(layer, input_shape, output_shape) per row of the table."""
    rows = []
    if getattr(model, "_stack", None) is not None:  # Sequential
        shape = model._input_shape
        for layer in model.layers:
            out = layer.compute_output_shape(shape) if shape is not None else None
            rows.append((layer, shape, out))
            shape = out
        return rows
    if getattr(model, "_functional", False):
        for layer in model.layers:
            if isinstance(layer, InputLayer):
                rows.append((layer, layer.output.shape, layer.output.shape))
                continue
            node = next(t for t in model._nodes if t.layer is layer)
            ins = [t.shape for t in node.inputs]
            rows.append((layer, ins if len(ins) > 1 else ins[0], node.shape))
        return rows
    for layer in model.layers:  # subclassed: shapes seen on the last call
        seen = getattr(layer, "_seen_shapes", None)
        rows.append((layer, *(_with_none_batch(s) for s in seen)) if seen else (layer, None, None))
    return rows


def _elements(shape) -> int:
    if shape is None or isinstance(shape, list) or None in shape[1:]:
        return 0
    return math.prod(shape[1:])


def layer_flops(layer, in_shape, out_shape) -> int:
    """Floating point operations per sample (a multiply-add counts 2)."""
    out = _elements(out_shape)
    if isinstance(layer, _Conv):
        k = math.prod(layer.kernel.shape[:-1])  # KH*KW*Cg
        return 2 * out * k
    if isinstance(layer, DepthwiseConv2D | DepthwiseConv1D):
        return 2 * out * math.prod(layer.kernel_size)
    if isinstance(layer, _SeparableConv):  # depthwise taps, then a C*M -> F product per cell
        cm = layer.pointwise_kernel.shape[-2]
        cells = out // layer.filters  # output positions
        return 2 * cells * cm * (math.prod(layer.kernel_size) + layer.filters)
    if isinstance(layer, _ConvTranspose):  # every input cell spreads K*F products
        return 2 * _elements(in_shape) * math.prod(layer.kernel.shape[:-1])
    if isinstance(layer, Dense):
        return 2 * out * layer.kernel.shape[0]
    if isinstance(layer, _Pool):
        return out * math.prod(layer.pool_size)
    if isinstance(layer, _GlobalPool):
        return _elements(in_shape)
    if isinstance(layer, BatchNormalization):
        return 2 * out
    if isinstance(layer, LayerNormalization):  # mean, variance, normalise, scale, shift
        return 5 * out
    if isinstance(layer, _UpSampling):  # nearest copies; bilinear blends 4 cells
        return 7 * out if getattr(layer, "interpolation", "") == "bilinear" else 0
    if isinstance(layer, Flatten | Reshape | Permute | InputLayer | ZeroPadding1D
                  | ZeroPadding2D | ZeroPadding3D | _Cropping):
        return 0  # data movement only
    return out


def receptive_fields(model, rows) -> dict:
    """Per layer: (field, jump) per spatial axis, for chains of conv and pooling layers."""
    fields, state = {}, None
    for layer, in_shape, _ in rows:
        if isinstance(layer, InputLayer) or state is None and not isinstance(in_shape, list):
            if in_shape is not None and not isinstance(in_shape, list) and len(in_shape) >= 3:
                state = [(1, 1)] * (len(in_shape) - 2)
        if state is None:
            continue
        if isinstance(layer, _Conv | DepthwiseConv2D | DepthwiseConv1D | _SeparableConv
                      | _Pool):
            ks = layer.kernel_size if not isinstance(layer, _Pool) else layer.pool_size
            dil = getattr(layer, "dilation_rate", (1,) * len(ks))
            state = [(r + (effective_kernel(k, d) - 1) * j, j * s)
                     for (r, j), k, d, s in zip(state, ks, dil, layer.strides)]
        elif isinstance(layer, _ConvTranspose):
            # an output cell gathers ceil(k'/s) input cells; output cells are s times denser
            state = [(r + (math.ceil(effective_kernel(k, d) / s) - 1) * j, j / s)
                     for (r, j), k, d, s in zip(state, layer.kernel_size, layer.dilation_rate,
                                                layer.strides)]
        elif isinstance(layer, _UpSampling):
            # output cells are s times denser; bilinear also mixes two neighbouring cells
            grow = 1 if isinstance(layer, UpSampling2D) and layer.interpolation == "bilinear" \
                else 0
            state = [(r + grow * j, j / s) for (r, j), s in zip(state, layer.size)]
        elif isinstance(layer, Flatten | Dense | _GlobalPool):
            state = None
            fields[layer.name] = "all"
            continue
        elif isinstance(layer, Reshape | Permute):  # spatial axes no longer line up
            state = None
            continue
        elif _spatial_rank(in_shape) not in (-1, len(state)):
            state = None  # the input no longer has the spatial axes the field counts
            continue
        fields[layer.name] = "x".join(str(math.ceil(r)) for r, _ in state)
    return fields


def _spatial_rank(shape) -> int:
    if shape is None or isinstance(shape, list):
        return -1
    return len(shape) - 2


def _fmt_shape(shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GB"  # pragma: no cover


def print_summary(model, show_compute=False, print_fn=None):
    print_fn = print_fn or print
    if not model.built:
        raise ValueError(f"{model.name} is not built: give it an Input, input_shape=..., or "
                         "call it on data before summary()")
    rows = layer_io_shapes(model)
    head = ["Layer (type)", "Output Shape", "Param #"]
    widths = [33, 26, 12]
    if show_compute:
        head += ["FLOPs/sample", "Receptive field", "Activations"]
        widths += [15, 16, 12]
        fields = receptive_fields(model, rows)
    table, total_flops = [], 0
    for layer, in_shape, out_shape in rows:
        params = sum(w.size for w in layer.weights) if layer.built else 0
        cells = [f"{layer.name} ({type(layer).__name__})", _fmt_shape(out_shape), f"{params:,}"]
        if show_compute:
            flops = layer_flops(layer, in_shape, out_shape) if layer.built else 0
            total_flops += flops
            itemsize = np.dtype(layer.dtype or "float32").itemsize
            cells += [f"{flops:,}", fields.get(layer.name, "-"),
                      _fmt_bytes(_elements(out_shape) * itemsize)]
        table.append(cells)
    # a column grows to its longest cell and keeps two spaces before the next, so a long
    # layer name or shape never runs into its neighbour
    widths = [max([w, len(head[i]) + 2] + [len(cells[i]) + 2 for cells in table])
              for i, w in enumerate(widths)]
    total_width = sum(widths)
    lines = [f'Model: "{model.name}"', "_" * total_width,
             "".join(h.ljust(w) for h, w in zip(head, widths)), "=" * total_width]
    lines += ["".join(c.ljust(w) for c, w in zip(cells, widths)) for cells in table]
    lines.append("=" * total_width)
    weights = model.weights
    trainable = sum(w.size for w in weights if w.trainable)
    frozen = sum(w.size for w in weights if not w.trainable)
    nbytes = sum(w.data.nbytes for w in weights)
    tbytes = sum(w.data.nbytes for w in weights if w.trainable)
    lines += [f"Total params: {trainable + frozen:,} ({_fmt_bytes(nbytes)})",
              f"Trainable params: {trainable:,} ({_fmt_bytes(tbytes)})",
              f"Non-trainable params: {frozen:,} ({_fmt_bytes(nbytes - tbytes)})"]
    if show_compute:
        lines.append(f"Forward FLOPs per sample: {total_flops:,} "
                     f"(training step about 3x: {3 * total_flops:,})")
    lines.append("_" * total_width)
    for line in lines:
        print_fn(line)
