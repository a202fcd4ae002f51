"""Batch normalisation over every axis except the channel axis: forward and backward.

With M the number of values per channel (the product of the other axes' sizes):

    mean = sum(x) / M,   var = sum((x - mean)^2) / M   (biased, as Keras uses)
    xhat = (x - mean) / sigma,   sigma = sqrt(var + eps),   y = gamma * xhat + beta

Backward of the training form (mean and var depend on x):

    dbeta = sum(dy),   dgamma = sum(dy * xhat)
    dx = gamma / sigma * (dy - dbeta / M - xhat * dgamma / M)

The inference form uses fixed statistics, so dx = gamma / sigma * dy.

Synchronised over data-parallel ranks (``reducer``), the sums run over every rank's rows:
the forward pass pools sum(x) and the count, then sum((x - mean)^2); the backward pass
pools w * sum(dy) and w * sum(dy * xhat), where w = n_r / B is the weight of this rank's
share in the global loss. Each rank's dx is then the gradient of the global loss divided
by w (the data-parallel step multiplies every rank's gradients by w before summing them):

    dx = gamma / sigma * (dy - S_dy / (w M_all) - xhat * S_dyxhat / (w M_all))

The data is seen as rows (M, C) -- a free reshape when the channels are the last axis --
and every pass runs over chunks of rows that stay in cache, on all cores. Per-channel
sums are BLAS row sums (``ones @ chunk``) added over chunks in float64. xhat is never
stored: the backward pass recomputes it from x (which the tape keeps anyway) chunk by
chunk, so a training step holds one array per layer less.
"""

from __future__ import annotations

import numpy as np

from . import backend, parallel

_ROW_BYTES = 1 << 20  # elementwise passes: a few arrays of this size per chunk


def _rows(a: np.ndarray, axis: int) -> np.ndarray:
    """a with channels on ``axis`` -> (M, C) rows (a view when the channels are last)."""
    moved = np.moveaxis(a, axis, -1)
    return moved.reshape(-1, a.shape[axis])  # (M, C); copies only if channels are not last


def _unrows(rows: np.ndarray, shape: tuple, axis: int) -> np.ndarray:
    """Inverse of ``_rows``: (M, C) -> ``shape`` with channels on ``axis``."""
    moved = (*shape[:axis], *shape[axis + 1:], shape[axis])
    return np.moveaxis(rows.reshape(moved), -1, axis)


def _row_step(m: int, c: int, itemsize: int) -> int:
    return max(1, min(m, _ROW_BYTES // max(1, c * itemsize)))


def _channel_sums(m, c, dtype, parts):
    """Per-channel sums over all rows: ``parts(worker, r0, r1)`` gives the chunk's arrays
    (n, C) to sum; returns one float64 (C,) sum per array."""
    workers = parallel.num_workers()
    acc = {}

    def chunk(worker, r0, r1):
        ones = np.ones(r1 - r0, dtype)
        for i, part in enumerate(parts(worker, r0, r1)):
            total = acc.setdefault((worker, i), np.zeros(c, np.float64))
            total += ones @ part  # a BLAS row sum, exact enough over one cache-sized chunk
    used = parallel.run_chunks(chunk, m, _row_step(m, c, np.dtype(dtype).itemsize))
    sums = []
    for i in range(len({k[1] for k in acc})):
        total = np.zeros(c, np.float64)
        for worker in range(max(used, workers)):  # fixed order: the same sum on every run
            if (worker, i) in acc:
                total += acc[(worker, i)]
        sums.append(total)
    return sums


def _normalised(x2, mean, inv_sigma, r0, r1, tag="xhat"):
    """(x - mean) * inv_sigma for rows r0..r1, in this thread's workspace."""
    out = parallel.scratch(tag, (r1 - r0, x2.shape[1]), x2.dtype)
    np.subtract(x2[r0:r1], mean, out=out)
    out *= inv_sigma
    return out


# The passes over the rows, NumPy twins of those in ``compiled/batchnorm.py`` (``backend``
# picks one); the sums come back in float64, each pass runs over chunks on all cores.

def channel_sum(x2):
    """x2: (M, C) -> (C,) float64: the sum of each column."""
    m, c = x2.shape
    return _channel_sums(m, c, x2.dtype, lambda w, r0, r1: (x2[r0:r1],))[0]


def squared_deviation_sum(x2, mean):
    """x2: (M, C), mean: (C,) -> (C,) float64: sum((x - mean)^2) per column."""
    m, c = x2.shape

    def squares(worker, r0, r1):
        d = parallel.scratch("bn_sq", (r1 - r0, c), x2.dtype)
        np.subtract(x2[r0:r1], mean, out=d)  # (x - mean) first: no cancellation
        d *= d
        return (d,)

    return _channel_sums(m, c, x2.dtype, squares)[0]


def grad_sums(x2, dy2, mean, inv_sigma):
    """-> (sum(dy), sum(dy * xhat)): (C,) float64 each, xhat = (x - mean) * inv_sigma."""
    m, c = x2.shape

    def parts(worker, r0, r1):
        xhat = _normalised(x2, mean, inv_sigma, r0, r1)
        np.multiply(xhat, dy2[r0:r1], out=xhat)  # dy * xhat, in place
        return dy2[r0:r1], xhat

    return tuple(_channel_sums(m, c, x2.dtype, parts))


def normalise_into(x2, mean, scale, beta, out):
    """out (M, C) = (x - mean) * scale (+ beta when not None)."""
    m, c = x2.shape

    def normalise(worker, r0, r1):
        o = out[r0:r1]
        np.subtract(x2[r0:r1], mean, out=o)
        o *= scale
        if beta is not None:
            o += beta

    parallel.run_chunks(normalise, m, _row_step(m, c, x2.itemsize))


def input_grad_into(x2, dy2, mean, inv_sigma, mean_dy, mean_dyxhat, scale, out):
    """out (M, C) = (dy - mean_dy - xhat * mean_dyxhat) * scale."""
    m, c = x2.shape

    def grad(worker, r0, r1):
        o = out[r0:r1]
        xhat = _normalised(x2, mean, inv_sigma, r0, r1)
        xhat *= mean_dyxhat
        np.subtract(dy2[r0:r1], mean_dy, out=o)
        o -= xhat
        o *= scale

    parallel.run_chunks(grad, m, _row_step(m, c, x2.itemsize))


def batchnorm_train_forward(x, gamma, beta, axis, eps, reducer=None):
    """x: (..., C, ...) with C on ``axis``; gamma, beta: (C,) or None -> (y, cache).

    The cache carries the batch ``mean`` and biased ``var`` (C,) for the moving averages.
    ``reducer`` (``sum(list of arrays) -> list``, and ``weight``) pools the statistics
    over data-parallel ranks.
    """
    dt = x.dtype
    x2 = _rows(x, axis)  # (M, C)
    m, c = x2.shape
    s1 = backend.twin(channel_sum, "batchnorm.channel_sum", x2)(x2)
    count = m
    if reducer is not None:
        s1, total = reducer.sum([s1, np.array([m], np.float64)])
        count = float(total[0])
    mean = (s1 / count).astype(dt)  # (C,)
    s2 = backend.twin(squared_deviation_sum, "batchnorm.squared_deviation_sum", x2)(x2, mean)
    if reducer is not None:
        (s2,) = reducer.sum([s2])
    var = (s2 / count).astype(dt)  # (C,)
    inv_sigma = (1 / np.sqrt(var + dt.type(eps))).astype(dt)  # (C,)
    scale = inv_sigma if gamma is None else (inv_sigma * gamma).astype(dt)
    y2 = np.empty((m, c), dt)
    backend.twin(normalise_into, "batchnorm.normalise_into", x2)(x2, mean, scale, beta, y2)
    cache = {"x2": x2, "mean": mean, "var": var, "inv_sigma": inv_sigma, "gamma": gamma,
             "count": count, "has_beta": beta is not None, "shape": x.shape, "axis": axis,
             "reducer": reducer}
    return _unrows(y2, x.shape, axis), cache


def batchnorm_train_backward(dy, cache, needs=(True, True, True)):
    """dy like x -> (dx | None, dgamma: (C,) | None, dbeta: (C,) | None)."""
    x2, mean, inv_sigma, gamma = cache["x2"], cache["mean"], cache["inv_sigma"], cache["gamma"]
    dt = x2.dtype
    m, c = x2.shape
    dy2 = _rows(np.asarray(dy, dtype=dt), cache["axis"])  # (M, C)
    s_dy, s_dyxhat = backend.twin(grad_sums, "batchnorm.grad_sums", x2, dy2)(x2, dy2, mean,
                                                                             inv_sigma)
    dbeta, dgamma = s_dy.astype(dt), s_dyxhat.astype(dt)  # this rank's: the step sums them
    dx = None
    reducer, count = cache.get("reducer"), cache["count"]
    if reducer is not None:  # every rank's part of the global loss, per this rank's weight
        w = reducer.weight
        pooled = reducer.sum([s_dy * w, s_dyxhat * w])
        s_dy, s_dyxhat = pooled[0] / w, pooled[1] / w
    if needs[0]:
        scale = inv_sigma if gamma is None else (gamma * inv_sigma).astype(dt)  # (C,)
        mean_dy, mean_dyxhat = (s_dy / count).astype(dt), (s_dyxhat / count).astype(dt)
        dx2 = np.empty((m, c), dt)
        backend.twin(input_grad_into, "batchnorm.input_grad_into", x2, dy2)(
            x2, dy2, mean, inv_sigma, mean_dy, mean_dyxhat, scale, dx2)
        dx = _unrows(dx2, cache["shape"], cache["axis"])
    return (dx, dgamma if needs[1] and gamma is not None else None,
            dbeta if needs[2] and cache["has_beta"] else None)


def batchnorm_infer_forward(x, gamma, beta, mean, var, axis, eps):
    """Normalise with fixed statistics mean, var: (C,) -> (y, cache)."""
    dt = x.dtype
    x2 = _rows(x, axis)
    m, c = x2.shape
    mean = mean.astype(dt)
    inv_sigma = (1 / np.sqrt(var.astype(dt) + dt.type(eps))).astype(dt)
    scale = inv_sigma if gamma is None else (inv_sigma * gamma).astype(dt)
    y2 = np.empty((m, c), dt)
    backend.twin(normalise_into, "batchnorm.normalise_into", x2)(x2, mean, scale, beta, y2)
    return _unrows(y2, x.shape, axis), {"x2": x2, "mean": mean, "inv_sigma": inv_sigma,
                                        "gamma": gamma, "has_beta": beta is not None,
                                        "shape": x.shape, "axis": axis}


def batchnorm_infer_backward(dy, cache, needs=(True, True, True)):
    """dy like x -> (dx | None, dgamma | None, dbeta | None); mean and var are constants."""
    x2, mean, inv_sigma, gamma = cache["x2"], cache["mean"], cache["inv_sigma"], cache["gamma"]
    dt = x2.dtype
    m, c = x2.shape
    dy2 = _rows(np.asarray(dy, dtype=dt), cache["axis"])
    dx = None
    if needs[0]:
        scale = inv_sigma if gamma is None else (gamma * inv_sigma).astype(dt)
        dx = _unrows(dy2 * scale, cache["shape"], cache["axis"])
    want_g, want_b = needs[1] and gamma is not None, needs[2] and cache["has_beta"]
    dgamma = dbeta = None
    if want_g or want_b:
        s_dy, s_dyxhat = backend.twin(grad_sums, "batchnorm.grad_sums", x2, dy2)(
            x2, dy2, mean, inv_sigma)
        dgamma = s_dyxhat.astype(dt) if want_g else None
        dbeta = s_dy.astype(dt) if want_b else None
    return dx, dgamma, dbeta
