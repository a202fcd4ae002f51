"""Input checks at the ops boundary: clear errors instead of NumPy broadcast errors."""

from __future__ import annotations

import numbers

import numpy as np

from .. import config
from ..autograd import Tensor

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def float_input(value, name: str, op: str):
    """A Tensor (kept, so gradients flow) or an array converted to a float dtype.

    Integers and booleans become ``config.floatx()``; float32/float64 are kept.
    Anything non-numeric is a TypeError naming the argument.
    """
    if isinstance(value, Tensor):
        if value.data.dtype.kind != "f":
            raise TypeError(f"{op}: {name} must be a floating point tensor, got {value.dtype}")
        return value
    if type(value) is np.ndarray and value.dtype in _FLOATS:  # the common case, quickly
        return value
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as e:  # ragged lists and the like
        raise TypeError(f"{op}: {name} could not be read as an array: {e}") from None
    # kinds: b bool, i/u integers, f floats; complex, object, strings, dates are refused
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{op}: {name} must hold real numbers, got dtype {arr.dtype}")
    if arr.dtype not in _FLOATS:
        arr = arr.astype(config.floatx())
    return arr


def optional_float_input(value, name: str, op: str):
    return None if value is None else float_input(value, name, op)


def check_rank(value, rank: int, name: str, op: str, layout: str) -> None:
    if value.ndim != rank:
        raise ValueError(f"{op}: {name} must have shape {layout}, got shape {tuple(value.shape)}")


def positive_int(value, name: str, op: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")
    return int(value)


def finite_number(value, name: str, op: str, lo=None, hi=None, lo_open=False, hi_open=False):
    """A real, finite scalar hyper-parameter within [lo, hi] (open ends optional)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{op}: {name} must be finite, got {value!r}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ValueError(f"{op}: {name} must be {'>' if lo_open else '>='} {lo}, got {value!r}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise ValueError(f"{op}: {name} must be {'<' if hi_open else '<='} {hi}, got {value!r}")
    return v
