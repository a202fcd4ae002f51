"""``dropout``: inverted dropout, seeded and reproducible.

In training each element is kept with probability 1 - rate and the kept ones are
scaled by 1 / (1 - rate), so the expected output equals the input and inference
needs no rescaling:  y = x * keep / (1 - rate),  dy/dx = keep / (1 - rate).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor
from ..seeding import make_generator
from ._checks import finite_number, float_input


class DropoutFunction(Function):
    """y = x * keep * scale with a fixed boolean mask ``keep``; backward reuses the mask."""

    @staticmethod
    def forward(ctx, x, keep, scale):
        scale = x.dtype.type(scale)
        ctx.keep, ctx.scale = keep, scale
        return np.where(keep, x * scale, x.dtype.type(0))

    @staticmethod
    def backward(ctx, dy):
        if not ctx.needs_input_grad[0]:
            return None
        return np.where(ctx.keep, dy * ctx.scale, dy.dtype.type(0))


def dropout_mask(shape, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of ``shape``: True (keep) with probability 1 - rate."""
    return rng.random(shape, dtype=np.float32) >= np.float32(rate)


def dropout(x, rate, training=True, seed=None):
    """Inverted dropout. x: (...) -> (...).

    ``rate`` in [0, 1) is the fraction dropped; ``seed`` is None (the global generator of
    ``stridenet.seeding``), an int or a ``np.random.Generator``: the same seed gives the
    same mask bit for bit. ``training=False`` or ``rate == 0`` returns x unchanged.
    """
    op = "dropout"
    x = float_input(x, "x", op)
    rate = finite_number(rate, "rate", op, lo=0.0, hi=1.0, hi_open=True)
    if not training or rate == 0.0:
        return x if isinstance(x, Tensor) else Tensor._from_array(x)
    rng = make_generator(seed)
    keep = dropout_mask(x.shape, rate, rng)
    return DropoutFunction.apply(x, keep=keep, scale=1.0 / (1.0 - rate))
