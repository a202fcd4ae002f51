"""Traced convolution: the same geometry as ``ops.conv2d`` / ``ops.conv1d``, every step kept.

    out[i, j] = bias + sum_{a, b, c} w[a, b, c] * xp[i*sh + a*dh, j*sw + b*dw, c]

with xp the zero-padded input and w the kernel (rotated 180 degrees when
``flip_kernel``). The padding, output size and window view come from
``ops.kernels.geometry`` / ``ops.kernels.windows`` -- the helpers the fast kernel
uses -- and each output cell is then summed term by term in Python numbers, so
integer inputs give exact integer results.
"""

from __future__ import annotations

import numpy as np

from ..ops.kernels.geometry import as_tuple, effective_kernel, output_size, resolve_padding
from ..ops.kernels.windows import pad_nhwc, window_view
from .limits import check_trace_size
from .shapes import conv_formulas
from .trace import ConvCell, ConvTrace, Term


def as_numbers(value, name: str, op: str) -> np.ndarray:
    """A real numeric array: integers (and booleans) become int64, float16 becomes float32."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as e:  # ragged nested lists
        raise TypeError(f"{op}: {name} could not be read as an array: {e}") from None
    if arr.dtype == np.bool_:
        arr = arr.astype(np.int64)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or np.issubdtype(
            arr.dtype, np.complexfloating):
        raise TypeError(f"{op}: {name} must hold real numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    return arr.astype(np.float32) if arr.dtype == np.float16 else arr


def as_image(x, op: str, rank: int = 2):
    """-> (x as (H, W, C), layout); 1D inputs become height-1 images (1, L, C)."""
    x = as_numbers(x, "x", op)
    if rank == 2:
        layouts = {2: "hw", 3: "hwc", 4: "nhwc"}
        expected = "(H, W), (H, W, C) or (1, H, W, C)"
    else:
        layouts = {1: "l", 2: "lc", 3: "nlc"}
        expected = "(L,), (L, C) or (1, L, C)"
    layout = layouts.get(x.ndim)
    if layout is None or (layout[0] == "n" and x.shape[0] != 1):
        raise ValueError(f"{op}: x must have shape {expected} (one image), got {x.shape}")
    if layout in ("hw", "l"):
        x = x[..., None]
    if layout[0] == "n":
        x = x[0]
    if rank == 1:
        x = x[None]  # (1, L, C)
    if 0 in x.shape:
        raise ValueError(f"{op}: x has an empty axis: shape {x.shape}")
    return x, layout


def as_kernel(kernel, channels: int, op: str, rank: int = 2) -> np.ndarray:
    """One filter as (KH, KW, C) (1D: (1, K, C)); accepts the ops layout with F = 1."""
    k = as_numbers(kernel, "kernel", op)
    expected = ("(KH, KW), (KH, KW, C) or (KH, KW, C, 1)" if rank == 2
                else "(K,), (K, C) or (K, C, 1)")
    if k.ndim == rank + 2:
        if k.shape[-1] != 1:
            raise ValueError(f"{op}: explain traces one filter; kernel {k.shape} has "
                             f"{k.shape[-1]} filters (slice one: kernel[..., f:f+1])")
        k = k[..., 0]
    elif k.ndim == rank:
        k = k[..., None]
    elif k.ndim != rank + 1:
        raise ValueError(f"{op}: kernel must have shape {expected}, got {k.shape}")
    if rank == 1:
        k = k[None]  # (1, K, C)
    if k.shape[-1] != channels:
        raise ValueError(f"{op}: kernel {k.shape[rank == 1:]} has {k.shape[-1]} channel(s) "
                         f"but x has {channels}")
    if 0 in k.shape:
        raise ValueError(f"{op}: kernel has an empty axis: shape {k.shape}")
    return k


def as_bias(bias, op: str):
    if bias is None:
        return None
    b = as_numbers(bias, "bias", op)
    if b.size != 1 or b.ndim > 1:
        raise ValueError(f"{op}: bias must be a number or shape (1,) for one filter, "
                         f"got shape {b.shape}")
    return b.reshape(()).item()


def check_fits(op, sizes, ksizes, dilation, pads, x_shape, padding) -> None:
    for axis, (n, k, d, (p0, p1)) in enumerate(zip(sizes, ksizes, dilation, pads)):
        if n + p0 + p1 < effective_kernel(k, d):
            raise ValueError(
                f"{op}: the kernel spans {effective_kernel(k, d)} cells on spatial axis {axis}"
                f" (size {k}, dilation {d}), more than the padded input's {n + p0 + p1} "
                f"(x shape {x_shape}, padding {padding!r})")


def conv_trace(op, rank, x, kernel, strides, dilation, pads, padding, flip, bias, layout,
               formulas) -> ConvTrace:
    """x: (H, W, C), kernel: (KH, KW, C); strides/dilation pairs; explicit pads."""
    h, w, c = x.shape
    kh, kw, _ = kernel.shape
    applied = kernel[::-1, ::-1] if flip else kernel  # 180-degree rotation: true convolution
    xp = pad_nhwc(x[None], pads)[0]  # (Hp, Wp, C)
    (pt, _), (pl, _) = pads
    oh = output_size(h, kh, strides[0], *pads[0], dilation[0])
    ow = output_size(w, kw, strides[1], *pads[1], dilation[1])
    view = window_view(xp[None], (kh, kw), strides, dilation, (oh, ow))[0]  # (OH, OW, KH, KW, C)
    im2col = view.reshape(oh * ow, kh * kw * c)  # rows = windows, cols = taps (a, b, c)
    weights = applied.reshape(-1).tolist()  # same (a, b, c) order as the im2col columns
    taps = [(a, b, ch) for a in range(kh) for b in range(kw) for ch in range(c)]
    cells, totals = [], []
    for row, values in enumerate(im2col.tolist()):
        i, j = divmod(row, ow)
        r0, c0 = i * strides[0], j * strides[1]
        terms = []
        for (a, b, ch), wt, v in zip(taps, weights, values):
            r, col = r0 + a * dilation[0], c0 + b * dilation[1]
            inside = pt <= r < pt + h and pl <= col < pl + w
            terms.append(Term(wt, v, wt * v, (r, col, ch), (a, b, ch), not inside))
        total = sum(t.product for t in terms)
        if bias is not None:
            total += bias
        totals.append(total)
        cells.append(ConvCell((i, j), (r0, c0), tuple(terms), bias, total))
    dtype = np.result_type(x, kernel)
    if isinstance(bias, float) and np.issubdtype(dtype, np.integer):
        dtype = np.float64
    y = np.asarray(totals).reshape(oh, ow).astype(dtype)  # (OH, OW)
    return ConvTrace(op, rank, x, xp, pads, padding, kernel, applied, bool(flip), strides,
                     dilation, formulas, tuple(cells), im2col, y, bias, layout)


def conv2d(x, kernel, strides=1, padding="valid", dilation_rate=1, flip_kernel=False,
           bias=None) -> ConvTrace:
    """Trace a single-filter 2D convolution (cross-correlation unless ``flip_kernel``).

    x: (H, W), (H, W, C) or (1, H, W, C); kernel: (KH, KW), (KH, KW, C) or (KH, KW, C, 1).
    ``strides``, ``padding`` ("valid", "same", int, pair, explicit pairs) and
    ``dilation_rate`` as in ``stridenet.ops.conv2d``; ``trace.output`` equals its result.

    >>> t = conv2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 0], [0, -1]])
    >>> t.output.tolist()
    [[-4, -4], [-4, -4]]
    >>> print(t.to_text(sections=("cells",), max_cells=1))
    Cells:
    out[0,0] = 1*1 + 0*2 + 0*4 + (-1)*5 = -4
    <BLANKLINE>
    (1 of 4 cells shown; max_cells=None shows all)
    """
    op = "conv2d"
    x, layout = as_image(x, op)
    k = as_kernel(kernel, x.shape[-1], op)
    b = as_bias(bias, op)
    strides = as_tuple(strides, 2, f"{op}: strides")
    dilation = as_tuple(dilation_rate, 2, f"{op}: dilation_rate")
    sizes, ksizes = x.shape[:2], k.shape[:2]
    pads = resolve_padding(padding, sizes, ksizes, strides, dilation)
    check_fits(op, sizes, ksizes, dilation, pads, x.shape, padding)
    check_trace_size(op, sizes, ksizes, strides, dilation, pads, x.shape[-1], padding)
    formulas = conv_formulas(padding, sizes, ksizes, strides, dilation, pads, ("rows", "cols"))
    return conv_trace(op, 2, x, k, strides, dilation, pads, padding, flip_kernel, b, layout,
                      formulas)


def conv1d(x, kernel, strides=1, padding="valid", dilation_rate=1, flip_kernel=False,
           bias=None) -> ConvTrace:
    """Trace a single-filter 1D convolution. x: (L,), (L, C) or (1, L, C); kernel: (K,),
    (K, C) or (K, C, 1). ``padding`` also takes "causal" and a (left, right) pair."""
    op = "conv1d"
    x, layout = as_image(x, op, rank=1)  # (1, L, C)
    k = as_kernel(kernel, x.shape[-1], op, rank=1)  # (1, K, C)
    b = as_bias(bias, op)
    (s,) = as_tuple(strides, 1, f"{op}: strides")
    (d,) = as_tuple(dilation_rate, 1, f"{op}: dilation_rate")
    n, kk = x.shape[1], k.shape[1]
    (p,) = resolve_padding(padding, (n,), (kk,), (s,), (d,), causal_ok=True)
    check_fits(op, (n,), (kk,), (d,), (p,), x.shape[1:], padding)
    check_trace_size(op, (n,), (kk,), (s,), (d,), (p,), x.shape[-1], padding)
    formulas = conv_formulas(padding, (n,), (kk,), (s,), (d,), (p,), ("length",))
    return conv_trace(op, 1, x, k, (1, s), (1, d), ((0, 0), p), padding, flip_kernel, b,
                      layout, formulas)


__all__ = ["as_bias", "as_image", "as_kernel", "as_numbers", "conv1d", "conv2d", "conv_trace"]
