"""Where randomness comes from: one global ``np.random.Generator`` or an explicit one.

Every random choice in stridenet (weight initialisation, dropout masks, shuffling,
augmentation) takes a ``seed``/``rng`` argument resolved by ``make_generator``;
when none is given it draws from the global generator, which
``set_global_seed`` resets, so a seeded program is reproducible bit for bit.

A layer built with ``seed=None`` still owns a Generator (``spawn_generator``, seeded
from the global stream when the layer is made): its state is part of a saved model, so
training resumes bit for bit. ``isolated()`` lets ``load_model`` rebuild a model without
drawing from (and so moving) the global generator.
"""

from __future__ import annotations

import contextlib
import numbers
import threading

import numpy as np

_GLOBAL = np.random.default_rng()
_LOCAL = threading.local()  # .scratch: the generator that stands in for the global one


def global_generator() -> np.random.Generator:
    scratch = getattr(_LOCAL, "scratch", None)
    return scratch if scratch is not None else _GLOBAL


def set_global_seed(seed: int) -> None:
    """Reset the global generator: the same seed gives the same stream."""
    global _GLOBAL
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    _GLOBAL = np.random.default_rng(int(seed))


def make_generator(seed=None) -> np.random.Generator:
    """A Generator from ``seed``: a Generator (used as is), an int, or None (the global one)."""
    if seed is None:
        return global_generator()
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise ValueError(f"seed must be None, a non-negative int or a numpy Generator, got {seed!r}")


def spawn_generator() -> np.random.Generator:
    """A Generator of its own, seeded by one draw from the global stream."""
    return np.random.default_rng(int(global_generator().integers(2**63)))


@contextlib.contextmanager
def isolated():
    """In this thread, draws meant for the global generator come from a throwaway one:
    code that must not move the global stream (rebuilding a saved model) runs inside."""
    previous = getattr(_LOCAL, "scratch", None)
    _LOCAL.scratch = np.random.default_rng(0)
    try:
        yield
    finally:
        _LOCAL.scratch = previous
