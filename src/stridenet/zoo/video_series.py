"""Convolutions over time and over video: ``fcn1d`` and ``c3d_small``.

``fcn1d``: the fully convolutional network for time-series classification of Wang, Yan and
Oates (2017): three blocks of Conv1D -> BatchNormalization -> ReLU with 128, 256 and 128
filters of widths 8, 5 and 3 ('same' padding, so the series keeps its length), global
average pooling over time, and a softmax Dense layer:

    x (N, L, C) -> (N, L, 128) -> (N, L, 256) -> (N, L, 128) -> GAP (N, 128) -> (N, classes)

``c3d_small``: a small C3D-style clip classifier (after Tran et al., 2015): 3x3x3
convolutions over (frames, height, width) with batch norm and ReLU, each block but the last
followed by 2x2x2 max pooling, then global average pooling over the whole clip:

    x (N, D, H, W, C) -> Conv3D 16 -> MaxPool 2 -> Conv3D 32 -> MaxPool 2 -> Conv3D 64
    -> GAP (N, 64) -> Dense num_classes softmax
"""

from __future__ import annotations

from .. import layers as L
from ..models import Sequential
from .lenet import _check_classes


def fcn1d(input_shape=(60, 1), num_classes=6, filters=(128, 256, 128), momentum=0.9,
          name="fcn1d"):
    """The FCN time-series classifier (uncompiled): ``(N, L, C) -> (N, num_classes)``.

    ``momentum`` of the batch norms is 0.9, not Keras's 0.99: on a few hundred series the
    moving statistics must settle within a few epochs of training, or inference (which
    uses them) lags far behind training."""
    _check_classes(num_classes)
    layers = [L.Input(shape=tuple(input_shape))]
    for f, k in zip(filters, (8, 5, 3)):
        layers += [L.Conv1D(f, k, padding="same"), L.BatchNormalization(momentum=momentum),
                   L.ReLU()]
    layers += [L.GlobalAveragePooling1D(), L.Dense(num_classes, activation="softmax")]
    return Sequential(layers, name=name)


def c3d_small(input_shape=(16, 32, 32, 1), num_classes=10, filters=(16, 32, 64),
              name="c3d_small"):
    """A small 3D CNN for clips (uncompiled): ``(N, D, H, W, C) -> (N, num_classes)``.

    Each 3x3x3 convolution is followed by batch normalisation (it trains in a few epochs
    what the plain stack needed twice as many for) and a ReLU."""
    _check_classes(num_classes)
    layers = [L.Input(shape=tuple(input_shape))]
    for i, f in enumerate(filters):
        layers += [L.Conv3D(f, 3, padding="same", use_bias=False), L.BatchNormalization(),
                   L.ReLU()]
        if i < len(filters) - 1:
            layers.append(L.MaxPooling3D(pool_size=2))
    layers += [L.GlobalAveragePooling3D(), L.Dense(num_classes, activation="softmax")]
    return Sequential(layers, name=name)
