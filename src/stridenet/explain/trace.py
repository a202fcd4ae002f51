"""Trace data classes: every number that went into a convolution or pooling result.

A trace is plain data (NumPy arrays and tuples): the padded input, the output-size
formula with its numbers filled in, every window position, every output cell's
terms and sum, and the im2col matrix. Renderers (text, Markdown, HTML, figures)
read traces; they never recompute the math.

Coordinates: ``origin`` and ``pos`` are (row, col) in the *padded* input; a
1D trace is stored as a height-1 image (row 0) and printed with one index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class FormulaValue:
    """An axis size with its filled-in ``formula`` (and ``note``): iterates as
    ``(value, formula)``, is an int, prints as the formula (with the note)."""

    def __iter__(self):
        return iter((self.value, self.formula))

    def __int__(self) -> int:
        return self.value

    __index__ = __int__

    def __str__(self) -> str:
        return self.formula + (f"   ({self.note})" if self.note else "")


@dataclass(frozen=True)
class SizeFormula(FormulaValue):
    """One spatial axis: ``out = floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1``.

    ``formula`` has the numbers filled in, e.g. ``floor((6 + 1 + 1 - 3) / 2) + 1 = 3``;
    ``note`` explains how a padding mode ("same", "causal") became the two pads.
    Iterating gives ``(value, formula)``, so ``n, text = output_size(6, 3)`` works.
    """

    axis: str
    n: int
    k: int
    s: int
    p_before: int
    p_after: int
    d: int
    ceil_mode: bool
    value: int
    formula: str
    note: str = ""


@dataclass(frozen=True)
class Term:
    """One product ``weight * value`` of a sum; ``pos`` indexes the array ``value`` came from."""

    weight: object
    value: object
    product: object
    pos: tuple  # (row, col, channel) in the array the value is read from
    tap: tuple  # (a, b, channel) index of the weight
    padded: bool = False  # the value is a padding zero


@dataclass(frozen=True)
class ConvCell:
    """``out[index] = sum(term.product) (+ bias)``; the window's top-left is ``origin``."""

    index: tuple  # (i, j)
    origin: tuple  # (row, col) in the padded input
    terms: tuple
    bias: object
    total: object


@dataclass(frozen=True)
class PoolValue:
    """One cell of a pooling window."""

    pos: tuple  # (row, col) in the padded input
    value: object  # the padded input there (0 for a padding cell)
    real: bool  # an input cell, not padding
    counted: bool  # average pooling: part of the divisor; max pooling: a candidate


@dataclass(frozen=True)
class PoolCell:
    index: tuple  # (i, j, channel)
    origin: tuple
    values: tuple  # PoolValue, row-major over the window
    result: object
    count: int = 0  # average: the divisor; max: number of candidates
    winner: tuple | None = None  # max: (row, col) of the selected cell (first maximum)
    total: object = None  # average: the window sum


class _Rendered:
    """Shared rendering entry points (the renderers are imported when first used)."""

    def to_text(self, **options) -> str:
        from .render_text import render_text

        return render_text(self, **options)

    def to_markdown(self, **options) -> str:
        from .render_text import render_markdown

        return render_markdown(self, **options)

    def to_html(self, full_page: bool = False, **options) -> str:
        from .render_html import render_html

        return render_html(self, full_page=full_page, **options)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        out = getattr(self, "y", None)
        shape = "x".join(map(str, (self.dx if out is None else out).shape))
        return (f"<{type(self).__name__} {self.op}, output {shape}: print() it (or .to_markdown()"
                ", .to_html(), .figure()) for every step>")

    def _repr_html_(self) -> str:
        return self.to_html()

    def figure(self, cell=0):
        """A matplotlib Figure highlighting the window of one output ``cell`` (needs matplotlib)."""
        from .figures import trace_figure

        return trace_figure(self, cell)

    def save_gif(self, path, fps: float = 2.0, max_frames: int | None = 64):
        """An animated GIF of the window sliding over the input (needs matplotlib + Pillow)."""
        from .figures import save_gif

        return save_gif(self, path, fps=fps, max_frames=max_frames)


def _layout_output(y: np.ndarray, layout: str) -> np.ndarray:
    """y: (OH, OW, C) -> the layout the input came in."""
    if layout == "hw":
        return y[:, :, 0]  # (OH, OW)
    if layout == "l":
        return y[0, :, 0]  # (OL,)
    if layout == "lc":
        return y[0]  # (OL, C)
    if layout == "nhwc":
        return y[None]  # (1, OH, OW, C)
    if layout == "nlc":
        return y[0][None]  # (1, OL, C)
    return y  # "hwc": (OH, OW, C)


@dataclass(eq=False, repr=False)
class ConvTrace(_Rendered):
    """A single-filter convolution, every step of it.

    x: (H, W, C) input, padded: (Hp, Wp, C), kernel: (KH, KW, C) as given,
    applied: the kernel that slides (rotated 180 degrees when ``flip``),
    y: (OH, OW) result, im2col: (OH*OW, KH*KW*C) with rows = windows in row-major
    order and cols = kernel taps (a, b, c) with c fastest.
    """

    op: str
    rank: int
    x: np.ndarray
    padded: np.ndarray
    pads: tuple
    padding: object
    kernel: np.ndarray
    applied: np.ndarray
    flip: bool
    strides: tuple
    dilation: tuple
    formulas: tuple
    cells: tuple
    im2col: np.ndarray
    y: np.ndarray
    bias: object
    layout: str

    @property
    def output(self) -> np.ndarray:
        """The result in the caller's layout: (OH, OW) for (H, W) / (H, W, C) inputs,
        (1, OH, OW, 1) for (1, H, W, C); 1D: (OL,) or (1, OL, 1)."""
        layout = {"hwc": "hw", "lc": "l"}.get(self.layout, self.layout)
        return _layout_output(self.y[:, :, None], layout)

    @property
    def out_shape(self) -> tuple:
        return tuple(self.y.shape)

    @property
    def windows(self) -> tuple:
        """(i, j, top row, left col) of every window, in output order."""
        return tuple((*c.index, *c.origin) for c in self.cells)

    @property
    def im2col_columns(self) -> tuple:
        kh, kw, c = self.applied.shape
        return tuple(_tap_label(self.rank, a, b, ch, c)
                     for a in range(kh) for b in range(kw) for ch in range(c))


@dataclass(eq=False, repr=False)
class PoolTrace(_Rendered):
    """Max or average pooling, per channel. y: (OH, OW, C); im2col: (C, OH*OW, KH*KW),
    with padding cells holding -inf (max) or 0 (average), as in the kernels."""

    op: str
    rank: int
    x: np.ndarray
    padded: np.ndarray  # (Hp, Wp, C) with zeros in padding cells
    real: np.ndarray  # (Hp, Wp) bool: input cells
    pads: tuple  # explicit padding plus the ceil-mode extra cells after
    padding: object
    pool: tuple
    strides: tuple
    ceil_mode: bool
    count_include_pad: bool
    formulas: tuple
    cells: tuple
    im2col: np.ndarray
    y: np.ndarray
    layout: str

    @property
    def kind(self) -> str:
        return "max" if self.op.startswith("max") else "avg"

    @property
    def output(self) -> np.ndarray:
        return _layout_output(self.y, self.layout)

    @property
    def windows(self) -> tuple:
        return tuple(dict.fromkeys((c.index[0], c.index[1], *c.origin) for c in self.cells))


@dataclass(eq=False, repr=False)
class GradCell:
    """``grad[index] = sum(term.product)``."""

    index: tuple
    terms: tuple
    total: object


@dataclass(eq=False, repr=False)
class BackwardTrace(_Rendered):
    """The gradients of a single-filter conv2d, each as a correlation with its terms.

    dkernel[a, b, c] = sum_{i, j} dy[i, j] * padded[i*sh + a*dh, j*sw + b*dw, c]
        (the padded input correlated with dy, dy's taps spaced by the stride);
    dx = crop(full correlation of dy with the kernel rotated 180 degrees): dy is spread
        out by the stride (``dy_dilated``), zero-padded by d*(k-1) (plus the rows/cols no
        window reached) into ``dy_full``, and correlated with ``rotated`` (taps spaced by d).
    """

    forward: ConvTrace
    dy: np.ndarray  # (OH, OW)
    dy_dilated: np.ndarray
    dy_full: np.ndarray
    full_pads: tuple  # padding of dy_dilated into dy_full, ((top, bottom), (left, right))
    rotated: np.ndarray  # (KH, KW, C): the applied kernel rotated 180 degrees
    dkernel_cells: tuple
    dx_cells: tuple
    dkernel: np.ndarray  # (KH, KW, C): gradient of the kernel as given (flip undone)
    dx_padded: np.ndarray  # (Hp, Wp, C)
    dx: np.ndarray  # (H, W, C)
    dbias: object = None
    notes: tuple = field(default_factory=tuple)

    op = "conv2d_backward"

    @property
    def rank(self) -> int:
        return self.forward.rank


def _tap_label(rank: int, a: int, b: int, ch: int, channels: int) -> str:
    idx = [b] if rank == 1 else [a, b]
    if channels > 1:
        idx.append(ch)
    return "w[" + ",".join(str(i) for i in idx) + "]"


def cell_label(rank: int, index: tuple, channels: int = 1, name: str = "out") -> str:
    """``out[i,j]`` (``out[j]`` in 1D; a channel index is added when there are several)."""
    idx = list(index[:2]) if rank == 2 else [index[1]]
    if channels > 1 and len(index) > 2:
        idx.append(index[2])
    return f"{name}[" + ",".join(str(i) for i in idx) + "]"


__all__ = ["BackwardTrace", "ConvCell", "ConvTrace", "FormulaValue", "GradCell", "PoolCell",
           "PoolTrace", "PoolValue", "SizeFormula", "Term", "cell_label"]
