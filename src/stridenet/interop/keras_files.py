"""Keras files in and out: ``.keras`` archives, legacy ``.h5`` models, ``.weights.h5``.

A ``.keras`` file is a zip archive (stored, not compressed) of ``metadata.json``,
``config.json`` and ``model.weights.h5`` (SPEC section 7). Reading builds the model from
the config (``keras_config``), checks every weight against it (``keras_h5``) and only then
assigns them, so a bad file raises one clear ValueError naming it and returns no model.
The compile information is restored when stridenet has the optimizer, loss and metrics,
and with it the optimizer's state (``keras_optimizer``) where the layouts agree.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import warnings
import zipfile

from .keras_config import KerasConfigError, build_model
from .keras_h5 import _h5py, assign, read_weights, write_weights
from .keras_optimizer import read_optimizer, write_optimizer

KERAS_VERSION = "3.15.1"  # the Keras release whose archive layout this follows
_MEMBERS = ("config.json", "model.weights.h5")


def _json(raw, path: str, what: str):
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as err:
        raise ValueError(f"file {path}: {what} is not valid JSON ({err})") from None


def _open_h5(source, path: str, what: str):
    h5py = _h5py()
    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as err:
        raise ValueError(f"file {path}: {what} is not a readable HDF5 file (corrupt or "
                         f"truncated: {err})") from None


def _build(spec, path: str):
    problems: list = []
    try:
        model = build_model(spec, problems)
    except (KeyError, IndexError, TypeError, AttributeError) as err:
        raise ValueError(f"file {path}: the model config is malformed ({type(err).__name__}: "
                         f"{err})") from None
    except ValueError as err:  # a layer refused its input shape, or similar
        raise ValueError(f"file {path}: the Keras model cannot be built: {err}") from None
    if problems:
        raise KerasConfigError(f"file {path}: the Keras model uses what stridenet does not "
                               f"have ({len(problems)}):\n  " + "\n  ".join(problems))
    return model


def _named(spec):
    """A Keras object spec (string or {"class_name", "config"}) -> what compile() takes."""
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        from .. import losses, metrics

        name = spec.get("class_name")
        cfg = {k: v for k, v in (spec.get("config") or {}).items() if k not in ("dtype",)}
        for module in (losses, metrics):
            cls = getattr(module, str(name), None)
            if isinstance(cls, type):
                return cls(**cfg)
    raise ValueError(f"{spec!r} is not a loss or metric stridenet has")


def _metrics(spec) -> list:
    if spec is None:
        return []
    if isinstance(spec, dict) and "class_name" not in spec:
        raise ValueError("per-output metrics are not supported")
    items = spec if isinstance(spec, list) else [spec]
    out = []
    for m in items:
        out += _metrics(m) if isinstance(m, list) else [_named(m)]
    return out


def _restore_compile(model, cfg: dict, path: str) -> None:
    """compile() from Keras 3 ``compile_config`` or Keras 2 ``training_config``."""
    from .. import optimizers

    opt = cfg.get("optimizer") or cfg.get("optimizer_config")
    try:
        if cfg.get("loss_weights") not in (None, [], {}):
            raise ValueError("loss_weights are not supported")
        optimizer = optimizers.deserialize({"class_name": opt["class_name"],
                                            "config": opt.get("config") or {}})
        model.compile(optimizer=optimizer, loss=_named(cfg.get("loss")),
                      metrics=_metrics(cfg.get("metrics")))
    except (ValueError, TypeError, KeyError, NotImplementedError) as err:
        warnings.warn(f"file {path}: the compile information was not restored ({err}); the "
                      f"model is returned uncompiled", stacklevel=4)


def _load_archive(path: str, compile: bool):  # noqa: A002 - Keras name
    if not zipfile.is_zipfile(path):
        raise ValueError(f"file {path} is not a Keras archive: not a zip file (corrupt or "
                         f"truncated?)")
    try:
        with zipfile.ZipFile(path) as zf:
            missing = [m for m in _MEMBERS if m not in zf.namelist()]
            if missing:
                raise ValueError(f"file {path} is not a complete Keras archive: {missing} "
                                 f"missing (it holds {zf.namelist()})")
            config = _json(zf.read("config.json"), path, "config.json")
            weights = zf.read("model.weights.h5")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as err:
        raise ValueError(f"file {path} is a corrupt Keras archive ({err})") from None
    if not isinstance(config, dict):
        raise ValueError(f"file {path}: config.json does not describe a model")
    model = _build(config, path)
    with _open_h5(io.BytesIO(weights), path, "model.weights.h5") as f:
        plan = read_weights(f, model, f"{path} (model.weights.h5)", legacy=False)
        assign(plan)
        if compile and config.get("compile_config"):
            _restore_compile(model, config["compile_config"], path)
            read_optimizer(f, model, path)
    return model


def _attr_json(f, key: str, path: str):
    raw = f.attrs.get(key)
    if raw is None:
        return None
    return _json(raw.decode() if isinstance(raw, bytes) else raw, path, f"attribute {key}")


def _load_h5(path: str, compile: bool):  # noqa: A002 - Keras name
    with _open_h5(path, path, "the file") as f:
        config = _attr_json(f, "model_config", path)
        if config is None:
            raise ValueError(f"file {path} holds no model_config (only weights?): build the "
                             f"model and call model.load_weights({path!r})")
        model = _build(config, path)
        plan = read_weights(f, model, path, legacy=True)
        training = _attr_json(f, "training_config", path)
    assign(plan)
    if compile and training:
        _restore_compile(model, training, path)
    return model


def load_keras_model(filepath, custom_objects=None, compile=True):  # noqa: A002 - Keras
    """A stridenet model from a Keras 3 ``.keras`` archive or a Keras 2 ``.h5`` file."""
    path = os.fspath(filepath)
    if custom_objects:
        raise ValueError("custom_objects cannot be used with Keras files: their layers are "
                         "matched to stridenet's own")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such Keras file: {path}")
    if path.lower().endswith(".keras"):
        return _load_archive(path, compile)
    return _load_h5(path, compile)


def load_keras_weights(model, filepath) -> None:
    """Keras weights (``.weights.h5`` of Keras 3, or a Keras 2 ``.h5``) into ``model``."""
    path = os.fspath(filepath)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such weights file: {path}")
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built: give it an Input before loading "
                         f"Keras weights")
    with _open_h5(path, path, "the file") as f:
        legacy = "layers" not in f and ("layer_names" in f.attrs or "model_weights" in f)
        plan = read_weights(f, model, path, legacy=legacy)
    assign(plan)


def _compile_config(model):
    cfg = getattr(model, "_compile_config", None)
    if cfg is None or model.optimizer is None:
        return None
    loss, metrics = cfg.get("loss"), cfg.get("metrics", [])
    if not (loss is None or isinstance(loss, str)) or not all(isinstance(m, str)
                                                              for m in metrics):
        warnings.warn("only losses and metrics given by name are saved in a Keras archive; "
                      "the compile information is left out", stacklevel=4)
        return None
    opt = model.optimizer
    return {"optimizer": {"module": "keras.optimizers", "class_name": type(opt).__name__,
                          "config": opt.get_config(), "registered_name": None},
            "loss": loss, "loss_weights": None, "metrics": metrics or None,
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": False}


def save_keras_model(model, filepath, overwrite=True) -> None:
    """Write ``model`` as a Keras 3 ``.keras`` archive (atomically)."""
    from .. import __version__
    from ..io import atomic_writer
    from .keras_out import keras_config

    path = os.fspath(filepath)
    if not path.lower().endswith(".keras"):
        raise ValueError(f"cannot save {path}: stridenet writes Keras models as .keras "
                         f"archives (Keras 3 reads them), not the legacy .h5 format")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists and overwrite=False")
    spec = keras_config(model)
    compiled = _compile_config(model)
    if compiled is not None:
        spec["compile_config"] = compiled
    h5py = _h5py()
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        write_weights(f, model)
        if compiled is not None:
            write_optimizer(f, model)
    meta = {"keras_version": KERAS_VERSION, "stridenet_version": __version__,
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("metadata.json", json.dumps(meta))
        zf.writestr("config.json", json.dumps(spec))
        zf.writestr("model.weights.h5", buf.getvalue())
    with atomic_writer(path) as f:
        f.write(out.getvalue())


def save_keras_weights(model, filepath, overwrite=True) -> None:
    """``model``'s weights in the Keras 3 ``.weights.h5`` layout (atomically)."""
    from ..io import atomic_writer

    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists and overwrite=False")
    h5py = _h5py()
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        write_weights(f, model)
    with atomic_writer(path) as f:
        f.write(buf.getvalue())
