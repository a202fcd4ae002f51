"""Model-level Keras 3 names: train_on_batch / test_on_batch, metrics logged under the
name the user gave, and an input one rank short (a missing trailing axis of size 1)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import stridenet as sn
from stridenet import callbacks as C
from stridenet import layers as L


def classifier(metrics=("accuracy",), seed=0):
    sn.utils.set_random_seed(seed)
    model = sn.Sequential([L.Input((4,)), L.Dense(3, activation="softmax")])
    model.compile(optimizer=sn.optimizers.SGD(learning_rate=0.1),
                  loss="sparse_categorical_crossentropy", metrics=list(metrics))
    return model


def data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


# -- train_on_batch / test_on_batch ---------------------------------------------------------

def test_train_on_batch_returns_the_loss_alone_without_metrics():
    x, y = data()
    model = classifier(metrics=())
    before = model.evaluate(x, y, batch_size=8, verbose=0)
    loss = model.train_on_batch(x, y)
    assert isinstance(loss, float)
    assert loss == pytest.approx(before, rel=1e-6)  # the loss of the step's forward pass
    after = model.test_on_batch(x, y)
    assert isinstance(after, float) and after < loss  # the step updated the weights
    assert after == pytest.approx(model.evaluate(x, y, batch_size=8, verbose=0), rel=1e-6)


def test_train_on_batch_same_step_as_fit_on_one_batch():
    x, y = data()
    a, b = classifier(), classifier()
    a.train_on_batch(x, y)
    b.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_on_batch_forms_list_and_dict_and_per_call_metrics():
    x, y = data()
    model = classifier(metrics=["accuracy"])
    out = model.test_on_batch(x, y)
    assert isinstance(out, list) and len(out) == 2
    res = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert out == pytest.approx([res["loss"], res["accuracy"]], rel=1e-6)
    d = model.train_on_batch(x, y, return_dict=True)
    assert set(d) == {"loss", "accuracy"}
    # Keras 3 resets the metrics at each call: the accuracy is this batch's alone
    pred = model.predict(x[:1], verbose=0).argmax(-1)
    right = model.test_on_batch(x[:1], pred, return_dict=True)["accuracy"]
    wrong = model.test_on_batch(x[:1], (pred + 1) % 3, return_dict=True)["accuracy"]
    assert (right, wrong) == (1.0, 0.0)


def test_train_on_batch_class_weight_is_a_per_sample_weight():
    x, y = data()
    cw = {0: 2.0, 1: 0.5}  # class 2 not named: weight 1
    a, b = classifier(), classifier()
    la = a.train_on_batch(x, y, class_weight=cw)
    lb = b.train_on_batch(x, y, sample_weight=np.array([cw.get(int(c), 1.0) for c in y]))
    assert la == pytest.approx(lb, rel=1e-6)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    onehot = sn.utils.to_categorical(y, 3)
    assert sn.models.batch_api.class_weight_to_sample_weight(onehot, cw).tolist() == \
        [cw.get(int(c), 1.0) for c in y]


def test_on_batch_bad_input():
    x, y = data()
    model = classifier()
    with pytest.raises(ValueError, match="sample_weight or class_weight"):
        model.train_on_batch(x, y, sample_weight=np.ones(8), class_weight={0: 1.0})
    with pytest.raises(ValueError, match="same number of samples"):
        model.train_on_batch(x, y[:3])
    with pytest.raises(ValueError, match="y is required"):
        model.test_on_batch(x)
    with pytest.raises(RuntimeError, match="compile"):
        sn.Sequential([L.Input((4,)), L.Dense(3)]).train_on_batch(x, y)


# -- metrics logged under the name given ----------------------------------------------------

@pytest.mark.parametrize("name", ["acc", "accuracy", "sparse_categorical_accuracy", "ACC"])
def test_metric_logged_under_the_name_given(name):
    x, y = data(16)
    model = classifier(metrics=[name])
    hist = model.fit(x, y, batch_size=8, epochs=1, validation_data=(x, y), verbose=0)
    assert sorted(hist.history) == sorted(["loss", name, "val_loss", f"val_{name}"])
    assert set(model.evaluate(x, y, verbose=0, return_dict=True)) == {"loss", name}
    assert set(model.test_on_batch(x, y, return_dict=True)) == {"loss", name}


def test_acc_and_accuracy_agree_and_early_stopping_watches_val_acc():
    x, y = data(16)
    model = classifier(metrics=["acc", "accuracy"])
    stop = C.EarlyStopping(monitor="val_acc", patience=0)
    hist = model.fit(x, y, batch_size=8, epochs=5, validation_data=(x, y), callbacks=[stop],
                     verbose=0)
    assert hist.history["val_acc"] == hist.history["val_accuracy"]
    assert stop.tracker.mode == "max"  # "acc" is watched upwards


def test_regression_metric_aliases_logged_as_given():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((12, 3)).astype(np.float32)
    y = rng.standard_normal((12, 2)).astype(np.float32)
    sn.utils.set_random_seed(0)
    model = sn.Sequential([L.Input((3,)), L.Dense(2)])
    model.compile(optimizer="sgd", loss="mse",
                  metrics=["mse", "mae", "mean_absolute_error", "mape", "msle"])
    res = model.evaluate(x, y, batch_size=12, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0).astype(np.float64)
    assert res["mse"] == pytest.approx(np.mean((p - y) ** 2), rel=1e-5)
    assert res["mse"] == pytest.approx(res["loss"], rel=1e-5)
    assert res["mae"] == pytest.approx(np.mean(np.abs(p - y)), rel=1e-5)
    assert res["mean_absolute_error"] == res["mae"]
    assert res["mape"] == pytest.approx(
        100 * np.mean(np.abs(y - p) / np.maximum(np.abs(y), 1e-7)), rel=1e-5)
    msle = np.mean((np.log1p(np.maximum(p, 1e-7)) - np.log1p(np.maximum(y, 1e-7))) ** 2)
    assert res["msle"] == pytest.approx(msle, rel=1e-5)


def test_metric_instance_keeps_its_own_name_and_unknown_names_are_refused():
    x, y = data(8)
    model = classifier(metrics=[sn.metrics.SparseCategoricalAccuracy(name="top1")])
    assert set(model.evaluate(x, y, verbose=0, return_dict=True)) == {"loss", "top1"}
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        classifier(metrics=["acuracy"])


# -- an input one rank short gets its trailing axis of size 1 (Keras 3) --------------------

def conv_functional(shape=(6, 6, 1)):
    sn.utils.set_random_seed(0)
    inp = sn.Input(shape)
    out = L.Dense(2)(L.Flatten()(L.Conv2D(2, 1)(inp)))
    model = sn.Model(inp, out)
    model.compile(optimizer="sgd", loss="mse")
    return model


def conv_sequential(shape=(6, 6, 1)):
    sn.utils.set_random_seed(0)
    model = sn.Sequential([sn.Input(shape), L.Conv2D(2, 1), L.Flatten(), L.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.mark.parametrize("make", [conv_functional, conv_sequential])
def test_missing_last_axis_of_size_one_is_added(make):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 6, 6)).astype(np.float32)  # declared (None, 6, 6, 1)
    y = rng.standard_normal((5, 2)).astype(np.float32)
    model = make()
    full = model.predict(x[..., None], verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), full)
    np.testing.assert_array_equal(model(x).numpy(), full)
    np.testing.assert_array_equal(model.predict_on_batch(x), full)
    assert model.predict(x[:0], verbose=0).shape == (0, 2)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(
        model.evaluate(x[..., None], y, verbose=0), rel=1e-6)
    twin = make()
    hist = model.fit(x, y, epochs=2, batch_size=2, validation_data=(x, y), verbose=0)
    twin_hist = twin.fit(x[..., None], y, epochs=2, batch_size=2,
                         validation_data=(x[..., None], y), verbose=0)
    assert hist.history == twin_hist.history
    model.train_on_batch(x, y)
    # and, as Keras 3 does, one extra trailing axis of size 1 is dropped
    np.testing.assert_array_equal(model.predict(x[..., None, None], verbose=0),
                                  model.predict(x, verbose=0))


@pytest.mark.parametrize("make", [conv_functional, conv_sequential])
@pytest.mark.parametrize("declared, given", [
    ((6, 6, 3), (5, 6, 6)),   # the missing axis would have size 3: not added
    ((1, 6, 6), (5, 6, 6)),   # only the last axis is ever added
    ((6, 6, 1), (5, 6)),      # two axes short
    ((6, 6, 1), (5, 6, 6, 2, 1)),  # dropping the trailing 1 still leaves a wrong shape
])
def test_other_rank_mismatches_are_clear_errors(make, declared, given):
    model = make(declared)
    x = np.zeros(given, np.float32)
    pattern = r"expects shape \(None, " + ", ".join(map(str, declared)) + r"\), got " + \
        r"\(" + ", ".join(map(str, given)) + r"\)"
    with pytest.raises(ValueError, match=pattern):
        model.predict(x, verbose=0)
    with pytest.raises(ValueError, match=pattern):
        model.fit(x, np.zeros((5, 2), np.float32), verbose=0)


def test_multi_input_each_input_adjusted_on_its_own():
    sn.utils.set_random_seed(0)
    a, b = sn.Input((4, 1)), sn.Input((3,))
    out = L.Dense(1)(L.Concatenate()([L.Flatten()(a), b]))
    model = sn.Model([a, b], out)
    xa = np.arange(8, dtype=np.float32).reshape(2, 4)
    xb = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(model.predict([xa, xb], verbose=0),
                                  model.predict([xa[..., None], xb], verbose=0))


def test_validation_data_one_rank_short_is_accepted():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6, 6, 1)).astype(np.float32)
    y = rng.standard_normal((4, 2)).astype(np.float32)
    model = conv_functional()
    hist = model.fit(x, y, epochs=1, validation_data=(x[..., 0], y), verbose=0)
    assert "val_loss" in hist.history


def test_rank_error_messages_say_why():
    with pytest.raises(ValueError, match="added only when its declared size is 1"):
        conv_functional((6, 6, 3)).predict(np.zeros((2, 6, 6), np.float32), verbose=0)
    with pytest.raises(ValueError, match=r"got \(2, 5, 6\) \(read as \(2, 5, 6, 1\)\)"):
        conv_sequential().predict(np.zeros((2, 5, 6), np.float32), verbose=0)
    with pytest.raises(ValueError, match=r"validation_data: x has shape \(2, 5, 6\)"):
        conv_functional().fit(np.zeros((2, 6, 6), np.float32), np.zeros((2, 2), np.float32),
                              validation_data=(np.zeros((2, 5, 6), np.float32),
                                               np.zeros((2, 2), np.float32)), verbose=0)


@pytest.mark.parametrize("name", ["mape", "msle", "mae", "mean_squared_logarithmic_error"])
def test_early_stopping_reads_the_direction_of_regression_aliases(name):
    assert C.EarlyStopping(monitor=f"val_{name}").tracker.mode == "min"


# -- the same calls in Keras 3 itself (torch backend; keras is in the test extra) -----------

KERAS_ORACLE = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    d = np.load(sys.argv[1])
    out = {}
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    m.set_weights([d["w"], d["b"]])
    m.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
              metrics=["acc"])
    out["train"] = m.train_on_batch(d["x"], d["y"], class_weight={0: 2.0, 1: 0.5})
    out["test"] = m.test_on_batch(d["x"][:3], d["y"][:3], return_dict=True)
    out["w"] = m.get_weights()[0].tolist()
    out["history"] = sorted(m.fit(d["x"], d["y"], epochs=1, verbose=0,
                                  validation_data=(d["x"], d["y"])).history)
    r = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    r.set_weights([d["w"], d["b"]])
    r.compile(optimizer="sgd", loss="mse", metrics=["mse", "mae", "mape", "msle"])
    out["regression"] = r.evaluate(d["x"], d["t"], verbose=0, return_dict=True)
    i = keras.Input((4, 1))
    f = keras.Model(i, keras.layers.Dense(3)(keras.layers.Flatten()(i)))
    f.set_weights([d["w"], d["b"]])
    out["short"] = f.predict(d["x"], verbose=0).tolist()
    print(json.dumps(out))
""")


def test_matches_keras_3(tmp_path):
    if importlib.util.find_spec("keras") is None:
        if os.environ.get("CI"):
            pytest.fail("keras is not installed: the live Keras check must run in CI")
        pytest.skip("keras is not installed")
    rng = np.random.default_rng(3)
    x, y = data(8, seed=3)
    t = rng.random((8, 3)).astype(np.float32)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=y, t=t, w=w, b=b)
    run = subprocess.run([sys.executable, "-c", KERAS_ORACLE, str(tmp_path / "d.npz")],
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "KERAS_BACKEND": "torch"})
    assert run.returncode == 0, run.stderr[-2000:]
    want = json.loads(run.stdout.strip().splitlines()[-1])

    m = classifier(metrics=["acc"])
    m.set_weights([w, b])
    assert m.train_on_batch(x, y, class_weight={0: 2.0, 1: 0.5}) == pytest.approx(
        want["train"], rel=1e-5)
    assert m.test_on_batch(x[:3], y[:3], return_dict=True) == pytest.approx(want["test"],
                                                                            rel=1e-5)
    np.testing.assert_allclose(m.get_weights()[0], want["w"], rtol=1e-5, atol=1e-6)
    hist = m.fit(x, y, epochs=1, verbose=0, validation_data=(x, y))
    assert sorted(hist.history) == want["history"]

    r = sn.Sequential([L.Input((4,)), L.Dense(3)])
    r.set_weights([w, b])
    r.compile(optimizer="sgd", loss="mse", metrics=["mse", "mae", "mape", "msle"])
    assert r.evaluate(x, t, verbose=0, return_dict=True) == pytest.approx(
        want["regression"], rel=1e-5)

    i = sn.Input((4, 1))
    f = sn.Model(i, L.Dense(3)(L.Flatten()(i)))
    f.set_weights([w, b])
    np.testing.assert_allclose(f.predict(x, verbose=0), want["short"], rtol=1e-5, atol=1e-6)
