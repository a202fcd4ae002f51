"""A stridenet model -> the Keras 3 config tree of ``config.json`` (what Keras's
``load_model`` rebuilds), and the order in which Keras lists a functional model's layers
(it names the weight groups by that order, so the archive must follow it)."""

from __future__ import annotations

import numpy as np

from .keras_config import KerasConfigError

# stridenet layers Keras 3 does not have
_NOT_IN_KERAS = {"RGBToHSV", "HSVToRGB", "GrayscaleToRGB", "RGBToGrayscale"}
_STRIDENET_ONLY = {"flip_kernel": False}  # argument: the value Keras's behaviour matches


def keras_layer_order(model) -> list:
    """A functional model's layers as Keras 3 orders them: by decreasing depth (distance
    from the outputs), ties in the order a depth-first walk from the outputs meets them."""
    inputs, input_ids = model._inputs, {id(t) for t in model._inputs}
    op_index, finished, order = {}, set(), []
    stack = [(t, False) for t in reversed(model._outputs)]
    while stack:  # post-order walk, iterative (deep models)
        t, done = stack.pop()
        if done:
            if id(t) not in finished:
                finished.add(id(t))
                order.append(t)
            continue
        if id(t) in finished:
            continue
        op_index.setdefault(id(t.layer), len(op_index))
        stack.append((t, True))
        if id(t) not in input_ids:
            stack += [(p, False) for p in reversed(t.inputs)]
    node_depth, op_depth, layer_of = {}, {}, {}
    for t in reversed(order):
        d = max(node_depth.setdefault(id(t), 0), op_depth.get(id(t.layer), 0))
        op_depth[id(t.layer)] = node_depth[id(t)] = d
        layer_of[id(t.layer)] = t.layer
        if id(t) not in input_ids:
            for p in t.inputs:
                node_depth[id(p)] = max(d + 1, node_depth.get(id(p), 0))
    for t in inputs:
        if id(t.layer) not in op_depth:
            op_depth[id(t.layer)], op_index[id(t.layer)] = 0, -1
            layer_of[id(t.layer)] = t.layer
    keys = sorted(op_depth, key=lambda k: (-op_depth[k], op_index[k]))
    return [layer_of[k] for k in keys]


def _keras_value(key: str, value):
    if key.endswith("_initializer") and isinstance(value, dict):
        return {"module": "keras.initializers", **value, "registered_name": None}
    if key.endswith("_regularizer") and isinstance(value, dict):
        return {"module": "keras.regularizers", **value, "registered_name": None}
    if isinstance(value, tuple):
        return [_keras_value(key, v) for v in value]
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return value


def _layer_spec(layer, problems: list) -> dict:
    if hasattr(layer, "_stack") or getattr(layer, "_functional", False):
        return model_spec(layer, problems)
    kind = type(layer).__name__
    if kind in _NOT_IN_KERAS:
        problems.append(f"layer {layer.name!r} ({kind}): Keras has no such layer")
    cfg = {}
    for key, value in layer.get_config().items():
        if key in _STRIDENET_ONLY:
            if value != _STRIDENET_ONLY[key]:
                problems.append(f"layer {layer.name!r} ({kind}): {key}={value!r} has no "
                                f"Keras counterpart")
            continue
        cfg[key] = _keras_value(key, value)
    if cfg.get("trainable") is True:  # the default; Keras's SpatialDropout* refuse the key
        del cfg["trainable"]
    if kind == "InputLayer":
        cfg = {"batch_shape": [layer.batch_size, *layer.shape],
               "dtype": cfg.get("dtype", "float32"), "sparse": False, "ragged": False,
               "name": layer.name}
    return {"module": "keras.layers", "class_name": kind, "config": cfg,
            "registered_name": None}


def _tensor(sym, ref) -> dict:
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(sym.shape), "dtype": "float32", "keras_history": ref}}


def _functional(model, problems: list) -> dict:
    ref, calls = {}, {}
    for t in model._inputs:
        ref[id(t)] = [t.layer.name, 0, 0]
    inbound: dict[int, list] = {}
    for node in model._nodes:
        k = calls.get(id(node.layer), 0)
        calls[id(node.layer)] = k + 1
        ref[id(node)] = [node.layer.name, k, 0]
        tensors = [_tensor(p, ref[id(p)]) for p in node.inputs]
        args = [tensors[0]] if len(tensors) == 1 else [tensors]
        kwargs = {k: v for k, v in node.kwargs.items() if k != "training"}
        inbound.setdefault(id(node.layer), []).append({"args": args, "kwargs": kwargs})
    layers = []
    for layer in keras_layer_order(model):
        spec = _layer_spec(layer, problems)
        spec["name"] = layer.name
        spec["inbound_nodes"] = inbound.get(id(layer), [])
        layers.append(spec)

    def refs(tensors, nested):
        out = [ref[id(t)] for t in tensors]
        return out if nested or len(out) > 1 else out[0]

    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": refs(model._inputs, isinstance(model._nested_inputs, list | tuple)),
            "output_layers": refs(model._outputs,
                                  isinstance(model._nested_outputs, list | tuple))}


def model_spec(model, problems: list) -> dict:
    """The Keras 3 spec {"module", "class_name", "config", "build_config"} of a model."""
    if hasattr(model, "_stack"):
        shape = model._input_shape
        if shape is None:
            problems.append(f"model {model.name!r} has no input shape: start it with an Input")
            return {}
        first = {"module": "keras.layers", "class_name": "InputLayer",
                 "config": {"batch_shape": list(shape), "dtype": "float32", "sparse": False,
                            "ragged": False, "name": f"{model.name}_input"},
                 "registered_name": None}
        cfg = {"name": model.name, "trainable": model.trainable,
               "layers": [first] + [_layer_spec(l, problems) for l in model.layers],
               "build_input_shape": list(shape)}
        return {"module": "keras", "class_name": "Sequential", "config": cfg,
                "registered_name": None, "build_config": {"input_shape": list(shape)}}
    if getattr(model, "_functional", False):
        return {"module": "keras.src.models.functional", "class_name": "Functional",
                "config": _functional(model, problems), "registered_name": "Functional",
                "build_config": {"input_shape": None}}
    problems.append(f"model {model.name!r} is a subclassed Model: Keras cannot rebuild its "
                    f"Python call() from a config")
    return {}


def keras_config(model) -> dict:
    """The whole config.json tree; one KerasConfigError lists everything Keras lacks."""
    problems: list = []
    spec = model_spec(model, problems)
    if problems:
        raise KerasConfigError(f"model {model.name!r} cannot be saved as a Keras archive:\n  "
                               + "\n  ".join(problems))
    return spec
