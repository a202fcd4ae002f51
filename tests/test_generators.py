"""fit / evaluate / predict on Python generators, iterables and PyDataset-like sequences,
as Keras takes them: the same numbers as arrays cut into the same batches."""

from __future__ import annotations

import csv

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


def data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


def batches(x, y, size=8, w=None):
    for s in range(0, len(x), size):
        part = slice(s, s + size)
        yield (x[part], y[part]) if w is None else (x[part], y[part], w[part])


class Seq:
    """A keras.utils.PyDataset-like sequence: __len__, __getitem__, on_epoch_end."""

    def __init__(self, x, y, size=8):
        self.x, self.y, self.size, self.ends = x, y, size, 0

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, i):
        part = slice(i * self.size, (i + 1) * self.size)
        return self.x[part], self.y[part]

    def on_epoch_end(self):
        self.ends += 1


class Reiterable:
    """An iterable (not an iterator): each iter() starts again."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __iter__(self):
        return batches(self.x, self.y)


def endless(x, y, size=8):
    while True:
        yield from batches(x, y, size)


def same_weights(a, b):
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)


# -- fit ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda x, y: Seq(x, y),
    lambda x, y: Reiterable(x, y),     # each epoch from its start
    lambda x, y: endless(x, y),        # an endless generator, with steps_per_epoch
])
def test_fit_on_batches_equals_fit_on_the_same_arrays(make):
    x, y = data()
    want = small_model()
    h_want = want.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    got = small_model()
    source = make(x, y)
    steps = 3 if not isinstance(source, Seq | Reiterable) else None
    h_got = got.fit(source, epochs=3, steps_per_epoch=steps, verbose=0)
    same_weights(want, got)
    assert h_got.history == h_want.history
    if isinstance(source, Seq):
        assert source.ends == 3


def test_generator_with_sample_weights_and_the_params_callbacks_see():
    x, y = data()
    w = np.linspace(0.5, 2, len(x))
    want = small_model()
    want.fit(x, y, sample_weight=w, batch_size=8, epochs=1, shuffle=False, verbose=0)
    got = small_model()

    class Params(C.Callback):
        def on_train_begin(self, logs=None):
            self.seen = dict(self.params)

    p = Params()
    got.fit(batches(x, y, w=w), epochs=1, verbose=0, callbacks=[p])
    same_weights(want, got)
    assert p.seen["steps"] is None  # a generator's length is unknown


def test_a_finite_generator_runs_out_with_a_warning_and_stops():
    x, y = data()
    model = small_model()
    with pytest.warns(UserWarning, match="ran out of data"):
        h = model.fit(batches(x, y), epochs=3, verbose=0)
    assert h.epoch == [0]
    with pytest.warns(UserWarning, match="ran out of data"):  # 2 epochs of 3 steps: 6 > 3
        h = small_model().fit(batches(x, y), epochs=2, steps_per_epoch=3, verbose=0)
    assert h.epoch == [0]


def test_validation_from_a_generator_or_sequence_equals_evaluate():
    x, y = data()
    vx, vy = data(10, seed=5)
    for val, steps in ((Seq(vx, vy, 4), None), (endless(vx, vy, 5), 2)):
        model = small_model()
        h = model.fit(x, y, batch_size=8, epochs=2, validation_data=val,
                      validation_steps=steps, verbose=0)
        assert h.history["val_loss"][-1] == pytest.approx(
            model.evaluate(vx, vy, batch_size=4, verbose=0)[0], rel=1e-6)


def test_fit_arrays_with_steps_per_epoch_takes_that_many_batches():
    x, y = data()
    seen = []

    class Count(C.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    small_model().fit(x, y, batch_size=4, epochs=2, steps_per_epoch=2, verbose=0,
                      callbacks=[Count()])
    assert seen == [0, 1, 0, 1]


def test_an_interrupted_generator_fit_closes_the_csv_logger(tmp_path):
    x, y = data()
    logger = C.CSVLogger(tmp_path / "log.csv")

    def broken():
        yield x[:8], y[:8]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        small_model().fit(broken(), epochs=1, verbose=0, callbacks=[logger])
    assert logger._file is None
    small_model().fit(Seq(x, y), epochs=1, verbose=0, callbacks=[logger])
    assert list(csv.reader(open(tmp_path / "log.csv")))[0] == ["epoch", "accuracy", "loss"]


# -- evaluate / predict ---------------------------------------------------------------------

def test_evaluate_and_predict_take_generators_and_sequences():
    x, y = data()
    model = small_model()
    want_eval = model.evaluate(x, y, batch_size=8, verbose=0)
    want_pred = model.predict(x, batch_size=8, verbose=0)
    assert model.evaluate(Seq(x, y), verbose=0) == want_eval
    assert model.evaluate(endless(x, y), steps=3, verbose=0) == want_eval
    assert model.evaluate(Seq(x, y), return_dict=True, verbose=0)["loss"] == want_eval[0]
    np.testing.assert_array_equal(model.predict(Seq(x, y), verbose=0), want_pred)
    np.testing.assert_array_equal(model.predict((b for b, _ in batches(x, y)), verbose=0),
                                  want_pred)
    np.testing.assert_array_equal(model.predict(endless(x, y), steps=3, verbose=1), want_pred)


# -- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("call, exc, pattern", [
    (lambda m, x, y: m.fit(batches(x, y), y, verbose=0), ValueError,
     "y must be None when x is a generator"),
    (lambda m, x, y: m.fit(Seq(x, y), batch_size=8, verbose=0), ValueError,
     "batch_size must be None when x is a PyDataset-like sequence"),
    (lambda m, x, y: m.fit(endless(x, y), steps_per_epoch=0, verbose=0), ValueError,
     "steps_per_epoch must be >= 1, got 0"),
    (lambda m, x, y: m.fit(endless(x, y), steps_per_epoch=1.5, verbose=0), TypeError,
     r"steps_per_epoch must be an int, got 1\.5"),
    (lambda m, x, y: m.fit(Seq(x, y), steps_per_epoch=4, verbose=0), ValueError,
     "x has 3 batches; 4 steps cannot be taken from it"),
    (lambda m, x, y: m.fit(Seq(x, y), validation_split=0.2, verbose=0), ValueError,
     "validation_split cannot split a generator"),
    (lambda m, x, y: m.fit(iter([(x, y, y, y)]), verbose=0), ValueError,
     r"x: batch 0: a batch must be x, \(x, y\) or \(x, y, sample_weight\), got a tuple of 4"),
    (lambda m, x, y: m.fit(iter([(x[:4], y[:4]), (x[:4], y[:3])]), verbose=0), ValueError,
     "x: batch 1: x and y must have the same number of samples"),
    (lambda m, x, y: m.fit(iter([(x[:, :3], y)]), verbose=0), ValueError,
     r"expects shape \(None, 4\), got \(24, 3\)"),
    (lambda m, x, y: m.fit(iter([({"a": 1}, y)]), verbose=0), TypeError,
     "x: batch 0: x must be a numeric array"),
    (lambda m, x, y: m.evaluate(iter([x]), verbose=0), ValueError,
     "x: batch 0: y is required"),
    (lambda m, x, y: m.predict(iter([]), verbose=0), ValueError, "no batches"),
    (lambda m, x, y: m.fit(x, y, validation_data=batches(x, y), epochs=2, verbose=0),
     ValueError, "validation_data is a generator, used up by the first validation"),
])
def test_bad_generator_use_is_a_clear_error(call, exc, pattern):
    x, y = data()
    with pytest.raises(exc, match=pattern):
        call(small_model(), x, y)


class Batches(C.Callback):
    def __init__(self):
        super().__init__()
        self.count = 0

    def on_train_batch_begin(self, batch, logs=None):
        self.count += 1


@pytest.mark.parametrize("make_val", [
    lambda vx, vy: Seq(vx, vy),
    lambda vx, vy: endless(vx, vy),
])
@pytest.mark.parametrize("make_model", [small_model, lambda: small_model(first=[])])
def test_bad_validation_batches_are_found_before_training(make_val, make_model):
    x, y = data()
    vx, vy = np.zeros((8, 5), np.float32), np.zeros(8, int)  # 5 features, not 4
    counter = Batches()
    with pytest.raises(ValueError, match="5"):
        make_model().fit(Seq(x, y), validation_data=make_val(vx, vy), validation_steps=1,
                         epochs=2, verbose=0, callbacks=[counter])
    assert counter.count == 0


def test_a_generators_first_validation_batch_is_not_lost():
    x, y = data()
    vx, vy = data(8, seed=3)

    def once():
        yield vx, vy

    model = small_model()
    h = model.fit(x, y, batch_size=8, epochs=1, validation_data=once(), verbose=0)
    assert h.history["val_loss"][0] == pytest.approx(model.evaluate(vx, vy, verbose=0)[0],
                                                     rel=1e-6)


def test_a_list_batch_for_a_two_input_model_gets_a_hint():
    a, b = L.Input((4,)), L.Input((2,))
    model = sn.Model([a, b], L.Dense(3)(L.Concatenate()([a, b])))
    x1, x2 = np.ones((5, 4), np.float32), np.ones((5, 2), np.float32)
    with pytest.raises(ValueError, match=r"a list batch is read as \(x, y, \.\.\.\)"):
        model.predict(iter([[x1, x2]]), verbose=0)
    assert model.predict(iter([([x1, x2],)]), verbose=0).shape == (5, 3)


def test_generators_are_refused_under_a_multi_rank_launch(monkeypatch):
    from stridenet.models import distributed

    monkeypatch.setattr(distributed, "data_parallel", lambda model: object())
    x, y = data()
    model = small_model()
    for call in (lambda: model.fit(Seq(x, y), verbose=0),
                 lambda: model.evaluate(Seq(x, y), verbose=0),
                 lambda: model.predict(Seq(x, y), verbose=0)):
        with pytest.raises(ValueError, match="on several MPI ranks takes arrays only"):
            call()
