"""Sliding windows over NHWC arrays: padding, strided window views and tap slices.

A window view is a zero-copy ``as_strided`` view of shape (N, OH, OW, KH, KW, C):
element [n, i, j, a, b, c] is the padded input at row ``i*sh + a*dh`` and column
``j*sw + b*dw``. im2col copies it into a (N*OH*OW, KH*KW*C) matrix so that a
convolution becomes one matrix product.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

# Upper bound on the im2col buffer of one chunk of images (bytes).
# Small enough to stay in a core's 512 KiB L2 and the shared L3: at one thread a whole
# training step ran 6% (SPEC CNN) and 14% (LeNet-5) faster with 1 MiB than with 4 MiB; 2
# MiB and 512 KiB measured in between (and 32 MiB slower still).
CHUNK_BYTES = 1 << 20


def pad_nhwc(x: np.ndarray, pads, value=0.0) -> np.ndarray:
    """x: (N, H, W, C) -> (N, H+top+bottom, W+left+right, C), new cells = value."""
    (pt, pb), (pl, pr) = pads
    if pt == pb == pl == pr == 0:
        return x
    n, h, w, c = x.shape
    return pad_into(np.empty((n, h + pt + pb, w + pl + pr, c), dtype=x.dtype), x, pads, value)


def pad_into(out: np.ndarray, x: np.ndarray, pads, value=0.0) -> np.ndarray:
    """Write x (N, H, W, C) padded by ``pads`` into out (N, Hp, Wp, C); returns out.

    Only the border is filled (each cell is written once), then x is copied into the middle.
    """
    (pt, _), (pl, _) = pads
    _, h, w, _ = x.shape
    out[:, :pt] = value
    out[:, pt + h:] = value
    out[:, pt:pt + h, :pl] = value
    out[:, pt:pt + h, pl + w:] = value
    out[:, pt:pt + h, pl:pl + w, :] = x
    return out


def window_view(xp: np.ndarray, kernel, strides, dilation, out_hw) -> np.ndarray:
    """xp: (N, Hp, Wp, C) -> read-only view (N, OH, OW, KH, KW, C)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, strides, dilation, out_hw
    n, _, _, c = xp.shape
    s0, s1, s2, s3 = xp.strides
    shape, strides = (n, oh, ow, kh, kw, c), (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3)
    if not xp.flags.c_contiguous or xp.size == 0:
        return as_strided(xp, shape=shape, strides=strides, writeable=False)
    # the same view built directly on x's buffer: several times faster than as_strided,
    # which matters for batch-1 inference
    view = np.ndarray(shape, xp.dtype, buffer=xp, strides=strides)
    view.flags.writeable = False
    return view


def tap_slices(a: int, b: int, strides, dilation, out_hw) -> tuple:
    """Index of the padded cells that kernel tap (a, b) reads, for all outputs at once."""
    (sh, sw), (dh, dw), (oh, ow) = strides, dilation, out_hw
    r0, c0 = a * dh, b * dw
    return (slice(None), slice(r0, r0 + sh * (oh - 1) + 1, sh),
            slice(c0, c0 + sw * (ow - 1) + 1, sw), slice(None))


# An im2col workspace of one image larger than half a chunk leaves the L2 cache anyway;
# there the per-chunk Python and BLAS set-up costs more than the cache saves, so such
# chunks hold up to BIG_IMAGE_CHUNK_BYTES (ResNet-20's 32x32x16 3x3 layers, 590 KB of
# im2col per image, one thread, fresh processes: fwd/bwd 20.4/40.5 ms in 4 MiB chunks,
# 23.5/46.8 ms in 1 MiB ones; Winograd layers measured faster in 1 MiB chunks and keep it).
BIG_IMAGE_CHUNK_BYTES = 4 << 20


def chunk_size(n: int, per_image_elems: int, itemsize: int, big_images: bool = False) -> int:
    """How many images fit one chunk of at most CHUNK_BYTES (at least one); with
    ``big_images``, BIG_IMAGE_CHUNK_BYTES when one image takes more than half a chunk."""
    per_image = max(1, per_image_elems * itemsize)
    budget = CHUNK_BYTES
    if big_images and 2 * per_image > CHUNK_BYTES:
        budget = max(CHUNK_BYTES, BIG_IMAGE_CHUNK_BYTES)
    return int(max(1, min(n, budget // per_image)))


def select(values: np.ndarray, mask: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``values`` where ``mask``, else +0.0, branch-free: a bitwise AND of the float bits
    with an all-ones or all-zeros integer (np.where on a random mask is several times
    slower, and ``values * mask`` would turn inf into NaN). ``out`` may be given."""
    int_t = {2: np.int16, 4: np.int32, 8: np.int64}[values.dtype.itemsize]
    if out is None:
        out = np.empty(values.shape, values.dtype)
    bits = out.view(int_t)
    np.negative(mask, out=bits, dtype=int_t, casting="unsafe")  # True -> -1: all bits set
    np.bitwise_and(values.view(int_t), bits, out=bits)
    return out
