"""Models: Sequential and functional/subclassed Model, with Keras training methods."""

from .model import Model
from .sequential import Sequential

__all__ = ["Model", "Sequential"]
