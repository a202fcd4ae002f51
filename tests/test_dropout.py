"""dropout: determinism by seed, identity cases, keep fraction, scaling, gradient, checks."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op
from reference import nn as ref
from stridenet import seeding
from stridenet.ops.dropout import dropout


def _mask(shape, rate, seed):
    """The 0/1 mask the op draws for ``seed``, read back from dropout of ones."""
    return dropout(np.ones(shape), rate, seed=seed).numpy() * (1 - rate)


@pytest.mark.parametrize("shape", [(10,), (4, 5), (2, 3, 4)])
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_three_ways(shape, rate):
    x = np.random.default_rng(0).standard_normal(shape)
    keep = _mask(shape, rate, 11)
    assert set(np.unique(keep)) <= {0.0, 1.0}
    check_op(lambda a: dropout(a, rate, seed=11), lambda a: ref.dropout(a, keep, rate), [x])


def test_same_seed_same_mask_bit_for_bit():
    x = np.random.default_rng(1).standard_normal((50, 40)).astype(np.float32)
    a = dropout(x, 0.3, seed=123).numpy()
    b = dropout(x, 0.3, seed=123).numpy()
    assert a.tobytes() == b.tobytes()
    c = dropout(x, 0.3, seed=np.random.default_rng(123)).numpy()
    assert a.tobytes() == c.tobytes()
    assert not np.array_equal(a, dropout(x, 0.3, seed=124).numpy())


def test_global_generator_is_reproducible_after_reseeding():
    x = np.ones((30, 30))
    seeding.set_global_seed(7)
    a = dropout(x, 0.5).numpy()
    b = dropout(x, 0.5).numpy()
    seeding.set_global_seed(7)
    assert np.array_equal(dropout(x, 0.5).numpy(), a)
    assert not np.array_equal(a, b)  # the stream moves on between calls


def test_a_generator_advances_between_calls():
    rng = np.random.default_rng(3)
    x = np.ones((20, 20))
    assert not np.array_equal(dropout(x, 0.5, seed=rng).numpy(), dropout(x, 0.5, seed=rng).numpy())


@pytest.mark.parametrize("kwargs", [{"rate": 0.0}, {"rate": 0.5, "training": False}])
def test_identity_cases(kwargs):
    t = sn.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert dropout(t, **kwargs) is t
    y = dropout(np.arange(6.0), **kwargs)
    assert isinstance(y, sn.Tensor) and y.numpy().tolist() == list(range(6))


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.9])
def test_keep_fraction_and_scaling(rate):
    x = np.full((400, 500), 3.0, np.float32)
    y = dropout(x, rate, seed=5).numpy()
    assert y.dtype == np.float32
    kept = y != 0
    # 200,000 Bernoulli draws: the kept fraction is within 5 standard deviations of 1 - rate
    sd = np.sqrt(rate * (1 - rate) / x.size)
    assert abs(kept.mean() - (1 - rate)) < 5 * sd
    np.testing.assert_allclose(y[kept], 3.0 / (1 - rate), rtol=1e-6)
    assert abs(y.mean() - 3.0) < 3.0 * 5 * sd / (1 - rate)  # unbiased in expectation


def test_gradient_is_mask_over_keep_probability():
    rate = 0.4
    x = sn.Tensor(np.random.default_rng(2).standard_normal((6, 7)), requires_grad=True)
    dy = np.random.default_rng(3).standard_normal((6, 7))
    dropout(x, rate, seed=9).backward(dy)
    keep = _mask((6, 7), rate, 9)
    np.testing.assert_allclose(x.grad, dy * keep / (1 - rate), rtol=1e-15)
    assert 0 < keep.sum() < keep.size


def test_dropout_input_checks():
    x = np.ones(3)
    for bad in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="rate must be"):
            dropout(x, bad)
    with pytest.raises(ValueError, match="rate must be finite"):
        dropout(x, float("nan"))
    with pytest.raises(TypeError, match="rate must be a real number"):
        dropout(x, "0.5")
    with pytest.raises(ValueError, match="seed must be"):
        dropout(x, 0.5, seed=-1)
    with pytest.raises(TypeError, match="x must hold real numbers"):
        dropout(np.array(["a"]), 0.5)
