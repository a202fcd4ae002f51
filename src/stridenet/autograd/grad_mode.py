"""Switch tape recording on and off (``no_grad`` / ``enable_grad``)."""

from __future__ import annotations

import contextlib
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


def _set(enabled: bool) -> None:
    _state.enabled = enabled


@contextlib.contextmanager
def no_grad():
    """Run the block without recording a tape: results have no history.

    Use it for inference and for optimizer updates of parameters.
    """
    prev = is_grad_enabled()
    _set(False)
    try:
        yield
    finally:
        _set(prev)


@contextlib.contextmanager
def enable_grad():
    """Record a tape inside the block even when an outer ``no_grad`` is active."""
    prev = is_grad_enabled()
    _set(True)
    try:
        yield
    finally:
        _set(prev)
