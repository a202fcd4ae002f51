"""Synthetic Control Chart time series (Alcock and Manolopoulos, 1999), made offline.

Six classes of control charts, 60 points each, defined by formulas: with t = 0..59,
m = 30, s = 2 and r drawn uniformly from [-3, 3] anew at every point (the noise),

    0 normal               y(t) = m + r s
    1 cyclic               y(t) = m + r s + a sin(2 pi t / T),   a, T ~ U(10, 15)
    2 increasing trend     y(t) = m + r s + g t,                 g ~ U(0.2, 0.5)
    3 decreasing trend     y(t) = m + r s - g t
    4 upward shift         y(t) = m + r s + k x,                 x ~ U(7.5, 20)
    5 downward shift       y(t) = m + r s - k x,                 k = 0 before t3, 1 from t3,
                                                                 t3 ~ U(n / 3, 2 n / 3)

The published set has 100 series per class, split 300/300 in the UCR archive; this
generator draws as many as asked, the same ones for the same seed.
"""

from __future__ import annotations

import numpy as np

CLASS_NAMES = ("normal", "cyclic", "increasing trend", "decreasing trend", "upward shift",
               "downward shift")
NUM_CLASSES = len(CLASS_NAMES)
LENGTH = 60


def generate(n_per_class: int, rng: np.random.Generator, length: int = LENGTH):
    """``(x: (6 n, length) float32, y: (6 n,) uint8)``, classes in order 0..5."""
    t = np.arange(length, dtype=np.float64)  # (L,)
    shape = (n_per_class, 1)

    def u(lo, hi):
        return rng.uniform(lo, hi, shape)  # (n, 1): one parameter per series

    series = []
    for label in range(NUM_CLASSES):
        y = 30.0 + rng.uniform(-3.0, 3.0, (n_per_class, length)) * 2.0  # (n, L)
        if label == 1:
            y += u(10, 15) * np.sin(2 * np.pi * t / u(10, 15))
        elif label in (2, 3):
            y += (1 if label == 2 else -1) * u(0.2, 0.5) * t
        elif label in (4, 5):
            start = u(length / 3, 2 * length / 3)
            y += (1 if label == 4 else -1) * (t >= start) * u(7.5, 20)
        series.append(y)
    x = np.concatenate(series).astype(np.float32)  # (6 n, L)
    labels = np.repeat(np.arange(NUM_CLASSES, dtype=np.uint8), n_per_class)
    return x, labels


def load_data(n_train: int = 300, n_test: int = 300, seed: int = 0):
    """``((x_train, y_train), (x_test, y_test))``: series ``(N, 60)`` float32, labels
    ``(N,)`` uint8 in 0..5, shuffled; ``n_train`` and ``n_test`` must be multiples of 6
    (equal classes). The same seed gives the same arrays; train and test never share a
    random stream."""
    out = []
    for part, n in enumerate((n_train, n_test)):
        name = ("n_train", "n_test")[part]
        if isinstance(n, bool) or not isinstance(n, int) or n < NUM_CLASSES or n % NUM_CLASSES:
            raise ValueError(f"synthetic_control.load_data: {name} must be a positive multiple "
                             f"of {NUM_CLASSES} (equal classes), got {n!r}")
        rng = np.random.default_rng([int(seed), part])
        x, y = generate(n // NUM_CLASSES, rng)
        order = rng.permutation(len(x))
        out.append((x[order], y[order]))
    return tuple(out)
