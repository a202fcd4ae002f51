"""Optimizer state in a Keras 3 weights file: ``optimizer/vars/<i>``.

Keras keeps ``iterations`` and ``learning_rate``, then the slots in the order its
optimizer's ``build`` creates them, over ``model.trainable_variables`` (layer order as
Keras lists the layers). Each ``add_optimizer_variables`` call is one group: a group of
several slot names interleaves them variable by variable (Adam: momentum, velocity of the
first variable, then of the second...), and groups follow one another (Adam with AMSGrad:
then every velocity_hat; RMSprop: every velocity, then every momentum when momentum > 0,
then every average_gradient when centered; SGD with momentum: every momentum). stridenet's
optimizers use the same slot names, so the state moves both ways and training resumes
where it stopped. With a learning-rate schedule the file's layout is not this one: both
then start the optimizer fresh.
"""

from __future__ import annotations

import warnings

import numpy as np

from .keras_h5 import _is_model, keras_paths


def keras_slot_groups(opt):
    """Keras's slot groups (see the module docstring) as tuples of slot names, or None
    when the layout is not known."""
    if opt is None or callable(getattr(opt, "_learning_rate", None)):
        return None
    kind = type(opt).__name__
    if kind in ("Adam", "AdamW"):
        return [("momentum", "velocity")] + ([("velocity_hat",)] if opt.amsgrad else [])
    if kind == "RMSprop":
        return ([("velocity",)] + ([("momentum",)] if opt.momentum > 0 else [])
                + ([("average_gradient",)] if opt.centered else []))
    if kind == "SGD":
        return [("momentum",)] if opt.momentum else []
    return None


def _slot_order(groups, n_vars):
    """(variable index, slot name) of each slot array in the file, in order."""
    return [(i, n) for group in groups for i in range(n_vars) for n in group]


def keras_trainable(model) -> list:
    """``model.trainable_variables`` in Keras's order."""
    return [w for _, layer in keras_paths(model) if not _is_model(layer)
            for w in layer._own_weights if w.trainable]


def write_optimizer(f, model) -> None:
    opt = getattr(model, "optimizer", None)
    groups = keras_slot_groups(opt)
    if groups is None:
        return
    state = opt.get_state()
    index = {id(v): i for i, v in enumerate(opt.variables)}
    arrays = [np.array(int(opt.iterations), np.int64),
              np.array(float(opt.learning_rate), np.float32)]
    variables = keras_trainable(model)
    for k, n in _slot_order(groups, len(variables)):
        var = variables[k]
        i = index.get(id(var))
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
    groups = keras_slot_groups(opt)
    variables = keras_trainable(model)
    order = _slot_order(groups or [], len(variables))
    if groups is None or len(keys) != 2 + len(order):
        warnings.warn(f"file {path}: the {type(opt).__name__} state ({len(keys)} arrays) does "
                      f"not match stridenet's layout; the optimizer starts fresh", stacklevel=4)
        return
    arrays = [np.asarray(group[k][()]) for k in keys]
    state = {"iterations": arrays[0].astype(np.int64), "learning_rate": arrays[1]}
    for k, (i, n) in enumerate(order, start=2):
        var = variables[i]
        if arrays[k].shape != tuple(var.shape):
            warnings.warn(f"file {path}: optimizer/vars/{keys[k]} has shape "
                          f"{arrays[k].shape}, not that of {var.name} {var.shape}; the "
                          f"optimizer starts fresh", stacklevel=4)
            return
        state[f"{n}/{i}"] = arrays[k]
    opt.build(variables)  # slots numbered in Keras's variable order
    opt.set_state(state)
