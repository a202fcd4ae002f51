"""Fully connected layer on the last axis: y = x @ W + b, forward and backward.

Leading axes are flattened into one row axis, so each direction is a single BLAS
matrix product: x (..., I) -> (M, I) with M the product of the leading sizes.
"""

from __future__ import annotations

import math


def dense_forward(x, w, b):
    """x: (..., I), w: (I, U), b: (U,) or None -> (y: (..., U), cache)."""
    lead = x.shape[:-1]
    x2 = x.reshape(math.prod(lead), x.shape[-1])  # (M, I)
    y = x2 @ w  # (M, U)
    if b is not None:
        y += b
    return y.reshape(*lead, w.shape[1]), (x2, w, lead, b is not None)


def dense_backward(dy, cache, needs=(True, True, True)):
    """dy: (..., U) -> (dx: (..., I) | None, dw: (I, U) | None, db: (U,) | None).

    dx = dy W^T, dW = x^T dy (summed over all rows), db = sum of dy over the rows.
    """
    x2, w, lead, has_bias = cache
    dy2 = dy.reshape(x2.shape[0], w.shape[1])  # (M, U)
    dx = (dy2 @ w.T).reshape(*lead, w.shape[0]) if needs[0] else None
    dw = x2.T @ dy2 if needs[1] else None
    db = dy2.sum(axis=0) if needs[2] and has_bias else None
    return dx, dw, db
