"""A tiny seeded classifier and its data, shared by the callback tests that run ``fit``."""

from __future__ import annotations

import numpy as np

import stridenet as sn
from stridenet import layers as L


def tiny_model(seed=0):
    """(N, 6) -> (N, 3) softmax, compiled with SGD(0.1) and sparse cross-entropy."""
    sn.utils.set_random_seed(seed)
    model = sn.Sequential([L.Input((6,)), L.Dense(8, activation="relu"),
                           L.Dense(3, activation="softmax")])
    model.compile(optimizer=sn.optimizers.SGD(learning_rate=0.1), metrics=["accuracy"],
                  loss="sparse_categorical_crossentropy")
    return model


def tiny_data(n=48, seed=1):
    """x: (n, 6) float32 normal, y: (n,) the argmax of x's first 3 columns."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    return x, np.argmax(x[:, :3], axis=1)
