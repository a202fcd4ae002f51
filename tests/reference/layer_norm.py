"""Naive layer normalisation: one sample's normalised cells at a time, in Python floats."""

from __future__ import annotations

import itertools
import math

import numpy as np


def layer_norm(x, gamma=None, beta=None, axes=(-1,), epsilon=1e-3):
    """For each index of the axes NOT in ``axes``: mean and biased variance over ``axes``,
    then (x - mean) / sqrt(var + eps) * gamma + beta (gamma, beta shaped as those axes)."""
    x = np.asarray(x, dtype=np.float64)
    axes = sorted({a % x.ndim for a in axes})
    other = [a for a in range(x.ndim) if a not in axes]
    out = np.empty_like(x)
    for outer in itertools.product(*(range(x.shape[a]) for a in other)):
        cells = []
        for inner in itertools.product(*(range(x.shape[a]) for a in axes)):
            idx = [0] * x.ndim
            for a, i in zip(other, outer):
                idx[a] = i
            for a, i in zip(axes, inner):
                idx[a] = i
            cells.append((tuple(idx), inner))
        values = [float(x[i]) for i, _ in cells]
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / len(values)
        for (idx, inner), v in zip(cells, values):
            y = (v - mean) / math.sqrt(var + epsilon)
            if gamma is not None:
                y *= float(gamma[inner])
            if beta is not None:
                y += float(beta[inner])
            out[idx] = y
    return out
