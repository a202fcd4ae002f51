"""Cross-entropy kernels: per-sample losses and their gradients, fused and stable.

Rows are samples, columns classes: logits/probabilities ``z`` are (M, C); targets are
either integer labels (M,) or target distributions (M, C).

* softmax cross-entropy from logits:   l = -sum_c t_c * log_softmax(z)_c,
  dl/dz = softmax(z) * sum_c t_c - t   (= softmax - onehot for labels);
* from probabilities (Keras rule):      q = clip(p / sum(p), eps, 1 - eps),  l = -sum t log q,
  dl/dp_k = (g_k - sum_j g_j p_j / s) / s  with  g = -t / q inside the clip (0 outside)
  and s = sum(p);
* binary, from logits (log-sigmoid):    l = max(z, 0) - z t + log(1 + exp(-|z|)),
  dl/dz = sigmoid(z) - t;
* binary, from probabilities:           q = clip(p, eps, 1 - eps),
  l = -(t log q + (1 - t) log(1 - q)),  dl/dp = (q - t) / (q (1 - q)) inside the clip.

Binary losses are elementwise here; the caller averages them over the last axis.
``reduce_forward`` / ``reduce_backward`` turn per-sample losses into the reduction.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-7  # Keras backend.epsilon(): the probability clip


def _onehot(labels, classes, dtype):
    t = np.zeros((labels.shape[0], classes), dtype=dtype)
    t[np.arange(labels.shape[0]), labels] = 1
    return t


def softmax_xent_forward(z, target):
    """z: (M, C) logits, target: labels (M,) int or distributions (M, C) -> (loss (M,), cache)."""
    shifted = z - z.max(axis=1, keepdims=True)
    logsumexp = np.log(np.exp(shifted).sum(axis=1))  # (M,)
    if target.ndim == 1:
        loss = logsumexp - shifted[np.arange(z.shape[0]), target]
    else:
        # -sum t (shifted - lse) = lse * sum(t) - sum(t * shifted)
        loss = logsumexp * target.sum(axis=1) - (target * shifted).sum(axis=1)
    log_probs = shifted
    log_probs -= logsumexp[:, None]  # (M, C), in place: shifted is not needed any more
    return loss, (log_probs, target)


def softmax_xent_backward(dloss, cache):
    """dloss: (M,) -> dz: (M, C)."""
    log_probs, target = cache
    dz = np.exp(log_probs)  # softmax (M, C)
    if target.ndim == 1:
        dz[np.arange(dz.shape[0]), target] -= 1  # one label per row: no repeated index
    else:
        dz *= target.sum(axis=1, keepdims=True)
        dz -= target
    dz *= dloss[:, None]
    return dz


def prob_xent_forward(p, target):
    """p: (M, C) probabilities, target as above -> (loss (M,), cache)."""
    s = p.sum(axis=1, keepdims=True)  # (M, 1)
    q = p / s
    qc = np.clip(q, EPSILON, 1 - EPSILON)
    if target.ndim == 1:
        rows = np.arange(p.shape[0])
        loss = -np.log(qc[rows, target])
    else:
        loss = -(target * np.log(qc)).sum(axis=1)
    inside = (q >= EPSILON) & (q <= 1 - EPSILON)  # where the clip passes gradients
    return loss, (q, qc, s, inside, target)


def prob_xent_backward(dloss, cache):
    """dloss: (M,) -> dp: (M, C) through normalisation and clip."""
    q, qc, s, inside, target = cache
    if target.ndim == 1:
        t = _onehot(target, q.shape[1], q.dtype)
    else:
        t = target
    g = np.where(inside, -t / qc, 0)  # dl/dq (M, C)
    dp = (g - (g * q).sum(axis=1, keepdims=True)) / s  # through q = p / sum(p)
    dp *= dloss[:, None]
    return dp


def sigmoid_xent_forward(z, target):
    """Elementwise binary cross-entropy of logits z against targets (same shape)."""
    loss = np.maximum(z, 0) - z * target + np.log1p(np.exp(-np.abs(z)))
    return loss, (z, target)


def sigmoid_xent_backward(dloss, cache):
    z, target = cache
    e = np.exp(-np.abs(z))  # <= 1: sigmoid without overflow
    sig = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return (sig - target) * dloss


def prob_bce_forward(p, target):
    """Elementwise binary cross-entropy of probabilities p (clipped) against targets."""
    q = np.clip(p, EPSILON, 1 - EPSILON)
    loss = -(target * np.log(q) + (1 - target) * np.log(1 - q))
    inside = (p >= EPSILON) & (p <= 1 - EPSILON)
    return loss, (q, target, inside)


def prob_bce_backward(dloss, cache):
    q, target, inside = cache
    return np.where(inside, (q - target) / (q * (1 - q)), 0) * dloss


def reduce_forward(loss, reduction):
    """Per-sample losses -> "none" (as is), "sum" or "mean" (a 0-d array)."""
    if reduction == "none":
        return loss
    total = loss.sum(dtype=np.float64)  # long sums of float32 losses: float64 accumulator
    if reduction == "mean":
        total = total / max(loss.size, 1)
    return np.asarray(total, dtype=loss.dtype)


def reduce_backward(dy, shape, reduction, dtype):
    """Gradient of the reduction: dy (0-d or per-sample) -> per-sample gradients of ``shape``."""
    if reduction == "none":
        return np.asarray(dy, dtype=dtype)
    g = np.asarray(dy, dtype=dtype)
    if reduction == "mean":
        g = g / dtype.type(max(int(np.prod(shape)), 1))
    return np.broadcast_to(g, shape)
