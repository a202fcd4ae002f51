"""ModelCheckpoint reused across several ``fit`` calls keeps its best (Keras 3)."""

from __future__ import annotations

import pytest

from stridenet import callbacks as C
from tiny_fit import tiny_data, tiny_model


class Scripted(C.Callback):
    """Puts a scripted value of ``key`` into each epoch's logs (before the callbacks after it)."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values.pop(0)


# -- ModelCheckpoint(save_best_only=True) keeps its best across fit calls (defect 3) -----------

def test_model_checkpoint_best_survives_a_second_fit(tmp_path):
    path = tmp_path / "best.sn"
    ck = C.ModelCheckpoint(path, monitor="val_loss", save_best_only=True,
                           save_weights_only=True)
    model = tiny_model()
    x, y = tiny_data()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[Scripted("val_loss", [0.2]), ck])
    best_bytes = path.read_bytes()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[Scripted("val_loss", [0.9, 0.5]), ck])
    assert ck.best == 0.2
    assert path.read_bytes() == best_bytes  # the worse models did not overwrite it
    model.fit(x, y, epochs=1, verbose=0, callbacks=[Scripted("val_loss", [0.1]), ck])
    assert ck.best == 0.1 and path.read_bytes() != best_bytes


def test_model_checkpoint_initial_value_threshold_is_the_starting_best(tmp_path):
    ck = C.ModelCheckpoint(tmp_path / "e{epoch}.sn", monitor="val_loss", save_best_only=True,
                           initial_value_threshold=0.3)
    assert ck.best == 0.3
    tiny_model().fit(*tiny_data(), epochs=3, verbose=0,
                     callbacks=[Scripted("val_loss", [0.4, 0.25, 0.35]), ck])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e2.sn"] and ck.best == 0.25


def test_model_checkpoint_initial_value_threshold_must_be_a_number():
    with pytest.raises(TypeError, match="initial_value_threshold must be a number or None, "
                                        "got 'abc'"):
        C.ModelCheckpoint("x.sn", save_best_only=True, initial_value_threshold="abc")
