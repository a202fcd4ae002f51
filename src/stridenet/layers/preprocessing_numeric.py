"""Numeric preprocessing layers with Keras 3 names: Rescaling and Normalization (with
``adapt``). Both are differentiable (plain affine maps), so they may sit anywhere."""

from __future__ import annotations

import numbers

import numpy as np

from .. import config
from ..autograd import Tensor
from ..autograd import math_ops as M
from .base import Layer

_EPSILON = 1e-7  # Keras backend.epsilon(): the smallest standard deviation divided by


def _number_or_array(value, name, layer):
    if isinstance(value, bool):
        raise ValueError(f"{layer}: {name} must be a number or an array, got {value!r}")
    if isinstance(value, numbers.Real):
        if not np.isfinite(value):
            raise ValueError(f"{layer}: {name} must be finite, got {value!r}")
        return float(value)
    arr = np.asarray(value, dtype=np.float64)
    if arr.dtype.kind != "f" or not np.isfinite(arr).all():
        raise ValueError(f"{layer}: {name} must hold finite numbers, got {value!r}")
    return arr


def _plain(value):
    return value.tolist() if isinstance(value, np.ndarray) else value


class Rescaling(Layer):
    """y = x * scale + offset (e.g. scale=1/255 maps uint8 pixels into [0, 1]).

    ``scale`` and ``offset`` are numbers or arrays broadcastable against the input.
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _number_or_array(scale, "scale", "Rescaling")
        self.offset = _number_or_array(offset, "offset", "Rescaling")

    def call(self, inputs, training=False):
        dt = inputs.dtype
        scale = self.scale if isinstance(self.scale, float) else self.scale.astype(dt)
        offset = self.offset if isinstance(self.offset, float) else self.offset.astype(dt)
        return M.add(M.mul(inputs, scale), offset)

    def get_config(self):
        return {**super().get_config(), "scale": _plain(self.scale),
                "offset": _plain(self.offset)}


class Normalization(Layer):
    """y = (x - mean) / max(sqrt(variance), 1e-7), per index of the ``axis`` axes.

    ``axis``: an int, a tuple of ints, or None (one scalar mean and variance). The statistics
    come from ``mean``/``variance`` given here (no weights) or from ``adapt(data)``, stored as
    the non-trainable weights mean, variance (the kept axes' sizes) and count (a scalar), as
    in Keras. ``invert=True`` maps back: y = mean + x * max(sqrt(variance), 1e-7).
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            self.axis = ()
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = (axis,)
        elif isinstance(axis, list | tuple) and all(isinstance(a, int) for a in axis):
            self.axis = tuple(axis)
        else:
            raise ValueError(f"Normalization: axis must be an int, a tuple of ints or None, "
                             f"got {axis!r}")
        if 0 in self.axis:
            raise ValueError("Normalization: axis 0 is the batch axis and cannot be kept")
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: give both mean and variance, or neither (and "
                             "call adapt)")
        self.input_mean = None if mean is None else _number_or_array(mean, "mean", "Normalization")
        self.input_variance = (None if variance is None
                               else _number_or_array(variance, "variance", "Normalization"))
        if self.input_variance is not None and np.any(np.asarray(self.input_variance) < 0):
            raise ValueError(f"Normalization: variance must be >= 0, got {variance!r}")
        self.invert = bool(invert)

    # -- shapes ---------------------------------------------------------------------------
    def _keep(self, ndim):
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(f"{self.name} (Normalization): axis {self.axis} is out of range "
                             f"for inputs with {ndim} axes")
        return tuple(sorted({a % ndim for a in self.axis}))

    def build(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) < 1:
            raise ValueError(f"{self.name} (Normalization): expects one input of shape "
                             f"(N, ...), got input shape {input_shape}")
        nd = len(input_shape)
        self._ndim = nd
        self._keep_axes = self._keep(nd)
        shape = tuple(input_shape[a] for a in self._keep_axes)
        if None in shape:
            raise ValueError(f"{self.name} (Normalization): the kept axes {self.axis} must "
                             f"have known sizes, got input shape {tuple(input_shape)}")
        self._stat_shape = shape
        self._bshape = tuple(input_shape[a] if a in self._keep_axes else 1 for a in range(nd))
        if self.input_mean is None:
            self.mean = self.add_weight(shape, "zeros", "mean", trainable=False)
            self.variance = self.add_weight(shape, "ones", "variance", trainable=False)
            self.count = self.add_weight((), "zeros", "count", trainable=False, dtype="int64")
        else:
            try:
                self._mean = np.broadcast_to(self.input_mean, shape)
                self._variance = np.broadcast_to(self.input_variance, shape)
            except ValueError:
                raise ValueError(f"{self.name} (Normalization): mean {np.shape(self.input_mean)}"
                                 f" and variance {np.shape(self.input_variance)} do not "
                                 f"broadcast to the kept axes' shape {shape}") from None

    # -- statistics -----------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Set mean, variance and count from ``data``: an array (N, ...) or an iterable of
        such batches (the statistics are merged batch by batch)."""
        if self.input_mean is not None:
            raise ValueError(f"{self.name} (Normalization): adapt cannot change a mean and "
                             f"variance given to the constructor")
        batches = [data] if isinstance(data, np.ndarray | Tensor | list) else data
        n_total, mean, m2 = 0, None, None
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            x = np.asarray(batch.data if isinstance(batch, Tensor) else batch, dtype=np.float64)
            self._maybe_build((None, *x.shape[1:]))
            if x.ndim != self._ndim or tuple(x.shape[a] for a in self._keep_axes) != \
                    self._stat_shape:
                raise ValueError(f"{self.name} (Normalization): adapt data of shape {x.shape} "
                                 f"does not match the layer's kept axes {self.axis} with sizes "
                                 f"{self._stat_shape}")
            reduce = tuple(a for a in range(x.ndim) if a not in self._keep_axes)
            n = int(np.prod([x.shape[a] for a in reduce])) if reduce else 1
            if n == 0:
                continue
            b_mean = x.mean(axis=reduce).reshape(self._stat_shape)
            b_m2 = ((x - x.mean(axis=reduce, keepdims=True)) ** 2).sum(axis=reduce) \
                .reshape(self._stat_shape)
            if mean is None:
                n_total, mean, m2 = n, b_mean, b_m2
            else:  # Chan et al.: merge two (count, mean, sum of squared deviations)
                delta = b_mean - mean
                total = n_total + n
                mean = mean + delta * (n / total)
                m2 = m2 + b_m2 + delta ** 2 * (n_total * n / total)
                n_total = total
        if mean is None:
            raise ValueError(f"{self.name} (Normalization): adapt got no data")
        self.mean.assign(mean.astype(self.mean.dtype))
        self.variance.assign((m2 / n_total).astype(self.variance.dtype))
        self.count.assign(np.int64(n_total))

    def _stats(self, dtype):
        if self.input_mean is None:
            mean, var = self.mean.data, self.variance.data
        else:
            mean, var = self._mean, self._variance
        mean = np.asarray(mean, dtype=dtype).reshape(self._bshape)  # (1.., kept.., 1..)
        std = np.maximum(np.sqrt(np.asarray(var, dtype=dtype)), dtype.type(_EPSILON))
        return mean, std.reshape(self._bshape)

    def call(self, inputs, training=False):
        if inputs.ndim != self._ndim:
            raise ValueError(f"{self.name} (Normalization): built for inputs with "
                             f"{self._ndim} axes, got input shape {tuple(inputs.shape)}")
        dtype = inputs.dtype if inputs.dtype.kind == "f" else np.dtype(config.floatx())
        mean, std = self._stats(dtype)
        if self.invert:
            return M.add(M.mul(inputs, std), mean)
        return M.div(M.sub(inputs, mean), std)

    def get_config(self):
        axis = None if not self.axis else (self.axis[0] if len(self.axis) == 1
                                           else list(self.axis))
        return {**super().get_config(), "axis": axis, "invert": self.invert,
                "mean": _plain(self.input_mean), "variance": _plain(self.input_variance)}
