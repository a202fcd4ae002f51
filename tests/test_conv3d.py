"""conv3d and ops.conv: SPEC section 6 shapes, the three-way proof, the blocked path, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op
from reference import conv_nd as ref
from stridenet.ops.kernels import convnd, windows
from stridenet.ops.kernels.geometry import resolve_padding


def test_spec_section6_shapes():
    x = np.zeros((1, 7, 9, 10, 3), np.float32)
    k = np.zeros((3, 3, 3, 3, 8), np.float32)
    assert sn.ops.conv3d(x, k, strides=2, padding="same").shape == (1, 4, 5, 5, 8)
    assert sn.ops.conv3d(x, k, dilation_rate=2).shape == (1, 3, 5, 6, 8)
    assert sn.ops.conv(x, k, strides=2, padding="same").shape == (1, 4, 5, 5, 8)
    assert sn.ops.conv(x, k, dilation_rate=2).shape == (1, 3, 5, 6, 8)


CONV3D_CONFIGS = list(itertools.product(
    ["valid", "same", 1, ((1, 0), (0, 2), (2, 1))],  # padding
    [1, (2, 1, 2)],  # strides
    [1, (2, 1, 1)],  # dilation (strides and dilation together are allowed in the op)
    [(1, False), (2, True)],  # (groups, flip)
))


@pytest.mark.parametrize("padding,strides,dilation,gf", CONV3D_CONFIGS)
def test_conv3d_three_way(padding, strides, dilation, gf):
    groups, flip = gf
    rng = np.random.default_rng(len(str((padding, strides, dilation, gf))))
    x = rng.standard_normal((2, 5, 4, 4, 2))
    w = rng.standard_normal((2, 2, 3, 2 // groups, 2))
    b = rng.standard_normal(2)
    sizes, ks = (5, 4, 4), (2, 2, 3)
    st = (strides,) * 3 if isinstance(strides, int) else strides
    dl = (dilation,) * 3 if isinstance(dilation, int) else dilation
    pads = resolve_padding(padding, sizes, ks, st, dl)
    check_op(lambda x, w, b: sn.ops.conv3d(x, w, b, strides=strides, padding=padding,
                                           dilation_rate=dilation, groups=groups,
                                           flip_kernel=flip),
             lambda x, w, b: ref.conv3d(x, w, b, st, pads, dl, groups, flip), [x, w, b])


@pytest.mark.parametrize("strides", [1, 2])
def test_conv3d_fused_relu_three_way(strides):
    rng = np.random.default_rng(strides)
    x, w, b = rng.standard_normal((2, 4, 3, 4, 3)), rng.standard_normal((2, 2, 2, 3, 3)), \
        rng.standard_normal(3)
    pads = resolve_padding("same", (4, 3, 4), (2, 2, 2), (strides,) * 3, (1, 1, 1))
    check_op(lambda x, w, b: sn.ops.conv3d(x, w, b, strides=strides, padding="same",
                                           activation="relu"),
             lambda x, w, b: np.maximum(ref.conv3d(x, w, b, (strides,) * 3, pads), 0),
             [x, w, b])


@pytest.mark.parametrize("strides,padding", [(1, "valid"), (1, 1), (2, "valid")])
def test_conv3d_pointwise_three_way(strides, padding):
    """1x1x1 kernels: stride 1 without padding multiplies x as it is, no im2col copy."""
    rng = np.random.default_rng(strides)
    x, w, b = rng.standard_normal((2, 3, 4, 5, 3)), rng.standard_normal((1, 1, 1, 3, 4)), \
        rng.standard_normal(4)
    pads = resolve_padding(padding, (3, 4, 5), (1, 1, 1), (strides,) * 3, (1, 1, 1))
    check_op(lambda x, w, b: sn.ops.conv3d(x, w, b, strides=strides, padding=padding),
             lambda x, w, b: ref.conv3d(x, w, b, (strides,) * 3, pads), [x, w, b])


def test_conv3d_blocks_of_planes_match_whole_clips(monkeypatch):
    """A clip too big for one chunk is cut into blocks of output planes: same numbers."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 9, 6, 5, 4))
    w, b = rng.standard_normal((3, 3, 2, 2, 6)), rng.standard_normal(6)
    dy = rng.standard_normal((2, 5, 6, 5, 6))

    def run():
        tx, tw, tb = (sn.Tensor(a, requires_grad=True) for a in (x, w, b))
        y = sn.ops.conv3d(tx, tw, tb, strides=(2, 1, 1), padding="same", groups=2)
        y.backward(dy)
        return y.numpy(), tx.grad, tw.grad, tb.grad

    whole = run()
    plane = 6 * 5 * 18 * 4 * 8  # bytes of im2col per output plane (OH * OW * K * C floats)
    monkeypatch.setattr(convnd, "CHUNK_BYTES", plane + 1)  # one plane per block
    monkeypatch.setattr(windows, "CHUNK_BYTES", plane + 1)  # one clip per chunk
    assert len(convnd._blocks(1, (5, 6, 5), plane // 8, 8)) == 5
    blocked = run()
    for a, b_ in zip(whole, blocked):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("padding", ["same", ((2, 0), (0, 3), (1, 1))])
def test_conv3d_input_gradient_by_correlation_equals_col2im(monkeypatch, padding):
    """Stride 1: dx by correlation of the padded gradient (default) and by col2im agree,
    also where the padding is wider than the kernel."""
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((2, 4, 5, 3, 3)), rng.standard_normal((2, 3, 1, 3, 4))
    dy = rng.standard_normal(sn.ops.conv3d(x, w, padding=padding, dilation_rate=(2, 1, 1)).shape)

    def dx():
        tx = sn.Tensor(x, requires_grad=True)
        sn.ops.conv3d(tx, w, padding=padding, dilation_rate=(2, 1, 1)).backward(dy)
        return tx.grad

    assert 4 <= convnd.CORRELATION_MAX_RATIO * 3  # 3 -> 4 channels: correlation by default
    by_correlation = dx()
    monkeypatch.setattr(convnd, "CORRELATION_MAX_RATIO", 0)
    np.testing.assert_allclose(by_correlation, dx(), rtol=1e-12, atol=1e-12)


def test_conv3d_matches_conv2d_on_single_planes():
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 3, 6, 5, 4)), rng.standard_normal((1, 3, 3, 4, 5))
    y = sn.ops.conv3d(x, w, padding=((0, 0), (1, 1), (1, 1))).numpy()
    for d in range(3):
        np.testing.assert_allclose(y[:, d], sn.ops.conv2d(x[:, d], w[0], padding=1).numpy(),
                                   rtol=1e-12, atol=1e-12)


def test_conv_picks_the_rank_and_groups():
    rng = np.random.default_rng(5)
    x1, k1 = rng.standard_normal((2, 9, 4)), rng.standard_normal((3, 2, 6))
    np.testing.assert_allclose(sn.ops.conv(x1, k1, strides=2, padding="same").numpy(),
                               sn.ops.conv1d(x1, k1, strides=2, padding="same",
                                             groups=2).numpy())
    x2, k2 = rng.standard_normal((2, 7, 6, 3)), rng.standard_normal((3, 3, 3, 4))
    np.testing.assert_allclose(sn.ops.conv(x2, k2, dilation_rate=2).numpy(),
                               sn.ops.conv2d(x2, k2, dilation_rate=2).numpy())
    x3, k3 = rng.standard_normal((1, 4, 5, 6, 2)), rng.standard_normal((2, 2, 2, 2, 3))
    np.testing.assert_allclose(sn.ops.conv(x3, k3, padding="same").numpy(),
                               sn.ops.conv3d(x3, k3, padding="same").numpy())


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_conv_channels_first_is_transposed_channels_last(rank):
    rng = np.random.default_rng(rank)
    x = rng.standard_normal((2, *(5,) * rank, 3))
    k = rng.standard_normal((*(3,) * rank, 3, 4))
    last = sn.ops.conv(x, k, padding="same").numpy()
    tx = sn.Tensor(np.moveaxis(x, -1, 1).copy(), requires_grad=True)
    first = sn.ops.conv(tx, k, padding="same", data_format="channels_first")
    np.testing.assert_allclose(first.numpy(), np.moveaxis(last, -1, 1), rtol=1e-12)
    first.backward(np.ones(first.shape))
    assert tx.grad.shape == tx.shape


def test_conv3d_float32_stays_float32():
    x = np.ones((1, 3, 3, 3, 2), np.float32)
    y = sn.ops.conv3d(x, np.ones((2, 2, 2, 2, 3), np.float32))
    assert y.numpy().dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), np.full((1, 2, 2, 2, 3), 16, np.float32))


@pytest.mark.parametrize("call,match", [
    (lambda: sn.ops.conv3d(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 3, 3, 4))),
     r"x must have shape \(N, D, H, W, C\), got shape \(1, 4, 4, 3\)"),
    (lambda: sn.ops.conv3d(np.zeros((1, 4, 4, 4, 3)), np.zeros((3, 3, 3, 4))),
     r"kernel must have shape \(KD, KH, KW, C_in // groups, F\)"),
    (lambda: sn.ops.conv3d(np.zeros((1, 2, 4, 4, 3)), np.zeros((3, 3, 3, 3, 4))),
     r"spans 3 cells on spatial axis 0, more than the padded input's 2"),
    (lambda: sn.ops.conv3d(np.zeros((1, 4, 4, 4, 3)), np.zeros((3, 3, 3, 2, 4))),
     r"expects 2 input channels"),
    (lambda: sn.ops.conv3d(np.zeros((1, 4, 4, 4, 3)), np.zeros((1, 1, 1, 3, 4)),
                           strides=(1, 2)), r"strides must be a positive int or 3"),
    (lambda: sn.ops.conv(np.zeros((2, 3)), np.zeros((3, 3))), r"inputs must have rank 3, 4 or 5"),
    (lambda: sn.ops.conv(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 2, 4))),
     r"2 input channels, which must divide the 3 channels"),
    (lambda: sn.ops.conv(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 3, 4)), data_format="NCHW"),
     r"data_format must be None, 'channels_last' or 'channels_first'"),
])
def test_conv3d_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
