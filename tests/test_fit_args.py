"""fit/evaluate/predict arguments are checked at the door, each error naming its argument,
and validation data that cannot fit the model is refused before training starts."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
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
