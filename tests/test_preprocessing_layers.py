"""Keras-style augmentation layers: inference identity, seeding, Keras factor semantics,
shapes and dtypes, configs, and their place at the front of a trainable model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stridenet as sn
from oracle_stats import record
from stridenet import layers as L
from stridenet.data import augment as A
from stridenet.layers.preprocessing import (
    GaussianNoise,
    GrayscaleToRGB,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomGrayscale,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    RGBToGrayscale,
)

CUSTOM = {c.__name__: c for c in (
    GaussianNoise, GrayscaleToRGB, RandomBrightness, RandomContrast, RandomCrop, RandomFlip,
    RandomGrayscale, RandomRotation, RandomTranslation, RandomZoom, RGBToGrayscale)}

# one factory per random layer, with factors large enough to change every batch
FACTORIES = {
    "translation": lambda seed=None: RandomTranslation(0.2, (-0.1, 0.3), seed=seed),
    "rotation": lambda seed=None: RandomRotation(0.1, fill_mode="constant", seed=seed),
    "zoom": lambda seed=None: RandomZoom((-0.3, 0.2), (0.1, 0.4), seed=seed),
    "flip": lambda seed=None: RandomFlip(seed=seed),
    "crop": lambda seed=None: RandomCrop(6, 5, seed=seed),
    "noise": lambda seed=None: GaussianNoise(0.1, seed=seed),
    "brightness": lambda seed=None: RandomBrightness(0.3, value_range=(0, 1), seed=seed),
    "contrast": lambda seed=None: RandomContrast(0.5, value_range=(0, 1), seed=seed),
    "grayscale": lambda seed=None: RandomGrayscale(0.5, seed=seed),
}


@pytest.fixture
def images():
    return np.random.default_rng(0).random((8, 9, 8, 3)).astype(np.float32)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_identity_in_inference(name, images):
    layer = FACTORIES[name](seed=1)
    x = images[:, :6, :5] if name == "crop" else images  # crop: input of the target size
    for training in (False, None):
        np.testing.assert_array_equal(layer(x, training=training).numpy(), x)
    out = layer(images, training=True).numpy()
    assert out.shape != images.shape or not np.array_equal(out, images)


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_shape_and_dtype(name, dtype, images):
    x = (images * 255).astype(dtype) if dtype == np.uint8 else images.astype(dtype)
    layer = FACTORIES[name](seed=2)
    out = layer(x, training=True)
    expected = (8, 6, 5, 3) if name == "crop" else x.shape
    assert out.shape == expected == layer.compute_output_shape(x.shape)
    assert out.dtype == (np.float64 if dtype == np.float64 else np.float32)
    # a single (H, W, C) image works too
    assert layer(x[0], training=True).shape == expected[1:]


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_seeded_determinism(name, images):
    a, b = FACTORIES[name](seed=5), FACTORIES[name](seed=5)
    first = a(images, training=True).numpy()
    np.testing.assert_array_equal(first, b(images, training=True).numpy())
    # the layer's stream moves on: the next batch is augmented differently
    assert not np.array_equal(first, a(images, training=True).numpy())
    assert not np.array_equal(first, FACTORIES[name](seed=6)(images, training=True).numpy())
    # seed=None draws from the global generator, which set_random_seed resets
    sn.utils.set_random_seed(11)
    g1 = FACTORIES[name]()(images, training=True).numpy()
    sn.utils.set_random_seed(11)
    np.testing.assert_array_equal(g1, FACTORIES[name]()(images, training=True).numpy())


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_config_round_trip(name, images):
    layer = FACTORIES[name](seed=3)
    cfg = json.loads(json.dumps(layer.get_config()))  # JSON-able
    clone = type(layer).from_config(cfg)
    assert clone.get_config() == cfg
    fresh = FACTORIES[name](seed=3)
    np.testing.assert_array_equal(clone(images, training=True).numpy(),
                                  fresh(images, training=True).numpy())


# ---------------------------------------------------------------- Keras semantics
def test_layers_draw_like_the_augment_functions(images):
    """Factor conversions: the layer equals the augment function with the Keras ranges."""
    def same(layer, fn):
        np.testing.assert_array_equal(layer(images, training=True).numpy(),
                                      fn(np.random.default_rng(9)))

    same(RandomRotation((-0.1, 0.05), seed=9),  # fractions of 2*pi = 360 degrees
         lambda g: A.random_rotation(images, (-36.0, 18.0), fill_mode="reflect", seed=g))
    same(RandomTranslation(0.2, 0.1, fill_mode="wrap", interpolation="nearest", seed=9),
         lambda g: A.random_translate(images, 0.2, 0.1, "nearest", "wrap", seed=g))
    same(RandomZoom(0.3, seed=9),
         lambda g: A.random_zoom(images, 0.3, None, fill_mode="reflect", seed=g))
    same(RandomFlip("vertical", seed=9), lambda g: A.random_flip(images, "vertical", seed=g))


def test_rotation_quarter_turn_is_counter_clockwise():
    x = np.random.default_rng(1).random((2, 7, 7, 2)).astype(np.float32)
    out = RandomRotation((0.25, 0.25), seed=0)(x, training=True).numpy()
    # np.rot90 over (rows, cols) turns counter-clockwise as displayed (rows pointing down)
    np.testing.assert_allclose(out, np.rot90(x, 1, axes=(1, 2)), atol=1e-5)


def test_translation_factor_is_a_fraction_of_the_size_positive_down_and_right():
    x = np.random.default_rng(2).random((1, 8, 12, 1)).astype(np.float32)
    down = RandomTranslation((0.25, 0.25), 0.0, fill_mode="constant")(x, training=True)
    np.testing.assert_allclose(down.numpy()[:, 2:], x[:, :-2], atol=1e-6)
    np.testing.assert_array_equal(down.numpy()[:, :2], 0)
    right = RandomTranslation(0.0, (0.25, 0.25), fill_mode="constant")(x, training=True)
    np.testing.assert_allclose(right.numpy()[:, :, 3:], x[:, :, :-3], atol=1e-6)


def test_zoom_positive_factor_zooms_out():
    ones = np.ones((1, 16, 16, 1), np.float32)
    out = RandomZoom((1.0, 1.0), fill_mode="constant", interpolation="nearest")(
        ones, training=True).numpy()
    # twice the field of view: the picture fills the central half of each axis
    assert out.sum() == pytest.approx(ones.sum() / 4, rel=0.15)
    assert out[0, 0, 0, 0] == 0 and out[0, 8, 8, 0] == 1
    zoom_in = RandomZoom((-0.5, -0.5), fill_mode="constant")(ones, training=True).numpy()
    np.testing.assert_allclose(zoom_in, 1.0, atol=1e-6)  # nothing from outside shows


@pytest.mark.parametrize("mode,axis", [("horizontal", 2), ("vertical", 1)])
def test_flip_modes(mode, axis, images):
    out = RandomFlip(mode, seed=4)(images, training=True).numpy()
    flipped = np.flip(images, axis=axis)
    kept = [np.array_equal(o, i) for o, i in zip(out, images)]
    turned = [np.array_equal(o, f) for o, f in zip(out, flipped)]
    assert all(k or t for k, t in zip(kept, turned)) and any(kept) and any(turned)


def test_random_crop_takes_a_window_of_each_image(images):
    out = RandomCrop(6, 5, seed=0)(images, training=True).numpy()
    offsets = []
    for o, img in zip(out, images):
        hits = [(t, l) for t in range(4) for l in range(4)
                if np.array_equal(img[t:t + 6, l:l + 5], o)]
        assert len(hits) == 1
        offsets.append(hits[0])
    assert len(set(offsets)) > 1  # each image draws its own window


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 2), h=st.integers(2, 12), w=st.integers(2, 12),
       th=st.integers(1, 12), tw=st.integers(1, 12), c=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_random_crop_inference_resize_matches_torch(torch, n, h, w, th, tw, c, seed):
    """Keras inference: the largest centred window with the target aspect ratio, resized
    bilinearly (half-pixel centres) -- PyTorch's interpolate(align_corners=False)."""
    x = np.random.default_rng(seed).random((n, h, w, c))
    ours = RandomCrop(th, tw)(x).numpy()
    ch, cw = max(1, min(h, int(w * th / tw))), max(1, min(w, int(h * tw / th)))
    top, left = (h - ch) // 2, (w - cw) // 2
    window = torch.from_numpy(x[:, top:top + ch, left:left + cw]).permute(0, 3, 1, 2)
    theirs = torch.nn.functional.interpolate(window, size=(th, tw), mode="bilinear",
                                             align_corners=False)
    theirs = theirs.permute(0, 2, 3, 1).numpy()  # (N, th, tw, C)
    record("RandomCrop inference resize", (ours, theirs))
    assert ours.shape == (n, th, tw, c)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)
    # in training a window larger than the image falls back to the same resize
    if th > h or tw > w:
        np.testing.assert_array_equal(RandomCrop(th, tw, seed=0)(x, training=True).numpy(),
                                      ours)


def test_random_crop_resize_halves_by_averaging():
    x = np.random.default_rng(3).random((2, 8, 8, 1)).astype(np.float32)
    out = RandomCrop(4, 4)(x).numpy()  # 2x downscale: each cell reads the 2x2 block centre
    np.testing.assert_allclose(out, x.reshape(2, 4, 2, 4, 2, 1).mean(axis=(2, 4)), atol=1e-6)


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


@pytest.mark.parametrize("make,pattern", [
    (lambda: RandomTranslation(1.5, 0.1), "height_factor"),
    (lambda: RandomTranslation(0.1, (0.3, 0.1)), "low <= high"),
    (lambda: RandomRotation("a lot"), "factor"),
    (lambda: RandomRotation(0.1, fill_mode="edge"), "fill_mode"),
    (lambda: RandomRotation(0.1, interpolation="bicubic"), "interpolation"),
    (lambda: RandomZoom((-1.0, 0.2)), "above -1"),
    (lambda: RandomFlip("diagonal"), "mode"),
    (lambda: RandomCrop(0, 4), "height"),
    (lambda: RandomCrop(4, 2.5), "width"),
    (lambda: GaussianNoise(-0.1), "stddev"),
    (lambda: RandomBrightness(1.5), "factor"),
    (lambda: RandomBrightness(0.1, value_range=(1, 0)), "value_range"),
    (lambda: RandomBrightness(0.1, value_range=255), "value_range"),
    (lambda: RandomContrast((1.5, 0.1)), "lower factor"),
    (lambda: RandomGrayscale(2.0), "factor"),
    (lambda: RandomFlip(seed=-1), "seed"),
    (lambda: RandomFlip(seed=1.5), "seed"),
])
def test_bad_arguments_name_the_argument(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


def test_image_layers_reject_non_images():
    with pytest.raises(ValueError, match="expects images"):
        RandomFlip()(np.zeros((4, 10)), training=True)


# ----------------------------------------------------------------- inside a model
def _augmented_model():
    return sn.Sequential([
        L.Input((12, 12, 1)),
        RandomTranslation(0.1, 0.1, seed=1),
        RandomRotation(0.05, seed=2),
        RandomZoom(0.1, seed=3),
        GaussianNoise(0.05, seed=4),
        L.Conv2D(4, 3, activation="relu"),
        L.Flatten(),
        L.Dense(3, activation="softmax"),
    ])


def test_in_a_sequential_model_summary_predict_and_config(capsys):
    model = _augmented_model()
    model.summary()
    out = capsys.readouterr().out
    assert "random_rotation" in out and "(RandomTranslation)" in out
    x = np.random.default_rng(5).random((4, 12, 12, 1)).astype(np.float32)
    # inference skips the augmentation: the same as the trainable layers alone
    plain = sn.Sequential([L.Input((12, 12, 1)), *model.layers[4:]])
    np.testing.assert_array_equal(model.predict(x, verbose=0), plain.predict(x, verbose=0))
    assert not np.allclose(model(x, training=True).numpy(), model(x).numpy())
    clone = sn.Sequential.from_config(json.loads(json.dumps(model.get_config())),
                                      custom_objects=CUSTOM)
    assert [type(l) for l in clone.layers] == [type(l) for l in model.layers]
    assert clone.layers[0].get_config()["height_factor"] == [-0.1, 0.1]


def test_a_crop_first_in_a_functional_model():
    inputs = L.Input((10, 10, 3))
    y = RandomCrop(8, 8, seed=0)(inputs)
    assert y.shape == (None, 8, 8, 3)
    model = sn.Model(inputs, L.Dense(2)(L.Flatten()(y)))
    x = np.random.default_rng(6).random((2, 10, 10, 3)).astype(np.float32)
    assert model(x, training=True).shape == model(x).shape == (2, 2)


def test_one_training_step_through_the_augmentation():
    """Forward in training mode, backward, one plain gradient step: the loss on that batch
    drops (the augmentation is seeded and re-created, so both passes see the same batch)."""
    x = np.random.default_rng(7).random((16, 12, 12, 1)).astype(np.float32)
    y = np.arange(16) % 3
    loss_fn = sn.losses.get("sparse_categorical_crossentropy")
    sn.utils.set_random_seed(0)
    model = _augmented_model()

    def step_loss():
        for i, layer in enumerate(model.layers[:4]):  # restart the augmentation streams
            layer._rng = np.random.default_rng(i + 1)
        return loss_fn(y, model(x, training=True))

    loss = step_loss()
    loss.backward()
    for w in model.trainable_weights:
        assert w.grad is not None and np.any(w.grad)
        w.assign(w.data - 0.5 * w.grad)
        w.grad = None
    assert float(step_loss().numpy()) < float(loss.numpy())


def test_fit_with_augmentation_layers():
    x = np.random.default_rng(8).random((32, 12, 12, 1)).astype(np.float32)
    y = np.arange(32) % 3
    model = _augmented_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_no_silent_gradient_loss_behind_a_weighted_layer():
    model = sn.Sequential([L.Input((6, 6, 1)), L.Conv2D(2, 3, padding="same"),
                           RandomFlip(seed=0)])
    x = np.zeros((2, 6, 6, 1), np.float32)
    with pytest.raises(ValueError, match="first in the model"):
        model(x, training=True)
    assert model(x).shape == (2, 6, 6, 2)  # inference is the identity: fine anywhere
    with sn.no_grad():
        assert model(x, training=True).shape == (2, 6, 6, 2)
