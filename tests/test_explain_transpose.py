"""Explain mode: a transposed convolution traced in both views of SPEC section 6 (patch
spreading; zero insertion + rotated kernel), each equal to ``sn.ops.conv_transpose``."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from stridenet.explain import conv_transpose_trace


def _ops(x, k, rank, **kw):
    """sn.ops.conv_transpose on one image and one filter, float64."""
    x = np.asarray(x, np.float64)
    k = np.asarray(k, np.float64)
    if x.ndim == rank:
        x = x[..., None]
    if k.ndim == rank:
        k = k[..., None]
    y = sn.ops.conv_transpose(x[None], k[..., None, :], **kw)  # kernel (K..., 1, C)
    return np.asarray(y.numpy() if hasattr(y, "numpy") else y)[0, ..., 0]


def test_readme_example_2x2_strides_2():
    t = conv_transpose_trace([[1, 2], [3, 4]], [[1, 0], [0, 1]], strides=2)
    assert t.output.tolist() == [[1, 0, 2, 0], [0, 1, 0, 2], [3, 0, 4, 0], [0, 3, 0, 4]]
    assert t.agree and t.zero_inserted.y.tolist() == t.y.tolist()
    assert t.zero_inserted.flip  # view 2 runs the kernel rotated 180 degrees
    # view 2's input: one zero between cells, padded by k' - 1 = 1 all around
    assert t.zero_inserted.x[:, :, 0].tolist() == [[1, 0, 2], [0, 0, 0], [3, 0, 4]]
    assert t.zero_inserted.pads == ((1, 1), (1, 1))
    text = str(t)
    assert "View 1: patch spreading" in text and "View 2: zero insertion" in text
    assert "x[1,1] = 4 -> out rows 2..3, cols 2..3:" in text
    assert "out[2,2] = x[1,1]*w[0,0]" in text
    assert "Both views give the same output (4x4)" in text
    assert "rows: (2 - 1)*2 + 2 + 0 = 4" in text


def test_contributions_listed_per_output_cell_1d():
    t = conv_transpose_trace([1, 2, 3], [1, 10, 100], strides=2, padding="same")
    assert t.output.tolist() == [1, 10, 102, 20, 203, 30]
    cell = t.cells[4]  # out[4] = x[1]*w[2] + x[2]*w[0]
    assert [(c.src[1], c.tap[1], c.product) for c in cell.contributions] == [(1, 2, 200),
                                                                             (2, 0, 3)]
    assert t.patches[2].cropped == 1  # x[2]'s last tap lands past the 6 output cells
    text = t.to_text()
    assert "out[4] = x[1]*w[2] + x[2]*w[0]" in text
    assert "= 2*100 + 3*1 = 203" in text
    assert "length: 3*2 = 6" in text


CONFIGS = [  # (rank, input size, kernel, strides, padding, output_padding, dilation, C)
    (1, (5,), (3,), 2, "valid", None, 1, 1), (1, (5,), (3,), 2, "same", None, 1, 2),
    (1, (4,), (2,), 3, "valid", None, 1, 1), (1, (6,), (4,), 2, "same", 1, 1, 1),
    (1, (5,), (3,), 1, "valid", None, 2, 1), (1, (3,), (2,), 3, "same", 2, 1, 2),
    (2, (3, 4), (3, 3), 2, "valid", None, 1, 1), (2, (3, 4), (3, 2), 2, "same", None, 1, 2),
    (2, (4, 3), (3, 3), (2, 3), "same", (0, 2), 1, 1), (2, (3, 3), (2, 3), 2, "valid", 1, 1, 1),
    (2, (3, 4), (3, 2), 1, "same", None, (2, 1), 1), (2, (2, 3), (4, 4), 3, "same", None, 1, 3),
    (2, (5, 6), (3, 3), 2, "same", 0, 1, 1), (2, (2, 2), (1, 1), 2, "valid", None, 1, 1),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
def test_both_views_equal_ops_conv_transpose_on_random_integers(cfg):
    rank, size, ksize, s, padding, op, d, c = cfg
    rng = np.random.default_rng(sum(size) * 31 + len(ksize) + c)
    x = rng.integers(-5, 6, size=(*size, c))
    k = rng.integers(-3, 4, size=(*ksize, c))
    t = conv_transpose_trace(x, k, strides=s, padding=padding, output_padding=op,
                             dilation_rate=d, rank=rank)
    want = _ops(x, k, rank, strides=s, padding=padding, output_padding=op, dilation_rate=d)
    assert t.output.shape == want.shape
    assert t.output.dtype.kind == "i"  # integers stay exact integers
    np.testing.assert_array_equal(t.output, want)  # view 1
    np.testing.assert_array_equal(t.zero_inserted.output, want)  # view 2
    assert t.agree
    # every (input cell, tap, channel) product that lands in the output is listed once
    listed = sum(len(cell.contributions) for cell in t.cells)
    landed = sum((int(np.prod(ksize)) - p.cropped) * c for p in t.patches)
    assert listed == landed


def test_bias_and_float_inputs():
    rng = np.random.default_rng(0)
    x, k = rng.normal(size=(3, 4)), rng.normal(size=(2, 3))
    t = conv_transpose_trace(x, k, strides=2, bias=0.5)
    np.testing.assert_allclose(t.output, _ops(x, k, 2, strides=2) + 0.5, rtol=1e-12)
    assert t.agree


def test_keras_kernel_layout_and_batched_input():
    x = np.arange(6).reshape(1, 2, 3, 1)
    k = np.ones((2, 2, 1, 1), np.int64)  # (KH, KW, F_out=1, C_in=1)
    t = conv_transpose_trace(x, k, strides=2)
    assert t.output.shape == (1, 4, 6, 1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(x=[[1, 2]], kernel=[[1]], strides=2, output_padding=2), "output_padding"),
    (dict(x=[[1, 2]], kernel=[[1, 1]], padding="causal"), "padding"),
    (dict(x=[[1, 2]], kernel=[[[[1, 1]]]]), "channel"),
    (dict(x=[[1, 2]], kernel=np.ones((1, 1, 2, 1))), "one filter"),
    (dict(x=[["a", "b"]], kernel=[[1]]), "real numbers"),
])
def test_bad_input(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        conv_transpose_trace(**kwargs)


def test_html_and_markdown():
    t = conv_transpose_trace([1, 2], [1, -1], strides=2)
    assert t.to_html().startswith("<pre") and "View 2" in t.to_html()
    assert t.to_html(full_page=True).startswith("<!DOCTYPE html>")
    assert t.to_markdown().startswith("```text")
    assert "ConvTransposeTrace" not in repr(t) and "output 1x4" in repr(t)


def test_figure_draws_view_2():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    t = conv_transpose_trace([[1, 2], [3, 4]], [[1, 2], [3, 4]], strides=2)
    fig = t.figure((1, 1))
    text = " ".join(tx.get_text() for ax in fig.axes for tx in ax.texts) + " ".join(
        tx.get_text() for tx in fig.texts)
    assert "out[1,1] = 4*1 + 3*0 + 2*0 + 1*0 = 4" in text


def test_text_names_the_channel_of_every_product():
    t = conv_transpose_trace([[1, 2], [3, 4]], [[1, 0], [2, 1]], strides=2, rank=1)
    text = t.to_text()
    assert "out[1] = x[0,0]*w[1,0] + x[0,1]*w[1,1]" in text
    assert "Kernel channel 1:" in text
