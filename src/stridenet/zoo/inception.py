"""Inception blocks (Szegedy et al., 2014, "Going deeper with convolutions").

An Inception block looks at its input at several scales at once and lets the next layer
choose: four parallel branches, each keeping the spatial size ('same' padding, stride 1),
are concatenated on the channel axis:

    1x1 conv (f1)
    1x1 conv (f3_reduce) -> 3x3 conv (f3)
    1x1 conv (f5_reduce) -> 5x5 conv (f5)
    3x3 max pool (stride 1, same) -> 1x1 conv (pool_proj)

    x: (N, H, W, C) -> (N, H, W, f1 + f3 + f5 + pool_proj)

The 1x1 "reduce" convolutions shrink the channels before the costly 3x3 and 5x5 ones.
Every convolution is followed by ReLU, as in GoogLeNet.
"""

from __future__ import annotations

from .. import layers as L
from ..models import Model
from .lenet import _check_classes
from .resnet import _named


def inception_block(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj, name=None):
    """The four-branch block: ``(N, H, W, C) -> (N, H, W, f1 + f3 + f5 + pool_proj)``."""
    sizes = dict(f1=f1, f3_reduce=f3_reduce, f3=f3, f5_reduce=f5_reduce, f5=f5,
                 pool_proj=pool_proj)
    for arg, v in sizes.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"inception_block: {arg} must be a positive int, got {v!r}")

    def conv(t, filters, k, part):
        return L.Conv2D(filters, k, padding="same", activation="relu",
                        name=_named(name, part))(t)

    b1 = conv(x, f1, 1, "1x1")
    b3 = conv(conv(x, f3_reduce, 1, "3x3_reduce"), f3, 3, "3x3")
    b5 = conv(conv(x, f5_reduce, 1, "5x5_reduce"), f5, 5, "5x5")
    bp = L.MaxPooling2D(pool_size=3, strides=1, padding="same", name=_named(name, "pool"))(x)
    bp = conv(bp, pool_proj, 1, "pool_proj")
    return L.Concatenate(axis=-1, name=_named(name, "concat"))([b1, b3, b5, bp])


def small_inception(input_shape=(32, 32, 3), num_classes=10, name="small_inception"):
    """A small Inception network for 28x28 or 32x32 images (uncompiled).

    stem: conv3x3 32 (relu) -> inception (64 ch) -> max pool 2 -> inception (120 ch) ->
    max pool 2 -> inception (160 ch) -> global average pooling -> Dense softmax.
    Weights are drawn from the global generator (``stridenet.utils.set_random_seed``).
    """
    _check_classes(num_classes)
    inputs = L.Input(shape=tuple(input_shape))
    x = L.Conv2D(32, 3, padding="same", activation="relu", name="stem_conv")(inputs)
    x = inception_block(x, 16, 16, 24, 4, 8, 16, name="inception1")  # 16+24+8+16 = 64
    x = L.MaxPooling2D(2, name="pool1")(x)
    x = inception_block(x, 32, 32, 48, 8, 24, 16, name="inception2")  # 32+48+24+16 = 120
    x = L.MaxPooling2D(2, name="pool2")(x)
    x = inception_block(x, 48, 32, 64, 8, 24, 24, name="inception3")  # 48+64+24+24 = 160
    x = L.GlobalAveragePooling2D(name="avg_pool")(x)  # (N, 160)
    outputs = L.Dense(num_classes, activation="softmax", name="predictions")(x)
    return Model(inputs, outputs, name=name)
