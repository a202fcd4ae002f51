"""dense: the three-way proof over several shapes, dtypes and input checks."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op
from reference import nn as ref
from stridenet.ops.dense import dense


@pytest.mark.parametrize("lead", [(), (1,), (4,), (2, 3), (2, 1, 3)])
@pytest.mark.parametrize("units", [1, 5])
def test_dense_three_ways(lead, units):
    rng = np.random.default_rng(len(lead) * 10 + units)
    x = rng.standard_normal(lead + (3,))
    w, b = rng.standard_normal((3, units)), rng.standard_normal(units)
    check_op(dense, ref.dense, [x, w, b])


def test_dense_without_bias():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((4, 6)), rng.standard_normal((6, 2))
    check_op(lambda a, k: dense(a, k), ref.dense, [x, w])


def test_dense_gradients_are_the_matrix_products():
    rng = np.random.default_rng(2)
    x = sn.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = sn.Tensor(rng.standard_normal((4, 5)), requires_grad=True)
    b = sn.Tensor(rng.standard_normal(5), requires_grad=True)
    dy = rng.standard_normal((2, 3, 5))
    dense(x, w, b).backward(dy)
    np.testing.assert_allclose(x.grad, dy @ w.data.T, rtol=1e-12)
    np.testing.assert_allclose(w.grad, np.einsum("nti,ntu->iu", x.data, dy), rtol=1e-12)
    np.testing.assert_allclose(b.grad, dy.sum(axis=(0, 1)), rtol=1e-12)


def test_dense_keeps_float32_and_ints_become_float32():
    x = np.ones((2, 3), np.float32)
    assert dense(x, np.ones((3, 4), np.float32)).dtype == np.float32
    assert dense(np.ones((2, 3), int), np.ones((3, 4), int)).dtype == np.float32


def test_dense_only_needed_gradients():
    x = sn.Tensor(np.ones((2, 3)))
    w = sn.Tensor(np.ones((3, 4)), requires_grad=True)
    dense(x, w).sum().backward()
    assert x.grad is None and w.grad.shape == (3, 4)


def test_dense_input_checks():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"kernel \(4, 2\) expects 4 input features.*\(2, 3\)"):
        dense(x, np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"kernel must have shape \(I, U\)"):
        dense(x, np.ones(3))
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        dense(x, np.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match="x must have shape"):
        dense(np.float64(1.0), np.ones((1, 1)))
    with pytest.raises(TypeError, match="x must hold real numbers"):
        dense(np.array(["a"]), np.ones((1, 1)))
