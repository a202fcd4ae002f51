"""Model-level Keras 3 names: train_on_batch / test_on_batch, metrics logged under the
name the user gave, and an input one rank short (a missing trailing axis of size 1)."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
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
