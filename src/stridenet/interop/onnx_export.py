"""``model.export("m.onnx", format="onnx")``: a stridenet model as an ONNX graph.

The graph takes and returns channels-last tensors, as the model does, with a dynamic
batch axis ("batch"); inside, convolutions and pooling run channels first (see
``onnx_graph``). Weights are stored as initializers. Each layer is translated by the
converter registered for its class (``onnx_layers``); nested models are inlined.
Before writing, ``onnx.checker.check_model(full_check=True)`` must pass. The graph computes
in float32, also for a float64 model (ONNX runtimes implement convolutions in float32).
"""

from __future__ import annotations

import os

import numpy as np

from . import onnx_layers_core, onnx_layers_spatial  # noqa: F401 - they register converters
from .onnx_graph import GraphBuilder, Value
from .onnx_registry import UnsupportedLayer, find_converter

DEFAULT_OPSET = 17


def _onnx():
    try:
        import onnx
    except ImportError as err:
        raise ImportError('ONNX export needs the onnx package: pip install "stridenet[onnx]"'
                          ) from err
    return onnx


def _calls(model):
    """The model's layer calls in execution order: (layer, input ids, output id).

    Ids are those of SymbolicTensors (functional) or positions (Sequential).
    """
    if hasattr(model, "_stack"):
        if model._input_shape is None:
            raise ValueError(f"model {model.name!r} has no input shape: start it with an "
                             f"Input(...) or build it before exporting")
        calls = [(layer, [i], i + 1) for i, layer in enumerate(model.layers)]
        return [0], [tuple(model._input_shape)], calls, [len(calls)]
    if not getattr(model, "_functional", False):
        raise ValueError(f"model {model.name!r} is a subclassed Model: its call() is Python "
                         f"code, so only Sequential and functional models export to ONNX")
    ins = [id(t) for t in model._inputs]
    calls = [(n.layer, [id(p) for p in n.inputs], id(n)) for n in model._nodes]
    return ins, [tuple(t.shape) for t in model._inputs], calls, [id(t) for t in model._outputs]


def _missing(model, out: list) -> list:
    """Names of every layer (nested ones too) that has no converter."""
    for layer in model.layers:
        if hasattr(layer, "_stack") or getattr(layer, "_functional", False):
            _missing(layer, out)
        elif find_converter(layer) is None:
            out.append(f"{layer.name} ({type(layer).__name__})")
    return out


def _emit(g: GraphBuilder, model, values: list) -> list:
    """Add ``model``'s layers to the graph on input Values; returns the output Values."""
    ins, _, calls, outs = _calls(model)
    env = dict(zip(ins, values))
    for layer, args, out in calls:
        vals = [env[a] for a in args]
        if hasattr(layer, "_stack") or getattr(layer, "_functional", False):
            res = _emit(g, layer, vals)
            env[out] = res[0] if len(res) == 1 else res
            continue
        fn = find_converter(layer)
        try:
            env[out] = fn(g, layer, vals)
        except UnsupportedLayer:
            raise
        except (AttributeError, KeyError, TypeError, IndexError) as err:
            raise UnsupportedLayer(f"{layer.name} ({type(layer).__name__}) could not be "
                                   f"converted to ONNX: {err}") from err
    return [env[o] for o in outs]


def _value_info(helper, name: str, shape, elem):
    dims = ["batch"] + [f"{name}_dim{i}" if d is None else int(d)
                        for i, d in enumerate(shape[1:], 1)]
    return helper.make_tensor_value_info(name, elem, dims)


def build_onnx(model, opset_version=None):
    """The ONNX ModelProto of ``model`` (checked with full_check), not yet written."""
    onnx = _onnx()
    from onnx import TensorProto, helper

    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if opset < DEFAULT_OPSET:
        raise ValueError(f"opset_version must be >= {DEFAULT_OPSET}, got {opset_version}")
    missing = _missing(model, [])
    if missing:
        raise UnsupportedLayer(f"model {model.name!r} cannot be exported to ONNX: no converter "
                               f"for layer(s) {', '.join(missing)}")
    # float32 throughout, float64 models too: what ONNX runtimes implement (onnxruntime
    # has no float64 Conv on the CPU)
    elem = TensorProto.FLOAT
    g = GraphBuilder(np.float32)
    ins, shapes, _, _ = _calls(model)
    in_names = [g.fresh(f"input_{i}" if len(ins) > 1 else "input") for i in range(len(ins))]
    outs = _emit(g, model, [Value(n, s) for n, s in zip(in_names, shapes)])
    out_names = []
    for i, v in enumerate(outs):
        v = g.as_last(v)
        name = g.fresh(f"output_{i}" if len(outs) > 1 else "output")
        g.nodes.append(helper.make_node("Identity", [v.name], [name], name=f"{name}/Identity"))
        out_names.append((name, v.shape))
    graph = helper.make_graph(
        g.nodes, model.name, [_value_info(helper, n, s, elem) for n, s in zip(in_names, shapes)],
        [_value_info(helper, n, s, elem) for n, s in out_names], g.initializers)
    from .. import __version__

    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="stridenet", producer_version=__version__)
    proto.ir_version = min(proto.ir_version, 8 if opset <= 17 else proto.ir_version)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, filepath, opset_version=None, verbose=False):
    """Write ``model`` as an ONNX file at ``filepath`` (atomically); returns the path."""
    from ..io import atomic_writer

    proto = build_onnx(model, opset_version)
    path = os.fspath(filepath)
    with atomic_writer(path) as f:
        f.write(proto.SerializeToString())
    if verbose:
        print(f"Saved ONNX model (opset {proto.opset_import[0].version}, "
              f"{len(proto.graph.node)} nodes) to {path}")
    return path
