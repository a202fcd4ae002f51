"""Upsampling: SPEC section 6 example, the three-way proof, the bilinear rule, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op
from reference import resize as ref


def test_spec_nearest_repeats():
    y = sn.ops.upsample1d(np.array([0.0, 1.0, 2.0])[None, :, None])
    np.testing.assert_array_equal(y.numpy()[0, :, 0], [0, 0, 1, 1, 2, 2])


@pytest.mark.parametrize("size", [1, 2, 3])
def test_upsample1d_three_way(size):
    x = np.random.default_rng(size).standard_normal((2, 5, 3))
    check_op(lambda x: sn.ops.upsample1d(x, size), lambda x: ref.nearest(x, (size,)), [x])


@pytest.mark.parametrize("size", [2, (1, 3), (3, 2)])
def test_upsample2d_nearest_three_way(size):
    x = np.random.default_rng(4).standard_normal((2, 3, 4, 2))
    sizes = (size, size) if isinstance(size, int) else size
    check_op(lambda x: sn.ops.upsample2d(x, size), lambda x: ref.nearest(x, sizes), [x])


@pytest.mark.parametrize("size", [(2, 2), (1, 3), (3, 2), (4, 1), (5, 5)])
@pytest.mark.parametrize("h,w", [(1, 1), (3, 4), (1, 5)])
def test_upsample2d_bilinear_three_way(size, h, w):
    x = np.random.default_rng(h * 10 + w).standard_normal((2, h, w, 2))
    check_op(lambda x: sn.ops.upsample2d(x, size, interpolation="bilinear"),
             lambda x: ref.bilinear(x, size), [x])


@pytest.mark.parametrize("size", [2, (1, 2, 3)])
def test_upsample3d_three_way(size):
    x = np.random.default_rng(7).standard_normal((2, 2, 3, 2, 2))
    sizes = (size,) * 3 if isinstance(size, int) else size
    check_op(lambda x: sn.ops.upsample3d(x, size), lambda x: ref.nearest(x, sizes), [x])


def test_bilinear_by_two_in_numbers():
    """Half-pixel centres by 2: the outputs sample 1/4 and 3/4 between inputs, edges
    clamped -- [0, 4] -> [0, 1, 3, 4] along each axis."""
    y = sn.ops.upsample2d(np.array([[0.0, 4.0]])[None, :, :, None], interpolation="BILINEAR")
    np.testing.assert_allclose(y.numpy()[0, :, :, 0], [[0, 1, 3, 4]] * 2)


def test_float32_and_shapes():
    x = np.ones((2, 4, 5, 3), np.float32)
    for mode in ("nearest", "bilinear"):
        y = sn.ops.upsample2d(x, (2, 3), mode)
        assert y.shape == (2, 8, 15, 3) and y.numpy().dtype == np.float32
        np.testing.assert_array_equal(y.numpy(), 1)
    assert sn.ops.upsample3d(np.ones((1, 2, 3, 4, 5))).shape == (1, 4, 6, 8, 5)


@pytest.mark.parametrize("call,match", [
    (lambda: sn.ops.upsample2d(np.zeros((1, 4, 4, 3)), interpolation="area"),
     r"interpolation must be 'nearest' or 'bilinear', got 'area'; x has shape \(1, 4, 4, 3\)"),
    (lambda: sn.ops.upsample2d(np.zeros((1, 4, 4, 3)), interpolation="bicubic"),
     r"got 'bicubic' \(Keras also has it, stridenet does not\)"),
    (lambda: sn.ops.upsample3d(np.zeros((1, 4, 4, 3))),
     r"x must have shape \(N, D, H, W, C\), got shape \(1, 4, 4, 3\)"),
    (lambda: sn.ops.upsample1d(np.zeros((1, 4, 3)), 0), r"size must be positive"),
    (lambda: sn.ops.upsample2d(np.zeros((1, 4, 4, 3)), (2, 2, 2)),
     r"size must be a positive int or 2 positive ints"),
])
def test_upsampling_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
