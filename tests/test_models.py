"""Sequential, functional and subclassed models: building, summary, training, determinism."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from spec_table import assert_spec_summary
from stridenet import layers as L


def spec_model():
    """SPEC section 3, written as Keras code with `sn` in place of `keras`."""
    return sn.Sequential([
        sn.layers.Input(shape=(28, 28, 1)),
        sn.layers.Conv2D(32, kernel_size=5, padding="same", activation="relu"),
        sn.layers.Conv2D(32, kernel_size=5, padding="same", activation="relu"),
        sn.layers.MaxPooling2D(pool_size=2),
        sn.layers.Conv2D(64, kernel_size=3, padding="same", activation="relu"),
        sn.layers.Conv2D(64, kernel_size=3, padding="same", activation="relu"),
        sn.layers.MaxPooling2D(pool_size=2),
        sn.layers.Flatten(),
        sn.layers.Dense(128, activation="relu"),
        sn.layers.Dense(10, activation="softmax"),
    ])


def test_spec_section_3_summary(capsys):
    model = spec_model()
    model.summary()
    assert_spec_summary(capsys.readouterr().out)
    assert model.count_params() == 484_714


def test_summary_compute_view(capsys):
    spec_model().summary(show_compute=True)
    out = capsys.readouterr().out
    assert "FLOPs/sample" in out and "Receptive field" in out
    # conv1: 2 * 28*28*32 outputs * 5*5*1 taps
    assert f"{2 * 28 * 28 * 32 * 25:,}" in out
    # receptive field after conv5, conv5, pool2, conv3: 5 -> 9 -> 10 -> 14
    # layer names count up over the whole process (as in Keras), so find rows by type
    rows = [l for l in out.splitlines() if "(Conv2D)" in l]
    assert len(rows) == 4 and "14x14" in rows[2] and "5x5" in rows[0]


def test_get_set_weights_keras_order_and_shapes():
    model = spec_model()
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(5, 5, 1, 32), (32,), (5, 5, 32, 32), (32,), (3, 3, 32, 64), (64,),
                      (3, 3, 64, 64), (64,), (3136, 128), (128,), (128, 10), (10,)]
    new = [np.full(s, i, np.float32) for i, s in enumerate(shapes)]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="got 2 arrays"):
        model.set_weights(new[:2])
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        model.set_weights([np.zeros(3)] + new[1:])


def test_sequential_add_and_input_shape_argument():
    model = sn.Sequential()
    model.add(L.Conv2D(4, 3, input_shape=(8, 8, 1)))
    model.add(L.Flatten())
    model.add(L.Dense(2))
    assert model.built and model.compute_output_shape((None, 8, 8, 1)) == (None, 2)
    lazy = sn.Sequential([L.Dense(3), L.Dense(1)])
    assert not lazy.built
    assert lazy(np.ones((5, 4))).shape == (5, 1)
    assert lazy.count_params() == 4 * 3 + 3 + 3 + 1


def residual_model():
    inp = L.Input((8, 8, 3))
    x = L.Conv2D(4, 3, padding="same", activation="relu")(inp)
    shared = L.Conv2D(4, 3, padding="same")
    y = shared(x)
    z = shared(L.Activation("relu")(y))  # the same layer twice: shared weights
    added = L.Add()([z, x])
    branch = L.Conv2D(2, 1)(inp)
    cat = L.Concatenate()([added, branch])
    out = L.Dense(3, activation="softmax")(L.GlobalAveragePooling2D()(cat))
    return sn.Model(inp, out)


def test_functional_branches_merges_and_shared_layers(capsys):
    model = residual_model()
    names = [type(l).__name__ for l in model.layers]
    assert names[0] == "InputLayer" and names.count("Conv2D") == 3  # shared layer listed once
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype(np.float32)
    y = model(x)
    assert y.shape == (2, 3)
    model.summary()
    assert "(None, 8, 8, 6)" in capsys.readouterr().out  # the concatenation
    # shared weights receive gradient from both calls
    y.sum().backward()
    shared = model.layers[2]
    assert shared.kernel.grad is not None


def test_functional_input_shape_is_checked():
    model = residual_model()
    with pytest.raises(ValueError, match=r"expects shape \(None, 8, 8, 3\)"):
        model(np.zeros((1, 9, 9, 3), np.float32))


def test_subclassed_model_trains():
    class Tiny(sn.Model):
        def __init__(self):
            super().__init__()
            self.conv = L.Conv2D(4, 3, activation="relu")
            self.pool = L.GlobalAveragePooling2D()
            self.out = L.Dense(2)

        def call(self, x, training=False):
            return self.out(self.pool(self.conv(x)))

    model = Tiny()
    x = np.random.default_rng(1).standard_normal((16, 6, 6, 1)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(int)
    model.compile(optimizer="adam", loss=sn.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=["accuracy"])
    hist = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert len(hist.history["loss"]) == 2
    # conv kernel and bias, dense kernel and bias (pooling has none), found by tracking
    assert [w.shape for w in model.weights] == [(3, 3, 1, 4), (4,), (4, 2), (2,)]


def small_cnn():
    return sn.Sequential([
        L.Input((12, 12, 1)), L.Conv2D(6, 3, activation="relu"), L.MaxPooling2D(),
        L.Flatten(), L.Dense(16, activation="relu"), L.Dense(3, activation="softmax")])


def toy_data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.standard_normal((n, 12, 12, 1)).astype(np.float32) * 0.3
    for k in range(3):  # class k lights up a horizontal band
        x[y == k, 4 * k:4 * k + 4] += 1.0
    return x, y


def test_fit_evaluate_predict_history(capsys):
    sn.utils.set_random_seed(0)
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = toy_data()
    hist = model.fit(x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 3/3" in out and "ms/step" in out and "val_loss" in out
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.9
    probs = model.predict(x, batch_size=7)
    assert probs.shape == (96, 3)
    np.testing.assert_allclose(probs.sum(-1), 1, rtol=1e-5)
    assert (probs.argmax(-1) == y).mean() == pytest.approx(acc)


def test_same_seed_same_weights_and_history_bit_for_bit():
    def run():
        sn.utils.set_random_seed(123)
        model = small_cnn()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        x, y = toy_data()
        h = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        return model.get_weights(), h.history

    (w1, h1), (w2, h2) = run(), run()
    assert h1 == h2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)


def test_training_errors_are_clear():
    model = small_cnn()
    x, y = toy_data(8)
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y, verbose=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(x, y[:5], verbose=0)
    with pytest.raises(ValueError, match="labels|range"):
        model.fit(x, np.full(8, 7), verbose=0)
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile(loss="hinge-ish")
