"""Compiled twins of the batch-norm passes over rows (M, C): one pass each, no workspace.

The per-channel sums are added in float64 element by element (the NumPy twins sum each
chunk with a BLAS row product in the input's dtype, then in float64), so sums agree within
float32 rounding, not bit for bit; the elementwise passes (normalise, input gradient) do
the NumPy twins' operations in the same order and dtype: equal bit for bit for equal
inputs. Chunks of rows run on all cores, per-worker sums added in worker order.
"""

from __future__ import annotations

import numpy as np

from .. import batchnorm, parallel
from ._jit import jit


@jit
def _sum(x, r0, r1, acc):
    for r in range(r0, r1):
        for ch in range(x.shape[1]):
            acc[0, ch] += x[r, ch]


@jit
def _sum_squared_deviation(x, mean, r0, r1, acc):
    for r in range(r0, r1):
        for ch in range(x.shape[1]):
            d = x[r, ch] - mean[ch]
            acc[0, ch] += d * d


@jit
def _grad_sums(x, dy, mean, inv_sigma, r0, r1, acc):
    for r in range(r0, r1):
        for ch in range(x.shape[1]):
            g = dy[r, ch]
            acc[0, ch] += g
            acc[1, ch] += ((x[r, ch] - mean[ch]) * inv_sigma[ch]) * g


@jit
def _normalise(x, mean, scale, beta, has_beta, r0, r1, out):
    for r in range(r0, r1):
        for ch in range(x.shape[1]):
            v = (x[r, ch] - mean[ch]) * scale[ch]
            out[r, ch] = v + beta[ch] if has_beta else v


@jit
def _input_grad(x, dy, mean, inv_sigma, mean_dy, mean_dyxhat, scale, r0, r1, out):
    for r in range(r0, r1):
        for ch in range(x.shape[1]):
            xhat = ((x[r, ch] - mean[ch]) * inv_sigma[ch]) * mean_dyxhat[ch]
            out[r, ch] = ((dy[r, ch] - mean_dy[ch]) - xhat) * scale[ch]


def _step(x2) -> int:
    m, c = x2.shape
    return max(1, min(m, batchnorm._ROW_BYTES // max(1, c * x2.itemsize)))  # read per call


def _sums(x2, count, kernel, *args):
    """``count`` float64 (C,) sums over all rows, ``kernel(*args, r0, r1, acc)`` per chunk."""
    m, c = x2.shape
    acc = np.zeros((parallel.num_workers(), count, c))
    parallel.run_chunks(lambda worker, r0, r1: kernel(*args, r0, r1, acc[worker]), m,
                        _step(x2))
    total = acc[0].copy()
    for k in range(1, acc.shape[0]):  # fixed order: the same sum on every run
        total += acc[k]
    return total


def channel_sum(x2):
    """x2: (M, C) -> (C,) float64: the sum of each column."""
    return _sums(x2, 1, _sum, x2)[0]


def squared_deviation_sum(x2, mean):
    """x2: (M, C), mean: (C,) -> (C,) float64: sum((x - mean)^2) per column."""
    return _sums(x2, 1, _sum_squared_deviation, x2, mean)[0]


def grad_sums(x2, dy2, mean, inv_sigma):
    """-> (sum(dy), sum(dy * xhat)): (C,) float64 each, xhat = (x - mean) * inv_sigma."""
    s = _sums(x2, 2, _grad_sums, x2, dy2, mean, inv_sigma)
    return s[0], s[1]


def normalise_into(x2, mean, scale, beta, out):
    """out (M, C) = (x - mean) * scale (+ beta when not None)."""
    has_beta = beta is not None
    beta = beta if has_beta else scale
    parallel.run_chunks(lambda worker, r0, r1: _normalise(x2, mean, scale, beta, has_beta, r0,
                                                          r1, out), x2.shape[0], _step(x2))


def input_grad_into(x2, dy2, mean, inv_sigma, mean_dy, mean_dyxhat, scale, out):
    """out (M, C) = (dy - mean_dy - xhat * mean_dyxhat) * scale."""
    parallel.run_chunks(lambda worker, r0, r1: _input_grad(x2, dy2, mean, inv_sigma, mean_dy,
                                                           mean_dyxhat, scale, r0, r1, out),
                        x2.shape[0], _step(x2))
