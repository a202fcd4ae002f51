"""Cropping1D/2D/3D: cut cells off the start and end of each spatial axis (no weights).

x: (N, S1, ..., C) -> (N, S1 - before1 - after1, ..., C); the gradient is dy on the kept
cells and zero on the cropped ones.
"""

from __future__ import annotations

from .. import ops
from ._args import check_data_format, check_input_rank
from .base import Layer

_LAYOUT = {1: "(N, L, C)", 2: "(N, H, W, C)", 3: "(N, D, H, W, C)"}


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def parse_cropping(cropping, rank: int, layer: str):
    """An int, ``rank`` ints (symmetric) or ``rank`` (before, after) pairs -> pairs.
    In 1D a pair is (start, end), as Keras."""
    if _is_int(cropping):
        return ((cropping, cropping),) * rank
    if isinstance(cropping, list | tuple):
        items = list(cropping)
        if rank == 1 and len(items) == 2 and all(_is_int(v) for v in items):
            return ((items[0], items[1]),)
        if len(items) == rank and all(_is_int(v) for v in items):
            return tuple((v, v) for v in items)
        if len(items) == rank and all(isinstance(p, list | tuple) and len(p) == 2
                                      and all(_is_int(v) for v in p) for p in items):
            return tuple((p[0], p[1]) for p in items)
    raise ValueError(f"{layer}: cropping must be a non-negative int, {rank} ints or {rank} "
                     f"(before, after) pairs, got {cropping!r}")


class _Cropping(Layer):
    rank = 2

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, type(self).__name__)
        self.cropping = parse_cropping(cropping, self.rank, type(self).__name__)

    def build(self, input_shape):
        check_input_rank(self, input_shape, self.rank + 2, _LAYOUT[self.rank])
        self.compute_output_shape(input_shape)

    def call(self, inputs, training=False):
        op = {1: ops.crop1d, 2: ops.crop2d, 3: ops.crop3d}[self.rank]
        return op(inputs, self.cropping)

    def compute_output_shape(self, input_shape):
        n, *sizes, c = input_shape
        out = []
        for axis, (d, (a, b)) in enumerate(zip(sizes, self.cropping)):
            if d is not None and d - a - b <= 0:
                raise ValueError(f"{self.name} ({type(self).__name__}): cropping {a} + {b} "
                                 f"cells leaves nothing of spatial axis {axis}; input shape "
                                 f"{tuple(input_shape)}")
            out.append(None if d is None else d - a - b)
        return (n, *out, c)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping],
                "data_format": "channels_last"}


class Cropping1D(_Cropping):
    """x: (N, L, C) -> (N, L - start - end, C); ``cropping`` an int or (start, end)."""

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, **kwargs)

    def get_config(self):
        cfg = super().get_config()
        del cfg["data_format"]  # Keras 3's Cropping1D has no data_format
        cfg["cropping"] = list(self.cropping[0])
        return cfg


class Cropping2D(_Cropping):
    """x: (N, H, W, C) -> (N, H - top - bottom, W - left - right, C)."""

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format=data_format, **kwargs)


class Cropping3D(_Cropping):
    """x: (N, D, H, W, C) -> (N, D', H', W', C), each axis cropped (before, after)."""

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format=data_format, **kwargs)
