"""stridenet: a convolutional neural network framework on NumPy that shows its math."""

from . import config, ops
from .autograd import Tensor, enable_grad, is_grad_enabled, no_grad

__version__ = "0.1.0"

__all__ = ["Tensor", "config", "enable_grad", "is_grad_enabled", "no_grad", "ops"]
