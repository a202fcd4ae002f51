"""Geometric augmentation layers: Keras factor semantics of translation, rotation, zoom,
flip and crop, and the crop's inference resize against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle_stats import record
from stridenet.data import augment as A
from stridenet.layers.preprocessing import (
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((8, 9, 8, 3)).astype(np.float32)


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
