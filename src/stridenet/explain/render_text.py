"""Plain-text and Markdown renderings of traces.

A trace is first turned into a neutral document (``document``: named sections of
blocks from ``blocks`` / ``blocks_backward``), which the text, Markdown and HTML
renderers each write in their own syntax.
"""

from __future__ import annotations

from .blocks import (  # noqa: F401  (re-exported: render_text was where these lived)
    DEFAULTS,
    SECTIONS,
    cap,
    cell_blocks,
    cell_line,
    equation,
    fmt,
    grid_cells,
    grids,
    header_blocks,
    im2col_blocks,
    options,
    pad_mask,
    paren,
    size_blocks,
    sum_text,
    window_blocks,
)
from .blocks_backward import backward_document
from .trace import BackwardTrace, PoolTrace


def document(trace, o) -> dict:
    """Section name -> list of blocks."""
    if isinstance(trace, BackwardTrace):
        return backward_document(trace, o)
    pool = isinstance(trace, PoolTrace)
    hp, wp = trace.padded.shape[:2]
    word = "never selected" if pool and trace.kind == "max" else "zeros"
    pad = pad_mask(trace)
    title = f"Padded input ({hp}x{wp}; padding: {word})" if pad.any() else \
        f"Input ({hp}x{wp}, no padding)"
    doc = {"header": header_blocks(trace), "input": grids(title, trace.padded, pad),
           "size": size_blocks(trace), "windows": window_blocks(trace, o),
           "cells": cell_blocks(trace, trace.cells, o, "Cells"),
           "im2col": im2col_blocks(trace, o)}
    if not pool:
        doc["kernel"] = grids("Kernel rotated 180 degrees (applied)" if trace.flip else "Kernel",
                               trace.applied)
    y3 = trace.y if pool else trace.y[:, :, None]
    doc["output"] = grids(f"Output ({'x'.join(map(str, trace.y.shape[:2]))})", y3)
    return doc


# ----------------------------------------------------------------------------- writers

def _is_number(v) -> bool:
    try:
        float(str(v).strip("()|").replace(",", ""))
        return True
    except ValueError:
        return str(v).strip() in ("", "...", ".", "inf", "-inf", "nan")


def _aligned(head, rows) -> list[str]:
    """Columns padded to one width: numbers right-aligned, text left-aligned."""
    cols = range(len(head))
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in cols]
    right = [all(_is_number(r[i]) for r in rows) for i in cols]

    def line(r):
        return "  ".join(str(v).rjust(w) if rt else str(v).ljust(w)
                         for v, w, rt in zip(r, widths, right)).rstrip()

    return [line(head)] + [line(r) for r in rows]


def _text_block(block, o) -> list[str]:
    kind = block[0]
    if kind == "title":
        return [block[1], "=" * len(block[1])]
    if kind in ("para", "note"):
        return [block[1] if kind == "para" else f"({block[1]})"]
    if kind == "grid":
        _, title, arr, pad = block
        body, nr, nc = grid_cells(arr, pad, o)
        more = " ..." if nc < arr.shape[1] else ""
        lines = [f"{title}:" + (" '.' marks padding" if pad is not None and pad.any() else "")]
        lines += ["  " + s + more for s in _aligned(
            ["", *map(str, range(nc))], [[f"{r} |", *row] for r, row in enumerate(body)])]
        if nr < arr.shape[0]:
            lines.append(f"  ... ({arr.shape[0] - nr} more rows; max_grid=None shows all)")
        return lines
    if kind == "table":
        _, title, head, rows = block
        return ([f"{title}:"] if title else []) + ["  " + s for s in _aligned(head, rows)]
    _, title, eqs = block  # "eqs"
    return ([f"{title}:"] if title else []) + [f"{l} = {b} = {r}" for l, b, r in eqs]


def _md_escape(s) -> str:
    return str(s).replace("|", "\\|")


def md_table(head, rows) -> list[str]:
    return (["| " + " | ".join(_md_escape(h) for h in head) + " |",
             "|" + "---|" * len(head)]
            + ["| " + " | ".join(_md_escape(v) for v in r) + " |" for r in rows])


def _md_block(block, o) -> list[str]:
    kind = block[0]
    if kind == "title":
        return [f"### {block[1]}"]
    if kind == "para":
        return [block[1]]
    if kind == "note":
        return [f"_({block[1]})_"]
    if kind == "grid":
        _, title, arr, pad = block
        body, nr, nc = grid_cells(arr, pad, o, mark=lambda s: f"*{s}*")
        rows = [[f"**{r}**", *row] + (["..."] if nc < arr.shape[1] else [])
                for r, row in enumerate(body)]
        head = ["", *map(str, range(nc))] + (["..."] if nc < arr.shape[1] else [])
        note = " (padding in *italics*)" if pad is not None and pad.any() else ""
        tail = [f"_({arr.shape[0] - nr} more rows)_"] if nr < arr.shape[0] else []
        return [f"**{title}**{note}", "", *md_table(head, rows), *tail]
    if kind == "table":
        _, title, head, rows = block
        return ([f"**{title}**", ""] if title else []) + md_table(head, rows)
    _, title, eqs = block
    rows = [[f"`{l}`", f"`{b}`", f"`{r}`"] for l, b, r in eqs]
    return ([f"**{title}**", ""] if title else []) + md_table(["cell", "computation", "result"],
                                                              rows)


def _write(trace, writer, sep, opts) -> str:
    o = options(**opts)
    doc = document(trace, o)
    order = o["sections"] or SECTIONS
    unknown = set(order) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown section(s) {sorted(unknown)}; known: {list(SECTIONS)}")
    out = []
    for name in order:
        for block in doc.get(name, []):
            out.append("\n".join(writer(block, o)))
    return sep.join(out)


def render_text(trace, **opts) -> str:
    """The whole trace as plain text (options: max_cells, max_terms, max_grid, precision,
    sections -- a subset of SECTIONS, in the order to print)."""
    return _write(trace, _text_block, "\n\n", opts)


def render_markdown(trace, **opts) -> str:
    """The trace as Markdown: grids and im2col as tables, sums in code spans."""
    return _write(trace, _md_block, "\n\n", opts)


__all__ = ["DEFAULTS", "SECTIONS", "cap", "cell_blocks", "cell_line", "document", "equation",
           "fmt", "grid_cells", "grids", "header_blocks", "md_table", "options", "pad_mask",
           "paren", "render_markdown", "render_text", "sum_text"]
