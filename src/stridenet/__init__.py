"""stridenet: a convolutional neural network framework on NumPy that shows its math."""

from . import (
    activations,
    config,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    regularizers,
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


# imported on first use (``sn.datasets.mnist``, ``from stridenet import zoo``): the model
# API above is what every script needs; these pull in more of the standard library
# (urllib, gzip, csv, hashing) and explain/viz draw with matplotlib when asked
_LAZY = ("callbacks", "data", "datasets", "distribute", "evaluation", "explain", "utils",
         "viz", "zoo")


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'stridenet' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
