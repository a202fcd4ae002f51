"""Models hold to their declared input shapes, and empty inputs give empty outputs."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L
from stridenet import zoo


def small_cnn(**input_kwargs):
    sn.utils.set_random_seed(0)
    first = [L.Input((8, 8, 1))] if not input_kwargs else []
    model = sn.Sequential([*first, L.Conv2D(2, 3, **input_kwargs), L.Flatten(),
                           L.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


# -- Sequential checks its declared input shape (defect 7) -------------------------------------

@pytest.mark.parametrize("make", [small_cnn, lambda: small_cnn(input_shape=(8, 8, 1))])
def test_sequential_refuses_a_shape_other_than_declared(make):
    model = make()
    bad = np.zeros((4, 11, 6, 1), np.float32)  # 66 values a sample, as (8, 8, 1) gives after conv
    with pytest.raises(ValueError, match=r"expects shape \(None, 8, 8, 1\), got \(4, 11, 6, 1\)"):
        model.predict(bad, verbose=0)
    with pytest.raises(ValueError, match=r"\(None, 8, 8, 1\).*\(4, 11, 6, 1\)"):
        model.fit(bad, np.zeros(4, int), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="expects shape"):
        model(np.zeros((4, 8), np.float32))  # wrong rank ((4, 8, 8) gets its 1, as in Keras 3)
    assert model.predict(np.zeros((2, 8, 8, 1), np.float32), verbose=0).shape == (2, 3)


def test_sequential_none_dims_are_free_and_undeclared_models_build_from_data():
    model = sn.Sequential([L.Input((None, None, 1)), L.Conv2D(2, 3),
                           L.GlobalAveragePooling2D()])
    assert model.predict(np.zeros((1, 9, 7, 1), np.float32), verbose=0).shape == (1, 2)
    assert model.predict(np.zeros((1, 5, 12, 1), np.float32), verbose=0).shape == (1, 2)
    with pytest.raises(ValueError, match=r"expects shape \(None, None, None, 1\)"):
        model.predict(np.zeros((1, 9, 7, 3), np.float32), verbose=0)
    free = sn.Sequential([L.Conv2D(2, 3), L.GlobalAveragePooling2D()])  # no declared shape
    assert free.predict(np.zeros((1, 9, 7, 1), np.float32), verbose=0).shape == (1, 2)
    assert free.predict(np.zeros((1, 6, 6, 1), np.float32), verbose=0).shape == (1, 2)


def test_sequential_shape_check_survives_save_and_load(tmp_path):
    model = small_cnn()
    model.save(tmp_path / "m.sn")
    loaded = sn.models.load_model(tmp_path / "m.sn")
    with pytest.raises(ValueError, match=r"expects shape \(None, 8, 8, 1\)"):
        loaded.predict(np.zeros((1, 11, 6, 1), np.float32), verbose=0)


# -- predict on zero samples (defect 12) ------------------------------------------------------

@pytest.mark.parametrize("name", ["mnist_cnn", "lenet5", "resnet20"])
def test_predict_on_zero_samples_is_empty_with_the_output_shape(name):
    model = zoo.get(name)
    shape = model.inputs[0].shape[1:] if model.inputs else model._input_shape[1:]
    out = model.predict(np.zeros((0, *shape), np.float32), verbose=0)
    assert out.shape == (0, 10) and out.dtype == np.float32
    with pytest.raises(ValueError, match="expects shape"):
        model.predict(np.zeros((0, 5, 5, 1), np.float32), verbose=0)


def test_predict_on_zero_samples_float64_and_multi_output():
    x = L.Input((4,))
    model = sn.Model(x, [L.Dense(2, dtype="float64")(x), L.Dense(5)(x)])
    out = model.predict(np.zeros((0, 4)), verbose=0)
    assert [o.shape for o in out] == [(0, 2), (0, 5)]
    assert out[0].dtype == np.float64
    full = model.predict(np.ones((3, 4), np.float32), verbose=0)
    assert [o.shape for o in full] == [(3, 2), (3, 5)]
