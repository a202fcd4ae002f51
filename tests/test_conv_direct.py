"""The compiled direct convolution (stride 1, 1-4 input channels): the three-way proof on
both kernel paths, that it is the kernel that runs, and that it agrees with im2col."""

from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op
from reference import conv as ref
from stridenet.ops.kernels import backend, conv
from stridenet.ops.kernels.conv_backward import conv2d_backward
from stridenet.ops.kernels.geometry import resolve_padding

pytestmark = pytest.mark.usefixtures("kernel_path")  # every test on both kernel paths

DIRECT_CONFIGS = list(itertools.product(
    [(1, 6, 5), (2, 3, 3), (3, 16, 3), (4, 1, 2)],  # (channels, filters, kernel side)
    ["valid", "same", ((2, 0), (1, 3))],  # padding
    [1, 2],  # dilation
))


@pytest.mark.parametrize("cfk,padding,dilation", DIRECT_CONFIGS)
def test_direct_conv_three_way(cfk, padding, dilation):
    c, f, k = cfk
    rng = np.random.default_rng(c * 100 + f + k + dilation)
    x = rng.standard_normal((3, 11, 10, c))
    w = rng.standard_normal((k, k, c, f))
    b = rng.standard_normal(f)
    pads = resolve_padding(padding, (11, 10), (k, k), (1, 1), (dilation, dilation))
    check_op(
        lambda x, w, b: sn.ops.conv2d(x, w, b, padding=padding, dilation_rate=dilation),
        lambda x, w, b: ref.conv2d(x, w, b, (1, 1), pads, (dilation, dilation), 1, False),
        [x, w, b],
    )


@pytest.mark.parametrize("c,f", [(1, 6), (3, 16)])
def test_direct_conv_fused_relu_without_bias_three_way(c, f):
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 7, 6, c)), rng.standard_normal((3, 3, c, f))
    out = check_op(
        lambda x, w: sn.ops.conv2d(x, w, padding="same", activation="relu"),
        lambda x, w: np.maximum(ref.conv2d(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1,
                                           False), 0),
        [x, w],
    )
    assert (out == 0).any() and (out > 0).any()  # both sides of the kink are exercised


def test_direct_kernel_runs_where_it_applies(kernel_path):
    x = np.zeros((2, 8, 8, 1), np.float32)
    w3 = np.zeros((3, 3, 1, 6), np.float32)
    want = kernel_path == "numba"
    assert (conv.direct_kernel("forward", x, w3, (1, 1), 1) is not None) == want
    assert (conv.direct_kernel("weight_grad", x, w3, (1, 1), 1) is not None) == want
    assert conv.direct_kernel("forward", x, w3, (2, 2), 1) is None  # strided: im2col
    wide = np.zeros((3, 3, 1, 32), np.float32)
    assert conv.direct_kernel("forward", x, wide, (1, 1), 1, conv.DIRECT_MAX_FILTERS) is None
    y, cache = conv.conv2d_forward(x, wide, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    assert y.shape == (2, 8, 8, 32)
    many = np.zeros((3, 3, 6, 8), np.float32)
    assert conv.direct_kernel("forward", np.zeros((2, 8, 8, 6), np.float32), many, (1, 1),
                              1) is None
    assert conv.direct_kernel("forward", x.astype(np.float16), w3.astype(np.float16), (1, 1),
                              1) is None  # other dtypes: the NumPy path


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba not installed")
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-6), (np.float64, 1e-14)])
@pytest.mark.parametrize("relu", [False, True])
def test_direct_and_im2col_agree_within_rounding(dtype, tol, relu):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((5, 12, 11, 3)).astype(dtype)
    x[1, 4, 4, 0] = np.nan  # NaN passes the relu, as np.maximum lets it
    w = rng.standard_normal((5, 5, 3, 7)).astype(dtype)
    b = rng.standard_normal(7).astype(dtype)
    pads = ((2, 2), (1, 3))
    out = []
    for mode in ("numpy", "numba"):
        backend.set_kernel_mode(mode)
        y, cache = conv.conv2d_forward(x, w, b, (1, 1), pads, (1, 1), 1, relu)
        dy = np.cos(np.arange(y.size, dtype=dtype)).reshape(y.shape)
        _, dw, db = conv2d_backward(dy, cache, (False, True, True))
        out.append((y, dw, db))
    (y0, dw0, db0), (y1, dw1, db1) = out
    np.testing.assert_array_equal(np.isnan(y1), np.isnan(y0))
    assert np.isnan(y1).any()
    fin = ~np.isnan(y0)
    np.testing.assert_allclose(y1[fin], y0[fin], rtol=0, atol=tol * np.abs(y0[fin]).max())
    np.testing.assert_array_equal(np.isnan(dw1), np.isnan(dw0))  # the NaN reaches dw too
    fin = ~np.isnan(dw0)
    np.testing.assert_allclose(dw1[fin], dw0[fin], rtol=0, atol=tol * np.abs(dw0[fin]).max())
    np.testing.assert_allclose(db1, db0, rtol=0, atol=tol * np.abs(db0).max())


def test_direct_kernel_gradient_with_a_float64_upstream_gradient():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 6, 7, 1)).astype(np.float32)
    w = rng.standard_normal((3, 3, 1, 4)).astype(np.float32)
    y, cache = conv.conv2d_forward(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    dy = rng.standard_normal(y.shape)  # float64: the gradients are float64
    _, dw, db = conv2d_backward(dy, cache, (False, True, True))
    assert dw.dtype == np.float64
    expected = np.einsum("nhwabc,nhwf->abcf", np.lib.stride_tricks.sliding_window_view(
        np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0))), (3, 3), (1, 2)
    ).transpose(0, 1, 2, 4, 5, 3), dy)
    np.testing.assert_allclose(dw, expected, rtol=1e-10, atol=1e-12)  # float64 throughout
    assert db is None  # no bias in the forward
