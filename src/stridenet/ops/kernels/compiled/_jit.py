"""The one numba decorator every compiled twin uses."""

from __future__ import annotations

import numba

from .. import backend


def jit(fn):
    """``numba.njit`` for a chunk kernel: compiled per argument types on the first call,
    cached on disk where ``backend.caching()`` allows, GIL released (the chunks run in
    threads), one thread, IEEE arithmetic (no fastmath: the twins must agree)."""
    return numba.njit(cache=backend.caching(), nogil=True, parallel=False,
                      error_model="numpy")(fn)
