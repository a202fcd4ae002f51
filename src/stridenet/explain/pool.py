"""Traced max and average pooling: the geometry of ``ops.kernels.pool``, every window kept.

    max: out[i, j, c] = max over the window's input cells (padding never wins: -inf)
    avg: out[i, j, c] = (sum of the window) / count[i, j]

``count`` is the number of the window's input cells (``count_include_pad=False``,
Keras) or of its cells inside input + explicit padding (True, PyTorch); cells added
by ``ceil_mode`` past the padding never count. Output sizes and the ceil-mode
extra padding come from ``ops.kernels.pool.pool_geometry``, as in the kernel.
"""

from __future__ import annotations

import numpy as np

from ..ops.kernels.geometry import as_tuple, resolve_padding
from ..ops.kernels.pool import pool_geometry
from ..ops.kernels.windows import pad_nhwc, window_view
from .conv import as_image
from .limits import check_trace_size
from .shapes import conv_formulas
from .trace import PoolCell, PoolTrace, PoolValue


def _flag(value, name: str, op: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{op}: {name} must be True or False, got {value!r}")
    return bool(value)


def _check(op, sizes, pool, strides, pads, out_hw, padding, x_shape) -> None:
    for axis, (n, k, s, (p0, p1), o) in enumerate(zip(sizes, pool, strides, pads, out_hw)):
        where = f"on spatial axis {axis} (x shape {x_shape}, pool_size {pool}, padding {padding!r})"
        if n + p0 + p1 < k:
            raise ValueError(f"{op}: the pooling window ({k} cells) is larger than the padded "
                             f"input ({n + p0 + p1} cells) {where}")
        if p0 >= k or (o - 1) * s >= p0 + n:
            raise ValueError(f"{op}: padding {padding!r} leaves a pooling window with no input "
                             f"cell {where}; padding must be smaller than the window")


def _max(values):
    """The max of a window's candidates and the first position holding it (NaN wins)."""
    best = None
    for v in values:
        if best is None or (v.value != v.value) or (best.value == best.value and
                                                    v.value > best.value):
            best = v
            if v.value != v.value:  # NaN propagates, as np.maximum does
                break
    return best.value, best.pos


def pool_trace(op, rank, x, pool, strides, pads, padding, ceil_mode, cip, layout, names):
    """x: (H, W, C); pool/strides pairs; explicit pads -> PoolTrace."""
    kind = "max" if op.startswith("max") else "avg"
    h, w, c = x.shape
    out_hw, full = pool_geometry((h, w), pool, strides, pads, ceil_mode)
    _check(op, (h, w)[2 - rank:], pool[2 - rank:], strides[2 - rank:], pads[2 - rank:],
           out_hw[2 - rank:], padding, x.shape[2 - rank:])
    check_trace_size(op, (h, w)[2 - rank:], pool[2 - rank:], strides[2 - rank:], (1,) * rank,
                     pads[2 - rank:], c, padding, pool=True, ceil_mode=ceil_mode)
    formulas = conv_formulas(padding, (h, w)[2 - rank:], pool[2 - rank:], strides[2 - rank:],
                             (1,) * rank, pads[2 - rank:], names, ceil_mode)
    xp = pad_nhwc(x[None], full)[0]  # (Hp, Wp, C), zeros in padding
    (pt, pb), (pl, pr) = pads  # explicit padding (without the ceil-mode extra cells)
    hp, wp = xp.shape[:2]
    rows, cols = np.arange(hp)[:, None], np.arange(wp)[None, :]
    real = (rows >= pt) & (rows < pt + h) & (cols >= pl) & (cols < pl + w)  # (Hp, Wp)
    counted = real if kind == "max" or not cip else (rows < pt + h + pb) & (cols < pl + w + pr)
    fill = xp.astype(np.float64) if kind == "max" and xp.dtype.kind == "i" else xp.copy()
    if kind == "max":
        fill[~real] = -np.inf  # the kernel pads with -inf
    oh, ow = out_hw
    kh, kw = pool
    view = window_view(fill[None], pool, strides, (1, 1), out_hw)[0]  # (OH, OW, KH, KW, C)
    im2col = view.transpose(4, 0, 1, 2, 3).reshape(c, oh * ow, kh * kw)  # (C, windows, taps)
    xl = xp.tolist()
    cells, results = [], []
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * strides[0], j * strides[1]
            for ch in range(c):
                vals = tuple(PoolValue((r, q), xl[r][q][ch], bool(real[r, q]), bool(counted[r, q]))
                             for r in range(r0, r0 + kh) for q in range(c0, c0 + kw))
                if kind == "max":
                    cands = [v for v in vals if v.real]
                    result, winner = _max(cands)
                    cell = PoolCell((i, j, ch), (r0, c0), vals, result, len(cands), winner)
                else:
                    total = sum(v.value for v in vals if v.real)
                    count = sum(v.counted for v in vals)
                    result = total / count
                    cell = PoolCell((i, j, ch), (r0, c0), vals, result, count, None, total)
                cells.append(cell)
                results.append(result)
    dtype = x.dtype if kind == "max" or x.dtype.kind == "f" else np.dtype(np.float64)
    y = np.asarray(results, dtype=np.float64 if dtype.kind == "f" else dtype)
    y = y.reshape(oh, ow, c).astype(dtype)  # (OH, OW, C)
    return PoolTrace(op, rank, x, xp, real, full, padding, tuple(pool), tuple(strides),
                     ceil_mode, cip, formulas, tuple(cells), im2col, y, layout)


def _pool2d(op, x, pool_size, strides, padding, ceil_mode, cip=False):
    ceil_mode = _flag(ceil_mode, "ceil_mode", op)
    x, layout = as_image(x, op)
    pool = as_tuple(pool_size, 2, f"{op}: pool_size")
    strides = pool if strides is None else as_tuple(strides, 2, f"{op}: strides")
    pads = resolve_padding(padding, x.shape[:2], pool, strides, (1, 1))
    return pool_trace(op, 2, x, pool, strides, pads, padding, ceil_mode, cip, layout,
                      ("rows", "cols"))


def _pool1d(op, x, pool_size, strides, padding, ceil_mode, cip=False):
    ceil_mode = _flag(ceil_mode, "ceil_mode", op)
    x, layout = as_image(x, op, rank=1)  # (1, L, C)
    (k,) = as_tuple(pool_size, 1, f"{op}: pool_size")
    (s,) = (k,) if strides is None else as_tuple(strides, 1, f"{op}: strides")
    (p,) = resolve_padding(padding, (x.shape[1],), (k,), (s,), (1,), causal_ok=True)
    return pool_trace(op, 1, x, (1, k), (1, s), ((0, 0), p), padding, ceil_mode, cip, layout,
                      ("length",))


def max_pool2d(x, pool_size, strides=None, padding="valid", ceil_mode=False) -> PoolTrace:
    """Trace 2D max pooling of x: (H, W), (H, W, C) or (1, H, W, C), as ``ops.max_pool2d``.

    >>> max_pool2d([[1, 5, 2, 0], [3, 4, 8, 1]], 2).output.tolist()
    [[5, 8]]
    """
    return _pool2d("max_pool2d", x, pool_size, strides, padding, ceil_mode)


def avg_pool2d(x, pool_size, strides=None, padding="valid", count_include_pad=False,
               ceil_mode=False) -> PoolTrace:
    """Trace 2D average pooling; the trace marks which window cells the divisor counts."""
    cip = _flag(count_include_pad, "count_include_pad", "avg_pool2d")
    return _pool2d("avg_pool2d", x, pool_size, strides, padding, ceil_mode, cip)


def max_pool1d(x, pool_size, strides=None, padding="valid", ceil_mode=False) -> PoolTrace:
    """Trace 1D max pooling of x: (L,), (L, C) or (1, L, C)."""
    return _pool1d("max_pool1d", x, pool_size, strides, padding, ceil_mode)


def avg_pool1d(x, pool_size, strides=None, padding="valid", count_include_pad=False,
               ceil_mode=False) -> PoolTrace:
    """Trace 1D average pooling of x: (L,), (L, C) or (1, L, C)."""
    cip = _flag(count_include_pad, "count_include_pad", "avg_pool1d")
    return _pool1d("avg_pool1d", x, pool_size, strides, padding, ceil_mode, cip)


__all__ = ["avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d", "pool_trace"]
