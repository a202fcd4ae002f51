"""Optimizer state in a Keras 3 weights file: ``optimizer/vars/<i>``.

Keras keeps ``iterations`` and ``learning_rate``, then each trainable variable's slots
(Adam: momentum, velocity; SGD with momentum: momentum), variable by variable in the
order of ``model.trainable_variables`` (layer order as Keras lists the layers). stridenet's
optimizers use the same slot names, so the state moves both ways and training resumes
where it stopped. Optimizers whose Keras slot order is not this simple (RMSprop, AMSGrad,
learning-rate schedules) are left out: Keras and stridenet then start them fresh.
"""

from __future__ import annotations

import warnings

import numpy as np

from .keras_h5 import _is_model, keras_paths


def keras_slot_names(opt):
    """The slots per variable in Keras's order, or None when the order is not known."""
    if opt is None or callable(getattr(opt, "_learning_rate", None)):
        return None
    kind = type(opt).__name__
    if kind in ("Adam", "AdamW") and not getattr(opt, "amsgrad", False):
        return ("momentum", "velocity")
    if kind == "SGD":
        return ("momentum",) if opt.momentum else ()
    return None


def keras_trainable(model) -> list:
    """``model.trainable_variables`` in Keras's order."""
    return [w for _, layer in keras_paths(model) if not _is_model(layer)
            for w in layer._own_weights if w.trainable]


def write_optimizer(f, model) -> None:
    opt = getattr(model, "optimizer", None)
    names = keras_slot_names(opt)
    if names is None:
        return
    state = opt.get_state()
    index = {id(v): i for i, v in enumerate(opt.variables)}
    arrays = [np.array(int(opt.iterations), np.int64),
              np.array(float(opt.learning_rate), np.float32)]
    for var in keras_trainable(model):
        i = index.get(id(var))
        for n in names:
            slot = state.get(f"{n}/{i}") if i is not None else None
            arrays.append(np.zeros(var.shape, var.data.dtype) if slot is None else slot)
    group = f.create_group("optimizer/vars")
    group.attrs["name"] = opt.name
    for i, arr in enumerate(arrays):
        group.create_dataset(str(i), data=arr)


def read_optimizer(f, model, path: str) -> None:
    """Restore the compiled ``model``'s optimizer state from ``optimizer/vars``, when the
    file holds it in the layout this optimizer has; otherwise it starts fresh (warning)."""
    opt = getattr(model, "optimizer", None)
    if opt is None or "optimizer" not in f or "vars" not in f["optimizer"]:
        return
    group = f["optimizer/vars"]
    keys = sorted(group.keys(), key=lambda k: int(k) if k.isdigit() else 10**9)
    names = keras_slot_names(opt)
    variables = keras_trainable(model)
    if names is None or len(keys) != 2 + len(names) * len(variables):
        warnings.warn(f"file {path}: the {type(opt).__name__} state ({len(keys)} arrays) does "
                      f"not match stridenet's layout; the optimizer starts fresh", stacklevel=4)
        return
    arrays = [np.asarray(group[k][()]) for k in keys]
    state = {"iterations": arrays[0].astype(np.int64), "learning_rate": arrays[1]}
    k = 2
    for i, var in enumerate(variables):
        for n in names:
            if arrays[k].shape != tuple(var.shape):
                warnings.warn(f"file {path}: optimizer/vars/{keys[k]} has shape "
                              f"{arrays[k].shape}, not that of {var.name} {var.shape}; the "
                              f"optimizer starts fresh", stacklevel=4)
                return
            state[f"{n}/{i}"] = arrays[k]
            k += 1
    opt.build(variables)  # slots numbered in Keras's variable order
    opt.set_state(state)
