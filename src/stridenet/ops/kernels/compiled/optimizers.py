"""Compiled optimizer updates: one pass over each variable instead of NumPy's five to ten.

Each does the NumPy update's operations in the same order and dtype (the scalars rounded
to the variable's dtype first, as NumPy does with a Python float): equal bit for bit. The
arrays must be C-contiguous and of the variable's dtype; a wrapper returns False (and
changes nothing) when they are not, and the NumPy update runs instead.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def _adam(p, g, m, v, v_hat, amsgrad, c1, c2, eps, alpha):
    for i in range(p.shape[0]):
        gi = g[i]
        mi = m[i] + (gi - m[i]) * c1
        vi = v[i] + (gi * gi - v[i]) * c2
        m[i] = mi
        v[i] = vi
        if amsgrad:
            if vi > v_hat[i] or vi != vi:
                v_hat[i] = vi
            vi = v_hat[i]
        p[i] -= (mi / (np.sqrt(vi) + eps)) * alpha


@jit
def _sgd(p, g, v, momentum, nesterov, lr, mu):
    for i in range(p.shape[0]):
        step = g[i] * lr
        if not momentum:
            p[i] -= step
            continue
        vi = v[i] * mu - step
        v[i] = vi
        p[i] += vi * mu - step if nesterov else vi


@jit
def _rmsprop(p, g, v, a, u, centered, momentum, rho, one_minus_rho, eps, lr, mu):
    for i in range(p.shape[0]):
        gi = g[i]
        vi = v[i] * rho + (gi * gi) * one_minus_rho
        v[i] = vi
        if centered:
            ai = a[i] * rho + gi * one_minus_rho
            a[i] = ai
            d = (vi - ai * ai) + eps
        else:
            d = vi + eps
        step = (gi / np.sqrt(d)) * lr
        if momentum:
            ui = u[i] * mu + step
            u[i] = ui
            p[i] -= ui
        else:
            p[i] -= step


def _flat(p, *arrays):
    """Flat views of p and the arrays (None passes), or None if any is not a C-contiguous
    array of p's dtype and shape."""
    out = []
    for a in (p, *arrays):
        if a is None:
            out.append(p.reshape(-1))  # a placeholder the kernel never touches
            continue
        if a.dtype != p.dtype or a.shape != p.shape or not a.flags.c_contiguous:
            return None
        out.append(a.reshape(-1))
    return out


def adam(p, g, m, v, v_hat, beta_1, beta_2, epsilon, alpha) -> bool:
    """Adam's step in place (``v_hat`` None without amsgrad); see ``optimizers.adam``."""
    flat = _flat(p, g, m, v, v_hat)
    if flat is None or not p.flags.writeable:
        return False
    t = p.dtype.type
    _adam(*flat, v_hat is not None, t(1.0 - beta_1), t(1.0 - beta_2), t(epsilon), t(alpha))
    return True


def sgd(p, g, v, lr, momentum, nesterov) -> bool:
    """SGD's step in place (``v`` None without momentum); see ``optimizers.sgd``."""
    flat = _flat(p, g, v)
    if flat is None or not p.flags.writeable:
        return False
    t = p.dtype.type
    _sgd(*flat, bool(momentum), bool(nesterov), t(lr), t(momentum))
    return True


def rmsprop(p, g, v, a, u, rho, epsilon, lr, momentum) -> bool:
    """RMSprop's step in place (``a`` None unless centered, ``u`` None without momentum)."""
    flat = _flat(p, g, v, a, u)
    if flat is None or not p.flags.writeable:
        return False
    t = p.dtype.type
    _rmsprop(*flat, a is not None, u is not None, t(rho), t(1.0 - rho), t(epsilon), t(lr),
             t(momentum))
    return True
