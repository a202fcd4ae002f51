"""stridenet: a convolutional neural network framework on NumPy that shows its math."""

from . import (
    activations,
    callbacks,
    config,
    data,
    datasets,
    distribute,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    regularizers,
    utils,
    zoo,
)
from .autograd import Tensor, enable_grad, is_grad_enabled, no_grad
from .layers import Input
from .models import Model, Sequential

__version__ = "0.1.0"

__all__ = [
    "Input", "Model", "Sequential", "Tensor", "activations", "callbacks", "config", "data",
    "datasets", "distribute", "enable_grad", "explain", "initializers", "is_grad_enabled",
    "layers", "losses", "metrics", "models", "no_grad", "ops", "optimizers", "regularizers",
    "utils", "viz", "zoo",
]


def __getattr__(name):
    # explain and viz draw with matplotlib when asked; import them on first use
    if name in ("explain", "viz", "evaluation"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'stridenet' has no attribute {name!r}")
