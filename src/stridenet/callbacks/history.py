"""``History``: every epoch's logs, as ``fit`` returns them (``history.history["loss"]``)."""

from __future__ import annotations

from .callback import Callback


class History(Callback):
    """``history[name]`` is one value per epoch; ``epoch`` the epoch numbers (from 0)."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(int(epoch))
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self
