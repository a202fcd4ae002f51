"""Keras names in sn.utils: to_categorical, normalize, plot_model (matplotlib, no pydot)."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L


def test_to_categorical_as_keras():
    y = sn.utils.to_categorical([0, 2, 1, 2])
    np.testing.assert_array_equal(y, np.eye(3)[[0, 2, 1, 2]])
    assert y.dtype == np.float32
    assert sn.utils.to_categorical(np.array([[1], [0]]), num_classes=4).shape == (2, 4)
    assert sn.utils.to_categorical(np.zeros((2, 3), np.uint8), 5).shape == (2, 3, 5)
    np.testing.assert_array_equal(sn.utils.to_categorical(np.array([1.0, 0.0])), [[0, 1], [1, 0]])


@pytest.mark.parametrize("x, n, match", [
    ([0, 3], 3, r"\[0, 3\)"), ([-1, 0], None, "from -1"), ([0.5], None, "integer"),
    (["a"], None, "integer"), ([0], 0, "num_classes"), ([], None, "empty"),
])
def test_to_categorical_bad_input(x, n, match):
    with pytest.raises(ValueError, match=match):
        sn.utils.to_categorical(x, n)


def test_normalize_as_keras():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
    np.testing.assert_allclose(sn.utils.normalize(x), [[0.6, 0.8], [0, 0], [0.5**0.5, -0.5**0.5]])
    np.testing.assert_allclose(sn.utils.normalize(x, axis=0, order=1),
                               x / np.abs(x).sum(axis=0, keepdims=True))
    assert sn.utils.normalize(np.ones((2, 2), np.int32)).dtype == np.float32
    with pytest.raises(ValueError, match="axis 2"):
        sn.utils.normalize(x, axis=2)


def _residual_model():
    i = sn.Input((8, 8, 1))
    a = L.Conv2D(4, 3, padding="same", activation="relu")(i)
    b = L.Conv2D(4, 3, padding="same")(a)
    c = L.Conv2D(4, 1)(a)
    s = L.Add()([b, c, a])
    return sn.Model(i, L.Dense(2)(L.GlobalAveragePooling2D()(s)))


def test_plot_model_writes_a_png_of_the_graph(tmp_path):
    pytest.importorskip("matplotlib")
    from stridenet.viz.model_graph import model_graph

    model = _residual_model()
    graph = model_graph(model)
    names = [type(layer).__name__ for layer, *_ in graph]
    assert names == ["InputLayer", "Conv2D", "Conv2D", "Conv2D", "Add",
                     "GlobalAveragePooling2D", "Dense"]
    assert sorted(graph[4][3]) == [1, 2, 3]  # Add takes both branches and the skip
    path = tmp_path / "model.png"
    fig = sn.utils.plot_model(model, to_file=path, show_shapes=True, show_layer_names=True,
                              dpi=60)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.png"]  # no temp left
    texts = "\n".join(t.get_text() for t in fig.axes[0].texts)
    add = next(layer for layer in model.layers if type(layer).__name__ == "Add")
    assert "Output shape: (None, 8, 8, 4)" in texts and f"{add.name} (Add)" in texts
    # a Sequential model: a chain behind its input, left to right
    seq = sn.Sequential([sn.Input((16, 3)), L.Conv1D(4, 3), L.GlobalMaxPooling1D()])
    fig = sn.utils.plot_model(seq, to_file=tmp_path / "seq.svg", rankdir="LR",
                              show_dtype=True, show_trainable=True,
                              show_layer_activations=True)
    assert (tmp_path / "seq.svg").read_text().lstrip().startswith("<?xml")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[0].startswith("InputLayer") and "Trainable: True" in texts[1]


def test_plot_model_bad_input(tmp_path):
    pytest.importorskip("matplotlib")
    model = _residual_model()
    with pytest.raises(ValueError, match="to_file"):
        sn.utils.plot_model(model, to_file=tmp_path / "m.bmp")
    with pytest.raises(ValueError, match="rankdir"):
        sn.utils.plot_model(model, to_file=None, rankdir="BT")
    with pytest.raises(ValueError, match="build it first"):
        sn.utils.plot_model(sn.Sequential([L.Dense(2)]), to_file=None)
    with pytest.raises(TypeError, match="unexpected"):
        sn.utils.plot_model(model, to_file=None, colour="red")
