"""The ONNX graph under construction: named values, their layout, nodes and constants.

stridenet computes channels last, ONNX convolutions and pooling channels first. Each
value remembers which of the two layouts it is held in; a converter asks for the layout
it needs (``as_first`` / ``as_last``) and a Transpose is added only when the layout
changes (and only once per value). Values of rank < 3 have no channel axis to move and
are always "last". The graph's inputs and outputs are channels last, as the model's.

    last  (N, d1, ..., dk, C)      first (N, C, d1, ..., dk)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LAST, FIRST = "last", "first"


def to_first_perm(rank: int) -> list[int]:
    """(N, d1..dk, C) -> (N, C, d1..dk)."""
    return [0, rank - 1, *range(1, rank - 1)]


def to_last_perm(rank: int) -> list[int]:
    """(N, C, d1..dk) -> (N, d1..dk, C)."""
    return [0, *range(2, rank), 1]


def axis_in(layout: str, axis: int, rank: int) -> int:
    """Where axis ``axis`` of the channels-last tensor sits in ``layout``."""
    axis %= rank
    if layout == LAST or rank < 3 or axis == 0:
        return axis
    return 1 if axis == rank - 1 else axis + 1


@dataclass
class Value:
    """A tensor of the ONNX graph: its name, layout and channels-last shape (batch None)."""

    name: str
    shape: tuple
    layout: str = LAST

    @property
    def rank(self) -> int:
        return len(self.shape)


class GraphBuilder:
    """Collects nodes and initializers; names are unique and readable (layer/op)."""

    def __init__(self, dtype=np.float32):
        from onnx import helper

        self.helper = helper
        self.dtype = np.dtype(dtype)
        self.nodes: list = []
        self.initializers: list = []
        self._names: set[str] = set()
        self._transposed: dict[tuple[str, str], Value] = {}

    def fresh(self, base: str) -> str:
        name, k = base, 0
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        return name

    def const(self, array, base: str, dtype=None) -> str:
        """An initializer holding ``array`` (float arrays in the graph's dtype)."""
        from onnx import numpy_helper

        arr = np.asarray(array)
        if dtype is not None:
            arr = arr.astype(dtype)
        elif arr.dtype.kind == "f":
            arr = arr.astype(self.dtype)
        name = self.fresh(base)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def ints(self, values, base: str) -> str:
        return self.const(np.asarray(values, dtype=np.int64), base, np.int64)

    def node(self, op: str, inputs: list, base: str, **attrs) -> str:
        """One node with one output; returns the output's name."""
        out = self.fresh(base)
        self.nodes.append(self.helper.make_node(op, list(inputs), [out],
                                                name=self.fresh(f"{base}/{op}"), **attrs))
        return out

    # -- layouts ----------------------------------------------------------------
    def as_layout(self, value: Value, layout: str) -> Value:
        if value.rank < 3 or value.layout == layout:
            return value
        key = (value.name, layout)
        if key not in self._transposed:
            perm = to_first_perm(value.rank) if layout == FIRST else to_last_perm(value.rank)
            out = self.node("Transpose", [value.name], f"{value.name}_{layout}", perm=perm)
            self._transposed[key] = Value(out, value.shape, layout)
        return self._transposed[key]

    def as_first(self, value: Value) -> Value:
        return self.as_layout(value, FIRST)

    def as_last(self, value: Value) -> Value:
        return self.as_layout(value, LAST)

    def unary(self, op: str, value: Value, base: str, **attrs) -> Value:
        """An elementwise op: the layout is kept."""
        return Value(self.node(op, [value.name], base, **attrs), value.shape, value.layout)
