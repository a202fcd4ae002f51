"""Traced transposed convolution (1D and 2D), in the two views of SPEC section 6.

Per axis, with stride s, dilation d, k' = (k - 1) * d + 1 and the ``crop`` the kernels
use (``ops.kernels.conv_transpose.transposed_axis``):

1. patch spreading: input cell i times the kernel is added into the output patch that
   starts at i*s - crop (tap t lands on out[i*s + t*d - crop]); cells of a patch outside
   the output are cropped away, output cells no patch reaches stay 0;
2. zero insertion: s - 1 zeros go between input cells, k' - 1 - crop zeros before and
   enough after, and an ordinary convolution (stride 1, dilation d) with the kernel
   rotated 180 degrees gives the output: out[o] = sum_t rot[t] * z[o + t*d].

Both are summed term by term in Python numbers (integers stay exact), and the trace
records whether they agree -- they equal ``stridenet.ops.conv_transpose``'s result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ops.kernels.conv_transpose import transposed_axis
from ..ops.kernels.geometry import as_tuple, effective_kernel
from .conv import as_bias, as_image, as_kernel, as_numbers, conv_trace
from .shapes import conv_formulas
from .sizes_nd import transpose_output_sizes
from .trace import ConvTrace


@dataclass(frozen=True)
class Contribution:
    """``x[src] * w[tap]`` added into one output cell."""

    src: tuple  # (i, j, channel) of the input
    tap: tuple  # (a, b, channel) of the kernel
    value: object
    weight: object
    product: object


@dataclass(frozen=True)
class Patch:
    """Input cell ``src`` (summed over channels) times the kernel, placed with its top-left
    tap at ``origin`` (output coordinates; negative or past the end where cropped)."""

    src: tuple  # (i, j)
    values: tuple  # x[i, j, c] per channel
    origin: tuple  # (row, col) of tap (0, 0) in the output
    patch: np.ndarray  # (KH', KW'): the products at the cells they land on (0 between taps)
    cropped: int  # taps that land outside the output


@dataclass(frozen=True)
class SpreadCell:
    """``out[index] = sum(c.product for c in contributions) (+ bias)``."""

    index: tuple  # (i, j)
    contributions: tuple
    total: object


class _TransposeRendered:
    """Rendering entry points of the traces ``render_transpose`` draws (also the 3D cells of
    ``conv3d_cell``, which override ``to_text`` and ``__repr__``); the renderers are imported
    when first used, so trace modules stay free of them at import."""

    def to_text(self, **options) -> str:
        from .render_transpose import render_transpose_text

        return render_transpose_text(self, **options)

    def to_markdown(self, **options) -> str:
        return "```text\n" + self.to_text(**options) + "\n```"

    def to_html(self, full_page: bool = False, **options) -> str:
        from .render_transpose import render_transpose_html

        return render_transpose_html(self, full_page=full_page, **options)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        shape = "x".join(map(str, self.y.shape))
        return f"<{type(self).__name__} {self.op}, output {shape}: print() it for every step>"


@dataclass(eq=False, repr=False)
class TransposeTrace(_TransposeRendered):
    """One output filter of a transposed convolution, both views.

    x: (H, W, C) (1D: (1, L, C)), kernel: (KH, KW, C) one filter, y: (OH, OW) from the
    patch view; ``zero_inserted``: the ConvTrace of view 2 (its ``y`` equals ``y`` when
    ``agree``); ``crop``/``full`` per axis (rows, cols).
    """

    op: str
    rank: int
    x: np.ndarray
    kernel: np.ndarray
    strides: tuple
    dilation: tuple
    padding: str
    output_padding: tuple | None
    formulas: tuple  # TransposeSize per spatial axis
    crop: tuple
    full: tuple
    patches: tuple
    cells: tuple  # SpreadCell, row-major over the output
    y: np.ndarray  # (OH, OW)
    zero_inserted: ConvTrace
    bias: object
    layout: str
    agree: bool

    def figure(self, cell=0):
        """View 2 drawn (needs matplotlib): the zero-inserted, padded input with the rotated
        kernel's window of one output ``cell`` (number or (i, j)) highlighted."""
        return self.zero_inserted.figure(cell)

    def save_gif(self, path, fps: float = 2.0, max_frames: int | None = 64):
        """View 2 animated: the rotated kernel sliding over the zero-inserted input."""
        return self.zero_inserted.save_gif(path, fps=fps, max_frames=max_frames)

    @property
    def output(self) -> np.ndarray:
        """(OH, OW) (1D: (OL,)); with a (1, ..., C) input: (1, OH, OW, 1) / (1, OL, 1)."""
        y = self.y if self.rank == 2 else self.y[0]
        return y[None, ..., None] if self.layout[0] == "n" else y


def _as_transpose_kernel(kernel, channels, op, rank):
    """(K..., ) / (K..., C) / Keras' (K..., 1, C) -> (KH, KW, C) (1D: (1, K, C))."""
    k = as_numbers(kernel, "kernel", op)
    if k.ndim not in (rank, rank + 1, rank + 2):
        lead = "(KH, KW" if rank == 2 else "(K"
        raise ValueError(f"{op}: kernel must have shape {lead}), {lead}, C) or Keras' "
                         f"{lead}, 1, C) (F_out = 1, C_in = C), got {k.shape}")
    if k.ndim == rank + 2:
        if k.shape[-2] != 1:
            raise ValueError(f"{op}: explain traces one filter; kernel {k.shape} (kernel_size + "
                             f"(F_out, C_in)) has {k.shape[-2]} (slice one: "
                             f"kernel[..., f:f+1, :])")
        k = k[..., 0, :]
    return as_kernel(k, channels, op, rank)


def conv_transpose_trace(x, kernel, strides=1, padding="valid", output_padding=None,
                         dilation_rate=1, bias=None, rank=None) -> TransposeTrace:
    """Trace a single-filter transposed convolution in both views (1D or 2D).

    x: 1D (L,), (L, C), (1, L, C) -- 2D (H, W), (H, W, C), (1, H, W, C) (``rank`` picks
    when the shape is ambiguous; default: 2 for a 2-D list); kernel: (K...), (K..., C) or
    Keras' (K..., 1, C). ``trace.output`` equals ``sn.ops.conv_transpose``'s result.

    >>> t = conv_transpose_trace([[1, 2], [3, 4]], [[1, 0], [0, 1]], strides=2)
    >>> t.output.tolist()
    [[1, 0, 2, 0], [0, 1, 0, 2], [3, 0, 4, 0], [0, 3, 0, 4]]
    >>> t.agree
    True
    """
    arr = as_numbers(x, "x", "conv_transpose")
    rank = rank or (1 if arr.ndim == 1 else 2)
    if rank not in (1, 2):
        raise ValueError(f"conv_transpose: explain traces 1D and 2D, got rank={rank!r}")
    op = f"conv_transpose{rank}d"
    xi, layout = as_image(arr, op, rank)  # (H, W, C); 1D: (1, L, C)
    k = _as_transpose_kernel(kernel, xi.shape[-1], op, rank)  # (KH, KW, C)
    b = as_bias(bias, op)
    s = as_tuple(strides, rank, f"{op}: strides")
    d = as_tuple(dilation_rate, rank, f"{op}: dilation_rate")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    padding = padding.lower()
    sizes, ksizes = xi.shape[2 - rank:2], k.shape[2 - rank:2]
    if output_padding is not None:
        ops_ = (output_padding,) * rank if isinstance(output_padding, int) else tuple(
            output_padding) if isinstance(output_padding, list | tuple) else ()
        if len(ops_) != rank or not all(isinstance(p, int) and not isinstance(p, bool)
                                        for p in ops_):
            raise ValueError(f"{op}: output_padding must be None, an int or {rank} ints, got "
                             f"{output_padding!r}")
        if any(p < 0 or p >= st for p, st in zip(ops_, s)):
            raise ValueError(f"{op}: output_padding {ops_} must be >= 0 and smaller than "
                             f"strides {s} on every axis")
    try:
        formulas = transpose_output_sizes(sizes, ksizes, s, padding, output_padding, d)
    except ValueError as e:
        raise ValueError(f"{op}: {e} (x shape {tuple(arr.shape)}, kernel "
                         f"{tuple(np.shape(kernel))}, strides {s})") from None
    ops_ = None if output_padding is None else tuple(f.output_padding for f in formulas)
    if rank == 1:  # a height-1 image: the row axis is the identity
        s, d, sizes, ksizes = (1, *s), (1, *d), (1, *sizes), (1, *ksizes)
        ops_ = None if ops_ is None else (0, *ops_)
    axes = [transposed_axis(n, kk, st, dd, padding, None if ops_ is None else ops_[a])
            for a, (n, kk, st, dd) in enumerate(zip(sizes, ksizes, s, d))]
    out = tuple(a[0] for a in axes)
    crop = tuple(a[1] for a in axes)
    full = tuple((n - 1) * st + effective_kernel(kk, dd)
                 for n, kk, st, dd in zip(sizes, ksizes, s, d))
    patches, cells, y = _spread(xi, k, s, d, crop, out, b)
    zero = _zero_inserted(op, rank, xi, k, s, d, crop, out, padding, b, layout)
    if np.issubdtype(y.dtype, np.integer) and np.issubdtype(zero.y.dtype, np.integer):
        agree = bool(np.array_equal(y, zero.y))
    else:
        agree = bool(np.allclose(y, zero.y, rtol=1e-6, atol=1e-9))
    return TransposeTrace(op, rank, xi, k, s, d, padding, ops_ if rank == 2 else (
        None if ops_ is None else ops_[1:]), formulas, crop, full, patches, cells, y, zero, b,
        layout, agree)


def _spread(x, k, s, d, crop, out, bias):
    """View 1: every (input cell, tap, channel) product added where it lands."""
    h, w, c = x.shape
    kh, kw, _ = k.shape
    xs, ks = x.tolist(), k.tolist()
    lists = {(i, j): [] for i in range(out[0]) for j in range(out[1])}
    patches = []
    for i in range(h):
        for j in range(w):
            r0, c0 = i * s[0] - crop[0], j * s[1] - crop[1]
            patch = [[0] * ((kw - 1) * d[1] + 1) for _ in range((kh - 1) * d[0] + 1)]
            cropped = 0
            for a in range(kh):
                for bb in range(kw):
                    r, col = r0 + a * d[0], c0 + bb * d[1]
                    inside = 0 <= r < out[0] and 0 <= col < out[1]
                    cropped += not inside
                    for ch in range(c):
                        v, wt = xs[i][j][ch], ks[a][bb][ch]
                        patch[a * d[0]][bb * d[1]] += v * wt
                        if inside:
                            lists[(r, col)].append(Contribution((i, j, ch), (a, bb, ch), v, wt,
                                                                v * wt))
            patches.append(Patch((i, j), tuple(xs[i][j]), (r0, c0), np.asarray(patch),
                                 cropped))
    cells, totals = [], []
    for index, contribs in lists.items():
        total = sum(t.product for t in contribs)
        if bias is not None:
            total += bias
        totals.append(total)
        cells.append(SpreadCell(index, tuple(contribs), total))
    dtype = np.result_type(x, k)
    if isinstance(bias, float) and np.issubdtype(dtype, np.integer):
        dtype = np.float64
    y = np.asarray(totals).reshape(out).astype(dtype)  # (OH, OW)
    return tuple(patches), tuple(cells), y


def _zero_inserted(op, rank, x, k, s, d, crop, out, padding, bias, layout) -> ConvTrace:
    """View 2: zeros between cells, padded by k' - 1 - crop before, then a stride-1
    convolution with the rotated kernel (dilation d) -- the ConvTrace of it."""
    h, w, c = x.shape
    z = np.zeros(((h - 1) * s[0] + 1, (w - 1) * s[1] + 1, c), dtype=x.dtype)
    z[::s[0], ::s[1]] = x  # (H', W', C): s - 1 zeros between input cells
    pads = []
    for n, kk, dd, cr, o in zip(z.shape[:2], k.shape[:2], d, crop, out):
        before = effective_kernel(kk, dd) - 1 - cr
        pads.append((before, o + effective_kernel(kk, dd) - 1 - before - n))  # after >= 0
    pads = tuple(pads)
    names = ("rows", "cols") if rank == 2 else ("length",)
    formulas = conv_formulas("explicit", z.shape[2 - rank:2], k.shape[2 - rank:2],
                             (1,) * rank, d[2 - rank:], pads[2 - rank:], names)
    view_layout = {"hw": "hw", "hwc": "hw", "nhwc": "hw", "l": "l", "lc": "l", "nlc": "l"}
    return conv_trace(op, rank, z, k, (1, 1), d, pads, tuple(pads[2 - rank:]), True, bias,
                      view_layout[layout], formulas)


__all__ = ["Contribution", "Patch", "SpreadCell", "TransposeTrace", "conv_transpose_trace"]
