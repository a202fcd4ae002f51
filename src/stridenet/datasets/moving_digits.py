"""Moving digits: short clips of one MNIST digit gliding and bouncing, made offline.

After Moving MNIST (Srivastava, Mansimov and Salakhutdinov, 2015), scaled to this
package: each clip has 16 frames of 32x32 pixels in which one MNIST digit, shrunk to 14x14
(2x2 averages of its 28x28 image), moves with a constant velocity and bounces off the
borders (the velocity component flips when the digit would leave the frame). A clip is
labelled by its digit. Training clips draw digits from the MNIST training set and test
clips from the test set, so no digit image is in both; the same seed gives the same
clips. Nothing is downloaded: MNIST ships inside the package.

    x: (N, 16, 32, 32) uint8 -- add a channel axis for Conv3D: x[..., None]
    y: (N,) uint8 in 0..9
"""

from __future__ import annotations

import numpy as np

from . import mnist

FRAMES, SIZE, DIGIT = 16, 32, 14
NUM_CLASSES = 10


def _shrink(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 14, 14) uint8 by 2x2 averages."""
    n = len(images)
    blocks = images.reshape(n, DIGIT, 2, DIGIT, 2).astype(np.uint16)  # (N, 14, 2, 14, 2)
    return ((blocks.sum(axis=(2, 4)) + 2) // 4).astype(np.uint8)


def _paths(n: int, rng: np.random.Generator, frames: int) -> np.ndarray:
    """Top-left corners (n, frames, 2) of digits bouncing inside the frame."""
    room = SIZE - DIGIT  # positions 0..room keep the digit inside
    pos = rng.uniform(0, room, (n, 2))
    angle = rng.uniform(0, 2 * np.pi, n)
    speed = rng.uniform(1.0, 2.5, n)
    vel = np.stack([np.sin(angle), np.cos(angle)], axis=1) * speed[:, None]  # (n, 2)
    out = np.empty((n, frames, 2), np.int64)
    for f in range(frames):  # a loop over frames: each step is vectorised over clips
        out[:, f] = np.rint(pos)
        pos = pos + vel
        low, high = pos < 0, pos > room
        pos = np.where(low, -pos, np.where(high, 2 * room - pos, pos))  # reflect
        vel = np.where(low | high, -vel, vel)
    return out


def make_clips(digits: np.ndarray, rng: np.random.Generator, frames: int = FRAMES):
    """Clips ``(n, frames, 32, 32)`` uint8 of the 14x14 ``digits`` (n, 14, 14) moving."""
    n = len(digits)
    corners = _paths(n, rng, frames)
    clips = np.zeros((n, frames, SIZE, SIZE), np.uint8)
    rows = corners[..., 0, None] + np.arange(DIGIT)  # (n, frames, 14)
    cols = corners[..., 1, None] + np.arange(DIGIT)
    clip_i = np.arange(n)[:, None, None, None]
    frame_i = np.arange(frames)[None, :, None, None]
    clips[clip_i, frame_i, rows[..., :, None], cols[..., None, :]] = digits[:, None]
    return clips


def load_data(n_train: int = 6000, n_test: int = 1000, seed: int = 0, frames: int = FRAMES):
    """``((x_train, y_train), (x_test, y_test))`` of moving-digit clips (see the module)."""
    for name, n in (("n_train", n_train), ("n_test", n_test), ("frames", frames)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"moving_digits.load_data: {name} must be a positive int, "
                             f"got {n!r}")
    (mx, my), (tx, ty) = mnist.load_data()
    out = []
    for part, (images, labels, n) in enumerate(((mx, my, n_train), (tx, ty, n_test))):
        if n > len(images):
            raise ValueError(f"moving_digits.load_data: at most {len(images)} clips from "
                             f"this MNIST split, asked for {n}")
        rng = np.random.default_rng([int(seed), part])
        pick = rng.choice(len(images), n, replace=False)
        out.append((make_clips(_shrink(images[pick]), rng, frames), labels[pick]))
    return tuple(out)
