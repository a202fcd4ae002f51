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


LEARNING_RATE_KEYS = ("learning_rate", "lr")  # Keras 3 / older Keras log names
MANY_EPOCHS = 12  # up to this many epochs every epoch gets a tick


def _panels(logs: dict) -> list[str]:
    """Base names in order, loss first, the learning rate last; "val_x" pairs with "x"
    (or stands alone)."""
    names = []
    for key in logs:
        base = key[4:] if key.startswith("val_") else key
        if base not in names:
            names.append(base)
    if "loss" in names:
        names.remove("loss")
        names.insert(0, "loss")
    return ([n for n in names if n not in LEARNING_RATE_KEYS]
            + [n for n in names if n in LEARNING_RATE_KEYS])


def _epoch_axis(ax, epochs: int) -> None:
    """Whole epochs on the x axis: every epoch up to MANY_EPOCHS, else integer steps."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    if epochs <= MANY_EPOCHS:
        ax.set_xticks(np.arange(1, epochs + 1))
        ax.set_xlim(0.5, epochs + 0.5)  # one epoch: its point sits mid-panel, not on an edge
        if epochs == 1:
            ax.margins(y=0.3)  # nor on the top or bottom edge, under the legend
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _mark_single(ax, values, color, left=False) -> None:
    """One epoch: its value written beside the point (a lone dot is easy to miss)."""
    ax.annotate(f"{values[0]:.4g}", (1, values[0]), xytext=(-9 if left else 9, 0),
                textcoords="offset points", ha="right" if left else "left", va="center",
                color=color, fontsize=9)


def _learning_rate_panel(ax, values) -> None:
    """The learning rate: a setting of the optimiser, not a train/validation quantity."""
    one = values.size == 1
    (line,) = ax.plot(np.arange(1, values.size + 1), values, "D-", color="tab:green",
                      markersize=8 if one else 4)
    lo, hi = float(values.min()), float(values.max())
    if lo > 0 and hi / lo > 10:
        ax.set_yscale("log")  # schedules decay by orders of magnitude
    if one:
        _mark_single(ax, values, line.get_color())
    ax.set_title("learning rate")
    ax.set_ylabel("learning rate")


def plot_history(history, path=None, ncols=None, dpi=100):
    """One panel per quantity (loss first, then each metric, the learning rate last),
    whole epochs on the x axis, the training curve and, where logged, the validation
    curve ("val_" keys) with a legend telling them apart. The learning rate
    ("learning_rate" / "lr") gets its own panel without a train/validation legend.

    ``history``: what ``model.fit`` returns, or its ``.history`` dict
    ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}``.
    Returns the matplotlib Figure; writes a PNG when ``path`` is given.
    """
    logs = _history_dict(history)
    names = _panels(logs)
    rows, cols = grid_shape(len(names), ncols, max_cols=3)
    fig = new_figure((4.2 * cols, 3.2 * rows))
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        keys = [k for k in (name, "val_" + name) if k in logs]
        epochs = max(logs[k].size for k in keys)
        if name in LEARNING_RATE_KEYS and keys == [name]:
            _learning_rate_panel(ax, logs[name])
        else:
            for key, label, style in ((name, "train", "o-"), ("val_" + name, "validation",
                                                               "s--")):
                if key in logs:
                    values = logs[key]
                    (line,) = ax.plot(np.arange(1, values.size + 1), values, style, label=label,
                                      markersize=8 if values.size == 1 else 4)
                    if epochs == 1:
                        _mark_single(ax, values, line.get_color(), left=key != name)
            ax.set_title(name)
            ax.set_ylabel(name)
            ax.legend()
        _epoch_axis(ax, epochs)
        ax.grid(True, alpha=0.3)
    return finish(fig, path, dpi)
