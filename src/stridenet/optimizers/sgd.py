"""Stochastic gradient descent with optional (Nesterov) momentum, Keras 3's update rule."""

from __future__ import annotations

import numpy as np

from ..ops._checks import finite_number
from ..ops.kernels import backend
from .optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent, updating each variable ``p`` with gradient ``g`` in place.

    momentum == 0::

        p -= lr * g

    momentum > 0 (``v`` is the "momentum" slot, starting at zero)::

        v = momentum * v - lr * g
        p += v                              # nesterov=False
        p += momentum * v - lr * g          # nesterov=True

    With a constant learning rate this is PyTorch's SGD (dampening 0): its buffer
    ``b = momentum * b + g`` is ``-v / lr``. They differ when the rate changes, because
    Keras folds each step's rate into ``v``.
    """

    _default_name = "SGD"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.momentum = finite_number(momentum, "momentum", "SGD", lo=0.0, hi=1.0)
        self.nesterov = self._flag(nesterov, "nesterov")

    def _slot_names(self):
        return ("momentum",) if self.momentum != 0 else ()

    def _update(self, p, g, slots, lr):
        fast = backend.twin(None, "optimizers.sgd", p)  # compiled: one pass, same result
        if fast is not None and fast(p, g, slots.get("momentum"), lr, self.momentum,
                                     self.nesterov):
            return
        step = self._scratch(p)
        np.multiply(g, lr, out=step)  # lr * g
        if not self.momentum:
            p -= step
            return
        v = slots["momentum"]
        v *= self.momentum
        v -= step  # v = momentum * v - lr * g
        if self.nesterov:
            ahead = self._scratch(p, 1)
            np.multiply(v, self.momentum, out=ahead)
            ahead -= step
            p += ahead
        else:
            p += v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
