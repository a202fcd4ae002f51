"""The explorer: a trained network's every feature map for a few images, in one HTML page.

``explore(model, x)`` runs the model layer by layer on the images x: (N, ...) with the
layers' own stridenet ops (the last layer's output equals ``model.predict(x)``), embeds
every output and the weights the page explains with, and returns an :class:`Explorer`:
``.save("explore.html")`` writes the page, Jupyter shows it inline. Hovering over a cell
lights up its receptive field in the layer below and shows how it was computed: a conv
cell's sum of products per input channel plus the bias and the activation, a pooling
window and its winner or mean, a dense unit's largest terms.
"""

from __future__ import annotations

import os
from html import escape

import numpy as np

from .data import build
from .graph import input_shape
from .page import render_page


class Explorer:
    """The page for one model and a batch of images. ``html``: the whole page;
    ``notes``: what the page leaves out (also listed on it); ``images``: images embedded."""

    def __init__(self, meta: dict, html: str):
        self.meta, self.html = meta, html
        self.notes = list(meta.get("notes", []))
        self.images = meta["images"]

    @property
    def size(self) -> int:
        """The page's size in bytes (UTF-8)."""
        return len(self.html.encode("utf-8"))

    def save(self, path) -> str:
        """Write the page to ``path`` (atomically); returns the path."""
        from ...io import atomic_writer

        path = os.fspath(path)
        if os.path.isdir(path):
            raise IsADirectoryError(f"explore: {path} is a folder; give a file name such as "
                                    f"{os.path.join(path, 'explore.html')}")
        with atomic_writer(path, "w") as f:
            f.write(self.html)
        return path

    def _repr_html_(self) -> str:
        # an iframe keeps the page's script and styles apart from the notebook's
        return (f'<iframe srcdoc="{escape(self.html, quote=True)}" style="width: 100%; '
                f'height: 720px; border: 1px solid #ddd" sandbox="allow-scripts"></iframe>')

    def __repr__(self) -> str:
        return (f"<Explorer {self.meta['model']}: {self.images} image(s), "
                f"{len(self.meta['nodes']) - 1} layers, {self.size / 1e6:.2f} MB; "
                f".save('explore.html') to write it>")


def _as_images(model, x) -> np.ndarray:
    try:
        arr = np.asarray(getattr(x, "data", x))
    except (TypeError, ValueError) as e:
        raise TypeError(f"explore: x could not be read as an array: {e}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"explore: x must hold numbers, got dtype {arr.dtype}")
    want = input_shape(model)
    if want is not None and None not in want:
        if arr.shape == want:
            arr = arr[None]  # one image
        elif arr.ndim == len(want) and want[-1] == 1 and arr.shape[1:] == want[:-1]:
            arr = arr[..., None]  # (N, H, W) grayscale -> (N, H, W, 1)
        if arr.shape[1:] != want:
            shape = ", ".join(map(str, want))
            raise ValueError(f"explore: x must have shape (N, {shape}) for model "
                             f"{model.name!r} (or ({shape}) for one image), got {arr.shape}")
    if arr.ndim < 2 or len(arr) == 0:
        raise ValueError(f"explore: x must be a non-empty batch of images, got shape "
                         f"{arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("explore: x holds NaN or infinite values")
    return arr.astype(np.float32)


def explore(model, x, labels=None, class_names=None, max_bytes: int = 4_800_000,
            max_values: int = 1 << 18) -> Explorer:
    """The explorer page of ``model`` for the images ``x``: (N, ...) (or one image).

    ``labels``: (N,) true classes shown with each image; ``class_names`` name the output
    units. Caps: ``max_values`` output numbers per layer and image (the first channels are
    kept), ``max_bytes`` for all the embedded numbers (images are dropped from the end);
    what a cap left out is listed in ``notes`` and on the page.

    >>> import numpy as np, stridenet as sn
    >>> page = sn.explain.explore(sn.zoo.lenet5(), np.zeros((2, 28, 28, 1), "float32"))
    >>> page.images, page.html.startswith("<!DOCTYPE html>")
    (2, True)
    """
    from ...models import Sequential

    if not getattr(model, "_functional", False) and not isinstance(model, Sequential):
        raise TypeError(f"explore: model must be a Sequential or functional stridenet model, "
                        f"got {type(model).__name__}")
    images = _as_images(model, x)
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(images):
            raise ValueError(f"explore: labels has {len(labels)} entries for {len(images)} "
                             "images")
    if not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"explore: max_bytes must be a positive int, got {max_bytes!r}")
    if not isinstance(max_values, int) or max_values < 1:
        raise ValueError(f"explore: max_values must be a positive int, got {max_values!r}")
    meta, blob, _ = build(model, images, labels, class_names, max_values, max_bytes)
    meta["compressed"] = True
    return Explorer(meta, render_page(meta, blob))


__all__ = ["Explorer", "explore"]
