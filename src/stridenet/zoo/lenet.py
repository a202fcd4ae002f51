"""LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998), as it is usually written in Keras.

The 1998 network read 32x32 images; on 28x28 MNIST the usual Keras port pads the first
convolution ('same'), so the second convolution still sees 14x14 maps and leaves 5x5:

    x (N, 28, 28, 1) -> Conv 6@5x5 same -> (N, 28, 28, 6) -> AvgPool 2 -> (N, 14, 14, 6)
    -> Conv 16@5x5 valid -> (N, 10, 10, 16) -> AvgPool 2 -> (N, 5, 5, 16) -> Flatten (400)
    -> Dense 120 -> Dense 84 -> Dense num_classes softmax

Parameters: 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706 for 10 classes.

``activation`` defaults to ``"tanh"``, the classic choice: the 1998 paper used a scaled
hyperbolic tangent (``1.7159 tanh(2x/3)``) and average ("sub-sampling") pooling; ReLU is a
common modern substitute (pass ``activation="relu"``). The paper's sparse C3 connection
table and RBF output layer are replaced, as in every Keras port, by a fully connected
convolution and a softmax Dense layer.
"""

from __future__ import annotations

from .. import layers as L
from ..models import Sequential


def lenet5(input_shape=(28, 28, 1), num_classes=10, activation="tanh", name="lenet5"):
    """The LeNet-5 model (uncompiled): ``(N, *input_shape) -> (N, num_classes)`` softmax.

    Weights are drawn from the global generator (``stridenet.utils.set_random_seed``).
    """
    _check_classes(num_classes)
    return Sequential([
        L.Input(shape=tuple(input_shape)),
        L.Conv2D(6, kernel_size=5, padding="same", activation=activation),
        L.AveragePooling2D(pool_size=2),
        L.Conv2D(16, kernel_size=5, padding="valid", activation=activation),
        L.AveragePooling2D(pool_size=2),
        L.Flatten(),
        L.Dense(120, activation=activation),
        L.Dense(84, activation=activation),
        L.Dense(num_classes, activation="softmax"),
    ], name=name)


def _check_classes(num_classes) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
