"""Keras' ``data_format`` at the ops boundary: channels_first inputs run channels last."""

from __future__ import annotations

from ..autograd import transpose


def to_channels_last(x, data_format, op: str):
    """-> (x channels last, whether the result must be moved back to channels first).

    ``data_format``: None or "channels_last" (the layout everywhere in stridenet), or
    "channels_first" ((N, C, S...), transposed here and back afterwards).
    """
    if data_format is None or data_format == "channels_last":
        return x, False
    if data_format != "channels_first":
        raise ValueError(f"{op}: data_format must be None, 'channels_last' or 'channels_first', "
                         f"got {data_format!r}")
    rank = x.ndim
    return transpose(x, (0, *range(2, rank), 1)), True  # (N, C, S...) -> (N, S..., C)


def to_channels_first(y):
    """(N, S..., C) -> (N, C, S...)."""
    return transpose(y, (0, y.ndim - 1, *range(1, y.ndim - 1)))
