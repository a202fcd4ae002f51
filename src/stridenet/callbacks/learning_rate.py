"""Callbacks that set the optimizer's learning rate: ``LearningRateScheduler`` and
``ReduceLROnPlateau``. Both record the rate in the epoch logs as ``learning_rate``."""

from __future__ import annotations

import math
import numbers

from .callback import Callback, Monitor


def _checked_rate(value, who: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(float(value)) or value < 0:
        raise ValueError(f"{who}: the learning rate must be a finite number >= 0, got {value!r}")
    return float(value)


class LearningRateScheduler(Callback):
    """At the start of each epoch set ``lr = schedule(epoch, lr)`` (or ``schedule(epoch)``).

    ``epoch`` counts from 0, as in Keras.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable, got {schedule!r}")
        self.schedule, self.verbose = schedule, int(verbose)

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        try:
            lr = self.schedule(epoch, float(opt.learning_rate))
        except TypeError:  # a schedule of the epoch alone
            lr = self.schedule(epoch)
        opt.learning_rate = _checked_rate(lr, "LearningRateScheduler")
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement.

    Improvement means better than the best value by more than ``min_delta``; after a
    reduction ``cooldown`` epochs pass before counting again; the rate never goes below
    ``min_lr``.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if "epsilon" in kwargs:  # the old Keras name of min_delta
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected arguments {sorted(kwargs)}")
        if not 0 < float(factor) < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        self.tracker = Monitor(monitor, mode, min_delta, owner="ReduceLROnPlateau")
        self.monitor, self.factor = monitor, float(factor)
        self.patience, self.cooldown = int(patience), int(cooldown)
        self.min_lr, self.verbose = _checked_rate(min_lr, "ReduceLROnPlateau"), int(verbose)
        self._reset()

    def _reset(self):
        self.best = self.tracker.worst
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        opt = self.model.optimizer
        logs["learning_rate"] = float(opt.learning_rate)
        current = self.tracker.value(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.tracker.improves(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(opt.learning_rate)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    opt.learning_rate = new
                    if self.verbose:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0
