"""Optimizers (Keras 3 names, defaults and update rules) and learning-rate schedules.

    opt = sn.optimizers.get("adam")                        # or an instance, or a config dict
    opt.apply(grads, variables)                            # Keras
    opt.apply_gradients(zip(grads, variables))             # Keras (tf.keras form)
    opt.step(params)                                       # PyTorch form: uses each .grad
"""

from __future__ import annotations

from . import schedules
from .adam import Adam, AdamW
from .optimizer import Optimizer, clip_by_global_norm, clip_by_norm
from .rmsprop import RMSprop
from .sgd import SGD

_BY_NAME = {cls.__name__.lower(): cls for cls in (SGD, Adam, AdamW, RMSprop)}


def serialize(optimizer: Optimizer) -> dict:
    """``{"class_name": ..., "config": ...}``."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"expected an Optimizer, got {optimizer!r}")
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> Optimizer:
    """The optimizer described by ``serialize``'s output (class names case-insensitive)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("an optimizer config needs 'class_name' (and optionally 'config'), "
                         f"got {config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _BY_NAME.get(str(name).lower())
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}; known: {sorted(_BY_NAME)}")
    return cls.from_config(dict(config.get("config") or {}), custom_objects)


def get(identifier) -> Optimizer | None:
    """An optimizer from a name ("sgd", "adam", "adamw", "rmsprop"; any case), a config
    dict (``serialize``'s form) or an instance (returned as is). None gives None.
    """
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}; known: {sorted(_BY_NAME)}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"cannot interpret {identifier!r} as an optimizer")


__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "clip_by_global_norm",
           "clip_by_norm", "deserialize", "get", "schedules", "serialize"]
