"""Losses: the three-way proof for every path and reduction, stability, label checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op
from reference import nn as ref
from stridenet.ops import losses as L

REDUCTIONS = ["mean", "sum", "none"]


def _probs(rng, shape, axis=-1):
    z = rng.standard_normal(shape)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("shape,axis", [((5, 4), -1), ((3, 2, 4), -1), ((3, 4, 2), 1), ((4,), 0)])
def test_sparse_categorical_three_ways(reduction, from_logits, shape, axis):
    rng = np.random.default_rng(len(shape) + axis)
    c = shape[axis]
    y_pred = rng.standard_normal(shape) * 2 if from_logits else _probs(rng, shape, axis)
    batch = tuple(s for i, s in enumerate(shape) if i != axis % len(shape))
    labels = rng.integers(0, c, batch)

    def op(t, p):
        return L.sparse_categorical_crossentropy(t, p, from_logits=from_logits, axis=axis,
                                                 reduction=reduction)

    def naive(t, p):
        return ref.sparse_categorical_crossentropy(t, p, from_logits, axis, reduction)

    check_op(op, naive, [labels, y_pred], grad_indices=[1])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("shape,axis", [((5, 4), -1), ((2, 3, 3), 1)])
def test_categorical_three_ways(reduction, from_logits, smoothing, shape, axis):
    rng = np.random.default_rng(len(shape))
    y_pred = rng.standard_normal(shape) * 2 if from_logits else _probs(rng, shape, axis)
    targets = _probs(rng, shape, axis)  # soft targets: the general formula

    def op(t, p):
        return L.categorical_crossentropy(t, p, from_logits=from_logits,
                                          label_smoothing=smoothing, axis=axis,
                                          reduction=reduction)

    def naive(t, p):
        return ref.categorical_crossentropy(t, p, from_logits, smoothing, axis, reduction)

    check_op(op, naive, [targets, y_pred], grad_indices=[1])


def test_categorical_from_probabilities_renormalises_rows_as_keras():
    p = np.array([[2.0, 1.0, 1.0]])  # not a distribution: Keras divides by the row sum first
    loss = L.categorical_crossentropy(np.array([[1.0, 0, 0]]), p).item()
    assert loss == pytest.approx(-math.log(0.5), rel=1e-14)
    rng = np.random.default_rng(0)
    p = rng.uniform(0.1, 1, (4, 3))
    check_op(lambda t, q: L.categorical_crossentropy(t, q), ref.categorical_crossentropy,
             [np.eye(3)[[0, 1, 2, 1]], p], grad_indices=[1])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("shape", [(6, 1), (4, 3), (2, 3, 2)])
def test_binary_three_ways(reduction, from_logits, shape):
    rng = np.random.default_rng(len(shape))
    y_pred = rng.standard_normal(shape) * 3 if from_logits else rng.uniform(0.05, 0.95, shape)
    targets = rng.uniform(0, 1, shape)

    def op(t, p):
        return L.binary_crossentropy(t, p, from_logits=from_logits, reduction=reduction)

    check_op(op, lambda t, p: ref.binary_crossentropy(t, p, from_logits, reduction),
             [targets, y_pred], grad_indices=[1])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5, 1), (4, 3), (2, 3, 2)])
def test_mse_three_ways(reduction, shape):
    rng = np.random.default_rng(len(shape))
    targets, y_pred = rng.standard_normal(shape), rng.standard_normal(shape)
    check_op(lambda t, p: L.mean_squared_error(t, p, reduction=reduction),
             lambda t, p: ref.mean_squared_error(t, p, reduction), [targets, y_pred],
             grad_indices=[1])


def test_reductions_relate():
    rng = np.random.default_rng(1)
    z, y = rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    per = L.sparse_categorical_crossentropy(y, z, from_logits=True, reduction="none").numpy()
    assert per.shape == (6,)
    total = L.sparse_categorical_crossentropy(y, z, from_logits=True, reduction="sum").item()
    mean = L.sparse_categorical_crossentropy(y, z, from_logits=True).item()
    assert total == pytest.approx(per.sum(), rel=1e-14)
    assert mean == pytest.approx(per.mean(), rel=1e-14)
    # Keras's name for the mean works too
    assert L.mean_squared_error(z, z * 2, reduction="sum_over_batch_size").item() == \
        pytest.approx((z ** 2).mean(), rel=1e-14)
    assert L.binary_crossentropy(np.ones((6, 5)), z, from_logits=True,
                                 reduction="none").shape == (6,)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_from_logits_stable_at_1e4(dtype):
    z = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0], [0.0, 0.0, 0.0]], dtype)
    labels = np.array([0, 0, 2])
    t = sn.Tensor(z, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = L.sparse_categorical_crossentropy(labels, t, from_logits=True, reduction="none")
        loss.backward(np.ones(3, dtype))
    assert loss.dtype == dtype
    # right: ~0; wrong by 2e4: 2e4; uniform: log 3
    np.testing.assert_allclose(loss.numpy(), [0.0, 2e4, math.log(3)], rtol=1e-6)
    expect = np.array([[0, 0, 0], [-1, 1, 0], [1 / 3, 1 / 3, -2 / 3]])  # softmax - onehot
    np.testing.assert_allclose(t.grad, expect, atol=1e-6)
    cat = L.categorical_crossentropy(np.eye(3)[labels], z, from_logits=True, reduction="none")
    np.testing.assert_allclose(cat.numpy(), loss.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_from_logits_stable_at_1e4(dtype):
    z = sn.Tensor(np.array([[1e4, -1e4, 1e4, 0.0]], dtype), requires_grad=True)
    targets = np.array([[1.0, 0.0, 0.0, 1.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = L.binary_crossentropy(targets, z, from_logits=True, reduction="sum")
        loss.backward()
    assert loss.item() == pytest.approx((1e4 + math.log(2)) / 4, rel=1e-6)
    np.testing.assert_allclose(z.grad, [[0, 0, 0.25, -0.125]], atol=1e-7)


def test_probability_clip_as_keras():
    # p = 0 for the true class is clipped to 1e-7: loss -log(1e-7), and no gradient
    p = sn.Tensor(np.array([[0.0, 1.0]]), requires_grad=True)
    loss = L.sparse_categorical_crossentropy([0], p)
    assert loss.item() == pytest.approx(-math.log(1e-7), rel=1e-12)
    loss.backward()
    assert np.all(np.isfinite(p.grad))
    bce = L.binary_crossentropy(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
    assert bce.item() == pytest.approx(-math.log(1e-7), rel=1e-9)


def test_losses_from_float32_are_float32_and_targets_get_no_gradient():
    z = sn.Tensor(np.zeros((3, 4), np.float32), requires_grad=True)
    t = sn.Tensor(np.eye(4, dtype=np.float32)[[0, 1, 2]], requires_grad=True)
    loss = L.categorical_crossentropy(t, z, from_logits=True)
    loss.backward()
    assert loss.dtype == np.float32 and z.grad.dtype == np.float32 and t.grad is None


def test_keras_label_and_target_shapes():
    z = np.random.default_rng(2).standard_normal((4, 3))
    a = L.sparse_categorical_crossentropy(np.array([[0], [1], [2], [0]]), z, from_logits=True)
    b = L.sparse_categorical_crossentropy(np.array([0, 1, 2, 0]), z, from_logits=True)
    c = L.sparse_categorical_crossentropy(np.array([0.0, 1.0, 2.0, 0.0]), z, from_logits=True)
    assert a.item() == b.item() == c.item()
    p = np.random.default_rng(3).uniform(0.1, 0.9, (4, 1))
    y = np.array([1.0, 0.0, 1.0, 1.0])
    assert L.binary_crossentropy(y, p).item() == L.binary_crossentropy(y[:, None], p).item()
    assert L.mean_squared_error(y, p).item() == L.mean_squared_error(y[:, None], p).item()


def test_label_checks():
    z = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\).*\[0, 3\]"):
        L.sparse_categorical_crossentropy([0, 1, 2, 3], z)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\).*\[-1, 2\]"):
        L.sparse_categorical_crossentropy([0, 1, 2, -1], z, from_logits=True)
    with pytest.raises(ValueError, match="integer class labels"):
        L.sparse_categorical_crossentropy([0, 1.5, 2, 0], z)
    with pytest.raises(ValueError, match="integer class labels"):
        L.sparse_categorical_crossentropy([0, np.nan, 2, 0], z)
    with pytest.raises(ValueError, match=r"y_true shape \(3,\) must equal .*\(4,\)"):
        L.sparse_categorical_crossentropy([0, 1, 2], z)
    with pytest.raises(TypeError, match="y_true must hold real numbers"):
        L.sparse_categorical_crossentropy(np.array(["a"] * 4), z)


def test_shape_and_argument_checks():
    z = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"y_true shape \(4, 2\) does not match y_pred .*\(4, 3\)"):
        L.categorical_crossentropy(np.zeros((4, 2)), z)
    with pytest.raises(ValueError, match=r"y_true shape \(4, 2\) does not match"):
        L.binary_crossentropy(np.zeros((4, 2)), z)
    with pytest.raises(ValueError, match=r"y_true shape \(3, 3\) does not match"):
        L.mean_squared_error(np.zeros((3, 3)), z)
    with pytest.raises(ValueError, match="reduction must be one of"):
        L.mean_squared_error(z, z, reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be <= 1"):
        L.categorical_crossentropy(z, z, label_smoothing=2.0)
    with pytest.raises(ValueError, match=r"axis 2 is out of range for y_pred of shape \(4, 3\)"):
        L.categorical_crossentropy(z, z, axis=2)
    with pytest.raises(TypeError, match="y_pred must hold real numbers"):
        L.binary_crossentropy(z, np.array([["a"] * 3] * 4))


def test_evaluation_uses_the_logits_behind_a_softmax_as_training_does():
    """With confident wrong predictions the probabilities round to 0: the loss must come
    from the logits both under the tape (training) and without it (evaluate, val_loss)."""
    model = sn.Sequential([sn.layers.Input((2,)), sn.layers.Dense(3, activation="softmax")])
    model.set_weights([np.array([[60.0, 0, 0], [0, 0, 0]], np.float32),
                       np.zeros(3, np.float32)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = np.array([[2.0, 0.0]], np.float32), np.array([2])
    taped = float(model.loss(y, model(sn.Tensor(x), training=True)).numpy())
    with sn.no_grad():
        untaped = float(model.loss(y, model(x)).numpy())
    assert taped == pytest.approx(120.0, rel=1e-5)  # -log softmax = 120 - 0, from the logits
    assert untaped == pytest.approx(taped, rel=1e-6)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(taped, rel=1e-6)
