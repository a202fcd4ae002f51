"""``ModelCheckpoint``: save the model (or its weights) as training runs.

``filepath`` may hold ``str.format`` fields filled from the epoch (counted from 1) and
the logs, e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.stridenet"``. Every write is atomic
(``model.save`` writes a temporary file and renames it), so a crash mid-save leaves the
previous checkpoint intact.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings

from .callback import Callback, Monitor


class ModelCheckpoint(Callback):
    """Save after every epoch (``save_freq="epoch"``) or every ``save_freq`` batches.

    ``save_best_only=True`` saves only when ``monitor`` beats the best value so far (and
    ``initial_value_threshold``, if given); ``save_weights_only=True`` writes
    ``model.save_weights`` instead of the whole model with its optimizer state.

    As in Keras 3, ``best`` is set once, here, and kept across ``fit`` calls: a callback
    reused for a second ``fit`` never overwrites the best file with a worse model.
    """

    writes_files = True  # in a multi-rank fit, only rank 0 runs it

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor, self.verbose = monitor, int(verbose)
        self.save_best_only, self.save_weights_only = bool(save_best_only), \
            bool(save_weights_only)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive int of "
                             f"batches, got {save_freq!r}")
        self.save_freq = save_freq
        self.tracker = Monitor(monitor, mode, 0.0, owner="ModelCheckpoint") \
            if save_best_only or mode != "auto" else None
        if initial_value_threshold is not None and (
                isinstance(initial_value_threshold, bool)
                or not isinstance(initial_value_threshold, numbers.Real)):
            raise TypeError(f"ModelCheckpoint: initial_value_threshold must be a number or "
                            f"None, got {initial_value_threshold!r}")
        self.best = None if initial_value_threshold is None else float(initial_value_threshold)
        self._epoch = 0
        self._batches_seen = 0

    def on_train_begin(self, logs=None):
        self._batches_seen = 0  # counts batches of this fit; ``best`` carries over

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _path(self, epoch, batch, logs) -> str:
        fields = dict(logs or {})
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as err:
            raise KeyError(f"ModelCheckpoint: filepath {self.filepath!r} names {err.args[0]!r}, "
                           f"which is not in the logs: {sorted(fields)}") from None

    def _save(self, epoch, batch, logs) -> None:
        path = self._path(epoch, batch, logs)
        if self.save_best_only:
            current = self.tracker.value(logs)
            if current is None:
                return
            if math.isnan(current):  # NaN compares false with everything: never "best"
                warnings.warn(f"ModelCheckpoint: {self.monitor} is NaN at epoch {epoch + 1}; "
                              "not saving", RuntimeWarning, stacklevel=2)
                return
            if self.best is not None and not self.tracker.improves(current, self.best):
                if self.verbose:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose:
                was = f"{self.tracker.worst}" if self.best is None else f"{self.best:.5f}"
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {was} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)
