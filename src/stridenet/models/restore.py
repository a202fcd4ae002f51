"""A model file's contents back into a model: weights checked and placed, the optimizer
and its state, every random stream (``load_model`` and ``load_weights`` in ``saving``)."""

from __future__ import annotations

import numpy as np

from .. import losses as losses_mod
from .. import metrics as metrics_mod
from .. import seeding
from . import file_checks as checks

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


def rebuild(config: dict, tensors: dict, path, custom_objects, compile: bool):  # noqa: A002
    """The model a checked ``config`` describes, with the file's weights, optimizer state
    (when ``compile``) and random streams."""
    from .model import Model
    from .serialization import deferred_weights, deserialize_layer

    # rebuilt without drawing from the global stream, and without allocating weights
    # before their shapes are checked against the file's
    with seeding.isolated():
        with deferred_weights():
            model = deserialize_layer(config["architecture"], custom_objects)
            if not isinstance(model, Model):
                raise checks.invalid(path, f"the architecture is a {type(model).__name__}, "
                                           f"not a model")
            if not model.built and config.get("build_input_shape") is not None:
                model.build(tuple(config["build_input_shape"]))
            _place_weights(model, config["weights"], tensors, path)
        if compile and config.get("compile") is not None:
            _recompile(model, config["compile"], config["weights"], tensors, custom_objects)
    _restore_rng(model, config.get("rng", {}), path)
    return model


def _checked_weights(model, order, tensors, path) -> list:
    """The model's weights in Keras order, once their count and shapes match the file's."""
    variables = model.weights
    if len(order) != len(variables):
        raise ValueError(f"file {path} holds {len(order)} weights but model {model.name!r} "
                         f"has {len(variables)}: file {[n for _, n in order]}, model "
                         f"{[v.name for v in variables]}")
    for var, (key, name) in zip(variables, order):
        if tensors[key].shape != var.shape:
            raise ValueError(f"weight {var.name!r} has shape {var.shape} in the model but "
                             f"the file's {name!r} has shape {tensors[key].shape}")
        stored = tensors[key].dtype
        if stored != var.dtype and not (stored in _FLOATS and var.dtype in _FLOATS):
            raise checks.invalid(path, f"weight {name!r} is stored as {stored}, but the "
                                       f"model's {var.name!r} is {var.dtype}")
    return variables


def set_weights(model, order, tensors, path) -> None:
    """Assign the stored weights in Keras order; check every shape before assigning any."""
    for var, (key, _) in zip(_checked_weights(model, order, tensors, path), order):
        var.assign(tensors[key])


def _place_weights(model, order, tensors, path) -> None:
    """Replace the placeholders of a model rebuilt under ``deferred_weights`` by the file's
    tensors: nothing is allocated before every shape is known to match. Floating weights
    keep the file's dtype (a float64 model stays float64 where float32 is the default)."""
    owner = {id(w): layer for layer in model._all_layers() for w in layer._own_weights}
    for var, (key, _) in zip(_checked_weights(model, order, tensors, path), order):
        stored = tensors[key].dtype
        dtype = stored if stored in _FLOATS and var.dtype in _FLOATS else var.dtype
        layer = owner.get(id(var))
        if dtype != var.dtype and layer is not None and layer.dtype is None:
            layer.dtype = np.dtype(dtype)  # its config says so when saved again
        var.data = np.array(tensors[key], dtype=dtype)  # owned, writable


def _from_spec(spec, registry: dict, get, custom_objects):
    if isinstance(spec, dict) and spec.get("class_name") in (custom_objects or {}):
        return custom_objects[spec["class_name"]].from_config(spec.get("config", {}))
    if isinstance(spec, dict):
        cls = registry.get(spec.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown class {spec.get('class_name')!r}: pass it in "
                             f"custom_objects")
        return cls.from_config(spec.get("config", {}))
    return get(spec) if get is not None else spec


def _classes(module, base) -> dict:
    """The public subclasses of ``base`` in ``module``; not the abstract base itself."""
    return {n: c for n, c in vars(module).items()
            if isinstance(c, type) and issubclass(c, base) and c is not base
            and not n.startswith("_")}


def _recompile(model, spec: dict, order: list, tensors: dict, custom_objects) -> None:
    from .. import optimizers

    opt_spec = spec["optimizer"]
    opt = optimizers.deserialize({"class_name": opt_spec["class_name"],
                                  "config": opt_spec["config"]}, custom_objects)
    loss = _from_spec(spec["loss"], _classes(losses_mod, losses_mod.Loss), None,
                      custom_objects)
    metrics = [_from_spec(m, _classes(metrics_mod, metrics_mod.Metric), None, custom_objects)
               for m in spec["metrics"]]
    model.compile(optimizer=opt, loss=loss, metrics=metrics)
    if opt_spec.get("variables"):
        by_key = dict(zip([k for k, _ in order], model.weights))
        opt.build([by_key[k] for k in opt_spec["variables"]])
    state = {name: tensors[key] for key, name in opt_spec.get("state", [])}
    if state:
        opt.set_state(state)
    if int(opt.iterations) != opt_spec.get("iterations", int(opt.iterations)):
        raise ValueError(f"{type(opt).__name__}.set_state did not restore iterations "
                         f"({int(opt.iterations)} != {opt_spec['iterations']})")


def _restore_rng(model, spec: dict, path) -> None:
    """Set the shuffle seed and every layer's generator state from the file."""
    if spec.get("model") and hasattr(model, "_rng_state"):
        model._rng_state = dict(spec["model"])
    layers = model._all_layers()
    restored = set()
    for entry in spec.get("layers", []):
        i, state = entry["index"], entry["state"]
        if i >= len(layers) or layers[i].name != entry["name"]:
            raise checks.invalid(path, f"rng state for layer {entry['name']!r} at index {i}, "
                                       f"which the model does not have")
        rng = getattr(layers[i], "_rng", None)
        if type(getattr(rng, "bit_generator", None)).__name__ != state["bit_generator"]:
            if state["bit_generator"] not in _BIT_GENERATORS:
                raise checks.invalid(path, f"unknown bit generator {state['bit_generator']!r}")
            rng = layers[i]._rng = np.random.Generator(
                getattr(np.random, state["bit_generator"])())
        rng.bit_generator.state = state
        restored.add(i)
    for i, layer in enumerate(layers):
        # a file from before unseeded layers had streams of their own: a fresh one, drawn
        # from the global generator as when the layer was first made
        if (i not in restored and isinstance(getattr(layer, "_rng", None), np.random.Generator)
                and getattr(layer, "seed", 0) is None):
            layer._rng = seeding.spawn_generator()
