"""Models travel: ONNX export, Keras ``.keras``/``.h5`` files in and out, PyTorch weights in.

This package sits above ``models`` and ``layers``: it may import both, and nothing below
imports it (``models/saving.py`` and ``Model.export`` reach it lazily, by file suffix).
The foreign libraries are optional: ``onnx`` for export (``pip install "stridenet[onnx]"``),
``h5py`` for Keras files (``pip install "stridenet[keras]"``). Reading a PyTorch ``.pt``
needs neither torch nor pickle's code execution (see ``torch_pickle``).

    export_onnx(model, "m.onnx")                 # model.export("m.onnx", format="onnx")
    load_keras_model("m.keras" or "m.h5")        # sn.models.load_model dispatches here
    save_keras_model(model, "m.keras")           # model.save("m.keras")
    load_torch_state_dict(model, "m.pt")         # sn.utils.load_torch_state_dict
"""

from __future__ import annotations


def export_onnx(model, filepath, opset_version=None, verbose=False):
    from .onnx_export import export_onnx as _export

    return _export(model, filepath, opset_version=opset_version, verbose=verbose)


def load_torch_state_dict(model, source, strict=True, torch_epsilon=1e-5):
    from .torch_weights import load_torch_state_dict as _load

    return _load(model, source, strict=strict, torch_epsilon=torch_epsilon)


def read_torch_file(filepath):
    from .torch_pickle import read_torch_file as _read

    return _read(filepath)


def load_keras_model(filepath, custom_objects=None, compile=True):  # noqa: A002 - Keras name
    from .keras_files import load_keras_model as _load

    return _load(filepath, custom_objects=custom_objects, compile=compile)


def save_keras_model(model, filepath, overwrite=True):
    from .keras_files import save_keras_model as _save

    return _save(model, filepath, overwrite=overwrite)


def save_keras_weights(model, filepath, overwrite=True):
    from .keras_files import save_keras_weights as _save

    return _save(model, filepath, overwrite=overwrite)


def load_keras_weights(model, filepath):
    from .keras_files import load_keras_weights as _load

    return _load(model, filepath)


__all__ = ["export_onnx", "load_keras_model", "load_keras_weights", "load_torch_state_dict",
           "read_torch_file", "save_keras_model", "save_keras_weights"]
