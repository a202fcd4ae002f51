"""HTML rendering of traces: tables, with each output cell's window highlighted.

The overview (formulas, grids, im2col) is the same document as the text and
Markdown forms; the cells section becomes one panel per output cell: the padded
input with the window's cells highlighted, the kernel, the output with the cell
it fills highlighted, and the sum. Jupyter shows it through ``trace._repr_html_``.
"""

from __future__ import annotations

from html import escape

from .blocks import SECTIONS, cap, equation, grid_cells, options, pad_mask
from .render_text import document
from .trace import BackwardTrace, PoolTrace

STYLE = """
.sn-explain { font-family: system-ui, sans-serif; font-size: 13px; }
.sn-explain table { border-collapse: collapse; margin: 4px 12px 8px 0; }
.sn-explain td, .sn-explain th { border: 1px solid #ccc; padding: 2px 6px;
  text-align: right; font-family: ui-monospace, monospace; }
.sn-explain th { background: #f4f4f4; color: #555; font-weight: normal; }
.sn-explain td.pad { color: #aaa; background: #f3f3f3; }
.sn-explain td.win { background: #ffd966; font-weight: bold; color: #000; }
.sn-explain td.skip { background: #fff2cc; color: #999; }
.sn-explain td.best { background: #f4a261; outline: 2px solid #c0392b; }
.sn-explain td.hit { background: #8ecae6; font-weight: bold; outline: 2px solid #1d6fa5; }
.sn-explain .panel { display: flex; align-items: flex-start; flex-wrap: wrap; }
.sn-explain .panel > div { margin-right: 12px; }
.sn-explain .cap { color: #555; font-size: 12px; margin: 2px 0; }
.sn-explain code { white-space: pre-wrap; }
.sn-explain .note { color: #777; font-style: italic; }
"""


def _table(arr, o, pad=None, classes=None, caption="") -> str:
    """A 2D grid as an HTML table; ``classes`` maps (row, col) to a CSS class."""
    body, nr, nc = grid_cells(arr, pad, o, mark=lambda s: s)
    more = nc < arr.shape[1]
    head = "<tr><th></th>" + "".join(f"<th>{c}</th>" for c in range(nc)) + \
        ("<th>...</th>" if more else "") + "</tr>"
    rows = []
    for r, row in enumerate(body):
        tds = []
        for c, v in enumerate(row):
            cls = (classes or {}).get((r, c)) or ("pad" if pad is not None and pad[r, c] else "")
            tds.append(f'<td class="{cls}">{escape(v)}</td>' if cls else f"<td>{escape(v)}</td>")
        rows.append(f"<tr><th>{r}</th>{''.join(tds)}{'<td>...</td>' if more else ''}</tr>")
    if nr < arr.shape[0]:
        rows.append(f'<tr><td colspan="{nc + 1}" class="note">{arr.shape[0] - nr} more rows'
                    "</td></tr>")
    cap_html = f'<div class="cap">{escape(caption)}</div>' if caption else ""
    return f"{cap_html}<table>{head}{''.join(rows)}</table>"


def _block(block, o) -> str:
    kind = block[0]
    if kind == "title":
        return f"<h3>{escape(block[1])}</h3>"
    if kind == "para":
        return f"<p>{escape(block[1])}</p>"
    if kind == "note":
        return f'<p class="note">({escape(block[1])})</p>'
    if kind == "grid":
        _, title, arr, pad = block
        return _table(arr, o, pad, caption=title)
    if kind == "table":
        _, title, head, rows = block
        th = "".join(f"<th>{escape(str(h))}</th>" for h in head)
        trs = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in r) + "</tr>"
                      for r in rows)
        return (f'<div class="cap">{escape(title)}</div>' if title else "") + \
            f"<table><tr>{th}</tr>{trs}</table>"
    _, title, eqs = block
    trs = "".join(f"<tr><th>{escape(l)}</th><td style='text-align:left'><code>{escape(b)}</code>"
                  f"</td><td>{escape(r)}</td></tr>" for l, b, r in eqs)
    return (f'<div class="cap">{escape(title)}</div>' if title else "") + f"<table>{trs}</table>"


def _window_classes(trace, cell) -> dict:
    """(row, col) -> CSS class for the cells of one window in the padded input."""
    if isinstance(trace, PoolTrace):
        out = {}
        for v in cell.values:
            use = v.real if trace.kind == "max" else v.counted
            out[v.pos] = "win" if use else "skip"
        if cell.winner is not None:
            out[cell.winner] = "best"
        return out
    return {t.pos[:2]: "win" for t in cell.terms}


def _cell_panel(trace, cell, o) -> str:
    pool = isinstance(trace, PoolTrace)
    label, body, result = equation(trace, cell, o["precision"], o["max_terms"])
    pad = pad_mask(trace)
    classes = _window_classes(trace, cell)
    chans = [cell.index[2]] if pool else range(trace.padded.shape[-1])
    parts = []
    for ch in chans:
        title = ("padded input" if pad.any() else "input") + (
            f", channel {ch}" if trace.padded.shape[-1] > 1 else "")
        parts.append(_table(trace.padded[:, :, ch], o, pad, classes, title))
    if not pool:
        for ch in range(trace.applied.shape[-1]):
            title = "kernel" + (f", channel {ch}" if trace.applied.shape[-1] > 1 else "")
            parts.append(_table(trace.applied[:, :, ch], o, caption=title))
    y2 = trace.y[:, :, cell.index[2]] if pool else trace.y
    parts.append(_table(y2, o, classes={tuple(cell.index[:2]): "hit"}, caption="output"))
    eq = escape(f"{label} = {body} = {result}")
    return ("<div class='panel'>" + "".join(f"<div>{p}</div>" for p in parts) + "</div>"
            f"<p><code>{eq}</code></p>")


def render_html(trace, full_page: bool = False, **opts) -> str:
    """The trace as an HTML fragment (a whole page with ``full_page=True``)."""
    o = options(**opts)
    doc = document(trace, o)
    order = o["sections"] or SECTIONS
    parts = []
    for name in order:
        if name == "cells" and not isinstance(trace, BackwardTrace):
            n = cap(len(trace.cells), o["max_cells"])
            best = "; orange: the maximum" if getattr(trace, "kind", "") == "max" else ""
            parts.append(f"<h4>Cells (yellow: the window{best}; blue: the output cell)</h4>")
            parts += [_cell_panel(trace, c, o) for c in trace.cells[:n]]
            if n < len(trace.cells):
                parts.append(f'<p class="note">({n} of {len(trace.cells)} cells shown; '
                             "max_cells=None shows all)</p>")
            continue
        parts += [_block(b, o) for b in doc.get(name, [])]
    html = f'<div class="sn-explain"><style>{STYLE}</style>{"".join(parts)}</div>'
    if full_page:
        title = escape(getattr(trace, "op", "stridenet explain"))
        return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title>'
                f"</head><body>\n{html}\n</body></html>\n")
    return html


__all__ = ["render_html"]
