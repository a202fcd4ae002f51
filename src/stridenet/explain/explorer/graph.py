"""A model as a list of layer nodes, run layer by layer on a batch of images.

Sequential models become a chain; functional models keep their graph (Add and
Concatenate nodes have several parents). Every node's output is the array the layer's
own ``call`` returns -- the same stridenet ops ``model.predict`` runs, in the same
order, on the same batch -- so the last node equals ``model.predict(x, batch_size=N)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(eq=False)
class Node:
    """One layer application. ``out``: (N, ...) float array, the layer's output."""

    index: int
    name: str
    layer: object  # None for the model input
    parents: list  # indices of the nodes feeding this one, in call order
    out: np.ndarray | None = None
    notes: list = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "Input" if self.layer is None else type(self.layer).__name__


def model_nodes(model) -> list[Node]:
    """The nodes of a Sequential or single-input functional model, inputs before users."""
    if not hasattr(model, "layers") or not callable(getattr(model, "predict", None)):
        raise TypeError(f"explore: model must be a stridenet model, got {type(model).__name__}")
    if getattr(model, "_functional", False):
        inputs, graph = model._inputs, model._nodes
        if len(inputs) != 1:
            raise ValueError(f"explore: model {model.name!r} has {len(inputs)} inputs; the "
                             "explorer draws single-input models")
        nodes = [Node(0, "input", None, [])]
        where = {id(inputs[0]): 0}
        for sym in graph:
            nodes.append(Node(len(nodes), sym.layer.name, sym.layer,
                              [where[id(p)] for p in sym.inputs]))
            where[id(sym)] = len(nodes) - 1
        return nodes
    layers = list(model.layers)
    if not layers:
        raise ValueError(f"explore: model {model.name!r} has no layers")
    nodes = [Node(0, "input", None, [])]
    for layer in layers:
        nodes.append(Node(len(nodes), layer.name, layer, [len(nodes) - 1]))
    return nodes


def input_shape(model) -> tuple | None:
    """The per-image input shape the model was built for (without the batch axis)."""
    inputs = getattr(model, "_inputs", None)
    if inputs:
        return tuple(inputs[0].shape[1:])
    shape = getattr(model, "_input_shape", None)
    return None if shape is None else tuple(shape[1:])


def run_nodes(model, nodes: list[Node], x: np.ndarray) -> list[Node]:
    """Fill ``node.out`` for every node: x (N, ...) through each layer in inference mode."""
    from ...autograd import no_grad
    from ...ops.kernels.parallel import blas_single_threaded

    nodes[0].out = x
    with no_grad(), blas_single_threaded():  # as predict runs
        for node in nodes[1:]:
            args = [nodes[p].out for p in node.parents]
            y = node.layer(args if len(args) > 1 else args[0], training=False)
            try:
                node.out = (None if isinstance(y, tuple | list | dict) else
                            np.asarray(y.numpy() if hasattr(y, "numpy") else y))
            except (TypeError, ValueError):
                node.out = None
            if node.out is None or node.out.dtype.kind not in "biuf" or node.out.ndim < 1:
                raise ValueError(f"explore: layer {node.name!r} ({node.kind}) returned "
                                 f"{type(y).__name__}, not one array: the explorer draws "
                                 "layers with a single array output")
    return nodes


__all__ = ["Node", "input_shape", "model_nodes", "run_nodes"]
