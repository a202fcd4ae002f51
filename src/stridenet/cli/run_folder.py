"""The run folder of ``stridenet train``: checked writable before training, file-system
errors as one readable line, and what an interrupted run leaves.

Training can take an hour; a run folder that cannot be written (``--out`` under a file, on
a read-only or full disk, a directory where ``model.safetensors`` should go) must fail
before it starts, not after, and a failure writing a later file must never cost the
trained model. Ctrl-C keeps the model so far, the history rows of the finished epochs
and a ``metrics.json`` that says ``"interrupted": true``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import threading

from ..callbacks import Callback
from .common import CLIError, write_json

# what every run writes; the figures come on top unless --no-figures
RUN_FILES = ("model.safetensors", "history.csv", "metrics.json")


def os_error_message(err: OSError) -> str:
    """``"<path>: <reason>"`` for an OSError (the target of a failed rename rather than the
    temporary file), or its text when it names no file."""
    reason = err.strerror or str(err) or type(err).__name__
    path = err.filename2 if err.filename2 is not None else err.filename
    return f"{os.fsdecode(path)}: {reason}" if path is not None else reason


def prepare_run_folder(folder: str, names) -> None:
    """Create ``folder`` and make sure each file ``names`` can be written into it.

    Raises CLIError when ``folder`` is a file, cannot be created (a file as a parent, a
    missing or read-only file system), refuses a new file (probed with a real one: file
    permissions say nothing for root or a read-only mount), or holds a directory under
    one of ``names``.
    """
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise CLIError(f"--out {folder} is a file, not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise CLIError(f"cannot create the run folder {folder}: "
                       f"{err.strerror or err}") from None
    for name in names:
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            raise CLIError(f"cannot write {path}: it is a directory")
    try:  # every file is written as a temporary file in the folder, then renamed
        fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as err:
        raise CLIError(f"cannot write in the run folder {folder}: "
                       f"{err.strerror or err}") from None


def save_model(model, path: str, when: str) -> None:
    """``model.save(path)``, a failure being one line that says what was lost."""
    try:
        model.save(path)
    except OSError as err:
        raise CLIError(f"{when} but the model could not be saved to {path}: "
                       f"{err.strerror or err}") from None


class EpochLog(Callback):
    """The logs of each finished epoch, kept as they come: ``fit`` returns its History
    only when it ends, and an interrupted run still reports the epochs it finished."""

    def __init__(self):
        super().__init__()
        self.logs: list[dict] = []
        self.model_saved = False  # set once the finished model is on disk

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs or {}))


@contextlib.contextmanager
def _sigint_ignored():
    """A second Ctrl-C while the interrupted run is being saved is ignored (signal
    handlers can only change in the main thread; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None
                      else signal.default_int_handler)


def finish_interrupted(model, folder: str, run: dict, epochs: EpochLog, train_time: float,
                       wall_time: float) -> int:
    """After Ctrl-C: save the model so far (unless the finished one is saved already) and a
    ``metrics.json`` marked ``"interrupted": true`` with the epochs finished and their
    last training loss; one line on stderr; exit status 130 (128 + SIGINT)."""
    model_path = os.path.join(folder, "model.safetensors")
    metrics_path = os.path.join(folder, "metrics.json")
    done, planned = len(epochs.logs), run.get("epochs_planned")
    failed = ""
    with _sigint_ignored():
        if not epochs.model_saved:
            save_model(model, model_path, "training was interrupted")
        metrics = {**run, "interrupted": True, "epochs": done}
        if epochs.logs:  # the last finished epoch, as a finished run reports it
            last = epochs.logs[-1]
            metrics.update({f"train_{k}": last[k] for k in ("loss", "accuracy") if k in last})
        metrics.update(train_time_s=train_time, wall_time_s=wall_time)
        metrics["files"] = sorted({"metrics.json", *(name for name in os.listdir(folder)
                                                     if not name.startswith("."))})
        try:
            write_json(metrics_path, metrics)
        except OSError as err:
            failed = f"; cannot write {metrics_path}: {err.strerror or err}"
    print(flush=True)  # end the progress bar's line before the message
    print(f"stridenet train: interrupted after {done} of {planned} epochs; the model so far "
          f"and the history of the finished epochs are in {folder}{failed}", file=sys.stderr)
    return 130


__all__ = ["RUN_FILES", "EpochLog", "finish_interrupted", "os_error_message",
           "prepare_run_folder", "save_model"]
