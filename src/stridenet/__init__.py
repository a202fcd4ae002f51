"""stridenet: a convolutional neural network framework on NumPy that shows its math."""

from . import (
    activations,
    config,
    data,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    regularizers,
    utils,
)
from .autograd import Tensor, enable_grad, is_grad_enabled, no_grad
from .models import Model, Sequential

__version__ = "0.1.0"

__all__ = [
    "Model", "Sequential", "Tensor", "activations", "config", "enable_grad", "initializers",
    "is_grad_enabled", "layers", "losses", "metrics", "models", "no_grad", "ops",
    "regularizers", "utils", "data", "datasets",
]
