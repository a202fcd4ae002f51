"""3D pooling: the three-way proof, tie and padding rules, shapes, global pooling, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op
from reference.pool3d import pool3d as ref_pool3d
from stridenet.ops.kernels.geometry import as_tuple, resolve_padding

POOL3D_CONFIGS = list(itertools.product(
    [2, (2, 3, 2)],  # pool_size
    [None, 1, (1, 2, 2)],  # strides
    ["valid", "same", ((1, 0), (0, 1), (1, 1))],  # padding
    [False, True],  # ceil_mode
))


def _distinct(rng, shape):
    """Values without ties, so the max gradient is unambiguous for finite differences."""
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.1 + rng.uniform(0, 0.01, shape)


@pytest.mark.parametrize("pool,strides,padding,ceil_mode", POOL3D_CONFIGS)
def test_max_pool3d_three_way(pool, strides, padding, ceil_mode):
    rng = np.random.default_rng(len(str((pool, strides, padding, ceil_mode))))
    x = _distinct(rng, (2, 4, 5, 4, 2))
    pt = as_tuple(pool, 3, "pool")
    st = pt if strides is None else as_tuple(strides, 3, "strides")
    pads = resolve_padding(padding, (4, 5, 4), pt, st, (1, 1, 1))
    check_op(lambda x: sn.ops.max_pool3d(x, pool, strides, padding, ceil_mode),
             lambda x: ref_pool3d(x, "max", pt, st, pads, ceil_mode), [x])


@pytest.mark.parametrize("pool,strides,padding,ceil_mode", POOL3D_CONFIGS)
@pytest.mark.parametrize("count_include_pad", [False, True])
def test_avg_pool3d_three_way(pool, strides, padding, ceil_mode, count_include_pad):
    rng = np.random.default_rng(len(str((pool, strides, padding, ceil_mode))))
    x = rng.standard_normal((2, 4, 5, 4, 2))
    pt = as_tuple(pool, 3, "pool")
    st = pt if strides is None else as_tuple(strides, 3, "strides")
    pads = resolve_padding(padding, (4, 5, 4), pt, st, (1, 1, 1))
    check_op(lambda x: sn.ops.avg_pool3d(x, pool, strides, padding, count_include_pad,
                                         ceil_mode),
             lambda x: ref_pool3d(x, "avg", pt, st, pads, ceil_mode, count_include_pad), [x])


def test_max_pool3d_gradient_goes_to_the_first_maximum_in_dhw_order():
    x = np.zeros((1, 2, 2, 2, 1))
    x[0, 1, 0, 0, 0] = x[0, 0, 1, 1, 0] = x[0, 1, 1, 0, 0] = 5.0  # three tied maxima
    t = sn.Tensor(x, requires_grad=True)
    sn.ops.max_pool3d(t, 2).backward(np.ones((1, 1, 1, 1, 1)))
    expected = np.zeros_like(x)
    expected[0, 0, 1, 1, 0] = 1  # (0, 1, 1) comes first in (d, h, w) order
    np.testing.assert_array_equal(t.grad, expected)


def test_padding_is_never_the_max_and_same_averages_real_cells():
    x = -np.ones((1, 3, 3, 3, 1))
    np.testing.assert_array_equal(sn.ops.max_pool3d(x, 2, padding="same").numpy(), -1)
    np.testing.assert_array_equal(sn.ops.avg_pool3d(x, 2, padding="same").numpy(), -1)


def test_shapes_keras_defaults_and_float32():
    x = np.ones((2, 16, 32, 32, 3), np.float32)
    y = sn.ops.max_pool3d(x, 2)
    assert y.shape == (2, 8, 16, 16, 3) and y.numpy().dtype == np.float32
    assert sn.ops.avg_pool3d(x, (1, 2, 2)).shape == (2, 16, 16, 16, 3)
    assert sn.ops.max_pool3d(x[:, :5], 2, padding="same").shape == (2, 3, 16, 16, 3)
    assert sn.ops.max_pool3d(x[:, :5], 2, ceil_mode=True).shape == (2, 3, 16, 16, 3)


def test_global_pool3d():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5, 6))
    np.testing.assert_allclose(sn.ops.global_avg_pool3d(x).numpy(), x.mean(axis=(1, 2, 3)))
    np.testing.assert_allclose(sn.ops.global_max_pool3d(x).numpy(), x.max(axis=(1, 2, 3)))
    assert sn.ops.global_avg_pool3d(x, keepdims=True).shape == (2, 1, 1, 1, 6)
    assert sn.ops.global_max_pool3d(x, keepdims=True).shape == (2, 1, 1, 1, 6)
    check_op(lambda x: sn.ops.global_avg_pool3d(x), lambda x: x.mean(axis=(1, 2, 3)), [x])


@pytest.mark.parametrize("call,match", [
    (lambda: sn.ops.max_pool3d(np.zeros((1, 4, 4, 3)), 2),
     r"x must have shape \(N, D, H, W, C\), got shape \(1, 4, 4, 3\)"),
    (lambda: sn.ops.avg_pool3d(np.zeros((1, 1, 4, 4, 3)), 2),
     r"pooling window \(2 cells\) is larger than the padded input \(1 cells\)"),
    (lambda: sn.ops.max_pool3d(np.zeros((1, 4, 4, 4, 3)), (2, 2)),
     r"pool_size must be a positive int or 3 positive ints"),
    (lambda: sn.ops.avg_pool3d(np.zeros((1, 4, 4, 4, 3)), 2, padding=2),
     r"leaves a pooling window with no input cell"),
    (lambda: sn.ops.global_max_pool3d(np.zeros((1, 4, 4, 3))),
     r"x must have shape \(N, D, H, W, C\)"),
])
def test_pool3d_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
