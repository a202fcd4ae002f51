"""Preparing pictures of digits the MNIST way: invert, crop, 20 px box, centre of mass."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from stridenet.data import images

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402 - after the skip


def ell(height=300, width=150, thickness=40, canvas=(600, 400), at=(100, 50), paper=230,
        ink=20):
    """An "L" (a left bar and a bottom bar) drawn in ``ink`` on ``paper``: uint8 (H, W).

    The L is lopsided, so its centre of mass is not the centre of its bounding box.
    """
    img = np.full(canvas, paper, dtype=np.uint8)
    top, left = at
    img[top:top + height, left:left + thickness] = ink
    img[top + height - thickness:top + height, left:left + width] = ink
    return img


def ink_box(digit, level=0.1):
    """(height, width) of the pixels brighter than ``level``."""
    rows = np.flatnonzero((digit > level).any(axis=1))
    cols = np.flatnonzero((digit > level).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def assert_mnist_style(digit, box=(20, 10)):
    assert digit.shape == (28, 28)
    assert digit.dtype == np.float32
    assert digit.min() >= 0.0 and digit.max() == pytest.approx(1.0)
    # black background: the frame's edges hold no ink, and most pixels are exactly 0
    assert np.all(digit[[0, -1]] == 0) and np.all(digit[:, [0, -1]] == 0)
    assert np.mean(digit == 0) > 0.5
    h, w = ink_box(digit)
    assert abs(h - box[0]) <= 1 and abs(w - box[1]) <= 1, (h, w)
    cy, cx = images.center_of_mass(digit)
    # an integer shift puts the centre of mass within half a pixel of the centre 13.5
    assert abs(cy - 13.5) <= 0.5 + 1e-9 and abs(cx - 13.5) <= 0.5 + 1e-9, (cy, cx)


# ------------------------------------------------------------------ the main recipe
def test_dark_ink_on_large_light_paper_becomes_a_centred_mnist_digit():
    digit = images.mnist_digit(ell())
    # 300 x 150 ink: the longer side becomes 20 px, the shorter 10 px (aspect kept)
    assert_mnist_style(digit, box=(20, 10))
    # the bounding box is not centred: the heavy bottom-left corner pulls it off centre
    rows = np.flatnonzero((digit > 0.1).any(axis=1))
    cols = np.flatnonzero((digit > 0.1).any(axis=0))
    assert (rows[0] + rows[-1]) / 2 != pytest.approx(13.5) or \
        (cols[0] + cols[-1]) / 2 != pytest.approx(13.5)


def test_light_ink_on_dark_background_gives_the_same_digit():
    light_paper = images.mnist_digit(ell(paper=230, ink=20))
    dark_paper = images.mnist_digit(ell(paper=25, ink=235))  # the same picture inverted
    np.testing.assert_allclose(dark_paper, light_paper, atol=1e-6)


def test_wide_and_small_digits_are_scaled_to_the_box_keeping_aspect():
    wide = images.mnist_digit(ell(height=60, width=300, thickness=20, canvas=(300, 500)))
    assert_mnist_style(wide, box=(4, 20))
    tiny = images.mnist_digit(ell(height=10, width=6, thickness=2, canvas=(40, 30),
                                  at=(5, 5)))  # scaled up 2x
    assert_mnist_style(tiny, box=(20, 12))


def test_position_on_the_page_does_not_matter():
    a = images.mnist_digit(ell(at=(10, 10)))
    b = images.mnist_digit(ell(at=(250, 230)))
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_faint_paper_texture_is_ignored():
    rng = np.random.default_rng(0)
    clean = ell()
    noisy = clean.astype(np.int16)
    # specks 10% of the ink contrast darker than the paper, all over the page
    specks = rng.random(clean.shape) < 0.02
    noisy[specks & (clean == 230)] -= 21
    digit = images.mnist_digit(noisy.astype(np.uint8))
    np.testing.assert_allclose(digit, images.mnist_digit(clean), atol=1e-6)


def test_colour_and_transparent_pictures():
    gray = ell()
    rgb = np.stack([gray] * 3, axis=-1)
    rgb[gray == 20] = (10, 20, 200)  # blue ink
    rgb[gray == 230] = (250, 250, 240)
    assert_mnist_style(images.mnist_digit(rgb))
    # black strokes on a transparent layer: the backdrop becomes white, not black
    rgba = np.zeros(gray.shape + (4,), dtype=np.uint8)
    rgba[gray == 20] = (0, 0, 0, 255)
    out = images.mnist_digit(rgba)
    assert_mnist_style(out)
    np.testing.assert_allclose(out, images.mnist_digit(gray), atol=1e-6)
    # and white strokes on a transparent layer get a black backdrop
    rgba[gray == 20] = (255, 255, 255, 255)
    np.testing.assert_allclose(images.mnist_digit(rgba), out, atol=1e-6)


def test_arrays_in_every_accepted_form_agree():
    u8 = ell()
    ref = images.mnist_digit(u8)
    for form in (u8 / 255.0, (u8 / 255.0).astype(np.float32), u8[..., None],
                 Image.fromarray(u8)):
        np.testing.assert_allclose(images.mnist_digit(form), ref, atol=1e-5)


def test_other_frame_and_box_sizes():
    digit = images.mnist_digit(ell(), size=32, box=24)
    assert digit.shape == (32, 32)
    h, w = ink_box(digit)
    assert abs(h - 24) <= 1 and abs(w - 12) <= 1


# ------------------------------------------------------------------- reading files
def test_png_and_jpeg_files_of_any_size(tmp_path):
    img = ell(canvas=(900, 700), at=(300, 400), height=450, width=225, thickness=60)
    ref = images.mnist_digit(img)
    Image.fromarray(img).save(tmp_path / "digit.png")
    np.testing.assert_allclose(images.load_digit(tmp_path / "digit.png"), ref, atol=1e-6)
    rgb = Image.fromarray(np.stack([img] * 3, axis=-1))
    rgb.save(tmp_path / "digit.jpg", quality=85)
    from_jpeg = images.load_digit(str(tmp_path / "digit.jpg"))
    assert_mnist_style(from_jpeg)
    assert np.abs(from_jpeg - ref).max() < 0.15  # JPEG artefacts, nothing more


def test_sixteen_bit_png(tmp_path):
    img = ell().astype(np.uint16) * 257  # the same levels on a 0..65535 scale
    Image.fromarray(img).save(tmp_path / "deep.png")
    np.testing.assert_allclose(images.load_digit(tmp_path / "deep.png"),
                               images.mnist_digit(ell()), atol=1e-5)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.fromarray(ell(canvas=(600, 400)))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    img.save(tmp_path / "phone.jpg", exif=exif)
    upright = images.read_image(tmp_path / "phone.jpg")
    assert upright.size == (600, 400)  # (width, height): turned on its side


def test_missing_unreadable_and_truncated_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such image file"):
        images.read_image(tmp_path / "nope.png")
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(ValueError, match="cannot read image .*notes.png"):
        images.load_digit(text)
    Image.fromarray(ell()).save(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cannot read image .*cut.png"):
        images.load_digit(tmp_path / "cut.png")
    with pytest.raises(TypeError, match="path"):
        images.read_image(3)


# ------------------------------------------------------------------ bad input
def test_blank_pictures_are_refused():
    with pytest.raises(ValueError, match="no digit found"):
        images.mnist_digit(np.full((50, 50), 200, np.uint8))
    with pytest.raises(ValueError, match="no digit found"):
        images.mnist_digit(np.zeros((50, 50, 4), np.uint8))  # fully transparent


@pytest.mark.parametrize("kwargs, match", [
    (dict(size=0), "size must be a positive int"),
    (dict(size=28.0), "size must be a positive int"),
    (dict(box=30), "box must be <= size"),
    (dict(threshold=0), r"threshold must be a number in \(0, 1\)"),
    (dict(threshold=1.5), r"threshold must be a number in \(0, 1\)"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        images.mnist_digit(ell(), **kwargs)


@pytest.mark.parametrize("image, err, match", [
    (np.zeros((5, 5, 2)), ValueError, r"shape \(H, W\)"),
    (np.zeros((0, 5)), ValueError, "empty"),
    (np.full((5, 5), 1.5), ValueError, r"lie in \[0, 1\]"),
    (np.full((5, 5), np.nan), ValueError, "finite"),
    (np.full((5, 5), 300), ValueError, "0..255"),
    (np.array([["a"]]), TypeError, "numeric"),
])
def test_bad_images(image, err, match):
    with pytest.raises(err, match=match):
        images.to_grayscale(image)


def test_center_of_mass():
    img = np.zeros((5, 7))
    img[1, 2] = 1.0
    img[3, 6] = 3.0
    assert images.center_of_mass(img) == pytest.approx((2.5, 5.0))
    with pytest.raises(ValueError, match="positive intensity"):
        images.center_of_mass(np.zeros((3, 3)))


def test_without_pillow_the_error_says_how_to_install(monkeypatch, tmp_path):
    Image.fromarray(ell()).save(tmp_path / "digit.png")
    monkeypatch.setitem(sys.modules, "PIL", None)  # "from PIL import ..." now fails
    with pytest.raises(ImportError, match="needs Pillow"):
        images.load_digit(tmp_path / "digit.png")
    with pytest.raises(ImportError, match="needs Pillow"):
        images.mnist_digit(ell())
