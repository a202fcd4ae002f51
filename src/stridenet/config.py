"""Global settings: the default floating dtype.

stridenet computes in float32 unless an input is already float64, in which case
the whole computation stays in float64 (gradient checks rely on that).
"""

from __future__ import annotations

import numpy as np

_FLOATX = np.dtype(np.float32)
_ALLOWED = (np.dtype(np.float32), np.dtype(np.float64))


def floatx() -> np.dtype:
    """The dtype used for new weights and for inputs that are not floating point."""
    return _FLOATX


def set_floatx(dtype) -> None:
    """Set the default float dtype (``"float32"`` or ``"float64"``)."""
    global _FLOATX
    d = np.dtype(dtype)
    if d not in _ALLOWED:
        raise ValueError(f"floatx must be float32 or float64, got {d}")
    _FLOATX = d
