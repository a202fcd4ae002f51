"""Edge detection on a real photograph with ``stridenet.ops.conv2d`` (SPEC example E).

Four 3x3 kernels run as ONE convolution with four filters over the grayscale
image: a vertical-edge and a horizontal-edge (Prewitt) kernel, and Sobel x / y,
which weight the centre row/column twice. Sobel x responds where brightness
changes from left to right, i.e. to vertical edges.

The default photograph is ``grace_hopper.jpg`` from matplotlib's bundled sample
data (an official U.S. Navy portrait of Rear Admiral Grace M. Hopper, a work of
the U.S. federal government and so in the public domain); nothing is downloaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

KERNELS = {
    "vertical": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "horizontal": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "sobel_x": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "sobel_y": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
}
SAMPLE_PHOTO = "grace_hopper.jpg"
# photographs are shrunk to this longer side before the convolution: the grid shows each
# panel about 400 px wide, and a 12-megapixel photo would take seconds for nothing
PHOTO_SIDE = 1024
PHOTO_CREDIT = ("grace_hopper.jpg from matplotlib's sample data: official U.S. Navy portrait, "
                "public domain (a work of the U.S. federal government)")


def sample_photo_path() -> str:
    """The path of the photograph matplotlib ships (needs matplotlib installed)."""
    try:
        from matplotlib import cbook
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the default photograph comes with matplotlib's sample data: "
                          "pip install 'stridenet[plot]', or pass path= or image=") from e
    return os.fspath(cbook.get_sample_data(SAMPLE_PHOTO, asfileobj=False))


def to_grayscale(image) -> np.ndarray:
    """(H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA -> (H, W) float32 in [0, 1]
    for 8-bit input (luma 0.299 R + 0.587 G + 0.114 B, ITU-R BT.601)."""
    from ..data.augment.color import rgb_to_grayscale

    arr = np.asarray(image)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"edge_demo: image must hold numbers, got dtype {arr.dtype}")
    scale = 255.0 if arr.dtype == np.uint8 else 1.0
    x = arr.astype(np.float32) / np.float32(scale)
    if x.ndim == 3 and x.shape[-1] == 4:
        x = x[..., :3]  # drop alpha
    if x.ndim == 3 and x.shape[-1] == 3:
        return rgb_to_grayscale(x[None])[0, :, :, 0]  # (H, W)
    if x.ndim == 3 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 2 or min(x.shape) < 3:
        raise ValueError("edge_demo: image must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) "
                         f"with H, W >= 3, got shape {arr.shape}")
    return x


def load_photo(path=None, max_side: int = PHOTO_SIDE) -> np.ndarray:
    """Read a photograph with Pillow as (H, W) grayscale float32 in [0, 1], shrunk so its
    longer side is at most ``max_side`` pixels (the figure shows it a few hundred pixels
    wide); one over ``stridenet.data.images.MAX_PIXELS`` is refused with a ValueError."""
    from ..data.images import read_image

    path = sample_photo_path() if path is None else os.fspath(path)
    im = read_image(path, max_side=max_side)  # decoded small: never a huge float copy
    rgb = np.asarray(im.convert("RGB"))  # (H, W, 3) uint8
    return to_grayscale(rgb)


def edge_responses(gray: np.ndarray, kernels=None) -> dict:
    """Each kernel applied to the (H, W) image by ops.conv2d, valid padding -> (H-2, W-2)."""
    from .. import ops

    kernels = KERNELS if kernels is None else kernels
    names = list(kernels)
    stack = np.stack([np.asarray(kernels[n], dtype=np.float32) for n in names], axis=-1)
    w = stack[:, :, None, :]  # (3, 3, 1, F): one filter per kernel
    y = ops.conv2d(gray[None, :, :, None].astype(np.float32), w).numpy()[0]  # (OH, OW, F)
    return {n: y[:, :, f] for f, n in enumerate(names)}


@dataclass
class EdgeDemo:
    image: np.ndarray  # (H, W) grayscale
    responses: dict  # name -> (H-2, W-2)
    kernels: dict = field(default_factory=lambda: dict(KERNELS))
    out: str | None = None  # the PNG written, if any
    source: str = ""  # where the photograph came from (and its licence, for the default)

    @property
    def magnitude(self) -> np.ndarray:
        """sqrt(sobel_x^2 + sobel_y^2): edges of any direction."""
        return np.hypot(self.responses["sobel_x"], self.responses["sobel_y"])


def save_grid(demo: EdgeDemo, out) -> str:
    """Write the original and each |response| (plus the Sobel magnitude) as a PNG grid."""
    from .figures import _atomic_save, _mpl

    _, Figure, FigureCanvasAgg, *_ = _mpl()
    panels = [("original (grayscale)", demo.image, None)]
    panels += [(f"{n}  {demo.kernels[n]}", np.abs(r), n) for n, r in demo.responses.items()]
    if {"sobel_x", "sobel_y"} <= set(demo.responses):
        panels.append(("Sobel magnitude sqrt(x^2 + y^2)", demo.magnitude, "magnitude"))
    cols = 3
    rows = -(-len(panels) // cols)
    h, w = demo.image.shape
    fig = Figure(figsize=(cols * 4.0, rows * 4.0 * h / w + 0.6), dpi=100)
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, (title, arr, kind) in zip(axes, panels):
        vmax = float(np.percentile(arr, 99.5)) if kind else 1.0
        ax.imshow(arr, cmap="gray" if kind is None else "magma", vmin=0.0, vmax=vmax or 1.0)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    for ax in axes[len(panels):]:
        ax.axis("off")
    fig.suptitle("Edge detection with stridenet.ops.conv2d (bright = strong response)",
                 fontsize=10)
    if demo.source:
        fig.text(0.5, 0.005, f"photo: {demo.source}", ha="center", va="bottom", fontsize=7,
                 color="#555")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.03, top=0.92, wspace=0.03, hspace=0.12)
    return _atomic_save(out, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))


def edge_demo(path=None, image=None, out=None, kernels=None) -> EdgeDemo:
    """Run the edge kernels on a photograph.

    ``path``: a Pillow-readable photo (default: matplotlib's grace_hopper.jpg);
    ``image``: an array instead of a file (uint8 0..255 or floats); ``out``: write the
    PNG grid there. Returns the grayscale image and the responses.
    """
    if path is not None and image is not None:
        raise ValueError("edge_demo: give path= or image=, not both")
    gray = load_photo(path) if image is None else to_grayscale(image)
    source = (PHOTO_CREDIT if path is None and image is None
              else os.path.basename(os.fspath(path)) if path is not None else "")
    demo = EdgeDemo(gray, edge_responses(gray, kernels), dict(kernels or KERNELS), source=source)
    if out is not None:
        demo.out = save_grid(demo, out)
    return demo


__all__ = ["KERNELS", "PHOTO_CREDIT", "PHOTO_SIDE", "EdgeDemo", "edge_demo", "edge_responses",
           "load_photo", "sample_photo_path", "save_grid", "to_grayscale"]
