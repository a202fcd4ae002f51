"""Convolution layers: Conv1D, Conv2D, Conv3D, DepthwiseConv2D (Keras 3 arguments and
weights)."""

from __future__ import annotations

from .. import activations, initializers, ops, regularizers
from ..ops.kernels.geometry import as_tuple
from ._args import (
    check_data_format,
    check_input_rank,
    init_config,
    reg_config,
    spatial_output_shape,
)
from .base import Layer


class _Conv(Layer):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, flip_kernel=False, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, type(self).__name__)
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"{type(self).__name__}: filters must be a positive int, "
                             f"got {filters!r}")
        self.filters = filters
        self.kernel_size = as_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = as_tuple(strides, self.rank, "strides")
        self.dilation_rate = as_tuple(dilation_rate, self.rank, "dilation_rate")
        self.padding = padding.lower() if isinstance(padding, str) else padding
        self.data_format = "channels_last"
        self.groups = groups
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.flip_kernel = flip_kernel

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"{self.name}: the channel axis of the input must be known, "
                             f"got input shape {input_shape}")
        if channels % self.groups or self.filters % self.groups:
            raise ValueError(f"{self.name}: groups={self.groups} must divide the input "
                             f"channels ({channels}) and filters ({self.filters})")
        shape = (*self.kernel_size, channels // self.groups, self.filters)
        self.kernel = self.add_weight(shape, self.kernel_initializer, "kernel",
                                      regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight((self.filters,), self.bias_initializer, "bias",
                                     regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    def _conv(self):
        return {1: ops.conv1d, 2: ops.conv2d, 3: ops.conv3d}[self.rank]

    def call(self, inputs, training=False):
        fused = self.activation is ops.relu  # relu runs inside the conv kernel
        y = self._conv()(inputs, self.kernel, self.bias, strides=self.strides,
                         padding=self.padding, dilation_rate=self.dilation_rate,
                         groups=self.groups, flip_kernel=self.flip_kernel,
                         activation="relu" if fused else None)
        return y if fused else self.activation(y)

    def compute_output_shape(self, input_shape):
        return spatial_output_shape(input_shape, self.kernel_size, self.strides, self.padding,
                                    self.dilation_rate, self.filters, causal_ok=self.rank == 1,
                                    owner=f"{self.name} ({type(self).__name__})")

    def get_config(self):
        return {
            **super().get_config(), "filters": self.filters,
            "kernel_size": list(self.kernel_size), "strides": list(self.strides),
            "padding": self.padding, "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate), "groups": self.groups,
            "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "kernel_initializer": init_config(self.kernel_initializer),
            "bias_initializer": init_config(self.bias_initializer),
            "kernel_regularizer": reg_config(self.kernel_regularizer),
            "bias_regularizer": reg_config(self.bias_regularizer),
            "flip_kernel": self.flip_kernel,
        }


class Conv2D(_Conv):
    """x: (N, H, W, C) -> (N, OH, OW, filters); kernel (KH, KW, C // groups, filters)."""

    rank = 2


class Conv1D(_Conv):
    """x: (N, L, C) -> (N, OL, filters); kernel (K, C // groups, filters); padding may be causal."""

    rank = 1


class Conv3D(_Conv):
    """x: (N, D, H, W, C) -> (N, OD, OH, OW, filters); kernel (KD, KH, KW, C // groups,
    filters). As in Keras 3, strides > 1 together with dilation_rate > 1 is refused."""

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1, 1), groups=1, activation=None,
                 use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, groups=groups,
                         activation=activation, use_bias=use_bias, **kwargs)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"Conv3D: strides > 1 together with dilation_rate > 1 is not "
                             f"supported, got strides={self.strides}, "
                             f"dilation_rate={self.dilation_rate}")
        if self.padding not in ("valid", "same"):
            raise ValueError(f"Conv3D: padding must be 'valid' or 'same', got {padding!r}")

    def build(self, input_shape):
        check_input_rank(self, input_shape, 5, "(N, D, H, W, C)")
        super().build(input_shape)


class DepthwiseConv2D(Layer):
    """One (or ``depth_multiplier``) filters per input channel.

    x: (N, H, W, C) -> (N, OH, OW, C * depth_multiplier); kernel (KH, KW, C, depth_multiplier)
    as in Keras, run as a grouped convolution with groups = C.
    """

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, "DepthwiseConv2D")
        self.kernel_size = as_tuple(kernel_size, 2, "kernel_size")
        self.strides = as_tuple(strides, 2, "strides")
        self.dilation_rate = as_tuple(dilation_rate, 2, "dilation_rate")
        self.padding = padding.lower() if isinstance(padding, str) else padding
        self.depth_multiplier = depth_multiplier
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        c, m = input_shape[-1], self.depth_multiplier
        self.kernel = self.add_weight((*self.kernel_size, c, m), self.depthwise_initializer,
                                      "kernel", regularizer=self.depthwise_regularizer)
        self.bias = (self.add_weight((c * m,), self.bias_initializer, "bias",
                                     regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    def call(self, inputs, training=False):
        kh, kw, c, m = self.kernel.shape
        # (KH, KW, C, M) -> (KH, KW, 1, C*M): output channel c*M + m belongs to group c
        k = self.kernel.reshape(kh, kw, 1, c * m)
        y = ops.conv2d(inputs, k, self.bias, strides=self.strides, padding=self.padding,
                       dilation_rate=self.dilation_rate, groups=c)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return spatial_output_shape(input_shape, self.kernel_size, self.strides, self.padding,
                                    self.dilation_rate, input_shape[-1] * self.depth_multiplier)

    def get_config(self):
        return {
            **super().get_config(), "kernel_size": list(self.kernel_size),
            "strides": list(self.strides), "padding": self.padding,
            "depth_multiplier": self.depth_multiplier, "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "depthwise_initializer": init_config(self.depthwise_initializer),
            "bias_initializer": init_config(self.bias_initializer),
            "depthwise_regularizer": reg_config(self.depthwise_regularizer),
            "bias_regularizer": reg_config(self.bias_regularizer),
        }
