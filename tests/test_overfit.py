"""The whole training stack, end to end on real data: a small CNN memorises 512 MNIST digits.

If any gradient, the optimizer, shuffling or the loss were wrong, 100% training accuracy
within a few epochs would not happen (a model that learns nothing stays near 10%).
"""

from __future__ import annotations

import numpy as np

import stridenet as sn
from stridenet import layers as L


def test_overfits_512_mnist_images_to_full_training_accuracy():
    (x, y), _ = sn.datasets.mnist.load_data()
    x = x[:512, :, :, None].astype(np.float32) / 255  # (512, 28, 28, 1)
    y = y[:512]
    sn.utils.set_random_seed(0)
    model = sn.Sequential([
        L.Input((28, 28, 1)), L.Conv2D(16, 3, activation="relu"), L.MaxPooling2D(),
        L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(),
        L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
    model.compile(optimizer=sn.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=15, verbose=0)
    assert history.history["accuracy"][0] < 0.8  # it starts by not knowing the digits
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy == 1.0 and loss < 0.02
