"""``Sequential``: a plain stack of layers, each feeding the next."""

from __future__ import annotations

from ..layers.base import Layer
from ..layers.input_layer import InputLayer
from ..layers.symbolic import SymbolicTensor
from . import functional as G
from .model import Model


class Sequential(Model):
    """``Sequential([Input((28, 28, 1)), Conv2D(...), ...])`` or ``add()`` layer by layer.

    A declared input shape (an ``Input``, a first layer's ``input_shape``, or ``build``)
    is enforced on every call, as a functional model's is: rank and each dimension but the
    batch axis, None being any size. Without one, the model builds from its first data.
    """

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._stack: list[Layer] = []
        self._input_shape = None
        self._declared = False  # True once the user has given the input shape
        for layer in layers or []:
            self.add(layer)

    def add(self, layer) -> None:
        if isinstance(layer, SymbolicTensor) and isinstance(layer.layer, InputLayer):
            layer = layer.layer
        if isinstance(layer, InputLayer):
            if self._stack:
                raise ValueError("an Input can only come first in a Sequential model")
            self._input_shape = layer.output.shape
            self._declared = True
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer, got {type(layer).__name__}")
        if not self._stack and self._input_shape is None and layer._input_shape_arg:
            self._input_shape = layer._input_shape_arg
            self._declared = True
        self._stack.append(layer)
        self._track(layer)
        if self._input_shape is not None:
            self._build_stack(self._input_shape)

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
        if input_shape is not None:
            self._declared = True
        self._build_stack(input_shape)

    def _build_stack(self, input_shape=None) -> None:
        shape = tuple(input_shape if input_shape is not None else self._input_shape)
        self._input_shape = shape
        for layer in self._stack:
            layer._maybe_build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def _declared_input_shapes(self):
        return [self._input_shape] if self._declared and self._input_shape is not None \
            else None

    def layer_output_shapes(self) -> list:
        shape, out = self._input_shape, []
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
            out.append(shape)
        return out

    def call(self, inputs, training=False):
        x = inputs
        if self._declared and self._input_shape is not None:  # Keras 3's rank rule too
            x = G.adjust_input(self.name, "", self._input_shape, inputs)
        for layer in self._stack:
            x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    def _maybe_build(self, input_shape) -> None:
        if not self.built:  # from data: the shape is not declared, so not enforced
            self._build_stack((None, *tuple(input_shape)[1:]))

    def get_config(self):
        from .serialization import sequential_config

        return sequential_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .serialization import sequential_from_config

        return sequential_from_config(config, custom_objects)
