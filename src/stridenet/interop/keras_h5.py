"""Keras weights in HDF5: the Keras 3 layout (``model.weights.h5`` in a .keras archive, and
``.weights.h5`` files) and the legacy Keras 2 one (``.h5`` full-model and weight files).

Keras 3 (SPEC section 7): ``layers/<snake_case class>[_N]/vars/<i>``, numbered per class in
the order of ``model.layers`` (nested models add their own ``layers/``), the user's layer
name in the ``name`` attribute of ``vars``. Keras 2: ``[model_weights/]<layer>/`` with a
``weight_names`` attribute listing ``<layer>/<weight>:0`` datasets in order.

Every layer's arrays are checked against the model (count and shapes) before any weight
is assigned, so a file that does not fit leaves the model as it was.
"""

from __future__ import annotations

import numpy as np

from .keras_config import keras_snake


def _h5py():
    try:
        import h5py
    except ImportError as err:
        raise ImportError('reading and writing Keras files needs the h5py package: pip install '
                          '"stridenet[keras]"') from err
    return h5py


def _is_model(layer) -> bool:
    return hasattr(layer, "_stack") or getattr(layer, "_functional", False)


def keras_paths(model, prefix="layers") -> list:
    """[(path, layer)] as Keras names each layer's group (models opened, depth first)."""
    from .keras_out import keras_layer_order

    used: dict[str, int] = {}
    out = []
    layers = keras_layer_order(model) if getattr(model, "_functional", False) else model.layers
    for layer in layers:
        name = keras_snake(type(layer).__name__ if not getattr(layer, "_functional", False)
                           else "Functional")
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        path = f"{prefix}/{name}"
        out.append((path, layer))
        if _is_model(layer):
            out += keras_paths(layer, f"{path}/layers")
    return out


def _read_vars(group) -> list:
    """The arrays vars/0, vars/1, ... of a Keras 3 layer group, in order."""
    if "vars" not in group:
        return []
    vars_ = group["vars"]
    keys = sorted(vars_.keys(), key=lambda k: int(k) if k.isdigit() else 10**9)
    return [(f"{vars_.name}/{k}", vars_[k]) for k in keys]


def _keras3_arrays(f, model, path: str) -> dict:
    """{stridenet layer: [(dataset path, dataset)]} from a Keras 3 weights file."""
    if "layers" not in f:
        raise ValueError(f"file {path} has no 'layers' group: not a Keras 3 weights file")
    by_name = {}

    def collect(group):
        for key in group:
            sub = group[key]
            if "vars" in sub and "name" in sub["vars"].attrs:
                by_name.setdefault(str(sub["vars"].attrs["name"]), sub)
            if "layers" in sub:
                collect(sub["layers"])

    collect(f["layers"])
    pairs = [(p, l) for p, l in keras_paths(model) if not _is_model(l)]
    weighted = [(p, l) for p, l in pairs if l._own_weights]
    use_names = all(l.name in by_name for _, l in weighted)
    out = {}
    for p, layer in pairs:
        group = by_name.get(layer.name) if use_names else (f[p] if p in f else None)
        if group is None:
            if layer._own_weights:
                raise ValueError(f"file {path} has no weights for layer {layer.name!r} "
                                 f"({type(layer).__name__}; looked for group {p})")
            continue
        out[layer] = _read_vars(group)
    return out


def _legacy_arrays(root, model, path: str) -> dict:
    """{stridenet layer: [(dataset path, dataset)]} from a Keras 2 weights group."""
    names = [n.decode() if isinstance(n, bytes) else str(n)
             for n in root.attrs.get("layer_names", [])]
    out = {}
    for layer in model._all_layers()[1:]:
        if _is_model(layer):
            continue
        if layer.name not in names:
            if layer._own_weights:
                raise ValueError(f"file {path} has no weights for layer {layer.name!r} "
                                 f"({type(layer).__name__}); it holds {names}")
            continue
        group = root[layer.name]
        wnames = [n.decode() if isinstance(n, bytes) else str(n)
                  for n in group.attrs.get("weight_names", [])]
        items = []
        for wn in wnames:
            if wn not in group:
                raise ValueError(f"file {path}: layer {layer.name!r} lists weight {wn!r} but "
                                 f"the dataset {group.name}/{wn} is missing")
            items.append((f"{group.name}/{wn}", group[wn]))
        out[layer] = items
    return out


def read_weights(f, model, path: str, legacy: bool) -> list:
    """[(variable, array)] for every weight of ``model``, all checked; raises ValueError."""
    h5py = _h5py()
    if legacy:
        root = f["model_weights"] if "model_weights" in f else f
        found = _legacy_arrays(root, model, path)
    else:
        found = _keras3_arrays(f, model, path)
    plan = []
    for layer, items in found.items():
        own = layer._own_weights
        if len(items) != len(own):
            raise ValueError(f"file {path}: layer {layer.name!r} ({type(layer).__name__}) has "
                             f"{len(items)} weight arrays in the file ({[p for p, _ in items]}) "
                             f"but {len(own)} in the model ({[v.name for v in own]})")
        for var, (dpath, ds) in zip(own, items):
            if not isinstance(ds, h5py.Dataset):
                raise ValueError(f"file {path}: {dpath} is not a dataset")
            if tuple(ds.shape) != tuple(var.shape):
                raise ValueError(f"file {path}: dataset {dpath} has shape {tuple(ds.shape)} "
                                 f"but weight {var.name!r} needs {tuple(var.shape)}")
            try:
                arr = np.asarray(ds[()])
            except (OSError, ValueError, TypeError) as err:
                raise ValueError(f"file {path}: dataset {dpath} cannot be read ({err})"
                                 ) from None
            if arr.dtype.kind not in "fiub":
                raise ValueError(f"file {path}: dataset {dpath} holds {arr.dtype}, not numbers")
            plan.append((var, arr))
    return plan


def assign(plan: list) -> None:
    for var, arr in plan:
        var.assign(np.asarray(arr, dtype=var.data.dtype))


def write_weights(f, model) -> None:
    """The Keras 3 layout of ``model``'s weights into the open h5py File ``f``."""
    f.create_group("vars").attrs["name"] = model.name
    f.create_group("layers")
    for path, layer in keras_paths(model):
        vars_ = f.create_group(f"{path}/vars")
        vars_.attrs["name"] = layer.name
        if _is_model(layer):
            continue
        for i, var in enumerate(layer._own_weights):
            vars_.create_dataset(str(i), data=np.asarray(var.data))
