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


# ------------------------------------------------------------------ huge pictures
def _traced_peak(fn):
    """``(fn(), peak bytes NumPy allocated meanwhile)`` (Pillow's own buffers are not
    traced: this measures the float copies, the part that used to grow to gigabytes)."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory):
    """A 12000x12000 grayscale PNG (144 megapixels, under 1 MB on disk) with a bar."""
    from bigpng import write_png

    path = tmp_path_factory.mktemp("huge") / "huge.png"
    write_png(path, 12000, 12000, box=(2000, 5000, 10000, 6500))
    return path


def test_huge_png_is_refused_before_decoding_without_a_pillow_warning(huge_png):
    import time
    import warnings

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DecompressionBombWarning would fail the test
        with pytest.raises(ValueError, match=r"huge\.png is too large: 12000x12000 "
                                             r"pixels, more than the limit of 50 megapixels"):
            _traced_peak(lambda: images.load_digit(huge_png))
        with pytest.raises(ValueError, match="too large"):
            images.read_image(huge_png)  # the cap holds without shrinking too
    assert time.perf_counter() - started < 5  # refused from the header, not decoded


def test_pillow_decompression_bomb_error_becomes_the_same_message(tmp_path, monkeypatch):
    Image.fromarray(ell()).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow refuses above 2000 px
    with pytest.raises(ValueError, match=r"bomb\.png is too large: over 2,000 pixels"):
        images.load_digit(tmp_path / "bomb.png")


def test_large_png_is_shrunk_before_any_float_copy(tmp_path):
    from bigpng import write_png

    # 6000x4000 (24 megapixels): one float64 copy alone would be 192 MB
    write_png(tmp_path / "scan.png", 4000, 6000, box=(1000, 1000, 5000, 1600))
    write_png(tmp_path / "small.png", 400, 600, box=(100, 100, 500, 160))
    digit, peak = _traced_peak(lambda: images.load_digit(tmp_path / "scan.png"))
    assert peak < 40e6, f"{peak / 1e6:.0f} MB of NumPy memory for a 24 MP picture"
    assert_mnist_style(digit, box=(20, 3))
    np.testing.assert_allclose(digit, images.load_digit(tmp_path / "small.png"), atol=0.05)
    # read_image itself only shrinks when asked, keeping the aspect ratio
    assert images.read_image(tmp_path / "scan.png", max_side=300).size == (200, 300)
    assert images.read_image(tmp_path / "small.png").size == (400, 600)


def test_large_transparent_png_keeps_its_drawing_when_shrunk(tmp_path):
    from bigpng import write_png

    write_png(tmp_path / "layer.png", 3000, 2000, "RGBA", paper=(255, 255, 255, 0),
              ink=(0, 0, 0, 255), box=(300, 1200, 1700, 1500))
    im = images.read_image(tmp_path / "layer.png", max_side=images.WORK_SIDE)
    assert max(im.size) == images.WORK_SIDE
    assert_mnist_style(images.load_digit(tmp_path / "layer.png"), box=(20, 4))


def test_large_jpeg_is_decoded_at_reduced_scale_and_turned_upright(tmp_path):
    page = np.full((3000, 4000), 240, np.uint8)  # landscape as stored, 12 megapixels
    page[500:2500, 1000:2200] = 15
    img = Image.fromarray(page)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    img.save(tmp_path / "phone.jpg", quality=90, exif=exif)
    # decoded at 1/4 scale (1000x750): under a cap the full 12 megapixels would break
    im = images.read_image(tmp_path / "phone.jpg", max_side=1000, max_pixels=800_000)
    assert im.size == (750, 1000)  # (width, height): upright, longer side max_side
    # the stored 2000x1200 bar lies on its side once upright
    assert_mnist_style(images.load_digit(tmp_path / "phone.jpg"), box=(12, 20))


@pytest.mark.parametrize("mode", ["P", "1", "I;16"])
def test_shrinking_every_mode_keeps_the_digit(tmp_path, mode):
    page = ell()  # 600 x 400
    if mode == "I;16":
        img = Image.fromarray(page.astype(np.uint16) * 257)
    else:
        img = Image.fromarray(page).convert(mode)
    img.save(tmp_path / "digit.png")
    shrunk = images.read_image(tmp_path / "digit.png", max_side=150)
    assert max(shrunk.size) == 150
    digit = images.mnist_digit(shrunk)
    assert_mnist_style(digit)
    assert np.abs(digit - images.mnist_digit(ell())).max() < 0.35  # resampling, no more


@pytest.mark.parametrize("kwargs, match", [
    (dict(max_side=0), "max_side must be a positive int"),
    (dict(max_side=2.5), "max_side must be a positive int"),
    (dict(max_pixels=-1), "max_pixels must be a positive int"),
])
def test_read_image_size_arguments(tmp_path, kwargs, match):
    Image.fromarray(ell()).save(tmp_path / "digit.png")
    with pytest.raises(ValueError, match=match):
        images.read_image(tmp_path / "digit.png", **kwargs)
