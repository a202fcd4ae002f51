"""BatchNormalization with Keras 3 defaults (momentum 0.99, epsilon 1e-3).

``synchronized=True`` (Keras 3's argument) pools the batch statistics over the ranks of a
data-parallel (MPI) fit; in one process it is ordinary batch normalisation."""

from __future__ import annotations

from .. import initializers, ops, regularizers
from ..distribute.world import step_reducer
from ._args import init_config, reg_config
from .base import Layer


class BatchNormalization(Layer):
    """Normalise each channel (``axis``) with batch statistics in training and moving ones
    in inference. Weights in Keras order: gamma, beta, moving_mean, moving_variance."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, synchronized=False,
                 **kwargs):
        super().__init__(**kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got {momentum}")
        if not epsilon > 0:
            raise ValueError(f"BatchNormalization: epsilon must be > 0, got {epsilon}")
        self.axis, self.momentum, self.epsilon = axis, momentum, epsilon
        self.center, self.scale = center, scale
        if not isinstance(synchronized, bool):
            raise TypeError(f"BatchNormalization: synchronized must be True or False, got "
                            f"{synchronized!r}")
        self.synchronized = synchronized
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def build(self, input_shape):
        c = input_shape[self.axis]
        self.gamma = (self.add_weight((c,), self.gamma_initializer, "gamma",
                                      regularizer=self.gamma_regularizer)
                      if self.scale else None)
        self.beta = (self.add_weight((c,), self.beta_initializer, "beta",
                                     regularizer=self.beta_regularizer)
                     if self.center else None)
        self.moving_mean = self.add_weight((c,), self.moving_mean_initializer, "moving_mean",
                                           trainable=False)
        self.moving_variance = self.add_weight((c,), self.moving_variance_initializer,
                                               "moving_variance", trainable=False)

    def call(self, inputs, training=False):
        # A frozen layer (trainable=False) runs in inference mode, as in Keras.
        training = bool(training and self.trainable)
        return ops.batch_norm(inputs, self.gamma, self.beta, self.moving_mean,
                              self.moving_variance, training=training,
                              momentum=self.momentum, epsilon=self.epsilon, axis=self.axis,
                              reducer=step_reducer() if training and self.synchronized else None)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "synchronized": self.synchronized,
                "beta_initializer": init_config(self.beta_initializer),
                "gamma_initializer": init_config(self.gamma_initializer),
                "moving_mean_initializer": init_config(self.moving_mean_initializer),
                "moving_variance_initializer": init_config(self.moving_variance_initializer),
                "beta_regularizer": reg_config(self.beta_regularizer),
                "gamma_regularizer": reg_config(self.gamma_regularizer)}
