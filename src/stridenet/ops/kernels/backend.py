"""Which twin of a kernel runs: the compiled one (numba) or the NumPy one.

Some kernels are memory-bound loops that NumPy can only write as several passes over the
data (a scatter as one strided add per kernel tap, a mask as a compare and a select); a
compiled loop does them in one pass. Each such kernel has two twins with the same
signature and the same results (bit for bit where the arithmetic order is the same, else
within rounding): a NumPy one beside its caller, and a compiled one in
``kernels/compiled/<concept>.py``. ``twin(numpy_fn, "concept.name")`` returns the one to run.

The choice, made on the first kernel call and kept for the process:

* ``STRIDENET_KERNELS=numpy`` -- the NumPy twins, even with numba installed;
* ``STRIDENET_KERNELS=numba`` -- the compiled twins; an ImportError if numba is missing;
* unset or ``auto`` -- the compiled twins when numba is installed, else the NumPy ones;
* anything else -- a ValueError when stridenet is imported.

numba is imported here only, lazily, when the first compiled twin is asked for: importing
stridenet does not import it (about 0.2-0.4 s). Compiled code is cached in the user's cache
directory (``$XDG_CACHE_HOME/stridenet/numba``, default ``~/.cache/stridenet/numba``; a set
``NUMBA_CACHE_DIR`` wins), so only the first process compiles; where that directory cannot
be written, the kernels compile in each process instead, without an error.
"""

from __future__ import annotations

import os
import sys
import threading

import numpy as np

ENV = "STRIDENET_KERNELS"
_CHOICES = ("auto", "numba", "numpy")
_lock = threading.RLock()
_state: dict = {"mode": None, "cache": None, "modules": {}}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _choice(value: str) -> str:
    choice = value.strip().lower() or "auto"
    if choice not in _CHOICES:
        raise ValueError(f"{ENV} must be one of {', '.join(_CHOICES)}, got {value!r}")
    return choice


def _resolve(value: str) -> str:
    choice = _choice(value)
    if choice == "numpy":
        return "numpy"
    import importlib.util  # here, not at import: stridenet's import stays lean

    available = importlib.util.find_spec("numba") is not None
    if choice == "numba" and not available:
        raise ImportError(f"{ENV}=numba asks for the compiled kernels, but numba is not "
                          "installed (pip install 'stridenet[perf]')")
    return "numba" if available else "numpy"


_choice(os.environ.get(ENV, "auto"))  # a misspelt value fails at import, not silently later


def kernel_mode() -> str:
    """``"numba"`` or ``"numpy"``: which twins run (resolved from ``STRIDENET_KERNELS``)."""
    mode = _state["mode"]
    if mode is None:
        with _lock:
            if _state["mode"] is None:
                _state["mode"] = _resolve(os.environ.get(ENV, "auto"))
            mode = _state["mode"]
    return mode


def set_kernel_mode(mode: str | None) -> None:
    """Run the ``"numba"`` or ``"numpy"`` twins from now on (``"auto"``: numba if installed;
    ``None``: read ``STRIDENET_KERNELS`` again on the next call). Kernels already running
    finish on the twins they started with."""
    if mode is not None and not isinstance(mode, str):
        raise TypeError(f"the kernel mode must be a str or None, got {mode!r}")
    with _lock:
        _state["mode"] = None if mode is None else _resolve(mode)


def cache_dir() -> str:
    """Where compiled kernels are cached: NUMBA_CACHE_DIR if set, else the user's cache."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "stridenet", "numba")


def _writable(path: str) -> bool:
    import tempfile  # here, not at import: stridenet's import stays lean

    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError:
        return False
    return True


def caching() -> bool:
    """Whether compiled kernels are cached on disk (decided once, before numba loads).

    The directory is given to numba through NUMBA_CACHE_DIR, which it reads at import (and
    again before each compilation), so it must be set before the first compiled twin loads.
    """
    with _lock:
        if _state["cache"] is None:
            path = cache_dir()
            ok = _writable(path)
            if ok and not os.environ.get("NUMBA_CACHE_DIR"):
                os.environ["NUMBA_CACHE_DIR"] = path
            _state["cache"] = ok
        return _state["cache"]


def compiled(concept: str):
    """The compiled module ``kernels/compiled/<concept>.py`` (imported once), or None when
    the NumPy twins run."""
    if kernel_mode() != "numba":
        return None
    return load(concept)


def load(concept: str):
    """The compiled module ``kernels/compiled/<concept>.py``, whatever the mode (for a
    backward pass whose forward ran compiled); numba must be installed."""
    module = _state["modules"].get(concept)
    if module is None:
        with _lock:
            module = _state["modules"].get(concept)
            if module is None:
                caching()
                import importlib

                module = importlib.import_module(f"{__package__}.compiled.{concept}")
                _state["modules"][concept] = module
    return module


def twin(numpy_fn, name: str, *arrays):
    """``numpy_fn`` or its compiled twin ``"<concept>.<function>"`` with the same signature.

    The compiled twins take native float32/float64 arrays only; any other dtype among
    ``arrays`` (float16, big-endian, ...) runs the NumPy twin.
    """
    concept, fn = name.split(".")
    module = compiled(concept)
    if module is None:
        return numpy_fn
    for a in arrays:
        if a is not None and (a.dtype not in _FLOATS or not a.dtype.isnative):
            return numpy_fn
    return getattr(module, fn)


def loaded() -> bool:
    """Whether numba has been imported in this process (by stridenet or anyone)."""
    return "numba" in sys.modules


__all__ = ["ENV", "cache_dir", "caching", "compiled", "kernel_mode", "load", "loaded",
           "set_kernel_mode", "twin"]
