"""Model architecture <-> JSON-able config (no code is ever executed from a config)."""

from __future__ import annotations

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
        return cls.from_config(cfg, custom_objects)
    return cls.from_config(cfg)


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
    calls = {}
    for name, inputs, kwargs in config["nodes"]:
        args = [out_of[tuple(r)] for r in inputs]
        k = calls.get(name, 0)
        calls[name] = k + 1
        out_of[(name, k)] = layers[name](args if len(args) > 1 else args[0], **kwargs)
    ins = [out_of[tuple(r)] for r in config["input_layers"]]
    outs = [out_of[tuple(r)] for r in config["output_layers"]]
    return Model(ins if config.get("nested_inputs") else ins[0],
                 outs if config.get("nested_outputs") else outs[0], name=config.get("name"),
                 trainable=config.get("trainable", True))
