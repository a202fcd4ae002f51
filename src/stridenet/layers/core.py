"""Core layers: Dense, Activation, ReLU, Dropout."""

from __future__ import annotations

from .. import activations, initializers, ops, regularizers
from ..autograd import math_ops as M
from ._args import init_config, reg_config
from .base import Layer


class Dense(Layer):
    """x: (..., I) -> (..., units) = activation(x @ kernel + bias); kernel (I, units)."""

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Dense: units must be a positive int, got {units!r}")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"{self.name}: the last axis of the input must be known, "
                             f"got input shape {input_shape}")
        self.kernel = self.add_weight((input_shape[-1], self.units), self.kernel_initializer,
                                      "kernel", regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight((self.units,), self.bias_initializer, "bias",
                                     regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    def call(self, inputs, training=False):
        return self.activation(ops.dense(inputs, self.kernel, self.bias))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": init_config(self.kernel_initializer),
                "bias_initializer": init_config(self.bias_initializer),
                "kernel_regularizer": reg_config(self.kernel_regularizer),
                "bias_regularizer": reg_config(self.bias_regularizer)}


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs, training=False):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class ReLU(Layer):
    """max(x, 0) by default; Keras's max_value, negative_slope and threshold are supported."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: max_value must be >= 0, got {max_value}")
        if negative_slope < 0:
            raise ValueError(f"ReLU: negative_slope must be >= 0, got {negative_slope}")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, inputs, training=False):
        if self.negative_slope == 0 and self.threshold == 0:
            y = ops.relu(inputs)
        else:
            above = inputs.data >= self.threshold
            y = M.where(above, inputs, (inputs - self.threshold) * self.negative_slope)
        if self.max_value is not None:
            y = M.minimum(y, self.max_value)
        return y

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class Dropout(Layer):
    """Zero a fraction ``rate`` of the inputs in training, scale the rest by 1/(1-rate)."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        if noise_shape is not None:
            raise ValueError("Dropout: noise_shape is not supported yet")
        self.rate, self.seed = rate, seed
        # The layer owns its stream: from an int seed, or (seed=None) seeded by one draw
        # from the global generator, so that a saved model keeps its state.
        from ..seeding import make_generator, spawn_generator

        self._rng = make_generator(seed) if seed is not None else spawn_generator()

    def call(self, inputs, training=False):
        return ops.dropout(inputs, self.rate, training=training, seed=self._rng)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
