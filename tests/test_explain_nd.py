"""Explain mode for 3D and transposed convolutions: output-size formulas (SPEC section 6)
and the model shape walk over Conv3D / Conv*Transpose / UpSampling / Cropping / 3D pooling."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers
from stridenet.explain.sizes_nd import (
    conv_output_sizes,
    transpose_output_size,
    transpose_output_sizes,
)
from stridenet.ops.kernels.conv_transpose import transposed_axis


def _shape(layer, shape):
    return tuple(np.asarray(layer(np.zeros(shape, np.float32))).shape)


# --------------------------------------------------------------- SPEC section 6 examples

def test_spec_conv3d_same_strides_2():
    forms = conv_output_sizes((7, 9, 10), 3, strides=2, padding="same")
    assert [f.value for f in forms] == [4, 5, 5]
    assert [f.axis for f in forms] == ["depth", "rows", "cols"]
    assert forms[0].formula == "floor((7 + 1 + 1 - 3) / 2) + 1 = 4"
    assert "'same': out = ceil(7 / 2) = 4" in forms[0].note
    assert _shape(layers.Conv3D(8, 3, strides=2, padding="same"), (1, 7, 9, 10, 3)) == \
        (1, 4, 5, 5, 8)


def test_spec_conv3d_dilation_2_valid():
    forms = conv_output_sizes((7, 9, 10), 3, dilation=2)
    assert [f.value for f in forms] == [3, 5, 6]
    assert forms[0].formula == "floor((7 + 0 + 0 - 2*(3 - 1) - 1) / 1) + 1 = 3"
    assert _shape(layers.Conv3D(8, 3, dilation_rate=2), (1, 7, 9, 10, 3)) == (1, 3, 5, 6, 8)


@pytest.mark.parametrize("padding, out, formula", [
    ("valid", 21, "(10 - 1)*2 + 3 + 0 = 21"),
    ("same", 20, "10*2 = 20"),
])
def test_spec_conv1d_transpose_k3_s2(padding, out, formula):
    size = transpose_output_size(10, 3, strides=2, padding=padding)
    assert (size.value, size.formula) == (out, formula)
    assert _shape(layers.Conv1DTranspose(4, 3, strides=2, padding=padding), (1, 10, 2)) == \
        (1, out, 4)


def test_spec_conv1d_transpose_k2_s3():
    size = transpose_output_size(10, 2, strides=3)
    assert size.value == 30
    assert size.formula == "(10 - 1)*3 + 2 + 1 = 30"
    assert size.note == "output_padding not given: max(2, 3) - 2 = 1"
    assert _shape(layers.Conv1DTranspose(4, 2, strides=3), (1, 10, 2)) == (1, 30, 4)


@pytest.mark.parametrize("padding, output_padding, out, formulas", [
    ("same", None, (10, 12), ("5*2 = 10", "6*2 = 12")),
    ("same", 0, (9, 11), ("(5 - 1)*2 + 3 % 2 + 0 = 9", "(6 - 1)*2 + 3 % 2 + 0 = 11")),
    ("valid", 1, (12, 14), ("(5 - 1)*2 + 3 + 1 = 12", "(6 - 1)*2 + 3 + 1 = 14")),
])
def test_spec_conv2d_transpose(padding, output_padding, out, formulas):
    forms = transpose_output_sizes((5, 6), 3, 2, padding, output_padding)
    assert tuple(f.value for f in forms) == out
    assert tuple(f.formula for f in forms) == formulas
    layer = layers.Conv2DTranspose(4, 3, strides=2, padding=padding,
                                   output_padding=output_padding)
    assert _shape(layer, (1, 5, 6, 2)) == (1, *out, 4)


def test_transpose_dilation_note():
    size = transpose_output_size(4, 3, strides=1, dilation=2)
    assert size.value == 4 - 1 + 5
    assert size.formula == "(4 - 1)*1 + 5 + 0 = 8"
    assert size.note.startswith("k' = (3 - 1)*2 + 1 = 5")


def test_transpose_formula_matches_kernel_geometry_everywhere():
    """The text's final number is the value the kernels use, over a grid of configs."""
    for n in (1, 2, 5):
        for k in (1, 2, 3, 4):
            for s in (1, 2, 3):
                for d in (1, 2):
                    for padding in ("valid", "same"):
                        for op in (None, *range(s)):
                            want = transposed_axis(n, k, s, d, padding, op)[0]
                            if want <= 0:  # the op refuses an empty output; so do we
                                with pytest.raises(ValueError, match="empty"):
                                    transpose_output_size(n, k, s, padding, op, d)
                                continue
                            size = transpose_output_size(n, k, s, padding, op, d)
                            assert size.value == want
                            assert size.formula.endswith(f"= {want}")
                            # the formula's arithmetic, evaluated, gives the value
                            expr = size.formula.rsplit("=", 1)[0]
                            assert eval(expr, {}) == want  # noqa: S307


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=4, kernel=3, strides=2, output_padding=2), "output_padding"),
    (dict(n=4, kernel=3, padding="causal"), "padding"),
    (dict(n=0, kernel=3), "n must be a positive int"),
])
def test_transpose_output_size_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        transpose_output_size(**kwargs)


# --------------------------------------------------------------- shape walk

def test_model_shapes_3d_and_transposed_layers():
    model = sn.models.Sequential([
        sn.Input((8, 8, 8, 1)), layers.Conv3D(2, 3), layers.MaxPool3D(),
        layers.UpSampling3D(), layers.Conv3DTranspose(2, 3, strides=2), layers.Cropping3D(1),
        layers.AveragePooling3D(2)])
    rows = {r[1]: r for r in sn.explain.model_shapes(model).rows}
    assert rows["Conv3D"][4] == ["depth, rows, cols: floor((8 + 0 + 0 - 3) / 1) + 1 = 6"]
    assert rows["MaxPooling3D"][5] == "4x4x4"
    assert rows["UpSampling3D"][5] == "4x4x4"  # copies: no new input cells
    assert rows["Conv3DTranspose"][4][0] == "depth, rows, cols: (6 - 1)*2 + 3 + 0 = 13"
    assert rows["Conv3DTranspose"][3] == (None, 13, 13, 13, 2)
    # ceil(3/2) = 2 upsampled cells, each half an input-of-upsampling cell apart
    assert rows["Conv3DTranspose"][5] == "5x5x5"
    assert rows["Cropping3D"][5] == "5x5x5"
    assert rows["AveragePooling3D"][5] == "6x6x6"  # 5 + (2 - 1)*1/2 = 5.5 cells: at most 6
    text = str(sn.explain.model_shapes(model))
    assert "?" not in text.split("receptive field:")[0].split("Receptive field")[1]


def test_model_shapes_conv1d_transpose_autoencoder():
    model = sn.models.Sequential([
        sn.Input((10, 1)), layers.Conv1D(4, 3, strides=2, padding="same"),
        layers.Conv1DTranspose(4, 3, strides=2, padding="same"),
        layers.Conv1DTranspose(1, 2, strides=3), layers.UpSampling1D()])
    rows = sn.explain.model_shapes(model).rows
    assert [r[3] for r in rows] == [(None, 5, 4), (None, 10, 4), (None, 30, 1), (None, 60, 1)]
    assert rows[1][4] == ["length: 5*2 = 10"]
    assert rows[2][4] == ["length: (10 - 1)*3 + 2 + 1 = 30",
                          "  output_padding not given: max(2, 3) - 2 = 1"]
    assert all(r[5] != "?" for r in rows)
