"""Activation functions by Keras name: ``get("relu")`` -> a callable on Tensors."""

from __future__ import annotations

from . import ops

_NAMES = ("relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax", "log_softmax", "gelu",
          "linear")


def _lookup(name: str):
    return getattr(ops, name)


def get(identifier):
    """None or "linear" -> identity; a name -> the op; a callable is returned as is."""
    if identifier is None:
        return _lookup("linear")
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _NAMES:
            raise ValueError(f"unknown activation {identifier!r}; known: {list(_NAMES)}")
        return _lookup(key)
    if callable(identifier):
        return identifier
    raise ValueError(f"cannot interpret {identifier!r} as an activation")


def serialize(fn) -> str:
    """The name under which ``get`` finds ``fn`` again."""
    for name in _NAMES:
        if fn is _lookup(name):
            return name
    name = getattr(fn, "__name__", None)
    if name in _NAMES:
        return name
    raise ValueError(f"activation {fn!r} has no registered name and cannot be saved")
