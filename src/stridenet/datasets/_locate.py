"""Finding, checking and downloading data set files.

A data set is a few named files (``train-images-idx3-ubyte.gz`` ...), each either
gzip-compressed (``NAME.gz``) or not (``NAME``). A file is accepted when it is the
published one, judged by SHA-256: the ``.gz`` bytes against the known releases of
that file, or else the uncompressed IDX bytes against the published content (so a
re-compressed copy of the right data is fine, and anything else is a clear error).
Downloads go to a temp file beside the target, are checked, then renamed into
place, so a cache never holds a partial or unchecked file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os

from ..data.idx import gunzip_capped, is_gzip
from ..io import atomic_writer

DOWNLOAD_TIMEOUT_S = 60.0
_CHUNK = 1 << 20
_DEFAULT_MAX = 1 << 30  # cap for a file whose size is not known
# the opener; None means urllib's (imported on the first download: urllib.request pulls in
# ssl, http and email, a third of the import time of the whole package). Tests replace it
# with one that serves local bytes.
urlopen = None


@dataclasses.dataclass(frozen=True)
class DataFile:
    """One file of a data set and the SHA-256 hashes that identify it."""

    name: str  # e.g. "train-images-idx3-ubyte" (without ".gz")
    content_sha256: str  # of the uncompressed IDX bytes
    gz_sha256: tuple[str, ...] = ()  # of known .gz releases; the first is the download's
    size: int | None = None  # bytes of the .gz download, when known
    content_size: int | None = None  # bytes of the uncompressed IDX file, when known

    @property
    def max_content(self) -> int:
        """The most bytes this file may decompress to: its known size, else 1 GiB."""
        return self.content_size if self.content_size is not None else _DEFAULT_MAX


class DownloadError(OSError):
    """No mirror delivered a file with the expected hash."""


def cache_dir(subdir: str) -> str:
    """``$XDG_CACHE_HOME/stridenet/SUBDIR`` (default ``~/.cache/stridenet/SUBDIR``).

    A relative ``XDG_CACHE_HOME`` is ignored, as the XDG spec asks.
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "stridenet", subdir)


def find_file(directory: str, name: str) -> str | None:
    """``directory/NAME.gz`` or ``directory/NAME`` (the .gz first), or None."""
    for candidate in (name + ".gz", name):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def missing_files(directory: str, files) -> list[str]:
    return [f.name for f in files if find_file(directory, f.name) is None]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_of(data: bytes, spec: DataFile, name: str) -> bytes:
    """The uncompressed bytes of ``data`` (gzip or raw), refused as soon as they pass the
    most ``spec``'s file can hold: decompression streams and stops there (gzip bombs)."""
    limit = spec.max_content
    if is_gzip(data):
        return gunzip_capped(data, limit, name)
    if len(data) > limit:
        raise ValueError(f"{name}: {len(data)} bytes, more than the {limit} bytes of "
                         f"{spec.name}; refusing it")
    return data


def verified_content(data: bytes, spec: DataFile, name: str, verify: bool = True) -> bytes:
    """The uncompressed IDX bytes of ``data`` after checking they are ``spec``'s file.

    ``name`` labels the source in errors. Raises ValueError on a hash mismatch, or
    (also when ``verify`` is False) when the content would be larger than the file is.
    """
    known_gz = verify and is_gzip(data) and sha256_hex(data) in spec.gz_sha256
    content = content_of(data, spec, name)
    if verify and not known_gz:
        got = sha256_hex(content)
        if got != spec.content_sha256:
            raise ValueError(
                f"{name} is not the published {spec.name}: SHA-256 of its IDX content is "
                f"{got}, expected {spec.content_sha256}. The file is damaged or a different "
                "data set; delete or replace it.")
    return content


def read_verified(path: str, spec: DataFile, verify: bool = True) -> bytes:
    """Read ``path`` and return its checked, uncompressed IDX bytes.

    A file larger on disk than its content could be (raw: the content size; gzip: that
    plus deflate's worst-case overhead) is refused before it is read.
    """
    limit = spec.max_content
    with open(path, "rb") as f:
        on_disk = os.fstat(f.fileno()).st_size
        gz = is_gzip(f.read(2))
        most = limit + limit // 1000 + 1024 if gz else limit  # stored blocks: 5 B per 64 KB
        if on_disk > most:
            raise ValueError(f"{path}: {on_disk} bytes on disk, more than {spec.name} can "
                             f"be ({limit} bytes uncompressed); refusing it")
        f.seek(0)
        data = f.read()
    return verified_content(data, spec, path, verify)


def _fetch(url: str, dest: str, spec: DataFile, timeout: float) -> None:
    """Stream ``url`` into ``dest`` atomically; ValueError if its SHA-256 is not expected."""
    digest = hashlib.sha256()
    limit = 4 * spec.size if spec.size else 1 << 30
    if urlopen is None:
        import urllib.request

        opener = urllib.request.urlopen
    else:
        opener = urlopen
    with opener(url, timeout=timeout) as response, atomic_writer(dest) as out:
        total = 0
        while True:
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise ValueError(f"{url}: more than {limit} bytes, not the expected file")
            digest.update(chunk)
            out.write(chunk)
        got = digest.hexdigest()
        expected = spec.gz_sha256[0]
        if got != expected:  # raising inside atomic_writer removes the temp file
            raise ValueError(f"{url}: SHA-256 {got} ({total} bytes), expected {expected}")


def download(spec: DataFile, base_urls, directory: str,
             timeout: float = DOWNLOAD_TIMEOUT_S) -> str:
    """Download ``spec``'s ``.gz`` into ``directory`` from the first mirror that delivers
    the expected bytes; returns the path. Raises DownloadError naming every attempt."""
    os.makedirs(directory, exist_ok=True)
    dest = os.path.join(directory, spec.name + ".gz")
    failures = []
    for base in base_urls:
        url = base.rstrip("/") + "/" + spec.name + ".gz"
        try:
            _fetch(url, dest, spec, timeout)
            return dest
        except (OSError, ValueError) as e:  # URLError is an OSError; also timeouts, HTTP errors
            failures.append(f"  {url}: {getattr(e, 'reason', None) or e}")
    raise DownloadError(
        f"could not download {spec.name}.gz (is this machine offline?). Tried:\n"
        + "\n".join(failures)
        + "\nPut the files in a directory and pass path=..., or set $STRIDENET_DATA.")


def locate(files, explicit, candidates, fetch_into, base_urls, what: str,
           allow_download: bool = True) -> str:
    """The directory holding every file of a data set.

    ``explicit`` (a directory, or None) must hold them all. Otherwise the first of
    ``candidates`` that does is used; failing that, the missing files are downloaded
    into ``fetch_into`` (when ``allow_download``).
    """
    if explicit is not None:
        explicit = os.fspath(explicit)
        missing = missing_files(explicit, files)
        if missing:
            raise FileNotFoundError(f"{what}: {explicit} lacks {', '.join(missing)} "
                                    "(each as NAME.gz or NAME)")
        return explicit
    for directory in candidates:
        if directory and not missing_files(directory, files):
            return directory
    if not allow_download:
        raise FileNotFoundError(f"{what}: not found in any of {list(candidates)} and "
                                "download=False")
    for spec in files:
        if find_file(fetch_into, spec.name) is None:
            download(spec, base_urls, fetch_into)
    return fetch_into
