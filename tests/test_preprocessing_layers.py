"""Keras-style preprocessing layers, all together: inference identity, seeding, shapes and
dtypes, configs and model saving, argument checks, and their place at the front of a
trainable model. Per-layer semantics are in test_preprocessing_layers_geometric.py and
test_preprocessing_layers_color.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L
from stridenet.layers.preprocessing import (
    GaussianNoise,
    GrayscaleToRGB,
    HSVToRGB,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomGrayscale,
    RandomHue,
    RandomRotation,
    RandomSaturation,
    RandomTranslation,
    RandomZoom,
    RGBToGrayscale,
    RGBToHSV,
)

CUSTOM = {c.__name__: c for c in (
    GaussianNoise, GrayscaleToRGB, HSVToRGB, RandomBrightness, RandomContrast, RandomCrop,
    RandomFlip, RandomGrayscale, RandomHue, RandomRotation, RandomSaturation,
    RandomTranslation, RandomZoom, RGBToGrayscale, RGBToHSV)}

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
    "saturation": lambda seed=None: RandomSaturation((0.1, 0.9), value_range=(0, 1), seed=seed),
    "hue": lambda seed=None: RandomHue(0.8, value_range=(0, 1), seed=seed),
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
    (lambda: RandomSaturation(1.5), "factor"),
    (lambda: RandomSaturation(-0.1), "factor"),
    (lambda: RandomSaturation((0.6, 0.2)), "factor"),
    (lambda: RandomSaturation((0.2, 1.2)), "factor"),
    (lambda: RandomSaturation("half"), "factor"),
    (lambda: RandomSaturation(0.5, value_range=(0, 0)), "value_range"),
    (lambda: RandomHue(1.01), "factor"),
    (lambda: RandomHue(float("nan")), "factor"),
    (lambda: RandomHue((-0.2, 0.2)), "factor"),
    (lambda: RandomHue(True), "factor"),
    (lambda: RandomHue(0.5, value_range=(1, 0)), "value_range"),
    (lambda: RandomHue(0.5, seed=-3), "seed"),
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


def test_every_preprocessing_layer_is_in_the_saving_registry():
    exported = {n for n in L.__all__ if isinstance(getattr(L, n), type)}
    assert set(CUSTOM) <= exported
    assert set(sn.layers.preprocessing.__all__) == set(CUSTOM)


def test_colour_layers_save_and_load_without_custom_objects(tmp_path):
    pytest.importorskip("safetensors")
    model = sn.Sequential([
        L.Input((6, 6, 3)),
        L.RandomSaturation((0.2, 0.8), value_range=(0, 1), seed=1),
        L.RandomHue(0.3, value_range=(0, 1), seed=2),
        L.RGBToHSV(),
        L.HSVToRGB(),
        L.Flatten(),
        L.Dense(2),
    ])
    x = np.random.default_rng(4).random((3, 6, 6, 3)).astype(np.float32)
    model(x, training=True)  # move the augmentation streams on before saving
    model.save(tmp_path / "colour.sn")
    loaded = sn.models.load_model(tmp_path / "colour.sn")
    assert [type(l) for l in loaded.layers] == [type(l) for l in model.layers]
    assert [l.get_config() for l in loaded.layers] == [l.get_config() for l in model.layers]
    assert loaded.layers[0].get_config()["factor"] == [0.2, 0.8]
    assert loaded.layers[1].get_config()["factor"] == [0.0, 0.3]  # f -> [0, f]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # the saved generator states resume: the next augmented batch is the same
    np.testing.assert_array_equal(loaded(x, training=True).numpy(),
                                  model(x, training=True).numpy())


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
