"""Utilities: seeding for reproducible runs."""

from __future__ import annotations

from .seeding import set_global_seed


def set_random_seed(seed: int) -> None:
    """Seed every random choice stridenet makes (weights, shuffling, dropout, augmentation).

    The same seed gives the same weights and the same training run, bit for bit.
    """
    set_global_seed(seed)


def load_torch_state_dict(model, source, strict=True, torch_epsilon=1e-5):
    """Set ``model``'s weights from PyTorch ones, matched by layer order.

    ``source``: a state dict, or a ``.pt``/``.pth`` file (read without torch and without
    running code from it) or a ``.safetensors`` file. Conv kernels OIHW -> HWIO, Linear
    transposed, the first Dense after a Flatten reordered from (C, H, W) to (H, W, C);
    shapes are checked before anything is assigned. Returns the (module, layer) pairs.
    """
    from .interop import load_torch_state_dict as _load

    return _load(model, source, strict=strict, torch_epsilon=torch_epsilon)
