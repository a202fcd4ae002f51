"""``stridenet explore`` and the explore.html that ``stridenet train`` writes."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

import stridenet as sn
from stridenet import cli
from test_explore import decode

pytest.importorskip("safetensors")


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def one_line_error(result, *fragments):
    status, _, err = result
    assert status == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for f in fragments:
        assert f in lines[0], lines[0]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explore")
    sn.utils.set_random_seed(0)
    path = folder / "model.safetensors"
    sn.zoo.lenet5().save(path)
    return path


def test_explore_writes_the_page_beside_the_model(saved):
    status, out, err = run_cli("explore", saved, "--images", 3)
    assert status == 0, err
    page = saved.parent / "explore.html"
    assert f"wrote {page}: 3 mnist test image(s), 8 layers" in out
    meta, blob = decode(page.read_text(encoding="utf-8"))
    from stridenet.datasets import mnist

    _, (x, y) = mnist.load_data()
    assert meta["labels"] == [int(v) for v in y[:3]]
    first = blob[meta["nodes"][0]["out"][0][0]:][:784]
    np.testing.assert_array_equal(first, (x[0].astype(np.float32) / 255).ravel())


def test_explore_out_and_the_run_dataset(saved, tmp_path, monkeypatch):
    """The dataset comes from metrics.json beside the model unless --dataset names one."""
    import stridenet.cli.explore as explore_cli

    asked = []
    real = explore_cli.load_dataset

    def load(name):  # fashion-mnist is not on an offline machine: record, load mnist
        asked.append(name)
        return real("mnist")

    monkeypatch.setattr(explore_cli, "load_dataset", load)
    (saved.parent / "metrics.json").write_text(json.dumps({"dataset": "fashion_mnist"}))
    try:
        status, out, err = run_cli("explore", saved, "--images", 1, "--out", tmp_path / "e.html")
        assert status == 0, err
        assert run_cli("explore", saved, "--images", 1, "--dataset", "mnist",
                       "--out", tmp_path / "f.html")[0] == 0
    finally:
        (saved.parent / "metrics.json").unlink()
    assert asked == ["fashion_mnist", "mnist"]
    assert "wrote" in out and (tmp_path / "e.html").exists()
    meta, _ = decode((tmp_path / "e.html").read_text(encoding="utf-8"))
    assert meta["images"] == 1 and meta["class_names"] == [str(i) for i in range(10)]


def test_explore_bad_input_is_one_line(saved, tmp_path):
    one_line_error(run_cli("explore", tmp_path / "none.safetensors"), "no such model file")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    one_line_error(run_cli("explore", bad), str(bad))
    one_line_error(run_cli("explore", saved, "--out", tmp_path), "is a folder")
    one_line_error(run_cli("explore", saved, "--dataset", "cifar"), "unknown dataset")
    status, _, err = run_cli("explore", saved, "--images", "0")  # argparse: usage + error
    assert status == 2 and err.strip().splitlines()[-1].endswith(
        "argument --images: expected a positive integer, got 0")
    sn.zoo.resnet20().save(tmp_path / "r.safetensors")
    one_line_error(run_cli("explore", tmp_path / "r.safetensors"), "expects inputs 32x32x3",
                   "28x28x1")


def test_train_writes_explore_html(tmp_path):
    folder = tmp_path / "run"
    status, out, err = run_cli("train", "mnist", "--limit", 64, "--test-limit", 16,
                               "--epochs", 1, "--no-augment", "--out", folder)
    assert status == 0, err
    metrics = json.loads((folder / "metrics.json").read_text())
    assert "explore.html" in metrics["files"]
    meta, _ = decode((folder / "explore.html").read_text(encoding="utf-8"))
    assert meta["images"] == 10 and meta["model"] == "mnist_cnn"
