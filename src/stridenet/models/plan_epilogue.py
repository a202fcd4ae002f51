"""The epilogue of an inference-plan step: in-place passes over its output buffer (bias,
inference batch norm, activation) run while the chunk is still in cache."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..ops.kernels import activations as K
from ..ops.kernels import backend
from ..ops.kernels import batchnorm as BK


def _softmax_inplace(out: np.ndarray) -> None:
    """The kernel's exp(x - max) / sum, written in place (same operations, same rounding)."""
    np.subtract(out, out.max(axis=-1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=-1, keepdims=True)


def _copy_back(fn):
    def apply(out):
        out[...] = fn(out)[0]
    return apply


# activation op -> in-place pass on an array; activations not listed fall back to eager
ACTIVATIONS = {
    ops.linear: None,
    ops.relu: lambda out: np.maximum(out, 0, out=out),
    ops.tanh: lambda out: np.tanh(out, out=out),
    ops.softmax: _softmax_inplace,
    ops.sigmoid: _copy_back(K.sigmoid_forward),
    ops.elu: _copy_back(lambda x: K.elu_forward(x, 1.0)),
    ops.leaky_relu: _copy_back(lambda x: K.leaky_relu_forward(x, 0.2)),
    ops.gelu: _copy_back(lambda x: K.gelu_forward(x, False)),
    ops.log_softmax: _copy_back(lambda x: K.log_softmax_forward(x, -1)),
}


class Bias:
    """out += b (the layer's bias, read on each call)."""

    def __init__(self, var):
        self.var = var

    def prepare(self, dtype):
        self.b = self.var.data.astype(dtype, copy=False)

    def apply(self, out):
        out += self.b


class BatchNorm:
    """Inference batch norm in place by the kernel's own pass (``normalise_into``, compiled
    where numba runs): (x - mean) * scale + beta with scale = gamma / sqrt(var + eps),
    recomputed from the layer's four vectors per call."""

    def __init__(self, layer):
        self.layer = layer

    def prepare(self, dtype):
        bn, dt = self.layer, np.dtype(dtype)
        self.mean = bn.moving_mean.data.astype(dt)
        inv_sigma = (1 / np.sqrt(bn.moving_variance.data.astype(dt) + dt.type(bn.epsilon))
                     ).astype(dt)
        self.scale = inv_sigma if bn.gamma is None else (inv_sigma * bn.gamma.data).astype(dt)
        self.beta = None if bn.beta is None else bn.beta.data.astype(dt, copy=False)
        self.kernel = backend.twin(BK.normalise_into, "batchnorm.normalise_into", self.mean)

    def apply(self, out):
        rows = out.reshape(-1, out.shape[-1])  # (M, C), in place
        self.kernel(rows, self.mean, self.scale, self.beta, rows)


class Act:
    """An activation in place (see ``ACTIVATIONS``)."""

    def __init__(self, fn):
        self.op, self.fn = fn, ACTIVATIONS[fn]

    def prepare(self, dtype):
        pass

    def apply(self, out):
        self.fn(out)
