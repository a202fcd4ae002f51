"""``model.save`` / ``load_model`` and ``save_weights`` / ``load_weights``: one safetensors file.

The file's layout, hash and reading are in ``file_format``, the checks of a config read
from a file in ``file_checks``, putting it back into a model in ``restore``. Here: a
model to a config and tensors, and the entry points.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

from .. import losses as losses_mod
from .. import metrics as metrics_mod
from ..io import atomic_writer
from . import file_checks as checks
from .file_format import FORMAT, FORMAT_VERSION, _contiguous, _digest, _safetensors
from .file_format import read_file as _read
from .restore import rebuild, set_weights

_OPT_PREFIX = "optimizer/"


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


def load_model(filepath, custom_objects=None, compile: bool = True):  # noqa: A002 - Keras
    """Rebuild a model saved by ``model.save``: weights, compile config, optimizer state.

    A Keras ``.keras`` archive or Keras 2 ``.h5`` file is read by ``stridenet.interop``."""
    path = os.fspath(filepath)
    if _keras_suffix(path, (".keras", ".h5", ".hdf5")):
        from ..interop import load_keras_model

        return load_keras_model(path, custom_objects=custom_objects, compile=compile)
    if _keras_suffix(path, (".pt", ".pth")):
        raise ValueError(f"file {path} is a PyTorch file: it holds weights, not a model; build "
                         f"the model and call sn.utils.load_torch_state_dict(model, {path!r})")
    kind, config, tensors = _read(path)
    if kind != "model":
        raise ValueError(f"file {path} holds only weights (written by save_weights): build "
                         f"the model and call model.load_weights({path!r})")
    checks.check_model_config(path, config, tensors)
    try:
        model = rebuild(config, tensors, path, custom_objects, compile)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as err:
        if checks.is_invalid(path, err):
            raise
        # constructors and compile() refuse bad arguments their own way: one form here
        raise checks.as_invalid(path, err) from err
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
    set_weights(model, config["weights"], tensors, path)
