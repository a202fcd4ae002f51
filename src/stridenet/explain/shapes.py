"""Output-size formulas with their numbers filled in, and a layer-by-layer shape walk.

Per spatial axis, with input size n, kernel k, stride s, dilation d and pads p0/p1:

    out = floor((n + p0 + p1 - d*(k-1) - 1) / s) + 1      (ceil in ceil_mode)

The value always comes from ``ops.kernels.geometry.output_size`` -- the function the
kernels use -- and the text shows the same arithmetic step by step.
"""

from __future__ import annotations

import math
import numbers

from ..ops.kernels.geometry import (
    as_tuple,
    effective_kernel,
    resolve_padding,
)
from ..ops.kernels.geometry import output_size as _geometry_output_size
from .trace import SizeFormula


def _span_text(k: int, d: int) -> str:
    """How the formula subtracts the window span: ``3`` or ``2*(3 - 1) - 1``."""
    return str(k) if d == 1 else f"{d}*({k} - 1) - 1"


def axis_formula(n: int, k: int, s: int = 1, p_before: int = 0, p_after: int = 0,
                 d: int = 1, ceil_mode: bool = False, axis: str = "n",
                 note: str = "") -> SizeFormula:
    """The output size of one axis and its filled-in formula."""
    value = _geometry_output_size(n, k, s, p_before, p_after, d, ceil_mode)
    inner = f"({n} + {p_before} + {p_after} - {_span_text(k, d)}) / {s}"
    span = n + p_before + p_after - effective_kernel(k, d)
    if span < 0:
        text = f"{n} + {p_before} + {p_after} < {effective_kernel(k, d)}: no window fits = 0"
    elif not ceil_mode:
        text = f"floor({inner}) + 1 = {value}"
    else:
        raw = -(-span // s) + 1
        text = f"ceil({inner}) + 1 = {raw}"
        if raw != value:
            text += (f", - 1 (the last window would start at {(raw - 1) * s}, past the input "
                     f"and the left padding) = {value}")
    return SizeFormula(axis, n, k, s, p_before, p_after, d, ceil_mode, value, text, note)


def padding_note(padding, n: int, k: int, s: int, d: int, pads: tuple) -> str:
    """How a padding mode turned into (before, after) for one axis."""
    if not isinstance(padding, str):
        return ""
    mode = padding.lower()
    keff = effective_kernel(k, d)
    if mode == "same":
        out = -(-n // s)
        keff_text = str(k) if d == 1 else f"({d}*({k} - 1) + 1)"
        total = max((out - 1) * s + keff - n, 0)
        return (f"'same': out = ceil({n} / {s}) = {out}; padding max(({out} - 1)*{s} + "
                f"{keff_text} - {n}, 0) = {total} -> {pads[0]} before, {pads[1]} after")
    if mode == "causal":
        return f"'causal': {d}*({k} - 1) = {keff - 1} before, 0 after"
    return ""


def output_size(n, kernel, strides=1, padding="valid", dilation=1, ceil_mode=False):
    """The output size of one spatial axis, with the formula filled in.

    >>> size = output_size(6, 3, strides=2, padding=1)
    >>> size.value, size.formula
    (3, 'floor((6 + 1 + 1 - 3) / 2) + 1 = 3')

    ``padding``: "valid", "same", "causal", an int, or a (before, after) pair.
    Returns a :class:`SizeFormula` (``value, formula = output_size(...)`` also works).
    """
    for v, name in ((n, "n"), (kernel, "kernel")):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
            raise ValueError(f"output_size: {name} must be a positive int, got {v!r}")
    (k,) = as_tuple(kernel, 1, "output_size: kernel")
    (s,) = as_tuple(strides, 1, "output_size: strides")
    (d,) = as_tuple(dilation, 1, "output_size: dilation")
    if isinstance(padding, list | tuple) and len(padding) == 2:
        padding = (tuple(padding),)  # one axis: (before, after)
    (pads,) = resolve_padding(padding, (int(n),), (k,), (s,), (d,), causal_ok=True)
    note = padding_note(padding, int(n), k, s, d, pads)
    return axis_formula(int(n), k, s, pads[0], pads[1], d, bool(ceil_mode), "n", note)


def conv_formulas(padding, sizes, kernel, strides, dilation, pads, names, ceil_mode=False):
    """One SizeFormula per spatial axis."""
    return tuple(
        axis_formula(n, k, s, p0, p1, d, ceil_mode, name, padding_note(padding, n, k, s, d,
                                                                       (p0, p1)))
        for n, k, s, d, (p0, p1), name in zip(sizes, kernel, strides, dilation, pads, names)
    )


# ----------------------------------------------------------------------------- model walk

def _axis_names(rank: int) -> tuple:
    return ("rows", "cols") if rank == 2 else ("length",) if rank == 1 else (
        "depth", "rows", "cols") if rank == 3 else tuple(f"axis{i}" for i in range(rank))


def _window_args(layer):
    """(kernel, strides, dilation, padding) of a conv or pooling layer, else None."""
    from ..layers.conv import DepthwiseConv2D, _Conv
    from ..layers.pooling import _Pool

    if isinstance(layer, _Conv | DepthwiseConv2D):
        return layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding
    if isinstance(layer, _Pool):
        return layer.pool_size, layer.strides, (1,) * len(layer.pool_size), layer.padding
    return None


def _layer_formulas(layer, in_shape) -> list[str]:
    from .sizes_nd import layer_formulas  # transposed convolutions (sizes_nd imports us)

    lines = layer_formulas(layer, in_shape)
    if lines is not None:
        return lines
    args = _window_args(layer)
    if args is None or not isinstance(in_shape, tuple):
        return []
    kernel, strides, dilation, padding = args
    sizes = tuple(in_shape[1:-1])
    if len(sizes) != len(kernel) or None in sizes:
        return [f"{name}: unknown input size" for name in _axis_names(len(kernel))]
    pads = resolve_padding(padding, sizes, kernel, strides, dilation, causal_ok=len(sizes) == 1)
    forms = conv_formulas(padding, sizes, kernel, strides, dilation, pads,
                          _axis_names(len(sizes)))
    lines = []
    for text in dict.fromkeys((f.formula, f.note) for f in forms):  # equal axes share a line
        axes = ", ".join(f.axis for f in forms if (f.formula, f.note) == text)
        lines.append(f"{axes}: {text[0]}")
        if text[1]:
            lines.append(f"  padding {text[1]}")
    return lines


def _next_field(layer, state, in_shape, out_shape):
    """Receptive field after ``layer``: a list of (field, jump) per spatial axis, "all"
    (every input cell) or None (unknown). Returns (state, explanation)."""
    from ..layers.core import Dense
    from ..layers.pooling import _GlobalPool
    from ..layers.reshaping import Flatten, Reshape

    if state is None or state == "all":
        return state, ""
    from .sizes_nd import next_field  # transposed conv, upsampling, cropping

    found = next_field(layer, state)
    if found is not None:
        return found
    args = _window_args(layer)
    if args is not None:
        kernel, strides, dilation, _ = args
        new, text = [], []
        for (r, j), k, s, d in zip(state, kernel, strides, dilation):
            keff = effective_kernel(k, d)
            new.append((r + (keff - 1) * j, j * s))
            text.append(f"{r} + ({keff} - 1)*{j} = {r + (keff - 1) * j}")
        return new, "; ".join(dict.fromkeys(text))  # once when all axes agree
    if isinstance(layer, Flatten | _GlobalPool | Reshape):
        return "all", ""
    if isinstance(layer, Dense) and isinstance(in_shape, tuple) and len(in_shape) <= 2:
        return "all", ""
    if in_shape is not None and out_shape is not None and (
            isinstance(in_shape, list) or tuple(in_shape[1:-1]) == tuple(out_shape[1:-1])):
        return state, ""  # elementwise, merges, per-position Dense: the field is unchanged
    return state if type(layer).__name__.startswith("ZeroPadding") else None, ""


def _field_text(state) -> str:
    if state is None:
        return "?"
    if state == "all":
        return "all"
    return "x".join(str(math.ceil(r)) for r, _ in state)  # a fraction after upsampling


class ModelShapes:
    """Rows of (name, type, input shape, output shape, formulas, receptive field, how)."""

    def __init__(self, name: str, rows: list):
        self.name, self.rows = name, rows

    def to_text(self) -> str:
        return _model_text(self)

    def to_markdown(self) -> str:
        return _model_markdown(self)

    __str__ = __repr__ = to_text  # a REPL shows the table, like model.summary()
    _repr_markdown_ = to_markdown  # and Jupyter its Markdown table


def _merge_fields(states):
    if any(s is None for s in states):
        return None
    if any(s == "all" for s in states):
        return "all"
    return [tuple(max(v) for v in zip(*axis)) for axis in zip(*states)]


def model_shapes(model) -> ModelShapes:
    """Walk a built Sequential or functional model layer by layer: shapes, the filled-in
    output-size formula of every conv/pooling layer and the receptive field of one output
    cell (input pixels per spatial axis; ``r_out = r_in + (d*(k-1)) * jump``)."""
    from ..layers.input_layer import InputLayer
    from ..models.summary import layer_io_shapes

    if not getattr(model, "built", False):
        raise ValueError(f"model_shapes: {getattr(model, 'name', model)!r} is not built; give "
                         "it an Input or input_shape, or call it on data first")
    rows = []
    if getattr(model, "_functional", False):
        env = {}
        for t in model._inputs:
            env[id(t)] = [(1, 1)] * (len(t.shape) - 2) if len(t.shape) >= 3 else "all"
            rows.append((t.layer.name, "InputLayer", t.shape, t.shape, [], _field_text(
                env[id(t)]), ""))
        for node in model._nodes:
            ins = [tuple(p.shape) for p in node.inputs]
            state = _merge_fields([env[id(p)] for p in node.inputs])
            in_shape = ins if len(ins) > 1 else ins[0]
            state, how = _next_field(node.layer, state, in_shape, tuple(node.shape))
            env[id(node)] = state
            rows.append((node.layer.name, type(node.layer).__name__, in_shape,
                         tuple(node.shape), _layer_formulas(node.layer, in_shape),
                         _field_text(state), how))
        return ModelShapes(model.name, rows)
    state = None
    for layer, in_shape, out_shape in layer_io_shapes(model):
        if isinstance(layer, InputLayer):
            continue
        if state is None and not rows and in_shape is not None:
            state = [(1, 1)] * (len(in_shape) - 2) if len(in_shape) >= 3 else "all"
        state, how = _next_field(layer, state, in_shape, out_shape)
        rows.append((layer.name, type(layer).__name__, in_shape, out_shape,
                     _layer_formulas(layer, in_shape), _field_text(state), how))
    return ModelShapes(model.name, rows)


def _shape_text(shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _model_rows(ms) -> list:
    rows = []
    for name, kind, ins, outs, formulas, field, how in ms.rows:
        fields = [field] + ([f"({how})"] if how else [])
        for k in range(max(len(formulas), len(fields), 1)):
            first = [f"{name} ({kind})", _shape_text(ins), _shape_text(outs)] if k == 0 else \
                ["", "", ""]
            rows.append(first + [formulas[k] if k < len(formulas) else "",
                                 fields[k] if k < len(fields) else ""])
    return rows


MODEL_HEAD = ["Layer (type)", "Input shape", "Output shape", "Output-size formula",
              "Receptive field"]


def _model_text(ms) -> str:
    head, rows = MODEL_HEAD, _model_rows(ms)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()  # noqa: E731
    rule = "-" * len(line(head))
    return "\n".join([f'Model: "{ms.name}"', rule, line(head), rule, *map(line, rows), rule,
                      "receptive field: input cells one output cell sees per spatial axis, "
                      "r_out = r_in + (d*(k-1))*jump, jump *= stride"])


def _model_markdown(ms) -> str:
    from .render_text import md_table  # a renderer: imported when used, never at module level

    return "\n".join([f"### Model `{ms.name}`", "", *md_table(MODEL_HEAD, _model_rows(ms))])


__all__ = ["ModelShapes", "axis_formula", "conv_formulas", "model_shapes", "output_size",
           "padding_note"]
