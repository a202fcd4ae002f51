"""Small helpers shared by layers: argument normalisation and output shapes."""

from __future__ import annotations

from .. import initializers, regularizers
from ..ops.kernels.geometry import as_tuple, output_size, resolve_padding


def check_data_format(data_format, layer: str) -> None:
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{layer}: stridenet computes channels_last only, got "
                         f"data_format={data_format!r}")


def spatial_output_shape(input_shape, kernel, strides, padding, dilation, channels,
                         causal_ok=False, ceil_mode=False, owner=None):
    """(N, *spatial, C) -> (N, *out_spatial, channels); unknown (None) sizes stay None.

    A window larger than the padded input is a ValueError naming ``owner`` and the shapes.
    """
    sizes = tuple(input_shape[1:-1])
    rank = len(sizes)
    kernel, strides = as_tuple(kernel, rank, "kernel"), as_tuple(strides, rank, "strides")
    dilation = as_tuple(dilation, rank, "dilation_rate")
    known = tuple(n if n is not None else 10**6 for n in sizes)  # placeholder for padding math
    pads = resolve_padding(padding, known, kernel, strides, dilation, causal_ok=causal_ok)
    out = []
    for axis, (n, k, s, d, (p0, p1)) in enumerate(zip(sizes, kernel, strides, dilation, pads)):
        size = None if n is None else output_size(n, k, s, p0, p1, d, ceil_mode)
        if size is not None and size <= 0:
            raise ValueError(f"{owner or 'layer'}: its window of {(k - 1) * d + 1} cells "
                             f"(kernel {tuple(kernel)}, dilation {tuple(dilation)}) is larger "
                             f"than the padded input ({n + p0 + p1} cells) on spatial axis "
                             f"{axis}; input shape {tuple(input_shape)}, padding {padding!r}")
        out.append(size)
    return (input_shape[0], *out, channels)


def init_config(obj):
    return initializers.serialize(obj)


def reg_config(obj):
    return regularizers.serialize(obj)


def check_input_rank(layer, input_shape, ranks, layout: str) -> None:
    """A clear error naming the layer and the shape when the input has the wrong rank."""
    ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
    if isinstance(input_shape, list) or len(input_shape) not in ranks:
        raise ValueError(f"{layer.name} ({type(layer).__name__}): expects input of shape "
                         f"{layout}, got input shape {_shape_str(input_shape)}")


def _shape_str(shape) -> str:
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_str(s) for s in shape) + "]"
    return str(tuple(shape))
