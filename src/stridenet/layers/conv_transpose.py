"""Transposed convolution layers: Conv1DTranspose, Conv2DTranspose, Conv3DTranspose.

A transposed convolution is the adjoint of the convolution with the same arguments: it
spreads each input cell over a kernel-sized patch of a larger output (upsampling with
learned weights). Its kernel is that convolution's kernel, so Keras stores it as
``kernel_size + (filters, C_in)``: output channels BEFORE input channels.

Output size per axis (n input cells, k' = (k - 1) * d + 1, s stride, p output_padding):
'valid': (n - 1) * s + k' + (p if given, else max(k', s) - k');
'same': n * s, or (n - 1) * s + k' % 2 + p when p is given.
"""

from __future__ import annotations

from .. import activations, initializers, ops, regularizers
from ..ops.kernels.geometry import as_tuple
from ._args import check_data_format, check_input_rank, init_config, reg_config
from .base import Layer

_LAYOUT = {1: "(N, L, C)", 2: "(N, H, W, C)", 3: "(N, D, H, W, C)"}


def _out_size(n, k, s, d, padding, output_padding):
    """SPEC section 6: the size of one output axis (None stays None)."""
    if n is None:
        return None
    eff = (k - 1) * d + 1
    if padding == "valid":
        extra = output_padding if output_padding is not None else max(eff, s) - eff
        return (n - 1) * s + eff + extra
    if output_padding is None:
        return n * s
    return (n - 1) * s + eff % 2 + output_padding


class _ConvTranspose(Layer):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        check_data_format(data_format, name)
        if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"{name}: filters must be a positive int, got {filters!r}")
        self.filters = filters
        self.kernel_size = as_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = as_tuple(strides, self.rank, "strides")
        self.dilation_rate = as_tuple(dilation_rate, self.rank, "dilation_rate")
        self.padding = padding.lower() if isinstance(padding, str) else padding
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}")
        if output_padding is None:
            self.output_padding = None
        else:
            pads = ((output_padding,) * self.rank if isinstance(output_padding, int)
                    else tuple(output_padding) if isinstance(output_padding, list | tuple)
                    else None)
            if pads is None or len(pads) != self.rank or not all(
                    isinstance(p, int) and not isinstance(p, bool) for p in pads):
                raise ValueError(f"{name}: output_padding must be None, an int or {self.rank} "
                                 f"ints, got {output_padding!r}")
            self.output_padding = pads
            if any(p < 0 or p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(f"{name}: output_padding {self.output_padding} must be "
                                 f">= 0 and smaller than strides {self.strides} on every axis")
        self.data_format = "channels_last"
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        check_input_rank(self, input_shape, self.rank + 2, _LAYOUT[self.rank])
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"{self.name} ({type(self).__name__}): the channel axis must be "
                             f"known, got input shape {tuple(input_shape)}")
        out = self.compute_output_shape(input_shape)
        if any(o is not None and o <= 0 for o in out[1:-1]):
            raise ValueError(f"{self.name} ({type(self).__name__}): input shape "
                             f"{tuple(input_shape)} gives an empty output {out}")
        # (K.., F, C_in): output channels first, as Keras
        self.kernel = self.add_weight((*self.kernel_size, self.filters, channels),
                                      self.kernel_initializer, "kernel",
                                      regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight((self.filters,), self.bias_initializer, "bias",
                                     regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    def call(self, inputs, training=False):
        op = {1: ops.conv_transpose1d, 2: ops.conv_transpose2d, 3: ops.conv_transpose3d}
        y = op[self.rank](inputs, self.kernel, self.bias, strides=self.strides,
                          padding=self.padding, output_padding=self.output_padding,
                          dilation_rate=self.dilation_rate)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        pads = self.output_padding or (None,) * self.rank
        sizes = [_out_size(n, k, s, d, self.padding, p) for n, k, s, d, p in
                 zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate,
                     pads)]
        return (input_shape[0], *sizes, self.filters)

    def get_config(self):
        return {
            **super().get_config(), "filters": self.filters,
            "kernel_size": list(self.kernel_size), "strides": list(self.strides),
            "padding": self.padding,
            "output_padding": None if self.output_padding is None else list(self.output_padding),
            "data_format": self.data_format, "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "kernel_initializer": init_config(self.kernel_initializer),
            "bias_initializer": init_config(self.bias_initializer),
            "kernel_regularizer": reg_config(self.kernel_regularizer),
            "bias_regularizer": reg_config(self.bias_regularizer),
        }


class Conv1DTranspose(_ConvTranspose):
    """x: (N, L, C) -> (N, OL, filters); kernel (K, filters, C)."""

    rank = 1


class Conv2DTranspose(_ConvTranspose):
    """x: (N, H, W, C) -> (N, OH, OW, filters); kernel (KH, KW, filters, C)."""

    rank = 2


class Conv3DTranspose(_ConvTranspose):
    """x: (N, D, H, W, C) -> (N, OD, OH, OW, filters); kernel (KD, KH, KW, filters, C).
    Keras 3 puts data_format before output_padding in this layer's arguments."""

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid",
                 data_format=None, output_padding=None, dilation_rate=(1, 1, 1),
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         output_padding=output_padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, **kwargs)
