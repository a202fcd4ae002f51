"""``Sequential``: a plain stack of layers, each feeding the next."""

from __future__ import annotations

from ..layers.base import Layer
from ..layers.input_layer import InputLayer
from ..layers.symbolic import SymbolicTensor
from .model import Model


class Sequential(Model):
    """``Sequential([Input((28, 28, 1)), Conv2D(...), ...])`` or ``add()`` layer by layer."""

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._stack: list[Layer] = []
        self._input_shape = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer) -> None:
        if isinstance(layer, SymbolicTensor) and isinstance(layer.layer, InputLayer):
            layer = layer.layer
        if isinstance(layer, InputLayer):
            if self._stack:
                raise ValueError("an Input can only come first in a Sequential model")
            self._input_shape = layer.output.shape
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer, got {type(layer).__name__}")
        if not self._stack and self._input_shape is None and layer._input_shape_arg:
            self._input_shape = layer._input_shape_arg
        self._stack.append(layer)
        self._track(layer)
        if self._input_shape is not None:
            self.build(self._input_shape)

    def pop(self) -> Layer:
        if not self._stack:
            raise ValueError("pop() on an empty Sequential model")
        layer = self._stack.pop()
        self._sublayers.remove(layer)
        return layer

    @property
    def layers(self) -> list:
        return list(self._stack)

    def build(self, input_shape=None) -> None:
        shape = tuple(input_shape if input_shape is not None else self._input_shape)
        self._input_shape = shape
        for layer in self._stack:
            layer._maybe_build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def layer_output_shapes(self) -> list:
        shape, out = self._input_shape, []
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
            out.append(shape)
        return out

    def call(self, inputs, training=False):
        x = inputs
        for layer in self._stack:
            x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    def _maybe_build(self, input_shape) -> None:
        if not self.built:
            self.build((None, *tuple(input_shape)[1:]))

    def get_config(self):
        from .serialization import sequential_config

        return sequential_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .serialization import sequential_from_config

        return sequential_from_config(config, custom_objects)
