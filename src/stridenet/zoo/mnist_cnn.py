"""The Keras MNIST CNN of SPEC section 3 (484,714 parameters for 10 classes).

    x (N, 28, 28, 1) -> Conv 32@5x5 same relu -> Conv 32@5x5 same relu -> MaxPool 2
    -> (N, 14, 14, 32) -> Conv 64@3x3 same relu -> Conv 64@3x3 same relu -> MaxPool 2
    -> (N, 7, 7, 64) -> Flatten (3,136) -> Dense 128 relu -> Dense num_classes softmax

Parameters per layer: 832, 25,632, 0, 18,496, 36,928, 0, 0, 401,536, 1,290.
"""

from __future__ import annotations

from .. import layers as L
from ..models import Sequential
from .lenet import _check_classes


def mnist_cnn(input_shape=(28, 28, 1), num_classes=10, name="mnist_cnn"):
    """The SPEC section 3 model (uncompiled): ``(N, 28, 28, 1) -> (N, num_classes)`` softmax.

    Weights are drawn from the global generator (``stridenet.utils.set_random_seed``).
    """
    _check_classes(num_classes)
    return Sequential([
        L.Input(shape=tuple(input_shape)),
        L.Conv2D(32, kernel_size=5, padding="same", activation="relu"),
        L.Conv2D(32, kernel_size=5, padding="same", activation="relu"),
        L.MaxPooling2D(pool_size=2),
        L.Conv2D(64, kernel_size=3, padding="same", activation="relu"),
        L.Conv2D(64, kernel_size=3, padding="same", activation="relu"),
        L.MaxPooling2D(pool_size=2),
        L.Flatten(),
        L.Dense(128, activation="relu"),
        L.Dense(num_classes, activation="softmax"),
    ], name=name)
