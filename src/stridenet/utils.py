"""Utilities: seeding for reproducible runs."""

from __future__ import annotations

from .seeding import set_global_seed


def set_random_seed(seed: int) -> None:
    """Seed every random choice stridenet makes (weights, shuffling, dropout, augmentation).

    The same seed gives the same weights and the same training run, bit for bit.
    """
    set_global_seed(seed)
