"""What ``fit``, ``evaluate`` and ``predict`` accept as data, checked once at the door.

``x`` is an array (or Tensor) of samples, or -- for a model with several inputs -- a list
or tuple of them, one per input, all with the same number of samples. ``y`` holds the
targets and ``sample_weight`` one weight per sample. Batches index every part alike.
"""

from __future__ import annotations

import numbers

import numpy as np


def _as_array(x, name: str) -> np.ndarray:
    arr = np.asarray(getattr(x, "data", x))
    if arr.dtype == object:
        raise TypeError(f"{name} must be a numeric array, got dtype object")
    if arr.ndim == 0:
        raise ValueError(f"{name} must hold samples along its first axis, got a scalar")
    return arr


def as_inputs(x, n_inputs: int, name: str = "x"):
    """An array, or a list of arrays when the model takes ``n_inputs`` > 1 inputs."""
    if x is None:
        raise ValueError(f"{name} is required")
    if n_inputs > 1:
        if not isinstance(x, list | tuple) or len(x) != n_inputs:
            raise ValueError(f"the model takes {n_inputs} inputs: pass {name} as a list of "
                             f"{n_inputs} arrays, got {type(x).__name__}")
        return [_as_array(a, f"{name}[{i}]") for i, a in enumerate(x)]
    return _as_array(x, name)


def as_optional(a, name: str):
    return None if a is None else _as_array(a, name)


def count(x) -> int:
    return len(x[0]) if isinstance(x, list) else len(x)


def describe(x) -> str:
    return ", ".join(str(a.shape) for a in x) if isinstance(x, list) else str(x.shape)


def take(x, idx):
    """The samples ``idx`` of an array or of each array of a list (None stays None)."""
    if x is None:
        return None
    return [a[idx] for a in x] if isinstance(x, list) else x[idx]


def check(x, y, sample_weight=None, need_y: bool = True) -> None:
    """Same number of samples everywhere, at least one; weights one per sample, finite."""
    n = count(x)
    if isinstance(x, list) and any(len(a) != n for a in x):
        raise ValueError(f"every input must have the same number of samples, got "
                         f"{describe(x)}")
    if need_y and y is None:
        raise ValueError("y is required: the loss compares the predictions with it")
    if y is not None and len(y) != n:
        raise ValueError(f"x and y must have the same number of samples, got x "
                         f"{describe(x)} and y {y.shape}")
    if sample_weight is not None:
        if sample_weight.shape != (n,):
            raise ValueError(f"sample_weight must have one weight per sample, shape ({n},), "
                             f"got {sample_weight.shape}")
        if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
            raise ValueError("sample_weight must be finite and >= 0")
    if n == 0:
        raise ValueError("x is empty")


def batch_size_of(batch_size) -> int:
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return int(batch_size)


def int_arg(value, name: str, minimum: int = 0, allow_none: bool = False):
    """``value`` as an int >= ``minimum`` (numpy ints too; None when ``allow_none``):
    TypeError for anything that is not an int (2.5, "3", True), ValueError when too small."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def verbose_of(verbose, auto: int) -> int:
    """Keras's ``verbose``: "auto" (here ``auto``), 0 silent, 1 progress bar, 2 one line."""
    if isinstance(verbose, str) and verbose == "auto":
        return auto
    if isinstance(verbose, bool) or not isinstance(verbose, numbers.Integral) \
            or verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def bool_arg(value, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def validation_fraction(fraction) -> float:
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) \
            or not 0 <= fraction < 1:
        raise ValueError(f"validation_split must be in [0, 1), got {fraction!r}")
    return float(fraction)


def split_off_validation(x, y, sample_weight, fraction):
    """Keras's rule: the last ``fraction`` of the samples, before any shuffling, validate.

    -> (x, y, sample_weight) for training and the validation triple.
    """
    fraction = validation_fraction(fraction)
    n = count(x)
    cut = int(n * (1 - fraction))
    if cut < 1 or cut >= n:
        raise ValueError(f"validation_split={fraction} of {n} samples leaves {cut} to train "
                         f"on and {n - cut} to validate: both need at least one")
    head, tail = slice(0, cut), slice(cut, n)
    train = (take(x, head), y[head], None if sample_weight is None else sample_weight[head])
    val = (take(x, tail), y[tail], None if sample_weight is None else sample_weight[tail])
    return train, val


def unpack_validation(data):
    """``validation_data`` as (x, y) or (x, y, sample_weight) -> a triple."""
    if not isinstance(data, list | tuple) or len(data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                         "(x_val, y_val, sample_weight)")
    return (*data, None) if len(data) == 2 else tuple(data)
