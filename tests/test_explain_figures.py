"""Explain-mode pictures: trace figures, animated GIFs and the edge-detection demo (SPEC E)."""

from __future__ import annotations

import numpy as np
import pytest

from stridenet import explain
from stridenet.explain import edges
from stridenet.explain.cli import main as cli_main
from stridenet.explain.figures import save_figure, trace_figure

pytest.importorskip("matplotlib")  # figures are an optional extra (stridenet[plot])
Image = pytest.importorskip("PIL.Image")

IMAGE_A = np.array([[3, 5, 0, 2, 9, 8], [1, 2, 7, 8, 9, 9], [4, 5, 3, 9, 3, 2],
                    [0, 2, 0, 6, 2, 8], [2, 9, 4, 7, 5, 3], [1, 7, 6, 7, 5, 6]])
VERTICAL = [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]


def _patch_cells(ax):
    """(row, col) of the highlighted cells drawn on an axis."""
    return sorted((int(round(p.get_y() + 0.5)), int(round(p.get_x() + 0.5))) for p in ax.patches)


def test_conv_figure_highlights_the_window_and_the_output_cell(tmp_path):
    t = explain.conv2d(IMAGE_A, VERTICAL, padding=1, strides=2)
    fig = trace_figure(t, cell=(1, 1))
    source, kernel, out = fig.axes
    # window of out[1,1] starts at padded (2, 2) and covers 3x3 cells
    assert _patch_cells(source) == [(r, c) for r in range(2, 5) for c in range(2, 5)]
    assert _patch_cells(out) == [(1, 1)] and not kernel.patches
    assert "out[1,1] = (-1)*2 + 0*7 + 1*8" in fig._suptitle.get_text()
    path = save_figure(t, tmp_path / "cell.png", cell=4)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] > 300
    with pytest.raises(ValueError, match="no output cell"):
        trace_figure(t, cell=(5, 5))


def test_pool_and_backward_figures():
    pool = explain.max_pool2d(explain.conv2d(IMAGE_A, VERTICAL, padding=1).output, 2)
    fig = trace_figure(pool, cell=(1, 1))
    assert len(fig.axes) == 2 and (2, 2) in _patch_cells(fig.axes[0])
    back = explain.conv2d_backward(IMAGE_A[:4, :4], [[1, 2], [3, 4]], np.ones((3, 3), int),
                                   strides=2, padding=1)
    fig = trace_figure(back, cell=(1, 1))
    assert "dx[1,1]" in fig._suptitle.get_text() and len(fig.axes) == 3


def test_gif_has_one_frame_per_cell(tmp_path):
    t = explain.conv2d(IMAGE_A, VERTICAL, padding=1, strides=2)
    path = t.save_gif(tmp_path / "conv.gif", fps=4)
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == 9
        first = np.asarray(im.convert("RGB")).copy()
        im.seek(8)
        last = np.asarray(im.convert("RGB"))
        assert not np.array_equal(first, last)  # the window moved
    capped = explain.max_pool2d(np.arange(16).reshape(4, 4), 2, strides=1)
    with Image.open(capped.save_gif(tmp_path / "pool.gif", max_frames=3)) as im:
        assert im.n_frames == 3


def test_sobel_x_finds_vertical_edges():
    img = np.zeros((12, 12), np.float32)
    img[:, 6:] = 1.0  # a vertical step edge between columns 5 and 6
    demo = edges.edge_demo(image=img)
    sx, sy = demo.responses["sobel_x"], demo.responses["sobel_y"]
    # valid output column j covers input columns j..j+2: the edge is in windows j = 4 and 5
    assert np.all(np.abs(sx[:, 4:6]) == 4) and np.all(sx[:, :4] == 0) and np.all(sx[:, 6:] == 0)
    assert np.all(sy == 0) and np.all(demo.responses["horizontal"] == 0)
    np.testing.assert_array_equal(demo.responses["vertical"][:, 4:6], -3)


def test_edge_demo_on_the_bundled_photograph(tmp_path):
    out = tmp_path / "edges.png"
    demo = edges.edge_demo(out=out)
    h, w = demo.image.shape
    assert demo.image.dtype == np.float32 and 0 <= demo.image.min() < demo.image.max() <= 1
    assert all(r.shape == (h - 2, w - 2) for r in demo.responses.values())
    # the responses are the op's; spot-check a crop against the traced math
    crop = demo.image[100:108, 200:208]
    t = explain.conv2d(crop, edges.KERNELS["sobel_x"])
    np.testing.assert_allclose(t.output, demo.responses["sobel_x"][100:106, 200:206], atol=1e-5)
    # a photo has edges in both directions
    assert demo.responses["sobel_x"].std() > 0.05 and demo.responses["sobel_y"].std() > 0.05
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] >= 800
    rgb = (np.random.default_rng(0).random((10, 9, 3)) * 255).astype(np.uint8)
    gray = edges.edge_demo(image=rgb).image
    np.testing.assert_allclose(gray, (rgb / 255.0) @ [0.299, 0.587, 0.114], atol=1e-6)
    with pytest.raises(ValueError, match="not both"):
        edges.edge_demo(path="x.jpg", image=rgb)


def test_cli_gif_png_and_edges(tmp_path, capsys):
    gif, png, grid = tmp_path / "a.gif", tmp_path / "a.png", tmp_path / "edges.png"
    assert cli_main(["explain", "maxpool", "--input", "[[1, 2, 3], [4, 5, 6], [7, 8, 9]]",
                     "--pool-size", "2", "--strides", "1", "--gif", str(gif), "--png", str(png),
                     "--cell", "[1, 0]"]) == 0
    assert f"wrote {gif}" in capsys.readouterr().out
    with Image.open(gif) as im, Image.open(png) as im2:
        assert im.n_frames == 4 and im2.format == "PNG"
    assert cli_main(["explain", "edges", "--out", str(grid)]) == 0
    assert grid.exists() and "sobel_x" in capsys.readouterr().out
