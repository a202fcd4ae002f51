"""Figures of a trace: the window over the (padded) input and the output cell it fills.

``trace_figure(trace, cell)`` draws one step; ``save_gif(trace, path)`` animates all
steps (``matplotlib.animation.PillowWriter``). matplotlib is imported only here,
only when a figure is asked for; it draws on its Agg canvas (no GUI backend).
Backward traces animate the input gradient: the rotated kernel sliding over dy_full.
"""

from __future__ import annotations

import os

import numpy as np

from ..io import atomic_path
from .render_text import equation, fmt, pad_mask, sum_text
from .trace import BackwardTrace, PoolTrace, cell_label

ANNOTATE_MAX = 20  # write the numbers into grids up to this many rows/cols


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
    target: (title, arr2d, filled mask, (i, j)).
    """
    cells = _cells(trace)
    cell = cells[k]
    if isinstance(trace, BackwardTrace):
        ch = cell.index[2]
        styles = {t.pos[:2]: "win" for t in cell.terms}
        label = cell_label(2, cell.index, trace.dx.shape[-1], "dx")
        eq = f"{label} = {sum_text(cell.terms)} = {fmt(cell.total)}"
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
    label, body, result = equation(trace, cell)
    eq = f"{label} = {body} = {result}"
    pad = pad_mask(trace)
    if isinstance(trace, PoolTrace):
        ch = cell.index[2]
        styles = {v.pos: ("win" if (v.real if trace.kind == "max" else v.counted) else "skip")
                  for v in cell.values}
        if cell.winner is not None:
            styles[cell.winner] = "best"
        same = [c for c in cells[:k + 1] if c.index[2] == ch]
        y = trace.y[:, :, ch]
        return ([("padded input", trace.padded[:, :, ch], pad, styles)], [],
                (f"{trace.kind} pool output", y, _filled(y, same), cell.index[:2]), eq)
    channels = trace.padded.shape[-1]
    sources = []
    for ch in range(min(channels, 3)):
        styles = {t.pos[:2]: "win" for t in cell.terms if t.pos[2] == ch}
        sources.append((f"padded input{f' channel {ch}' if channels > 1 else ''}",
                        trace.padded[:, :, ch], pad, styles))
    aux = [(f"kernel{f' channel {ch}' if channels > 1 else ''}", trace.applied[:, :, ch])
           for ch in range(min(channels, 3))]
    return sources, aux, ("output", trace.y, _filled(trace.y, cells[:k + 1]), cell.index[:2]), eq


def _filled(arr, done) -> np.ndarray:
    mask = np.zeros(arr.shape, dtype=bool)
    for c in done:
        mask[c.index[0], c.index[1]] = True
    return mask


def _draw_grid(ax, arr, Rectangle, mask=None, styles=None, hit=None, cmap="Blues",
               bad="#e0e0e0"):
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
        for (r, c), v in np.ndenumerate(a):
            if mask is not None and mask[r, c] and bad == "white":
                continue
            ax.text(c, r, fmt(v, 3), ha="center", va="center",
                    fontsize=9 if max(a.shape) <= 10 else 6,
                    color="#777" if mask is not None and mask[r, c] else "black")
    colors = {"win": ("#ff8c00", "#ffd966"), "skip": ("#bbbbbb", "#fff2cc"),
              "best": ("#c0392b", "#f4a261")}
    for (r, c), style in (styles or {}).items():
        edge, face = colors[style]
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=face, edgecolor=edge,
                               linewidth=2, alpha=0.6, zorder=2))
    if hit is not None:
        ax.add_patch(Rectangle((hit[1] - 0.5, hit[0] - 0.5), 1, 1, fill=False,
                               edgecolor="#1d6fa5", linewidth=3, zorder=3))
    ax.set_xticks(range(a.shape[1]) if a.shape[1] <= ANNOTATE_MAX else [])
    ax.set_yticks(range(a.shape[0]) if a.shape[0] <= ANNOTATE_MAX else [])
    ax.tick_params(labelsize=7, length=0)


def _new_figure(trace):
    _, Figure, FigureCanvasAgg, *_ = _mpl()
    sources, aux, target, _ = _step(trace, 0)
    grids = [s[1] for s in sources] + [a[1] for a in aux] + [target[1]]
    widths = [max(g.shape[1], 2) for g in grids]
    height = max(max(g.shape[0] for g in grids), 2)
    scale = 0.42 if max(widths + [height]) <= ANNOTATE_MAX else 6.0 / max(widths + [height])
    fig = Figure(figsize=(max(6.0, scale * sum(widths) + 0.8 * len(grids)),
                          scale * height + 1.4), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(grids), gridspec_kw={"width_ratios": widths})
    return fig, list(np.atleast_1d(axes))


def _draw_step(fig, axes, trace, k) -> None:
    Rectangle = _mpl()[3]
    sources, aux, target, eq = _step(trace, k)
    for ax in axes:
        ax.clear()
    i = 0
    for title, arr, pad, styles in sources:
        _draw_grid(axes[i], arr, Rectangle, mask=pad, styles=styles)
        axes[i].set_title(title, fontsize=9)
        i += 1
    for title, arr in aux:
        _draw_grid(axes[i], arr, Rectangle, cmap="Oranges")
        axes[i].set_title(title, fontsize=9)
        i += 1
    title, arr, filled, hit = target
    _draw_grid(axes[i], arr, Rectangle, mask=~filled, hit=hit, cmap="Greens", bad="white")
    axes[i].set_title(title, fontsize=9)
    if len(eq) > 150:
        eq = eq[:147] + "..."
    fig.suptitle(eq, fontsize=9, y=0.02, va="bottom")
    fig.subplots_adjust(bottom=0.13, top=0.9, left=0.04, right=0.98, wspace=0.3)


def trace_figure(trace, cell=0):
    """A matplotlib Figure of one step: ``cell`` is its number (0 = first) or its index."""
    k = _cell_number(trace, cell)
    fig, axes = _new_figure(trace)
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


def save_gif(trace, path, fps: float = 2.0, max_frames: int | None = 64, dpi: int = 80) -> str:
    """Animate the window over the steps (the first ``max_frames``; None for all), one GIF
    frame per output cell, written by ``matplotlib.animation.PillowWriter``."""
    *_, PillowWriter = _mpl()
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not fps > 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    total = len(_cells(trace))
    n = total if max_frames is None else min(total, int(max_frames))
    if n < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames!r}")
    fig, axes = _new_figure(trace)

    def write(tmp):
        writer = PillowWriter(fps=fps)
        with writer.saving(fig, tmp, dpi):
            for k in range(n):  # each frame drawn once (FuncAnimation would draw it twice)
                _draw_step(fig, axes, trace, k)
                writer.grab_frame()

    return _atomic_save(path, write)


__all__ = ["save_figure", "save_gif", "trace_figure"]
