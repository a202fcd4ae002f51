"""Window geometry shared by convolution and pooling: padding and output sizes.

Per spatial axis, with input size n, kernel size k, stride s, dilation d and
padding p_before/p_after, the window covers ``d*(k-1) + 1`` cells and

    out = floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1

(``ceil`` in ``ceil_mode``, as long as the last window starts inside the input
or the left padding).
"""

from __future__ import annotations

import numbers

Pads = tuple[tuple[int, int], ...]  # ((before, after), ...) per spatial axis


def effective_kernel(k: int, d: int) -> int:
    """Cells spanned by a kernel of k taps with dilation d."""
    return d * (k - 1) + 1


def output_size(n: int, k: int, s: int = 1, p_before: int = 0, p_after: int = 0,
                d: int = 1, ceil_mode: bool = False) -> int:
    """Output length of one spatial axis (see the module docstring)."""
    span = n + p_before + p_after - effective_kernel(k, d)
    if span < 0:
        return 0
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    # The last window must start inside the input or the left padding.
    if (out - 1) * s >= n + p_before:
        out -= 1
    return out


def same_padding(n: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """Keras/TensorFlow 'same': output ceil(n/s); the odd extra cell goes after."""
    out = -(-n // s)
    total = max((out - 1) * s + effective_kernel(k, d) - n, 0)
    return total // 2, total - total // 2


def _int_pair(v, name: str) -> tuple[int, int]:
    if isinstance(v, numbers.Integral):
        return int(v), int(v)
    if isinstance(v, tuple | list) and len(v) == 2 and all(
        isinstance(e, numbers.Integral) for e in v
    ):
        return int(v[0]), int(v[1])
    raise ValueError(f"{name} must be an int or a pair (before, after), got {v!r}")


def resolve_padding(padding, sizes, kernel, strides, dilation, causal_ok=False) -> Pads:
    """Turn any accepted ``padding`` into explicit ((before, after), ...) per axis.

    Accepted: "valid", "same", "causal" (1D only: everything before), an int p,
    a tuple of one int per axis, or a tuple of (before, after) pairs per axis.
    """
    rank = len(sizes)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * rank
        if mode == "same":
            return tuple(same_padding(n, k, s, d)
                         for n, k, s, d in zip(sizes, kernel, strides, dilation))
        if mode == "causal":
            if not causal_ok:
                raise ValueError("padding='causal' is only for 1D operations")
            return tuple((effective_kernel(k, d) - 1, 0) for k, d in zip(kernel, dilation))
        raise ValueError(
            f"padding must be 'valid', 'same'{', causal' if causal_ok else ''}, an int or "
            f"explicit pairs, got {padding!r}"
        )
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        pads = ((int(padding), int(padding)),) * rank
    elif isinstance(padding, tuple | list) and len(padding) == rank:
        pads = tuple(_int_pair(p, "padding") for p in padding)
    elif isinstance(padding, tuple | list) and rank == 1 and len(padding) == 2 and all(
        isinstance(p, numbers.Integral) for p in padding
    ):
        pads = ((int(padding[0]), int(padding[1])),)  # 1D: (left, right)
    else:
        raise ValueError(
            f"padding {padding!r} does not fit {rank} spatial axes: give an int, "
            f"{rank} ints, or {rank} (before, after) pairs"
        )
    if any(p < 0 for pair in pads for p in pair):
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    return pads


def as_tuple(value, rank: int, name: str) -> tuple[int, ...]:
    """An int or a tuple of ``rank`` positive ints (strides, sizes, dilation)."""
    if type(value) is int:  # the common case, quickly
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value!r}")
        return (value,) * rank
    if type(value) is tuple and len(value) == rank and all(type(v) is int and v > 0
                                                            for v in value):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        vals = (int(value),) * rank
    elif isinstance(value, tuple | list) and len(value) == rank and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value
    ):
        vals = tuple(int(v) for v in value)
    else:
        raise ValueError(f"{name} must be a positive int or {rank} positive ints, got {value!r}")
    if any(v <= 0 for v in vals):
        raise ValueError(f"{name} must be positive, got {value!r}")
    return vals


def ceil_extra(n: int, k: int, s: int, p_before: int, p_after: int, d: int, out: int) -> int:
    """Cells needed past ``p_after`` so that ``out`` windows fit (ceil mode)."""
    needed = (out - 1) * s + effective_kernel(k, d)
    return max(needed - (n + p_before + p_after), 0)


__all__ = ["Pads", "as_tuple", "ceil_extra", "effective_kernel", "output_size",
           "resolve_padding", "same_padding"]
