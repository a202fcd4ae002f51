"""Differentiable CNN operations on channels-last arrays.

Every op accepts ndarrays or Tensors and returns a Tensor. The NumPy kernels
behind them live in ``stridenet.ops.kernels`` (no Tensor there).
"""

from .conv import conv1d, conv2d
from .pad import pad1d, pad2d
from .pool import (
    avg_pool1d,
    avg_pool2d,
    global_avg_pool1d,
    global_avg_pool2d,
    global_max_pool1d,
    global_max_pool2d,
    max_pool1d,
    max_pool2d,
)

__all__ = [
    "avg_pool1d", "avg_pool2d", "conv1d", "conv2d", "global_avg_pool1d", "global_avg_pool2d",
    "global_max_pool1d", "global_max_pool2d", "max_pool1d", "max_pool2d", "pad1d", "pad2d",
]
