"""batch_norm: training-mode and inference-mode proofs, moving statistics, input checks."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op
from reference import nn as ref
from stridenet.ops.normalization import batch_norm

pytestmark = pytest.mark.usefixtures("kernel_path")  # every test on both kernel paths

CASES = [((6, 3), -1), ((2, 3, 3, 4), -1), ((4, 3, 5), 1), ((3, 2, 2, 3), 0), ((5, 2), 0)]


def _params(rng, c):
    return rng.standard_normal(c), rng.standard_normal(c)


@pytest.mark.parametrize("shape,axis", CASES)
def test_training_mode_three_ways(shape, axis):
    rng = np.random.default_rng(len(shape))
    c = shape[axis]
    x = rng.standard_normal(shape) * 2 + 1
    gamma, beta = _params(rng, c)

    def op(a, g, b):
        return batch_norm(a, g, b, np.zeros(c), np.ones(c), training=True, epsilon=1e-3,
                          axis=axis)

    check_op(op, lambda a, g, b: ref.batch_norm_train(a, g, b, 1e-3, axis), [x, gamma, beta])


@pytest.mark.parametrize("center,scale", [(False, True), (True, False), (False, False)])
def test_training_mode_without_gamma_or_beta(center, scale):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3))
    gamma, beta = _params(rng, 3)
    arrays = [x, gamma if scale else None, beta if center else None]

    def op(a, g, b):
        return batch_norm(a, g, b, np.zeros(3), np.ones(3), training=True)

    check_op(op, lambda a, g, b: ref.batch_norm_train(a, g, b, 1e-3), arrays)


@pytest.mark.parametrize("shape,axis", CASES)
def test_inference_mode_three_ways(shape, axis):
    rng = np.random.default_rng(10 + len(shape))
    c = shape[axis]
    x = rng.standard_normal(shape)
    gamma, beta = _params(rng, c)
    mean, var = rng.standard_normal(c), rng.uniform(0.5, 2, c)

    def op(a, g, b):
        return batch_norm(a, g, b, mean, var, training=False, epsilon=1e-2, axis=axis)

    check_op(op, lambda a, g, b: ref.batch_norm(a, g, b, mean, var, 1e-2, axis),
             [x, gamma, beta])


def test_training_gradient_formula():
    # dx = gamma / sigma * (dy - mean(dy) - xhat * mean(dy * xhat)), per channel
    rng = np.random.default_rng(5)
    x = sn.Tensor(rng.standard_normal((8, 3)), requires_grad=True)
    g = sn.Tensor(rng.standard_normal(3), requires_grad=True)
    b = sn.Tensor(rng.standard_normal(3), requires_grad=True)
    dy = rng.standard_normal((8, 3))
    batch_norm(x, g, b, np.zeros(3), np.ones(3), training=True, epsilon=1e-3).backward(dy)
    mu, var = x.data.mean(0), x.data.var(0)
    sigma = np.sqrt(var + 1e-3)
    xhat = (x.data - mu) / sigma
    expect = g.data / sigma * (dy - dy.mean(0) - xhat * (dy * xhat).mean(0))
    np.testing.assert_allclose(x.grad, expect, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g.grad, (dy * xhat).sum(0), rtol=1e-12)
    np.testing.assert_allclose(b.grad, dy.sum(0), rtol=1e-12)


def test_training_output_is_normalised():
    x = np.random.default_rng(6).standard_normal((200, 4)) * 5 + 3
    y = batch_norm(x, None, None, np.zeros(4), np.ones(4), training=True, epsilon=1e-8).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(0), 1, rtol=1e-6)


@pytest.mark.parametrize("as_tensor", [False, True])
def test_moving_statistics_follow_the_keras_formula(as_tensor):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 3, 4)) * 2 + 1
    mm0, mv0 = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    mm, mv = mm0.copy(), mv0.copy()
    mm_arg, mv_arg = (sn.Tensor(mm), sn.Tensor(mv)) if as_tensor else (mm, mv)
    batch_norm(x, np.ones(4), np.zeros(4), mm_arg, mv_arg, training=True, momentum=0.9)
    if as_tensor:
        mm, mv = mm_arg.data, mv_arg.data
    batch_mean, batch_var = ref.batch_stats(x)  # biased variance, as Keras uses
    np.testing.assert_allclose(mm, mm0 * 0.9 + batch_mean * 0.1, rtol=1e-13)
    np.testing.assert_allclose(mv, mv0 * 0.9 + batch_var * 0.1, rtol=1e-13)
    # and not the unbiased one
    n = x.size // 4
    assert not np.allclose(mv, mv0 * 0.9 + batch_var * n / (n - 1) * 0.1, rtol=1e-6)


def test_moving_statistics_float32_variables_with_float64_input():
    mm, mv = np.zeros(2, np.float32), np.ones(2, np.float32)
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    batch_norm(x, None, None, mm, mv, training=True, momentum=0.5)
    assert mm.dtype == np.float32
    np.testing.assert_allclose(mm, [1.0, 2.0], rtol=1e-7)  # 0.5 * 0 + 0.5 * mean
    np.testing.assert_allclose(mv, [1.0, 2.5], rtol=1e-7)  # 0.5 * 1 + 0.5 * var


def test_inference_leaves_moving_statistics_alone_and_matches_training_limit():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((50, 3)) * 2 - 1
    mm, mv = np.zeros(3), np.ones(3)
    y_train = batch_norm(x, None, None, mm, mv, training=True, momentum=0.0).numpy()
    before = (mm.copy(), mv.copy())
    y_infer = batch_norm(x, None, None, mm, mv, training=False).numpy()
    np.testing.assert_array_equal(mm, before[0])
    np.testing.assert_array_equal(mv, before[1])
    # momentum 0 stores exactly this batch's statistics, so inference reproduces training
    np.testing.assert_allclose(y_infer, y_train, rtol=1e-12, atol=1e-12)


def test_float32_stays_float32():
    x = np.random.default_rng(9).standard_normal((16, 8, 8, 4)).astype(np.float32)
    g = sn.Tensor(np.ones(4, np.float32), requires_grad=True)
    xt = sn.Tensor(x, requires_grad=True)
    y = batch_norm(xt, g, np.zeros(4, np.float32), np.zeros(4, np.float32),
                   np.ones(4, np.float32), training=True)
    y.backward(np.ones_like(x))
    assert y.dtype == xt.grad.dtype == g.grad.dtype == np.float32


def test_batch_norm_input_checks():
    x = np.ones((4, 3))
    ok = dict(moving_mean=np.zeros(3), moving_variance=np.ones(3))
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\)"):
        batch_norm(x, np.ones(2), None, **ok)
    with pytest.raises(ValueError, match=r"beta must have shape \(3,\)"):
        batch_norm(x, None, np.ones((3, 1)), **ok)
    with pytest.raises(ValueError, match=r"moving_mean must have shape \(3,\)"):
        batch_norm(x, None, None, np.zeros(4), np.ones(3))
    with pytest.raises(ValueError, match=r"moving_variance must have shape \(3,\)"):
        batch_norm(x, None, None, np.zeros(3), np.ones(2), training=True)
    with pytest.raises(TypeError, match="moving_mean must be an ndarray or a Tensor"):
        batch_norm(x, None, None, [0.0, 0.0, 0.0], np.ones(3), training=True)
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        batch_norm(x, None, None, epsilon=0.0, **ok)
    with pytest.raises(ValueError, match="epsilon must be finite"):
        batch_norm(x, None, None, epsilon=float("nan"), **ok)
    with pytest.raises(ValueError, match="momentum must be <= 1"):
        batch_norm(x, None, None, momentum=1.5, **ok)
    with pytest.raises(ValueError, match="momentum must be finite"):
        batch_norm(x, None, None, momentum=float("inf"), **ok)
    with pytest.raises(ValueError, match=r"axis 2 is out of range.*\(4, 3\)"):
        batch_norm(x, None, None, axis=2, **ok)
    with pytest.raises(ValueError, match="non-empty batch"):
        batch_norm(np.ones((0, 3)), None, None, training=True, **ok)
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="moving_mean is read-only"):
        batch_norm(x, None, None, frozen, np.ones(3), training=True)


@pytest.mark.parametrize("training", [True, False])
def test_many_chunks_on_several_workers(monkeypatch, training):
    """Rows split into many chunks (per-channel sums added across workers) change nothing."""
    from stridenet.ops.kernels import batchnorm as kernel

    monkeypatch.setattr(kernel, "_ROW_BYTES", 64)  # two rows of 8 channels per chunk
    rng = np.random.default_rng(5)
    x, gamma, beta = rng.standard_normal((3, 5, 4, 8)), rng.standard_normal(8), \
        rng.standard_normal(8)
    mean, var = rng.standard_normal(8), rng.random(8) + 0.5

    def op(a, g, b):
        return batch_norm(a, g, b, mean.copy(), var.copy(), training=training, epsilon=1e-3)

    def naive(a, g, b):
        if training:
            return ref.batch_norm_train(a, g, b, 1e-3, -1)
        return ref.batch_norm(a, g, b, mean, var, 1e-3, -1)

    check_op(op, naive, [x, gamma, beta])


def test_float32_statistics_stay_accurate_far_from_zero():
    """Values around 1000 with unit spread: the variance must not cancel away in float32."""
    rng = np.random.default_rng(6)
    x = (1000 + rng.standard_normal((64, 8, 8, 4))).astype(np.float32)
    y = batch_norm(x, None, None, np.zeros(4, np.float32), np.ones(4, np.float32),
                   training=True, epsilon=1e-6).numpy()
    want = ref.batch_norm_train(x.astype(np.float64), None, None, 1e-6, -1)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, want, atol=2e-3)
    np.testing.assert_allclose(y.reshape(-1, 4).std(0), 1, atol=1e-3)
