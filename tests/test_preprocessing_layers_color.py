"""Pixel-value layers: noise, brightness, contrast, grayscale, saturation, hue and the
RGB <-> grayscale / HSV conversions (Keras factor semantics and colour invariants)."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L
from stridenet.data import augment as A
from stridenet.layers.preprocessing import (
    GaussianNoise,
    GrayscaleToRGB,
    HSVToRGB,
    RandomBrightness,
    RandomContrast,
    RandomGrayscale,
    RandomHue,
    RandomSaturation,
    RGBToGrayscale,
    RGBToHSV,
)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((8, 9, 8, 3)).astype(np.float32)


def _hue_turn(before, after):
    """Signed hue change per pixel in turns, in [-1/2, 1/2), from RGB before and after."""
    d = A.rgb_to_hsv(after)[..., 0] - A.rgb_to_hsv(before)[..., 0]
    return np.mod(d + 0.5, 1.0) - 0.5


def test_gaussian_noise_statistics_any_rank_and_gradient():
    x = sn.Tensor(np.zeros((200, 50), np.float32), requires_grad=True)
    y = GaussianNoise(0.5, seed=0)(x, training=True)
    assert abs(float(y.numpy().mean())) < 0.01 and y.numpy().std() == pytest.approx(0.5, 0.02)
    sn.autograd.sum(y * 3.0).backward()  # noise is added with autograd: d/dx = 1
    np.testing.assert_array_equal(x.grad, 3.0)


def test_brightness_adds_a_fraction_of_the_value_range_and_clips(images):
    out = RandomBrightness((0.5, 0.5), value_range=(0, 1))(images, training=True).numpy()
    np.testing.assert_allclose(out, np.clip(images + 0.5, 0, 1), atol=1e-6)
    wide = RandomBrightness(0.1, value_range=(-10, 10), seed=1)(images, training=True).numpy()
    delta = (wide - images).reshape(8, -1)  # one delta per image, within 0.1 * 20
    np.testing.assert_allclose(delta, delta[:, :1].repeat(delta.shape[1], 1), atol=1e-5)
    assert np.all(np.abs(delta) <= 2.0 + 1e-5) and np.ptp(delta[:, 0]) > 0


def test_contrast_scales_deviations_from_the_channel_mean(images):
    out = RandomContrast((0.5, 0.2), value_range=(-100, 100), seed=2)(
        images, training=True).numpy()
    mean = images.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out.mean(axis=(1, 2), keepdims=True), mean, atol=1e-5)
    ratio = ((out - mean) / (images - mean)).reshape(8, -1)
    c = np.median(ratio, axis=1)
    assert np.all((c >= 0.5 - 1e-4) & (c <= 1.2 + 1e-4)) and np.ptp(c) > 0
    clipped = RandomContrast((0.0, 3.0), value_range=(0, 1), seed=2)(images, training=True)
    assert clipped.numpy().min() >= 0 and clipped.numpy().max() <= 1


def test_random_grayscale(images):
    gray = np.repeat(A.rgb_to_grayscale(images), 3, axis=-1)
    np.testing.assert_allclose(RandomGrayscale(1.0)(images, training=True).numpy(), gray,
                               rtol=1e-6)
    np.testing.assert_array_equal(RandomGrayscale(0.0)(images, training=True).numpy(), images)
    single = images[..., :1]
    np.testing.assert_array_equal(RandomGrayscale(1.0)(single, training=True).numpy(), single)


def test_colour_conversion_layers_are_always_on_and_differentiable(images):
    x = sn.Tensor(images, requires_grad=True)
    gray = RGBToGrayscale()(x)
    np.testing.assert_allclose(gray.numpy(), A.rgb_to_grayscale(images), rtol=1e-6)
    sn.autograd.sum(gray).backward()
    np.testing.assert_allclose(x.grad, np.broadcast_to(A.LUMA_WEIGHTS, images.shape),
                               rtol=1e-6)
    rgb = GrayscaleToRGB()(gray)
    assert rgb.shape == (8, 9, 8, 3) and np.array_equal(rgb.numpy()[..., 2], gray.numpy()[..., 0])
    assert RGBToGrayscale().compute_output_shape((None, 9, 8, 3)) == (None, 9, 8, 1)
    with pytest.raises(ValueError, match="3 channels"):
        RGBToGrayscale()(images[..., :2])
    with pytest.raises(ValueError, match="1 channel"):
        GrayscaleToRGB()(images)


# ---------------------------------------------------------------------- saturation
def test_saturation_zero_gives_gray_and_one_half_keeps_the_image(images):
    gray = RandomSaturation((0.0, 0.0), value_range=(0, 1))(images, training=True).numpy()
    np.testing.assert_allclose(gray, np.repeat(images.max(-1, keepdims=True), 3, -1),
                               atol=1e-6)  # every channel equal to V
    same = RandomSaturation((0.5, 0.5), value_range=(0, 1))(images, training=True).numpy()
    np.testing.assert_allclose(same, images, atol=1e-6)
    # in a signed range the gray is taken relative to its low end: channels still equal
    signed = images * 2 - 1
    out = RandomSaturation((0.0, 0.0), value_range=(-1, 1))(signed, training=True).numpy()
    np.testing.assert_allclose(out, np.repeat(signed.max(-1, keepdims=True), 3, -1),
                               atol=1e-6)


@pytest.mark.parametrize("s,scale", [(0.25, 1 / 3), (0.8, 4.0)])
def test_saturation_factor_s_scales_S_by_s_over_one_minus_s(s, scale, images):
    x = images.astype(np.float64)
    out = RandomSaturation((s, s), value_range=(0, 1))(x, training=True).numpy()
    before, after = A.rgb_to_hsv(x), A.rgb_to_hsv(out)
    np.testing.assert_allclose(after[..., 1], np.minimum(before[..., 1] * scale, 1),
                               atol=1e-12)
    np.testing.assert_allclose(after[..., 2], before[..., 2], atol=1e-12)  # V kept
    np.testing.assert_allclose(_hue_turn(x, out), 0, atol=1e-9)  # hue kept


def test_full_saturation_keeps_grays(images):
    x = images.copy()
    x[:, :3] = x[:, :3, :, :1]  # three gray rows in every image
    out = RandomSaturation((1.0, 1.0), value_range=(0, 1))(x, training=True).numpy()
    sat = A.rgb_to_hsv(out)[..., 1]
    np.testing.assert_allclose(sat[:, 3:], 1.0, atol=1e-6)
    np.testing.assert_allclose(out[:, :3], x[:, :3], atol=1e-6)


def test_saturation_draws_one_factor_per_image_within_the_range(images):
    x = images.astype(np.float64)
    out = RandomSaturation((0.1, 0.6), value_range=(0, 1), seed=3)(x, training=True).numpy()
    before, after = A.rgb_to_hsv(x)[..., 1], A.rgb_to_hsv(out)[..., 1]
    assert before.min() > 0  # no gray pixel in the fixture
    ratio = np.where(after < 1, after / before, np.nan).reshape(8, -1)  # nan: clipped at 1
    per_image = np.nanmedian(ratio, axis=1)
    assert np.all(np.isfinite(per_image))
    np.testing.assert_allclose(ratio, np.broadcast_to(per_image[:, None], ratio.shape),
                               rtol=1e-9)  # the nan cells match nan (equal_nan)
    assert np.all((per_image >= 0.1 / 0.9 - 1e-9) & (per_image <= 0.6 / 0.4 + 1e-9))
    assert np.ptp(per_image) > 0.1
    # a single number f draws s in [0, f], as in Keras: f = 0.2 only desaturates
    low = RandomSaturation(0.2, value_range=(0, 1), seed=4)(x, training=True).numpy()
    assert np.all(A.rgb_to_hsv(low)[..., 1] <= before * 0.25 + 1e-9)


# ----------------------------------------------------------------------------- hue
def test_hue_factor_zero_is_identity_and_half_turns_add_up_to_a_full_turn(images):
    x = images.astype(np.float64)
    np.testing.assert_allclose(RandomHue(0.0, value_range=(0, 1))(x, training=True).numpy(),
                               x, atol=1e-12)
    half = RandomHue((1.0, 1.0), value_range=(0, 1), seed=0)
    once = half(x, training=True).numpy()
    np.testing.assert_allclose(np.abs(_hue_turn(x, once)), 0.5, atol=1e-9)
    assert not np.allclose(once, x)
    np.testing.assert_allclose(half(once, training=True).numpy(), x, atol=1e-12)


def test_hue_turns_each_image_by_half_the_factor_in_both_directions():
    x = np.random.default_rng(1).random((64, 4, 4, 3))
    out = RandomHue((0.4, 0.4), value_range=(0, 1), seed=7)(x, training=True).numpy()
    turn = _hue_turn(x, out).reshape(64, -1)  # every pixel of x has some saturation
    np.testing.assert_allclose(np.abs(turn), 0.2, atol=1e-9)
    signs = np.sign(turn[:, 0])
    np.testing.assert_array_equal(np.sign(turn), signs[:, None].repeat(16, 1))
    assert 16 < np.sum(signs > 0) < 48  # each direction with probability 1/2
    wide = RandomHue(0.6, value_range=(0, 1), seed=8)(x, training=True).numpy()
    amount = np.abs(_hue_turn(x, wide))
    assert amount.max() <= 0.3 + 1e-9 and np.ptp(amount.reshape(64, -1)[:, 0]) > 0.1


def test_hue_and_saturation_respect_the_value_range_and_scale(images):
    x255 = (images * 255).astype(np.float32)
    for make in (lambda r, s: RandomHue(0.7, value_range=r, seed=s),
                 lambda r, s: RandomSaturation((0.3, 1.0), value_range=r, seed=s)):
        big = make((0, 255), 5)(x255, training=True).numpy()
        unit = make((0, 1), 5)(images, training=True).numpy()
        assert big.min() >= 0 and big.max() <= 255
        np.testing.assert_allclose(big, unit * 255, atol=1e-3)
        # values outside the range are clipped to it first; the result stays inside it
        narrow = make((0.2, 0.8), 5)(images, training=True).numpy()
        assert narrow.min() >= 0.2 and narrow.max() <= 0.8
        np.testing.assert_allclose(
            narrow, make((0.2, 0.8), 5)(np.clip(images, 0.2, 0.8), training=True).numpy())


def test_grays_stay_gray_and_colour_layers_need_rgb(images):
    gray = np.repeat(images[..., :1], 3, axis=-1)
    for layer in (RandomHue(1.0, value_range=(0, 1), seed=0),
                  RandomSaturation(1.0, value_range=(0, 1), seed=0)):
        np.testing.assert_allclose(layer(gray, training=True).numpy(), gray, atol=1e-6)
        with pytest.raises(ValueError, match="3 channels"):
            type(layer)(0.5)(images[..., :1], training=True)


# ----------------------------------------------------------------------------- HSV
def test_hsv_conversion_layers(images):
    hsv = RGBToHSV()(images)
    np.testing.assert_array_equal(hsv.numpy(), A.rgb_to_hsv(images))  # always on
    np.testing.assert_array_equal(RGBToHSV()(images, training=True).numpy(), hsv.numpy())
    np.testing.assert_allclose(HSVToRGB()(hsv).numpy(), images, atol=1e-6)
    np.testing.assert_allclose(HSVToRGB()(RGBToHSV()(images[0])).numpy(), images[0],
                               atol=1e-6)  # a single image
    x64 = images.astype(np.float64) * 255  # V keeps the units; float64 stays float64
    back = HSVToRGB()(RGBToHSV()(x64))
    assert back.dtype == np.float64
    np.testing.assert_allclose(back.numpy(), x64, atol=1e-9)
    assert RGBToHSV().compute_output_shape((None, 9, 8, 3)) == (None, 9, 8, 3)
    with pytest.raises(ValueError, match="3 channels"):
        RGBToHSV()(images[..., :2])
    with pytest.raises(ValueError, match="3 channels"):
        HSVToRGB()(images[..., :1])
    with pytest.raises(ValueError, match=">= 0"):
        RGBToHSV()(images - 0.5)
    with pytest.raises(ValueError, match="first in the model"):
        RGBToHSV()(sn.Tensor(images, requires_grad=True))


def test_hsv_layers_in_a_functional_model_and_config():
    inputs = L.Input((5, 5, 3))
    hsv = RGBToHSV(name="to_hsv")(inputs)
    assert hsv.shape == (None, 5, 5, 3)
    model = sn.Model(inputs, HSVToRGB()(hsv))
    x = np.random.default_rng(2).random((2, 5, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), x, atol=1e-6)
    clone = RGBToHSV.from_config(RGBToHSV(name="to_hsv2").get_config())
    assert isinstance(clone, RGBToHSV) and clone.name == "to_hsv2"
