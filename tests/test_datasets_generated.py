"""The data sets made offline: moving digits (clips) and synthetic control (series)."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from stridenet.datasets import moving_digits as md
from stridenet.datasets import synthetic_control as sc


def test_synthetic_control_shapes_classes_and_seed():
    (x, y), (xt, yt) = sc.load_data(n_train=60, n_test=120, seed=3)
    assert x.shape == (60, 60) and x.dtype == np.float32 and y.dtype == np.uint8
    assert xt.shape == (120, 60)
    assert np.bincount(y).tolist() == [10] * 6 and np.bincount(yt).tolist() == [20] * 6
    (x2, y2), _ = sc.load_data(n_train=60, n_test=120, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    (x3, _), _ = sc.load_data(n_train=60, n_test=120, seed=4)
    assert not np.array_equal(x, x3)
    assert not np.array_equal(x[:60], xt[:60])  # train and test use other streams


def test_synthetic_control_classes_follow_their_formulas():
    x, y = sc.generate(200, np.random.default_rng(0))
    t = np.arange(sc.LENGTH)
    slopes = np.polyfit(t, x.T, 1)[0]  # least-squares slope of each series
    normal, cyclic, up, down, shift_up, shift_down = (x[y == k] for k in range(6))
    # noise: m + r s with r ~ U(-3, 3), s = 2 -> inside [24, 36], mean 30, sd 2 * sqrt(3)
    assert normal.min() >= 24 and normal.max() <= 36
    assert abs(normal.mean() - 30) < 0.1 and abs(normal.std() - 2 * np.sqrt(3)) < 0.05
    assert np.all(slopes[y == 2] > 0.1) and np.all(slopes[y == 3] < -0.1)
    assert np.all(np.abs(slopes[y == 0]) < 0.1)
    # shifts: the last third sits 7.5-20 above (below) the first third
    jump_up = shift_up[:, 40:].mean(1) - shift_up[:, :20].mean(1)
    jump_down = shift_down[:, 40:].mean(1) - shift_down[:, :20].mean(1)
    assert np.all(jump_up > 4) and np.all(jump_down < -4)
    # cycles of period 10-15: the spectrum peaks at 60/15..60/10 = 4..6 cycles per series
    peaks = np.abs(np.fft.rfft(cyclic - cyclic.mean(1, keepdims=True))).argmax(1)
    assert np.all((peaks >= 3) & (peaks <= 7))
    assert up.shape == down.shape == (200, 60)


def test_moving_digits_clips_move_and_bounce_inside_the_frame():
    (x, y), (xt, yt) = md.load_data(n_train=50, n_test=20, seed=1)
    assert x.shape == (50, 16, 32, 32) and x.dtype == np.uint8 and y.shape == (50,)
    assert xt.shape == (20, 16, 32, 32) and yt.max() <= 9
    (x2, y2), _ = md.load_data(n_train=50, n_test=20, seed=1)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    # every frame shows the whole digit: the same ink in each frame of a clip
    ink = x.astype(np.int64).sum(axis=(2, 3))  # (N, 16)
    assert np.all(ink == ink[:, :1]) and np.all(ink > 0)
    # the digit moves: its centre of mass changes along every clip
    grid = np.arange(32, dtype=np.float64)
    rows = (x * grid[:, None]).sum(axis=(2, 3)) / ink
    cols = (x * grid).sum(axis=(2, 3)) / ink
    assert np.all((np.ptp(rows, axis=1) > 0) | (np.ptp(cols, axis=1) > 0))


def test_moving_digit_paths_reflect_at_the_borders():
    corners = md._paths(500, np.random.default_rng(0), 64)
    assert corners.min() >= 0 and corners.max() <= md.SIZE - md.DIGIT
    steps = np.abs(np.diff(corners, axis=1))
    assert steps.max() <= 3  # speed at most 2.5 px per frame, rounded


def test_each_frame_holds_the_digit_at_its_path_corner():
    rng = np.random.default_rng(5)
    digits = rng.integers(1, 255, (6, md.DIGIT, md.DIGIT), dtype=np.uint8)
    clips = md.make_clips(digits, np.random.default_rng(9), frames=12)
    corners = md._paths(6, np.random.default_rng(9), 12)  # the same stream: the same path
    for k in range(6):
        for f in range(12):
            r, c = corners[k, f]
            frame = clips[k, f].copy()
            np.testing.assert_array_equal(frame[r:r + md.DIGIT, c:c + md.DIGIT], digits[k])
            frame[r:r + md.DIGIT, c:c + md.DIGIT] = 0
            assert not frame.any()  # and nothing else


def test_clips_come_from_the_right_mnist_split():
    (x, y), (xt, yt) = md.load_data(n_train=40, n_test=40, seed=2)
    (mx, my), (tx, ty) = sn.datasets.mnist.load_data()
    train_digits = {md._shrink(mx[i:i + 1])[0].tobytes(): my[i] for i in range(len(mx))}
    test_digits = {md._shrink(tx[i:i + 1])[0].tobytes(): ty[i] for i in range(len(tx))}
    for clips, labels, table in ((x, y, train_digits), (xt, yt, test_digits)):
        for clip, label in zip(clips, labels):
            r, c = np.argwhere(clip[0]).min(0)
            found = [table.get(clip[0, r - dr:r - dr + md.DIGIT, c - dc:c - dc + md.DIGIT]
                               .tobytes()) for dr in range(md.DIGIT) for dc in range(md.DIGIT)
                     if r - dr >= 0 and c - dc >= 0]
            assert label in found  # the clip shows an MNIST digit of its own label


@pytest.mark.parametrize("call, match", [
    (lambda: sc.load_data(n_train=7), "multiple of 6"),
    (lambda: sc.load_data(n_test=0), "n_test"),
    (lambda: md.load_data(n_train=0), "n_train"),
    (lambda: md.load_data(n_test=10**6), "at most 10000"),
    (lambda: md.load_data(frames=2.5), "frames"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_zoo_models_for_series_and_clips():
    fcn = sn.zoo.get("fcn1d")
    assert fcn.compute_output_shape((None, 60, 1)) == (None, 6)
    c3d = sn.zoo.get("c3d_small")
    assert c3d.compute_output_shape((None, 16, 32, 32, 1)) == (None, 10)
    # convs without bias 27x1x16, 27x16x32, 27x32x64, each with a batch norm (4 per
    # channel), dense 64x10 + 10
    assert c3d.count_params() == 432 + 64 + 13824 + 128 + 55296 + 256 + 650
    # three Conv1D/BN blocks: 8*1*128+128, 4*128 (BN), 5*128*256+256, 4*256, 3*256*128+128,
    # 4*128, dense 128*6+6
    assert fcn.count_params() == (1152 + 512 + 164096 + 1024 + 98432 + 512 + 774)
    out = c3d.predict(np.zeros((2, 16, 32, 32, 1), np.float32))
    assert out.shape == (2, 10)
    np.testing.assert_allclose(out.sum(1), 1, rtol=1e-5)
