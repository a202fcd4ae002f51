"""Where randomness comes from: one global ``np.random.Generator`` or an explicit one.

Every random choice in stridenet (weight initialisation, dropout masks, shuffling,
augmentation) takes a ``seed``/``rng`` argument resolved by ``make_generator``;
when none is given it draws from the global generator, which
``set_global_seed`` resets, so a seeded program is reproducible bit for bit.
"""

from __future__ import annotations

import numbers

import numpy as np

_GLOBAL = np.random.default_rng()


def global_generator() -> np.random.Generator:
    return _GLOBAL


def set_global_seed(seed: int) -> None:
    """Reset the global generator: the same seed gives the same stream."""
    global _GLOBAL
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    _GLOBAL = np.random.default_rng(int(seed))


def make_generator(seed=None) -> np.random.Generator:
    """A Generator from ``seed``: a Generator (used as is), an int, or None (the global one)."""
    if seed is None:
        return _GLOBAL
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise ValueError(f"seed must be None, a non-negative int or a numpy Generator, got {seed!r}")
