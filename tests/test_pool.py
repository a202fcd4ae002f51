"""Pooling ops: SPEC worked examples, the three-way proof, tie-breaking and input checks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op
from reference import pool as ref
from stridenet.ops.kernels.geometry import resolve_padding
from stridenet.ops.pool import (
    avg_pool1d,
    avg_pool2d,
    global_avg_pool1d,
    global_avg_pool2d,
    global_max_pool1d,
    global_max_pool2d,
    max_pool1d,
    max_pool2d,
)

pytestmark = pytest.mark.usefixtures("kernel_path")  # every test on both kernel paths

# SPEC example A: the vertical-edge convolution of the 6x6 image with padding 1.
PADDED_CONV_A = np.array([[7, 3, 3, 11, 7, -18], [12, 2, 7, 11, 0, -21], [9, 5, 14, 4, -4, -14],
                          [16, 1, 6, 3, -9, -10], [18, 7, 2, 2, -3, -12],
                          [16, 7, -2, 0, -5, -10]])
IMAGE_A = np.array([[3, 5, 0, 2, 9, 8], [1, 2, 7, 8, 9, 9], [4, 5, 3, 9, 3, 2],
                    [0, 2, 0, 6, 2, 8], [2, 9, 4, 7, 5, 3], [1, 7, 6, 7, 5, 6]])
VERTICAL_EDGE = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])


def distinct(shape, seed):
    """Values that are all different (a scaled permutation), so every max is unique and
    stays unique under the finite-difference step."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    return (rng.permutation(size).reshape(shape) - size / 2) * 0.1


def test_spec_example_a_max_pool():
    expected = [[12, 11, 7], [16, 14, -4], [18, 2, -3]]
    y = max_pool2d(PADDED_CONV_A[None, :, :, None], 2, strides=2).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(y, expected)
    # the same, chained on the convolution itself: out = pool(x * W)
    conv = sn.ops.conv2d(IMAGE_A[None, :, :, None], VERTICAL_EDGE[:, :, None, None], padding=1)
    np.testing.assert_array_equal(max_pool2d(conv, 2).numpy()[0, :, :, 0], expected)


def test_spec_example_c_1d_pooling():
    x = np.array([1, 2, 3, 4, 5, 6])[None, :, None]
    np.testing.assert_array_equal(max_pool1d(x, 3, strides=3).numpy()[0, :, 0], [3, 6])
    np.testing.assert_array_equal(max_pool1d(x, 3, strides=2).numpy()[0, :, 0], [3, 5])
    np.testing.assert_array_equal(max_pool1d(x, 3).numpy()[0, :, 0], [3, 6])  # strides=pool
    np.testing.assert_allclose(avg_pool1d(x, 3, strides=2).numpy()[0, :, 0], [2, 4])


def test_hand_computed_padding_and_ceil_mode():
    x = np.array([1.0, 2, 3, 4, 5])[None, :, None]
    # 'same', size 2 stride 2 on 5 cells: pads (0, 1); last window = [5, pad]
    np.testing.assert_allclose(avg_pool1d(x, 2, padding="same").numpy()[0, :, 0], [1.5, 3.5, 5])
    np.testing.assert_allclose(avg_pool1d(x, 2, padding="same", count_include_pad=True)
                               .numpy()[0, :, 0], [1.5, 3.5, 2.5])
    # ceil mode, no padding: last window [5, beyond] counts only the real cell either way
    for cip in (False, True):
        np.testing.assert_allclose(avg_pool1d(x, 2, ceil_mode=True, count_include_pad=cip)
                                   .numpy()[0, :, 0], [1.5, 3.5, 5])
    np.testing.assert_array_equal(max_pool1d(-x, 2, ceil_mode=True).numpy()[0, :, 0],
                                  [-1, -3, -5])
    # padding 1 both sides, size 2 stride 2, ceil: 7 padded cells -> windows start 0, 2, 4, 6;
    # the one at 6 starts in the right padding, so it is dropped (PyTorch's rule): 3 windows
    np.testing.assert_allclose(avg_pool1d(x, 2, padding=1, ceil_mode=True, count_include_pad=True)
                               .numpy()[0, :, 0], [0.5, 2.5, 4.5])


def _geometry(sizes, pool, strides, padding, ceil_mode):
    """(strides, pads) of a configuration, or None where the op (correctly) rejects it
    because some window would hold padding only (tested in test_rejects_bad_input)."""
    rank = len(sizes)
    strides = pool if strides is None else strides
    s = (strides,) * rank if isinstance(strides, int) else strides
    pads = resolve_padding(padding, sizes, pool, s, (1,) * rank, causal_ok=rank == 1)
    for n, k, st, (p0, p1) in zip(sizes, pool, s, pads):
        if p0 >= k or n + p0 + p1 < k:
            return None
        if ref.window_starts(n, k, st, p0, p1, ceil_mode)[-1] >= p0 + n:
            return None
    return s, pads


def _valid(sizes, configs):
    out = [c for c in configs if _geometry(sizes, *c[:4]) is not None]
    # filtering must not silently drop a padding kind or a ceil mode
    assert {repr(c[2]) for c in out} == {repr(c[2]) for c in configs}
    assert {c[3] for c in out} == {False, True}
    return out


SIZES_2D = (5, 6)
POOL2D_CONFIGS = _valid(SIZES_2D, list(itertools.product(
    [(2, 2), (3, 2), (1, 3)],  # pool_size
    [None, 1, (2, 3)],  # strides (None = pool_size; 1 overlaps windows)
    ["valid", "same", 1, (1, 0), ((0, 1), (2, 0))],  # padding
    [False, True],  # ceil_mode
)))


@pytest.mark.parametrize("pool,strides,padding,ceil_mode", POOL2D_CONFIGS)
def test_pool2d_three_way(pool, strides, padding, ceil_mode):
    s, pads = _geometry(SIZES_2D, pool, strides, padding, ceil_mode)
    x = distinct((1, *SIZES_2D, 2), seed=len(repr((pool, strides, padding))))
    check_op(lambda x: max_pool2d(x, pool, strides, padding, ceil_mode),
             lambda x: ref.pool2d(x, "max", pool, s, pads, ceil_mode), [x])
    for cip in (False, True):
        check_op(lambda x, cip=cip: avg_pool2d(x, pool, strides, padding, cip, ceil_mode),
                 lambda x, cip=cip: ref.pool2d(x, "avg", pool, s, pads, ceil_mode, cip), [x])


@pytest.mark.parametrize("pool,strides,padding", [((2, 2), None, "valid"), ((3, 3), 2, "same"),
                                                  ((2, 2), None, 1)])
def test_pool2d_in_many_chunks(monkeypatch, pool, strides, padding):
    """Chunks of images on several workers give the single-chunk result (max pooling with
    ties too)."""
    from stridenet.ops.kernels import windows

    def grads(x):
        t = sn.Tensor(x, requires_grad=True)
        y = max_pool2d(t, pool, strides, padding)
        y.backward(np.arange(y.numpy().size, dtype=float).reshape(y.shape))
        return y.numpy(), t.grad

    ties = np.round(np.random.default_rng(4).standard_normal((7, 6, 6, 3)), 1)
    whole = grads(ties)
    monkeypatch.setattr(windows, "CHUNK_BYTES", 512)  # a chunk per image or two
    for got, want in zip(grads(ties), whole):  # ties go to the same (first) cell
        np.testing.assert_array_equal(got, want)
    s, pads = _geometry((6, 6), pool, strides, padding, False)
    check_op(lambda x: max_pool2d(x, pool, strides, padding),
             lambda x: ref.pool2d(x, "max", pool, s, pads, False),
             [distinct((7, 6, 6, 3), seed=4)], check_f32=False)
    for cip in (False, True):
        check_op(lambda x, cip=cip: avg_pool2d(x, pool, strides, padding, cip),
                 lambda x, cip=cip: ref.pool2d(x, "avg", pool, s, pads, False, cip),
                 [distinct((7, 6, 6, 3), seed=5)], check_f32=False)


POOL1D_CONFIGS = _valid((7,), [((k,), *rest) for k, *rest in itertools.product(
    [2, 3], [None, 1, 2], ["valid", "same", "causal", 1, (0, 2)], [False, True])])


@pytest.mark.parametrize("pool,stride,padding,ceil_mode", POOL1D_CONFIGS)
def test_pool1d_three_way(pool, stride, padding, ceil_mode):
    (s,), (pads,) = _geometry((7,), pool, stride, padding, ceil_mode)
    (k,) = pool
    x = distinct((2, 7, 2), seed=k)
    check_op(lambda x: max_pool1d(x, k, stride, padding, ceil_mode),
             lambda x: ref.pool1d(x, "max", k, s, pads, ceil_mode), [x])
    for cip in (False, True):
        check_op(lambda x, cip=cip: avg_pool1d(x, k, stride, padding, cip, ceil_mode),
                 lambda x, cip=cip: ref.pool1d(x, "avg", k, s, pads, ceil_mode, cip), [x])


def test_global_pools():
    x = distinct((2, 3, 4, 5), seed=3)
    check_op(global_avg_pool2d, lambda x: x.mean(axis=(1, 2)), [x])
    check_op(global_max_pool2d, lambda x: x.max(axis=(1, 2)), [x])
    check_op(lambda x: global_max_pool2d(x, keepdims=True),
             lambda x: x.max(axis=(1, 2), keepdims=True), [x])
    x1 = distinct((2, 6, 3), seed=4)
    check_op(global_avg_pool1d, lambda x: x.mean(axis=1), [x1])
    check_op(lambda x: global_max_pool1d(x, keepdims=True),
             lambda x: x.max(axis=1, keepdims=True), [x1])
    assert global_avg_pool2d(x, keepdims=True).shape == (2, 1, 1, 5)
    assert global_max_pool1d(x1).shape == (2, 3)


def _grad(fn, x, **kw):
    t = sn.Tensor(x, requires_grad=True)
    y = fn(t, **kw)
    y.backward(np.ones(y.shape))
    return t.grad


def test_max_gradient_goes_to_the_first_maximum_only():
    # every cell ties: each window routes its gradient to its first (top-left) cell
    g = _grad(max_pool2d, np.zeros((1, 4, 4, 1)), pool_size=2)[0, :, :, 0]
    np.testing.assert_array_equal(g, [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])
    # overlapping 3x3 windows, stride 1: all four windows pick their own top-left cell
    g = _grad(max_pool2d, np.ones((1, 4, 4, 1)), pool_size=3, strides=1)[0, :, :, 0]
    np.testing.assert_array_equal(g[:2, :2], np.ones((2, 2)))
    assert g.sum() == 4
    # a tie in the second row of the window loses to the first row (row-major order)
    x = np.array([[0.0, 1], [1, 0]])[None, :, :, None]
    np.testing.assert_array_equal(_grad(max_pool2d, x, pool_size=2)[0, :, :, 0], [[0, 1], [0, 0]])
    # 1D: shared cells between overlapping windows accumulate
    g = _grad(max_pool1d, np.array([0.0, 5, 1, 2])[None, :, None], pool_size=2, strides=1)
    np.testing.assert_array_equal(g[0, :, 0], [0, 2, 0, 1])


def test_max_pool_with_padding_never_picks_padding():
    x = -np.ones((1, 3, 3, 1))  # all negative: a zero padding would win, -inf does not
    y = max_pool2d(x, 2, padding="same").numpy()
    np.testing.assert_array_equal(y, -np.ones((1, 2, 2, 1)))
    # real cells at -inf: the max is -inf and the gradient still lands on a real cell
    x = np.full((1, 1, 3, 1), -np.inf)
    g = _grad(max_pool2d, x, pool_size=(1, 2), padding=((0, 0), (1, 1)))[0, 0, :, 0]
    np.testing.assert_array_equal(g, [1, 1, 0])
    assert np.isneginf(max_pool2d(x, (1, 2), padding=((0, 0), (1, 1))).numpy()).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("strides", [2, 1])  # non-overlapping and overlapping windows
def test_infinite_upstream_gradient_stays_on_the_max_cell(dtype, strides):
    x = np.array([[1.0, 4], [3, 2]], dtype)[None, :, :, None]
    t = sn.Tensor(x, requires_grad=True)
    y = max_pool2d(t, 2, strides=strides)
    y.backward(np.full(y.shape, np.inf, dtype))
    assert t.grad.dtype == dtype
    np.testing.assert_array_equal(t.grad[0, :, :, 0], [[0, np.inf], [0, 0]])  # no NaN


def test_nan_propagates_and_takes_the_gradient():
    x = np.array([[1.0, np.nan], [3, 2]])[None, :, :, None]
    t = sn.Tensor(x, requires_grad=True)
    y = max_pool2d(t, 2)
    assert np.isnan(y.numpy()).all()
    y.backward(np.ones(y.shape))
    np.testing.assert_array_equal(t.grad[0, :, :, 0], [[0, 1], [0, 0]])
    assert np.isnan(avg_pool2d(x, 2).numpy()).all()


def test_dtypes_and_layouts():
    x32 = np.ones((2, 4, 4, 3), np.float32)
    for fn in (max_pool2d, avg_pool2d):
        assert fn(x32, 2).dtype == np.float32
        assert fn(x32.astype(np.float64), 2).dtype == np.float64
        assert fn(np.ones((1, 4, 4, 1), int), 2).dtype == np.float32
        assert fn(x32, (2, 3), strides=1, padding="same").shape == (2, 4, 4, 3)
        assert fn(x32, 3, strides=2, padding="same").shape == (2, 2, 2, 3)
        assert fn(x32, 3, strides=2, ceil_mode=True).shape == (2, 2, 2, 3)
    assert max_pool1d(np.ones((2, 9, 4), np.float32), 2).shape == (2, 4, 4)
    assert avg_pool1d(np.ones((2, 9, 4), np.float32), 2, ceil_mode=True).shape == (2, 5, 4)
    assert global_avg_pool2d(x32).dtype == np.float32
    # a float32 gradient stays float32
    t = sn.Tensor(x32, requires_grad=True)
    max_pool2d(t, 2).backward(np.ones((2, 2, 2, 3), np.float32))
    assert t.grad.dtype == np.float32


def test_channels_are_pooled_independently():
    x = distinct((1, 4, 4, 3), seed=9)
    y = max_pool2d(x, 2).numpy()
    for ch in range(3):
        np.testing.assert_array_equal(y[..., ch], max_pool2d(x[..., ch:ch + 1], 2).numpy()[..., 0])


@pytest.mark.parametrize("fn,x_shape,kw,match", [
    (max_pool2d, (4, 4, 1), {"pool_size": 2},
     r"x must have shape \(N, H, W, C\), got shape \(4, 4, 1\)"),
    (avg_pool2d, (1, 4, 4, 1, 1), {"pool_size": 2}, r"x must have shape \(N, H, W, C\)"),
    (max_pool1d, (1, 4, 4, 1), {"pool_size": 2}, r"x must have shape \(N, L, C\), got shape"),
    (avg_pool1d, (4, 1), {"pool_size": 2}, r"x must have shape \(N, L, C\)"),
    (max_pool2d, (1, 4, 4, 1), {"pool_size": 0}, r"max_pool2d: pool_size must be positive"),
    (avg_pool2d, (1, 4, 4, 1), {"pool_size": (2, -1)}, r"avg_pool2d: pool_size must be positive"),
    (max_pool2d, (1, 4, 4, 1), {"pool_size": (2, 2, 2)}, r"pool_size must be a positive int"),
    (max_pool1d, (1, 4, 1), {"pool_size": 2.5}, r"pool_size must be a positive int"),
    (max_pool2d, (1, 4, 4, 1), {"pool_size": 2, "strides": 0}, r"strides must be positive"),
    (avg_pool1d, (1, 4, 1), {"pool_size": 2, "strides": -1}, r"avg_pool1d: strides must be"),
    (max_pool2d, (1, 2, 4, 1), {"pool_size": 3},
     r"window \(3 cells\) is larger than the padded input \(2 cells\) on spatial axis 0 "
     r"\(x shape \(1, 2, 4, 1\)"),
    (avg_pool1d, (1, 2, 1), {"pool_size": 5, "padding": 1}, r"larger than the padded input \(4"),
    (max_pool2d, (1, 4, 4, 1), {"pool_size": 2, "padding": "full"},
     r"max_pool2d: padding must be 'valid', 'same'.*got 'full' \(x shape \(1, 4, 4, 1\)\)"),
    (max_pool2d, (1, 4, 4, 1), {"pool_size": 2, "padding": ((1, 1),)}, r"does not fit 2 spatial"),
    (avg_pool2d, (1, 4, 4, 1), {"pool_size": 2, "padding": -1}, r"must be non-negative"),
    (max_pool2d, (1, 4, 4, 1), {"pool_size": 2, "padding": "causal"}, r"causal"),
    (max_pool1d, (1, 4, 1), {"pool_size": 2, "padding": (1, 2, 3)}, r"does not fit 1 spatial"),
    (max_pool2d, (1, 4, 4, 1), {"pool_size": 2, "padding": 2}, r"leaves a pooling window with "
     r"no input cell on spatial axis 0"),
    (avg_pool1d, (1, 4, 1), {"pool_size": 2, "padding": (0, 3)}, r"no input cell"),
    (max_pool2d, (1, 0, 4, 1), {"pool_size": 1}, r"empty spatial axis"),
    (global_avg_pool2d, (4, 4, 1), {}, r"global_avg_pool2d: x must have shape \(N, H, W, C\)"),
    (global_max_pool1d, (1, 4, 4, 1), {}, r"global_max_pool1d: x must have shape \(N, L, C\)"),
    (global_max_pool2d, (1, 0, 3, 1), {}, r"empty spatial axis"),
])
def test_rejects_bad_input(fn, x_shape, kw, match):
    with pytest.raises(ValueError, match=match):
        fn(np.zeros(x_shape), **kw)


def test_rejects_bad_flags_and_dtypes():
    x = np.zeros((1, 4, 4, 1))
    with pytest.raises(TypeError, match="max_pool2d: ceil_mode must be True or False"):
        max_pool2d(x, 2, ceil_mode="yes")
    with pytest.raises(TypeError, match="avg_pool2d: count_include_pad must be True or False"):
        avg_pool2d(x, 2, count_include_pad=None)
    with pytest.raises(TypeError, match="max_pool2d: x must hold real numbers"):
        max_pool2d(np.array([[[["a"]]]]), 1)
    with pytest.raises(TypeError, match="x must be a floating point tensor"):
        avg_pool1d(sn.Tensor(np.zeros((1, 3, 1), int)), 1)


def test_empty_batch_pools_to_an_empty_batch():
    x = np.zeros((0, 4, 4, 2), np.float32)
    assert max_pool2d(x, 2).shape == avg_pool2d(x, 2).shape == (0, 2, 2, 2)
