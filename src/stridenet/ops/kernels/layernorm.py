"""Layer normalisation kernels (plain NumPy, no Tensor).

Each sample is normalised over the axes ``axes`` (the features), independently of the
rest of the batch:

    mu = mean(x), var = mean((x - mu)^2)   over ``axes``, per sample
    xhat = (x - mu) / sqrt(var + eps),     y = gamma * xhat + beta

gamma and beta arrive already shaped to broadcast against x (size 1 on the other axes).
Backward, with m the number of normalised cells and g = dy * gamma:

    dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps)
    dgamma = sum(dy * xhat), dbeta = sum(dy)   over the axes gamma is broadcast along
"""

from __future__ import annotations

import numpy as np


def layernorm_forward(x, gamma, beta, axes, epsilon):
    """x: (...) -> y: same shape; returns (y, cache)."""
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=axes, keepdims=True)  # biased, as Keras and PyTorch
    inv = 1.0 / np.sqrt(var + x.dtype.type(epsilon))
    xhat = xc
    xhat *= inv  # in place: xc is not needed again
    y = xhat * gamma if gamma is not None else xhat.copy()
    if beta is not None:
        y += beta
    return y, (xhat, inv, gamma, None if beta is None else beta.shape, axes)


def _reduce_to(g, shape):
    """Sum g over the axes where ``shape`` has size 1 (the broadcast ones)."""
    axes = tuple(i for i, (n, m) in enumerate(zip(g.shape, shape)) if m == 1 and n != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def layernorm_backward(dy, cache, needs):
    """Gradients (dx, dgamma, dbeta) for the inputs whose ``needs`` flag is set."""
    xhat, inv, gamma, beta_shape, axes = cache
    dx = dgamma = dbeta = None
    if needs[0]:
        g = dy * gamma if gamma is not None else dy
        mean_g = g.mean(axis=axes, keepdims=True)
        mean_gx = np.mean(g * xhat, axis=axes, keepdims=True)
        dx = (g - mean_g - xhat * mean_gx) * inv
    if gamma is not None and needs[1]:
        dgamma = _reduce_to(dy * xhat, gamma.shape)
    if beta_shape is not None and needs[2]:
        dbeta = _reduce_to(dy, beta_shape)
    return dx, dgamma, dbeta
