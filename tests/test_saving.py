"""model.save / load_model and save_weights / load_weights: round trips, resume, integrity."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L
from stridenet import optimizers
from stridenet.models import saving

if os.environ.get("CI"):  # the test extra installs safetensors: never skip there
    import safetensors.numpy as safetensors_numpy
else:
    safetensors_numpy = pytest.importorskip("safetensors.numpy")


def small_cnn():
    return sn.Sequential([
        L.Input((8, 8, 1)),
        L.Conv2D(3, 3, padding="same", activation="relu"),
        L.BatchNormalization(),
        L.MaxPooling2D(2),
        L.Flatten(),
        L.Dense(5, activation="softmax"),
    ])


def branchy_model():
    """Functional: BN, two branches joined by Add and Concatenate, a nested Sequential."""
    inp = L.Input((6, 6, 2))
    x = L.Conv2D(4, 3, padding="same")(inp)
    x = L.BatchNormalization()(x)
    a = L.Conv2D(4, 1, activation="relu")(x)
    b = L.Conv2D(4, 3, padding="same")(x)
    s = L.Add()([a, b])
    c = L.Concatenate()([s, x])
    block = sn.Sequential([L.Conv2D(3, 1), L.ReLU()], name="block")
    y = L.GlobalAveragePooling2D()(block(c))
    out = L.Dense(3, activation="softmax", name="head")(y)
    return sn.Model(inp, out, name="branchy")


def randomize(model, seed=0):
    """Distinct random values in every weight (variances positive), BN stats included."""
    rng = np.random.default_rng(seed)
    model.set_weights([np.abs(rng.standard_normal(w.shape)).astype(w.dtype) + 0.5
                       if "variance" in v.name else rng.standard_normal(w.shape).astype(w.dtype)
                       for v, w in zip(model.weights, model.get_weights())])


def header(raw: bytes) -> dict:
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n])


def rewrite(path, edit_meta=None, edit_tensors=None, rehash=False):
    """Re-encode a saved file with edited metadata/tensors (a valid safetensors file)."""
    raw = open(path, "rb").read()
    meta = dict(header(raw)["__metadata__"])
    tensors = dict(safetensors_numpy.load(raw))
    if edit_meta:
        edit_meta(meta)
    if edit_tensors:
        edit_tensors(tensors)
    if rehash:
        meta["sha256"] = saving._digest(meta, tensors)
    open(path, "wb").write(safetensors_numpy.save(tensors, metadata=meta))


def edit_config(fn):
    def edit(meta):
        cfg = json.loads(meta["config"])
        fn(cfg)
        meta["config"] = json.dumps(cfg)
    return edit


@pytest.mark.parametrize("build, shape", [(small_cnn, (8, 8, 1)), (branchy_model, (6, 6, 2))])
def test_round_trip_predictions_config_and_weights(tmp_path, build, shape):
    model = build()
    randomize(model)
    path = tmp_path / "m.sn"
    model.save(path)
    loaded = sn.models.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    assert [w.name for w in loaded.weights] == [w.name for w in model.weights]
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(1).standard_normal((4, *shape)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_bn_moving_stats_survive(tmp_path):
    model = small_cnn()
    x = np.random.default_rng(2).standard_normal((6, 8, 8, 1)).astype(np.float32)
    model(x, training=True)  # moves the BN statistics away from 0 / 1
    bn = model.layers[1]
    assert not np.allclose(bn.moving_mean.data, 0)
    assert not np.allclose(bn.moving_variance.data, 1)
    model.save(tmp_path / "m.sn")
    loaded = sn.models.load_model(tmp_path / "m.sn")
    np.testing.assert_array_equal(loaded.layers[1].moving_mean.data, bn.moving_mean.data)
    np.testing.assert_array_equal(loaded.layers[1].moving_variance.data,
                                  bn.moving_variance.data)


def test_duplicate_layer_names_get_unique_keys(tmp_path):
    inp = L.Input((4,))
    inner = sn.Sequential([L.Dense(3, name="head")], name="inner")
    out = L.Dense(2, name="head")(inner(inp))
    model = sn.Model(inp, out)
    randomize(model, 3)
    model.save(tmp_path / "m.sn")
    keys = [k for k in header((tmp_path / "m.sn").read_bytes()) if k != "__metadata__"]
    assert sorted(keys) == ["head/bias", "head/bias_1", "head/kernel", "head/kernel_1"]
    loaded = sn.models.load_model(tmp_path / "m.sn")
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def tiny_data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 8, 8, 1)).astype(np.float32), rng.integers(0, 5, n)


def test_compile_config_is_restored(tmp_path):
    model = small_cnn()
    model.compile(optimizer=optimizers.Adam(learning_rate=3e-3),
                  loss=sn.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy", sn.metrics.SparseTopKCategoricalAccuracy(k=2)])
    model.save(tmp_path / "m.sn")
    loaded = sn.models.load_model(tmp_path / "m.sn")
    assert type(loaded.optimizer) is optimizers.Adam
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.loss.get_config() == model.loss.get_config()
    assert [type(m) for m in loaded.compiled_metrics] == [type(m) for m in
                                                           model.compiled_metrics]
    assert [m.get_config() for m in loaded.compiled_metrics] == \
        [m.get_config() for m in model.compiled_metrics]
    x, y = tiny_data()
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    assert sn.models.load_model(tmp_path / "m.sn", compile=False).optimizer is None


@pytest.mark.parametrize("opt", ["adam", "rmsprop", "sgd_momentum"])
def test_training_resumes_bit_identically(tmp_path, opt):
    def make_opt():
        if opt == "sgd_momentum":
            return optimizers.SGD(learning_rate=0.05, momentum=0.9)
        return opt

    sn.utils.set_random_seed(0)
    x, y = tiny_data()
    model = small_cnn()
    model.compile(optimizer=make_opt(), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    model.save(tmp_path / "m.sn")
    loaded = sn.models.load_model(tmp_path / "m.sn")
    assert loaded._rng_state == model._rng_state
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 3
    # a control that resumes with the same weights but a fresh optimizer must differ
    fresh = sn.models.load_model(tmp_path / "m.sn", compile=False)
    fresh.compile(optimizer=make_opt(), loss="sparse_categorical_crossentropy")
    fresh._rng_state = dict(model._rng_state)
    for m in (model, loaded, fresh):
        m.fit(x, y, batch_size=4, epochs=2, initial_epoch=1, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(),
                                                        fresh.get_weights()))


def test_layer_rng_state_is_restored(tmp_path):
    model = sn.Sequential([L.Input((10,)), L.Dropout(0.5, seed=7), L.Dense(2)])
    x = np.ones((3, 10), np.float32)
    model(x, training=True)  # advances the Dropout's own generator
    model.save(tmp_path / "m.sn")
    loaded = sn.models.load_model(tmp_path / "m.sn")
    np.testing.assert_array_equal(loaded(x, training=True).numpy(),
                                  model(x, training=True).numpy())


def test_save_weights_load_weights(tmp_path):
    model = branchy_model()
    randomize(model, 4)
    model.save_weights(tmp_path / "w.sn")
    other = branchy_model()
    assert not np.array_equal(other.get_weights()[0], model.get_weights()[0])
    other.load_weights(tmp_path / "w.sn")
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    # a full model file also serves load_weights
    model.save(tmp_path / "m.sn")
    third = branchy_model()
    third.load_weights(tmp_path / "m.sn")
    np.testing.assert_array_equal(third.get_weights()[-1], model.get_weights()[-1])
    with pytest.raises(ValueError, match="holds only weights"):
        sn.models.load_model(tmp_path / "w.sn")


def test_load_weights_shape_mismatch_names_weight_and_shapes(tmp_path):
    small_cnn().save_weights(tmp_path / "w.sn")
    wider = sn.Sequential([L.Input((8, 8, 1)), L.Conv2D(4, 3, padding="same"),
                           L.BatchNormalization(), L.MaxPooling2D(2), L.Flatten(),
                           L.Dense(5)])
    before = wider.get_weights()
    with pytest.raises(ValueError, match=r"conv2d\S*/kernel.*\(3, 3, 1, 4\).*\(3, 3, 1, 3\)"):
        wider.load_weights(tmp_path / "w.sn")
    for a, b in zip(before, wider.get_weights()):  # nothing half-assigned
        np.testing.assert_array_equal(a, b)
    fewer = sn.Sequential([L.Input((8, 8, 1)), L.Flatten(), L.Dense(5)])
    with pytest.raises(ValueError, match="holds 8 weights but model .* has 2"):
        fewer.load_weights(tmp_path / "w.sn")


@pytest.mark.parametrize("cut", [4, 20, "header_end", "mid_payload", "last_byte"])
def test_truncated_file_is_refused(tmp_path, cut):
    path = tmp_path / "m.sn"
    small_cnn().save(path)
    raw = path.read_bytes()
    n = 8 + int.from_bytes(raw[:8], "little")
    end = {"header_end": n, "mid_payload": (n + len(raw)) // 2, "last_byte": len(raw) - 1}
    path.write_bytes(raw[:end.get(cut, cut)])
    with pytest.raises(ValueError, match=r"m\.sn is corrupt or was modified"):
        sn.models.load_model(path)


def test_flipped_payload_byte_is_refused(tmp_path):
    path = tmp_path / "m.sn"
    small_cnn().save(path)
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="corrupt or was modified.*SHA-256"):
        sn.models.load_model(path)
    with pytest.raises(ValueError, match="corrupt or was modified"):
        small_cnn().load_weights(path)


def test_edited_metadata_is_refused(tmp_path):
    path = tmp_path / "m.sn"
    small_cnn().save(path)

    def more_units(cfg):
        cfg["architecture"]["config"]["layers"][-1]["config"]["units"] = 6

    rewrite(path, edit_meta=edit_config(more_units))
    with pytest.raises(ValueError, match="corrupt or was modified.*SHA-256"):
        sn.models.load_model(path)
    # an in-place edit of the header bytes (same length) is caught the same way
    small_cnn().save(path)
    raw = path.read_bytes()
    i = raw.index(b"relu")
    path.write_bytes(raw[:i] + b"tanh" + raw[i + 4:])
    with pytest.raises(ValueError, match="corrupt or was modified"):
        sn.models.load_model(path)


def test_replaced_tensor_is_refused(tmp_path):
    path = tmp_path / "m.sn"
    small_cnn().save(path)

    def nudge(tensors):
        key = sorted(tensors)[-1]
        tensors[key] = tensors[key] + 1

    rewrite(path, edit_tensors=nudge)
    with pytest.raises(ValueError, match="SHA-256"):
        sn.models.load_model(path)


def test_unknown_layer_class_and_custom_objects(tmp_path):
    path = tmp_path / "m.sn"
    small_cnn().save(path)

    def rename(cfg):
        cfg["architecture"]["config"]["layers"][-1]["class_name"] = "FancyDense"

    rewrite(path, edit_meta=edit_config(rename), rehash=True)
    with pytest.raises(ValueError, match="unknown layer class 'FancyDense'"):
        sn.models.load_model(path)

    class FancyDense(L.Dense):
        pass

    loaded = sn.models.load_model(path, custom_objects={"FancyDense": FancyDense})
    assert type(loaded.layers[-1]) is FancyDense


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.sn"):
        sn.models.load_model(tmp_path / "nope.sn")
    with pytest.raises(FileNotFoundError, match="nope.sn"):
        small_cnn().load_weights(tmp_path / "nope.sn")
    text = tmp_path / "notes.txt"
    text.write_text("just some text, certainly not a model file\n")
    with pytest.raises(ValueError, match="notes.txt .*(corrupt|not a stridenet)"):
        sn.models.load_model(text)
    plain = tmp_path / "plain.safetensors"
    plain.write_bytes(safetensors_numpy.save({"w": np.zeros(3, np.float32)}))
    with pytest.raises(ValueError, match="not a stridenet file"):
        sn.models.load_model(plain)
    future = tmp_path / "future.sn"
    small_cnn().save(future)
    rewrite(future, edit_meta=lambda m: m.update(format_version="99"), rehash=True)
    with pytest.raises(ValueError, match="format version '99'"):
        sn.models.load_model(future)


def test_file_is_safetensors_json_never_pickle(tmp_path, monkeypatch):
    path = tmp_path / "m.sn"
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = tiny_data(4)
    model.fit(x, y, batch_size=4, verbose=0)
    model.save(path)
    raw = path.read_bytes()
    head = header(raw)  # 8-byte length, then a JSON object: the safetensors layout
    meta = head.pop("__metadata__")
    assert meta["format"] == "stridenet" and meta["kind"] == "model"
    cfg = json.loads(meta["config"])
    assert [k for k, _ in cfg["weights"]] == [w.name for w in model.weights]
    assert cfg["compile"]["optimizer"]["state"]
    assert all(k.startswith("optimizer/") for k, _ in cfg["compile"]["optimizer"]["state"])
    assert set(head) == {k for k, _ in cfg["weights"]} | \
        {k for k, _ in cfg["compile"]["optimizer"]["state"]}
    assert not raw.startswith(b"\x80")  # a pickle stream starts with PROTO 0x80

    def forbidden(*a, **k):
        raise AssertionError("pickle used while loading")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    sn.models.load_model(path)


def test_atomic_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.sn"
    small_cnn().save(path)
    old = path.read_bytes()

    def half_then_fail(f, blob, chunk=0):
        f.write(blob[: len(blob) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(saving, "_write_chunks", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        branchy_model().save(path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["m.sn"]  # the temp file is gone
    monkeypatch.undo()
    with pytest.raises(FileExistsError):
        small_cnn().save(path, overwrite=False)
    assert path.read_bytes() == old


def test_missing_safetensors_gives_install_hint(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"stridenet\[io\]"):
        small_cnn().save(tmp_path / "m.sn")


class TwoDense(sn.Model):
    """A subclassed model: saved with its config, rebuilt through custom_objects."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = L.Dense(int(units), activation="relu")
        self.out = L.Dense(2)

    def call(self, x, training=False):
        return self.out(self.hidden(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


def test_subclassed_model_round_trip(tmp_path):
    model = TwoDense(units=np.int64(4))  # NumPy scalars in a config are saved as numbers
    x = np.random.default_rng(5).standard_normal((3, 6)).astype(np.float32)
    want = model.predict(x)
    model.save(tmp_path / "m.sn")
    with pytest.raises(ValueError, match="unknown layer class 'TwoDense'"):
        sn.models.load_model(tmp_path / "m.sn")
    loaded = sn.models.load_model(tmp_path / "m.sn", custom_objects={"TwoDense": TwoDense})
    assert loaded.units == 4 and len(loaded.weights) == 4
    np.testing.assert_array_equal(loaded.predict(x), want)


class Doubler(sn.Model):
    """A subclassed model that defines no from_config: Model.from_config must do."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = L.Dense(2)

    def call(self, x, training=False):
        return self.dense(x) * 2


def test_subclassed_model_without_from_config_loads_with_custom_objects(tmp_path):
    model = Doubler()
    x = np.ones((2, 3), np.float32)
    want = model.predict(x)
    model.save(tmp_path / "d.sn")
    loaded = sn.models.load_model(tmp_path / "d.sn", custom_objects={"Doubler": Doubler})
    np.testing.assert_array_equal(loaded.predict(x), want)
