"""``Variable``: a named weight Tensor that a layer owns and an optimizer updates."""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor


class Variable(Tensor):
    """A leaf Tensor with a ``name`` and a ``trainable`` flag (trainable = requires grad)."""

    def __init__(self, value, name: str, trainable: bool = True):
        arr = np.array(value)  # own a copy: weights are updated in place
        super().__init__(arr, requires_grad=trainable)
        self.name = name
        self.path = name

    @property
    def trainable(self) -> bool:
        return self.requires_grad

    @trainable.setter
    def trainable(self, flag: bool) -> None:
        self.requires_grad = bool(flag)
        if not flag:
            self.grad = None

    def assign(self, value) -> None:
        """Overwrite the values in place, keeping shape and dtype."""
        value = np.asarray(value.data if isinstance(value, Tensor) else value)
        if value.shape != self.data.shape:
            raise ValueError(
                f"cannot assign a value of shape {value.shape} to variable {self.name!r} "
                f"of shape {self.data.shape}"
            )
        self.data[...] = value

    def __repr__(self) -> str:
        return f"<Variable {self.name!r} shape={self.shape} dtype={self.dtype}>"
