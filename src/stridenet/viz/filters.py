"""What the convolution layers learned and see: kernels as images, activations as maps."""

from __future__ import annotations

import numpy as np

from ._mpl import finish, grid_shape, new_figure, positive_int
from .images import show_image


def _kernel_source(kernel) -> tuple:
    """-> (array, name of the layer it came from or None): an array as given, or the first
    4-D (else 3-D) weight of a layer / model (its layers searched in order)."""
    if hasattr(kernel, "get_weights") and not isinstance(kernel, np.ndarray):
        owners = [l for l in _walk(getattr(kernel, "layers", None) or []) if
                  not getattr(l, "layers", None)] or [kernel]
        for rank in (4, 3):
            for owner in owners:
                found = [np.asarray(w) for w in owner.get_weights() if np.ndim(w) == rank]
                if found:
                    return found[0], getattr(owner, "name", None)
        weights = [np.asarray(w) for w in kernel.get_weights()]
        raise ValueError(f"{getattr(kernel, 'name', kernel)!r} has no convolution kernel "
                         f"among its weights (shapes {[w.shape for w in weights]})")
    return np.asarray(getattr(kernel, "data", kernel)), None


def _unit_range(w: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1]; a constant filter becomes mid-gray."""
    lo, hi = float(w.min()), float(w.max())
    return (w - lo) / (hi - lo) if hi > lo else np.full(w.shape, 0.5)


def plot_filters(kernel, path=None, max_filters=64, ncols=None, title=None, dpi=100):
    """The filters of a convolution kernel as a grid of small images, one per filter.

    ``kernel``: ``(KH, KW, C_in, F)`` (1-D kernels ``(K, C_in, F)`` show as 1xK strips),
    or a layer/model whose first 4-D weight is used. Each filter is scaled to its own
    [min, max]; with ``C_in == 3`` it is shown in colour (RGB), otherwise its
    channels are averaged into one gray image (bright = large weight). Shows the first
    ``max_filters`` filters; returns the Figure and writes a PNG when ``path`` is given.
    """
    raw, layer_name = _kernel_source(kernel)
    w = raw.astype(np.float64)
    if w.ndim == 3:
        w = w[None]  # (K, C_in, F) -> (1, K, C_in, F)
    if w.ndim != 4 or 0 in w.shape:
        raise ValueError(f"kernel must have shape (KH, KW, C_in, F) or (K, C_in, F), got "
                         f"{raw.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("kernel holds NaN or infinite weights")
    positive_int(max_filters, "max_filters")
    kh, kw, c_in, f = w.shape
    count = min(f, max_filters)
    rgb = c_in == 3
    rows, cols = grid_shape(count, ncols, max_cols=16)
    fig = new_figure((1.0 * cols + 0.4, 1.05 * rows + 0.6))
    for i in range(count):
        ax = fig.add_subplot(rows, cols, i + 1)
        filt = w[..., i]  # (KH, KW, C_in)
        img = _unit_range(filt) if rgb else _unit_range(filt.mean(axis=-1))  # (KH, KW[, 3])
        if rgb:
            ax.imshow(img, interpolation="nearest")
        else:
            ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(str(i), fontsize=8)
    how = "as RGB" if rgb else ("" if c_in == 1 else f"mean of {c_in} channels")
    where = f"{layer_name}: " if layer_name else ""
    fig.suptitle(title or f"{where}{count} of {f} filters, {kh}x{kw}" + (f", {how}" if how
                                                                         else ""))
    return finish(fig, path, dpi)


# -- feature maps ----------------------------------------------------------------------
def _walk(layers):
    """Every layer and nested layer, depth first, each once (``Layer._all_layers``)."""
    seen, out = set(), []
    for layer in layers:
        for sub in layer._all_layers():
            if id(sub) not in seen:
                seen.add(id(sub))
                out.append(sub)
    return out


def _is_conv(layer) -> bool:
    from ..layers import Conv1D, Conv2D, DepthwiseConv2D

    return isinstance(layer, Conv1D | Conv2D | DepthwiseConv2D)


def _pick_layers(model, layer_names):
    every = _walk(getattr(model, "layers", None) or [])
    if layer_names is None:
        chosen = [l for l in every if _is_conv(l)]
        if not chosen:
            raise ValueError(f"the model has no convolution layer; pass layer_names (layers: "
                             f"{[l.name for l in every]})")
        return chosen
    if isinstance(layer_names, str):
        layer_names = [layer_names]
    by_name = {l.name: l for l in every}
    missing = [n for n in layer_names if n not in by_name]
    if missing:
        raise ValueError(f"no layer named {missing}; layers: {list(by_name)}")
    return [by_name[n] for n in layer_names]


def _one_image(image) -> np.ndarray:
    """(H, W), (H, W, C) or (1, H, W, C) -> a batch of one (1, H, W, C)."""
    x = np.asarray(getattr(image, "data", image))
    if x.ndim == 2:
        x = x[..., None]  # (H, W) -> (H, W, 1)
    if x.ndim == 3:
        x = x[None]  # (H, W, C) -> (1, H, W, C)
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"image must be one image (H, W), (H, W, C) or (1, H, W, C), got "
                         f"shape {np.shape(image)}")
    return x


def capture_activations(model, x, layers) -> dict:
    """Run ``model`` on ``x`` and return ``{layer.name: output array}`` for ``layers``.

    Each layer's ``call`` is wrapped for the duration of one forward pass (a forward
    hook), so this works the same for Sequential, functional and subclassed models.
    """
    captured: dict = {}
    saved = {}
    for layer in layers:
        saved[id(layer)] = layer.__dict__.get("call")
        inner = layer.call

        def hooked(*args, _inner=inner, _name=layer.name, **kwargs):
            out = _inner(*args, **kwargs)
            captured[_name] = np.array(out.numpy() if hasattr(out, "numpy") else out)
            return out

        object.__setattr__(layer, "call", hooked)
    try:
        if hasattr(model, "predict"):
            model.predict(x, verbose=0)
        else:
            model(x)
    finally:
        for layer in layers:
            layer.__dict__.pop("call", None)
            if saved[id(layer)] is not None:
                object.__setattr__(layer, "call", saved[id(layer)])
    not_run = [l.name for l in layers if l.name not in captured]
    if not_run:
        raise ValueError(f"layers {not_run} were not called when the model ran on the image")
    return captured


def plot_feature_maps(model, image, layer_names=None, max_maps=16, path=None, ncols=8,
                      cmap="viridis", dpi=100):
    """The input image, then one grid per layer of that layer's activations for it.

    ``image``: one input as the model expects it (already scaled), ``(H, W)``,
    ``(H, W, C)`` or ``(1, H, W, C)``. ``layer_names``: default every convolution layer
    (nested ones included). A 4-D output ``(1, H, W, C)`` shows its first ``max_maps``
    channels, each scaled to its own range; a 3-D output ``(1, L, C)`` shows them as
    curves; a 2-D output ``(1, units)`` as one strip. Returns the Figure (one subfigure
    per layer after the input's); writes a PNG when ``path`` is given.
    """
    positive_int(max_maps, "max_maps")
    positive_int(ncols, "ncols")
    layers = _pick_layers(model, layer_names)
    x = _one_image(image)
    acts = capture_activations(model, x, layers)
    panels = []  # (name, activation without batch axis, number of axes)
    for layer in layers:
        a = acts[layer.name]
        if a.ndim not in (2, 3, 4) or a.shape[0] != 1:
            raise ValueError(f"{layer.name}: cannot draw an output of shape {a.shape}")
        a = a[0]
        panels.append((layer.name, a, 1 if a.ndim == 1 else min(a.shape[-1], max_maps)))
    grids = [grid_shape(m, min(ncols, m)) for _, _, m in panels]
    width = 1.35 * max([c for _, c in grids] + [1]) + 0.4
    heights = [1.6] + [1.3 * r + 0.45 for r, _ in grids]
    fig = new_figure((max(width, 3.0), sum(heights)))
    subs = fig.subfigures(len(heights), 1, height_ratios=heights)
    subs = np.atleast_1d(subs)
    ax = subs[0].add_subplot(1, 1, 1)
    show_image(ax, x[0, ..., 0] if x.shape[-1] == 1 else x[0])
    subs[0].suptitle(f"input {x.shape[1]}x{x.shape[2]}x{x.shape[3]}", fontsize=10)
    for sub, (name, a, m), (rows, cols) in zip(subs[1:], panels, grids):
        shape = "x".join(str(d) for d in a.shape)
        more = f", first {m} of {a.shape[-1]} channels" if a.ndim > 1 and m < a.shape[-1] else ""
        sub.suptitle(f"{name}: {shape}{more}", fontsize=10)
        if a.ndim == 1:
            ax = sub.add_subplot(1, 1, 1)
            ax.imshow(a[None, :], cmap=cmap, aspect="auto", interpolation="nearest")
            ax.set_yticks([])
            continue
        for c in range(m):
            ax = sub.add_subplot(rows, cols, c + 1)
            if a.ndim == 3:
                ax.imshow(a[..., c], cmap=cmap, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                ax.plot(a[:, c], linewidth=1)
                ax.tick_params(labelsize=6)
            lo, hi = float(a[..., c].min()), float(a[..., c].max())
            # a constant map (a dead ReLU channel) would be one flat colour: say so
            ax.set_title(str(c) if hi > lo else f"{c} (all {lo:.3g})", fontsize=7)
    return finish(fig, path, dpi)
