"""Figures of a trace: the window over the (padded) input and the output cell it fills.

``trace_figure(trace, cell)`` draws one step; ``save_gif(trace, path)`` animates all
steps (``matplotlib.animation.PillowWriter``). matplotlib is imported only here,
only when a figure is asked for; it draws on its Agg canvas (no GUI backend).
Backward traces animate the input gradient: the rotated kernel sliding over dy_full.
"""

from __future__ import annotations

import os
import textwrap

import numpy as np

from ..io import atomic_path
from .blocks import equation, fmt, pad_mask, sum_text
from .trace import BackwardTrace, PoolTrace, cell_label

ANNOTATE_MAX = 20  # write the numbers into grids up to this many rows/cols
MAX_CHANNELS = 3  # input channels drawn side by side (the equation has them all)
EQ_FONT = 9  # points
EQ_LINES = 3  # the equation under the grids wraps to at most this many lines
EQ_LINE_IN = 0.17  # inches per equation line


def _mpl():
    try:
        import matplotlib
        from matplotlib.animation import PillowWriter
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("stridenet.explain figures need matplotlib (and Pillow for GIFs): "
                          "pip install 'stridenet[plot]'") from e
    return matplotlib, Figure, FigureCanvasAgg, Rectangle, PillowWriter


def _cells(trace):
    return trace.dx_cells if isinstance(trace, BackwardTrace) else trace.cells


def _cell_number(trace, cell) -> int:
    cells = _cells(trace)
    if isinstance(cell, int | np.integer) and not isinstance(cell, bool):
        if not -len(cells) <= cell < len(cells):
            raise ValueError(f"cell {cell} is out of range: the trace has {len(cells)} cells")
        return int(cell) % len(cells)
    want = tuple(cell)
    for k, c in enumerate(cells):
        if tuple(c.index[:len(want)]) == want:
            return k
    shape = trace.dx.shape if isinstance(trace, BackwardTrace) else trace.y.shape
    raise ValueError(f"no output cell {want}; the output has shape {shape}")


def _step(trace, k):
    """-> (sources, aux, target, equation) for step k.

    sources: [(title, arr2d, pad mask or None, {(r, c): style})], aux: [(title, arr2d)],
    target: (title, arr2d, filled mask, (i, j)); equation: (label, body, result).
    """
    cells = _cells(trace)
    cell = cells[k]
    if isinstance(trace, BackwardTrace):
        ch = cell.index[2]
        styles = {t.pos[:2]: "win" for t in cell.terms}
        eq = _eq_of(trace, cell)
        target_arr = trace.dx[:, :, ch]
        same = [c for c in cells[:k + 1] if c.index[2] == ch]
        (top, _), (left, _) = trace.full_pads
        sh, sw = trace.forward.strides
        zero = np.ones(trace.dy_full.shape, dtype=bool)  # inserted or padding zeros
        oh, ow = trace.dy.shape
        zero[top:top + (oh - 1) * sh + 1:sh, left:left + (ow - 1) * sw + 1:sw] = False
        return ([("dy_full (dy spread by the stride, padded)", trace.dy_full, zero, styles)],
                [("rot180(kernel)", trace.rotated[:, :, ch])],
                ("dx (input gradient)", target_arr, _filled(target_arr, same), cell.index[:2]), eq)
    eq = equation(trace, cell)
    pad = pad_mask(trace)
    word = "padded input" if pad.any() else "input"
    if isinstance(trace, PoolTrace):
        ch = cell.index[2]
        styles = {v.pos: ("win" if (v.real if trace.kind == "max" else v.counted) else "skip")
                  for v in cell.values}
        if cell.winner is not None:
            styles[cell.winner] = "best"
        same = [c for c in cells[:k + 1] if c.index[2] == ch]
        y = trace.y[:, :, ch]
        channel = f" channel {ch}" if trace.padded.shape[-1] > 1 else ""
        return ([(word + channel, trace.padded[:, :, ch], pad, styles)], [],
                (f"{trace.kind} pool output{channel}", y, _filled(y, same), cell.index[:2]), eq)
    channels = trace.padded.shape[-1]
    shown = min(channels, MAX_CHANNELS)
    more = f" (+{channels - shown} more not drawn)" if channels > shown else ""
    sources, aux = [], []
    for ch in range(shown):
        styles = {t.pos[:2]: "win" for t in cell.terms if t.pos[2] == ch}
        name = f" channel {ch}" if channels > 1 else ""
        tail = more if ch == shown - 1 else ""
        sources.append((word + name + tail, trace.padded[:, :, ch], pad, styles))
        aux.append(("kernel" + name, trace.applied[:, :, ch]))
    return sources, aux, ("output", trace.y, _filled(trace.y, cells[:k + 1]), cell.index[:2]), eq


def _filled(arr, done) -> np.ndarray:
    mask = np.zeros(arr.shape, dtype=bool)
    for c in done:
        mask[c.index[0], c.index[1]] = True
    return mask


def _cell_text(v) -> str:
    """A grid number: 3 significant digits, never a rounded float that looks whole."""
    s = fmt(v, 3)
    if isinstance(v, float | np.floating) and not float(v).is_integer() and s.lstrip("-").isdigit():
        s = f"{float(v):#.3g}"  # 1.998 -> "2.00", not "2"
        s = f"{float(v):.1f}" if s.endswith(".") else s
    return s


def _cell_points(ax, fig, shape) -> float:
    """The side of one grid cell in points (imshow keeps cells square)."""
    box = ax.get_position()
    w, h = fig.get_size_inches()
    return 72 * min(box.width * w / max(shape[1], 1), box.height * h / max(shape[0], 1))


def _draw_grid(ax, arr, Rectangle, mask=None, styles=None, hit=None, cmap="Blues",
               bad="#e0e0e0", rank=2):
    import matplotlib

    a = np.asarray(arr, dtype=np.float64)
    shown = np.ma.masked_array(a, mask=mask if mask is not None else np.zeros(a.shape, bool))
    finite = a[np.isfinite(a)]  # the whole grid: colours stay put from frame to frame
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    hi = hi if hi > lo else lo + 1
    cm = matplotlib.colormaps[cmap].with_extremes(bad=bad)
    # the smallest value gets a light tint, so it never looks like an empty (white) cell
    ax.imshow(shown, cmap=cm, vmin=lo - 0.2 * (hi - lo), vmax=hi, alpha=0.55)
    if max(a.shape) <= ANNOTATE_MAX:
        labels = {rc: _cell_text(v) for rc, v in np.ndenumerate(np.asarray(arr))}
        side = _cell_points(ax, ax.figure, a.shape)
        longest = max(len(t) for t in labels.values())
        size = max(4.5, min(9.0, 0.5 * side, 0.8 * side / (0.62 * longest)))  # fits the cell
        for (r, c), text in labels.items():
            if mask is not None and mask[r, c] and bad == "white":
                continue
            ax.text(c, r, text, ha="center", va="center", fontsize=size,
                    color="#777" if mask is not None and mask[r, c] else "black")
    colors = {"win": ("#ff8c00", "#ffd966", 2), "skip": ("#bbbbbb", "#fff2cc", 2),
              "best": ("#c0392b", "#f4a261", 3.5)}
    for (r, c), style in sorted((styles or {}).items(), key=lambda kv: kv[1] == "best"):
        edge, face, width = colors[style]  # the winner last, so its frame is on top
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=face, edgecolor=edge,
                               linewidth=width, alpha=0.6, zorder=2))
    if hit is not None:
        ax.add_patch(Rectangle((hit[1] - 0.5, hit[0] - 0.5), 1, 1, fill=False,
                               edgecolor="#1d6fa5", linewidth=3, zorder=3))
    ax.set_xticks(range(a.shape[1]) if a.shape[1] <= ANNOTATE_MAX else [])
    ax.set_yticks(range(a.shape[0]) if a.shape[0] <= ANNOTATE_MAX and rank == 2 else [])
    ax.tick_params(labelsize=7, length=0)


def _eq_lines(eq, chars: int) -> list[str]:
    """The equation wrapped at spaces into at most EQ_LINES lines; the result is always kept
    (a sum too long for them is cut with "...")."""
    label, body, result = eq
    lines = textwrap.wrap(f"{label} = {body} = {result}", chars, break_long_words=False,
                          subsequent_indent="    ")
    if len(lines) <= EQ_LINES:
        return lines
    head = textwrap.wrap(f"{label} = {body}", chars - 4, break_long_words=False,
                         subsequent_indent="    ")[:EQ_LINES - 1]
    return head[:-1] + [head[-1] + " ...", f"    = {result}"]


def _eq_chars(width_in: float) -> int:
    """How many characters of the equation fit across a figure ``width_in`` inches wide."""
    return max(20, int(0.94 * width_in * 72 / (0.6 * EQ_FONT)))


def _new_figure(trace, steps):
    _, Figure, FigureCanvasAgg, *_ = _mpl()
    sources, aux, target, _ = _step(trace, steps[0])
    grids = [s[1] for s in sources] + [a[1] for a in aux] + [target[1]]
    widths = [max(g.shape[1], 2) for g in grids]
    height = max(max(g.shape[0] for g in grids), 2 if trace.rank == 2 else 1)
    scale = 0.42 if max(widths + [height]) <= ANNOTATE_MAX else 6.0 / max(widths + [height])
    width = max(6.0, scale * sum(widths) + 0.8 * len(grids))
    cells = _cells(trace)
    lines = max(len(_eq_lines(_eq_of(trace, cells[k]), _eq_chars(width))) for k in steps)
    fig = Figure(figsize=(width, scale * height + 1.2 + EQ_LINE_IN * lines), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(bottom=(0.45 + EQ_LINE_IN * lines) / fig.get_size_inches()[1],
                        top=1 - 0.45 / fig.get_size_inches()[1], left=0.04, right=0.98,
                        wspace=0.3)
    axes = fig.subplots(1, len(grids), gridspec_kw={"width_ratios": widths})
    return fig, list(np.atleast_1d(axes))


def _eq_of(trace, cell) -> tuple:
    """(label, body, result) of one cell's equation."""
    if isinstance(trace, BackwardTrace):
        return (cell_label(2, cell.index, trace.dx.shape[-1], "dx"), sum_text(cell.terms),
                fmt(cell.total))
    return equation(trace, cell)


def _draw_step(fig, axes, trace, k) -> None:
    Rectangle = _mpl()[3]
    sources, aux, target, eq = _step(trace, k)
    for ax in axes:
        ax.clear()
    i = 0
    for title, arr, pad, styles in sources:
        _draw_grid(axes[i], arr, Rectangle, mask=pad, styles=styles, rank=trace.rank)
        axes[i].set_title(title, fontsize=9)
        i += 1
    for title, arr in aux:
        _draw_grid(axes[i], arr, Rectangle, cmap="Oranges", rank=trace.rank)
        axes[i].set_title(title, fontsize=9)
        i += 1
    title, arr, filled, hit = target
    _draw_grid(axes[i], arr, Rectangle, mask=~filled, hit=hit, cmap="Greens", bad="white",
               rank=trace.rank)
    axes[i].set_title(title, fontsize=9)
    lines = _eq_lines(eq, _eq_chars(fig.get_size_inches()[0]))
    fig.suptitle("\n".join(lines), fontsize=EQ_FONT, y=0.02, va="bottom", ma="left")


def trace_figure(trace, cell=0):
    """A matplotlib Figure of one step: ``cell`` is its number (0 = first) or its index."""
    k = _cell_number(trace, cell)
    fig, axes = _new_figure(trace, [k])
    _draw_step(fig, axes, trace, k)
    return fig


def _atomic_save(path, write) -> str:
    path = os.fspath(path)
    with atomic_path(path) as tmp:
        write(tmp)
    return path


def save_figure(trace, path, cell=0, dpi: int = 100) -> str:
    """Write ``trace_figure(trace, cell)`` to ``path`` (format from the extension)."""
    fig = trace_figure(trace, cell)
    return _atomic_save(path, lambda tmp: fig.savefig(tmp, dpi=dpi))


def save_gif(trace, path, fps: float = 2.0, max_frames: int | None = 64, dpi: int = 100) -> str:
    """Animate the window over the steps (the first ``max_frames``; None for all), one GIF
    frame per output cell, written by ``matplotlib.animation.PillowWriter``."""
    *_, PillowWriter = _mpl()
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not fps > 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    total = len(_cells(trace))
    n = total if max_frames is None else min(total, int(max_frames))
    if n < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames!r}")
    fig, axes = _new_figure(trace, range(n))

    def write(tmp):
        writer = PillowWriter(fps=fps)
        with writer.saving(fig, tmp, dpi):
            for k in range(n):  # each frame drawn once (FuncAnimation would draw it twice)
                _draw_step(fig, axes, trace, k)
                writer.grab_frame()

    return _atomic_save(path, write)


__all__ = ["save_figure", "save_gif", "trace_figure"]
