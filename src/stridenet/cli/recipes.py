"""What ``stridenet train DATASET`` does by default for each dataset it knows.

Images (MNIST, Fashion-MNIST) train the SPEC CNN with light augmentation; clips of moving
digits train the small 3D CNN; control-chart series train the 1D FCN. A recipe says how
the dataset's raw arrays become the model's inputs (the same for train, evaluate and
explore), the default model and schedule, and which figures make sense for its samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IMAGE_FIGURES = ("history.png", "confusion_matrix.png", "predictions.png", "filters.png",
                 "feature_maps.png")


@dataclass(frozen=True)
class Recipe:
    kind: str          # "images", "clips" or "series": what one sample is
    model: str         # the stridenet.zoo model trained by default
    epochs: int
    batch_size: int
    learning_rate: float  # the peak of the warm-up + cosine schedule
    augment: bool      # shifts and rotations: images only
    figures: tuple     # the PNG files the run folder gets

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """Raw dataset arrays -> float32 model inputs with a channel axis.

        images (N, H, W) uint8 -> (N, H, W, 1) in [0, 1]; clips (N, D, H, W) uint8 ->
        (N, D, H, W, 1) in [0, 1]; series (N, L) -> (N, L, 1), each series z-normalised
        (its own mean 0 and standard deviation 1, the UCR archive's convention), so no
        statistic of the training set has to travel with the model."""
        if self.kind == "series":
            x = x.astype(np.float32)
            centred = x - x.mean(axis=1, keepdims=True)
            sd = centred.std(axis=1, keepdims=True)
            return (centred / np.where(sd > 0, sd, 1))[..., None]  # (N, L, 1)
        return (x.astype(np.float32) / np.float32(255.0))[..., None]

    def figure_sample(self, x: np.ndarray) -> np.ndarray:
        """What the prediction grid draws of each sample: an image (a clip's first frame)."""
        return x[:, 0] if self.kind == "clips" else x


# The MNIST recipe (SPEC section 3: >= 99.2% test accuracy within 3 epochs): Adam at batch
# 64 warms up over the first tenth of the steps, then a half cosine down to 1% of the
# peak; light augmentation (the network has no dropout) lifted a 1-epoch, 30,000-image
# trial from 98.8% to 99.1%.
_IMAGES = Recipe("images", "mnist_cnn", 3, 64, 3e-3, True, IMAGE_FIGURES)

RECIPES = {
    "mnist": _IMAGES,
    "fashion_mnist": _IMAGES,
    # 6,000 clips; the 3D CNN sees each digit 16 times, moved: a few epochs suffice
    "moving_digits": Recipe("clips", "c3d_small", 4, 32, 3e-3, False,
                            ("history.png", "confusion_matrix.png", "predictions.png")),
    # 300 series of 60 steps: many small steps, as the FCN paper trained
    "synthetic_control": Recipe("series", "fcn1d", 12, 16, 1e-3, False,
                                ("history.png", "confusion_matrix.png")),
}
