"""``CSVLogger``: one CSV row per epoch: ``epoch`` then the logged values, sorted by name."""

from __future__ import annotations

import csv
import os
import warnings

from .callback import Callback


class CSVLogger(Callback):
    """Write ``epoch,<log names...>`` rows to ``filename``; ``append=True`` continues a file
    (for a resumed run) instead of starting it again. Each row is flushed as it is written.

    One logger may serve several ``fit`` calls, also after one that raised (Ctrl-C in a
    notebook): each ``on_train_begin`` closes what an earlier run left open and starts
    afresh -- a new header, or the existing one's columns when appending.
    """

    writes_files = True  # in a multi-rank fit, only rank 0 runs it

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), str(separator), bool(append)
        self.keys = None
        self._file = self._writer = None

    def on_train_begin(self, logs=None):
        self._close()  # a run that raised never reached on_train_end
        resuming = self.append and os.path.exists(self.filename) and \
            os.path.getsize(self.filename) > 0
        self.keys = None
        if resuming:  # keep the columns already there
            with open(self.filename, newline="") as f:
                header = next(csv.reader(f, delimiter=self.sep), None)
            self.keys = header[1:] if header and header[0] == "epoch" else None
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._resumed_header = self.keys is not None

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.keys is None:
            self.keys = sorted(logs)
        if self._writer is None:
            missing = sorted(set(logs) - set(self.keys))
            if missing:
                warnings.warn(f"CSVLogger: {self.filename} has the columns {self.keys}; "
                              f"{missing} are not written", RuntimeWarning, stacklevel=2)
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *self.keys],
                                          delimiter=self.sep, extrasaction="ignore",
                                          restval="NA")
            if not self._resumed_header:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **logs})
        self._file.flush()

    def on_train_end(self, logs=None):
        self._close()

    def on_train_interrupted(self, error):
        self._close()  # the rows written so far stay, flushed, in a closed file

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None
