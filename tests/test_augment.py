"""Augmentation: determinism, invariants, exact oracles (np.rot90, np.pad, colorsys), dtypes."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from stridenet.data import augment as A

RANDOM_FNS = {
    "random_flip": lambda x, s: A.random_flip(x, "horizontal_and_vertical", seed=s),
    "random_crop": lambda x, s: A.random_crop(x, padding=2, seed=s),
    "random_crop_smaller": lambda x, s: A.random_crop(x, 5, 4, seed=s),
    "random_translate": lambda x, s: A.random_translate(x, 0.2, 0.2, seed=s),
    "random_rotation": lambda x, s: A.random_rotation(x, 30, seed=s),
    "random_zoom": lambda x, s: A.random_zoom(x, 0.3, seed=s),
    "random_zoom_xy": lambda x, s: A.random_zoom(x, 0.3, (-0.2, 0.4), seed=s),
    "gaussian_noise": lambda x, s: A.gaussian_noise(x, 0.1, seed=s),
    "random_gaussian_noise": lambda x, s: A.random_gaussian_noise(x, 0.2, seed=s),
    "random_brightness": lambda x, s: A.random_brightness(x, 0.2, seed=s),
    "random_contrast": lambda x, s: A.random_contrast(x, 0.5, seed=s),
    "random_saturation": lambda x, s: A.random_saturation(x, 0.5, seed=s),
    "random_hue": lambda x, s: A.random_hue(x, 0.2, seed=s),
}


@pytest.fixture
def batch():
    return np.random.default_rng(0).random((6, 9, 8, 3)).astype(np.float32)


@pytest.mark.parametrize("name", sorted(RANDOM_FNS))
def test_same_seed_same_output_different_seed_differs(name, batch):
    fn = RANDOM_FNS[name]
    before = batch.copy()
    a, b, c = fn(batch, 3), fn(batch, 3), fn(batch, 4)
    np.testing.assert_array_equal(a, b)  # bit-identical
    assert not np.array_equal(a, c)
    g1, g2 = np.random.default_rng(11), np.random.default_rng(11)
    np.testing.assert_array_equal(fn(batch, g1), fn(batch, g2))
    np.testing.assert_array_equal(batch, before)  # the input is left alone


@pytest.mark.parametrize("name", sorted(RANDOM_FNS))
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_dtypes_and_shapes(name, dtype, batch):
    x = (batch * 255).astype(dtype) if dtype == np.uint8 else batch.astype(dtype)
    out = RANDOM_FNS[name](x, 0)
    assert out.dtype == (np.float64 if dtype == np.float64 else np.float32)
    expected = (6, 5, 4, 3) if name == "random_crop_smaller" else x.shape
    assert out.shape == expected


# ------------------------------------------------------------------------- geometry

def test_flips(batch):
    np.testing.assert_array_equal(A.flip_left_right(A.flip_left_right(batch)), batch)
    np.testing.assert_array_equal(A.flip_up_down(A.flip_up_down(batch)), batch)
    np.testing.assert_array_equal(A.flip_left_right(batch), batch[:, :, ::-1])
    np.testing.assert_array_equal(A.flip_up_down(batch), batch[:, ::-1])


def test_random_flip_flips_each_image_or_not(batch):
    x = np.repeat(batch[:1], 64, axis=0)
    out = A.random_flip(x, "horizontal", seed=1)
    flipped = np.all(out == x[:, :, ::-1], axis=(1, 2, 3))
    kept = np.all(out == x, axis=(1, 2, 3))
    assert np.all(flipped ^ kept) and 10 < flipped.sum() < 54  # per image, about half
    np.testing.assert_array_equal(A.random_flip(x, "vertical", probability=1.0, seed=0),
                                  x[:, ::-1])
    np.testing.assert_array_equal(A.random_flip(x, probability=0.0, seed=0), x)


@pytest.mark.parametrize("interp", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill", ["constant", "nearest", "reflect", "mirror", "wrap"])
def test_zero_rotation_and_unit_zoom_are_identities(batch, interp, fill):
    np.testing.assert_array_equal(A.rotate(batch, 0, interp, fill), batch)
    np.testing.assert_array_equal(A.random_rotation(batch, 0, interp, fill, seed=1), batch)
    np.testing.assert_array_equal(A.zoom(batch, 1.0, interpolation=interp, fill_mode=fill),
                                  batch)
    np.testing.assert_array_equal(A.random_zoom(batch, 0.0, interpolation=interp,
                                                fill_mode=fill, seed=2), batch)
    np.testing.assert_array_equal(A.translate(batch, 0, 0, interp, fill), batch)


@pytest.mark.parametrize("size", [6, 7])
@pytest.mark.parametrize("interp", ["bilinear", "nearest"])
def test_quarter_turns_match_rot90(size, interp):
    x = np.random.default_rng(1).random((3, size, size, 2))
    for k in (1, 2, 3, 4):
        want = np.rot90(x, k, axes=(1, 2))  # counter-clockwise as displayed
        np.testing.assert_allclose(A.rotate(x, 90 * k, interp), want, atol=1e-9)
        np.testing.assert_allclose(A.rotate(x, -90 * k, interp), np.rot90(x, -k, axes=(1, 2)),
                                   atol=1e-9)


def test_per_image_angles():
    x = np.random.default_rng(2).random((2, 5, 5, 1))
    out = A.rotate(x, np.array([90.0, 180.0]))
    np.testing.assert_allclose(out[0], np.rot90(x[0], 1), atol=1e-9)
    np.testing.assert_allclose(out[1], np.rot90(x[1], 2), atol=1e-9)


@pytest.mark.parametrize("fill, pad_mode", [("constant", "constant"), ("nearest", "edge"),
                                            ("reflect", "symmetric"), ("mirror", "reflect"),
                                            ("wrap", "wrap")])
@pytest.mark.parametrize("dy, dx", [(2, -3), (-4, 1), (0, 5)])
def test_integer_translation_matches_np_pad(fill, pad_mode, dy, dx, batch):
    p = 6
    kw = dict(constant_values=0.5) if pad_mode == "constant" else {}
    padded = np.pad(batch, ((0, 0), (p, p), (p, p), (0, 0)), mode=pad_mode, **kw)
    h, w = batch.shape[1:3]
    want = padded[:, p - dy:p - dy + h, p - dx:p - dx + w]  # out[y, x] = in[y - dy, x - dx]
    for interp in ("bilinear", "nearest"):
        out = A.translate(batch, dy, dx, interp, fill, fill_value=0.5)
        np.testing.assert_array_equal(out, want)


def test_fractional_translation_interpolates_a_ramp():
    ramp = np.tile(np.arange(10.0), (1, 10, 1)).reshape(1, 10, 10, 1)  # value = column
    out = A.translate(ramp, 0, 0.25, "bilinear", "nearest")
    np.testing.assert_allclose(out[0, :, 1:, 0],
                               np.broadcast_to(np.arange(1, 10) - 0.25, (10, 9)))
    assert out[0, 0, 0, 0] == 0.0  # the edge is repeated


def test_zoom_scales_about_the_centre():
    ramp = np.tile(np.arange(9.0), (1, 9, 1)).reshape(1, 9, 9, 1)  # centre column 4
    out = A.zoom(ramp, 2.0)  # source = c + (p - c) / 2
    np.testing.assert_allclose(out[0, 0, :, 0], 4 + (np.arange(9) - 4) / 2)
    out = A.zoom(ramp, 1.0, 0.5, fill_mode="constant", fill_value=-1.0)  # shrink columns
    np.testing.assert_allclose(out[0, 0, 2:7, 0], 4 + (np.arange(2, 7) - 4) * 2)
    assert np.all(out[0, :, [0, 1, 7, 8], 0] == -1.0)


def test_random_zoom_follows_keras_sign():
    # a positive factor zooms out: the field of view grows, so the border fills in
    x = np.ones((4, 10, 10, 1), np.float32)
    out = A.random_zoom(x, (0.5, 0.6), fill_mode="constant", seed=0)
    assert np.all(out[:, 0, 0] == 0) and np.all(out[:, 5, 5] == 1)
    out = A.random_zoom(x, (-0.5, -0.4), fill_mode="constant", seed=0)  # zoom in: no border
    np.testing.assert_allclose(out, 1.0, rtol=1e-6)


def test_crops(batch):
    np.testing.assert_array_equal(A.random_crop(batch, seed=0), batch)
    np.testing.assert_array_equal(A.center_crop(batch, 5, 4), batch[:, 2:7, 2:6])
    out = A.random_crop(batch, padding=3, fill_value=-1.0, seed=5)
    padded = np.pad(batch, ((0, 0), (3, 3), (3, 3), (0, 0)), constant_values=-1.0)
    offsets = []
    for i in range(len(batch)):  # each output is some window of the padded image
        hits = [(t, l) for t in range(7) for l in range(7)
                if np.array_equal(padded[i, t:t + 9, l:l + 8], out[i])]
        assert hits
        offsets.append(hits[0])
    assert len(set(offsets)) > 1
    np.testing.assert_array_equal(A.crop(batch, [0, 1, 0, 1, 0, 1], 2, 3, 3)[1],
                                  batch[1, 1:4, 2:5])


# ------------------------------------------------------------------------------ noise

def test_gaussian_noise_statistics():
    x = np.zeros((4, 64, 64, 3), np.float32)
    out = A.gaussian_noise(x, 2.0, mean=1.0, seed=0)
    assert abs(out.mean() - 1.0) < 0.03 and abs(out.std() - 2.0) < 0.03
    per = A.gaussian_noise(x, np.array([0.0, 1.0, 2.0, 4.0]), seed=0)
    assert np.all(per[0] == 0)
    np.testing.assert_allclose(per.std(axis=(1, 2, 3))[1:], [1, 2, 4], rtol=0.03)
    clipped = A.gaussian_noise(x, 1.0, value_range=(0, 1), seed=0)
    assert clipped.min() == 0 and clipped.max() == 1
    sds = A.random_gaussian_noise(x, (0.5, 1.5), seed=3).std(axis=(1, 2, 3))
    assert np.all((sds > 0.45) & (sds < 1.55)) and np.ptp(sds) > 0.01


# ----------------------------------------------------------------------------- colour

def test_grayscale():
    rng = np.random.default_rng(3)
    gray = np.repeat(rng.random((2, 4, 5, 1)), 3, axis=-1)
    np.testing.assert_allclose(A.rgb_to_grayscale(gray), gray[..., :1], rtol=1e-12)
    np.testing.assert_allclose(A.rgb_to_grayscale(A.grayscale_to_rgb(gray[..., :1])),
                               gray[..., :1], rtol=1e-12)
    px = np.eye(3).reshape(1, 1, 3, 3)  # pure red, green, blue
    np.testing.assert_allclose(A.rgb_to_grayscale(px)[0, 0, :, 0], A.LUMA_WEIGHTS)
    assert A.grayscale_to_rgb(np.zeros((1, 2, 2, 1), np.uint8)).shape == (1, 2, 2, 3)


def test_hsv_matches_colorsys_and_round_trips():
    rng = np.random.default_rng(4)
    x = rng.random((2, 10, 10, 3))
    x[0, 0, :3] = [[0.5, 0.5, 0.5], [0, 0, 0], [1, 0, 0]]  # gray, black, pure red
    hsv = A.rgb_to_hsv(x)
    want = np.array([colorsys.rgb_to_hsv(*p) for p in x.reshape(-1, 3)]).reshape(x.shape)
    np.testing.assert_allclose(hsv, want, atol=1e-12)
    back = np.array([colorsys.hsv_to_rgb(*p) for p in want.reshape(-1, 3)]).reshape(x.shape)
    np.testing.assert_allclose(A.hsv_to_rgb(hsv), back, atol=1e-12)
    np.testing.assert_allclose(A.hsv_to_rgb(hsv), x, atol=1e-12)
    x32 = x.astype(np.float32) * 255  # uint8-like scale: H and S unchanged, V scales
    hsv32 = A.rgb_to_hsv(x32)
    np.testing.assert_allclose(hsv32[..., :2], hsv[..., :2], atol=1e-5)
    np.testing.assert_allclose(A.hsv_to_rgb(hsv32), x32, rtol=1e-5, atol=1e-3)


def test_hue_and_saturation():
    red = np.zeros((1, 2, 2, 3))
    red[..., 0] = 0.8
    np.testing.assert_allclose(A.adjust_hue(red, 1 / 3)[..., 1], 0.8, atol=1e-12)  # -> green
    np.testing.assert_allclose(A.adjust_hue(red, 1 / 3)[..., [0, 2]], 0.0, atol=1e-12)
    x = np.random.default_rng(5).random((3, 4, 4, 3))
    np.testing.assert_allclose(A.adjust_hue(x, 0.0), x, atol=1e-12)
    np.testing.assert_allclose(A.adjust_hue(x, 1.0), x, atol=1e-12)
    np.testing.assert_allclose(A.adjust_saturation(x, 1.0), x, atol=1e-12)
    gray = A.adjust_saturation(x, 0.0)
    np.testing.assert_allclose(gray, np.repeat(x.max(-1, keepdims=True), 3, -1), atol=1e-12)
    full = A.rgb_to_hsv(A.adjust_saturation(x, 100.0))
    np.testing.assert_allclose(full[..., 1], 1.0, atol=1e-12)  # saturation clipped at 1


def test_brightness_and_contrast():
    x = np.random.default_rng(6).random((3, 5, 5, 3))
    np.testing.assert_allclose(A.adjust_brightness(x, [0.1, 0.0, -0.2]) - x,
                               np.array([0.1, 0.0, -0.2]).reshape(3, 1, 1, 1) + 0 * x)
    u8 = np.full((1, 2, 2, 1), 250, np.uint8)
    assert A.adjust_brightness(u8, 10).max() == 260.0  # no uint8 wrap-around
    assert A.adjust_brightness(u8, 10, value_range=(0, 255)).max() == 255.0
    np.testing.assert_allclose(A.adjust_contrast(x, 1.0), x, atol=1e-12)
    flat = A.adjust_contrast(x, 0.0)
    np.testing.assert_allclose(flat, np.broadcast_to(x.mean(axis=(1, 2), keepdims=True),
                                                     x.shape), atol=1e-12)
    doubled = A.adjust_contrast(x, 2.0)
    np.testing.assert_allclose(doubled.mean(axis=(1, 2)), x.mean(axis=(1, 2)), atol=1e-12)
    np.testing.assert_allclose(doubled.std(axis=(1, 2)), 2 * x.std(axis=(1, 2)), atol=1e-12)


def test_random_colour_parameters_are_per_image_and_in_range():
    x = np.full((32, 3, 3, 3), 0.5)
    deltas = A.random_brightness(x, (0.1, 0.3), seed=0)[:, 0, 0, 0] - 0.5
    assert np.all((deltas >= 0.1) & (deltas <= 0.3)) and len(np.unique(deltas)) == 32
    y = np.random.default_rng(7).random((32, 4, 4, 3))
    f = A.random_contrast(y, (0.5, 0.6), seed=1).std(axis=(1, 2)) / y.std(axis=(1, 2))
    assert np.all((f >= 0.5 - 1e-9) & (f <= 0.6 + 1e-9)) and np.ptp(f) > 0.01


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: A.rotate(np.zeros((4, 4, 3)), 10), ValueError, r"\(N, H, W, C\), got shape"),
    (lambda: A.rgb_to_hsv(np.zeros((1, 4, 4, 1))), ValueError, "3 channel"),
    (lambda: A.rgb_to_hsv(-np.ones((1, 2, 2, 3))), ValueError, ">= 0"),
    (lambda: A.grayscale_to_rgb(np.zeros((1, 4, 4, 3))), ValueError, "1 channel"),
    (lambda: A.random_flip(np.zeros((1, 2, 2, 1)), "diagonal"), ValueError, "mode must be"),
    (lambda: A.rotate(np.zeros((1, 2, 2, 1)), 5, fill_mode="edge"), ValueError, "fill_mode"),
    (lambda: A.rotate(np.zeros((1, 2, 2, 1)), 5, "cubic"), ValueError, "interpolation"),
    (lambda: A.rotate(np.zeros((2, 2, 2, 1)), [1, 2, 3]), ValueError, r"shape \(2,\)"),
    (lambda: A.random_translate(np.zeros((1, 2, 2, 1)), 1.5, 0), ValueError, "height_factor"),
    (lambda: A.random_zoom(np.zeros((1, 2, 2, 1)), (-1.0, 0.2)), ValueError, "above -1"),
    (lambda: A.random_rotation(np.zeros((1, 2, 2, 1)), (10, 5)), ValueError, "low <= high"),
    (lambda: A.random_crop(np.zeros((1, 4, 4, 1)), 5, 5), ValueError, "height must be"),
    (lambda: A.gaussian_noise(np.zeros((1, 2, 2, 1)), -1.0), ValueError, "stddev"),
    (lambda: A.adjust_contrast(np.zeros((1, 2, 2, 1)), -1.0), ValueError, "factor"),
    (lambda: A.random_hue(np.zeros((1, 2, 2, 3)), 0.7), ValueError, "max_delta"),
    (lambda: A.flip_left_right(np.zeros((1, 2, 2, 1), bool)), TypeError, "real numbers"),
    (lambda: A.random_flip(np.zeros((1, 2, 2, 1)), seed=-1), ValueError, "seed"),
    (lambda: A.adjust_brightness(np.zeros((1, 2, 2, 1)), 1, value_range=(1, 0)), ValueError,
     "low < high"),
])
def test_argument_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
