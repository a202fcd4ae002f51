"""Naive references for the non-convolution ops: the plain math, one element at a time.

Slow on purpose and written to be read next to the formulas; only the fast kernels in
``stridenet.ops`` are vectorised. Everything here works in Python floats (float64).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

EPS = 1e-7  # Keras probability clip


def _elementwise(f, x):
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        out[idx] = f(float(x[idx]))
    return out


# --- dense ----------------------------------------------------------------------------------

def dense(x, w, b=None):
    """y[..., u] = b[u] + sum_i x[..., i] * w[i, u]"""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(x.shape[:-1] + (w.shape[1],))
    for idx in np.ndindex(x.shape[:-1]):
        for u in range(w.shape[1]):
            total = 0.0 if b is None else float(b[u])
            for i in range(w.shape[0]):
                total += x[idx + (i,)] * w[i, u]
            out[idx + (u,)] = total
    return out


# --- activations --------------------------------------------------------------------------

def relu(x):
    return _elementwise(lambda v: v if v > 0 else 0.0, x)


def leaky_relu(x, slope=0.2):
    return _elementwise(lambda v: v if v > 0 else slope * v, x)


def elu(x, alpha=1.0):
    return _elementwise(lambda v: v if v >= 0 else alpha * (math.exp(v) - 1), x)


def sigmoid(x):
    def f(v):
        if v >= 0:
            return 1 / (1 + math.exp(-v))
        return math.exp(v) / (1 + math.exp(v))  # same value, no overflow for v << 0
    return _elementwise(f, x)


def tanh(x):
    return _elementwise(math.tanh, x)


def gelu(x):
    """x * Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2"""
    return _elementwise(lambda v: v * 0.5 * math.erfc(-v / math.sqrt(2)), x)


def gelu_tanh(x):
    c = math.sqrt(2 / math.pi)
    return _elementwise(lambda v: 0.5 * v * (1 + math.tanh(c * (v + 0.044715 * v ** 3))), x)


def _lines(shape, axis):
    """Index tuples of every 1-D line along ``axis``: each a list of full indices."""
    others = [range(n) if i != axis else [None] for i, n in enumerate(shape)]
    for base in itertools.product(*others):
        yield [tuple(k if j == axis else base[j] for j in range(len(shape)))
               for k in range(shape[axis])]


def softmax(x, axis=-1):
    """exp(x_i - m) / sum_j exp(x_j - m) along axis, m the line's max"""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    for line in _lines(x.shape, axis % x.ndim):
        m = max(x[i] for i in line)
        total = sum(math.exp(x[i] - m) for i in line)
        for i in line:
            out[i] = math.exp(x[i] - m) / total
    return out


def log_softmax(x, axis=-1):
    """x_i - m - log(sum_j exp(x_j - m))"""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    for line in _lines(x.shape, axis % x.ndim):
        m = max(x[i] for i in line)
        lse = m + math.log(sum(math.exp(x[i] - m) for i in line))
        for i in line:
            out[i] = x[i] - lse
    return out


def dropout(x, keep, rate):
    """x * keep / (1 - rate) with a given 0/1 mask"""
    return np.asarray(x, dtype=np.float64) * keep / (1 - rate)


# --- batch normalisation ------------------------------------------------------------------

def _channel_values(x, axis, c):
    return [x[idx] for idx in np.ndindex(x.shape) if idx[axis] == c]


def batch_stats(x, axis=-1):
    """Per-channel mean and biased variance over every other axis."""
    axis = axis % x.ndim
    means, variances = [], []
    for c in range(x.shape[axis]):
        vals = _channel_values(x, axis, c)
        m = sum(vals) / len(vals)
        means.append(m)
        variances.append(sum((v - m) ** 2 for v in vals) / len(vals))
    return np.array(means), np.array(variances)


def batch_norm(x, gamma, beta, mean, var, eps, axis=-1):
    """y = gamma[c] * (x - mean[c]) / sqrt(var[c] + eps) + beta[c], c the channel index"""
    x = np.asarray(x, dtype=np.float64)
    axis = axis % x.ndim
    out = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        c = idx[axis]
        g = 1.0 if gamma is None else gamma[c]
        b = 0.0 if beta is None else beta[c]
        out[idx] = g * (x[idx] - mean[c]) / math.sqrt(var[c] + eps) + b
    return out


def batch_norm_train(x, gamma, beta, eps, axis=-1):
    mean, var = batch_stats(x, axis)
    return batch_norm(x, gamma, beta, mean, var, eps, axis)


# --- losses ---------------------------------------------------------------------------------

def _reduce(per, reduction):
    per = np.asarray(per, dtype=np.float64)
    if reduction == "none":
        return per
    total = sum(per.reshape(-1))
    return np.asarray(total / per.size if reduction == "mean" else total)


def _log_probs(row, from_logits):
    """log of the class probabilities of one sample (Keras rule for probabilities)."""
    if from_logits:
        m = max(row)
        lse = m + math.log(sum(math.exp(v - m) for v in row))
        return [v - lse for v in row]
    s = sum(row)
    return [math.log(min(max(v / s, EPS), 1 - EPS)) for v in row]


def _rows(y_pred, axis):
    """y_pred with the class axis last, as (batch shape, list of rows)."""
    z = np.moveaxis(np.asarray(y_pred, dtype=np.float64), axis, -1)
    return z.shape[:-1], [list(z[idx]) for idx in np.ndindex(z.shape[:-1])]


def sparse_categorical_crossentropy(labels, y_pred, from_logits=False, axis=-1,
                                    reduction="mean"):
    """-log p[label] per sample"""
    batch, rows = _rows(y_pred, axis)
    labels = np.asarray(labels).reshape(-1)
    per = [-_log_probs(row, from_logits)[int(k)] for row, k in zip(rows, labels)]
    return _reduce(np.array(per).reshape(batch), reduction)


def categorical_crossentropy(targets, y_pred, from_logits=False, label_smoothing=0.0, axis=-1,
                             reduction="mean"):
    """-sum_c t_c log p_c per sample, t smoothed towards uniform: t (1 - s) + s / C"""
    batch, rows = _rows(y_pred, axis)
    _, trows = _rows(targets, axis)
    per = []
    for row, t in zip(rows, trows):
        c = len(row)
        t = [v * (1 - label_smoothing) + label_smoothing / c for v in t]
        per.append(-sum(tc * lp for tc, lp in zip(t, _log_probs(row, from_logits))))
    return _reduce(np.array(per).reshape(batch), reduction)


def binary_crossentropy(targets, y_pred, from_logits=False, reduction="mean"):
    """mean over the last axis of -(t log p + (1 - t) log(1 - p))"""
    y_pred = np.asarray(y_pred, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64).reshape(y_pred.shape)
    per = np.empty(y_pred.shape[:-1])
    for idx in np.ndindex(per.shape):
        terms = []
        for z, t in zip(y_pred[idx], targets[idx]):
            if from_logits:  # log p = -log(1 + e^-z), log(1 - p) = -log(1 + e^z), stably
                log_p = -(max(-z, 0) + math.log1p(math.exp(-abs(z))))
                log_q = -(max(z, 0) + math.log1p(math.exp(-abs(z))))
            else:
                p = min(max(z, EPS), 1 - EPS)
                log_p, log_q = math.log(p), math.log(1 - p)
            terms.append(-(t * log_p + (1 - t) * log_q))
        per[idx] = sum(terms) / len(terms)
    return _reduce(per, reduction)


def mean_squared_error(targets, y_pred, reduction="mean"):
    """mean over the last axis of (p - t)^2"""
    y_pred = np.asarray(y_pred, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64).reshape(y_pred.shape)
    per = np.empty(y_pred.shape[:-1])
    for idx in np.ndindex(per.shape):
        per[idx] = sum((p - t) ** 2 for p, t in zip(y_pred[idx], targets[idx])) / y_pred.shape[-1]
    return _reduce(per, reduction)
