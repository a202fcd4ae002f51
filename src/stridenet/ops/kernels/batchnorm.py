"""Batch normalisation over every axis except the channel axis: forward and backward.

With M the number of values per channel (the product of the other axes' sizes):

    mean = sum(x) / M,   var = sum((x - mean)^2) / M   (biased, as Keras uses)
    xhat = (x - mean) / sigma,   sigma = sqrt(var + eps),   y = gamma * xhat + beta

Backward of the training form (mean and var depend on x):

    dbeta = sum(dy),   dgamma = sum(dy * xhat)
    dx = gamma / sigma * (dy - dbeta / M - xhat * dgamma / M)

The inference form uses fixed statistics, so dx = gamma / sigma * dy.
Per-channel sums of float32 inputs are accumulated in float64 (long reductions).
"""

from __future__ import annotations

import math

import numpy as np


def _layout(x, axis):
    """Reduction axes and the broadcast shape of a per-channel vector, e.g. (1, 1, 1, C)."""
    axes = tuple(i for i in range(x.ndim) if i != axis)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    return axes, tuple(shape)


def _channel_sum(a, axes, dtype):
    """Per-channel sum with a float64 accumulator, returned in ``dtype``."""
    return a.sum(axis=axes, dtype=np.float64).astype(dtype, copy=False)


def batchnorm_train_forward(x, gamma, beta, axis, eps):
    """x: (..., C, ...) with C on ``axis``; gamma, beta: (C,) or None -> (y, cache).

    The cache carries the batch ``mean`` and biased ``var`` (C,) for the moving averages.
    """
    axes, bshape = _layout(x, axis)
    count = math.prod(x.shape[i] for i in axes)
    dt = x.dtype
    mean = _channel_sum(x, axes, dt) / dt.type(count)  # (C,)
    centred = x - mean.reshape(bshape)
    var = _channel_sum(centred * centred, axes, dt) / dt.type(count)  # (C,)
    inv_sigma = 1 / np.sqrt(var + dt.type(eps))  # (C,)
    xhat = centred
    xhat *= inv_sigma.reshape(bshape)  # in place: centred is not needed any more
    y = xhat if gamma is None else xhat * gamma.reshape(bshape)
    if beta is not None:
        y = y + beta.reshape(bshape)
    elif y is xhat:
        y = xhat.copy()  # xhat stays in the cache: the output must not alias it
    cache = {"xhat": xhat, "inv_sigma": inv_sigma, "gamma": gamma, "axes": axes,
             "bshape": bshape, "count": count, "has_beta": beta is not None,
             "mean": mean, "var": var}
    return y, cache


def batchnorm_train_backward(dy, cache, needs=(True, True, True)):
    """dy like x -> (dx | None, dgamma: (C,) | None, dbeta: (C,) | None)."""
    xhat, axes, bshape = cache["xhat"], cache["axes"], cache["bshape"]
    gamma, dt = cache["gamma"], xhat.dtype
    dbeta = _channel_sum(dy, axes, dt)  # (C,)
    dgamma = _channel_sum(dy * xhat, axes, dt)  # (C,)
    dx = None
    if needs[0]:
        n = dt.type(cache["count"])
        scale = cache["inv_sigma"] if gamma is None else gamma * cache["inv_sigma"]  # (C,)
        dx = dy - (dbeta / n).reshape(bshape)
        dx -= xhat * (dgamma / n).reshape(bshape)
        dx *= scale.reshape(bshape)
    return (dx, dgamma if needs[1] and gamma is not None else None,
            dbeta if needs[2] and cache["has_beta"] else None)


def batchnorm_infer_forward(x, gamma, beta, mean, var, axis, eps):
    """Normalise with fixed statistics mean, var: (C,) -> (y, cache)."""
    _, bshape = _layout(x, axis)
    dt = x.dtype
    inv_sigma = (1 / np.sqrt(var.astype(dt) + dt.type(eps))).reshape(bshape)
    xhat = (x - mean.astype(dt).reshape(bshape)) * inv_sigma
    y = xhat if gamma is None else xhat * gamma.reshape(bshape)
    if beta is not None:
        y = y + beta.reshape(bshape)
    elif y is xhat:
        y = xhat.copy()
    return y, {"xhat": xhat, "inv_sigma": inv_sigma, "gamma": gamma, "axis": axis,
               "has_beta": beta is not None}


def batchnorm_infer_backward(dy, cache, needs=(True, True, True)):
    """dy like x -> (dx | None, dgamma | None, dbeta | None); mean and var are constants."""
    xhat, gamma, axis = cache["xhat"], cache["gamma"], cache["axis"]
    axes, bshape = _layout(xhat, axis)
    dx = None
    if needs[0]:
        scale = cache["inv_sigma"] if gamma is None else gamma.reshape(bshape) * cache["inv_sigma"]
        dx = dy * scale
    dgamma = _channel_sum(dy * xhat, axes, xhat.dtype) if needs[1] and gamma is not None \
        else None
    dbeta = _channel_sum(dy, axes, xhat.dtype) if needs[2] and cache["has_beta"] else None
    return dx, dgamma, dbeta
