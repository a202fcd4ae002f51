"""Cropping and zero padding by explicit loops over every output cell."""

from __future__ import annotations

import itertools

import numpy as np


def crop(x, crops):
    """x: (N, S..., C): output cell o reads input cell o + before on every axis."""
    out = [n - a - b for n, (a, b) in zip(x.shape[1:-1], crops)]
    y = np.zeros((x.shape[0], *out, x.shape[-1]))
    for o in itertools.product(*map(range, out)):
        y[(slice(None), *o)] = x[(slice(None), *(v + a for v, (a, _) in zip(o, crops)))]
    return y


def pad(x, pads):
    """x: (N, S..., C): input cell i lands at i + before; every other cell is 0."""
    out = [n + a + b for n, (a, b) in zip(x.shape[1:-1], pads)]
    y = np.zeros((x.shape[0], *out, x.shape[-1]))
    for i in itertools.product(*map(range, x.shape[1:-1])):
        y[(slice(None), *(v + a for v, (a, _) in zip(i, pads)))] = x[(slice(None), *i)]
    return y
