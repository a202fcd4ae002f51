"""``plot_model``: the layer graph of a model drawn with matplotlib (no pydot, no graphviz).

Each layer is a box (its class, and on request its name, input/output shapes, dtype,
activation and trainable flag); arrows follow the data from the inputs to the outputs.
Layers sit in ranks by their longest distance from an input, top to bottom (``rankdir``
"TB") or left to right ("LR"), so branches (residual blocks, several inputs) stand side
by side. Nested models are one box each.
"""

from __future__ import annotations

import os

from ..io import atomic_writer
from ._mpl import new_figure

_FONT = 8.5  # points; boxes are sized from the character count in a monospace font
_CHAR_IN = 0.62 * _FONT / 72  # the width of one monospace character, in inches
_LINE_IN = 1.45 * _FONT / 72  # the height of one text line, in inches
_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg", ".jpg": "jpg", ".jpeg": "jpg"}


def _shape_text(shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def model_graph(model):
    """[(layer, input_shape, output_shape, parent indices)] in execution order."""
    from ..layers.input_layer import InputLayer
    from ..models.summary import layer_io_shapes

    rows = layer_io_shapes(model)
    index = {id(layer): i for i, (layer, _, _) in enumerate(rows)}
    if getattr(model, "_functional", False):
        parents = {i: [] for i in range(len(rows))}
        for node in model._nodes:
            me = index[id(node.layer)]
            for p in node.inputs:
                src = index.get(id(p.layer))
                if src is not None and src not in parents[me]:
                    parents[me].append(src)
        graph = [(layer, i_s, o_s, parents[i]) for i, (layer, i_s, o_s) in enumerate(rows)]
    else:  # Sequential or subclassed: a chain, behind an input box when the shape is known
        graph = [(layer, i_s, o_s, [i - 1] if i else []) for i, (layer, i_s, o_s)
                 in enumerate(rows)]
        shape = getattr(model, "_input_shape", None)
        if shape is not None:
            stub = InputLayer.__new__(InputLayer)  # drawn only: name and class
            object.__setattr__(stub, "name", "input_layer")
            graph = [(stub, shape, shape, [])] + [
                (layer, i_s, o_s, [p + 1 for p in ps] or [0]) for layer, i_s, o_s, ps in graph]
    return graph


def _label(layer, in_shape, out_shape, show_shapes, show_dtype, show_layer_names,
           show_layer_activations, show_trainable):
    lines = [f"{layer.name} ({type(layer).__name__})" if show_layer_names
             else type(layer).__name__]
    if show_shapes:
        lines += [f"Input shape: {_shape_text(in_shape)}",
                  f"Output shape: {_shape_text(out_shape)}"]
    if show_dtype:
        dtype = getattr(layer, "dtype", None)
        lines.append(f"dtype: {dtype.name if dtype is not None else 'float32'}")
    if show_layer_activations and getattr(layer, "activation", None) is not None:
        from ..activations import serialize

        try:
            lines.append(f"Activation: {serialize(layer.activation)}")
        except ValueError:
            lines.append("Activation: custom")
    if show_trainable:
        lines.append(f"Trainable: {getattr(layer, '_trainable', True)}")
    return lines


def _ranks(graph) -> list[int]:
    """Longest distance from a node without parents (parents come first in ``graph``)."""
    ranks = []
    for _, _, _, parents in graph:
        ranks.append(1 + max((ranks[p] for p in parents), default=-1))
    return ranks


def _arrow(patch, src, dst, span, box_w, box_h, rankdir, lane, edge):
    """An arrow from box ``src`` to box ``dst`` (centres). Between neighbouring ranks it runs
    straight; an edge that skips ranks (a residual connection) leaves and enters the boxes
    on their side and runs in its own lane (``lane`` 0, 1, ...) beyond ``edge``, the
    outermost box side of the ranks it spans, so that it crosses neither the boxes in
    between nor another skip arrow."""
    from matplotlib.path import Path

    (px, py), (x, y) = src, dst
    style = dict(arrowstyle="-|>", mutation_scale=9, linewidth=0.9, color="#333333",
                 shrinkA=0, shrinkB=1)
    if span <= 1:
        if rankdir == "TB":
            return patch((px, py - box_h / 2), (x, y + box_h / 2), **style)
        return patch((px + box_w / 2, py), (x - box_w / 2, y), **style)
    off = _LANE_IN * (lane + 1)
    if rankdir == "TB":  # out of the right side, down the lane, into the right side
        side = edge + off
        pts = [(px + box_w / 2, py), (side, py), (side, y), (x + box_w / 2, y)]
    else:  # out of the bottom, along the lane below, into the bottom
        side = edge - off
        pts = [(px, py - box_h / 2), (px, side), (x, side), (x, y - box_h / 2)]
    return patch(path=Path(pts, [Path.MOVETO] + [Path.LINETO] * 3), **style)


_LANE_IN = 0.16  # inches between the boxes' side and each lane of skip arrows


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=False, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, **kwargs):
    """Draw the model's layer graph and write it to ``to_file`` (PNG, PDF, SVG or JPEG by
    the file's extension; atomically). Keras 3 arguments; returns the matplotlib Figure.

    ``to_file=None`` draws without writing. ``expand_nested`` is accepted for Keras code;
    nested models are drawn as one box either way.
    """
    if kwargs:
        raise TypeError(f"plot_model() got unexpected arguments {sorted(kwargs)}")
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model: rankdir must be 'TB' or 'LR', got {rankdir!r}")
    if not isinstance(dpi, int | float) or isinstance(dpi, bool) or not 10 <= dpi <= 1200:
        raise ValueError(f"plot_model: dpi must be a number in [10, 1200], got {dpi!r}")
    fmt = None
    if to_file is not None:
        ext = os.path.splitext(os.fspath(to_file))[1].lower()
        fmt = _FORMATS.get(ext)
        if fmt is None:
            raise ValueError(f"plot_model: to_file must end in one of {sorted(_FORMATS)}, "
                             f"got {os.fspath(to_file)!r}")
    if not getattr(model, "built", False) or not model.layers:
        raise ValueError(f"plot_model: {getattr(model, 'name', model)!r} has no layers to draw"
                         f" yet; build it first (an Input, input_shape=..., or a call on data)")

    graph = model_graph(model)
    labels = [_label(layer, i_s, o_s, show_shapes, show_dtype, show_layer_names,
                     show_layer_activations, show_trainable) for layer, i_s, o_s, _ in graph]
    ranks = _ranks(graph)
    box_w = max(len(line) for lines in labels for line in lines) * _CHAR_IN + 0.3
    box_h = max(len(lines) for lines in labels) * _LINE_IN + 0.22
    gap_rank, gap_side = 0.45, 0.35
    by_rank: dict[int, list[int]] = {}
    for i, r in enumerate(ranks):
        by_rank.setdefault(r, []).append(i)
    width = max(len(v) for v in by_rank.values())
    # centres in inches: along = across the ranks, side = within a rank
    step_along = (box_h if rankdir == "TB" else box_w) + gap_rank
    step_side = (box_w if rankdir == "TB" else box_h) + gap_side
    pos = {}
    for r, members in by_rank.items():
        for k, i in enumerate(members):
            side = (k - (len(members) - 1) / 2) * step_side
            pos[i] = (side, -r * step_along) if rankdir == "TB" else (r * step_along, -side)
    n_ranks = max(ranks) + 1
    extent_along = n_ranks * step_along
    extent_side = width * step_side
    fig_w, fig_h = ((extent_side, extent_along) if rankdir == "TB"
                    else (extent_along, extent_side))
    skips = [(p, i) for i, (*_, ps) in enumerate(graph) for p in ps if ranks[i] - ranks[p] > 1]
    lanes = {edge: k for k, edge in enumerate(skips)}
    bulge = _LANE_IN * (len(skips) + 1) if skips else 0.0
    fig_w, fig_h = (fig_w + bulge, fig_h) if rankdir == "TB" else (fig_w, fig_h + bulge)
    fig = new_figure((fig_w + 0.2, fig_h + 0.2), layout=None)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    right, bottom = (bulge, 0.0) if rankdir == "TB" else (0.0, bulge)
    ax.set_xlim(min(xs) - box_w / 2 - 0.1, max(xs) + box_w / 2 + 0.1 + right)
    ax.set_ylim(min(ys) - box_h / 2 - 0.1 - bottom, max(ys) + box_h / 2 + 0.1)

    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    for i, (layer, _, _, parents) in enumerate(graph):
        x, y = pos[i]
        is_input = type(layer).__name__ == "InputLayer"
        ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0,rounding_size=0.06",
                                    facecolor="#e8f0fa" if is_input else "#f7f7f7",
                                    edgecolor="#4a6fa5" if is_input else "#555555",
                                    linewidth=0.9))
        ax.text(x, y, "\n".join(labels[i]), ha="center", va="center", family="monospace",
                fontsize=_FONT, linespacing=1.25)
        for p in parents:
            span = ranks[i] - ranks[p]
            between = [pos[k] for k in range(len(graph)) if ranks[p] <= ranks[k] <= ranks[i]]
            edge = (max(b[0] for b in between) + box_w / 2 if rankdir == "TB"
                    else min(b[1] for b in between) - box_h / 2)
            ax.add_patch(_arrow(FancyArrowPatch, pos[p], (x, y), span, box_w, box_h,
                                rankdir, lanes.get((p, i), 0), edge))
    if to_file is not None:
        with atomic_writer(to_file) as fh:
            fig.savefig(fh, format=fmt, dpi=dpi)
    return fig


__all__ = ["model_graph", "plot_model"]
