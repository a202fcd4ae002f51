"""Differentiable CNN operations on channels-last arrays.

Every op accepts ndarrays or Tensors and returns a Tensor. The NumPy kernels
behind them live in ``stridenet.ops.kernels`` (no Tensor there).
"""

from .conv import conv1d, conv2d

__all__ = ["conv1d", "conv2d"]
