"""Winograd F(4x4, r x r) convolutions: the transforms, and conv2d / its gradients through them.

The kernels pick Winograd for stride-1 3x3 and 5x5 convolutions where it was measured
faster (enough channels; for 3x3 whole tiles); ``winograd.FORCE`` makes small, quickly
checked configurations, including ones whose tiles overhang the output, take it too.
"""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op
from reference import conv as ref
from stridenet.ops.kernels import winograd
from stridenet.ops.kernels.geometry import resolve_padding

pytestmark = pytest.mark.usefixtures("kernel_path")  # every test on both kernel paths


@pytest.fixture
def always_winograd(monkeypatch):
    monkeypatch.setattr(winograd, "FORCE", True)


@pytest.mark.parametrize("r", [3, 5])
def test_1d_transforms_compute_the_correlation_exactly(r):
    m = winograd.OUTPUT_TILE
    at, g, bt = winograd.transforms(m, r)
    assert at.shape == (m, m + r - 1) and g.shape == (m + r - 1, r) and bt.shape == (m + r - 1,) * 2
    rng = np.random.default_rng(r)
    for _ in range(5):
        d, k = rng.integers(-9, 10, m + r - 1), rng.integers(-9, 10, r)
        want = [sum(k[j] * d[i + j] for j in range(r)) for i in range(m)]
        np.testing.assert_allclose(at @ ((g @ k) * (bt @ d)), want, atol=1e-10)


def test_usable_only_where_it_applies():
    one = ((1, 1), (1, 1), 1)  # strides, dilation, groups
    assert winograd.usable((3, 3), *one, 32, 64, (16, 16))
    assert winograd.usable((5, 5), *one, 16, 32, (28, 28))
    assert winograd.usable((5, 5), *one, 32, 32, (7, 5))  # 5x5: overhanging tiles pay too
    assert not winograd.usable((3, 3), *one, 32, 64, (14, 14))  # 3x3: tiles must fit
    assert not winograd.usable((3, 3), *one, 16, 16, (32, 32))  # too few channels for 3x3
    assert not winograd.usable((5, 5), *one, 1, 32, (28, 28))  # too few channels
    assert not winograd.usable((3, 3), (2, 2), (1, 1), 1, 32, 32, (16, 16))  # strided
    assert not winograd.usable((3, 3), (1, 1), (2, 2), 1, 32, 32, (16, 16))  # dilated
    assert not winograd.usable((3, 3), (1, 1), (1, 1), 2, 32, 32, (16, 16))  # grouped
    assert not winograd.usable((3, 5), *one, 32, 32, (16, 16))  # not square
    assert not winograd.usable((7, 7), *one, 32, 32, (16, 16))


CONFIGS = [  # (r, input hw, padding, relu): outputs that are and are not multiples of 4
    (3, (8, 8), "same", False), (3, (7, 9), "valid", True), (3, (6, 5), ((2, 0), (1, 3)), False),
    (5, (8, 8), "same", True), (5, (9, 6), "valid", False), (5, (5, 7), (1, 3), True),
]


@pytest.mark.parametrize("r,hw,padding,relu", CONFIGS)
def test_conv2d_three_way_through_winograd(always_winograd, r, hw, padding, relu):
    rng = np.random.default_rng(hash((r, hw, str(padding))) % 2**32)
    x, w, b = rng.standard_normal((2, *hw, 3)), rng.standard_normal((r, r, 3, 4)), \
        rng.standard_normal(4)
    pads = resolve_padding(padding, hw, (r, r), (1, 1), (1, 1))

    def naive(x, w, b):
        y = ref.conv2d(x, w, b, (1, 1), pads)
        return np.maximum(y, 0) if relu else y

    check_op(lambda x, w, b: sn.ops.conv2d(x, w, b, padding=padding,
                                           activation="relu" if relu else None),
             naive, [x, w, b])


@pytest.mark.parametrize("r", [3, 5])
def test_float32_error_at_realistic_sizes(r):
    """The SPEC model's shapes (C = F = 32, 28x28): Winograd float32 stays near float64."""
    rng = np.random.default_rng(r)
    x = rng.standard_normal((4, 28, 28, 32))
    w = rng.standard_normal((r, r, 32, 32)) / np.sqrt(r * r * 32)  # glorot-like scale
    dy = rng.standard_normal((4, 28, 28, 32))
    assert winograd.usable((r, r), (1, 1), (1, 1), 1, 32, 32, (28, 28))  # the default path
    results = {}
    for dtype in (np.float32, np.float64):
        tx, tw = sn.Tensor(x.astype(dtype), requires_grad=True), \
            sn.Tensor(w.astype(dtype), requires_grad=True)
        y = sn.ops.conv2d(tx, tw, padding="same")
        y.backward(dy.astype(dtype))
        results[dtype] = [y.numpy(), tx.grad, tw.grad]
    for got, want in zip(results[np.float32], results[np.float64]):
        scale = np.abs(want).max()
        assert got.dtype == np.float32
        assert np.abs(got - want).max() <= 2e-5 * scale, (np.abs(got - want).max(), scale)


def test_winograd_and_im2col_agree_on_the_spec_layers(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 14, 14, 32))
    w = rng.standard_normal((3, 3, 32, 64))
    outs = []
    for force in (True, False):  # Winograd, then im2col (14x14 3x3 is im2col by default)
        monkeypatch.setattr(winograd, "FORCE", force)
        tx, tw = sn.Tensor(x, requires_grad=True), sn.Tensor(w, requires_grad=True)
        y = sn.ops.conv2d(tx, tw, padding="same", activation="relu")
        y.backward(np.ones(y.shape))
        outs.append([y.numpy(), tx.grad, tw.grad])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_one_channel_input_with_a_stride_zero_axis(always_winograd):
    """x[..., None] gives the channel axis stride 0; the row transform must not read it."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 8, 9))[..., None]  # (2, 8, 9, 1), channel stride 0
    w = rng.standard_normal((5, 5, 1, 2))
    want = ref.conv2d(np.ascontiguousarray(x), w, None, (1, 1), ((0, 0), (0, 0)))
    np.testing.assert_allclose(sn.ops.conv2d(x, w).numpy(), want, atol=1e-10)
