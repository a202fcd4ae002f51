"""A confusion matrix as an annotated heatmap (true class on rows, predicted on columns)."""

from __future__ import annotations

import numpy as np

from ._mpl import finish, new_figure

_NORMALIZE = {False: None, None: None, True: "true", "true": "true", "pred": "pred",
              "all": "all"}
_SUMS_TO_ONE = {"true": "each row", "pred": "each column", "all": "the whole matrix"}


def _normalized(cm: np.ndarray, how: str) -> np.ndarray:
    """Rows ("true": recall per class), columns ("pred": precision) or everything
    ("all") scaled to sum to 1; an empty row/column stays 0 rather than NaN."""
    if how == "true":
        totals = cm.sum(axis=1, keepdims=True)  # (K, 1)
    elif how == "pred":
        totals = cm.sum(axis=0, keepdims=True)  # (1, K)
    else:
        totals = np.full((1, 1), cm.sum())
    return np.divide(cm, totals, out=np.zeros(cm.shape), where=totals > 0)


def plot_confusion_matrix(cm, class_names=None, normalize=False, path=None, title=None,
                          cmap="Blues", annotate=None, dpi=100):
    """Heatmap of ``cm: (K, K)`` with each cell's value written in it.

    ``normalize``: False (counts), True or "true" (each row sums to 1), "pred"
    (each column sums to 1) or "all". ``annotate`` defaults to True for K <= 30.
    Returns the Figure (the heatmap axes and its colorbar); writes a PNG when
    ``path`` is given.
    """
    arr = np.asarray(cm)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"cm must be a square (K, K) matrix, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.number) and np.all(np.isfinite(arr))
            and np.all(arr >= 0)):
        raise ValueError("cm must hold finite non-negative counts")
    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be False, True, 'true', 'pred' or 'all', got "
                         f"{normalize!r}")
    k = arr.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"class_names has {len(names)} names for a {k}x{k} matrix")
    how = _NORMALIZE[normalize]
    values = _normalized(arr.astype(np.float64), how) if how else arr
    annotate = k <= 30 if annotate is None else bool(annotate)

    side = max(4.0, 0.5 * k + 2.0)
    fig = new_figure((side + 1.0, side))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(values, cmap=cmap, interpolation="nearest",
                      vmin=0, vmax=(1.0 if how else max(1, values.max())))
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(np.arange(k), labels=names, rotation=45 if max(map(len, names)) > 2 else 0,
                  ha="right" if max(map(len, names)) > 2 else "center")
    ax.set_yticks(np.arange(k), labels=names)
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title(title or ("Confusion matrix" + (f" ({_SUMS_TO_ONE[how]} sums to 1)" if how
                                                 else "")))
    if annotate:
        # dark cells get white text so the number stays readable
        threshold = (1.0 if how else max(1, values.max())) / 2
        fontsize = max(5, min(10, 120 // k))
        for i in range(k):
            for j in range(k):
                v = values[i, j]
                text = f"{v:.2f}" if how else (f"{int(v)}" if float(v).is_integer() else f"{v:g}")
                ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                        color="white" if v > threshold else "black")
    return finish(fig, path, dpi)
