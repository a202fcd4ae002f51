"""Text and HTML renderings of the transposed-convolution and 3D-conv-cell traces.

Reads the traces of ``transpose`` / ``conv3d``; never recomputes the math.
"""

from __future__ import annotations

import html

import numpy as np

from .blocks import fmt, options, paren
from .render_text import render_text


def _idx(rank, idx) -> str:
    return ",".join(str(v) for v in (idx if rank == 2 else idx[1:]))


def _grid(arr, o, indent="  ") -> list[str]:
    """(H, W) -> rows of right-aligned numbers (a height-1 array prints one row)."""
    p, limit = o["precision"], o["max_grid"]
    rows = [[fmt(v, p) for v in row[:limit]] for row in np.asarray(arr).tolist()[:limit]]
    width = max((len(v) for r in rows for v in r), default=1)
    return [indent + " ".join(v.rjust(width) for v in r) for r in rows]


def _sizes(t) -> list[str]:
    lines = ["Output size (transposed convolution, k' = (k - 1)*d + 1):",
             "  'valid': (n - 1)*s + k' + (output_padding, else max(k', s) - k');  'same': n*s, "
             "or (n - 1)*s + k' % 2 + output_padding"]
    for f in t.formulas:
        lines.append(f"  {f.axis}: {f.formula}" + (f"   ({f.note})" if f.note else ""))
    return lines


def _header(t) -> list[str]:
    r = t.rank
    shape = "x".join(map(str, t.x.shape[2 - r:2]))
    kshape = "x".join(map(str, t.kernel.shape[2 - r:2]))
    st, di = t.strides[2 - r:], t.dilation[2 - r:]
    title = f"{t.op} (transposed convolution)"
    extra = "" if t.output_padding is None else f", output_padding {t.output_padding}"
    return [title, "=" * len(title), "",
            f"{shape} input, {t.x.shape[-1]} channel(s), {kshape} kernel, strides {st}, "
            f"dilation {di}, padding '{t.padding}'{extra}"]


def _patch_lines(t, o) -> list[str]:
    r, p = t.rank, o["precision"]
    kh, kw = t.patches[0].patch.shape
    lines = [f"View 1: patch spreading -- each input cell times the kernel is added into a "
             f"{kh}x{kw} patch of the output" if r == 2 else
             f"View 1: patch spreading -- each input cell times the kernel is added into "
             f"{kw} output cells", f"  (patch starts at input index * stride - crop, crop "
             f"{', '.join(map(str, t.crop[2 - r:]))}; products outside the output are "
             f"cropped)"]
    channels = t.kernel.shape[2]
    for ch in range(channels):
        lines += [f"Kernel{f' channel {ch}' if channels > 1 else ''}:"]
        lines += _grid(t.kernel[:, :, ch], o)
    if channels > 1:
        lines.append("  (each patch sums its channels' products)")
    shown = t.patches[:o["max_cells"] or None]
    for pt in shown:
        val = fmt(pt.values[0], p) if len(pt.values) == 1 else \
            "(" + ", ".join(fmt(v, p) for v in pt.values) + ")"
        rows = f"rows {pt.origin[0]}..{pt.origin[0] + kh - 1}, " if r == 2 else ""
        where = f"{rows}{'cols' if r == 2 else 'cells'} {pt.origin[1]}..{pt.origin[1] + kw - 1}"
        cut = f"; {pt.cropped} tap(s) cropped" if pt.cropped else ""
        lines.append(f"x[{_idx(r, pt.src)}] = {val} -> out {where}{cut}:")
        lines += _grid(pt.patch, o, "    ")
    if len(shown) < len(t.patches):
        lines.append(f"({len(shown)} of {len(t.patches)} patches shown)")
    return lines


def _contrib_lines(t, o) -> list[str]:
    r, p, mt = t.rank, o["precision"], o["max_terms"]
    lines = ["Contributions per output cell:"]
    cells = t.cells[:o["max_cells"] or None]
    for cell in cells:
        parts = [f"x[{_idx(r, c.src[:2])}{',' + str(c.src[2]) if t.x.shape[2] > 1 else ''}]"
                 f"*w[{_idx(r, c.tap[:2])}{',' + str(c.tap[2]) if t.x.shape[2] > 1 else ''}]"
                 for c in cell.contributions]
        nums = [f"{paren(c.value, p)}*{paren(c.weight, p)}" for c in cell.contributions]
        if mt is not None and len(parts) > mt:
            more = f" + ... ({len(parts) - mt} more)"
            parts, nums = parts[:mt], nums[:mt]
        else:
            more = ""
        bias = "" if t.bias is None else f" + {paren(t.bias, p)}"
        label = f"out[{_idx(r, cell.index)}]"
        if not parts:
            lines.append(f"{label} = {'no patch reaches it' if t.bias is None else 'bias'}"
                         f"{bias} = {fmt(cell.total, p)}")
            continue
        lines.append(f"{label} = {' + '.join(parts)}{more}{bias}")
        lines.append(f"{' ' * len(label)} = {' + '.join(nums)}{more}{bias} = "
                     f"{fmt(cell.total, p)}")
    if len(cells) < len(t.cells):
        lines.append(f"({len(cells)} of {len(t.cells)} cells shown; max_cells=None shows all)")
    return lines


def render_transpose_text(t, **opts) -> str:
    o = options(**opts)
    r = t.rank
    s = t.strides[2 - r:]
    z = t.zero_inserted
    view2 = render_text(z, **{**opts, "sections": ("input", "kernel", "size", "cells")})
    zs = "x".join(map(str, z.x.shape[2 - r:2]))
    zp = "x".join(map(str, z.padded.shape[2 - r:2]))
    out = "x".join(map(str, t.y.shape[2 - r:]))
    verdict = ("Both views give the same output" if t.agree else
               "WARNING: the two views differ")
    parts = [
        "\n".join(_header(t)), "\n".join(_sizes(t)),
        "\n".join(_patch_lines(t, o)), "\n".join(_contrib_lines(t, o)),
        f"View 2: zero insertion + kernel rotated 180 degrees -- s - 1 = "
        f"{', '.join(str(v - 1) for v in s)} zero(s) between input cells ({zs}), "
        f"k' - 1 - crop = {', '.join(str(p0) for p0, _ in z.pads[2 - r:])} zero(s) before "
        f"and {', '.join(str(p1) for _, p1 in z.pads[2 - r:])} after ({zp}), then an "
        f"ordinary stride-1 convolution with the rotated kernel",
        view2, f"Output ({out}):\n" + "\n".join(_grid(t.y, o)),
        f"{verdict} ({out}); it is the input gradient of the {r}D convolution with the "
        f"same kernel, strides and padding, and equals stridenet.ops.conv_transpose.",
    ]
    return "\n\n".join(parts)


def render_transpose_html(t, full_page: bool = False, **opts) -> str:
    body = f"<pre class=\"stridenet-explain\">{html.escape(t.to_text(**opts))}</pre>"
    if not full_page:
        return body
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(t.op)}"
            f"</title></head><body>{body}</body></html>")


def render_conv3d_text(t, **opts) -> str:
    o = options(**opts)
    p, mt = o["precision"], o["max_terms"]
    d, h, w = t.cell_index
    title = f"conv3d, one output cell: out[{d},{h},{w}]"
    lines = [title, "=" * len(title), "",
             f"{'x'.join(map(str, t.x.shape[:3]))} input (D, H, W), {t.x.shape[3]} channel(s),"
             f" {'x'.join(map(str, t.kernel.shape[:3]))} kernel, strides {t.strides}, "
             f"dilation {t.dilation}, padding {t.padding!r} -> pads {t.pads}", "",
             "Output size per axis:"]
    lines += [f"  {f.axis}: {f.formula}" + (f"   ({f.note})" if f.note else "")
              for f in t.formulas]
    lines += ["", f"Window (input coordinates the taps read; outside the input = padding, "
              f"read as 0, shown '.'): depth {list(t.window[0])}, rows {list(t.window[1])}, "
              f"cols {list(t.window[2])}"]
    kd = t.patch.shape[0]
    for a in range(kd):
        for ch in range(t.patch.shape[3]):
            lines.append(f"  depth tap {a} (input depth {t.window[0][a]})"
                         + (f", channel {ch}" if t.patch.shape[3] > 1 else "") + ":")
            cells = [["." if q else fmt(v, p) for v, q in zip(row, pad)] for row, pad in
                     zip(t.patch[a, :, :, ch].tolist(), t.patch_pad[a].tolist())]
            width = max(len(v) for r in cells for v in r)
            lines += ["    " + " ".join(v.rjust(width) for v in r) for r in cells]
    lines += ["", "Products per tap and channel (w[a,b,c,ch] * x[depth,row,col,ch]):"]
    terms = t.terms if mt is None else t.terms[:max(mt, 1) * 4]
    for term in terms:
        a, b, c, ch = term.tap
        zd, zr, zc = term.pos[:3]
        where = "pad" if term.padded else f"x[{zd},{zr},{zc},{ch}]"
        lines.append(f"  w[{a},{b},{c},{ch}] * {where} = {paren(term.weight, p)}*"
                     f"{paren(term.value, p)} = {fmt(term.product, p)}")
    if len(terms) < len(t.terms):
        lines.append(f"  ... ({len(t.terms) - len(terms)} more taps)")
    bias = "" if t.bias is None else f" + bias {paren(t.bias, p)}"
    shown = t.terms if mt is None else t.terms[:mt]
    more = f" + ... ({len(t.terms) - len(shown)} more)" if len(shown) < len(t.terms) else ""
    lines += ["", f"Sum: out[{d},{h},{w}] = {' + '.join(paren(x.product, p) for x in shown)}"
              f"{more}{bias} = {fmt(t.total, p)}", "",
              f"(stridenet.ops.conv3d gives this value at [0, {d}, {h}, {w}, 0]; output "
              f"(D, H, W) = {t.out_shape})"]
    return "\n".join(lines)


__all__ = ["render_conv3d_text", "render_transpose_html", "render_transpose_text"]
