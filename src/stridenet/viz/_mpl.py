"""Matplotlib plumbing shared by the figures: lazy import, Agg canvas, atomic PNG save.

matplotlib is the optional ``plot`` extra. It is imported only when a figure is
made, and figures are drawn on their own Agg canvas (``Figure`` +
``FigureCanvasAgg``), so stridenet never touches pyplot or the global backend.
"""

from __future__ import annotations

import math

from ..io import atomic_writer

_INSTALL_HINT = ('stridenet.viz needs matplotlib, the optional "plot" extra: '
                 'pip install "stridenet[plot]"')


def require_matplotlib():
    """The matplotlib module, or an ImportError that says how to install it."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return matplotlib


def new_figure(figsize, layout="constrained"):
    """A Figure bound to a non-interactive Agg canvas (no pyplot, no global state)."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def grid_shape(count: int, ncols=None, max_cols: int = 10) -> tuple[int, int]:
    """(rows, cols) of a near-square grid holding ``count`` panels: by default the
    column count from ceil(sqrt(count)) up to half as many again that leaves the fewest
    empty slots (32 panels: 8x4, not 6x6 with four empty)."""
    if ncols is None:
        first = min(max_cols, max(1, math.ceil(math.sqrt(count))))
        choices = range(first, min(max_cols, first + first // 2) + 1)
        ncols = min(choices, key=lambda c: (math.ceil(count / c) * c - count, c))
    elif not isinstance(ncols, int) or isinstance(ncols, bool) or ncols <= 0:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = max(1, min(ncols, count))
    return max(1, math.ceil(count / ncols)), ncols


def save_png(fig, path, dpi=100) -> None:
    """Write ``fig`` as a PNG to ``path`` atomically, so a reader never sees a half-written
    file."""
    with atomic_writer(path) as fh:
        fig.savefig(fh, format="png", dpi=dpi)


def finish(fig, path, dpi=100):
    """Save ``fig`` when a path is given; return it either way."""
    if path is not None:
        save_png(fig, path, dpi=dpi)
    return fig


def positive_int(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value
