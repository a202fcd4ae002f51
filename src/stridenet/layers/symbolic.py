"""Symbolic tensors: placeholders that record a functional model's graph.

``Input(shape)`` returns a ``SymbolicTensor``; calling a layer on symbolic tensors
builds the layer, works out the output shape and returns a new SymbolicTensor that
remembers (layer, inputs). ``Model(inputs, outputs)`` replays that graph on data.
"""

from __future__ import annotations

from .. import config


class SymbolicTensor:
    """A tensor known only by shape (batch axis None) and by how it will be computed."""

    def __init__(self, shape, dtype=None, layer=None, inputs=(), kwargs=None, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype or config.floatx()
        self.layer = layer  # the layer that produces it (an InputLayer for model inputs)
        self.inputs = tuple(inputs)  # the SymbolicTensors it was computed from
        self.kwargs = kwargs or {}
        self.name = name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        by = f" from {self.layer.name}" if self.layer is not None else ""
        return f"<SymbolicTensor shape={self.shape}{by}>"


def flatten_structure(x) -> list:
    """A single item or a (nested) list/tuple of items -> a flat list."""
    if isinstance(x, list | tuple):
        out = []
        for e in x:
            out.extend(flatten_structure(e))
        return out
    return [x]


def is_symbolic(x) -> bool:
    return any(isinstance(e, SymbolicTensor) for e in flatten_structure(x))
