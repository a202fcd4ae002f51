"""Activation functions: relu, leaky_relu, elu, sigmoid, tanh, softmax, log_softmax, gelu,
linear. Each is one small ``Function`` with a hand-written backward (kernels in
``kernels/activations.py``); all keep the input's shape and float dtype and are stable
for any finite input (no overflow or NaN at |x| = 1e4 or beyond).

``stridenet.losses`` recognises SoftmaxFunction / SigmoidFunction nodes on the tape to
use the logits behind a probability output, as Keras does.
"""

from __future__ import annotations

import numbers

from ..autograd import Function, Tensor
from ._checks import finite_number, float_input
from .kernels import activations as K


def _unary(name, forward, backward):
    """A Function class around a kernel pair ``forward(x, *params) -> (y, cache)``."""

    def fwd(ctx, x, **params):
        y, ctx.cache = forward(x, *params.values())
        return y

    def bwd(ctx, dy):
        return backward(dy, ctx.cache) if ctx.needs_input_grad[0] else None

    return type(name, (Function,), {"forward": staticmethod(fwd), "backward": staticmethod(bwd),
                                    "__doc__": f"{name[:-8]}: one elementwise step."})


ReLUFunction = _unary("ReLUFunction", K.relu_forward, K.relu_backward)
LeakyReLUFunction = _unary("LeakyReLUFunction", K.leaky_relu_forward, K.leaky_relu_backward)
ELUFunction = _unary("ELUFunction", K.elu_forward, K.elu_backward)
SigmoidFunction = _unary("SigmoidFunction", K.sigmoid_forward, K.sigmoid_backward)
TanhFunction = _unary("TanhFunction", K.tanh_forward, K.tanh_backward)
SoftmaxFunction = _unary("SoftmaxFunction", K.softmax_forward, K.softmax_backward)
LogSoftmaxFunction = _unary("LogSoftmaxFunction", K.log_softmax_forward, K.log_softmax_backward)
GELUFunction = _unary("GELUFunction", K.gelu_forward, K.gelu_backward)


def _axis(axis, x, op: str) -> int:
    if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if not -x.ndim <= axis < x.ndim or x.ndim == 0:
        raise ValueError(f"{op}: axis {axis} is out of range for x of shape {tuple(x.shape)}")
    return int(axis) % x.ndim


def relu(x):
    """max(x, 0) elementwise. x: (...) -> (...)"""
    return ReLUFunction.apply(float_input(x, "x", "relu"))


def leaky_relu(x, negative_slope=0.2):
    """x for x > 0, negative_slope * x otherwise (Keras 3 default slope 0.2). x: (...) -> (...)"""
    slope = finite_number(negative_slope, "negative_slope", "leaky_relu", lo=0)
    return LeakyReLUFunction.apply(float_input(x, "x", "leaky_relu"), slope=slope)


def elu(x, alpha=1.0):
    """x for x >= 0, alpha * (exp(x) - 1) otherwise. x: (...) -> (...)"""
    alpha = finite_number(alpha, "alpha", "elu")
    return ELUFunction.apply(float_input(x, "x", "elu"), alpha=alpha)


def sigmoid(x):
    """1 / (1 + exp(-x)) elementwise, in (0, 1). x: (...) -> (...)"""
    x = float_input(x, "x", "sigmoid")
    out = SigmoidFunction.apply(x)
    out._logits = ("sigmoid", x, None)  # what the losses use, as Keras does (see losses)
    return out


def tanh(x):
    """Hyperbolic tangent elementwise. x: (...) -> (...)"""
    return TanhFunction.apply(float_input(x, "x", "tanh"))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis`` (shifted by the max first). x: (...) -> (...)"""
    x = float_input(x, "x", "softmax")
    axis = _axis(axis, x, "softmax")
    out = SoftmaxFunction.apply(x, axis=axis)
    out._logits = ("softmax", x, axis)  # what the losses use, as Keras does (see losses)
    return out


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis``. x: (...) -> (...)"""
    x = float_input(x, "x", "log_softmax")
    return LogSoftmaxFunction.apply(x, axis=_axis(axis, x, "log_softmax"))


def gelu(x, approximate=False):
    """x * Phi(x) with Phi the standard normal CDF (the exact erf form, Keras default);
    ``approximate=True``: x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))). x: (...) -> (...)
    """
    if not isinstance(approximate, bool):
        raise TypeError(f"gelu: approximate must be a bool, got {approximate!r}")
    return GELUFunction.apply(float_input(x, "x", "gelu"), approximate=approximate)


def linear(x):
    """The identity: a Tensor is returned as is, an array becomes a Tensor."""
    x = float_input(x, "x", "linear")
    return x if isinstance(x, Tensor) else Tensor._from_array(x)


