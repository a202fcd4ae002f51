"""Cropping 1D/2D/3D and 3D zero padding: Keras argument forms, the three-way proof, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op
from reference import crop as ref


@pytest.mark.parametrize("cropping,crops", [(1, ((1, 1),)), ((0, 2), ((0, 2),)),
                                            ((2, 1), ((2, 1),))])
def test_crop1d_three_way(cropping, crops):
    x = np.random.default_rng(0).standard_normal((2, 6, 3))
    check_op(lambda x: sn.ops.crop1d(x, cropping), lambda x: ref.crop(x, crops), [x])


@pytest.mark.parametrize("cropping,crops", [
    (1, ((1, 1), (1, 1))), ((1, 0), ((1, 1), (0, 0))), (((0, 2), (1, 0)), ((0, 2), (1, 0)))])
def test_crop2d_three_way(cropping, crops):
    x = np.random.default_rng(1).standard_normal((2, 5, 4, 2))
    check_op(lambda x: sn.ops.crop2d(x, cropping), lambda x: ref.crop(x, crops), [x])


@pytest.mark.parametrize("cropping,crops", [
    (((1, 1), (1, 1), (1, 1)), ((1, 1), (1, 1), (1, 1))), ((0, 1, 2), ((0, 0), (1, 1), (2, 2))),
    (((2, 0), (0, 1), (1, 2)), ((2, 0), (0, 1), (1, 2)))])
def test_crop3d_three_way(cropping, crops):
    x = np.random.default_rng(2).standard_normal((2, 4, 3, 5, 2))
    check_op(lambda x: sn.ops.crop3d(x, cropping), lambda x: ref.crop(x, crops), [x])


@pytest.mark.parametrize("padding,pads", [
    (1, ((1, 1),) * 3), ((0, 1, 2), ((0, 0), (1, 1), (2, 2))),
    (((2, 0), (0, 1), (1, 0)), ((2, 0), (0, 1), (1, 0)))])
def test_pad3d_three_way(padding, pads):
    x = np.random.default_rng(3).standard_normal((2, 2, 3, 2, 2))
    check_op(lambda x: sn.ops.pad3d(x, padding), lambda x: ref.pad(x, pads), [x])


def test_keras_defaults():
    x = np.ones((1, 6, 6, 6, 2), np.float32)
    assert sn.ops.crop3d(x).shape == (1, 4, 4, 4, 2)  # Cropping3D: ((1, 1),) * 3
    assert sn.ops.crop2d(x[:, 0]).shape == (1, 6, 6, 2)  # Cropping2D: no cropping
    assert sn.ops.crop1d(x[:, 0, 0]).shape == (1, 4, 2)  # Cropping1D: (1, 1)
    assert sn.ops.crop3d(x).numpy().dtype == np.float32


@pytest.mark.parametrize("call,match", [
    (lambda: sn.ops.crop2d(np.zeros((1, 4, 4, 3)), ((2, 2), (0, 0))),
     r"removes 4 of the 4 cells of spatial axis 0 \(x shape \(1, 4, 4, 3\)\)"),
    (lambda: sn.ops.crop3d(np.zeros((1, 4, 4, 3))),
     r"x must have shape \(N, D, H, W, C\), got shape \(1, 4, 4, 3\)"),
    (lambda: sn.ops.crop1d(np.zeros((1, 4, 3)), (1, 2, 3)), r"crop1d: cropping \(1, 2, 3\)"),
    (lambda: sn.ops.crop2d(np.zeros((1, 4, 4, 3)), -1), r"cropping must be non-negative"),
    (lambda: sn.ops.pad3d(np.zeros((1, 4, 4, 3)), 1), r"x must have shape \(N, D, H, W, C\)"),
    (lambda: sn.ops.pad3d(np.zeros((1, 4, 4, 4, 3)), (1, 2)), r"pad3d: padding \(1, 2\)"),
])
def test_cropping_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
