"""The IDX file format (the format MNIST ships in): read and write, headers checked.

An IDX file is a 4-byte magic number, ``rank`` big-endian uint32 dimension sizes,
then the array's elements in C order, big-endian::

    byte 0, 1   0x00 0x00          (always zero)
    byte 2      element type code  (0x08 uint8, 0x09 int8, 0x0B int16,
                                    0x0C int32, 0x0D float32, 0x0E float64)
    byte 3      rank               (number of dimensions)
    4 * rank    dimension sizes, uint32 big-endian
    payload     prod(sizes) * itemsize bytes, nothing more, nothing less

Files are often gzip-compressed; whether a file is gzip is decided by its first
two bytes (``1f 8b``), never by its name.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib

import numpy as np

from ..io import atomic_writer

# type code -> big-endian element dtype, as the format defines them
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_DIM = 2**32 - 1


def is_gzip(data: bytes) -> bool:
    """True when ``data`` starts with the gzip magic bytes ``1f 8b``."""
    return bytes(data[:2]) == _GZIP_MAGIC


def gunzip_if_needed(data: bytes, name: str = "<bytes>") -> bytes:
    """``data`` decompressed when it is gzip (by its magic bytes), else unchanged.

    Corrupt or truncated gzip data is a ValueError naming ``name``.
    """
    if not is_gzip(data):
        return bytes(data)
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise ValueError(f"{name}: corrupt gzip data ({e})") from None


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse uncompressed IDX bytes into a native-endian, writable array.

    Every header field is checked, and the payload must be exactly as long as the
    header says: a truncated file or trailing bytes are a ValueError that names
    ``name`` and gives the expected and actual byte counts.
    """
    data = memoryview(data).cast("B")
    if len(data) < 4:
        raise ValueError(f"{name}: not an IDX file: {len(data)} bytes, shorter than the "
                         "4-byte magic number")
    zero0, zero1, code, rank = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(f"{name}: not an IDX file: magic number {bytes(data[:4]).hex()} does "
                         "not start with two zero bytes")
    if code not in IDX_DTYPES:
        allowed = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"{name}: unknown IDX element type code 0x{code:02X} (allowed: {allowed})")
    if rank == 0:
        raise ValueError(f"{name}: IDX rank is 0; an IDX file holds at least one dimension")
    header = 4 + 4 * rank
    if len(data) < header:
        raise ValueError(f"{name}: truncated IDX header: expected {header} bytes for rank "
                         f"{rank}, got {len(data)} bytes")
    shape = tuple(int(s) for s in np.frombuffer(data[4:header], dtype=">u4"))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize  # python int: no overflow
    got = len(data) - header
    if got != expected:
        kind = "truncated" if got < expected else "trailing bytes after the data"
        raise ValueError(f"{name}: IDX payload {kind}: expected {expected} bytes for shape "
                         f"{shape} of {dtype.newbyteorder('=').name}, got {got} bytes")
    flat = np.frombuffer(data[header:], dtype=dtype)
    # astype copies: the result owns native-endian, writable memory
    return flat.astype(dtype.newbyteorder("=")).reshape(shape)


def read_idx(source, name: str | None = None) -> np.ndarray:
    """Read an IDX array from a path or a binary file object, gzip or raw.

    ``name`` is used in error messages (default: the path or the file's name).
    Raises ValueError for anything that is not a well-formed IDX file.
    """
    if isinstance(source, (str, os.PathLike)):
        label = name or os.fspath(source)
        with open(source, "rb") as f:
            data = f.read()
    elif hasattr(source, "read"):
        label = name or str(getattr(source, "name", "<stream>"))
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"read_idx: {label} must be opened in binary mode, got "
                            f"{type(data).__name__} from read()")
    else:
        raise TypeError("read_idx: source must be a path or a binary file object, got "
                        f"{type(source).__name__}")
    return parse_idx(gunzip_if_needed(data, label), label)


def idx_bytes(array) -> bytes:
    """The uncompressed IDX encoding of ``array`` (dtype must be one the format has)."""
    arr = np.asarray(array)
    native = arr.dtype.newbyteorder("=") if arr.dtype.byteorder in "<>" else arr.dtype
    if native not in _CODES:
        names = ", ".join(dt.newbyteorder("=").name for dt in IDX_DTYPES.values())
        raise TypeError(f"write_idx: array dtype {arr.dtype} has no IDX type code "
                        f"(allowed: {names})")
    if arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"write_idx: array rank must be 1..255, got shape {arr.shape}")
    if max(arr.shape) > _MAX_DIM:
        raise ValueError(f"write_idx: dimension sizes must fit in uint32, got shape {arr.shape}")
    code = _CODES[native]
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(arr, dtype=IDX_DTYPES[code]).tobytes()


def write_idx(path, array, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file at ``path``, atomically.

    ``compress=None`` gzips when the name ends in ``.gz``. The gzip header carries
    no timestamp, so the same array always gives the same bytes.
    """
    payload = idx_bytes(array)
    if compress is None:
        compress = os.fspath(path).endswith(".gz")
    if compress:
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
            gz.write(payload)
        payload = buf.getvalue()
    with atomic_writer(path) as f:
        f.write(payload)
