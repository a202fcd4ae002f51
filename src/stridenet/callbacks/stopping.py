"""Callbacks that end training: ``EarlyStopping`` and ``TerminateOnNaN``."""

from __future__ import annotations

import math

from .callback import Callback, Monitor


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``baseline``: training also stops unless the monitored value beats it within
    ``patience`` epochs. ``restore_best_weights=True`` puts back the weights of the best
    epoch when training ends. Epochs before ``start_from_epoch`` are not watched.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if int(patience) < 0 or int(start_from_epoch) < 0:
            raise ValueError(f"EarlyStopping: patience and start_from_epoch must be >= 0, got "
                             f"{patience} and {start_from_epoch}")
        self.tracker = Monitor(monitor, mode, min_delta, owner="EarlyStopping")
        self.monitor, self.patience, self.verbose = monitor, int(patience), int(verbose)
        self.baseline = None if baseline is None else float(baseline)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self.tracker.worst
        self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = self.tracker.value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self.tracker.improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self.tracker.improves(current, self.baseline):
                self.wait = 0
                return
            # improving but not yet past the baseline still uses up patience, as the
            # Keras documentation says (tf.keras did this; Keras 3 returns early here)
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class TerminateOnNaN(Callback):
    """Stop at the first batch whose loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        loss = logs.get("batch_loss", logs.get("loss"))
        if loss is not None and not math.isfinite(float(loss)):
            print(f"Batch {batch}: invalid loss {loss}, terminating training")
            self.model.stop_training = True
