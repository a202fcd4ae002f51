"""Transposed convolutions: SPEC section 6 sizes, the three-way proof, the adjoint, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op
from reference import conv_nd as ref

# (x shape, kernel shape, keyword arguments, output shape): every example of SPEC section 6
SPEC_EXAMPLES = [
    ((1, 10, 5), (3, 4, 5), dict(strides=2), (1, 21, 4)),
    ((1, 10, 5), (3, 4, 5), dict(strides=2, padding="same"), (1, 20, 4)),
    ((1, 10, 5), (2, 4, 5), dict(strides=3), (1, 30, 4)),
    ((1, 5, 6, 3), (3, 3, 4, 3), dict(strides=2, padding="same"), (1, 10, 12, 4)),
    ((1, 5, 6, 3), (3, 3, 4, 3), dict(strides=2, padding="same", output_padding=0),
     (1, 9, 11, 4)),
    ((1, 5, 6, 3), (3, 3, 4, 3), dict(strides=2, padding="valid", output_padding=1),
     (1, 12, 14, 4)),
]


@pytest.mark.parametrize("x_shape,k_shape,kw,out", SPEC_EXAMPLES)
def test_spec_section6_sizes(x_shape, k_shape, kw, out):
    x, k = np.ones(x_shape, np.float32), np.ones(k_shape, np.float32)
    assert sn.ops.conv_transpose(x, k, **kw).shape == out
    fn = {3: sn.ops.conv_transpose1d, 4: sn.ops.conv_transpose2d}[len(x_shape)]
    assert fn(x, k, **kw).shape == out


@pytest.mark.parametrize("n,k,s,d", itertools.product([1, 4, 7], [1, 2, 3], [1, 2, 3], [1, 2]))
def test_sizes_follow_the_spec_formulas(n, k, s, d):
    kk = (k - 1) * d + 1
    x, w = np.ones((1, n, 1)), np.ones((k, 1, 1))
    out = sn.ops.conv_transpose1d(x, w, strides=s, dilation_rate=d).shape[1]
    assert out == (n - 1) * s + kk + max(kk, s) - kk
    assert sn.ops.conv_transpose1d(x, w, strides=s, padding="same",
                                   dilation_rate=d).shape[1] == n * s
    for op in range(s):
        assert sn.ops.conv_transpose1d(x, w, strides=s, output_padding=op,
                                       dilation_rate=d).shape[1] == (n - 1) * s + kk + op
        same = (n - 1) * s + kk % 2 + op
        if same > 0:
            assert sn.ops.conv_transpose1d(x, w, strides=s, padding="same", output_padding=op,
                                           dilation_rate=d).shape[1] == same


TRANSPOSE_CONFIGS = list(itertools.product(
    ["valid", "same"], [1, 2, 3], [1, 2], [None, "max"]))  # padding, strides, dilation, op


@pytest.mark.parametrize("padding,strides,dilation,op", TRANSPOSE_CONFIGS)
def test_conv_transpose2d_three_way(padding, strides, dilation, op):
    rng = np.random.default_rng(len(str((padding, strides, dilation, op))))
    x, w, b = rng.standard_normal((2, 3, 4, 3)), rng.standard_normal((3, 2, 2, 3)), \
        rng.standard_normal(2)
    opad = None if op is None else (strides - 1, 0)
    st, dl = (strides, strides), (dilation, dilation)
    check_op(lambda x, w, b: sn.ops.conv_transpose2d(x, w, b, strides=strides, padding=padding,
                                                     output_padding=opad,
                                                     dilation_rate=dilation),
             lambda x, w, b: ref.conv_transpose_spread(x, w, b, st, padding, opad, dl),
             [x, w, b])


@pytest.mark.parametrize("padding,strides,op", itertools.product(
    ["valid", "same"], [(1, 2, 1), (2, 1, 3)], [None, (0, 1, 2)]))
def test_conv_transpose3d_three_way(padding, strides, op):
    rng = np.random.default_rng(len(str((padding, strides, op))))
    x, w, b = rng.standard_normal((2, 2, 3, 2, 2)), rng.standard_normal((2, 3, 2, 3, 2)), \
        rng.standard_normal(3)
    op = None if op is None else tuple(min(o, s - 1) for o, s in zip(op, strides))
    check_op(lambda x, w, b: sn.ops.conv_transpose3d(x, w, b, strides=strides, padding=padding,
                                                     output_padding=op),
             lambda x, w, b: ref.conv_transpose_spread(x, w, b, strides, padding, op,
                                                       (1, 1, 1)), [x, w, b])


@pytest.mark.parametrize("padding,strides,dilation", itertools.product(
    ["valid", "same"], [1, 2, 3], [1, 2]))
def test_conv_transpose1d_three_way(padding, strides, dilation):
    rng = np.random.default_rng(strides * 10 + dilation)
    x, w, b = rng.standard_normal((2, 5, 3)), rng.standard_normal((3, 2, 3)), \
        rng.standard_normal(2)
    check_op(lambda x, w, b: sn.ops.conv_transpose1d(x, w, b, strides=strides, padding=padding,
                                                     dilation_rate=dilation),
             lambda x, w, b: ref.conv_transpose_spread(x, w, b, (strides,), padding, None,
                                                       (dilation,)), [x, w, b])


@pytest.mark.parametrize("rank,padding,s,op", [
    c for c in itertools.product([1, 2, 3], ["valid", "same"], [1, 2, 3], [None, 0, 1])
    if c[3] is None or c[3] < c[2]])  # output_padding must be smaller than strides
def test_both_views_of_spec_section6_agree(rank, padding, s, op):
    """Patch spreading and zero insertion + rotated kernel give the same numbers."""
    rng = np.random.default_rng(rank * 100 + s * 10 + (op or 0))
    x, w = rng.standard_normal((1, *(3,) * rank, 2)), rng.standard_normal((*(3,) * rank, 2, 2))
    args = ((s,) * rank, padding, None if op is None else (op,) * rank, (1,) * rank)
    spread = ref.conv_transpose_spread(x, w, None, *args)
    np.testing.assert_allclose(ref.conv_transpose_zero_insert(x, w, None, *args), spread,
                               atol=1e-12)
    np.testing.assert_allclose(sn.ops.conv_transpose(x, w, s, padding, args[2]).numpy(), spread,
                               atol=1e-12)


@pytest.mark.parametrize("strides,padding", [(1, "valid"), (2, "valid"), (2, "same"),
                                              (3, "same")])
def test_conv_transpose_is_the_adjoint_of_conv(strides, padding):
    """<conv(u), x> = <u, conv_transpose(x)> for the conv whose output has x's shape."""
    rng = np.random.default_rng(strides)
    w = rng.standard_normal((3, 3, 2, 4))  # conv: 2 -> 4 channels; transposed: 4 -> 2
    x = rng.standard_normal((2, 4, 5, 4))
    t = sn.ops.conv_transpose(x, w, strides, padding).numpy()  # (2, OH, OW, 2)
    u = rng.standard_normal(t.shape)
    y = sn.ops.conv(u, w, strides, padding).numpy()
    if y.shape != x.shape:  # a 'valid' conv may drop the zero-filled tail cells
        pytest.skip("conv of this size does not come back to x's shape")
    np.testing.assert_allclose(np.sum(y * x), np.sum(u * t), rtol=1e-10)


def test_conv_transpose_of_an_impulse_is_the_kernel():
    x = np.zeros((1, 3, 3, 1))
    x[0, 1, 1, 0] = 1
    k = np.arange(9.0).reshape(3, 3, 1, 1)
    y = sn.ops.conv_transpose(x, k, 2).numpy()[0, :, :, 0]  # (7, 7): patch at 2..4
    np.testing.assert_array_equal(y[2:5, 2:5], k[:, :, 0, 0])
    assert np.count_nonzero(y) == 8  # the kernel's 0 stays 0, nothing else is written


def test_channels_first_and_float32():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 4, 5, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 6, 3)).astype(np.float32)
    last = sn.ops.conv_transpose(x, w, 2, "same")
    assert last.numpy().dtype == np.float32
    first = sn.ops.conv_transpose(np.moveaxis(x, -1, 1), w, 2, "same",
                                  data_format="channels_first")
    np.testing.assert_allclose(first.numpy(), np.moveaxis(last.numpy(), -1, 1), rtol=1e-6)


@pytest.mark.parametrize("call,match", [
    (lambda: sn.ops.conv_transpose(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 2, 3)), 2,
                                   output_padding=2),
     r"output_padding \(2, 2\) must be smaller than strides \(2, 2\)"),
    (lambda: sn.ops.conv_transpose(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 2, 3)), (2, 1),
                                   output_padding=(1, 1)),
     r"output_padding \(1, 1\) must be smaller than strides \(2, 1\)"),
    (lambda: sn.ops.conv_transpose3d(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 3, 2, 3))),
     r"x must have shape \(N, D, H, W, C_in\), got shape \(1, 4, 4, 3\)"),
    (lambda: sn.ops.conv_transpose(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 2, 5))),
     r"expects 5 input channels but x \(1, 4, 4, 3\) has 3"),
    (lambda: sn.ops.conv_transpose(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 2, 3)), 1, "full"),
     r"padding must be 'valid' or 'same'"),
    (lambda: sn.ops.conv_transpose(np.zeros((4, 3)), np.zeros((3, 3))),
     r"inputs must have rank 3, 4 or 5"),
    (lambda: sn.ops.conv_transpose2d(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 2, 3)),
                                     np.zeros(3)), r"bias must have shape \(2,\)"),
    (lambda: sn.ops.conv_transpose1d(np.zeros((1, 1, 1)), np.zeros((2, 1, 1)), strides=2,
                                     padding="same", output_padding=0),
     r"the output would be empty"),
])
def test_conv_transpose_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
