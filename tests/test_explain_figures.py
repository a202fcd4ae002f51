"""Explain-mode pictures: trace figures, animated GIFs and the edge-detection demo (SPEC E)."""

from __future__ import annotations

import numpy as np
import pytest

from stridenet import explain
from stridenet.explain import edges
from stridenet.explain.cli import main as cli_main
from stridenet.explain.figures import save_figure, trace_figure
from stridenet.explain.render_text import fmt

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
    assert "public domain" in demo.source  # the default photo's licence, also drawn in the PNG
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


def _rendered(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def test_long_equations_wrap_inside_the_figure_and_keep_the_result():
    rng = np.random.default_rng(3)
    t = explain.conv2d(rng.standard_normal((5, 5)), rng.standard_normal((3, 3)))
    fig = trace_figure(t, cell=(1, 1))
    text = fig._suptitle.get_text()
    total = t.cells[4].total
    assert text.startswith("out[1,1] = ") and text.endswith(f"= {fmt(total)}")
    assert 1 < len(text.splitlines()) <= 3
    box = fig._suptitle.get_window_extent(_rendered(fig))
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width  # not clipped at the edges
    # 4 channels x 25 taps: too long for three lines, cut in the middle, the sum still shown
    x, k = rng.integers(-9, 10, (6, 6, 4)), rng.integers(-9, 10, (5, 5, 4))
    wide = explain.conv2d(x, k)
    fig = trace_figure(wide, cell=0)
    lines = fig._suptitle.get_text().splitlines()
    assert len(lines) == 3 and lines[1].endswith(" ...")
    assert lines[-1].strip() == f"= {wide.cells[0].total}"
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == ["input channel 0", "input channel 1",
                          "input channel 2 (+1 more not drawn)"]


def test_grid_numbers_fit_their_cells_and_titles_say_when_there_is_padding():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 5)) / 10  # labels such as -0.0199: long
    x[0, 0] = 1.998  # three digits would print "2": looks exact, is not
    t = explain.conv2d(x, rng.standard_normal((3, 3)))
    fig = trace_figure(t, cell=0)
    renderer = _rendered(fig)
    source = fig.axes[0]
    assert source.get_title() == "input"
    labels = {(round(tx.get_position()[1]), round(tx.get_position()[0])): tx
              for tx in source.texts}
    assert labels[0, 0].get_text() == "2.00"
    cell_px = source.get_window_extent(renderer).width / 5
    assert max(tx.get_window_extent(renderer).width for tx in source.texts) < cell_px
    padded = trace_figure(explain.conv2d(IMAGE_A, VERTICAL, padding=1))
    assert padded.axes[0].get_title() == "padded input"
    pool = trace_figure(explain.max_pool2d(IMAGE_A, 2))
    assert pool.axes[0].get_title() == "input"
