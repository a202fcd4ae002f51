"""Output-size formulas for 3D and transposed convolutions, and the shape walk's rules for
the layers that change size without a sliding window (SPEC section 6).

Per axis, with n input cells, kernel k, stride s, dilation d and k' = (k - 1) * d + 1:

* convolution / pooling (any rank): as ``shapes.axis_formula``, one formula per axis;
* transposed convolution, 'valid': (n - 1) * s + k' + op, op = output_padding if given,
  else max(k', s) - k';
* transposed convolution, 'same': n * s, or (n - 1) * s + k' % 2 + output_padding.

Every value comes from ``ops.kernels.conv_transpose.transposed_axis`` / the geometry the
kernels use; the text repeats the arithmetic with the numbers filled in.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

from ..ops.kernels.conv_transpose import transposed_axis
from ..ops.kernels.geometry import as_tuple, effective_kernel, resolve_padding
from .shapes import conv_formulas
from .trace import FormulaValue

AXES_3D = ("depth", "rows", "cols")


@dataclass(frozen=True)
class TransposeSize(FormulaValue):
    """One axis of a transposed convolution: ``value`` and its filled-in ``formula``;
    ``note`` says where the k' and output-padding terms came from. Iterates as
    ``(value, formula)`` like :class:`~stridenet.explain.trace.SizeFormula`."""

    axis: str
    n: int
    k: int
    s: int
    d: int
    padding: str
    output_padding: int | None
    value: int
    formula: str
    note: str = ""


def _names(rank: int) -> tuple:
    return {1: ("length",), 2: ("rows", "cols"), 3: AXES_3D}.get(
        rank, tuple(f"axis{i}" for i in range(rank)))


def _positive(v, name, op):
    if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
        raise ValueError(f"{op}: {name} must be a positive int, got {v!r}")
    return int(v)


def transpose_axis_formula(n: int, k: int, s: int = 1, padding: str = "valid",
                           output_padding: int | None = None, d: int = 1,
                           axis: str = "n") -> TransposeSize:
    """The output size of one axis of a transposed convolution and its formula."""
    value = transposed_axis(n, k, s, d, padding, output_padding)[0]
    kk = effective_kernel(k, d)
    notes = [] if d == 1 else [f"k' = ({k} - 1)*{d} + 1 = {kk}"]
    kt = str(kk)
    if padding == "valid":
        if output_padding is None:
            op = max(kk, s) - kk
            notes.append(f"output_padding not given: max({kk}, {s}) - {kk} = {op}")
        else:
            op = output_padding
        text = f"({n} - 1)*{s} + {kt} + {op} = {value}"
    elif output_padding is None:
        text = f"{n}*{s} = {value}"
    else:
        text = f"({n} - 1)*{s} + {kt} % 2 + {output_padding} = {value}"
    return TransposeSize(axis, n, k, s, d, padding, output_padding, value, text,
                         "; ".join(notes))


def transpose_output_size(n, kernel, strides=1, padding="valid", output_padding=None,
                          dilation=1) -> TransposeSize:
    """The output size of one axis of a transposed convolution, formula filled in.

    >>> transpose_output_size(10, 3, strides=2).formula
    '(10 - 1)*2 + 3 + 0 = 21'
    >>> transpose_output_size(10, 3, strides=2, padding="same").formula
    '10*2 = 20'
    """
    op = "transpose_output_size"
    n, k = _positive(n, "n", op), _positive(kernel, "kernel", op)
    (s,) = as_tuple(strides, 1, f"{op}: strides")
    (d,) = as_tuple(dilation, 1, f"{op}: dilation")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    if output_padding is not None:
        if isinstance(output_padding, bool) or not isinstance(output_padding, numbers.Integral) \
                or not 0 <= output_padding < s:
            raise ValueError(f"{op}: output_padding must be None or an int in [0, strides="
                             f"{s}), got {output_padding!r}")
        output_padding = int(output_padding)
    size = transpose_axis_formula(n, k, s, padding.lower(), output_padding, d)
    if size.value <= 0:
        raise ValueError(f"{op}: the output would be empty: {size.formula}")
    return size


def transpose_output_sizes(sizes, kernel, strides=1, padding="valid", output_padding=None,
                           dilation=1, names=None) -> tuple:
    """One :class:`TransposeSize` per spatial axis (1D, 2D or 3D)."""
    rank = len(sizes)
    names = names or _names(rank)
    ks = as_tuple(kernel, rank, "kernel")
    ss = as_tuple(strides, rank, "strides")
    ds = as_tuple(dilation, rank, "dilation")
    ops = (None,) * rank if output_padding is None else (
        (output_padding,) * rank if isinstance(output_padding, numbers.Integral)
        else tuple(output_padding))
    if len(ops) != rank:
        raise ValueError(f"output_padding must be None, an int or {rank} ints, got "
                         f"{output_padding!r}")
    out = []
    for n, k, s, d, op, name in zip(sizes, ks, ss, ds, ops, names):
        size = transpose_output_size(n, k, s, padding, op, d)
        out.append(TransposeSize(name, *[getattr(size, f) for f in (
            "n", "k", "s", "d", "padding", "output_padding", "value", "formula", "note")]))
    return tuple(out)


def conv_output_sizes(sizes, kernel, strides=1, padding="valid", dilation=1,
                      names=None) -> tuple:
    """One SizeFormula per spatial axis of an N-D convolution (3D: depth, rows, cols).

    >>> [f.value for f in conv_output_sizes((7, 9, 10), 3, strides=2, padding="same")]
    [4, 5, 5]
    """
    rank = len(sizes)
    sizes = tuple(_positive(n, "sizes", "conv_output_sizes") for n in sizes)
    names = names or _names(rank)
    ks = as_tuple(kernel, rank, "kernel")
    ss = as_tuple(strides, rank, "strides")
    ds = as_tuple(dilation, rank, "dilation")
    pads = resolve_padding(padding, sizes, ks, ss, ds, causal_ok=rank == 1)
    return conv_formulas(padding, sizes, ks, ss, ds, pads, names)


# ----------------------------------------------------------------------------- model walk

def layer_formulas(layer, in_shape):
    """Formula lines of a transposed-convolution layer; None for other layers."""
    from ..layers.conv_transpose import _ConvTranspose

    if not isinstance(layer, _ConvTranspose) or not isinstance(in_shape, tuple):
        return None
    sizes = tuple(in_shape[1:-1])
    rank = len(layer.kernel_size)
    if len(sizes) != rank or None in sizes:
        return ["unknown input size"]
    forms = transpose_output_sizes(sizes, layer.kernel_size, layer.strides, layer.padding,
                                   layer.output_padding, layer.dilation_rate)
    lines = []
    for key in dict.fromkeys((f.formula, f.note) for f in forms):  # equal axes share a line
        axes = ", ".join(f.axis for f in forms if (f.formula, f.note) == key)
        lines.append(f"{axes}: {key[0]}")
        if key[1]:
            lines.append(f"  {key[1]}")
    return lines


def next_field(layer, state):
    """The receptive field after a transposed convolution, upsampling or cropping layer:
    (state, explanation), or None for other layers. ``state``: [(field, jump)] per axis;
    jumps become fractions below one input cell after upsampling."""
    from ..layers.conv_transpose import _ConvTranspose
    from ..layers.cropping import _Cropping
    from ..layers.upsampling import _UpSampling

    if isinstance(layer, _Cropping):
        return state, ""  # cropping drops cells; the ones kept see what they saw
    if isinstance(layer, _UpSampling):  # each output cell copies (or mixes) input cells
        bilinear = getattr(layer, "interpolation", "nearest") == "bilinear"
        new = [(r + (j if bilinear else 0), Fraction(j) / s) for (r, j), s in
               zip(state, layer.size)]
        return new, "jump /= size" + ("; bilinear mixes 2 cells" if bilinear else "")
    if isinstance(layer, _ConvTranspose):
        # out[o] gathers x[i] with i*s + t*d = o + crop: at most ceil(k'/s) consecutive inputs
        new, text = [], []
        for (r, j), k, s, d in zip(state, layer.kernel_size, layer.strides,
                                   layer.dilation_rate):
            m = -(-effective_kernel(k, d) // s)
            new.append((r + (m - 1) * j, Fraction(j) / s))
            text.append(f"{r} + (ceil({effective_kernel(k, d)}/{s}) - 1)*{j} = "
                        f"{r + (m - 1) * j}")
        return new, "; ".join(dict.fromkeys(text)) + "; jump /= stride"
    return None


def field_cells(r) -> int:
    """Input cells a field spans (a fractional field, after upsampling, rounds up)."""
    return math.ceil(r)


__all__ = ["AXES_3D", "TransposeSize", "conv_output_sizes", "field_cells", "layer_formulas",
           "next_field", "transpose_axis_formula", "transpose_output_size",
           "transpose_output_sizes"]
