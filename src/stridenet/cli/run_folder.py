"""The run folder of ``stridenet train``: checked writable before training, and file-system
errors as one readable line.

Training can take an hour; a run folder that cannot be written (``--out`` under a file, on
a read-only or full disk, a directory where ``model.safetensors`` should go) must fail
before it starts, not after, and a failure writing a later file must never cost the
trained model.
"""

from __future__ import annotations

import os
import tempfile

from .common import CLIError

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


__all__ = ["RUN_FILES", "os_error_message", "prepare_run_folder", "save_model"]
