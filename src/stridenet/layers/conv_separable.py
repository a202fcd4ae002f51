"""Depthwise-separable convolutions: DepthwiseConv1D, SeparableConv1D, SeparableConv2D.

A depthwise convolution filters each input channel on its own (``depth_multiplier``
filters per channel: a grouped convolution with groups = C); a separable convolution
follows it with a pointwise (1x1) convolution that mixes the channels:

    x (N, *S, C) --depthwise (K.., C, M)--> (N, *S', C*M) --pointwise (1.., C*M, F)--> (N, *S', F)

For K taps this costs K*C*M + C*M*F weights instead of the K*C*F of a full convolution.
"""

from __future__ import annotations

from .. import activations, initializers, ops, regularizers
from ..autograd import math_ops as M
from ..ops.kernels.geometry import as_tuple
from ._args import (
    check_data_format,
    check_input_rank,
    init_config,
    reg_config,
    spatial_output_shape,
)
from .base import Layer

_LAYOUT = {1: "(N, L, C)", 2: "(N, H, W, C)"}


def _positive_int(value, name, layer):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return value


class _DepthwiseBase(Layer):
    """Shared arguments and the depthwise step of the depthwise and separable layers."""

    rank = 1

    def _geometry(self, kernel_size, strides, padding, data_format, dilation_rate,
                  depth_multiplier):
        name = type(self).__name__
        check_data_format(data_format, name)
        self.kernel_size = as_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = as_tuple(strides, self.rank, "strides")
        self.dilation_rate = as_tuple(dilation_rate, self.rank, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{name}: strides > 1 together with dilation_rate > 1 is not "
                             f"supported, got strides={self.strides}, "
                             f"dilation_rate={self.dilation_rate}")
        self.padding = padding.lower() if isinstance(padding, str) else padding
        if self.padding not in ("valid", "same") and not (self.rank == 1 and
                                                          self.padding == "causal"):
            raise ValueError(f"{name}: padding must be 'valid' or 'same'"
                             f"{' or causal' if self.rank == 1 else ''}, got {padding!r}")
        self.data_format = "channels_last"
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier", name)

    def _check_input(self, input_shape):
        check_input_rank(self, input_shape, self.rank + 2, _LAYOUT[self.rank])
        if input_shape[-1] is None:
            raise ValueError(f"{self.name} ({type(self).__name__}): the channel axis must be "
                             f"known, got input shape {tuple(input_shape)}")
        return input_shape[-1]

    def _depthwise(self, inputs, kernel, bias=None):
        """x: (N, *S, C), kernel (K.., C, M) -> (N, *S', C*M) as a conv with groups=C."""
        *taps, c, m = kernel.shape
        k = M.reshape(kernel, (*taps, 1, c * m))  # output channel c*M + m belongs to group c
        conv = ops.conv2d if self.rank == 2 else ops.conv1d
        return conv(inputs, k, bias, strides=self.strides, padding=self.padding,
                    dilation_rate=self.dilation_rate, groups=c)

    def _geometry_config(self):
        return {"kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate),
                "depth_multiplier": self.depth_multiplier}


class DepthwiseConv1D(_DepthwiseBase):
    """x: (N, L, C) -> (N, OL, C * depth_multiplier); kernel (K, C, depth_multiplier)."""

    rank = 1

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self._geometry(kernel_size, strides, padding, data_format, dilation_rate,
                       depth_multiplier)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        c, m = self._check_input(input_shape), self.depth_multiplier
        self.kernel = self.add_weight((*self.kernel_size, c, m), self.depthwise_initializer,
                                      "kernel", regularizer=self.depthwise_regularizer)
        self.bias = (self.add_weight((c * m,), self.bias_initializer, "bias",
                                     regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    def call(self, inputs, training=False):
        return self.activation(self._depthwise(inputs, self.kernel, self.bias))

    def compute_output_shape(self, input_shape):
        return spatial_output_shape(input_shape, self.kernel_size, self.strides, self.padding,
                                    self.dilation_rate, input_shape[-1] * self.depth_multiplier,
                                    causal_ok=True, owner=f"{self.name} (DepthwiseConv1D)")

    def get_config(self):
        return {**super().get_config(), **self._geometry_config(),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "depthwise_initializer": init_config(self.depthwise_initializer),
                "bias_initializer": init_config(self.bias_initializer),
                "depthwise_regularizer": reg_config(self.depthwise_regularizer),
                "bias_regularizer": reg_config(self.bias_regularizer)}


class _SeparableConv(_DepthwiseBase):
    """Weights in Keras order: depthwise_kernel (K.., C, M), pointwise_kernel
    (1.., C*M, filters), bias (filters,)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = _positive_int(filters, "filters", type(self).__name__)
        self._geometry(kernel_size, strides, padding, data_format, dilation_rate,
                       depth_multiplier)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        c, m = self._check_input(input_shape), self.depth_multiplier
        self.depthwise_kernel = self.add_weight(
            (*self.kernel_size, c, m), self.depthwise_initializer, "depthwise_kernel",
            regularizer=self.depthwise_regularizer)
        self.pointwise_kernel = self.add_weight(
            (*([1] * self.rank), c * m, self.filters), self.pointwise_initializer,
            "pointwise_kernel", regularizer=self.pointwise_regularizer)
        self.bias = (self.add_weight((self.filters,), self.bias_initializer, "bias",
                                     regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    def call(self, inputs, training=False):
        y = self._depthwise(inputs, self.depthwise_kernel)  # (N, *S', C*M)
        cm, f = self.pointwise_kernel.shape[-2:]
        # a 1x1 convolution is a matrix product over the channel axis
        y = ops.dense(y, M.reshape(self.pointwise_kernel, (cm, f)), self.bias)  # (N, *S', F)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return spatial_output_shape(input_shape, self.kernel_size, self.strides, self.padding,
                                    self.dilation_rate, self.filters, causal_ok=self.rank == 1,
                                    owner=f"{self.name} ({type(self).__name__})")

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, **self._geometry_config(),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "depthwise_initializer": init_config(self.depthwise_initializer),
                "pointwise_initializer": init_config(self.pointwise_initializer),
                "bias_initializer": init_config(self.bias_initializer),
                "depthwise_regularizer": reg_config(self.depthwise_regularizer),
                "pointwise_regularizer": reg_config(self.pointwise_regularizer),
                "bias_regularizer": reg_config(self.bias_regularizer)}


class SeparableConv1D(_SeparableConv):
    """x: (N, L, C) -> (N, OL, filters); depthwise (K, C, M), pointwise (1, C*M, filters)."""

    rank = 1


class SeparableConv2D(_SeparableConv):
    """x: (N, H, W, C) -> (N, OH, OW, filters); depthwise (KH, KW, C, M), pointwise
    (1, 1, C*M, filters)."""

    rank = 2
