"""model.summary() keeps its columns apart whatever the names and shapes."""

from __future__ import annotations

import re

import stridenet as sn


def _lines(model, **kw):
    out = []
    model.summary(print_fn=out.append, **kw)
    return out


def test_a_long_layer_name_widens_the_column_instead_of_running_into_the_shape():
    name = "a_really_long_layer_name_that_goes_on_and_on"
    m = sn.Sequential([sn.Input((8,)), sn.layers.Dense(4, name=name), sn.layers.Dense(2)])
    lines = _lines(m)
    row = next(line for line in lines if line.startswith(name))
    cells = re.split(r"\s{2,}", row.strip())
    assert cells == [f"{name} (Dense)", "(None, 4)", "36"]
    header = next(line for line in lines if line.startswith("Layer (type)"))
    # the shape column starts where its header starts, on every row
    col = header.index("Output Shape")
    assert row[col:col + 9] == "(None, 4)"
    assert all(len(line) <= len(lines[1]) for line in lines if "(" in line)


def test_every_header_keeps_two_spaces_before_the_next():
    lines = _lines(sn.zoo.mnist_cnn(), show_compute=True)
    header = next(line for line in lines if line.startswith("Layer (type)"))
    assert re.split(r"\s{2,}", header.strip()) == [
        "Layer (type)", "Output Shape", "Param #", "FLOPs/sample", "Receptive field",
        "Activations"]
