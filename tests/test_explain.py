"""Explain mode: SPEC worked examples as traces, agreement with stridenet.ops, renderings, CLI."""

from __future__ import annotations

import doctest
import itertools
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stridenet as sn
from stridenet import explain
from stridenet.explain.cli import main as cli_main

IMAGE_A = np.array([[3, 5, 0, 2, 9, 8], [1, 2, 7, 8, 9, 9], [4, 5, 3, 9, 3, 2],
                    [0, 2, 0, 6, 2, 8], [2, 9, 4, 7, 5, 3], [1, 7, 6, 7, 5, 6]])
VERTICAL = [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]
PADDED_A = [[7, 3, 3, 11, 7, -18], [12, 2, 7, 11, 0, -21], [9, 5, 14, 4, -4, -14],
            [16, 1, 6, 3, -9, -10], [18, 7, 2, 2, -3, -12], [16, 7, -2, 0, -5, -10]]
CELL_14 = "(-1)*2 + 0*7 + 1*8 + (-1)*5 + 0*3 + 1*9 + (-1)*2 + 0*0 + 1*6 = 14"


def ops_conv2d(x, k, **kw):
    """stridenet.ops.conv2d on one image (H, W, C) and one filter (KH, KW, C) -> (OH, OW)."""
    return sn.ops.conv2d(x[None], k[..., None], **kw).numpy()[0, :, :, 0]


# ----------------------------------------------------------------------------- SPEC examples

def test_spec_example_a_text_trace_and_results():
    valid = explain.conv2d(IMAGE_A, VERTICAL)
    np.testing.assert_array_equal(valid.output, [[2, 7, 11, 0], [5, 14, 4, -4], [1, 6, 3, -9],
                                                 [7, 2, 2, -3]])
    assert valid.output.dtype == np.int64  # integer inputs stay exact
    assert f"out[1,1] = {CELL_14}" in str(valid).splitlines()
    padded = explain.conv2d(IMAGE_A, VERTICAL, padding=1)
    np.testing.assert_array_equal(padded.output, PADDED_A)
    assert f"out[2,2] = {CELL_14}" in padded.to_text(max_cells=None).splitlines()
    assert padded.cells[2 * 6 + 2].origin == (2, 2)  # top-left of the window in the padded input
    assert [t.product for t in padded.cells[14].terms] == [-2, 0, 8, -5, 0, 9, -2, 0, 6]
    np.testing.assert_array_equal(explain.conv2d(IMAGE_A, VERTICAL, padding="same").output,
                                  PADDED_A)
    s2 = explain.conv2d(IMAGE_A, VERTICAL, padding=1, strides=2)
    np.testing.assert_array_equal(s2.output, [[7, 3, 7], [9, 14, -4], [18, 2, -3]])
    assert s2.formulas[0].formula == "floor((6 + 1 + 1 - 3) / 2) + 1 = 3"
    assert "floor((6 + 1 + 1 - 3) / 2) + 1 = 3" in str(s2)
    assert [w[2:] for w in s2.windows[:3]] == [(0, 0), (0, 2), (0, 4)]


def test_spec_example_a_pooling_of_padded_result():
    conv = explain.conv2d(IMAGE_A, VERTICAL, padding=1)
    pool = explain.max_pool2d(conv.output, 2, strides=2)
    np.testing.assert_array_equal(pool.output, [[12, 11, 7], [16, 14, -4], [18, 2, -3]])
    text = pool.to_text()
    assert "out[0,0] = max(7, 3, 12, 2) = 12" in text
    assert "out[1,1] = max(14, 4, 6, 3) = 14" in text
    assert pool.cells[4].winner == (2, 2)


def test_pool_renderings_name_what_they_show():
    pool = explain.max_pool2d(PADDED_A, 2, strides=2)
    assert "(rows = windows, cols = window cells)" in pool.to_text()
    html = pool.to_html(max_cells=1)
    assert "orange: the maximum" in html and '<div class="cap">input</div>' in html
    assert '<div class="cap">padded input</div>' not in html  # nothing is padded here
    padded = explain.avg_pool2d(IMAGE_A, 2, padding=1).to_html(max_cells=1)
    assert '<div class="cap">padded input</div>' in padded and "orange" not in padded


def test_spec_example_b_and_c():
    t = explain.conv2d([[0, 1, 2, 4], [3, 0, -1, 5], [-2, 0, 1, 3], [1, 0, 9, 0]],
                       [[0, 2, 1], [1, 3, 2], [2, 0, -1]])
    np.testing.assert_array_equal(t.output, [[0, 12], [-8, 12]])
    sizes = [((5, 3), {}, 3), ((5, 3), {"padding": 1}, 5), ((5, 3), {"strides": 2}, 2),
             ((6, 3), {"padding": 1, "strides": 2}, 3)]
    for args, kw, expected in sizes:
        assert explain.output_size(*args, **kw).value == expected
    np.testing.assert_array_equal(explain.max_pool1d([1, 2, 3, 4, 5, 6], 3, 3).output, [3, 6])
    np.testing.assert_array_equal(explain.max_pool1d([1, 2, 3, 4, 5, 6], 3, 2).output, [3, 5])


def test_output_size_formulas():
    value, formula = explain.output_size(6, 3, strides=2, padding=1)
    assert (value, formula) == (3, "floor((6 + 1 + 1 - 3) / 2) + 1 = 3")
    d = explain.output_size(7, 3, dilation=2)
    assert d.formula == "floor((7 + 0 + 0 - 2*(3 - 1) - 1) / 1) + 1 = 3"
    same = explain.output_size(6, 3, strides=2, padding="same")
    assert same.value == 3 and (same.p_before, same.p_after) == (0, 1)
    assert "max((3 - 1)*2 + 3 - 6, 0) = 1 -> 0 before, 1 after" in same.note
    causal = explain.output_size(6, 3, padding="causal", dilation=2)
    assert (causal.value, causal.p_before) == (6, 4)
    # ceil mode: 5 cells, window 2, stride 2 -> ceil(3/2) + 1 = 3 windows
    ceil = explain.output_size(5, 2, 2, ceil_mode=True)
    assert ceil.formula == "ceil((5 + 0 + 0 - 2) / 2) + 1 = 3"
    clamped = explain.output_size(5, 2, 2, padding=1, ceil_mode=True)
    assert clamped.formula == ("ceil((5 + 1 + 1 - 2) / 2) + 1 = 4, - 1 (the last window would "
                               "start at 6, past the input and the left padding) = 3")
    assert explain.output_size(6, 3, padding=(2, 0)).value == 6
    with pytest.raises(ValueError, match="kernel must be a positive int"):
        explain.output_size(6, 0)


# ----------------------------------------------------------------------------- agreement with ops

PADDINGS = ["valid", "same", 1, (0, 2), ((2, 0), (1, 3))]
CONV_CONFIGS = list(itertools.product(PADDINGS, [1, 2, (2, 1)], [1, 2], [False, True]))


@pytest.mark.parametrize("padding,strides,dilation,flip", CONV_CONFIGS)
def test_conv2d_trace_equals_ops(padding, strides, dilation, flip):
    rng = np.random.default_rng(len(str((padding, strides, dilation, flip))))
    c = 1 + int(rng.integers(0, 3))
    x = rng.integers(-9, 10, size=(6, 7, c))
    k = rng.integers(-3, 4, size=(3, 2, c))
    kw = dict(strides=strides, padding=padding, dilation_rate=dilation, flip_kernel=flip)
    t = explain.conv2d(x, k, **kw)
    np.testing.assert_array_equal(t.output, ops_conv2d(x, k, **kw))  # exact for integers
    # im2col: rows = windows, cols = taps; the product with the kernel is the output
    np.testing.assert_array_equal(t.im2col @ t.applied.reshape(-1), t.y.reshape(-1))
    assert t.im2col.shape == (t.y.size, k.size)
    kh, kw_ = k.shape[:2]
    assert all(len(cell.terms) == kh * kw_ * c for cell in t.cells)
    xf = rng.standard_normal((6, 7, c))
    kf = rng.standard_normal((3, 2, c))
    tf = explain.conv2d(xf, kf, bias=0.25, **kw)
    np.testing.assert_allclose(tf.output, ops_conv2d(xf, kf, bias=np.array([0.25]), **kw),
                               rtol=1e-12, atol=1e-12)


@settings(max_examples=80, deadline=None)
@given(h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 3), kh=st.integers(1, 3),
       kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3), dh=st.integers(1, 2),
       dw=st.integers(1, 2), pads=st.tuples(*[st.integers(0, 2)] * 4), flip=st.booleans(),
       seed=st.integers(0, 2**16))
def test_conv2d_trace_equals_ops_random(h, w, c, kh, kw, sh, sw, dh, dw, pads, flip, seed):
    padding = ((pads[0], pads[1]), (pads[2], pads[3]))
    if h + pads[0] + pads[1] < dh * (kh - 1) + 1 or w + pads[2] + pads[3] < dw * (kw - 1) + 1:
        with pytest.raises(ValueError, match="the kernel spans"):
            explain.conv2d(np.zeros((h, w, c), int), np.zeros((kh, kw, c), int), padding=padding,
                           dilation_rate=(dh, dw))
        return
    rng = np.random.default_rng(seed)
    x, k = rng.integers(-5, 6, (h, w, c)), rng.integers(-5, 6, (kh, kw, c))
    kw_ = dict(strides=(sh, sw), padding=padding, dilation_rate=(dh, dw), flip_kernel=flip)
    np.testing.assert_array_equal(explain.conv2d(x, k, **kw_).output, ops_conv2d(x, k, **kw_))
    xf, kf = rng.standard_normal((h, w, c)).astype(np.float32), rng.standard_normal((kh, kw, c))
    kf = kf.astype(np.float32)
    t = explain.conv2d(xf, kf, **kw_)
    assert t.output.dtype == np.float32
    np.testing.assert_allclose(t.output, ops_conv2d(xf, kf, **kw_), rtol=1e-5, atol=1e-5)
    dy = rng.integers(-3, 4, t.y.shape)
    bt = explain.conv2d_backward(x, k, dy, **kw_)
    xt = sn.Tensor(x[None].astype(np.float64), requires_grad=True)
    ktt = sn.Tensor(k[..., None].astype(np.float64), requires_grad=True)
    sn.ops.conv2d(xt, ktt, **kw_).backward(dy[None, :, :, None])
    np.testing.assert_array_equal(bt.dx, xt.grad[0])
    np.testing.assert_array_equal(bt.dkernel, ktt.grad[..., 0])


@settings(max_examples=80, deadline=None)
@given(h=st.integers(1, 7), w=st.integers(1, 7), ph=st.integers(1, 3), pw=st.integers(1, 3),
       sh=st.integers(1, 3), sw=st.integers(1, 3), pad=st.integers(0, 1), ceil_mode=st.booleans(),
       cip=st.booleans(), seed=st.integers(0, 2**16))
def test_pool_traces_equal_ops_random(h, w, ph, pw, sh, sw, pad, ceil_mode, cip, seed):
    x = np.random.default_rng(seed).integers(-9, 10, (h, w, 2))
    kw = dict(strides=(sh, sw), padding=pad, ceil_mode=ceil_mode)
    try:
        expected = sn.ops.max_pool2d(x[None], (ph, pw), **kw).numpy()[0]
    except ValueError:  # the op refuses (window too large, padding-only window): so must we
        with pytest.raises(ValueError):
            explain.max_pool2d(x, (ph, pw), **kw)
        return
    np.testing.assert_array_equal(explain.max_pool2d(x, (ph, pw), **kw).output, expected)
    avg = sn.ops.avg_pool2d(x[None], (ph, pw), count_include_pad=cip, **kw).numpy()[0]
    np.testing.assert_allclose(explain.avg_pool2d(x, (ph, pw), count_include_pad=cip,
                                                  **kw).output, avg, rtol=1e-6)


@pytest.mark.parametrize("padding,strides,dilation", list(itertools.product(
    ["valid", "same", "causal", 2, (1, 3)], [1, 2], [1, 2])))
def test_conv1d_trace_equals_ops(padding, strides, dilation):
    rng = np.random.default_rng(len(str((padding, strides, dilation))))
    x, k = rng.integers(-9, 10, (9, 2)), rng.integers(-3, 4, (3, 2))
    kw = dict(strides=strides, padding=padding, dilation_rate=dilation)
    t = explain.conv1d(x, k, **kw)
    y = sn.ops.conv1d(x[None], k[..., None], **kw).numpy()[0, :, 0]
    np.testing.assert_array_equal(t.output, y)
    assert t.formulas[0].axis == "length" and t.formulas[0].value == y.shape[0]


POOL_CONFIGS = list(itertools.product([2, 3, (2, 3)], [None, 1, 2], ["valid", "same", 1],
                                      [False, True]))


@pytest.mark.parametrize("pool,strides,padding,ceil_mode", POOL_CONFIGS)
def test_pool_traces_equal_ops(pool, strides, padding, ceil_mode):
    rng = np.random.default_rng(len(str((pool, strides, padding, ceil_mode))))
    x = rng.integers(-20, 20, (7, 6, 2))
    if padding == 1 and pool == 2 and strides == 1 and not ceil_mode:
        x[0, 0, 0] = -100  # a window whose max sits next to padding
    kw = dict(strides=strides, padding=padding, ceil_mode=ceil_mode)
    t = explain.max_pool2d(x, pool, **kw)
    np.testing.assert_array_equal(t.output, sn.ops.max_pool2d(x[None], pool, **kw).numpy()[0])
    for cip in (False, True):
        a = explain.avg_pool2d(x, pool, count_include_pad=cip, **kw)
        y = sn.ops.avg_pool2d(x[None], pool, count_include_pad=cip, **kw).numpy()[0]
        np.testing.assert_allclose(a.output, y, rtol=1e-6)
        assert all(c.count == sum(v.counted for v in c.values) for c in a.cells)


def test_avg_pool_shows_which_cells_count():
    x = np.arange(1, 10).reshape(3, 3)
    keras = explain.avg_pool2d(x, 2, strides=2, padding=1)
    torch_rule = explain.avg_pool2d(x, 2, strides=2, padding=1, count_include_pad=True)
    assert keras.cells[0].count == 1 and torch_rule.cells[0].count == 4
    assert "out[0,0] = (1) / 1 = 1   (3 padding cell(s) not counted)" in str(keras)
    assert "out[0,0] = (0 + 0 + 0 + 1) / 4 = 0.25" in str(torch_rule)
    html = keras.to_html()
    assert html.count('class="skip"') >= 3  # the padding cells of windows are marked


@pytest.mark.parametrize("padding,strides,dilation,flip,c", [
    ("valid", 1, 1, False, 1), (1, 2, 1, True, 2), ("same", (2, 1), (1, 2), False, 1),
    (((2, 0), (1, 1)), 3, 1, True, 3), (2, 2, 2, False, 2)])
def test_backward_trace_equals_autograd(padding, strides, dilation, flip, c):
    rng = np.random.default_rng(c * 7 + len(str(padding)))
    x, k = rng.integers(-5, 6, (6, 5, c)), rng.integers(-3, 4, (3, 3, c))
    kw = dict(strides=strides, padding=padding, dilation_rate=dilation, flip_kernel=flip)
    fwd = explain.conv2d(x, k, **kw)
    dy = rng.integers(-3, 4, fwd.y.shape)
    t = explain.conv2d_backward(x, k, dy, bias=0, **kw)
    xt = sn.Tensor(x[None].astype(np.float64), requires_grad=True)
    kt = sn.Tensor(k[..., None].astype(np.float64), requires_grad=True)
    bt = sn.Tensor(np.zeros(1), requires_grad=True)
    sn.ops.conv2d(xt, kt, bt, **kw).backward(dy[None, :, :, None])
    np.testing.assert_array_equal(t.dx, xt.grad[0])
    np.testing.assert_array_equal(t.dkernel, kt.grad[..., 0])
    assert t.dbias == bt.grad[0] == dy.sum()
    (pt, _), (pl, _) = fwd.pads
    np.testing.assert_array_equal(t.dx_padded[pt:pt + 6, pl:pl + 5], t.dx)
    assert len(t.dkernel_cells[0].terms) == dy.size
    assert all(len(cell.terms) == 9 for cell in t.dx_cells)
    text = t.to_text(max_cells=None)
    assert "full correlation" in text and "dw[0,0" in text and "dx[0,0" in text


def test_layouts_and_argument_checks():
    x = np.arange(16).reshape(4, 4)
    a = explain.conv2d(x, [[1, 0], [0, 1]])
    b = explain.conv2d(x[:, :, None], np.array([[1, 0], [0, 1]])[:, :, None])
    c = explain.conv2d(x[None, :, :, None], np.array([[1, 0], [0, 1]])[:, :, None, None])
    assert a.output.shape == b.output.shape == (3, 3) and c.output.shape == (1, 3, 3, 1)
    np.testing.assert_array_equal(c.output[0, :, :, 0], a.output)
    assert explain.max_pool2d(np.zeros((4, 4, 3)), 2).output.shape == (2, 2, 3)
    assert explain.conv1d(np.arange(5)[None, :, None], [1, 1]).output.shape == (1, 4, 1)
    with pytest.raises(ValueError, match="one filter"):
        explain.conv2d(x, np.zeros((2, 2, 1, 3)))
    with pytest.raises(ValueError, match="has 2 channel"):
        explain.conv2d(x, np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="one image"):
        explain.conv2d(np.zeros((2, 4, 4, 1)), [[1]])
    with pytest.raises(TypeError, match="real numbers"):
        explain.conv2d([["a"]], [[1]])
    with pytest.raises(ValueError, match="strides"):
        explain.conv2d(x, [[1]], strides=0)
    with pytest.raises(ValueError, match="dy must have the output's shape"):
        explain.conv2d_backward(x, [[1]], np.zeros((3, 3)))
    with pytest.raises(ValueError, match="no input cell"):
        explain.max_pool2d(x, 2, padding=2)
    with pytest.raises(TypeError, match="ceil_mode"):
        explain.max_pool2d(x, 2, ceil_mode="yes")
    with pytest.raises(ValueError, match="max_cells"):
        a.to_text(max_cells=0)
    with pytest.raises(TypeError, match="unknown rendering option"):
        a.to_text(colour=True)


# ----------------------------------------------------------------------------- renderings

def test_long_traces_are_capped_with_a_note():
    rng = np.random.default_rng(1)
    t = explain.conv2d(rng.integers(0, 9, (20, 20, 2)), rng.integers(-1, 2, (5, 5, 2)))
    text = t.to_text(max_cells=5, max_terms=10, max_grid=8)
    assert len(re.findall(r"^out\[", text, re.M)) == 5
    assert "(5 of 256 cells shown; max_cells=None shows all)" in text
    assert "... (40 more terms)" in text and "12 more rows" in text
    full = t.to_text(max_cells=None, max_terms=None, max_grid=None)
    assert len(re.findall(r"^out\[", full, re.M)) == 256 and "more terms" not in full


def test_markdown_and_html():
    t = explain.conv2d(IMAGE_A, VERTICAL, padding=1, bias=0.5)
    md = t.to_markdown(max_cells=None)
    assert f"| `out[2,2]` | `{CELL_14[:-5]} + 0.5 (bias)` | `14.5` |" in md
    assert "| axis | formula |" in md and "*0*" in md  # padding in italics
    html = t.to_html(max_cells=3)
    assert t._repr_html_() == t.to_html()
    assert repr(t).startswith("<ConvTrace conv2d, output 6x6: print() it")
    assert "output 4x4" in repr(explain.conv2d_backward(IMAGE_A[:4, :4], [[1]], np.ones((4, 4))))
    assert html.count("<table") > 10 and html.count('class="win"') == 27  # 3 windows x 9 cells
    assert html.count('class="hit"') == 3 and "3 of 36 cells shown" in html
    page = t.to_html(full_page=True)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "&lt;" not in html.split("<style>")[0]
    float_trace = explain.conv2d([[0.5, 1.25], [2.0, -1.0]], [[1.5]])
    assert "out[0,0] = 1.5*0.5 = 0.75" in str(float_trace)


def test_trace_sections_and_flip_header():
    t = explain.conv2d(IMAGE_A, VERTICAL, flip_kernel=True)
    text = t.to_text(sections=("header", "kernel"))
    assert "rotated 180 degrees" in text and "Cells" not in text
    np.testing.assert_array_equal(t.applied[:, :, 0], np.array(VERTICAL)[::-1, ::-1])
    with pytest.raises(ValueError, match="unknown section"):
        t.to_text(sections=("nope",))


def test_model_shapes_walk():
    model = sn.Sequential([
        sn.layers.Input(shape=(28, 28, 1)),
        sn.layers.Conv2D(32, 5, padding="same", activation="relu"),
        sn.layers.Conv2D(32, 5, padding="same", activation="relu"),
        sn.layers.MaxPooling2D(2),
        sn.layers.Conv2D(64, 3, padding="same", activation="relu"),
        sn.layers.Conv2D(64, 3, padding="same", activation="relu"),
        sn.layers.MaxPooling2D(2),
        sn.layers.Flatten(),
        sn.layers.Dense(128, activation="relu"),
        sn.layers.Dense(10, activation="softmax"),
    ])
    ms = explain.model_shapes(model)
    assert [r[3] for r in ms.rows] == [(None, 28, 28, 32), (None, 28, 28, 32), (None, 14, 14, 32),
                                      (None, 14, 14, 64), (None, 14, 14, 64), (None, 7, 7, 64),
                                      (None, 3136), (None, 128), (None, 10)]
    assert [r[5] for r in ms.rows] == ["5x5", "9x9", "10x10", "14x14", "18x18", "20x20", "all",
                                      "all", "all"]
    assert ms.rows[0][4] == ["rows, cols: floor((28 + 2 + 2 - 5) / 1) + 1 = 28",
                             "  padding 'same': out = ceil(28 / 1) = 28; padding max((28 - 1)*1 "
                             "+ 5 - 28, 0) = 4 -> 2 before, 2 after"]
    assert ms.rows[2][4] == ["rows, cols: floor((28 + 0 + 0 - 2) / 2) + 1 = 14"]
    assert ms.rows[3][6] == "10 + (3 - 1)*2 = 14"  # the jump is 2 after the first pooling
    text = str(ms)
    assert "Receptive field" in text and "floor((14 + 1 + 1 - 3) / 1) + 1 = 14" in text
    assert "| Layer (type) |" in ms.to_markdown() == ms._repr_markdown_()
    assert repr(ms) == text  # a notebook or REPL shows the walk, not an object address


def test_model_shapes_functional_branches():
    inp = sn.layers.Input(shape=(16, 16, 3))
    a = sn.layers.Conv2D(4, 3, padding="same")(inp)
    b = sn.layers.Conv2D(4, 5, strides=2, padding="same")(inp)
    b = sn.layers.Conv2D(4, 1)(b)
    a = sn.layers.MaxPooling2D(2)(a)
    out = sn.layers.Concatenate()([a, b])
    ms = explain.model_shapes(sn.Model(inp, out))
    by_name = {r[0]: r for r in ms.rows}
    fields = [r[5] for r in ms.rows]
    assert fields[0] == "1x1" and fields[-1] == "5x5"  # max over the branches: 3+1=4 vs 5
    assert by_name[ms.rows[-1][0]][3] == (None, 8, 8, 8)
    unbuilt = sn.Sequential([sn.layers.Dense(2)])
    with pytest.raises(ValueError, match="not built"):
        explain.model_shapes(unbuilt)


@pytest.mark.parametrize("module", ["stridenet.explain", "stridenet.explain.conv",
                                    "stridenet.explain.pool", "stridenet.explain.shapes"])
def test_docstring_examples(module):
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


# ----------------------------------------------------------------------------- CLI

def test_cli_conv2d_maxpool_output_size(capsys, tmp_path):
    image = str(IMAGE_A.tolist())
    assert cli_main(["explain", "conv2d", "--input", image, "--kernel", str(VERTICAL),
                     "--max-cells", "0"]) == 0
    assert f"out[1,1] = {CELL_14}" in capsys.readouterr().out
    assert cli_main(["explain", "conv2d", "--input", image, "--kernel", str(VERTICAL),
                     "--padding", "1", "--strides", "2"]) == 0
    assert "floor((6 + 1 + 1 - 3) / 2) + 1 = 3" in capsys.readouterr().out
    assert cli_main(["explain", "maxpool", "--input", str(PADDED_A), "--pool-size", "2",
                     "--strides", "2"]) == 0
    out = capsys.readouterr().out
    assert "out[2,2] = max(-3, -12, -5, -10) = -3" in out
    assert cli_main(["explain", "avgpool", "--input", "[[1, 2], [3, 4]]", "--pool-size", "2",
                     "--padding", "1", "--strides", "2", "--count-include-pad"]) == 0
    assert "out[0,0] = (0 + 0 + 0 + 1) / 4 = 0.25" in capsys.readouterr().out
    assert cli_main(["explain", "output-size", "--n", "6", "--kernel", "3", "--padding", "1",
                     "--strides", "2"]) == 0
    assert capsys.readouterr().out.strip() == "out = floor((6 + 1 + 1 - 3) / 2) + 1 = 3"
    md = tmp_path / "t.md"
    assert cli_main(["explain", "conv1d", "--input", "[1, 2, 3, 4]", "--kernel", "[1, -1]",
                     "--padding", "causal", "--format", "markdown", "--out", str(md)]) == 0
    assert "| `out[0]` | `1*0 + (-1)*1` | `-1` |" in md.read_text()
    assert cli_main(["explain", "backward", "--input", "[[1, 2], [3, 4]]", "--kernel", "[[1]]",
                     "--dy", "[[1, 0], [0, 2]]", "--format", "html", "--out",
                     str(tmp_path / "b.html")]) == 0
    assert "dx[1,1]" in (tmp_path / "b.html").read_text()


def test_cli_rejects_bad_input(capsys):
    assert cli_main(["explain", "conv2d", "--input", "__import__('os')", "--kernel", "[[1]]"]) == 2
    assert "--input must be JSON" in capsys.readouterr().err
    assert cli_main(["explain", "conv2d", "--input", "[[1, 2]]", "--kernel", "[[1, 2, 3]]"]) == 2
    assert "the kernel spans 3 cells" in capsys.readouterr().err
    assert cli_main(["explain", "maxpool", "--input", "[[1]]", "--pool-size", "2",
                     "--padding", "[1, 2, 3]"]) == 2
    with pytest.raises(SystemExit):
        cli_main(["explain", "nothing"])
