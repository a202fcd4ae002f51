"""Training curves: loss and each metric per epoch, training against validation."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._mpl import finish, grid_shape, new_figure


def _history_dict(history) -> dict:
    """``{name: values}`` from a Keras-style History (``.history``) or a mapping."""
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        raise TypeError("history must be a History (with a .history dict) or a dict of "
                        f"per-epoch lists, got {type(history).__name__}")
    out = {}
    for key, values in logs.items():
        try:
            arr = None if isinstance(values, str) else np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.ndim != 1:
            raise ValueError(f"history[{key!r}] must be a 1-D list of per-epoch numbers, got "
                             f"{values!r:.60}")
        if arr.size:
            out[str(key)] = arr
    if not out:
        raise ValueError("history holds no epochs to plot")
    return out


def _panels(logs: dict) -> list[str]:
    """Base names in order, loss first; "val_x" pairs with "x" (or stands alone)."""
    names = []
    for key in logs:
        base = key[4:] if key.startswith("val_") else key
        if base not in names:
            names.append(base)
    if "loss" in names:
        names.remove("loss")
        names.insert(0, "loss")
    return names


def plot_history(history, path=None, ncols=None, dpi=100):
    """One panel per quantity (loss first, then each metric), epochs on the x axis,
    the training curve and, where logged, the validation curve ("val_" keys).

    ``history``: what ``model.fit`` returns, or its ``.history`` dict
    ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}``.
    Returns the matplotlib Figure; writes a PNG when ``path`` is given.
    """
    from matplotlib.ticker import MaxNLocator

    logs = _history_dict(history)
    names = _panels(logs)
    rows, cols = grid_shape(len(names), ncols, max_cols=3)
    fig = new_figure((4.2 * cols, 3.2 * rows))
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        for key, label, style in ((name, "train", "o-"), ("val_" + name, "validation", "s--")):
            if key in logs:
                values = logs[key]
                epochs = np.arange(1, values.size + 1)  # Keras counts epochs from 1
                ax.plot(epochs, values, style, label=label, markersize=4)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend()
    return finish(fig, path, dpi)
