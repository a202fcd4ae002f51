"""The neutral document of a trace: named sections of blocks (paragraphs, grids,
equations, tables) that the text, Markdown and HTML renderers each write in their own
syntax, plus the number formatting they share.

Long traces stay readable: ``max_cells`` output cells (and im2col rows), ``max_terms``
products per sum and ``max_grid`` rows/cols per matrix are kept, each cut followed by
a note (pass None for no limit). Renderers import this module; traces never do.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .trace import PoolTrace, cell_label

DEFAULTS = {"max_cells": 24, "max_terms": 27, "max_grid": 16, "precision": 4, "sections": None}
SECTIONS = ("header", "input", "kernel", "size", "windows", "cells", "im2col", "output",
            "dy", "dkernel", "dx", "dbias")


def options(**given) -> dict:
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown rendering option(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    o = {**DEFAULTS, **given}
    for key in ("max_cells", "max_terms", "max_grid"):
        v = o[key]
        if v is not None and (not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 1):
            raise ValueError(f"{key} must be a positive int or None (no limit), got {v!r}")
    return o


def fmt(v, precision: int = 4) -> str:
    """An integer as is; a float as an integer when whole, else with ``precision`` digits."""
    if isinstance(v, numbers.Integral):
        return str(int(v))
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "-inf" if v < 0 else "inf"
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.{precision}g}"


def paren(v, precision: int = 4) -> str:
    s = fmt(v, precision)
    return f"({s})" if s.startswith("-") else s


def cap(n: int, limit) -> int:
    return n if limit is None else min(n, limit)


def _cut(items, limit, sep, word="terms") -> str:
    shown = items[:cap(len(items), limit)]
    more = f"{sep}... ({len(items) - len(shown)} more {word})" if len(shown) < len(items) else ""
    return sep.join(shown) + more


def sum_text(terms, precision=4, max_terms=None) -> str:
    """``(-1)*2 + 0*7 + ...``: weight first, negative numbers in parentheses."""
    return _cut([f"{paren(t.weight, precision)}*{paren(t.value, precision)}" for t in terms],
                max_terms, " + ")


def equation(trace, cell, precision=4, max_terms=None) -> tuple:
    """(label, computation, result) of one output cell."""
    p = precision
    if isinstance(trace, PoolTrace):
        label = cell_label(trace.rank, cell.index, trace.x.shape[-1])
        if trace.kind == "max":
            vals = [fmt(v.value, p) for v in cell.values if v.real]
            skipped = len(cell.values) - len(vals)
            note = f"   ({skipped} padding cell(s) skipped)" if skipped else ""
            body = f"max({_cut(vals, max_terms, ', ', 'values')})"
            return label, body, fmt(cell.result, p) + note
        vals = [fmt(v.value, p) for v in cell.values if v.counted]
        left = len(cell.values) - len(vals)
        note = f"   ({left} padding cell(s) not counted)" if left else ""
        return (label, f"({_cut(vals, max_terms, ' + ', 'values')}) / {cell.count}",
                fmt(cell.result, p) + note)
    body = sum_text(cell.terms, p, max_terms)
    if getattr(cell, "bias", None) is not None:
        body += f" + {paren(cell.bias, p)} (bias)"
    return cell_label(trace.rank, cell.index), body, fmt(cell.total, p)


def cell_line(trace, cell, precision=4, max_terms=None) -> str:
    """``out[1,1] = (-1)*2 + 0*7 + ... = 14``."""
    label, body, result = equation(trace, cell, precision, max_terms)
    return f"{label} = {body} = {result}"


def pad_mask(trace) -> np.ndarray:
    """(Hp, Wp) bool: the padding cells of a trace's padded input."""
    if isinstance(trace, PoolTrace):
        return ~trace.real
    hp, wp = trace.padded.shape[:2]
    (t, _), (l, _) = trace.pads
    h, w = trace.x.shape[:2]
    r, c = np.arange(hp)[:, None], np.arange(wp)[None, :]
    return ~((r >= t) & (r < t + h) & (c >= l) & (c < l + w))


# ----------------------------------------------------------------------------- document

def grids(title, arr3, pad=None) -> list:
    """(H, W, C) -> one grid block per channel."""
    c = arr3.shape[-1]
    return [("grid", title + (f" channel {ch}" if c > 1 else ""), arr3[:, :, ch], pad)
            for ch in range(c)]


def _pads_text(trace) -> str:
    (t, b), (l, r) = trace.pads
    if trace.rank == 1:
        return f"{l} before, {r} after"
    return f"top {t}, bottom {b}, left {l}, right {r}"


def size_blocks(trace) -> list:
    dil = any(f.d != 1 for f in trace.formulas)
    general = ("(n + p_before + p_after - d*(k-1) - 1) / s" if dil
               else "(n + p_before + p_after - k) / s")
    ceil = bool(trace.formulas) and trace.formulas[0].ceil_mode
    notes = any(f.note for f in trace.formulas)
    rows = [[f.axis, f.formula] + ([f.note] if notes else []) for f in trace.formulas]
    return [("para", f"Output size: out = {'ceil' if ceil else 'floor'}({general}) + 1"),
            ("table", "", ["axis", "formula"] + (["padding"] if notes else []), rows)]


def window_blocks(trace, o) -> list:
    oh, ow = trace.y.shape[:2]
    nr, nc = cap(oh, o["max_grid"]), cap(ow, o["max_grid"])
    by_cell = {(w[0], w[1]): (w[2], w[3]) for w in trace.windows}
    rows = [[f"out[{i},*]" if trace.rank == 2 else "out[*]"]
            + [(f"({by_cell[i, j][0]},{by_cell[i, j][1]})" if trace.rank == 2
                else str(by_cell[i, j][1])) for j in range(nc)] for i in range(nr)]
    head = [""] + [str(j) for j in range(nc)]
    blocks = [("table", "Window top-left corners (row, col) in the padded input"
               if trace.rank == 2 else "Window starts in the padded input", head, rows)]
    if (nr, nc) != (oh, ow):
        blocks.append(("note", f"windows cut to {nr}x{nc} of {oh}x{ow} (max_grid)"))
    return blocks


def im2col_blocks(trace, o) -> list:
    if isinstance(trace, PoolTrace):
        labels = [f"x[{a},{b}]" if trace.rank == 2 else f"x[{b}]"
                  for a in range(trace.pool[0]) for b in range(trace.pool[1])]
        mats = [(f", channel {ch}" if trace.x.shape[-1] > 1 else "", trace.im2col[ch])
                for ch in range(trace.x.shape[-1])]
    else:
        labels, mats = list(trace.im2col_columns), [("", trace.im2col)]
    blocks = []
    for suffix, m in mats:
        rows, cols = m.shape
        nr, nc = cap(rows, o["max_cells"]), cap(cols, o["max_terms"])
        body = [[cell_label(trace.rank, divmod(r, trace.y.shape[1]))]
                + [fmt(v, o["precision"]) for v in m[r, :nc]] for r in range(nr)]
        what = "window cells" if isinstance(trace, PoolTrace) else "kernel taps"
        blocks.append(("table", f"im2col{suffix}: {rows} windows x {cols} taps (rows = windows, "
                       f"cols = {what})", ["window"] + labels[:nc], body))
        if (nr, nc) != (rows, cols):
            blocks.append(("note", f"im2col cut to {nr}x{nc} (max_cells rows, max_terms cols)"))
    return blocks


def header_blocks(trace) -> list:
    r = trace.rank
    if isinstance(trace, PoolTrace):
        extra = f", count_include_pad={trace.count_include_pad}" if trace.kind == "avg" else ""
        return [("title", trace.op),
                ("para", f"windows of {'x'.join(map(str, trace.pool[2 - r:]))}, strides "
                 f"{trace.strides[2 - r:]}, padding {trace.padding!r} ({_pads_text(trace)}), "
                 f"ceil_mode={trace.ceil_mode}{extra}")]
    shape = "x".join(map(str, trace.x.shape[2 - r:]))
    k = "x".join(map(str, trace.kernel.shape[2 - r:2]))
    blocks = [("title", f"{trace.op} ({'convolution' if trace.flip else 'cross-correlation'})"),
              ("para", f"{shape} input, {k} kernel, strides {trace.strides[2 - r:]}, dilation "
               f"{trace.dilation[2 - r:]}, padding {trace.padding!r} ({_pads_text(trace)})")]
    if trace.flip:
        blocks.append(("para", "flip_kernel=True: the kernel is rotated 180 degrees first "
                       "(true convolution)"))
    return blocks


def cell_blocks(trace, cells, o, title="", name=None) -> list:
    """The equations of (at most max_cells) cells; ``name`` labels gradient cells (dw, dx)."""
    n = cap(len(cells), o["max_cells"])
    if name is None:
        eqs = [equation(trace, c, o["precision"], o["max_terms"]) for c in cells[:n]]
    else:
        eqs = [(cell_label(trace.rank, c.index, trace.x.shape[-1], name),
                sum_text(c.terms, o["precision"], o["max_terms"]), fmt(c.total, o["precision"]))
               for c in cells[:n]]
    blocks = [("eqs", title, eqs)]
    if n < len(cells):
        blocks.append(("note", f"{n} of {len(cells)} cells shown; max_cells=None shows all"))
    return blocks


def grid_cells(arr, pad, o, mark=lambda s: ".") -> tuple:
    """-> (rows of strings, rows shown, cols shown) of a capped 2D grid; ``mark`` writes a
    padding cell (given its formatted value)."""
    rows, cols = arr.shape
    nr, nc = cap(rows, o["max_grid"]), cap(cols, o["max_grid"])
    body = [[mark(fmt(arr[r, c], o["precision"])) if pad is not None and pad[r, c]
             else fmt(arr[r, c], o["precision"]) for c in range(nc)] for r in range(nr)]
    return body, nr, nc


__all__ = ["DEFAULTS", "SECTIONS", "cap", "cell_blocks", "cell_line", "equation", "fmt",
           "grid_cells", "grids", "header_blocks", "im2col_blocks", "options", "pad_mask",
           "paren", "size_blocks", "sum_text", "window_blocks"]
