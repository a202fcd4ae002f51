"""RMSprop (plain or centered, optional momentum), Keras 3's update rule."""

from __future__ import annotations

import numpy as np

from ..ops._checks import finite_number
from ..ops.kernels import backend
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """Divide the gradient by a running root mean square, per element::

        v = rho * v + (1 - rho) * g*g                 # "velocity" slot
        a = rho * a + (1 - rho) * g                   # centered only ("average_gradient")
        d = v - a*a + epsilon   (centered)   or   v + epsilon
        step = lr * g / sqrt(d)
        p -= step                                     # momentum == 0
        u = momentum * u + step; p -= u               # momentum > 0 ("momentum" slot)

    PyTorch (``alpha`` = rho) adds its ``eps`` outside the square root, ``sqrt(v) + eps``;
    the two agree for epsilon = 0. With momentum and a constant rate PyTorch's buffer is
    ``u / lr``.
    """

    _default_name = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        cls = type(self).__name__
        self.rho = finite_number(rho, "rho", cls, lo=0.0, hi=1.0, hi_open=True)
        self.momentum = finite_number(momentum, "momentum", cls, lo=0.0, hi=1.0)
        self.epsilon = finite_number(epsilon, "epsilon", cls, lo=0.0)
        self.centered = self._flag(centered, "centered")

    def _slot_names(self):
        return (("velocity",) + (("momentum",) if self.momentum > 0 else ())
                + (("average_gradient",) if self.centered else ()))

    def _update(self, p, g, slots, lr):
        v = slots["velocity"]
        fast = backend.twin(None, "optimizers.rmsprop", p)  # compiled: one pass, same result
        if fast is not None and fast(p, g, v, slots.get("average_gradient"),
                                     slots.get("momentum"), self.rho, self.epsilon, lr,
                                     self.momentum):
            return
        tmp = self._scratch(p)
        v *= self.rho
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.rho
        v += tmp
        if self.centered:
            a = slots["average_gradient"]
            a *= self.rho
            np.multiply(g, 1.0 - self.rho, out=tmp)
            a += tmp
            np.multiply(a, a, out=tmp)
            np.subtract(v, tmp, out=tmp)
            tmp += self.epsilon
        else:
            np.add(v, self.epsilon, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.divide(g, tmp, out=tmp)
        tmp *= lr  # the step lr * g / sqrt(d)
        if self.momentum > 0:
            u = slots["momentum"]
            u *= self.momentum
            u += tmp
            p -= u
        else:
            p -= tmp

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
