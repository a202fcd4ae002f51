"""Atomic writes: the data goes to a temp file beside the target, then ``os.replace``.

Readers never see a half-written file, and on any error the temp file is removed and
the target is left as it was. The finished file gets the usual permissions
(0666 minus the umask), not the private 0600 that ``tempfile.mkstemp`` creates.

A temp file is named ``.<target name less its extension>~<pid>-<6 hex><ext>``: hidden,
with the target's extension (for writers that pick a format by it), at most 16
characters longer than the target, and shortened to ``<start of the name>-<hash of the
name>`` where that would pass the file system's name limit. A writer killed with
``kill -9`` cannot remove its temp file; the next write to the same target removes
those whose process is gone (the pid in the name tells; a live writer's temp file is
never touched).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets


def _read_umask() -> int:
    # the only way to read the umask is to set it; done once, at import, before any thread
    # of stridenet's could create files in between
    umask = os.umask(0)
    os.umask(umask)
    return umask


_UMASK = _read_umask()
_MAX_EXT = 16  # a longer "extension" names no format: the temp file ends in .tmp instead


def _usual_permissions(path: str) -> None:
    os.chmod(path, 0o666 & ~_UMASK)


def _name_max(folder: str) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (AttributeError, ValueError, OSError):  # no pathconf (Windows) or unknown
        return 255


def _temp_parts(folder: str, name: str) -> tuple[str, str]:
    """(prefix, extension) of the temp names of target ``name``: ``prefix<pid>-<hex>ext``."""
    tag, ext = os.path.splitext(name)
    if not ext or len(ext) > _MAX_EXT:
        tag, ext = name, ".tmp"
    room = _name_max(folder) - len(ext.encode()) - 2 - 7 - 1 - 6  # ".", "~", pid, "-", hex
    if len(tag.encode()) > room:  # the start of the name and a hash of all of it
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        tag = tag.encode()[:max(room - 9, 1)].decode(errors="ignore") + "-" + digest
    return f".{tag}~", ext


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to another user, or cannot be asked
        return True
    return True


def _remove_stale(folder: str, prefix: str, ext: str) -> None:
    """Remove temp files of this target left by processes that no longer run."""
    if os.name == "nt":  # os.kill(pid, 0) would end the process there
        return
    pattern = re.compile(r"(\d+)-[0-9a-f]{6}" + re.escape(ext))
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        m = pattern.fullmatch(entry.name[len(prefix):])
        if m and not _pid_alive(int(m.group(1))):
            with contextlib.suppress(OSError):  # another writer may remove it first
                os.remove(entry.path)


def _create_temp(folder: str, prefix: str, ext: str) -> str:
    for _ in range(100):
        tmp = os.path.join(folder, f"{prefix}{os.getpid()}-{secrets.token_hex(3)}{ext}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"could not create a temp file beside {folder}")  # pragma: no cover


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temp file name beside ``path`` (same extension) for a writer that wants a
    file name; on success it replaces ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path}: no such directory {folder}")
    prefix, ext = _temp_parts(folder, os.path.basename(path))
    _remove_stale(folder, prefix, ext)
    tmp = _create_temp(folder, prefix, ext)
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
