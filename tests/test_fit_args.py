"""fit/evaluate/predict arguments are checked at the door, each error naming its argument,
and validation data that cannot fit the model is refused before training starts."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from stridenet import callbacks as C
from stridenet import layers as L


def small_model(first=None):
    sn.utils.set_random_seed(0)
    first = [L.Input((4,))] if first is None else first
    model = sn.Sequential([*first, L.Dense(3, activation="softmax")])
    model.compile(optimizer=sn.optimizers.SGD(learning_rate=0.1),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n=10, seed=0, features=4):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype(np.float32), rng.integers(0, 3, n)


# -- epochs, initial_epoch, verbose (defect 15) -----------------------------------------------

@pytest.mark.parametrize("kwargs, exc, pattern", [
    (dict(epochs=2.5), TypeError, r"epochs must be an int, got 2\.5"),
    (dict(epochs="3"), TypeError, r"epochs must be an int, got '3'"),
    (dict(epochs=True), TypeError, r"epochs must be an int, got True"),
    (dict(epochs=None), TypeError, r"epochs must be an int, got None"),
    (dict(epochs=-1), ValueError, r"epochs must be >= 0, got -1"),
    (dict(epochs=2, initial_epoch=0.5), TypeError, r"initial_epoch must be an int, got 0\.5"),
    (dict(epochs=2, initial_epoch=-1), ValueError, r"initial_epoch must be >= 0, got -1"),
    (dict(verbose="loud"), ValueError, r"verbose must be 'auto', 0, 1 or 2, got 'loud'"),
    (dict(shuffle="yes"), TypeError, r"shuffle must be True or False, got 'yes'"),
])
def test_bad_fit_arguments_are_named(kwargs, exc, pattern):
    model = small_model()
    before = model.get_weights()
    with pytest.raises(exc, match=pattern):
        model.fit(*data(), **kwargs)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_numpy_ints_are_fine_and_initial_epoch_past_epochs_trains_nothing():
    model = small_model()
    h = model.fit(*data(), epochs=np.int64(2), initial_epoch=np.int32(1), verbose=0)
    assert h.epoch == [1]
    assert model.fit(*data(), epochs=1, initial_epoch=3, verbose=0).epoch == []


def test_evaluate_and_predict_check_verbose():
    model = small_model()
    with pytest.raises(ValueError, match="verbose must be"):
        model.evaluate(*data(), verbose=3)
    with pytest.raises(ValueError, match="verbose must be"):
        model.predict(data()[0], verbose=-1)


# -- validation_data that cannot fit the model: refused before the first batch (defect 15) ----

class Batches(C.Callback):
    def __init__(self):
        super().__init__()
        self.count = 0

    def on_train_batch_begin(self, batch, logs=None):
        self.count += 1


def conv_model():
    sn.utils.set_random_seed(0)
    model = sn.Sequential([L.Input((8, 8, 1)), L.Conv2D(2, 3), L.Flatten(),
                           L.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("make, x, val, pattern", [
    (conv_model, np.zeros((6, 8, 8, 1), np.float32),
     (np.zeros((4, 9, 9, 1), np.float32), np.zeros(4, int)),
     r"validation_data: x has shape \(4, 9, 9, 1\); the model expects \(None, 8, 8, 1\)"),
    (small_model, data()[0], data(features=5),
     r"validation_data: x has shape \(10, 5\); the model expects \(None, 4\)"),
    (small_model, data()[0], (data()[0], np.zeros(9, int)),
     r"validation_data: x and y must have the same number of samples"),
    (small_model, data()[0], (data()[0], np.zeros(10, int), np.ones(3)),
     r"validation_data: sample_weight must have one weight per sample"),
    (lambda: small_model(first=[]), data()[0], data(features=5),  # shape learnt from data
     r"validation_data does not fit the model: .*5"),
])
def test_bad_validation_data_is_refused_before_training(make, x, val, pattern):
    model = make()
    batches = Batches()
    with pytest.raises(ValueError, match=pattern):
        model.fit(x, np.zeros(len(x), int), validation_data=val, epochs=1, verbose=0,
                  callbacks=[batches])
    assert batches.count == 0


def test_validation_targets_that_cannot_meet_the_outputs_are_refused_up_front():
    model = small_model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x, y = data()
    onehot = np.eye(3, dtype=np.float32)[y]
    batches = Batches()
    with pytest.raises(ValueError, match="validation_data does not fit the model"):
        model.fit(x, onehot, validation_data=(x, np.eye(5, dtype=np.float32)[y]), epochs=1,
                  verbose=0, callbacks=[batches])
    assert batches.count == 0
    h = model.fit(x, onehot, validation_data=(x, onehot), epochs=1, verbose=0)
    assert "val_loss" in h.history
