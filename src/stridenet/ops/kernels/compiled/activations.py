"""Compiled activation gradients: one pass instead of NumPy's compare, select (relu) or
square, subtract, multiply (tanh). Same operations in the same order: equal bit for bit.

Each takes ``(worker, out, g, y)`` like the NumPy step it replaces (flat chunks)."""

from __future__ import annotations

from ._jit import jit


@jit
def _relu_grad(out, g, y, zero):
    for i in range(out.shape[0]):
        out[i] = g[i] if y[i] > 0 else zero


@jit
def _tanh_grad(out, g, y, one):
    for i in range(out.shape[0]):
        out[i] = (one - y[i] * y[i]) * g[i]


def relu_grad(worker, out, g, y):
    """out = g where y > 0, else +0.0 (g's inf and NaN pass unchanged where y > 0)."""
    _relu_grad(out, g, y, out.dtype.type(0))


def tanh_grad(worker, out, g, y):
    """out = (1 - y^2) * g, rounded after each operation in out's dtype."""
    _tanh_grad(out, g, y, out.dtype.type(1))
