"""Model architecture <-> JSON-able config (no code is ever executed from a config).

``deferred_weights()`` rebuilds a model from a config without allocating its weights:
every weight is a zero-strided placeholder of the right shape and dtype until the file's
tensor replaces it, so a config edited to imply gigabytes of weights costs nothing
before ``load_model`` compares its shapes with the file's.
"""

from __future__ import annotations

import contextlib
import threading
import types

import numpy as np

from .. import layers as layers_mod
from ..layers.base import Layer
from ..layers.input_layer import InputLayer


def _registry(custom_objects=None) -> dict:
    from .model import Model
    from .sequential import Sequential

    reg = {name: getattr(layers_mod, name) for name in layers_mod.__all__
           if isinstance(getattr(layers_mod, name), type)
           and issubclass(getattr(layers_mod, name), Layer)}
    reg.update({"Sequential": Sequential, "Functional": Model, "Model": Model})
    reg.update(custom_objects or {})
    return reg


_DEFERRED = threading.local()  # .layers: the layers given placeholder weights, or None


def _placeholder_weight(layer, shape, initializer=None, name=None, trainable=True,
                        regularizer=None, dtype=None):
    """``add_weight`` without memory: a scalar weight made the usual way (name, dtype,
    trainable flag and regularizer), then viewed with zero strides as ``shape``."""
    var = type(layer).add_weight(layer, (), "zeros", name=name, trainable=trainable,
                                 regularizer=regularizer, dtype=dtype)
    var.data = np.broadcast_to(var.data, tuple(shape))  # read-only, no bytes behind it
    return var


def _defer(layer) -> None:
    for sub in layer._all_layers():
        if not sub.built and "add_weight" not in sub.__dict__:
            sub.__dict__["add_weight"] = types.MethodType(_placeholder_weight, sub)
            _DEFERRED.layers.append(sub)


@contextlib.contextmanager
def deferred_weights():
    """Layers deserialized inside get placeholder weights (see the module docstring);
    the caller replaces every one before the block ends."""
    outer = getattr(_DEFERRED, "layers", None)
    _DEFERRED.layers = []
    try:
        yield
    finally:
        for layer in _DEFERRED.layers:  # later builds allocate as usual
            layer.__dict__.pop("add_weight", None)
        _DEFERRED.layers = outer


def serialize_layer(layer) -> dict:
    from .model import Model

    if isinstance(layer, Model) and layer._functional:
        class_name = "Functional"
    else:
        class_name = type(layer).__name__
    return {"class_name": class_name, "config": layer.get_config()}


def deserialize_layer(spec: dict, custom_objects=None):
    if not isinstance(spec, dict) or "class_name" not in spec:
        raise ValueError(f"not a layer config: {spec!r}")
    cls = _registry(custom_objects).get(spec["class_name"])
    if cls is None:
        raise ValueError(f"unknown layer class {spec['class_name']!r}: pass it in "
                         f"custom_objects")
    cfg = dict(spec.get("config", {}))
    if hasattr(cls, "_stack") or spec["class_name"] in ("Sequential", "Functional", "Model"):
        layer = cls.from_config(cfg, custom_objects)
    else:
        layer = cls.from_config(cfg)
    if getattr(_DEFERRED, "layers", None) is not None:
        _defer(layer)
    return layer


def sequential_config(model) -> dict:
    shape = model._input_shape
    return {"name": model.name, "trainable": model.trainable,
            "input_shape": None if shape is None else list(shape),
            "layers": [serialize_layer(l) for l in model.layers]}


def sequential_from_config(config: dict, custom_objects=None):
    from ..layers.input_layer import Input
    from .sequential import Sequential

    model = Sequential(name=config.get("name"), trainable=config.get("trainable", True))
    if config.get("input_shape") is not None:
        shape = config["input_shape"]
        model.add(Input(tuple(shape[1:]), batch_size=shape[0]))
    for spec in config["layers"]:
        model.add(deserialize_layer(spec, custom_objects))
    return model


def functional_config(model) -> dict:
    """Layers, then every call in execution order as [layer, [input refs], kwargs]."""
    ref, calls = {}, {}
    for sym in model._inputs:
        ref[id(sym)] = [sym.layer.name, 0]
    nodes = []
    for node in model._nodes:
        k = calls.get(node.layer.name, 0)
        calls[node.layer.name] = k + 1
        ref[id(node)] = [node.layer.name, k]
        nodes.append([node.layer.name, [ref[id(p)] for p in node.inputs], dict(node.kwargs)])
    return {
        "name": model.name, "trainable": model.trainable,
        "layers": [{**serialize_layer(l), "name": l.name} for l in model.layers],
        "nodes": nodes,
        "input_layers": [ref[id(t)] for t in model._inputs],
        "output_layers": [ref[id(t)] for t in model._outputs],
        "nested_inputs": isinstance(model._nested_inputs, list | tuple),
        "nested_outputs": isinstance(model._nested_outputs, list | tuple),
    }


def functional_from_config(config: dict, custom_objects=None):
    from .model import Model

    layers = {}
    out_of = {}  # (layer name, call index) -> SymbolicTensor
    for spec in config["layers"]:
        layer = deserialize_layer(spec, custom_objects)
        layers[spec["name"]] = layer
        if isinstance(layer, InputLayer):
            out_of[(spec["name"], 0)] = layer.output
    def output(ref):
        if tuple(ref) not in out_of:
            raise ValueError(f"the reference {ref} names call {ref[1]} of layer {ref[0]!r}, "
                             f"which is not made before it is used")
        return out_of[tuple(ref)]

    calls = {}
    for name, inputs, kwargs in config["nodes"]:
        args = [output(r) for r in inputs]
        k = calls.get(name, 0)
        calls[name] = k + 1
        out_of[(name, k)] = layers[name](args if len(args) > 1 else args[0], **kwargs)
    ins = [output(r) for r in config["input_layers"]]
    outs = [output(r) for r in config["output_layers"]]
    return Model(ins if config.get("nested_inputs") else ins[0],
                 outs if config.get("nested_outputs") else outs[0], name=config.get("name"),
                 trainable=config.get("trainable", True))
