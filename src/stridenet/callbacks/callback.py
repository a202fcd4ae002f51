"""``Callback`` and ``CallbackList``: the Keras hooks that ``fit`` calls as training runs.

``fit`` calls, in order: ``on_train_begin``; per epoch ``on_epoch_begin``, per batch
``on_train_batch_begin`` / ``on_train_batch_end``, then ``on_epoch_end`` with the epoch's
logs (``loss``, metrics, ``val_*``); finally ``on_train_end``. A callback stops training by
setting ``self.model.stop_training = True``. When ``fit`` ends by an exception (Ctrl-C
included), ``on_train_end`` is not called, as in Keras; instead each callback's
``on_train_interrupted(error)`` -- a stridenet addition -- lets it close what it opened.
Logs are one dict per event passed to every callback in turn, so what one callback adds
(``learning_rate``) the next one sees.
"""

from __future__ import annotations

import math
import warnings

_EVENTS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
           "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
           "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
           "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class: every hook does nothing; override the ones you need."""

    # True for callbacks that write files or logs: in a multi-rank (MPI) fit only rank 0
    # runs them, so N ranks never write the same file at once
    writes_files = False

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = dict(params)

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...

    def on_train_interrupted(self, error):
        """``fit`` is ending by ``error`` (an exception, or KeyboardInterrupt) instead of
        reaching ``on_train_end``: release files and other resources here. Not in Keras."""


class CallbackList:
    """Calls each hook on every callback, in the order given."""

    def __init__(self, callbacks=None, model=None, params=None):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be stridenet.callbacks.Callback instances, got "
                                f"{type(cb).__name__}")
            if model is not None:
                cb.set_model(model)
            if params is not None:
                cb.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def __getattr__(self, event):
        if event not in _EVENTS:
            raise AttributeError(event)

        def dispatch(*args):
            for cb in self.callbacks:
                getattr(cb, event)(*args)

        return dispatch

    def on_train_interrupted(self, error) -> None:
        """Tell every callback, even when one of them fails: ``error`` is what the caller
        will see, so a failing hook only warns."""
        for cb in self.callbacks:
            try:
                cb.on_train_interrupted(error)
            except Exception as hook_error:  # noqa: BLE001 - the original error wins
                warnings.warn(f"{type(cb).__name__}.on_train_interrupted failed: "
                              f"{hook_error!r}", RuntimeWarning, stacklevel=2)


class Monitor:
    """Tracks the best value of one logged quantity (``val_loss``, ``accuracy``, ...).

    ``mode="auto"`` reads the direction from the name, as Keras does: losses and errors go
    down; accuracies, AUC, precision, recall and F-scores go up; anything else needs a mode.
    A value improves on a reference when it is better by more than ``min_delta``.
    """

    _UP = ("acc", "auc", "precision", "recall", "f1", "fbeta")
    _DOWN = ("loss", "error", "mae", "mse", "mape", "msle", "crossentropy")

    def __init__(self, monitor: str, mode: str = "auto", min_delta: float = 0.0, owner=""):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            name = str(monitor).removeprefix("val_").lower()
            if any(u in name for u in self._UP):
                mode = "max"
            elif any(d in name for d in self._DOWN):
                mode = "min"
            else:
                raise ValueError(f"{owner}: cannot tell whether {monitor!r} should go up or "
                                 "down; pass mode='min' or mode='max'")
        self.monitor, self.mode = str(monitor), mode
        self.min_delta = abs(float(min_delta))
        self.sign = 1.0 if mode == "max" else -1.0
        self.owner = owner

    @property
    def worst(self) -> float:
        return -math.inf if self.mode == "max" else math.inf

    def improves(self, value: float, reference: float) -> bool:
        return self.sign * (value - reference) > self.min_delta

    def value(self, logs) -> float | None:
        """The monitored value in ``logs``, or None (with a warning naming what is there)."""
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{self.owner}: {self.monitor!r} is not in the logs (available: "
                          f"{sorted(logs or {})}); skipping", RuntimeWarning, stacklevel=3)
            return None
        return float(value)
