"""From a model to the steps of an inference plan (``plan_steps.py``).

The graph is read as nodes in execution order -- a Sequential's stack, or a functional
model's ``topological_nodes`` -- each node a layer, the slots it reads and the slot it
writes (slot = one value of the graph; the model inputs come first). One eager pass over
a single image, layer by layer, records the shape and dtype of every slot.

Each node becomes a step; a batch norm or an activation whose input is used by nothing
else and written by a step that owns its buffer joins that step's epilogue instead, and
runs in place on it (conv -> bias -> batch norm -> relu is one step). Layers the planner
does not know become ``Eager`` steps.
"""

from __future__ import annotations

import math

from .. import layers as L
from .. import ops
from ..autograd import Tensor, no_grad
from . import plan_steps as S

# Layer kinds whose eager forward treats each image on its own (the plan may cut the
# batch into chunks around them); any other unknown layer runs on the whole batch at once.
PER_SAMPLE = tuple(getattr(L, name) for name in (
    "Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
    "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", "MaxPooling1D",
    "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D",
    "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D", "Permute",
    "LayerNormalization", "LeakyReLU", "ELU", "Softmax", "PReLU", "Activation", "ReLU",
    "Dense", "BatchNormalization", "Rescaling", "Add", "Concatenate", "Flatten", "Reshape",
) if hasattr(L, name))


class Node:
    __slots__ = ("layer", "inputs", "output", "kwargs")

    def __init__(self, layer, inputs, output, kwargs=None):
        self.layer, self.inputs, self.output = layer, list(inputs), output
        self.kwargs = dict(kwargs or {})


def graph(model):
    """-> (nodes, number of inputs, output slots) of a Sequential or functional model."""
    from .sequential import Sequential

    if isinstance(model, Sequential):
        nodes = [Node(layer, [i], i + 1) for i, layer in enumerate(model._stack)]
        return nodes, 1, [len(nodes)]
    slots = {id(sym): i for i, sym in enumerate(model._inputs)}
    nodes = []
    for node in model._nodes:
        slot = len(slots)
        nodes.append(Node(node.layer, [slots[id(p)] for p in node.inputs], slot,
                          {k: v for k, v in node.kwargs.items() if k != "training"}))
        slots[id(node)] = slot
    return nodes, len(model._inputs), [slots[id(o)] for o in model._outputs]


def trace(nodes, n_inputs, xs):
    """One eager pass over ``xs`` (a few images): the (per-image shape, dtype) of each slot."""
    values = {i: Tensor._from_array(x) for i, x in enumerate(xs)}
    with no_grad():
        for node in nodes:
            args = [values[i] for i in node.inputs]
            values[node.output] = node.layer(args if len(args) > 1 else args[0],
                                             training=False, **node.kwargs)
    return {i: (tuple(v.data.shape[1:]), v.data.dtype) for i, v in values.items()}


def _activation_of(layer):
    """The activation op of an Activation / ReLU / Softmax layer the epilogue can run, or
    None."""
    if type(layer) is L.Activation:
        fn = layer.activation
    elif type(layer) is L.ReLU:
        if layer.max_value is not None or layer.negative_slope or layer.threshold:
            return None
        fn = ops.relu
    elif type(layer) is L.Softmax and layer.axis == -1:
        fn = ops.softmax
    else:
        return None
    return fn if fn in S.ACTIVATIONS else None


def _bn_usable(layer, rank) -> bool:
    return type(layer) is L.BatchNormalization and layer.axis in (-1, rank - 1)


def _step(node, info):
    """The step for one node (no fusion), or an Eager step."""
    layer, shape, dtype = node.layer, *info[node.output]
    args = (node.inputs, node.output, shape, dtype)
    in_shape = info[node.inputs[0]][0]
    kind = type(layer)
    if not node.kwargs:
        if kind in (L.Conv1D, L.Conv2D) and layer.groups == 1 \
                and layer.activation in S.ACTIVATIONS:
            step = S.Conv(*args, layer, in_shape)
            return _with_activation(step, layer.activation)
        if kind is L.Dense and layer.activation in S.ACTIVATIONS:
            return _with_activation(S.Dense(*args, layer), layer.activation)
        if kind in (L.MaxPooling2D, L.AveragePooling2D) and layer.padding == "valid":
            return S.Pool(*args, layer)
        if kind in (L.GlobalAveragePooling1D, L.GlobalAveragePooling2D,
                    L.GlobalAveragePooling3D):
            return S.GlobalAverage(*args, layer)
        if kind in (L.Flatten, L.Reshape):
            return S.View(*args)
        if kind is L.Add:
            return S.Add(*args)
        if kind is L.Concatenate:
            return S.Concatenate(*args, layer)
        if _bn_usable(layer, len(in_shape) + 1):
            return S.Elementwise(*args, S.BatchNorm(layer))
        fn = _activation_of(layer)
        if fn is not None:
            return S.Elementwise(*args, S.Act(fn))
    per_sample = isinstance(layer, PER_SAMPLE) and not isinstance(layer, _model_class())
    return S.Eager(*args, layer, node.kwargs, per_sample)


def _model_class():
    from .model import Model

    return Model


def _with_activation(step, fn):
    if S.ACTIVATIONS[fn] is not None:
        step.epilogue.append(S.Act(fn))
    return step


def compile_steps(nodes, info, outputs):
    """-> (steps, slot of each node's value): nodes fused into their producer share its slot."""
    uses = {}
    for node in nodes:
        for i in node.inputs:
            uses[i] = uses.get(i, 0) + 1
    for o in outputs:
        uses[o] = uses.get(o, 0) + 1
    where = {}  # node slot -> physical slot
    producer = {}  # physical slot -> the step that writes it
    steps = []
    for node in nodes:
        node.inputs = [where.get(i, i) for i in node.inputs]
        if len(node.inputs) == 1 and not node.kwargs:
            src = node.inputs[0]
            prev = producer.get(src)
            fusable = prev is not None and prev.owns_output and uses.get(src, 0) == 1 \
                and info[node.output] == (prev.shape, prev.dtype)
            op = None
            if _bn_usable(node.layer, len(prev.shape) + 1 if prev else 0) and fusable \
                    and not any(isinstance(e, S.Act) for e in prev.epilogue):
                op = S.BatchNorm(node.layer)
            elif fusable and type(node.layer) is L.Dropout:
                op = "identity"
            elif fusable and _activation_of(node.layer) is not None:
                fn = _activation_of(node.layer)
                op = S.Act(fn) if S.ACTIVATIONS[fn] is not None else "identity"
            if op is not None:
                if op != "identity":
                    prev.epilogue.append(op)
                where[node.output] = src
                uses[src] = uses.get(node.output, 0)
                continue
        if type(node.layer) is L.Dropout and not node.kwargs:  # inference: the identity
            where[node.output] = node.inputs[0]
            uses[node.inputs[0]] += uses.get(node.output, 0) - 1
            continue
        step = _step(node, info)
        steps.append(step)
        producer[node.output] = step
    return steps, where


def split_logits(steps, outputs, info):
    """A final softmax or sigmoid run in place on a model output becomes a step of its own,
    so that the plan also has the logits behind it (the losses use them, as they do with
    ``ops.softmax``'s output). -> (output slots, {output index: (kind, logits slot)})."""
    producer = {step.output: step for step in steps}
    outs, logits = list(outputs), {}
    for k, slot in enumerate(outputs):
        step = producer.get(slot)
        last = step.epilogue[-1] if step is not None and step.epilogue else None
        kind = {ops.softmax: "softmax", ops.sigmoid: "sigmoid"}.get(getattr(last, "op", None))
        if kind is None or not step.owns_output or any(slot in st.inputs for st in steps):
            continue
        step.epilogue.pop()
        new = max(info) + 1
        info[new] = info[slot]
        extra = S.Elementwise([slot], new, *info[slot], last)
        steps.insert(steps.index(step) + 1, extra)
        producer[new] = extra
        outs[k], logits[k] = new, (kind, slot)
    return outs, logits


def assign_buffers(steps, keep):
    """Give each step that writes a buffer one, reusing the buffers of values no later
    step reads (as a register allocator would), so a chunk's working set is a few
    buffers instead of one per layer. ``keep``: slots read after the last step (outputs).

    A View's output, and an Eager step's (a layer may return its input), live in their
    inputs' buffers: those stay alive as long as the view is read. Zero-bordered input
    buffers of convolutions are shared between convolutions with the same padded shape
    and padding (the border stays zero; only the interior is written). Sets ``buf`` and
    ``pad_buf`` of each step; -> [(elements per image, dtype, fill)] per buffer."""
    until = {s: len(steps) for s in keep}  # slot -> index of the last step reading it
    for i, st in enumerate(steps):
        for s in st.inputs:
            until[s] = max(until.get(s, -1), i)
    for st in reversed(steps):  # a view keeps its input's buffer alive
        if not st.writes_buffer():
            for s in st.inputs:
                until[s] = max(until.get(s, -1), until.get(st.output, -1))
    specs, free, busy, padded = [], [], [], {}
    for i, st in enumerate(steps):
        for entry in [b for b in busy if b[0] < i]:  # values dead before this step
            busy.remove(entry)
            free.append(entry[1])
        if st.writes_buffer():
            same = [b for b in free if specs[b][1] == st.dtype]
            if same:  # the smallest that fits, else the largest (grown)
                fits = [b for b in same if specs[b][0] >= st.size]
                b = min(fits, key=lambda k: specs[k][0]) if fits else \
                    max(same, key=lambda k: specs[k][0])
                free.remove(b)
                specs[b] = (max(specs[b][0], st.size), st.dtype, None)
            else:
                b = len(specs)
                specs.append((st.size, st.dtype, None))
            st.buf = b
            busy.append((until.get(st.output, i), b))
        pad = st.padded_input()
        if pad is not None:
            key = (pad[0], st.pads, st.dtype)
            if key not in padded:
                padded[key] = len(specs)
                specs.append((math.prod(pad[0]), st.dtype, 0))
            st.pad_buf = padded[key]
    return specs


_CLASSES: list = []  # (Model, Sequential), imported on first use (they import this module)


def plannable(model) -> bool:
    """Sequential and functional models whose ``call`` is the library's own."""
    if not _CLASSES:
        from .model import Model
        from .sequential import Sequential

        _CLASSES.extend((Model, Sequential))
    model_cls, sequential_cls = _CLASSES
    call = type(model).call
    if isinstance(model, sequential_cls):
        return call is sequential_cls.call
    return isinstance(model, model_cls) and model._functional and call is model_cls.call


def input_shapes(model, shapes):
    """The per-image shape each input is reshaped to (Keras's rank rule), from the model's
    declared input shapes; ``shapes`` are the data's."""
    from . import functional as G

    declared = model._declared_input_shapes()
    if not declared:
        return [tuple(s[1:]) for s in shapes]
    return [tuple(G.adjusted_shape(d, s)[1:]) for d, s in zip(declared, shapes)]


__all__ = ["PER_SAMPLE", "assign_buffers", "compile_steps", "graph", "input_shapes",
           "plannable", "split_logits", "trace"]
