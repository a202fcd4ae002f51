"""Adam and AdamW, Keras 3's update rule (bias correction folded into the step size)."""

from __future__ import annotations

import math

import numpy as np

from ..ops._checks import finite_number
from ..ops.kernels import backend
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam, at step ``t = iterations + 1``, for each variable ``p`` with gradient ``g``::

        m += (1 - beta_1) * (g - m)              # "momentum" slot
        v += (1 - beta_2) * (g*g - v)            # "velocity" slot
        v_hat = max(v_hat, v); use v_hat as v    # amsgrad only ("velocity_hat" slot)
        alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        p -= alpha * m / (sqrt(v) + epsilon)

    ``epsilon`` is Kingma & Ba's "epsilon hat": it is added to ``sqrt(v)`` before the bias
    correction, where PyTorch adds its ``eps`` to ``sqrt(v / (1 - beta_2**t))``. The two
    coincide for epsilon = 0; otherwise Keras's epsilon equals PyTorch's times
    ``sqrt(1 - beta_2**t)``. ``weight_decay`` (decoupled, see ``Optimizer``) makes this AdamW.
    """

    _default_name = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        cls = type(self).__name__
        self.beta_1 = finite_number(beta_1, "beta_1", cls, lo=0.0, hi=1.0, hi_open=True)
        self.beta_2 = finite_number(beta_2, "beta_2", cls, lo=0.0, hi=1.0, hi_open=True)
        self.epsilon = finite_number(epsilon, "epsilon", cls, lo=0.0)
        self.amsgrad = self._flag(amsgrad, "amsgrad")

    def _slot_names(self):
        return ("momentum", "velocity") + (("velocity_hat",) if self.amsgrad else ())

    def _update(self, p, g, slots, lr):
        t = self._iterations + 1
        alpha = lr * math.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)
        m, v = slots["momentum"], slots["velocity"]
        fast = backend.twin(None, "optimizers.adam", p)  # compiled: one pass, same result
        if fast is not None and fast(p, g, m, v, slots.get("velocity_hat"), self.beta_1,
                                     self.beta_2, self.epsilon, alpha):
            return
        tmp = self._scratch(p)
        np.subtract(g, m, out=tmp)
        tmp *= 1.0 - self.beta_1
        m += tmp  # m = beta_1 * m + (1 - beta_1) * g
        np.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1.0 - self.beta_2
        v += tmp  # v = beta_2 * v + (1 - beta_2) * g^2
        if self.amsgrad:
            v_hat = slots["velocity_hat"]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= alpha
        p -= tmp

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p -= lr * weight_decay * p`` before each Adam step
    (Loshchilov & Hutter). Keras 3 defaults: ``weight_decay=0.004``; PyTorch's is 0.01.
    """

    _default_name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a number, got None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
