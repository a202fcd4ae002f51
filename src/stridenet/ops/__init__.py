"""Differentiable CNN operations on channels-last arrays.

Every op accepts ndarrays or Tensors and returns a Tensor. The NumPy kernels
behind them live in ``stridenet.ops.kernels`` (no Tensor there).
"""

from .activations import elu, gelu, leaky_relu, linear, log_softmax, relu, sigmoid, softmax, tanh
from .convolution import conv, conv1d, conv2d, conv3d
from .cropping import crop1d, crop2d, crop3d
from .dense import dense
from .dropout import dropout
from .losses import (
    binary_crossentropy,
    categorical_crossentropy,
    mean_squared_error,
    sparse_categorical_crossentropy,
)
from .normalization import batch_norm
from .padding import pad1d, pad2d, pad3d
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
from .pool3d import avg_pool3d, global_avg_pool3d, global_max_pool3d, max_pool3d
from .transposed_convolution import (
    conv_transpose,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from .upsampling import upsample1d, upsample2d, upsample3d

__all__ = [
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "batch_norm", "binary_crossentropy",
    "categorical_crossentropy", "conv", "conv1d", "conv2d", "conv3d", "conv_transpose",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "crop1d", "crop2d", "crop3d",
    "dense", "dropout", "elu", "gelu", "global_avg_pool1d", "global_avg_pool2d",
    "global_avg_pool3d", "global_max_pool1d", "global_max_pool2d", "global_max_pool3d",
    "leaky_relu", "linear", "log_softmax", "max_pool1d", "max_pool2d", "max_pool3d",
    "mean_squared_error", "pad1d", "pad2d", "pad3d", "relu", "sigmoid", "softmax",
    "sparse_categorical_crossentropy", "tanh", "upsample1d", "upsample2d", "upsample3d",
]
