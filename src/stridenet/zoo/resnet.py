"""Residual networks (He, Zhang, Ren and Sun, 2015): blocks and the CIFAR ResNet-20.

A residual block learns a correction to its input instead of a whole new map:

    a[l+2] = g(z[l+2] + shortcut(a[l]))

with ``g`` = ReLU and ``z[l+2]`` the output of the block's last conv + batch norm (before
its ReLU). The shortcut is the identity when the block keeps the shape; when it changes
(stride > 1 or a new channel count) it is a projection, a 1x1 convolution with the
block's stride followed by batch norm -- the paper's "option B". Convolutions feeding a
batch norm carry no bias (the norm's beta replaces it) and start from He-normal weights.

The helpers take and return tensors, so they compose with the functional API:

    x = Input((32, 32, 3)); y = basic_block(x, 16); y = basic_block(y, 32, strides=2)
"""

from __future__ import annotations

from .. import layers as L
from ..models import Model
from .lenet import _check_classes


def _named(name, part):
    return None if name is None else f"{name}_{part}"


def _conv_bn(x, filters, kernel_size, strides, name, part, kernel_regularizer):
    """Conv (no bias, 'same') -> BatchNorm: ``(N, H, W, C) -> (N, H/s, W/s, filters)``."""
    x = L.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False,
                 kernel_initializer="he_normal", kernel_regularizer=kernel_regularizer,
                 name=_named(name, f"{part}_conv"))(x)
    return L.BatchNormalization(name=_named(name, f"{part}_bn"))(x)


def _shortcut(x, out_channels, strides, name, kernel_regularizer):
    """Identity when the shape is kept, else the 1x1 conv + BN projection (option B)."""
    if strides == 1 and x.shape[-1] == out_channels:
        return x
    return _conv_bn(x, out_channels, 1, strides, name, "proj", kernel_regularizer)


def _check_block_args(filters, strides, fn):
    for arg, v in (("filters", filters), ("strides", strides)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{fn}: {arg} must be a positive int, got {v!r}")


def basic_block(x, filters, strides=1, name=None, kernel_regularizer=None):
    """Two 3x3 conv-BN layers and a shortcut: ``(N, H, W, C) -> (N, H/s, W/s, filters)``.

    conv3x3(stride s)-BN-ReLU -> conv3x3-BN = z; out = ReLU(z + shortcut(x)).
    ``name`` prefixes the block's layer names (``{name}_1_conv``, ..., ``{name}_out``).
    """
    _check_block_args(filters, strides, "basic_block")
    shortcut = _shortcut(x, filters, strides, name, kernel_regularizer)
    y = _conv_bn(x, filters, 3, strides, name, "1", kernel_regularizer)
    y = L.ReLU(name=_named(name, "1_relu"))(y)
    z = _conv_bn(y, filters, 3, 1, name, "2", kernel_regularizer)
    a = L.Add(name=_named(name, "add"))([z, shortcut])
    return L.ReLU(name=_named(name, "out"))(a)


def bottleneck_block(x, filters, strides=1, expansion=4, name=None, kernel_regularizer=None):
    """1x1 reduce, 3x3, 1x1 expand: ``(N, H, W, C) -> (N, H/s, W/s, filters * expansion)``.

    conv1x1(filters)-BN-ReLU -> conv3x3(filters, stride s)-BN-ReLU ->
    conv1x1(filters * expansion)-BN = z; out = ReLU(z + shortcut(x)). The stride sits on
    the 3x3 convolution (as in the widely used "ResNet v1.5"), so no input pixel is
    skipped by a strided 1x1.
    """
    _check_block_args(filters, strides, "bottleneck_block")
    _check_block_args(expansion, 1, "bottleneck_block")
    out_channels = filters * expansion
    shortcut = _shortcut(x, out_channels, strides, name, kernel_regularizer)
    y = _conv_bn(x, filters, 1, 1, name, "1", kernel_regularizer)
    y = L.ReLU(name=_named(name, "1_relu"))(y)
    y = _conv_bn(y, filters, 3, strides, name, "2", kernel_regularizer)
    y = L.ReLU(name=_named(name, "2_relu"))(y)
    z = _conv_bn(y, out_channels, 1, 1, name, "3", kernel_regularizer)
    a = L.Add(name=_named(name, "add"))([z, shortcut])
    return L.ReLU(name=_named(name, "out"))(a)


def cifar_resnet(depth=20, input_shape=(32, 32, 3), num_classes=10, kernel_regularizer=None,
                 name=None):
    """The CIFAR ResNet of depth ``6n + 2`` (He et al. 2015, section 4.2), uncompiled.

    ``(N, 32, 32, 3)``: conv3x3 16-BN-ReLU -> n basic blocks of 16 filters (32x32) ->
    n of 32 (16x16, the first with stride 2) -> n of 64 (8x8) -> global average pooling
    -> Dense num_classes softmax. Shape-changing shortcuts are projections (option B).
    Weights are drawn from the global generator (``stridenet.utils.set_random_seed``).
    """
    _check_classes(num_classes)
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"cifar_resnet: depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, "
                         f"110, ...), got {depth!r}")
    n = (depth - 2) // 6
    inputs = L.Input(shape=tuple(input_shape))
    x = _conv_bn(inputs, 16, 3, 1, "stem", "1", kernel_regularizer)
    x = L.ReLU(name="stem_relu")(x)
    for stage, filters in enumerate((16, 32, 64), start=1):
        for block in range(1, n + 1):
            strides = 2 if stage > 1 and block == 1 else 1
            x = basic_block(x, filters, strides, name=f"stage{stage}_block{block}",
                            kernel_regularizer=kernel_regularizer)
    x = L.GlobalAveragePooling2D(name="avg_pool")(x)  # (N, 64)
    outputs = L.Dense(num_classes, activation="softmax", name="predictions")(x)
    return Model(inputs, outputs, name=name or f"resnet{depth}")


def resnet20(input_shape=(32, 32, 3), num_classes=10, kernel_regularizer=None, name="resnet20"):
    """ResNet-20 for 32x32 images: 3 stages x 3 basic blocks of 16/32/64 filters.

    274,042 parameters for 10 classes: 272,474 trainable and 1,568 batch-norm moving
    statistics (the paper's 0.27M uses parameter-free "option A" shortcuts; the two 1x1
    projections here add 512 + 2,048 weights and their batch norms).
    """
    return cifar_resnet(20, input_shape, num_classes, kernel_regularizer, name)
