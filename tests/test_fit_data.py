"""What fit/evaluate/predict accept: several inputs, sample weights, and checked arguments."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L


def two_input_model():
    a, b = L.Input((4,)), L.Input((3,))
    merged = L.Concatenate()([L.Dense(5, activation="relu")(a), L.Dense(5)(b)])
    return sn.Model([a, b], L.Dense(3, activation="softmax")(merged))


def small_model(lr=0.1):
    sn.utils.set_random_seed(0)
    model = sn.Sequential([L.Input((4,)), L.Dense(3, activation="softmax")])
    model.compile(optimizer=sn.optimizers.SGD(learning_rate=lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


def test_a_model_with_two_inputs_fits_evaluates_and_predicts():
    sn.utils.set_random_seed(1)
    model = two_input_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(2)
    xa, xb = rng.standard_normal((12, 4)), rng.standard_normal((12, 3))
    y = (xa[:, 0] > 0).astype(int)
    hist = model.fit([xa, xb], y, batch_size=5, epochs=3, validation_split=0.25, verbose=0)
    assert len(hist.history["val_loss"]) == 3
    probs = model.predict([xa, xb], batch_size=5)
    np.testing.assert_allclose(probs, model([xa, xb]).numpy(), rtol=1e-6)
    loss, _ = model.evaluate((xa, xb), y, verbose=0)
    assert np.isfinite(loss)
    with pytest.raises(ValueError, match="takes 2 inputs: pass x as a list of 2 arrays"):
        model.predict(xa)
    with pytest.raises(ValueError, match=r"same number of samples, got \(12, 4\), \(11, 3\)"):
        model.fit([xa, xb[:11]], y, verbose=0)


def test_sample_weights_scale_each_sample_and_zero_weights_change_nothing():
    x, y = data()
    zero = small_model()
    before = zero.get_weights()
    zero.fit(x, y, sample_weight=np.zeros(10), shuffle=False, verbose=0)
    for a, b in zip(zero.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    model = small_model()
    plain = model.evaluate(x, y, verbose=0)[0]
    w = np.linspace(0.5, 2.0, 10)
    weighted = model.evaluate(x, y, sample_weight=w, batch_size=10, verbose=0)[0]
    per = -np.log(model.predict(x)[np.arange(10), y])
    assert plain == pytest.approx(per.mean(), rel=1e-5)
    assert weighted == pytest.approx((per * w).sum() / 10, rel=1e-5)  # Keras 3: / batch size
    hist = model.fit(x, y, sample_weight=w, validation_data=(x, y, w), epochs=1, verbose=0)
    assert hist.history["val_loss"][0] < weighted  # one step down the weighted loss
    with pytest.raises(ValueError, match=r"one weight per sample, shape \(10,\)"):
        model.fit(x, y, sample_weight=np.ones(9), verbose=0)
    with pytest.raises(ValueError, match="finite and >= 0"):
        model.fit(x, y, sample_weight=-np.ones(10), verbose=0)


def test_epoch_loss_is_the_mean_over_samples_like_evaluate():
    x, y = data()
    model = small_model(lr=0.0)  # nothing moves: the epoch sees one set of weights
    hist = model.fit(x, y, batch_size=3, epochs=1, shuffle=False, verbose=0)
    assert hist.history["loss"][0] == pytest.approx(model.evaluate(x, y, verbose=0)[0],
                                                    rel=1e-6)


def test_arguments_are_checked_with_clear_errors():
    x, y = data()
    model = small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", run_eagerly=True,
                  jit_compile=False)  # accepted for Keras compatibility
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="batch_size must be a positive int"):
            model.fit(x, y, batch_size=bad, verbose=0)
    with pytest.raises(ValueError, match="leaves 0 to train on"):
        model.fit(x[:1], y[:1], validation_split=0.5, verbose=0)
    with pytest.raises(ValueError, match="leaves 10 to train on and 0 to validate"):
        model.fit(x, y, validation_split=1e-17, verbose=0)  # 1 - 1e-17 == 1.0
    with pytest.raises(ValueError, match=r"validation_split must be in \[0, 1\)"):
        model.fit(x, y, validation_split=1.0, verbose=0)
    with pytest.raises(ValueError, match="validation_data must be a tuple"):
        model.fit(x, y, validation_data=(x,), verbose=0)
    with pytest.raises(ValueError, match="y is required"):
        model.fit(x, verbose=0)


def test_predict_on_no_samples_gives_an_empty_batch():
    model = small_model()
    assert model.predict(np.zeros((0, 4), np.float32)).shape == (0, 3)


def test_mean_squared_error_with_sample_weights():
    loss = sn.losses.get("mse")
    y, p = np.zeros((4, 3)), np.arange(12.0).reshape(4, 3)
    assert float(loss(y, p).numpy()) == pytest.approx(np.mean(p ** 2))
    w = np.array([1.0, 0, 0, 2.0])
    per = np.mean(p ** 2, axis=1)  # per sample, over the last axis (Keras)
    assert float(loss(y, p, sample_weight=w).numpy()) == pytest.approx((per * w).sum() / 4)
