"""Atomic writes: the data goes to a temp file beside the target, then ``os.replace``.

Readers never see a half-written file, and on any error the temp file is removed and
the target is left as it was. The finished file gets the usual permissions
(0666 minus the umask), not the private 0600 that ``tempfile.mkstemp`` creates.
"""

from __future__ import annotations

import contextlib
import os
import tempfile


def _read_umask() -> int:
    # the only way to read the umask is to set it; done once, at import, before any thread
    # of stridenet's could create files in between
    umask = os.umask(0)
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def _usual_permissions(path: str) -> None:
    os.chmod(path, 0o666 & ~_UMASK)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temp file name beside ``path`` (same extension) for a writer that wants a
    file name; on success it replaces ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1] or ".tmp"
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=suffix,
                               dir=folder)
    os.close(fd)
    try:
        yield tmp
        _usual_permissions(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def atomic_writer(path, mode: str = "wb", encoding: str | None = None):
    """Open a temp file beside ``path`` for writing (``mode`` "wb" or "w"); it is flushed to
    disk and replaces ``path`` when the block ends without an error."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_writer: mode must be 'wb' or 'w', got {mode!r}")
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding) as f:
        yield f
        f.flush()
        os.fsync(f.fileno())
