"""Turn a picture of a handwritten digit into a 28x28 MNIST-style input.

MNIST digits are light ink on a black field, their ink fitted into a 20x20 box
(aspect ratio kept, anti-aliased) and placed in a 28x28 frame so that the ink's
centre of mass sits at the frame's centre. A model trained on them does best on
pictures prepared the same way, so :func:`mnist_digit` does, in order:

1. grayscale in [0, 1]; a transparent background is filled with the colour that
   contrasts with the ink;
2. invert when the background (the median of the border pixels) is light, subtract
   the background level and stretch the ink to a peak of 1;
3. crop to the bounding box of the pixels whose ink reaches ``threshold`` (fainter
   pixels count as background and become 0);
4. scale the crop so its longer side is ``box`` pixels (Lanczos resampling);
5. paste it into a ``size x size`` black frame with its centre of mass at the
   centre (to the nearest pixel, and never pushing ink off the frame).

The result is float32 in [0, 1], the scale the CLI trains on (uint8 / 255).
Files are read small: :func:`load_digit` has Pillow shrink a picture to ``WORK_SIDE``
pixels (a JPEG is decoded at reduced scale) before any float copy is made, and refuses
one that would decode to more than ``MAX_PIXELS`` pixels, so a small PNG of a huge blank
page cannot take gigabytes. Pillow reads the files and resamples; it comes with
matplotlib (the ``plot`` extra).
"""

from __future__ import annotations

import math
import numbers
import os
import warnings

import numpy as np

from .augment import LUMA_WEIGHTS

_PILLOW_HINT = ("reading and resizing images needs Pillow, which comes with matplotlib: "
                'pip install "stridenet[plot]" (or pip install pillow)')


def _pillow():
    """The ``PIL.Image`` module, or an ImportError that says how to install it."""
    try:
        from PIL import Image
    except ImportError as err:
        raise ImportError(_PILLOW_HINT) from err
    return Image


# -- reading --------------------------------------------------------------------------
# The most pixels an image may decode to (after a JPEG's own reduction, see read_image):
# 50 megapixels, about 200 MB as Pillow holds 8-bit RGBA. A PNG of a blank page
# compresses a thousandfold, so a small file can ask for gigabytes: larger is refused.
MAX_PIXELS = 50_000_000
# load_digit works on the picture shrunk to at most this many pixels along its longer
# side: the digit ends up 20 px tall, so nothing it needs is lost, and the float copies
# of a photo from a phone stay a few megabytes.
WORK_SIDE = 1024


def _too_large(path, pixels: str, max_pixels: int) -> ValueError:
    return ValueError(f"image {path} is too large: {pixels}, more than the limit of "
                      f"{max_pixels / 1e6:g} megapixels (shrink it first)")


def _shrinkable(im):
    """``im`` in a mode Pillow resamples smoothly (``1`` and ``P`` would only be sampled
    nearest-neighbour, and a transparency key would be averaged into other colours)."""
    if "transparency" in im.info or im.mode in ("P", "PA"):
        return im.convert("RGBA")
    if im.mode == "1":
        return im.convert("L")
    if im.mode.startswith("I;16"):
        return im.convert("I")  # the same levels on 32 bits; _pil_to_array scales them
    if im.mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        return im.convert("RGB")  # CMYK, YCbCr, ...
    return im


def read_image(path, max_side: int | None = None, max_pixels: int = MAX_PIXELS):
    """Open a PNG/JPEG (any format Pillow decodes) and return it as a Pillow image,
    turned upright by its EXIF orientation (phone photos are often stored sideways).

    ``max_side``: shrink the image (aspect kept) so its longer side is at most this
    many pixels; a JPEG is then decoded at 1/2, 1/4 or 1/8 scale directly, the rest
    are reduced right after decoding, before any float copy exists.
    ``max_pixels``: refuse an image that would decode to more pixels than this (after
    the JPEG reduction), before decoding it.

    Raises FileNotFoundError for a missing file and ValueError for one that is too
    large or not an image Pillow can decode (or is truncated).
    """
    Image = _pillow()
    from PIL import ImageOps, UnidentifiedImageError

    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    for value, name in ((max_side, "max_side"), (max_pixels, "max_pixels")):
        if value is not None and (not isinstance(value, numbers.Integral)
                                  or isinstance(value, bool) or value <= 0):
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such image file: {path}")
    try:
        with warnings.catch_warnings():
            # Pillow warns about images above its own limit; ours is lower and says so
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)  # reads the header only
        with im:
            w, h = im.size
            if max_side is not None and max(w, h) > max_side:
                f = max_side / max(w, h)
                im.draft(None, (max(1, math.ceil(w * f)), max(1, math.ceil(h * f))))
            if im.width * im.height > max_pixels:
                raise _too_large(path, f"{w}x{h} pixels", max_pixels)
            im.load()  # decode now: a truncated file fails here, not later
            if max_side is not None and max(im.size) > max_side:
                im = _shrinkable(im)
                im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            return ImageOps.exif_transpose(im)
    except Image.DecompressionBombError:  # over twice Pillow's limit: refused at open
        raise _too_large(path, f"over {2 * Image.MAX_IMAGE_PIXELS:,} pixels",
                         max_pixels) from None
    except UnidentifiedImageError:
        raise ValueError(f"cannot read image {path}: not an image format Pillow "
                         f"recognises (use PNG or JPEG)") from None
    except (OSError, SyntaxError) as err:  # Pillow reports broken data as these
        raise ValueError(f"cannot read image {path}: the file is damaged or truncated "
                         f"({err})") from None


def _pil_to_array(im) -> np.ndarray:
    """A Pillow image as ``(H, W)`` or ``(H, W, 4)`` float64 in [0, 1]."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        # 16-bit PNGs decode to these modes; their full scale is 65535
        return np.clip(np.asarray(im, dtype=np.float64) / 65535.0, 0.0, 1.0)
    if im.mode == "F":
        return np.clip(np.asarray(im, dtype=np.float64), 0.0, 1.0)
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if has_alpha:
        im = im.convert("RGBA")
    elif im.mode not in ("L", "1"):
        im = im.convert("RGB")
    else:
        im = im.convert("L")
    return np.asarray(im, dtype=np.float64) / 255.0


def to_grayscale(image) -> np.ndarray:
    """``image`` as ``(H, W)`` float64 gray levels in [0, 1].

    ``image``: a Pillow image, or an array ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` (RGB)
    or ``(H, W, 4)`` (RGBA); uint8 arrays are divided by 255, float arrays must already
    lie in [0, 1]. Colour becomes luminance (ITU-R BT.601 weights). Transparent pixels
    take the background colour that contrasts with the opaque ones (white behind
    dark ink, black behind light ink), so the alpha channel's drawing survives.
    """
    if hasattr(image, "mode") and hasattr(image, "size") and not isinstance(image, np.ndarray):
        arr = _pil_to_array(image)
    else:
        arr = np.asarray(image)
        if arr.dtype == np.bool_:
            arr = arr.astype(np.float64)
        elif np.issubdtype(arr.dtype, np.integer):
            if arr.size and (arr.min() < 0 or arr.max() > 255):
                raise ValueError("image: integer pixels must lie in 0..255 (uint8), got "
                                 f"{arr.min()}..{arr.max()}")
            arr = arr.astype(np.float64) / 255.0
        elif np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float64)
            if not np.all(np.isfinite(arr)) or (arr.size and (arr.min() < 0 or arr.max() > 1)):
                raise ValueError("image: float pixels must be finite and lie in [0, 1]")
        else:
            raise TypeError(f"image must be a Pillow image or a numeric array, got dtype "
                            f"{arr.dtype}")
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]  # (H, W, 1) -> (H, W)
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] in (3, 4))):
        raise ValueError(f"image must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
                         f"got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image is empty: shape {arr.shape}")
    if arr.ndim == 2:
        return arr
    luma = arr[..., :3] @ np.asarray(LUMA_WEIGHTS)  # (H, W)
    if arr.shape[-1] == 3:
        return luma
    alpha = arr[..., 3]  # (H, W), 1 = opaque
    if alpha.sum() == 0:
        return np.ones_like(luma)  # nothing drawn: a blank page
    ink_level = float((luma * alpha).sum() / alpha.sum())
    backdrop = 1.0 if ink_level < 0.5 else 0.0
    return alpha * luma + (1.0 - alpha) * backdrop


# -- preparing ----------------------------------------------------------------------
def _border(gray: np.ndarray) -> np.ndarray:
    """The pixels on the image's four edges, ``(2H + 2W - 4,)`` (fewer for thin images)."""
    if min(gray.shape) <= 2:
        return gray.ravel()
    return np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])


def ink_image(gray) -> np.ndarray:
    """Ink as light on a black background: ``(H, W)`` in [0, 1] with the ink's peak at 1.

    ``gray: (H, W)`` in [0, 1]. The background level is the median of the border
    pixels; a light background (above 0.5) means dark ink, so the image is inverted.
    Raises ValueError when nothing stands out from the background (a blank image).
    """
    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim != 2:
        raise ValueError(f"gray must have shape (H, W), got {gray.shape}")
    background = float(np.median(_border(gray)))
    if background > 0.5:
        gray, background = 1.0 - gray, 1.0 - background
    ink = np.clip(gray - background, 0.0, None)
    peak = float(ink.max())
    # 5% of full scale: below that the "digit" is JPEG noise or paper texture
    if peak < 0.05:
        raise ValueError("no digit found: the image is blank (nothing differs from its "
                         "background)")
    return ink / peak


def center_of_mass(image) -> tuple[float, float]:
    """``(row, col)`` of the intensity-weighted centre of ``image: (H, W)`` (pixel centres
    at integer coordinates)."""
    image = np.asarray(image, dtype=np.float64)
    total = image.sum()
    if image.ndim != 2 or total <= 0:
        raise ValueError("center_of_mass needs a 2-D image with some positive intensity")
    rows = np.arange(image.shape[0], dtype=np.float64)
    cols = np.arange(image.shape[1], dtype=np.float64)
    return (float(image.sum(axis=1) @ rows / total), float(image.sum(axis=0) @ cols / total))


def _check_sizes(size, box, threshold) -> None:
    for value, name in ((size, "size"), (box, "box")):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if box > size:
        raise ValueError(f"box must be <= size, got box={box} and size={size}")
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) \
            or not 0 < threshold < 1:
        raise ValueError(f"threshold must be a number in (0, 1), got {threshold!r}")


def mnist_digit(image, size: int = 28, box: int = 20, threshold: float = 0.2) -> np.ndarray:
    """A picture of one digit as MNIST prepares its digits: ``(size, size)`` float32 in
    [0, 1], light ink on black, the ink scaled into a ``box x box`` square (aspect kept)
    and centred by its centre of mass (steps in the module docstring).

    ``image``: a Pillow image or an array accepted by :func:`to_grayscale`, any size,
    dark-on-light or light-on-dark. ``threshold``: the ink level (of the peak) below
    which a pixel is background. Raises ValueError for a blank image.
    """
    _check_sizes(size, box, threshold)
    ink = ink_image(to_grayscale(image))  # (H, W), peak 1
    mask = ink >= threshold
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = np.where(mask, ink, 0.0)[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]  # (h, w)
    h, w = crop.shape
    scale = box / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    Image = _pillow()
    resized = Image.fromarray(crop.astype(np.float32)).resize(
        (new_w, new_h), Image.Resampling.LANCZOS)  # Pillow sizes are (width, height)
    # Lanczos rings slightly below 0 and above 1 next to sharp edges: clip the ringing
    patch = np.clip(np.asarray(resized, dtype=np.float64), 0.0, 1.0)  # (new_h, new_w)
    if patch.max() <= 0:  # pragma: no cover - a positive crop cannot vanish
        raise ValueError("no digit found after resizing")
    # a thin stroke averaged down to a few pixels turns faint: restore a full-scale peak,
    # as every MNIST digit has
    patch /= patch.max()
    cy, cx = center_of_mass(patch)
    centre = (size - 1) / 2.0
    # the offset that puts the centre of mass on the frame's centre, kept inside the frame
    top = min(max(math.floor(centre - cy + 0.5), 0), size - new_h)
    left = min(max(math.floor(centre - cx + 0.5), 0), size - new_w)
    out = np.zeros((size, size), dtype=np.float32)
    out[top:top + new_h, left:left + new_w] = patch
    return out


def load_digit(path, size: int = 28, box: int = 20, threshold: float = 0.2) -> np.ndarray:
    """:func:`read_image` then :func:`mnist_digit`: ``(size, size)`` float32 in [0, 1].

    The picture is first shrunk to at most ``WORK_SIDE`` pixels along its longer side
    (a JPEG decoded at reduced scale), and one of over ``MAX_PIXELS`` is refused with a
    ValueError, so a huge image costs little memory and time.
    """
    return mnist_digit(read_image(path, max_side=WORK_SIDE), size=size, box=box,
                       threshold=threshold)


__all__ = ["MAX_PIXELS", "WORK_SIDE", "center_of_mass", "ink_image", "load_digit",
           "mnist_digit", "read_image", "to_grayscale"]
