"""LayerNormalization with Keras 3 arguments (axis=-1, epsilon=1e-3, gamma then beta)."""

from __future__ import annotations

import numbers

from .. import initializers, regularizers
from ..ops.layer_norm import layer_norm
from ._args import init_config, reg_config
from .base import Layer


class LayerNormalization(Layer):
    """Normalise each sample over ``axis`` (not over the batch, unlike BatchNormalization).

    x: (N, ...) -> same shape; gamma, beta: the input's sizes along ``axis``, e.g. (C,).
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        axes = list(axis) if isinstance(axis, list | tuple) else axis
        if not (isinstance(axes, int) or axes and all(isinstance(a, int) for a in axes)) or \
                isinstance(axes, bool):
            raise ValueError(f"LayerNormalization: axis must be an int or a list of ints, "
                             f"got {axis!r}")
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or \
                not epsilon > 0:
            raise ValueError(f"LayerNormalization: epsilon must be > 0, got {epsilon!r}")
        if beta_constraint is not None or gamma_constraint is not None:
            raise ValueError("LayerNormalization: weight constraints are not supported; "
                             "beta_constraint and gamma_constraint must be None")
        self.axis, self.epsilon = axes, float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def build(self, input_shape):
        nd = len(input_shape) if not isinstance(input_shape, list) else 0
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if nd < 2 or any(not -nd <= a < nd for a in axes) or any(a % nd == 0 for a in axes):
            raise ValueError(f"{self.name} (LayerNormalization): axis {self.axis} does not fit "
                             f"input shape {input_shape} (the batch axis 0 is never normalised)")
        shape = tuple(input_shape[a % nd] for a in sorted({a % nd for a in axes}))
        if None in shape:
            raise ValueError(f"{self.name} (LayerNormalization): the normalised axes must have "
                             f"known sizes, got input shape {tuple(input_shape)}")
        self.gamma = (self.add_weight(shape, self.gamma_initializer, "gamma",
                                      regularizer=self.gamma_regularizer)
                      if self.scale else None)
        self.beta = (self.add_weight(shape, self.beta_initializer, "beta",
                                     regularizer=self.beta_regularizer)
                     if self.center else None)

    def call(self, inputs, training=False):
        return layer_norm(inputs, self.gamma, self.beta, axis=self.axis, epsilon=self.epsilon)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": init_config(self.beta_initializer),
                "gamma_initializer": init_config(self.gamma_initializer),
                "beta_regularizer": reg_config(self.beta_regularizer),
                "gamma_regularizer": reg_config(self.gamma_regularizer),
                "beta_constraint": None, "gamma_constraint": None}
