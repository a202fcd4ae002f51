"""Keras files in and out: the committed fixtures (made by Keras 3 itself, see
tests/fixtures/make_fixtures.py), round trips, and bad files. Keras is not needed: one
test checks live that Keras loads stridenet's archives when it happens to be installed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L
from stridenet.interop.keras_config import KerasConfigError

h5py = pytest.importorskip("h5py")

FIXTURES = Path(__file__).parent / "fixtures"
TOL = 1e-5
EXTRA_CLASSES = {  # layers of a fixture that stridenet may not have yet
    "extras": ("Rescaling", "SeparableConv2D", "LeakyReLU", "PReLU", "ELU", "SpatialDropout2D",
               "LayerNormalization", "Permute", "Softmax"),
    "upconv": ("Conv2DTranspose", "Cropping2D", "UpSampling2D", "Conv3D", "UpSampling3D",
               "Conv3DTranspose", "MaxPooling3D", "GlobalAveragePooling3D"),
}


def _fx(name):
    return str(FIXTURES / name)


def _expected(stem):
    return np.load(FIXTURES / f"keras_{stem}_x.npy"), np.load(FIXTURES / f"keras_{stem}_y.npy")


def _max_diff(model, stem):
    x, y = _expected(stem)
    return float(np.abs(model.predict(x, verbose=0) - y).max())


@pytest.mark.parametrize("file", ["keras_lenet.keras", "keras_lenet.h5", "keras_mixed.keras",
                                  "keras_mixed.h5", "keras_seq1d.keras", "keras_extras.keras",
                                  "keras_upconv.keras"])
def test_keras_fixture_predicts_as_keras(file):
    stem = file.split("_", 1)[1].split(".")[0]
    if not all(hasattr(L, c) for c in EXTRA_CLASSES.get(stem, ())):
        pytest.skip("stridenet lacks some of the layers of this fixture")
    model = sn.models.load_model(_fx(file))
    assert _max_diff(model, stem) < TOL


def test_compile_information_restored():
    model = sn.models.load_model(_fx("keras_lenet.keras"))
    assert type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.learning_rate == pytest.approx(1e-3)
    assert model._compile_config["loss"] == "sparse_categorical_crossentropy"
    assert model._compile_config["metrics"] == ["accuracy"]
    legacy = sn.models.load_model(_fx("keras_mixed.h5"))
    assert type(legacy.optimizer).__name__ == "SGD"
    assert sn.models.load_model(_fx("keras_lenet.keras"), compile=False).optimizer is None
    # it trains on: one step of fit
    x, _ = _expected("lenet")
    hist = model.fit(x, np.arange(len(x)) % 10, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(hist.history["loss"][0])


def test_optimizer_state_from_keras_and_exact_resume(tmp_path):
    model = sn.models.load_model(_fx("keras_lenet.keras"))
    opt = model.optimizer
    assert opt.iterations == 94  # 6,000 digits in batches of 64, one epoch in Keras
    assert len(opt.variables) == 10 and np.abs(opt.get_state()["velocity/9"]).max() > 0
    x, _ = _expected("lenet")
    y = np.arange(len(x)) % 10
    model.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    model.save(str(tmp_path / "resumed.keras"))
    back = sn.models.load_model(str(tmp_path / "resumed.keras"))
    state, back_state = model.optimizer.get_state(), back.optimizer.get_state()
    assert sorted(state) == sorted(back_state)
    assert all(np.array_equal(state[k], back_state[k]) for k in state)
    for m in (model, back):
        m.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_architecture_and_names_from_config():
    model = sn.models.load_model(_fx("keras_mixed.keras"))
    assert model.name == "mixed"
    assert model.get_layer("stem").strides == (2, 2)
    assert model.get_layer("stem_bn").momentum == pytest.approx(0.9)
    assert model.get_layer("dw").depth_multiplier == 2
    assert model.count_params() == sum(w.size for w in model.get_weights())
    seq = sn.models.load_model(_fx("keras_seq1d.keras"))
    assert isinstance(seq, sn.Sequential) and seq.layers[1].padding == "causal"


def test_load_weights_keras3_and_legacy():
    sn.utils.set_random_seed(1)
    model = sn.zoo.lenet5()  # its own layer names: matched by Keras's group paths
    model.load_weights(_fx("keras_lenet.weights.h5"))
    assert _max_diff(model, "lenet") < TOL
    mixed = sn.models.load_model(_fx("keras_mixed.keras"))
    for w in mixed.weights:
        w.assign(np.zeros(w.shape, w.data.dtype))
    mixed.load_weights(_fx("keras_mixed.weights.h5"))
    assert _max_diff(mixed, "mixed") < TOL
    for w in mixed.weights:
        w.assign(np.zeros(w.shape, w.data.dtype))
    mixed.load_weights(_fx("keras_mixed.h5"))  # the Keras 2 layout
    assert _max_diff(mixed, "mixed") < TOL


def _zoo(name):
    sn.utils.set_random_seed(7)
    model = sn.zoo.get(name)
    rng = np.random.default_rng(2)
    for layer in model._all_layers():
        if type(layer).__name__ == "BatchNormalization":
            c = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.2, c).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.5, 2, c).astype(np.float32))
    return model


@pytest.mark.parametrize("name", sn.zoo.names())
def test_round_trip_through_keras_archive(name, tmp_path):
    model = _zoo(name)
    model.compile(optimizer=sn.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    shape = model.inputs[0].shape[1:] if model.inputs else model._input_shape[1:]
    x = np.random.default_rng(0).normal(size=(3, *shape)).astype(np.float32)
    path = tmp_path / "m.keras"
    model.save(str(path))
    with zipfile.ZipFile(path) as zf:
        assert [i.compress_type for i in zf.infolist()] == [zipfile.ZIP_STORED] * 3
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
    back = sn.models.load_model(str(path))
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
    assert back.optimizer.learning_rate == pytest.approx(2e-3)
    wpath = tmp_path / "m.weights.h5"
    model.save_weights(str(wpath))
    fresh = sn.zoo.get(name)
    fresh.load_weights(str(wpath))
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


KERAS_CHECK = textwrap.dedent("""
    import os, sys
    import numpy as np
    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    for stem in sys.argv[1:]:
        m = keras.models.load_model(stem + ".keras")
        y = np.asarray(m.predict(np.load(stem + "_x.npy"), verbose=0))
        print(stem, float(np.abs(y - np.load(stem + "_y.npy")).max()),
              type(getattr(m, "optimizer", None)).__name__)
""")


def test_keras_itself_loads_our_archive(tmp_path):
    """Live check with Keras 3 (torch backend; keras is in the test extra, so CI runs it)."""
    import importlib.util

    if importlib.util.find_spec("keras") is None:
        if os.environ.get("CI"):
            pytest.fail("keras is not installed: the live Keras check must run in CI")
        pytest.skip("keras is not installed")
    stems = []
    for name in ("lenet5", "resnet20"):
        model = _zoo(name)
        if name == "lenet5":
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
        shape = model.inputs[0].shape[1:] if model.inputs else model._input_shape[1:]
        x = np.random.default_rng(0).normal(size=(3, *shape)).astype(np.float32)
        stem = str(tmp_path / name)
        model.save(stem + ".keras")
        np.save(stem + "_x.npy", x)
        np.save(stem + "_y.npy", model.predict(x, verbose=0))
        stems.append(stem)
    for name in ("mixed", "extras", "upconv"):  # Keras's own models, through stridenet
        if all(hasattr(L, c) for c in EXTRA_CLASSES.get(name, ())):
            stem = str(tmp_path / name)
            sn.models.load_model(_fx(f"keras_{name}.keras")).save(stem + ".keras")
            x, y = _expected(name)
            np.save(stem + "_x.npy", x)
            np.save(stem + "_y.npy", y)
            stems.append(stem)
    out = subprocess.run([sys.executable, "-c", KERAS_CHECK, *stems], capture_output=True,
                         text=True, timeout=600, env={**os.environ, "KERAS_BACKEND": "torch"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Skipping variable loading" not in out.stderr  # the optimizer state fits too
    lines = out.stdout.split("\n")
    results = {Path(ln.split()[0]).name: ln.split()[1:] for ln in lines if ln.strip()}
    assert float(results["lenet5"][0]) < TOL and results["lenet5"][1] == "Adam"
    assert float(results["resnet20"][0]) < TOL
    for name in ("mixed", "extras", "upconv"):
        if name in results:
            assert float(results[name][0]) < TOL, (name, results[name])


# -- what stridenet lacks: one error listing all ------------------------------------------


def _rewrite(src, dst, config=None, weights=None, drop=()):
    with zipfile.ZipFile(src) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    if config is not None:
        members["config.json"] = json.dumps(config).encode()
    if weights is not None:
        members["model.weights.h5"] = weights
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in members.items():
            if name not in drop:
                zf.writestr(name, data)
    return str(dst)


def _config(file="keras_lenet.keras"):
    with zipfile.ZipFile(_fx(file)) as zf:
        return json.loads(zf.read("config.json"))


def test_unsupported_layers_and_arguments_listed_together(tmp_path):
    cfg = _config()
    layers = cfg["config"]["layers"]
    layers[1]["config"]["data_format"] = "channels_first"
    layers[3]["config"]["kernel_constraint"] = {"class_name": "MaxNorm", "config": {}}
    layers[6]["class_name"] = "LSTM"
    layers[7]["config"]["activation"] = "swish_custom"
    path = _rewrite(_fx("keras_lenet.keras"), tmp_path / "odd.keras", config=cfg)
    with pytest.raises(KerasConfigError) as info:
        sn.models.load_model(path)
    msg = str(info.value)
    assert "odd.keras" in msg and "(4)" in msg
    assert "data_format" in msg and "channels_first" in msg
    assert "kernel_constraint" in msg
    assert "'dense' (LSTM): no stridenet layer" in msg
    assert "swish_custom" in msg


def test_subclassed_keras_model_refused(tmp_path):
    cfg = {"class_name": "MyModel", "config": {"units": 3}}
    path = _rewrite(_fx("keras_lenet.keras"), tmp_path / "sub.keras", config=cfg)
    with pytest.raises(KerasConfigError, match="subclassed"):
        sn.models.load_model(path)


def test_save_refuses_what_keras_lacks(tmp_path):
    model = sn.Sequential([L.Input((4, 4, 1)), L.GrayscaleToRGB(name="rgb"),
                           L.Conv2D(2, 3, flip_kernel=True, name="flipped")])
    with pytest.raises(KerasConfigError) as info:
        model.save(str(tmp_path / "m.keras"))
    assert "rgb (GrayscaleToRGB)" in str(info.value).replace("'", "")
    assert "flip_kernel=True" in str(info.value)
    assert not (tmp_path / "m.keras").exists()
    with pytest.raises(ValueError, match="legacy .h5"):
        sn.zoo.lenet5().save(str(tmp_path / "m.h5"))


# -- bad files ---------------------------------------------------------------------------


def test_truncated_and_not_zip(tmp_path):
    raw = (FIXTURES / "keras_mixed.keras").read_bytes()
    bad = tmp_path / "cut.keras"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="cut.keras"):
        sn.models.load_model(str(bad))
    bad.write_bytes(b"PK\x03\x04 nonsense")
    with pytest.raises(ValueError, match="cut.keras is not a Keras archive"):
        sn.models.load_model(str(bad))
    with pytest.raises(FileNotFoundError, match="nope.keras"):
        sn.models.load_model(str(tmp_path / "nope.keras"))


def test_missing_members_and_bad_json(tmp_path):
    src = _fx("keras_mixed.keras")
    path = _rewrite(src, tmp_path / "noconf.keras", drop=("config.json",))
    with pytest.raises(ValueError, match=r"noconf.keras is not a complete.*config.json"):
        sn.models.load_model(path)
    path = _rewrite(src, tmp_path / "now.keras", drop=("model.weights.h5",))
    with pytest.raises(ValueError, match=r"now.keras .*model.weights.h5"):
        sn.models.load_model(path)
    with zipfile.ZipFile(src) as zf, zipfile.ZipFile(tmp_path / "j.keras", "w") as out:
        for n in zf.namelist():
            out.writestr(n, b"{not json" if n == "config.json" else zf.read(n))
    with pytest.raises(ValueError, match="j.keras: config.json is not valid JSON"):
        sn.models.load_model(str(tmp_path / "j.keras"))
    path = _rewrite(src, tmp_path / "h5bad.keras", weights=b"not hdf5 at all")
    with pytest.raises(ValueError, match="h5bad.keras: model.weights.h5 is not a readable"):
        sn.models.load_model(path)


def _edited_weights(edit) -> bytes:
    with zipfile.ZipFile(_fx("keras_mixed.keras")) as zf:
        raw = zf.read("model.weights.h5")
    buf = io.BytesIO(raw)
    with h5py.File(buf, "a") as f:
        edit(f)
    return buf.getvalue()


def test_misshapen_and_missing_datasets(tmp_path):
    def misshape(f):
        del f["layers/conv2d_1/vars/0"]
        f["layers/conv2d_1/vars"].create_dataset("0", data=np.zeros((1, 1, 16, 7), np.float32))

    path = _rewrite(_fx("keras_mixed.keras"), tmp_path / "shape.keras",
                    weights=_edited_weights(misshape))
    with pytest.raises(ValueError, match=r"shape.keras.*conv2d_1/vars/0 has shape \(1, 1, 16, "
                                         r"7\) but weight 'pw/kernel' needs \(1, 1, 16, 8\)"):
        sn.models.load_model(path)

    def drop(f):
        del f["layers/batch_normalization/vars/3"]

    path = _rewrite(_fx("keras_mixed.keras"), tmp_path / "gone.keras",
                    weights=_edited_weights(drop))
    with pytest.raises(ValueError, match=r"gone.keras.*'stem_bn'.*3 weight arrays.*but 4"):
        sn.models.load_model(path)


def test_load_weights_misfit_leaves_model_untouched(tmp_path):
    model = sn.models.load_model(_fx("keras_mixed.keras"))
    before = model.get_weights()
    other = sn.Sequential([L.Input((4,)), L.Dense(3, name="fc")])
    other.save_weights(str(tmp_path / "small.weights.h5"))
    with pytest.raises(ValueError, match="small.weights.h5"):
        model.load_weights(str(tmp_path / "small.weights.h5"))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    with pytest.raises(ValueError, match="holds no model_config"):
        sn.models.load_model(_fx("keras_mixed.weights.h5"))
    (tmp_path / "junk.h5").write_bytes(b"\x89HDF\r\n junk")
    with pytest.raises(ValueError, match="junk.h5: the file is not a readable HDF5"):
        sn.models.load_model(str(tmp_path / "junk.h5"))


def test_cli_exports_a_keras_file(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from stridenet.cli import main

    out = tmp_path / "lenet.onnx"
    assert main(["export", _fx("keras_lenet.keras"), "--out", str(out)]) == 0
    x, y = _expected("lenet")
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert np.abs(sess.run(None, {"input": x})[0] - y).max() < TOL


def _keras2_style(src: str, dst: Path) -> str:
    """A Keras 2 file from a Keras 3 legacy .h5: ':0' weight names, list-form inbound
    nodes, batch_input_shape on the first layer of a Sequential model."""
    with h5py.File(src) as f_in, h5py.File(dst, "w") as f:
        cfg = json.loads(f_in.attrs["model_config"])
        layers = cfg["config"]["layers"]
        if cfg["class_name"] == "Sequential":
            first = layers.pop(0)
            layers[0]["config"]["batch_input_shape"] = first["config"]["batch_shape"]
        for spec in layers:
            spec["config"]["dtype"] = "float32"
            if spec["class_name"] == "BatchNormalization":
                spec["config"]["axis"] = [3]  # as tf.keras 2 wrote it once built
            nodes = []
            for node in spec.get("inbound_nodes", []):
                refs = [[*r, {}] for r in _refs3(node["args"])]
                nodes.append(refs)
            if "inbound_nodes" in spec:
                spec["inbound_nodes"] = nodes
            if spec["class_name"] == "InputLayer":
                spec["config"]["batch_input_shape"] = spec["config"].pop("batch_shape")
        if cfg["class_name"] != "Sequential":
            cfg["config"]["input_layers"] = [cfg["config"]["input_layers"]]
            cfg["config"]["output_layers"] = [cfg["config"]["output_layers"]]
        f.attrs["model_config"] = json.dumps(cfg)
        f.attrs["keras_version"] = "2.15.0"
        src_w, dst_w = f_in["model_weights"], f.create_group("model_weights")
        dst_w.attrs["layer_names"] = src_w.attrs["layer_names"]
        for name in src_w.attrs["layer_names"]:
            name = name.decode() if isinstance(name, bytes) else name
            g = dst_w.create_group(name)
            wnames = []
            for wn in src_w[name].attrs["weight_names"]:
                wn = wn.decode() if isinstance(wn, bytes) else wn
                g.create_dataset(wn + ":0", data=src_w[name][wn][()])
                wnames.append((wn + ":0").encode())
            g.attrs["weight_names"] = wnames
    return str(dst)


def _refs3(obj):
    if isinstance(obj, dict) and obj.get("class_name") == "__keras_tensor__":
        return [obj["config"]["keras_history"]]
    return [r for e in obj for r in _refs3(e)] if isinstance(obj, list) else []


@pytest.mark.parametrize("stem", ["lenet", "mixed"])
def test_keras2_layout(stem, tmp_path):
    path = _keras2_style(_fx(f"keras_{stem}.h5"), tmp_path / f"{stem}_k2.h5")
    model = sn.models.load_model(path, compile=False)
    assert _max_diff(model, stem) < TOL


def test_example_explains_the_keras_lenet(capsys):
    import runpy

    example = Path(__file__).parents[1] / "examples" / "keras_lenet_explain.py"
    main = runpy.run_path(str(example))["main"]
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "strongest cell" in out and "max |tanh(explained) - conv2d output|" in out
