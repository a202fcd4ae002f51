"""The explorer page (Python side): the numbers it embeds, its caps, its bad-input errors.

The browser tests (test_explore_browser.py) drive the page itself.
"""

from __future__ import annotations

import base64
import json
import re
import zlib

import numpy as np
import pytest

import stridenet as sn
from stridenet.explain.explorer import Explorer, explore
from stridenet.explain.explorer.graph import input_shape, model_nodes, run_nodes


def decode(html: str):
    """-> (meta, float32 blob) read back from a page."""
    meta = json.loads(re.search(r'<script id="sn-meta" type="application/json">(.*?)</script>',
                                html, re.S).group(1).replace("<\\/", "</"))
    blob = re.search(r'<script id="sn-blob" type="text/plain">(.*?)</script>', html,
                     re.S).group(1)
    raw = zlib.decompress(base64.b64decode(blob))
    return meta, np.frombuffer(raw, "<f4")


def ref(blob, r):
    return blob[r[0]:r[0] + r[1]]


def node_values(meta, blob, k, img):
    while "alias" in meta["nodes"][k]:
        k = meta["nodes"][k]["alias"]
    return ref(blob, meta["nodes"][k]["out"][img])


def images(model, n, seed=0):
    return np.random.default_rng(seed).random((n, *input_shape(model))).astype(np.float32)


@pytest.fixture(scope="module")
def mnist_digits():
    from stridenet.datasets import mnist

    _, (x, y) = mnist.load_data()
    return (x[:10].astype(np.float32) / 255)[..., None], y[:10]


@pytest.mark.parametrize("name,n", [("lenet5", 3), ("mnist_cnn", 2), ("resnet20", 2),
                                    ("small_inception", 2)])
def test_layer_by_layer_equals_predict_and_is_embedded(name, n):
    sn.utils.set_random_seed(1)
    model = sn.zoo.get(name)
    x = images(model, n)
    nodes = run_nodes(model, model_nodes(model), x)
    assert np.array_equal(nodes[-1].out, model.predict(x, batch_size=n, verbose=0))
    page = explore(model, x, max_bytes=50_000_000)
    meta, blob = decode(page.html)
    assert meta["images"] == n and len(meta["nodes"]) == len(nodes)
    for k, node in enumerate(nodes):  # every output, bit for bit
        for i in range(n):
            assert np.array_equal(node_values(meta, blob, k, i), node.out[i].ravel()), node.name
    for entry, node in zip(meta["nodes"], nodes):  # conv kernels as the layer applies them
        if entry["op"]["type"] == "conv" and type(node.layer).__name__ == "Conv2D":
            k = node.layer.kernel.numpy()
            assert np.array_equal(ref(blob, entry["op"]["kernel"]), k.ravel())


def test_functional_branches_are_described():
    sn.utils.set_random_seed(2)
    meta, _ = decode(explore(sn.zoo.resnet20(), images(sn.zoo.resnet20(), 1)).html)
    kinds = {e["op"]["type"] for e in meta["nodes"]}
    assert {"input", "conv", "bn", "act", "add", "gpool", "dense"} <= kinds
    adds = [e for e in meta["nodes"] if e["op"]["type"] == "add"]
    assert adds and all(len(e["parents"]) == 2 for e in adds)
    sn.utils.set_random_seed(2)
    inc = sn.zoo.small_inception()
    meta, _ = decode(explore(inc, images(inc, 1)).html)
    concat = [e for e in meta["nodes"] if e["op"]["type"] == "concat"]
    assert concat and sum(concat[0]["op"]["sizes"]) == concat[0]["shape"][-1]


def test_dense_terms_add_up_to_the_layer_output():
    sn.utils.set_random_seed(3)
    model = sn.zoo.lenet5(activation="relu")
    x = images(model, 2)
    meta, blob = decode(explore(model, x).html)
    nodes = run_nodes(model, model_nodes(model), x)
    for k, entry in enumerate(meta["nodes"]):
        op = entry["op"]
        if op["type"] != "dense":
            continue
        for i in range(2):
            terms = ref(blob, op["terms"][i]).reshape(op["units"], op["k"], 3)
            z = ref(blob, op["z"][i])
            listed = (terms[:, :, 1].astype(np.float64) * terms[:, :, 2]).sum(axis=1)
            bias = ref(blob, op["bias"]) if op["bias"] else 0
            np.testing.assert_allclose(listed + ref(blob, op["rest"][i]) + bias, z,
                                       rtol=1e-5, atol=1e-5)
            x_in = nodes[entry["parents"][0]].out[i].ravel()
            idx = terms[:, :, 0].astype(int)  # the inputs named are the inputs used
            np.testing.assert_array_equal(terms[:, :, 2], x_in[idx])
            act = np.maximum(z, 0) if op["act"] == "relu" else np.exp(z) / np.exp(z).sum()
            np.testing.assert_allclose(act, nodes[k].out[i], rtol=1e-5, atol=1e-6)


def test_spec_mnist_cnn_with_ten_digits_is_under_5_mb(mnist_digits):
    x, y = mnist_digits
    sn.utils.set_random_seed(0)
    page = explore(sn.zoo.mnist_cnn(), x, labels=y)
    assert page.images == 10 and page.notes == []
    assert page.size < 5_000_000
    assert "label 7" not in page.html  # labels are data, the page writes them
    meta, _ = decode(page.html)
    assert meta["labels"] == [int(v) for v in y]


def test_page_is_self_contained():
    page = explore(sn.zoo.lenet5(), np.zeros((1, 28, 28, 1), np.float32))
    html = page.html
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert not re.search(r"https?://", html)
    assert not re.search(r"<(link|img|iframe)\b", html)
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert "default-src 'none'" in html  # the page itself forbids loading anything
    assert html.count("<script") == 3


def test_caps_drop_images_and_channels_with_notes():
    sn.utils.set_random_seed(4)
    model = sn.zoo.mnist_cnn()
    x = images(model, 6)
    page = explore(model, x, max_bytes=900_000)
    assert 1 <= page.images < 6
    assert any("max_bytes" in n for n in page.notes)
    page = explore(model, x[:1], max_values=5000)
    assert any("the first 6 are embedded" in n for n in page.notes), page.notes
    meta, blob = decode(page.html)
    conv = meta["nodes"][1]
    assert conv["draw"] == [28, 28, 6] and conv["kept"] == 6
    assert "the first 6 are embedded" in page.html  # the note is on the page


def test_a_layer_it_cannot_explain_gets_a_note():
    sn.utils.set_random_seed(5)
    model = sn.models.Sequential([sn.layers.Input((8, 8, 1)), sn.layers.ZeroPadding2D(1),
                                  sn.layers.Conv2D(2, 3), sn.layers.Reshape((2, 4, 8, 2)),
                                  sn.layers.Flatten(), sn.layers.Dense(3)])
    page = explore(model, images(model, 2))
    assert any("ZeroPadding2D layers are drawn but not explained" in n for n in page.notes)
    assert any("more than 3 axes" in n for n in page.notes)
    meta, _ = decode(page.html)
    assert meta["nodes"][1]["op"]["type"] == "opaque"
    assert meta["nodes"][3]["draw"] == [4, 8, 2]  # the middle slice of the extra axis


def test_conv1d_models_are_one_row_maps():
    sn.utils.set_random_seed(6)
    model = sn.models.Sequential([sn.layers.Input((20, 2)),
                                  sn.layers.Conv1D(3, 5, padding="causal", activation="tanh"),
                                  sn.layers.MaxPooling1D(2), sn.layers.GlobalAveragePooling1D(),
                                  sn.layers.Dense(2, activation="softmax")])
    meta, _ = decode(explore(model, images(model, 2)).html)
    conv = meta["nodes"][1]["op"]
    assert (conv["rank"], conv["kh"], conv["kw"], conv["pl"]) == (1, 1, 5, 4)
    assert meta["nodes"][2]["op"]["type"] == "pool"


@pytest.mark.parametrize("x,message", [
    (np.zeros((2, 32, 32, 3)), r"x must have shape \(N, 28, 28, 1\) for model 'lenet5'"),
    (np.zeros((0, 28, 28, 1)), "non-empty"),
    (np.array([["a"]]), "must hold numbers"),
    (np.full((1, 28, 28, 1), np.nan), "NaN or infinite"),
])
def test_bad_images_give_one_clear_error(x, message):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        explore(sn.zoo.lenet5(), x)
    assert "\n" not in str(info.value)


def test_one_image_and_grayscale_shapes_are_accepted():
    model = sn.zoo.lenet5()
    assert explore(model, np.zeros((28, 28, 1))).images == 1
    assert explore(model, np.zeros((3, 28, 28))).images == 3


def test_bad_arguments():
    model = sn.zoo.lenet5()
    x = np.zeros((2, 28, 28, 1), np.float32)
    with pytest.raises(ValueError, match="labels has 3 entries for 2 images"):
        explore(model, x, labels=[1, 2, 3])
    with pytest.raises(ValueError, match="max_bytes"):
        explore(model, x, max_bytes=0)
    with pytest.raises(TypeError, match="Sequential or functional"):
        explore(object(), x)


def test_save_repr_and_jupyter(tmp_path):
    page = sn.explain.explore(sn.zoo.lenet5(), np.zeros((1, 28, 28, 1), np.float32))
    assert isinstance(page, Explorer)
    path = page.save(tmp_path / "e.html")
    assert open(path, encoding="utf-8").read() == page.html
    with pytest.raises(IsADirectoryError, match="is a folder"):
        page.save(tmp_path)
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "&lt;!DOCTYPE html&gt;" in frame
    assert "lenet5" in repr(page) and "1 image(s)" in repr(page)


def test_after_dropping_images_the_numbers_are_predict_on_the_kept_images():
    """The kept images are run again as their own batch: the page equals
    model.predict(x[:n]) bit for bit (a slice of a bigger batch can differ in the last bit)."""
    sn.utils.set_random_seed(9)
    model = sn.zoo.small_inception()
    x = images(model, 4)
    page = explore(model, x, max_bytes=2_400_000)
    n = page.images
    assert 1 <= n < 4
    meta, blob = decode(page.html)
    last = len(meta["nodes"]) - 1
    want = model.predict(x[:n], batch_size=n, verbose=0)
    for i in range(n):
        assert np.array_equal(node_values(meta, blob, last, i), want[i])


def test_a_layer_with_several_outputs_is_one_clear_error():
    class Split(sn.layers.Layer):
        def call(self, inputs, training=False):
            return (inputs, inputs)

    model = sn.models.Sequential([sn.layers.Input((4, 4, 1)), Split()])
    with pytest.raises(ValueError, match=r"layer 'split' \(Split\) returned tuple, not one "
                       "array") as info:
        run_nodes(model, model_nodes(model), np.zeros((1, 4, 4, 1), np.float32))
    assert "\n" not in str(info.value)
