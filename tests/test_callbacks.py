"""Callbacks: each one's Keras behaviour inside a real ``fit``, and resume equivalence."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

import stridenet as sn
from stridenet import callbacks as C
from tiny_fit import tiny_data, tiny_model


class Recorder(C.Callback):
    """Writes down every hook call, and the logs it was given."""

    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("batch_end", batch, sorted(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, sorted(logs)))

    def on_train_end(self, logs=None):
        self.events.append(("train_end",))


def test_hooks_are_called_in_order_with_model_params_and_logs():
    model = tiny_model()
    x, y = tiny_data()
    rec = Recorder()
    model.fit(x, y, batch_size=16, epochs=2, validation_split=0.25, callbacks=[rec], verbose=0)
    assert rec.model is model and rec.params["epochs"] == 2 and rec.params["steps"] == 3
    kinds = [e[0] for e in rec.events]
    assert kinds == ["train_begin"] + (["epoch_begin"] + ["batch_end"] * 3 + ["epoch_end"]) * 2 \
        + ["train_end"]
    assert rec.events[2][2] == ["accuracy", "batch_loss", "loss"]
    assert rec.events[5] == ("epoch_end", 0, ["accuracy", "loss", "val_accuracy", "val_loss"])


def test_callback_list_rejects_non_callbacks():
    with pytest.raises(TypeError, match="Callback instances, got function"):
        tiny_model().fit(*tiny_data(), callbacks=[lambda: None], verbose=0)


def test_history_records_each_epoch():
    model = tiny_model()
    hist = model.fit(*tiny_data(), batch_size=16, epochs=3, verbose=0)
    assert hist.epoch == [0, 1, 2] and model.history is hist
    assert len(hist.history["loss"]) == 3 and len(hist.history["accuracy"]) == 3
    hist2 = model.fit(*tiny_data(), batch_size=16, epochs=5, initial_epoch=3, verbose=0)
    assert hist2.epoch == [3, 4]


class Scripted(C.Callback):
    """Replaces the epoch's logs with a scripted value of ``key``, to drive a monitor."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def test_early_stopping_patience_and_restore_best_weights():
    model = tiny_model()
    x, y = tiny_data()
    seen = []

    class Snap(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.get_weights())

    # best at epoch 1 (0.5); epochs 2 and 3 are worse: patience 2 stops after epoch 3
    stop = C.EarlyStopping(monitor="score", mode="min", patience=2, restore_best_weights=True)
    hist = model.fit(x, y, batch_size=16, epochs=10, verbose=0,
                     callbacks=[Scripted("score", [0.9, 0.5, 0.6, 0.7, 0.1] + [0] * 5), Snap(),
                                stop])
    assert hist.epoch == [0, 1, 2, 3]
    assert stop.stopped_epoch == 3 and stop.best == 0.5 and stop.best_epoch == 1
    for got, want in zip(model.get_weights(), seen[1]):
        np.testing.assert_array_equal(got, want)
    assert not all(np.array_equal(a, b) for a, b in zip(seen[1], seen[3]))


def test_early_stopping_min_delta_baseline_and_modes():
    x, y = tiny_data()
    # improvements smaller than min_delta do not count: stops after epoch 1
    stop = C.EarlyStopping(monitor="val_accuracy", min_delta=0.05, patience=1)
    assert stop.tracker.mode == "max"
    hist = tiny_model().fit(x, y, epochs=6, verbose=0, callbacks=[
        Scripted("val_accuracy", [0.5, 0.52, 0.54, 0.9, 0.9, 0.9]), stop])
    assert hist.epoch == [0, 1]
    # a baseline that is never beaten stops training after `patience` epochs
    stop = C.EarlyStopping(monitor="loss", baseline=0.01, patience=2)
    hist = tiny_model().fit(x, y, epochs=6, verbose=0, callbacks=[stop])
    assert hist.epoch == [0, 1]
    with pytest.raises(ValueError, match="mode='min' or mode='max'"):
        C.EarlyStopping(monitor="wobble")
    with pytest.raises(ValueError, match="mode must be"):
        C.EarlyStopping(mode="up")


def test_early_stopping_warns_on_a_missing_monitor():
    with pytest.warns(RuntimeWarning, match=r"'val_loss' is not in the logs.*'loss'"):
        tiny_model().fit(*tiny_data(), epochs=1, verbose=0, callbacks=[C.EarlyStopping()])


def test_terminate_on_nan_stops_at_the_bad_batch(capsys):
    model = tiny_model()
    x, y = tiny_data()
    x[20] = np.nan  # second batch of 16, without shuffling
    rec = Recorder()
    hist = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                     callbacks=[C.TerminateOnNaN(), rec])
    assert [e[:2] for e in rec.events if e[0] == "batch_end"] == [("batch_end", 0),
                                                                 ("batch_end", 1)]
    assert hist.epoch == [0] and math.isnan(hist.history["loss"][0])
    assert "Batch 1: invalid loss" in capsys.readouterr().out


def test_learning_rate_scheduler_sets_rate_each_epoch_and_logs_it():
    model = tiny_model()
    sched = C.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
    hist = model.fit(*tiny_data(), epochs=3, verbose=0, callbacks=[sched])
    np.testing.assert_allclose(hist.history["learning_rate"], [0.1, 0.05, 0.025])
    # a schedule of the epoch alone
    hist = tiny_model().fit(*tiny_data(), epochs=2, verbose=0,
                            callbacks=[C.LearningRateScheduler(lambda e: 0.01 * (e + 1))])
    np.testing.assert_allclose(hist.history["learning_rate"], [0.01, 0.02])
    with pytest.raises(ValueError, match="finite number >= 0, got 'fast'"):
        tiny_model().fit(*tiny_data(), epochs=1, verbose=0,
                         callbacks=[C.LearningRateScheduler(lambda e, lr: "fast")])
    with pytest.raises(TypeError, match="callable"):
        C.LearningRateScheduler(0.1)


def test_learning_rate_scheduler_changes_the_updates():
    x, y = tiny_data()
    a, b = tiny_model(), tiny_model()
    a.fit(x, y, epochs=1, verbose=0, shuffle=False)
    b.fit(x, y, epochs=1, verbose=0, shuffle=False,
          callbacks=[C.LearningRateScheduler(lambda e, lr: 0.0)])
    fresh = tiny_model()
    for got, want in zip(b.get_weights(), fresh.get_weights()):  # lr 0: nothing moves
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(a.get_weights()[0], fresh.get_weights()[0])


def test_reduce_lr_on_plateau_patience_cooldown_and_floor():
    model = tiny_model()
    cb = C.ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=2, cooldown=1,
                             min_lr=0.02)
    scores = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    hist = model.fit(*tiny_data(), epochs=8, verbose=0, callbacks=[Scripted("score", scores),
                                                                   cb])
    # the rate is logged at each epoch's end, before that epoch's decision. Epoch 0 sets
    # the best; epochs 1, 2 without improvement -> halve at the end of epoch 2; epoch 3 is
    # the cooldown (its wait resets, then counts 1), epoch 4 -> halve; epoch 5 cooldown,
    # epoch 6 -> halve, but not below min_lr 0.02
    np.testing.assert_allclose(hist.history["learning_rate"],
                               [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02])
    assert model.optimizer.learning_rate == pytest.approx(0.02)
    with pytest.raises(ValueError, match=r"factor must be in \(0, 1\)"):
        C.ReduceLROnPlateau(factor=2.0)


def test_reduce_lr_on_plateau_resets_wait_on_improvement():
    model = tiny_model()
    cb = C.ReduceLROnPlateau(monitor="score", mode="min", factor=0.1, patience=2,
                             min_delta=0.0)
    model.fit(*tiny_data(), epochs=5, verbose=0,
              callbacks=[Scripted("score", [1.0, 0.9, 0.95, 0.8, 0.85]), cb])
    assert model.optimizer.learning_rate == pytest.approx(0.1)  # never two bad in a row


def test_model_checkpoint_every_epoch_with_formatted_names(tmp_path):
    model = tiny_model()
    x, y = tiny_data()
    path = tmp_path / "ckpt" / "m-{epoch:02d}-{loss:.2f}.sn"
    model.fit(x, y, epochs=2, verbose=0, callbacks=[C.ModelCheckpoint(path, monitor="loss")])
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert len(files) == 2 and files[0].startswith("m-01-") and files[1].startswith("m-02-")
    last = sn.models.load_model(tmp_path / "ckpt" / files[1])
    np.testing.assert_array_equal(last.predict(x, verbose=0), model.predict(x, verbose=0))
    assert int(last.optimizer.iterations) == int(model.optimizer.iterations)


def test_model_checkpoint_best_only_and_weights_only(tmp_path):
    model = tiny_model()
    x, y = tiny_data()
    weights = []

    class Snap(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights.append(self.model.get_weights())

    ck = C.ModelCheckpoint(tmp_path / "best.sn", monitor="score", mode="max",
                           save_best_only=True, save_weights_only=True)
    model.fit(x, y, epochs=4, verbose=0,
              callbacks=[Scripted("score", [0.1, 0.7, 0.3, 0.5]), Snap(), ck])
    assert ck.best == 0.7
    other = tiny_model(seed=9)
    other.load_weights(tmp_path / "best.sn")
    for got, want in zip(other.get_weights(), weights[1]):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(KeyError, match="'val_f1', which is not in the logs"):
        tiny_model().fit(x, y, epochs=1, verbose=0,
                         callbacks=[C.ModelCheckpoint(tmp_path / "{val_f1}.sn")])


def test_model_checkpoint_every_n_batches(tmp_path):
    model = tiny_model()
    x, y = tiny_data()  # 48 samples, batch 16: 3 batches an epoch, 6 in all
    ck = C.ModelCheckpoint(tmp_path / "e{epoch}-b{batch}.sn", save_freq=2)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[ck])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e1-b2.sn", "e2-b1.sn", "e2-b3.sn"]
    with pytest.raises(ValueError, match="save_freq"):
        C.ModelCheckpoint(tmp_path / "x.sn", save_freq=0)


def test_csv_logger_writes_and_appends(tmp_path):
    path = tmp_path / "log.csv"
    x, y = tiny_data()
    model = tiny_model()
    h = model.fit(x, y, epochs=2, verbose=0, validation_split=0.25,
                  callbacks=[C.CSVLogger(path)])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    assert float(rows[2][2]) == h.history["loss"][1]  # written exactly, not rounded
    model.fit(x, y, epochs=3, initial_epoch=2, verbose=0, validation_split=0.25,
              callbacks=[C.CSVLogger(path, append=True)])
    rows = list(csv.reader(open(path)))
    assert len(rows) == 4 and rows[3][0] == "2" and rows.count(rows[0]) == 1
    model.fit(x, y, epochs=1, verbose=0, callbacks=[C.CSVLogger(path, separator=";")])
    text = open(path).read().splitlines()
    assert text[0] == "epoch;accuracy;loss" and len(text) == 2


def test_two_epochs_equal_one_then_save_load_and_resume(tmp_path):
    """fit(2 epochs) == fit(1), save, load_model, fit(initial_epoch=1), bit for bit."""
    x, y = tiny_data(64)

    def fresh():
        model = tiny_model(seed=3)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    sn.utils.set_random_seed(3)
    straight = fresh()
    h_straight = straight.fit(x, y, batch_size=8, epochs=2, verbose=0)
    sn.utils.set_random_seed(3)
    first = fresh()
    h_first = first.fit(x, y, batch_size=8, epochs=1, verbose=0)
    first.save(tmp_path / "half.sn")
    resumed = sn.models.load_model(tmp_path / "half.sn")
    h_second = resumed.fit(x, y, batch_size=8, epochs=2, initial_epoch=1, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h_first.history["loss"] + h_second.history["loss"] == h_straight.history["loss"]


def test_model_checkpoint_skips_nan_and_saves_the_next_best(tmp_path):
    ck = C.ModelCheckpoint(tmp_path / "e{epoch}.sn", monitor="val_loss", save_best_only=True)
    with pytest.warns(RuntimeWarning, match="val_loss is NaN at epoch 1"):
        tiny_model().fit(*tiny_data(), epochs=3, verbose=0, callbacks=[
            Scripted("val_loss", [float("nan"), 0.5, 0.4]), ck])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e2.sn", "e3.sn"]
    assert ck.best == 0.4


def test_csv_logger_warns_about_columns_an_appended_file_lacks(tmp_path):
    path = tmp_path / "log.csv"
    x, y = tiny_data()
    tiny_model().fit(x, y, epochs=1, verbose=0, callbacks=[C.CSVLogger(path)])
    with pytest.warns(RuntimeWarning, match=r"\['val_accuracy', 'val_loss'\] are not written"):
        tiny_model().fit(x, y, epochs=1, verbose=0, validation_split=0.25,
                         callbacks=[C.CSVLogger(path, append=True)])


def test_evaluate_and_predict_call_their_hooks():
    calls = []

    class Spy(C.Callback):
        def on_test_begin(self, logs=None):
            calls.append("test_begin")

        def on_test_batch_end(self, batch, logs=None):
            calls.append(("test_batch", batch, round(logs["loss"], 6) > 0))

        def on_test_end(self, logs=None):
            calls.append(("test_end", sorted(logs)))

        def on_predict_batch_end(self, batch, logs=None):
            calls.append(("predict_batch", batch, logs["outputs"].shape))

        def on_predict_end(self, logs=None):
            calls.append("predict_end")

    model = tiny_model()
    x, y = tiny_data(20)
    model.evaluate(x, y, batch_size=16, verbose=0, callbacks=[Spy()])
    model.predict(x, batch_size=16, callbacks=[Spy()])
    assert calls == ["test_begin", ("test_batch", 0, True), ("test_batch", 1, True),
                     ("test_end", ["accuracy", "loss"]), ("predict_batch", 0, (16, 3)),
                     ("predict_batch", 1, (4, 3)), "predict_end"]
