"""CSVLogger reused after a ``fit`` that raised (Ctrl-C), and callbacks told of it."""

from __future__ import annotations

import csv

import pytest

from stridenet import callbacks as C
from tiny_fit import tiny_data, tiny_model


class Interrupt(C.Callback):
    """Raises KeyboardInterrupt (Ctrl-C) at the end of epoch ``at``."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


# -- CSVLogger reused after a fit that raised (defect 4) --------------------------------------

def test_csv_logger_reused_after_an_interrupted_fit(tmp_path):
    path = tmp_path / "log.csv"
    logger = C.CSVLogger(path)
    model = tiny_model()
    x, y = tiny_data()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=3, verbose=0, callbacks=[logger, Interrupt(at=1)])
    rows = list(csv.reader(open(path)))  # what was written before Ctrl-C is on disk, closed
    assert rows[0] == ["epoch", "accuracy", "loss"] and [r[0] for r in rows[1:]] == ["0", "1"]
    assert logger._file is None
    model.fit(x, y, epochs=2, verbose=0, callbacks=[logger])
    data = path.read_bytes()
    assert b"\x00" not in data
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "accuracy", "loss"] and [r[0] for r in rows[1:]] == ["0", "1"]


def test_csv_logger_append_after_an_interrupted_fit_keeps_one_header(tmp_path):
    path = tmp_path / "log.csv"
    logger = C.CSVLogger(path, append=True)
    model = tiny_model()
    x, y = tiny_data()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=3, verbose=0, callbacks=[logger, Interrupt(at=0)])
    model.fit(x, y, epochs=3, initial_epoch=1, verbose=0, callbacks=[logger])
    rows = list(csv.reader(open(path)))
    assert b"\x00" not in path.read_bytes()
    assert rows[0] == ["epoch", "accuracy", "loss"] and [r[0] for r in rows[1:]] == ["0", "1", "2"]


def test_callbacks_hear_of_a_fit_that_raised():
    seen = []

    class Watch(C.Callback):
        def on_train_interrupted(self, error):
            seen.append(type(error).__name__)

        def on_train_end(self, logs=None):
            seen.append("end")

    with pytest.raises(KeyboardInterrupt):
        tiny_model().fit(*tiny_data(), epochs=2, verbose=0, callbacks=[Watch(), Interrupt(0)])
    assert seen == ["KeyboardInterrupt"]  # on_train_end is not called, as in Keras
    tiny_model().fit(*tiny_data(), epochs=1, verbose=0, callbacks=[Watch()])
    assert seen == ["KeyboardInterrupt", "end"]
