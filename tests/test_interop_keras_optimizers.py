"""Optimizer state through Keras 3 files for every slot layout Keras writes, checked live.

Keras (torch backend, in the test extra) trains a small model two steps with each
optimizer, saves a .keras archive and the values of its optimizer variables by name;
stridenet loads the archive, must hold the same state per slot and variable, and one more
step on the same batch must give Keras's weights. Then the way back: stridenet saves, Keras
loads without "Skipping variable loading" and holds the same optimizer variables.
"""

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

OPTIMIZERS = {  # Keras constructor call, stridenet optimizer
    "rmsprop-centered-momentum": ("RMSprop(0.01, momentum=0.5, centered=True)",
                                  lambda: sn.optimizers.RMSprop(0.01, momentum=0.5,
                                                                centered=True)),
    "rmsprop": ("RMSprop(0.01)", lambda: sn.optimizers.RMSprop(0.01)),
    "adam-amsgrad": ("Adam(0.01, amsgrad=True)", lambda: sn.optimizers.Adam(0.01,
                                                                             amsgrad=True)),
    "adam": ("Adam(0.01)", lambda: sn.optimizers.Adam(0.01)),
    "adamw": ("AdamW(0.01, weight_decay=0.1)",
              lambda: sn.optimizers.AdamW(0.01, weight_decay=0.1)),
    "sgd-momentum": ("SGD(0.05, momentum=0.9)", lambda: sn.optimizers.SGD(0.05, momentum=0.9)),
}

KERAS_SIDE = textwrap.dedent("""
    import json, os, sys
    os.environ["KERAS_BACKEND"] = "torch"
    import numpy as np, keras
    mode, jobs = sys.argv[1], json.loads(sys.argv[2])  # [(Keras optimizer call, stem)]
    states = {}
    for opt_call, out in jobs:
        x = np.load(out + "_x.npy"); y = np.load(out + "_y.npy")
        keras.backend.clear_session()  # layer names start again at "dense"
        if mode == "make":
            keras.utils.set_random_seed(0)
            m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
            m.compile(optimizer=eval("keras.optimizers." + opt_call),
                      loss="sparse_categorical_crossentropy")
            m.train_on_batch(x, y); m.train_on_batch(x, y)
            m.save(out + ".keras")
        else:
            m = keras.models.load_model(out + ".keras")
        states[out] = {v.path.split("/", 1)[1]: np.asarray(v).tolist()
                       for v in m.optimizer.variables}
        if mode == "make":
            m.train_on_batch(x, y)  # the step stridenet must reproduce
            np.savez(out + "_after.npz", *[np.asarray(w) for w in m.get_weights()])
    print(json.dumps(states))
""")


def _keras(mode, jobs):
    """Run Keras once over ``jobs`` [(optimizer call, stem)]; its optimizer state per stem."""
    if importlib.util.find_spec("keras") is None:
        if os.environ.get("CI"):
            pytest.fail("keras is not installed: the live Keras check must run in CI")
        pytest.skip("keras is not installed")
    out = subprocess.run([sys.executable, "-c", KERAS_SIDE, mode, json.dumps(jobs)],
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "KERAS_BACKEND": "torch"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Skipping variable loading" not in out.stderr
    states = json.loads(out.stdout.splitlines()[-1])
    return {stem: {k: np.asarray(v) for k, v in st.items()} for stem, st in states.items()}


def _by_keras_name(model):
    """stridenet's optimizer state under Keras's variable names."""
    opt, names = model.optimizer, {}
    state = opt.get_state()
    index = {id(v): i for i, v in enumerate(opt.variables)}
    for layer, keras_layer in zip(model.layers, ("sequential_dense", "sequential_dense_1")):
        for w, part in zip(layer.weights, ("kernel", "bias")):
            for key in state:
                slot, _, i = key.rpartition("/")
                if slot and i.isdigit() and int(i) == index[id(w)]:
                    names[f"{keras_layer}_{part}_{slot}"] = state[key]
    names["iteration"] = state["iterations"]
    return names


def _slots(keras_state):
    return {k for k in keras_state if k not in ("iteration", "learning_rate")}


def test_optimizer_state_both_ways_with_live_keras(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(8, 6)).astype(np.float32), np.arange(8) % 3
    stems = {kind: str(tmp_path / kind) for kind in OPTIMIZERS}
    for stem in stems.values():
        for suffix in ("", "_back"):
            np.save(stem + suffix + "_x.npy", x)
            np.save(stem + suffix + "_y.npy", y)
    made = _keras("make", [(OPTIMIZERS[k][0], stems[k]) for k in OPTIMIZERS])

    models = {}
    for kind, stem in stems.items():
        keras_state = made[stem]
        model = sn.models.load_model(stem + ".keras")
        assert type(model.optimizer).__name__ == type(OPTIMIZERS[kind][1]()).__name__, kind
        mine = _by_keras_name(model)
        slots = _slots(keras_state)
        assert slots and slots <= set(mine), (kind, sorted(slots - set(mine)))
        for name in slots | {"iteration"}:
            np.testing.assert_allclose(mine[name], keras_state[name], rtol=1e-6, atol=1e-7,
                                       err_msg=f"{kind}: {name}")
        model.train_on_batch(x, y)  # the third step, from the state Keras left
        after = np.load(stem + "_after.npz")
        for w, expected in zip(model.get_weights(), [after[k] for k in after.files]):
            np.testing.assert_allclose(w, expected, rtol=1e-5, atol=1e-6, err_msg=kind)
        model.save(stem + "_back.keras")  # and the way back: Keras reads our layout
        models[kind] = model

    back = _keras("load", [(OPTIMIZERS[k][0], stems[k] + "_back") for k in OPTIMIZERS])
    for kind, model in models.items():
        mine = _by_keras_name(model)
        for name in _slots(made[stems[kind]]) | {"iteration"}:
            np.testing.assert_allclose(back[stems[kind] + "_back"][name], mine[name],
                                       rtol=1e-6, atol=1e-7, err_msg=f"{kind}: {name}")
