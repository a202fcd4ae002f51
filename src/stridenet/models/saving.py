"""``model.save`` / ``load_model`` and ``save_weights`` / ``load_weights``: one safetensors file.

The file's layout, hash and reading are in ``file_format``; the checks of a config read
from a file in ``file_checks``. Here: a model to a config and tensors, and back.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

from .. import losses as losses_mod
from .. import metrics as metrics_mod
from .. import seeding
from ..io import atomic_writer
from . import file_checks as checks
from .file_format import FORMAT, FORMAT_VERSION, _contiguous, _digest, _safetensors
from .file_format import read_file as _read

_OPT_PREFIX = "optimizer/"
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


# -- writing ------------------------------------------------------------------


def _unique(key: str, used: set) -> str:
    out, k = key, 0
    while out in used:
        k += 1
        out = f"{key}_{k}"
    used.add(out)
    return out


def _spec(obj, base, kind: str):
    """A loss/metric argument of compile() as JSON: a name, a config dict, or None."""
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, base):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    if isinstance(obj, dict):
        return obj
    raise TypeError(f"the {kind} {obj!r} is a plain function and cannot be saved; "
                    f"use a {base.__name__} object")


def _compile_spec(model):
    """compile() arguments and optimizer, or None when not compiled (or not saveable)."""
    cfg = getattr(model, "_compile_config", None)
    if cfg is None or model.optimizer is None:
        return None
    try:
        loss = _spec(cfg.get("loss"), losses_mod.Loss, "loss")
        metrics = [_spec(m, metrics_mod.Metric, "metric") for m in cfg.get("metrics", [])]
    except TypeError as err:
        warnings.warn(f"{err}: the file holds an uncompiled model", stacklevel=4)
        return None
    opt = model.optimizer
    return {"loss": loss, "metrics": metrics,
            "optimizer": {"class_name": type(opt).__name__, "config": opt.get_config()}}


def _rng_spec(model) -> dict:
    """The model's shuffle seed and the state of every layer-owned Generator."""
    layers = []
    for i, layer in enumerate(model._all_layers()):
        rng = getattr(layer, "_rng", None)
        if isinstance(rng, np.random.Generator):
            layers.append({"index": i, "name": layer.name, "state": rng.bit_generator.state})
    return {"model": dict(getattr(model, "_rng_state", None) or {}), "layers": layers}


def _weight_tensors(model, used: set):
    """(tensors, order) with every weight under a unique key, in Keras order."""
    tensors, order = {}, []
    for var in model.weights:
        key = _unique(var.name, used)
        tensors[key] = _contiguous(var.data)
        order.append([key, var.name])
    return tensors, order


def _build_shape(model):
    if getattr(model, "_functional", False) or hasattr(model, "_stack"):
        return None
    seen = getattr(model, "_seen_shapes", None)  # subclassed: the shape it was called on
    return None if seen is None or not isinstance(seen[0], tuple) else list(seen[0])


def _write(filepath, tensors: dict, config: dict, kind: str, overwrite: bool) -> None:
    from .. import __version__

    st = _safetensors()
    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists and overwrite=False")
    meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "kind": kind,
            "stridenet_version": __version__, "config": json.dumps(config, default=_plain)}
    meta["sha256"] = _digest(meta, tensors)
    blob = st.save(tensors, metadata=meta)
    with atomic_writer(path) as f:
        _write_chunks(f, blob)


def _plain(obj):
    """JSON for NumPy scalars/arrays met in configs; anything else cannot be saved."""
    if isinstance(obj, np.generic | np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot save a config value of type {type(obj).__name__}: {obj!r} "
                    f"(configs must be JSON: numbers, strings, lists, dicts)")


def _write_chunks(f, blob: bytes, chunk: int = 1 << 24) -> None:
    view = memoryview(blob)
    for start in range(0, len(view), chunk):
        f.write(view[start:start + chunk])


def _keras_suffix(filepath, suffixes) -> bool:
    return isinstance(filepath, str | os.PathLike) and os.fspath(filepath).lower().endswith(
        suffixes)


def save_model(model, filepath, overwrite: bool = True) -> None:
    """Architecture, weights, compile config, optimizer state and RNG state in one file."""
    if _keras_suffix(filepath, (".keras", ".h5", ".hdf5")):  # Keras formats: interop
        from ..interop import save_keras_model

        return save_keras_model(model, filepath, overwrite=overwrite)
    from .serialization import serialize_layer

    used: set = set()
    tensors, order = _weight_tensors(model, used)
    compiled = _compile_spec(model)
    opt_keys = []
    if compiled is not None:
        opt = model.optimizer
        for name, value in opt.get_state().items():
            key = _unique(_OPT_PREFIX + name, used)
            tensors[key] = _contiguous(value)
            opt_keys.append([key, name])
        # slots are numbered in the order the optimizer first saw each variable: keep that
        # order as weight keys, so the loaded optimizer numbers them the same way
        key_of = {id(var): key for var, (key, _) in zip(model.weights, order)}
        slot_order = [key_of.get(id(v)) for v in getattr(opt, "variables", [])]
        compiled["optimizer"].update(state=opt_keys, iterations=int(opt.iterations),
                                     variables=slot_order if None not in slot_order else None)
    config = {"architecture": serialize_layer(model), "compile": compiled, "weights": order,
              "rng": _rng_spec(model), "build_input_shape": _build_shape(model)}
    _write(filepath, tensors, config, "model", overwrite)


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Only the weights (Keras order), for ``load_weights`` into the same architecture;
    a ``.weights.h5`` name writes the Keras 3 layout (``stridenet.interop``)."""
    if _keras_suffix(filepath, (".h5", ".hdf5")):
        from ..interop import save_keras_weights

        return save_keras_weights(model, filepath, overwrite=overwrite)
    tensors, order = _weight_tensors(model, set())
    _write(filepath, tensors, {"weights": order}, "weights", overwrite)


# -- reading ------------------------------------------------------------------


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


def _set_weights(model, order, tensors, path) -> None:
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


def load_model(filepath, custom_objects=None, compile: bool = True):  # noqa: A002 - Keras
    """Rebuild a model saved by ``model.save``: weights, compile config, optimizer state.

    A Keras ``.keras`` archive or Keras 2 ``.h5`` file is read by ``stridenet.interop``."""
    path = os.fspath(filepath)
    if _keras_suffix(path, (".keras", ".h5", ".hdf5")):
        from ..interop import load_keras_model

        return load_keras_model(path, custom_objects=custom_objects, compile=compile)
    kind, config, tensors = _read(path)
    if kind != "model":
        raise ValueError(f"file {path} holds only weights (written by save_weights): build "
                         f"the model and call model.load_weights({path!r})")
    checks.check_model_config(path, config, tensors)
    try:
        model = _rebuild(config, tensors, path, custom_objects, compile)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as err:
        if checks.is_invalid(path, err):
            raise
        # constructors and compile() refuse bad arguments their own way: one form here
        raise checks.as_invalid(path, err) from err
    return model


def _rebuild(config: dict, tensors: dict, path, custom_objects, compile: bool):  # noqa: A002
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


def load_weights(model, filepath) -> None:
    """Set ``model``'s weights from a ``save_weights`` (or ``save``) file, in Keras order;
    Keras ``.weights.h5`` / ``.h5`` files are read by ``stridenet.interop``."""
    path = os.fspath(filepath)
    if _keras_suffix(path, (".h5", ".hdf5")):
        from ..interop import load_keras_weights

        return load_keras_weights(model, path)
    _, config, tensors = _read(path)
    checks.check_weights(path, config, tensors)
    if not model.built and config.get("build_input_shape") is not None:
        model.build(tuple(config["build_input_shape"]))
    _set_weights(model, config["weights"], tensors, path)
