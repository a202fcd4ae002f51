"""A grid of images titled "pred (true)", misclassified ones in red."""

from __future__ import annotations

import numpy as np

from ..evaluation import as_labels
from ._mpl import finish, grid_shape, new_figure, positive_int

ERROR_COLOR = "red"


def as_image_batch(images, name: str = "images") -> np.ndarray:
    """``(N, H, W)``, ``(N, H, W, 1)`` or ``(N, H, W, 3)`` -> ``(N, H, W)`` or ``(N, H, W, 3)``."""
    arr = np.asarray(getattr(images, "data", images))
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]  # (N, H, W, 1) -> (N, H, W)
    if not (arr.ndim == 3 or (arr.ndim == 4 and arr.shape[-1] == 3)):
        raise ValueError(f"{name} must have shape (N, H, W), (N, H, W, 1) or (N, H, W, 3), "
                         f"got {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr


def show_image(ax, image) -> None:
    """One grayscale ``(H, W)`` or RGB ``(H, W, 3)`` image on ``ax``, without ticks."""
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", interpolation="nearest")
    else:
        if image.dtype != np.uint8:
            lo, hi = float(image.min()), float(image.max())
            # imshow wants RGB floats in [0, 1]: rescale anything outside that range
            if lo < 0 or hi > 1:
                image = (image - lo) / (hi - lo) if hi > lo else np.zeros_like(image, float)
        ax.imshow(image, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _names(class_names, labels):
    if class_names is None:
        return [str(v) for v in labels]
    names = list(class_names)
    if labels.size and labels.max() >= len(names):
        raise ValueError(f"label {int(labels.max())} has no entry in class_names "
                         f"({len(names)} names)")
    return [str(names[v]) for v in labels]


def plot_predictions(images, y_true, y_pred, probs=None, class_names=None, n=25,
                     only_errors=False, ncols=None, path=None, dpi=100):
    """The first ``n`` images (or the first ``n`` mistakes with ``only_errors=True``)
    in a grid, each titled ``"pred (true)"`` -- plus the predicted class's probability
    when ``probs: (N, K)`` is given. Misclassified images get a red title and frame.

    ``images: (N, H, W)``, ``(N, H, W, 1)`` or ``(N, H, W, 3)``; ``y_true, y_pred: (N,)``
    integer labels. Returns the Figure (one axes per image shown); writes a PNG when
    ``path`` is given.
    """
    imgs = as_image_batch(images)
    yt, yp = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    if not len(imgs) == len(yt) == len(yp):
        raise ValueError(f"images, y_true and y_pred must have the same length, got "
                         f"{len(imgs)}, {len(yt)} and {len(yp)}")
    positive_int(n, "n")
    conf = None
    if probs is not None:
        p = np.asarray(getattr(probs, "data", probs), dtype=np.float64)
        if p.ndim != 2 or len(p) != len(yp) or (yp.size and yp.max() >= p.shape[1]):
            raise ValueError(f"probs must have shape (N, K) with N={len(yp)} and K above "
                             f"every predicted label, got {p.shape}")
        conf = p[np.arange(len(yp)), yp]  # probability of the predicted class, (N,)
    wrong = yt != yp
    pool = np.flatnonzero(wrong) if only_errors else np.arange(len(yt))
    chosen = pool[:n]
    true_names, pred_names = _names(class_names, yt), _names(class_names, yp)

    count = len(chosen)
    rows, cols = grid_shape(max(count, 1), ncols)
    fig = new_figure((1.6 * cols, 1.8 * rows + 0.4))
    for slot, i in enumerate(chosen):
        ax = fig.add_subplot(rows, cols, slot + 1)
        show_image(ax, imgs[i])
        title = f"{pred_names[i]} ({true_names[i]})"
        if conf is not None:
            title += f" {100 * conf[i]:.0f}%"
        if wrong[i]:
            ax.set_title(title, color=ERROR_COLOR, fontsize=9, fontweight="bold")
            for spine in ax.spines.values():
                spine.set_edgecolor(ERROR_COLOR)
                spine.set_linewidth(2.5)
        else:
            ax.set_title(title, fontsize=9)
    n_err, total_err = int(wrong[chosen].sum()), int(wrong.sum())
    key = "predicted (true)" + (" probability of the prediction" if conf is not None else "")
    if not count:
        head = f"no {'misclassified images' if only_errors else 'images'} to show " \
               f"({total_err} of {len(yt)} misclassified)"
    elif only_errors:
        head = f"{count} of the {total_err} misclassified images (of {len(yt)}) - title: {key}"
    else:
        head = f"{count} of {len(yt)} images - title: {key}; {n_err} wrong, in red"
    fig.suptitle(head)
    return finish(fig, path, dpi)
