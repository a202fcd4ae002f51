"""Model files under stress: unseeded randomness resumes exactly, forged configs are
refused early and clearly, weights keep their dtype (issue 10: defects 2, 5, 8, 10)."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L
from stridenet import seeding
from stridenet.models import saving

if os.environ.get("CI"):  # the test extra installs safetensors: never skip there
    import safetensors.numpy as safetensors_numpy
else:
    safetensors_numpy = pytest.importorskip("safetensors.numpy")


class Whole:
    """What an edit returns to replace the whole config (``forge``)."""

    def __init__(self, config):
        self.config = config


def forge(path, edit=None, edit_tensors=None, edit_meta=None):
    """Rewrite a saved file's config (``edit(config)`` changes it in place, or returns a
    ``Whole`` replacement), tensors and metadata,
    with a recomputed SHA-256: a consistent file, as anyone can make one."""
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    meta = dict(json.loads(raw[8:8 + n])["__metadata__"])
    tensors = dict(safetensors_numpy.load(raw))
    if edit is not None:
        config = json.loads(meta["config"])
        replaced = edit(config)
        meta["config"] = json.dumps(replaced.config if isinstance(replaced, Whole) else config)
    if edit_tensors is not None:
        edit_tensors(tensors)
    if edit_meta is not None:
        edit_meta(meta)
    meta["sha256"] = saving._digest(meta, tensors)
    open(path, "wb").write(safetensors_numpy.save(tensors, metadata=meta))


def image_data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 6, 6, 1)).astype(np.float32), rng.integers(0, 3, n)


def unseeded_model():
    """Augmentation and dropout with seed=None, as the CLI builds them."""
    return sn.Sequential([
        L.Input((6, 6, 1)),
        L.RandomFlip("horizontal"),
        L.GaussianNoise(0.1),
        L.Conv2D(2, 3, activation="relu"),
        L.Flatten(),
        L.Dropout(0.4),
        L.Dense(3, activation="softmax"),
    ])


def compiled(model):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


# -- defect 2: every random stream resumes -------------------------------------


def spatial_dropout_model():
    return sn.Sequential([L.Input((6, 6, 1)), L.Conv2D(4, 3, activation="relu"),
                          L.SpatialDropout2D(0.5), L.Flatten(),
                          L.Dense(3, activation="softmax")])


@pytest.mark.parametrize("make", [unseeded_model, spatial_dropout_model])
def test_unseeded_randomness_resumes_bit_identically(tmp_path, make):
    x, y = image_data()
    sn.utils.set_random_seed(0)
    straight = compiled(make())
    straight.fit(x, y, batch_size=4, epochs=2, verbose=0)

    sn.utils.set_random_seed(0)
    first = compiled(make())
    first.fit(x, y, batch_size=4, epochs=1, verbose=0)
    first.save(tmp_path / "m.safetensors")
    sn.utils.set_random_seed(123)  # a new process: the global generator is elsewhere
    resumed = sn.models.load_model(tmp_path / "m.safetensors")
    resumed.fit(x, y, batch_size=4, epochs=2, initial_epoch=1, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_load_model_draws_nothing_from_the_global_generator(tmp_path):
    model = compiled(unseeded_model())
    model.save(tmp_path / "m.safetensors")
    sn.utils.set_random_seed(5)
    before = seeding.global_generator().bit_generator.state
    loaded = sn.models.load_model(tmp_path / "m.safetensors")
    assert seeding.global_generator().bit_generator.state == before
    assert loaded._rng_state == model._rng_state


def test_unseeded_layers_draw_their_own_streams_from_the_global_seed():
    x = np.ones((4, 50), np.float32)

    def masks():
        a, b = L.Dropout(0.5), L.Dropout(0.5)
        return a(x, training=True).numpy(), b(x, training=True).numpy()

    sn.utils.set_random_seed(3)
    a1, b1 = masks()
    sn.utils.set_random_seed(3)
    a2, b2 = masks()
    np.testing.assert_array_equal(a1, a2)  # reproducible from the global seed
    np.testing.assert_array_equal(b1, b2)
    assert not np.array_equal(a1, b1)  # two layers, two streams


def test_a_file_without_layer_streams_still_loads(tmp_path):
    # files written before unseeded layers saved their streams: fresh ones are drawn
    compiled(unseeded_model()).save(tmp_path / "m.safetensors")
    forge(tmp_path / "m.safetensors", lambda cfg: cfg["rng"].update(layers=[]))
    x = np.ones((2, 6, 6, 1), np.float32)
    sn.utils.set_random_seed(1)
    a = sn.models.load_model(tmp_path / "m.safetensors")
    sn.utils.set_random_seed(1)
    b = sn.models.load_model(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(a(x, training=True).numpy(), b(x, training=True).numpy())


# -- defect 5: a forged config cannot make load_model allocate ------------------


def test_a_config_that_implies_huge_weights_is_refused_before_allocating(tmp_path):
    import time
    import tracemalloc

    path = tmp_path / "m.safetensors"
    sn.Sequential([L.Input((100, 100)), L.Flatten(), L.Dense(2, name="head")]).save(path)
    assert os.path.getsize(path) < 100_000

    def units(cfg):
        cfg["architecture"]["config"]["layers"][1]["config"]["units"] = 3000

    forge(path, units)  # the config implies a (10000, 3000) kernel: 120 MB of float32
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match=r"head/kernel.*\(10000, 3000\).*\(10000, 2\)"):
            sn.models.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"load_model allocated {peak / 1e6:.0f} MB before refusing"
    assert time.perf_counter() - start < 2.0


# -- defect 8: weights keep their dtype ---------------------------------------


@pytest.fixture
def float64_default():
    sn.config.set_floatx("float64")
    try:
        yield
    finally:
        sn.config.set_floatx("float32")


def test_a_float64_model_comes_back_float64(tmp_path, float64_default):
    x = np.random.default_rng(0).standard_normal((8, 6, 6, 1))
    y = np.arange(8) % 3
    model = sn.Sequential([L.Input((6, 6, 1)), L.Conv2D(2, 3), L.BatchNormalization(),
                           L.Flatten(), L.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert {w.dtype for w in model.get_weights()} == {np.dtype("float64")}
    model.save(tmp_path / "m.safetensors")
    sn.config.set_floatx("float32")  # loaded where float32 is the default
    loaded = sn.models.load_model(tmp_path / "m.safetensors")
    assert [w.dtype for w in loaded.get_weights()] == [w.dtype for w in model.get_weights()]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert all(L_.dtype == np.float64 for L_ in loaded.layers if L_.weights)
    # trained on and saved again, nothing is float32: no mix of dtypes in the file
    loaded.fit(x, y, batch_size=4, epochs=1, verbose=0)
    loaded.save(tmp_path / "again.safetensors")
    stored = safetensors_numpy.load_file(tmp_path / "again.safetensors")
    assert {str(v.dtype) for k, v in stored.items() if k != "optimizer/iterations"} == {
        "float64"}


def test_float32_weights_stay_float32_under_a_float64_default(tmp_path, float64_default):
    sn.config.set_floatx("float32")
    sn.Sequential([L.Input((4,)), L.Dense(3)]).save(tmp_path / "m.safetensors")
    sn.config.set_floatx("float64")
    loaded = sn.models.load_model(tmp_path / "m.safetensors")
    assert {w.dtype for w in loaded.get_weights()} == {np.dtype("float32")}


# -- defect 10: forged configs with a consistent hash ---------------------------


def trained_model():
    model = sn.Sequential([L.Input((4,)), L.Dense(3, activation="relu", name="hidden"),
                           L.Dropout(0.5), L.Dense(2, activation="softmax", name="out")])
    model.compile(optimizer="adam", loss=sn.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"])
    model.fit(np.ones((4, 4), np.float32), np.array([0, 1, 0, 1]), verbose=0)
    return model


def arch(cfg, i=0):
    """The config of layer ``i`` (Input not counted) of the Sequential model."""
    return cfg["architecture"]["config"]["layers"][i]["config"]


def first_key(entries):
    return entries[0][0]


FORGERIES = {
    "no architecture": lambda c: c.pop("architecture"),
    "no model config": lambda c: c["architecture"].pop("config"),
    "no layer config": lambda c: c["architecture"]["config"]["layers"][0].pop("config"),
    "layer config []": lambda c: c["architecture"]["config"]["layers"][0].update(config=[]),
    "layers not a list": lambda c: c["architecture"]["config"].update(layers="dense"),
    "class_name a list": lambda c: c["architecture"]["config"]["layers"][0].update(
        class_name=["Dense"]),
    "extra layer argument": lambda c: arch(c).update(bogus=1),
    "missing layer argument": lambda c: arch(c).pop("units"),
    "bad units": lambda c: arch(c).update(units="many"),
    "dtype object": lambda c: arch(c).update(dtype="object"),
    "name a list": lambda c: arch(c, 1).update(name=[1]),
    "trainable a string": lambda c: arch(c).update(trainable="no"),
    "dtype int8": lambda c: arch(c).update(dtype="int8"),
    "config []": lambda c: Whole([]),
    "no weights": lambda c: c.pop("weights"),
    "weights not pairs": lambda c: c.update(weights=[1, 2, 3, 4]),
    "missing weight key": lambda c: c["weights"][0].__setitem__(0, "nope/kernel"),
    "weight of another shape": lambda c: c["weights"].reverse(),
    "a layer, not a model": lambda c: c.update(architecture=c["architecture"]["config"][
        "layers"][0]),
    "unknown layer class": lambda c: c["architecture"]["config"]["layers"][0].update(
        class_name="os.system"),
    "weight key twice": lambda c: c["weights"][1].__setitem__(0, first_key(c["weights"])),
    "shuffle_seed abc": lambda c: c["rng"]["model"].update(shuffle_seed="abc"),
    "shuffle_seed negative": lambda c: c["rng"]["model"].update(shuffle_seed=-1),
    "rng layers not a list": lambda c: c["rng"].update(layers={}),
    "rng state garbage": lambda c: c["rng"]["layers"][0].update(state={"state": 1}),
    "rng state of another shape": lambda c: c["rng"]["layers"][0].update(
        state={"bit_generator": "PCG64", "state": "x"}),
    "rng bit generator unknown": lambda c: c["rng"]["layers"][0]["state"].update(
        bit_generator="os.system"),
    "rng index out of range": lambda c: c["rng"]["layers"][0].update(index=99),
    "base Loss class": lambda c: c["compile"].update(loss={"class_name": "Loss",
                                                           "config": {}}),
    "base Metric class": lambda c: c["compile"].update(metrics=[{"class_name": "Metric",
                                                                 "config": {}}]),
    "unknown loss name": lambda c: c["compile"].update(loss="hinge_of_doom"),
    "loss a number": lambda c: c["compile"].update(loss=3),
    "metrics not a list": lambda c: c["compile"].update(metrics="accuracy"),
    "no optimizer": lambda c: c["compile"].pop("optimizer"),
    "extra optimizer argument": lambda c: c["compile"]["optimizer"]["config"].update(x=1),
    "missing optimizer state key": lambda c: c["compile"]["optimizer"]["state"][0].__setitem__(
        0, "optimizer/nope"),
    "iterations abc": lambda c: c["compile"]["optimizer"].update(iterations="abc"),
    "slot order names no weight": lambda c: c["compile"]["optimizer"].update(
        variables=["nope"]),
    "build_input_shape abc": lambda c: c.update(build_input_shape="abc"),
}


@pytest.mark.parametrize("case", sorted(FORGERIES))
def test_forged_configs_are_refused_with_one_clear_error(tmp_path, case):
    path = tmp_path / "m.safetensors"
    trained_model().save(path)
    forge(path, FORGERIES[case])
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: invalid config: "):
        sn.models.load_model(path)


def test_models_nested_absurdly_deep_are_refused_quickly(tmp_path):
    import time

    def nest(cfg):
        spec = cfg["architecture"]
        for _ in range(120):
            spec = {"class_name": "Sequential", "config": {"name": "s", "layers": [spec]}}
        cfg["architecture"] = spec

    path = tmp_path / "m.safetensors"
    trained_model().save(path)
    forge(path, nest)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="invalid config: models nested more than 50 deep"):
        sn.models.load_model(path)
    assert time.perf_counter() - start < 1.0


def functional_model():
    inp = L.Input((4,), name="x")
    h = L.Dense(3, name="h")(inp)
    return sn.Model(inp, L.Add(name="sum")([h, L.Dense(3, name="g")(h)]))


FUNCTIONAL_FORGERIES = {
    "node of an unknown layer": lambda c: c["nodes"][0].__setitem__(0, "nowhere"),
    "node not a triple": lambda c: c["nodes"].__setitem__(0, "h"),
    "input ref unknown": lambda c: c["nodes"][0][1].__setitem__(0, ["nowhere", 0]),
    "output ref not a pair": lambda c: c.update(output_layers=["sum"]),
    "call index too high": lambda c: c["output_layers"][0].__setitem__(1, 5),
    "layer without a name": lambda c: c["layers"][1].pop("name"),
}


@pytest.mark.parametrize("case", sorted(FUNCTIONAL_FORGERIES))
def test_forged_functional_configs_are_refused(tmp_path, case):
    path = tmp_path / "m.safetensors"
    functional_model().save(path)
    forge(path, lambda c: FUNCTIONAL_FORGERIES[case](c["architecture"]["config"]))
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: invalid config: "):
        sn.models.load_model(path)


def test_forged_weight_tensors_are_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    trained_model().save(path)
    forge(path, edit_tensors=lambda t: t.update({"hidden/kernel": t["hidden/kernel"].astype(
        np.int32)}))
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: invalid config: .*int32"):
        sn.models.load_model(path)


@pytest.mark.parametrize("edit", [lambda m: m.pop("config"),
                                  lambda m: m.update(config="{not json"),
                                  lambda m: m.update(kind="everything")])
def test_forged_metadata_is_refused(tmp_path, edit):
    path = tmp_path / "m.safetensors"
    trained_model().save(path)
    forge(path, edit_meta=edit)
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: invalid config: "):
        sn.models.load_model(path)


@pytest.mark.parametrize("case", ["no weights", "weights not pairs", "missing weight key"])
def test_forged_weight_files_are_refused(tmp_path, case):
    path = tmp_path / "w.safetensors"
    model = trained_model()
    model.save_weights(path)
    forge(path, FORGERIES[case])
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: invalid config: "):
        model.load_weights(path)


def test_a_valid_file_still_loads_and_trains(tmp_path):
    path = tmp_path / "m.safetensors"
    trained_model().save(path)
    forge(path, lambda c: None)  # rewritten unchanged: only the hash is recomputed
    loaded = sn.models.load_model(path)
    loaded.fit(np.ones((4, 4), np.float32), np.array([0, 1, 0, 1]), verbose=0)
