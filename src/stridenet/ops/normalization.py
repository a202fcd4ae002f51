"""``batch_norm``: batch normalisation (Keras 3 semantics), one Function per mode.

Training normalises with the batch mean and biased batch variance and updates the
moving statistics in place, as Keras does:

    moving = moving * momentum + batch_stat * (1 - momentum)

Inference normalises with the moving statistics and leaves them alone.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Function, Tensor
from ._checks import finite_number, float_input, optional_float_input
from .kernels.batchnorm import (
    batchnorm_infer_backward,
    batchnorm_infer_forward,
    batchnorm_train_backward,
    batchnorm_train_forward,
)


class BatchNormTrainFunction(Function):
    """Normalise with batch statistics; ``moving`` (mean, var arrays) are updated in place."""

    @staticmethod
    def forward(ctx, x, gamma, beta, axis, epsilon, momentum, moving, reducer=None):
        y, cache = batchnorm_train_forward(x, gamma, beta, axis, epsilon, reducer)
        for target, stat in zip(moving, (cache["mean"], cache["var"])):
            target[...] = target * momentum + stat * (1.0 - momentum)
        ctx.cache = cache
        return y

    @staticmethod
    def backward(ctx, dy):
        return batchnorm_train_backward(dy, ctx.cache, ctx.needs_input_grad)


class BatchNormInferenceFunction(Function):
    """Normalise with fixed statistics (constants: no gradient flows to them)."""

    @staticmethod
    def forward(ctx, x, gamma, beta, mean, var, axis, epsilon):
        y, ctx.cache = batchnorm_infer_forward(x, gamma, beta, mean, var, axis, epsilon)
        return y

    @staticmethod
    def backward(ctx, dy):
        return batchnorm_infer_backward(dy, ctx.cache, ctx.needs_input_grad)


def _statistic(value, name: str, channels: int, training: bool, op: str) -> np.ndarray:
    """The array behind a moving statistic; in training it must be writable in place."""
    arr = value.data if isinstance(value, Tensor) else value
    if training and not isinstance(arr, np.ndarray):
        raise TypeError(f"{op}: {name} must be an ndarray or a Tensor so that training can "
                        f"update it in place, got {type(value).__name__}")
    arr = np.asarray(arr) if training else float_input(arr, name, op)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{op}: {name} must be a floating point array, got {arr.dtype}")
    if arr.shape != (channels,):
        raise ValueError(f"{op}: {name} must have shape ({channels},) for {channels} channels, "
                         f"got {arr.shape}")
    if training and not arr.flags.writeable:
        raise ValueError(f"{op}: {name} is read-only; training updates it in place")
    return arr


def batch_norm(x, gamma, beta, moving_mean, moving_variance, training=False, momentum=0.99,
               epsilon=1e-3, axis=-1, reducer=None):
    """Batch normalisation over every axis except ``axis`` (the channels).

    x: (..., C, ...) with C = x.shape[axis]; gamma, beta: (C,) or None (scale / centre off);
    moving_mean, moving_variance: (C,) ndarrays or Tensors -> same shape as x.

    ``training=True``: y = gamma * (x - mean) / sqrt(var + epsilon) + beta with the batch
    mean and biased variance, and the moving statistics are updated in place
    (``moving * momentum + batch * (1 - momentum)``). ``training=False``: the moving
    statistics are used instead.

    ``reducer`` (training only): pools the batch statistics of data-parallel ranks
    (``stridenet.distribute``); synchronised batch normalisation passes it.
    """
    op = "batch_norm"
    x = float_input(x, "x", op)
    momentum = finite_number(momentum, "momentum", op, lo=0.0, hi=1.0)
    epsilon = finite_number(epsilon, "epsilon", op, lo=0.0, lo_open=True)
    if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for x of shape {tuple(x.shape)}")
    axis = int(axis) % x.ndim
    c = x.shape[axis]
    gamma = optional_float_input(gamma, "gamma", op)
    beta = optional_float_input(beta, "beta", op)
    for name, p in (("gamma", gamma), ("beta", beta)):
        if p is not None and tuple(p.shape) != (c,):
            raise ValueError(f"{op}: {name} must have shape ({c},) for x {tuple(x.shape)} with "
                             f"channels on axis {axis}, got {tuple(p.shape)}")
    mean = _statistic(moving_mean, "moving_mean", c, bool(training), op)
    var = _statistic(moving_variance, "moving_variance", c, bool(training), op)
    if training:
        if x.size == 0:
            raise ValueError(f"{op}: training needs a non-empty batch, x has shape "
                             f"{tuple(x.shape)}")
        return BatchNormTrainFunction.apply(x, gamma, beta, axis=axis, epsilon=epsilon,
                                            momentum=momentum, moving=(mean, var),
                                            reducer=reducer)
    return BatchNormInferenceFunction.apply(x, gamma, beta, mean, var, axis=axis,
                                            epsilon=epsilon)
