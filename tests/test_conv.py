"""conv2d / conv1d: SPEC worked examples, the three-way proof, and input checks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op
from reference import conv as ref
from stridenet.ops.kernels.geometry import resolve_padding

pytestmark = pytest.mark.usefixtures("kernel_path")  # every test on both kernel paths

IMAGE_A = np.array([[3, 5, 0, 2, 9, 8], [1, 2, 7, 8, 9, 9], [4, 5, 3, 9, 3, 2],
                    [0, 2, 0, 6, 2, 8], [2, 9, 4, 7, 5, 3], [1, 7, 6, 7, 5, 6]])
VERTICAL_EDGE = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])


def conv_a(**kw):
    y = sn.ops.conv2d(IMAGE_A[None, :, :, None], VERTICAL_EDGE[:, :, None, None], **kw)
    return y.numpy()[0, :, :, 0]


def test_spec_example_a():
    np.testing.assert_array_equal(conv_a(), [[2, 7, 11, 0], [5, 14, 4, -4], [1, 6, 3, -9],
                                             [7, 2, 2, -3]])
    same = [[7, 3, 3, 11, 7, -18], [12, 2, 7, 11, 0, -21], [9, 5, 14, 4, -4, -14],
            [16, 1, 6, 3, -9, -10], [18, 7, 2, 2, -3, -12], [16, 7, -2, 0, -5, -10]]
    np.testing.assert_array_equal(conv_a(padding=1), same)
    np.testing.assert_array_equal(conv_a(padding="same"), same)
    np.testing.assert_array_equal(conv_a(padding=1, strides=2), [[7, 3, 7], [9, 14, -4],
                                                                 [18, 2, -3]])
    # the cell 14: (-1)*2 + 0*7 + 1*8 + (-1)*5 + 0*3 + 1*9 + (-1)*2 + 0*0 + 1*6
    assert conv_a()[1, 1] == (-1) * 2 + 0 * 7 + 1 * 8 + (-1) * 5 + 0 * 3 + 1 * 9 + (-1) * 2 + 1 * 6


def test_spec_example_b():
    x = np.array([[0, 1, 2, 4], [3, 0, -1, 5], [-2, 0, 1, 3], [1, 0, 9, 0]])
    k = np.array([[0, 2, 1], [1, 3, 2], [2, 0, -1]])
    y = sn.ops.conv2d(x[None, :, :, None], k[:, :, None, None]).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(y, [[0, 12], [-8, 12]])


def test_spec_example_d_shapes():
    x = np.zeros((2, 28, 28, 3), np.float32)
    assert sn.ops.conv2d(x, np.zeros((3, 3, 3, 16), np.float32), padding=1).shape == (2, 28, 28, 16)
    x = np.zeros((1, 32, 32, 3), np.float32)
    k = np.zeros((5, 5, 3, 4), np.float32)
    assert sn.ops.conv2d(x, k).shape == (1, 28, 28, 4)
    assert sn.ops.conv2d(x, k, strides=2).shape == (1, 14, 14, 4)
    assert sn.ops.conv2d(x, k, padding="same").shape == (1, 32, 32, 4)
    assert sn.ops.conv2d(x, k, padding="same", strides=2).shape == (1, 16, 16, 4)


def test_flip_kernel_is_true_convolution():
    # true convolution of an impulse reproduces the kernel; correlation reproduces it rotated
    x = np.zeros((1, 5, 5, 1))
    x[0, 2, 2, 0] = 1
    k = np.arange(9.0).reshape(3, 3, 1, 1)
    y_conv = sn.ops.conv2d(x, k, padding=1, flip_kernel=True).numpy()[0, 1:4, 1:4, 0]
    y_corr = sn.ops.conv2d(x, k, padding=1).numpy()[0, 1:4, 1:4, 0]
    np.testing.assert_array_equal(y_conv, k[:, :, 0, 0])
    np.testing.assert_array_equal(y_corr, k[::-1, ::-1, 0, 0])


CONV2D_CONFIGS = list(itertools.product(
    ["valid", "same", 1, (0, 2), ((2, 0), (1, 3))],  # padding
    [1, 2, (2, 1)],  # strides
    [1, 2],  # dilation
    [(1, False), (2, True)],  # (groups, flip)
))


@pytest.mark.parametrize("padding,strides,dilation,gf", CONV2D_CONFIGS)
def test_conv2d_three_way(padding, strides, dilation, gf):
    groups, flip = gf
    rng = np.random.default_rng(len(str((padding, strides, dilation, gf))))
    x = rng.standard_normal((2, 6, 5, 4))
    w = rng.standard_normal((3, 2, 4 // groups, 4))
    b = rng.standard_normal(4)
    s2 = (strides, strides) if isinstance(strides, int) else strides
    pads = resolve_padding(padding, (6, 5), (3, 2), s2, (dilation, dilation))
    check_op(
        lambda x, w, b: sn.ops.conv2d(x, w, b, strides=strides, padding=padding,
                                      dilation_rate=dilation, groups=groups, flip_kernel=flip),
        lambda x, w, b: ref.conv2d(x, w, b, s2, pads, (dilation, dilation), groups, flip),
        [x, w, b],
    )


@pytest.mark.parametrize("strides,groups,padding", [(1, 1, "same"), (2, 1, 1), (1, 2, "valid"),
                                                    ((1, 2), 1, ((2, 0), (1, 3)))])
def test_conv2d_fused_relu_three_way(strides, groups, padding):
    rng = np.random.default_rng(11)
    x, w, b = rng.standard_normal((2, 6, 5, 4)), rng.standard_normal((3, 3, 4 // groups, 6)), \
        rng.standard_normal(6)
    s2 = (strides, strides) if isinstance(strides, int) else strides
    pads = resolve_padding(padding, (6, 5), (3, 3), s2, (1, 1))
    out = check_op(
        lambda x, w, b: sn.ops.conv2d(x, w, b, strides=strides, padding=padding, groups=groups,
                                      activation="relu"),
        lambda x, w, b: np.maximum(ref.conv2d(x, w, b, s2, pads, (1, 1), groups), 0),
        [x, w, b],
    )
    assert (out == 0).any() and (out > 0).any()  # both sides of the kink are exercised


def test_fused_activation_is_checked():
    x, w = np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1))
    with pytest.raises(ValueError, match="activation must be None, 'linear' or 'relu'"):
        sn.ops.conv2d(x, w, activation="tanh")
    np.testing.assert_array_equal(sn.ops.conv1d(x[0], w[0], activation="linear").numpy(),
                                  sn.ops.conv1d(x[0], w[0]).numpy())


def test_parallel_chunks_match_serial_and_repeat_bit_for_bit(monkeypatch):
    from stridenet.ops.kernels import parallel, windows

    monkeypatch.setattr(windows, "CHUNK_BYTES", 8192)  # many chunks over several workers
    rng = np.random.default_rng(2)
    x = rng.standard_normal((9, 7, 6, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)

    def run(stride):
        tx, tw, tb = (sn.Tensor(a, requires_grad=True) for a in (x, w, b))
        y = sn.ops.conv2d(tx, tw, tb, strides=stride, padding="same", activation="relu")
        y.backward(np.cos(np.arange(y.numpy().size)).reshape(y.shape).astype(np.float32))
        return [y.numpy(), tx.grad, tw.grad, tb.grad]

    results = {}
    try:
        for workers in (1, 2, 3):
            parallel.set_num_workers(workers)
            results[workers] = run(1) + run(2)
    finally:
        parallel.set_num_workers(None)
    for workers in (2, 3):
        for got, want in zip(results[workers], results[1]):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    again = run(1) + run(2)  # the default worker count repeats itself exactly
    parallel.set_num_workers(None)
    for got, want in zip(again, run(1) + run(2)):
        np.testing.assert_array_equal(got, want)


def test_depthwise_with_channel_multiplier():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 5, 5, 3)), rng.standard_normal((3, 3, 1, 6))
    pads = resolve_padding("same", (5, 5), (3, 3), (2, 2), (1, 1))
    check_op(lambda x, w: sn.ops.conv2d(x, w, strides=2, padding="same", groups=3),
             lambda x, w: ref.conv2d(x, w, None, (2, 2), pads, (1, 1), 3), [x, w])


CONV1D_CONFIGS = list(itertools.product(["valid", "same", "causal", 2, (3, 0)], [1, 2], [1, 3],
                                        [(1, False), (2, True)]))


@pytest.mark.parametrize("padding,stride,dilation,gf", CONV1D_CONFIGS)
def test_conv1d_three_way(padding, stride, dilation, gf):
    groups, flip = gf
    rng = np.random.default_rng(len(str((padding, stride, dilation, gf))))
    x, w, b = rng.standard_normal((2, 9, 4)), rng.standard_normal((3, 4 // groups, 2)), \
        rng.standard_normal(2)
    (pads,) = resolve_padding(padding, (9,), (3,), (stride,), (dilation,), causal_ok=True)
    check_op(
        lambda x, w, b: sn.ops.conv1d(x, w, b, strides=stride, padding=padding,
                                      dilation_rate=dilation, groups=groups, flip_kernel=flip),
        lambda x, w, b: ref.conv1d(x, w, b, stride, pads, dilation, groups, flip),
        [x, w, b],
    )


def test_causal_output_depends_only_on_the_past():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 10, 2)), rng.standard_normal((3, 2, 1))
    y1 = sn.ops.conv1d(x, w, padding="causal", dilation_rate=2).numpy()
    x2 = x.copy()
    x2[0, 6:] += 100.0  # change the future from t=6 on
    y2 = sn.ops.conv1d(x2, w, padding="causal", dilation_rate=2).numpy()
    assert y1.shape == (1, 10, 1)
    np.testing.assert_array_equal(y1[0, :6], y2[0, :6])
    assert not np.allclose(y1[0, 6:], y2[0, 6:])


def test_large_batch_runs_in_several_chunks(monkeypatch):
    from stridenet.ops.kernels import windows

    monkeypatch.setattr(windows, "CHUNK_BYTES", 4096)  # force many chunks
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((7, 6, 6, 3)), rng.standard_normal((3, 3, 3, 5))
    pads = ((1, 1), (1, 1))
    check_op(lambda x, w: sn.ops.conv2d(x, w, padding=1),
             lambda x, w: ref.conv2d(x, w, None, (1, 1), pads), [x, w], check_f32=False)


def test_dtypes():
    x32 = np.ones((1, 4, 4, 2), np.float32)
    assert sn.ops.conv2d(x32, np.ones((3, 3, 2, 1), np.float32)).dtype == np.float32
    assert sn.ops.conv2d(np.ones((1, 4, 4, 2), int), np.ones((3, 3, 2, 1), int)).dtype == \
        np.float32
    assert sn.ops.conv2d(x32.astype(np.float64), np.ones((3, 3, 2, 1))).dtype == np.float64


@pytest.mark.parametrize("x_shape,k_shape,kw,match", [
    ((4, 4, 1), (3, 3, 1, 1), {}, r"x must have shape \(N, H, W, C\), got shape \(4, 4, 1\)"),
    ((1, 4, 4, 1), (3, 3, 1), {}, r"kernel must have shape"),
    ((1, 4, 4, 3), (3, 3, 2, 1), {}, r"expects 2 input channels.*has 3"),
    ((1, 4, 4, 3), (3, 3, 1, 4), {"groups": 2}, r"groups=2 must divide the input channels \(3\)"),
    ((1, 4, 4, 2), (3, 3, 2, 1), {"strides": 0}, r"strides must be positive"),
    ((1, 4, 4, 2), (3, 3, 2, 1), {"dilation_rate": (1, -1)}, r"dilation_rate must be positive"),
    ((1, 2, 4, 2), (3, 3, 2, 1), {}, r"spans 3 cells on spatial axis 0.*padded input's 2"),
    ((1, 4, 4, 2), (3, 3, 2, 1), {"dilation_rate": 2}, r"spans 5 cells"),
    ((1, 4, 4, 2), (3, 3, 2, 5), {"bias": np.zeros(4)}, r"bias must have shape \(5,\)"),
    ((1, 4, 4, 2), (3, 3, 2, 1), {"padding": "full"}, r"padding"),
    ((1, 4, 4, 2), (3, 3, 2, 1), {"padding": "causal"}, r"causal"),
    ((1, 4, 4, 2), (3, 3, 2, 1), {"groups": 0}, r"groups must be a positive int"),
])
def test_conv2d_rejects_bad_input(x_shape, k_shape, kw, match):
    with pytest.raises(ValueError, match=match):
        sn.ops.conv2d(np.zeros(x_shape), np.zeros(k_shape), **kw)


def test_kernel_without_filters_is_refused():
    with pytest.raises(ValueError, match=r"kernel \(3, 3, 1, 0\) has no filters"):
        sn.ops.conv2d(np.zeros((1, 4, 4, 1)), np.zeros((3, 3, 1, 0)))


def test_conv_rejects_bad_dtypes():
    with pytest.raises(TypeError, match="x must hold real numbers"):
        sn.ops.conv2d(np.array([[["a"]]]), np.zeros((1, 1, 1, 1)))
    with pytest.raises(TypeError, match="kernel must hold real numbers"):
        sn.ops.conv1d(np.zeros((1, 3, 1)), np.zeros((1, 1, 1), complex))
    with pytest.raises(TypeError, match="x must be a floating point tensor"):
        sn.ops.conv2d(sn.Tensor(np.zeros((1, 3, 3, 1), int)), np.zeros((1, 1, 1, 1)))


def test_conv1d_rejects_bad_input():
    with pytest.raises(ValueError, match=r"x must have shape \(N, L, C\)"):
        sn.ops.conv1d(np.zeros((1, 4, 4, 1)), np.zeros((3, 1, 1)))
    with pytest.raises(ValueError, match="spans 3 cells"):
        sn.ops.conv1d(np.zeros((1, 2, 1)), np.zeros((3, 1, 1)))


def test_nan_propagates_instead_of_being_hidden():
    x = np.ones((1, 3, 3, 1))
    x[0, 1, 1, 0] = np.nan
    y = sn.ops.conv2d(x, np.ones((2, 2, 1, 1))).numpy()
    assert np.isnan(y).all()


def test_chunk_size_gives_big_im2col_images_bigger_chunks(monkeypatch):
    from stridenet.ops.kernels import windows

    monkeypatch.setattr(windows, "CHUNK_BYTES", 1000)
    monkeypatch.setattr(windows, "BIG_IMAGE_CHUNK_BYTES", 4000)
    assert windows.chunk_size(100, 100, 4) == 2  # 400 bytes an image: 2 in 1000
    assert windows.chunk_size(100, 100, 4, big_images=True) == 2  # not over half a chunk
    assert windows.chunk_size(100, 150, 4) == 1  # 600 bytes: one image a chunk
    assert windows.chunk_size(100, 150, 4, big_images=True) == 6  # 4000 // 600
    assert windows.chunk_size(3, 150, 4, big_images=True) == 3  # never more than the batch
    assert windows.chunk_size(100, 5000, 4, big_images=True) == 1  # at least one image
