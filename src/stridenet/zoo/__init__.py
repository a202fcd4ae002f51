"""Ready-made architectures: LeNet-5, the SPEC MNIST CNN, ResNet and Inception.

Each builder returns an uncompiled model whose weights come from the global generator
(``stridenet.utils.set_random_seed``); ``get(name, **kwargs)`` builds one by name.
"""

from __future__ import annotations

from .inception import inception_block, small_inception
from .lenet import lenet5
from .mnist_cnn import mnist_cnn
from .resnet import basic_block, bottleneck_block, cifar_resnet, resnet20
from .video_series import c3d_small, fcn1d

_BUILDERS = {
    "c3d_small": c3d_small,
    "fcn1d": fcn1d,
    "lenet5": lenet5,
    "mnist_cnn": mnist_cnn,
    "resnet20": resnet20,
    "small_inception": small_inception,
}


def names() -> list[str]:
    """The model names ``get`` knows."""
    return sorted(_BUILDERS)


def get(name, **kwargs):
    """Build the model called ``name`` (e.g. ``get("resnet20", num_classes=100)``)."""
    builder = _BUILDERS.get(name.lower()) if isinstance(name, str) else None
    if builder is None:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(names())}")
    return builder(**kwargs)


__all__ = [
    "basic_block", "bottleneck_block", "c3d_small", "cifar_resnet", "fcn1d", "get",
    "inception_block", "lenet5", "mnist_cnn", "names", "resnet20", "small_inception",
]
