"""Elementwise activations: forward/backward pairs on ndarrays, and an accurate erf.

Each ``xxx_forward(x, ...) -> (y, cache)`` and ``xxx_backward(dy, cache) -> dx``.
Everything is computed in the input's dtype, except erf (float64 inside, cast back).
All forms are stable for any finite input: nothing overflows to inf or NaN.

erf / erfc (float64, about 1e-16 absolute, erfc with ~1e-15 relative accuracy):

* |x| < 1:  erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n (2 x^2)^n x / (1*3*5*...*(2n+1)),
  a series of positive terms (no cancellation), evaluated by Horner's rule;
* |x| >= 1: erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))),
  the continued fraction evaluated from a fixed depth (deeper for smaller |x|);

and exp(-x^2) takes x^2 = hi + lo exactly (Dekker's split), so the tails keep their
relative accuracy even where x^2 is large.
"""

from __future__ import annotations

import math

import numpy as np

from . import backend, parallel
from .windows import select

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715  # coefficient of the tanh approximation of GELU

_SERIES_TERMS = 24  # Horner depth of the erf series for |x| < 1 (terms < 1e-17 of the sum)
# (lower bound of |x|, continued-fraction depth): depths measured to reach ~1e-16 relative
_CF_BANDS = ((1.0, 200), (1.5, 100), (2.5, 40))
_ERFC_ZERO = 27.0  # erfc(27) < 1e-318: the result is 0 in float64 (and x^2 could overflow)


def _exp_neg_square(x: np.ndarray) -> np.ndarray:
    """exp(-x^2) with x^2 split exactly into hi + lo, so its rounding does not leak in."""
    x = np.minimum(np.abs(x), 40.0)  # exp(-1600) is 0 already; keeps the split finite
    hi = x * x
    c = x * 134217729.0  # 2^27 + 1: Veltkamp split of x into 26-bit halves
    xh = c - (c - x)
    xl = x - xh
    lo = ((xh * xh - hi) + 2.0 * xh * xl) + xl * xl  # x^2 - hi, exactly
    return np.exp(-hi) * (1.0 - lo)  # exp(-hi - lo) to first order in the tiny lo


def _erf_series(x: np.ndarray) -> np.ndarray:
    """erf for |x| < 1: the positive-term series in Horner form."""
    x2 = 2.0 * x * x
    acc = np.ones_like(x)
    for n in range(_SERIES_TERMS, 0, -1):
        acc = 1.0 + acc * x2 / (2 * n + 1)
    return _TWO_OVER_SQRT_PI * _exp_neg_square(x) * (x * acc)


def _erfc_fraction(a: np.ndarray, depth: int) -> np.ndarray:
    """erfc for a >= 1 from its continued fraction, evaluated bottom-up."""
    f = a.copy()
    for k in range(depth, 0, -1):
        f = a + (0.5 * k) / f
    return _exp_neg_square(a) * _INV_SQRT_PI / f


def _erfc_of_abs(a: np.ndarray) -> np.ndarray:
    """erfc(a) for a >= 1 (or NaN): each band of |x| with its own fraction depth."""
    out = np.zeros_like(a)
    bounds = [lo for lo, _ in _CF_BANDS[1:]] + [_ERFC_ZERO]
    for (lo, depth), hi in zip(_CF_BANDS, bounds):
        band = (a >= lo) & (a < hi)
        if band.any():
            out[band] = _erfc_fraction(a[band], depth)
    nan = np.isnan(a)
    out[nan] = np.nan
    return out


def _split(x):
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    small = a < _CF_BANDS[0][0]
    return x, a, small


def erf(x) -> np.ndarray:
    """The error function 2/sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise, float64."""
    x, a, small = _split(x)
    out = np.empty_like(x)
    out[small] = _erf_series(x[small])
    large = ~small
    out[large] = np.copysign(1.0 - _erfc_of_abs(a[large]), x[large])
    return out


def erfc(x) -> np.ndarray:
    """1 - erf(x), accurate in relative terms in the right tail, elementwise, float64."""
    x, a, small = _split(x)
    out = np.empty_like(x)
    out[small] = 1.0 - _erf_series(x[small])
    large = ~small
    tail = _erfc_of_abs(a[large])
    out[large] = np.where(x[large] > 0, tail, 2.0 - tail)
    return out


def normal_cdf(x) -> np.ndarray:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2 = erfc(-x / sqrt 2) / 2 (no cancellation for x < 0)."""
    return 0.5 * erfc(-np.asarray(x, dtype=np.float64) * _INV_SQRT2)


# --- relu / leaky relu / elu ---------------------------------------------------------------

def _contiguous(a):
    return np.ascontiguousarray(a)


def relu_forward(x):
    """y = max(x, 0); the gradient at 0 is 0 (as in Keras and PyTorch). The cache is y:
    y > 0 exactly where x > 0 (NaN stays NaN and passes no gradient)."""
    x = _contiguous(x)
    y = parallel.elementwise(lambda w, o, a: np.maximum(a, 0, out=o), np.empty_like(x), x)
    return y, y


def relu_backward(dy, y):
    dy = _contiguous(np.asarray(dy, dtype=y.dtype))

    def step(worker, out, g, yc):
        mask = parallel.scratch("relu_mask", yc.shape, bool)
        np.greater(yc, 0, out=mask)
        select(g, mask, out=out)

    step = backend.twin(step, "activations.relu_grad", dy, y)  # compiled: one pass
    return parallel.elementwise(step, np.empty_like(dy), dy, y)


def leaky_relu_forward(x, slope):
    """y = x for x > 0, slope * x otherwise."""
    positive = x > 0
    return np.where(positive, x, x * x.dtype.type(slope)), (positive, slope)


def leaky_relu_backward(dy, cache):
    positive, slope = cache
    return np.where(positive, dy, dy * dy.dtype.type(slope))


def elu_forward(x, alpha):
    """y = x for x >= 0, alpha * (exp(x) - 1) otherwise (expm1 keeps small x exact)."""
    alpha = x.dtype.type(alpha)
    negative = x < 0
    neg_part = alpha * np.expm1(np.minimum(x, 0))  # min: no exp overflow on the unused side
    y = np.where(negative, neg_part, x)
    return y, (negative, neg_part, alpha)


def elu_backward(dy, cache):
    negative, neg_part, alpha = cache
    # d/dx alpha*(e^x - 1) = alpha*e^x = y + alpha; slope 1 at x >= 0 (Keras/TensorFlow rule)
    return np.where(negative, dy * (neg_part + alpha), dy)


# --- sigmoid / tanh --------------------------------------------------------------------------

def sigmoid_forward(x):
    """1 / (1 + e^-x) written with e = exp(-|x|) <= 1, so it never overflows."""
    e = np.exp(-np.abs(x))
    inv = 1 / (1 + e)
    y = np.where(x >= 0, inv, e * inv)
    return y, y


def sigmoid_backward(dy, y):
    return dy * y * (1 - y)


def tanh_forward(x):
    x = _contiguous(x)
    y = parallel.elementwise(lambda w, o, a: np.tanh(a, out=o), np.empty_like(x), x)
    return y, y


def tanh_backward(dy, y):
    """dx = dy * (1 - y^2), chunk by chunk."""
    dy = _contiguous(np.asarray(dy, dtype=np.result_type(dy, y)))

    def step(worker, out, g, yc):
        np.multiply(yc, yc, out=out)
        np.subtract(1, out, out=out)
        out *= g

    step = backend.twin(step, "activations.tanh_grad", dy, y)  # compiled: one pass
    return parallel.elementwise(step, np.empty_like(dy), dy, y)


# --- softmax / log-softmax ----------------------------------------------------------------

def softmax_forward(x, axis):
    """exp(x - max) / sum exp(x - max) over ``axis``: the shift keeps exp <= 1."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    y = e / e.sum(axis=axis, keepdims=True)
    return y, (y, axis)


def softmax_backward(dy, cache):
    """dx = y * (dy - sum(dy * y)): the Jacobian diag(y) - y y^T applied to dy."""
    y, axis = cache
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))


def log_softmax_forward(x, axis):
    """x - max - log(sum exp(x - max)) over ``axis``."""
    shifted = x - x.max(axis=axis, keepdims=True)
    y = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return y, (y, axis)


def log_softmax_backward(dy, cache):
    """dx = dy - softmax * sum(dy), with softmax = exp(log_softmax)."""
    y, axis = cache
    return dy - np.exp(y) * dy.sum(axis=axis, keepdims=True)


# --- gelu ------------------------------------------------------------------------------------

def gelu_forward(x, approximate):
    """Exact: y = x * Phi(x). Approximate: y = x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate:
        with np.errstate(over="ignore"):  # x^3 may overflow to +-inf: tanh saturates to +-1
            t = np.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * (x * x * x)))
        return 0.5 * x * (1 + t), (x, t, True)
    cdf = normal_cdf(x)
    y = (x * cdf).astype(x.dtype, copy=False)
    return y, (x, cdf, False)


def gelu_backward(dy, cache):
    x, c, approximate = cache
    if approximate:
        t = c
        # d/dx = (1 + t)/2 + x/2 (1 - t^2) sqrt(2/pi) (1 + 3*0.044715 x^2); 1 - t^2 = (1-t)(1+t)
        sech2 = (1 - t) * (1 + t)
        with np.errstate(over="ignore", invalid="ignore"):
            slope = x * sech2 * (_SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * (x * x)))
        slope = np.where(sech2 == 0, 0, slope)  # saturated: 0 * inf would be NaN
        return dy * (0.5 * (1 + t) + 0.5 * slope)
    # d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi)
    x64 = x.astype(np.float64, copy=False)
    pdf = _exp_neg_square(x64 * _INV_SQRT2) * _INV_SQRT_2PI
    return dy * (c + x64 * pdf).astype(x.dtype, copy=False)
