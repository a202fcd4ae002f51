"""``Input`` / ``InputLayer``: the entry points of a functional or Sequential model."""

from __future__ import annotations

from .base import Layer
from .symbolic import SymbolicTensor


class InputLayer(Layer):
    """Holds the model's input shape; its output is the input unchanged."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, **kwargs):
        if shape is None and "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if shape is None:
            raise ValueError("InputLayer needs a shape, e.g. shape=(28, 28, 1)")
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.shape = tuple(shape)
        self.batch_size = batch_size
        self.built = True
        self.output = SymbolicTensor((batch_size, *self.shape), dtype=self.dtype, layer=self,
                                     name=self.name)

    def call(self, inputs, training=False):
        return inputs

    def get_config(self):
        return {"shape": list(self.shape), "batch_size": self.batch_size, "name": self.name,
                **({"dtype": self.dtype.name} if self.dtype is not None else {})}


def Input(shape=None, batch_size=None, dtype=None, name=None):  # noqa: N802 - Keras name
    """A symbolic model input of shape (batch_size, *shape)."""
    if shape is None:
        raise ValueError("Input needs a shape (without the batch axis), e.g. Input((28, 28, 1))")
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name).output
