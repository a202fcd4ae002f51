"""The graph behind a functional model: symbolic tensors in execution order."""

from __future__ import annotations

from ..layers.input_layer import InputLayer
from ..layers.symbolic import SymbolicTensor, flatten_structure


def topological_nodes(inputs: list, outputs: list) -> list[SymbolicTensor]:
    """Every SymbolicTensor between ``inputs`` and ``outputs``, each after its inputs."""
    input_ids = {id(t) for t in inputs}
    order, seen = [], set()
    stack = [(t, False) for t in reversed(outputs)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        if id(t) in input_ids:
            continue
        if isinstance(t.layer, InputLayer) or t.layer is None:
            raise ValueError(
                f"output depends on {t!r}, which is not among the model's inputs"
            )
        stack.append((t, True))
        for parent in reversed(t.inputs):
            stack.append((parent, False))
    return order


def graph_layers(inputs: list, nodes: list) -> list:
    """Input layers first, then each layer once, in execution order (Keras model.layers)."""
    out = []
    for t in [*inputs, *nodes]:
        if t.layer is not None and all(t.layer is not l for l in out):
            out.append(t.layer)
    return out


def run_graph(inputs: list, nodes: list, outputs: list, values: list, training: bool):
    """Evaluate the graph on concrete ``values`` (one per input)."""
    env = {id(sym): v for sym, v in zip(inputs, values)}
    # drop each value after its last use, so that what backward does not need is freed
    # during the forward pass already (the tape keeps only what the ops saved)
    last_use = {id(p): i for i, node in enumerate(nodes) for p in node.inputs}
    keep = {id(o) for o in outputs}
    for i, node in enumerate(nodes):
        args = [env[id(p)] for p in node.inputs]
        arg = args if len(args) > 1 else args[0]
        env[id(node)] = node.layer(arg, training=training, **{
            k: v for k, v in node.kwargs.items() if k != "training"})
        del args, arg
        for p in node.inputs:
            if last_use.get(id(p)) == i and id(p) not in keep:
                env.pop(id(p), None)
    return [env[id(o)] for o in outputs]


def adjusted_shape(expected, got) -> tuple:
    """The shape a model sees for data of shape ``got`` against its declared ``expected``,
    by Keras 3's rank rule: one axis short, and the declared last axis has size 1 -> that
    axis is added, (N, 28, 28) -> (N, 28, 28, 1); one axis too many, and the data's last
    axis has size 1 -> it is dropped. Any other shape is returned as it is."""
    got = tuple(got)
    if len(got) == len(expected) - 1 and expected[-1] == 1:
        return (*got, 1)
    if len(got) == len(expected) + 1 and got[-1] == 1:
        return got[:-1]
    return got


def check_input_shape(owner: str, label: str, expected, got) -> tuple:
    """``got`` (a concrete shape), after ``adjusted_shape``, must match ``expected`` (a
    declared input shape) in rank and in every dimension after the batch axis that is not
    None (None: any size). -> the adjusted shape."""
    got = tuple(got)
    shape = adjusted_shape(expected, got)
    if len(shape) != len(expected) or any(
            e is not None and e != g for e, g in zip(expected[1:], shape[1:])):
        hint = ""
        if shape != got:
            hint = f" (read as {shape})"
        elif len(got) == len(expected) - 1:
            hint = (" (a missing last axis is added only when its declared size is 1; "
                    "reshape the data to the declared rank)")
        raise ValueError(f"{owner}: input {label}expects shape {tuple(expected)}, got "
                         f"{got}{hint}")
    return shape


def adjust_input(owner: str, label: str, expected, value):
    """``value`` (a Tensor) checked against ``expected`` and reshaped to the adjusted
    shape when ``adjusted_shape`` adds or drops a trailing axis of size 1."""
    shape = check_input_shape(owner, label, expected, value.shape)
    return value if shape == tuple(value.shape) else value.reshape(*shape)  # (N, ..., 1)


def propagate_shapes(inputs: list, nodes: list, outputs: list, shapes: list):
    env = {id(sym): tuple(s) for sym, s in zip(inputs, shapes)}
    for node in nodes:
        args = [env[id(p)] for p in node.inputs]
        env[id(node)] = node.layer.compute_output_shape(args if len(args) > 1 else args[0])
    return [env[id(o)] for o in outputs]


__all__ = ["adjust_input", "adjusted_shape", "check_input_shape", "flatten_structure",
           "graph_layers", "propagate_shapes", "run_graph", "topological_nodes"]
