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
# the most dimensions a numpy array may have (32 before numpy 2.0, 64 since)
_MAX_RANK = 64 if int(np.__version__.split(".")[0]) >= 2 else 32
_CHUNK = 1 << 20  # streamed reads: 1 MB at a time
_TRAILING_SCAN = 16 << 20  # how far past the payload a reader looks to count trailing bytes


def is_gzip(data: bytes) -> bool:
    """True when ``data`` starts with the gzip magic bytes ``1f 8b``."""
    return bytes(data[:2]) == _GZIP_MAGIC


def _corrupt(name: str, e: Exception) -> ValueError:
    return ValueError(f"{name}: corrupt gzip data ({e})")


def read_upto(stream, n: int, name: str = "<stream>") -> bytearray:
    """Up to ``n`` bytes of ``stream``, fewer only at its end; read in 1 MB chunks, so
    memory follows the data actually there, never a size a header merely claims."""
    out = bytearray()
    try:
        while len(out) < n:
            chunk = stream.read(min(_CHUNK, n - len(out)))
            if not chunk:
                break
            out += chunk
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise _corrupt(name, e) from None
    return out


def gunzip_capped(data: bytes, limit: int, name: str = "<bytes>") -> bytearray:
    """Decompress gzip ``data``, streaming; more than ``limit`` bytes is a ValueError
    naming ``name`` (a gzip bomb stops there), corrupt data too."""
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
        out = read_upto(gz, limit + 1, name)
    if len(out) > limit:
        raise ValueError(f"{name}: decompresses to more than {limit} bytes, the most this "
                         "file may hold; refusing it (damaged, or a gzip bomb)")
    return out


def gunzip_if_needed(data: bytes, name: str = "<bytes>", limit: int | None = None) -> bytes:
    """``data`` decompressed when it is gzip (by its magic bytes), else unchanged.

    Corrupt or truncated gzip data is a ValueError naming ``name``; so is output beyond
    ``limit`` bytes (None: no limit), found while streaming, never after.
    """
    if not is_gzip(data):
        return bytes(data)
    if limit is not None:
        return gunzip_capped(data, limit, name)
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise _corrupt(name, e) from None


def _header(data, name: str):
    """``(shape, dtype, header length)`` from bytes that start with an IDX header."""
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
    if rank > _MAX_RANK:
        raise ValueError(f"{name}: IDX rank {rank} is more than the {_MAX_RANK} dimensions an "
                         "array can have")
    header = 4 + 4 * rank
    if len(data) < header:
        raise ValueError(f"{name}: truncated IDX header: expected {header} bytes for rank "
                         f"{rank}, got {len(data)} bytes")
    shape = tuple(int(s) for s in np.frombuffer(bytes(data[4:header]), dtype=">u4"))
    return shape, IDX_DTYPES[code], header


def _payload_size(shape, dtype) -> int:
    return int(np.prod(shape, dtype=object)) * dtype.itemsize  # python ints: no overflow


def _size_error(name, shape, dtype, expected, got, more=False) -> ValueError:
    kind = "truncated" if got < expected else "trailing bytes after the data"
    got_text = f"more than {got}" if more else f"{got}"
    return ValueError(f"{name}: IDX payload {kind}: expected {expected} bytes for shape "
                      f"{shape} of {dtype.newbyteorder('=').name}, got {got_text} bytes")


def _as_array(payload, shape, dtype) -> np.ndarray:
    flat = np.frombuffer(payload, dtype=dtype)
    # astype copies: the result owns native-endian, writable memory
    return flat.astype(dtype.newbyteorder("=")).reshape(shape)


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse uncompressed IDX bytes into a native-endian, writable array.

    Every header field is checked, and the payload must be exactly as long as the
    header says: a truncated file or trailing bytes are a ValueError that names
    ``name`` and gives the expected and actual byte counts.
    """
    data = memoryview(data).cast("B")
    shape, dtype, header = _header(data, name)
    expected = _payload_size(shape, dtype)
    got = len(data) - header
    if got != expected:
        raise _size_error(name, shape, dtype, expected, got)
    return _as_array(data[header:], shape, dtype)


def read_idx_stream(stream, name: str = "<stream>", max_bytes: int | None = None):
    """Read one IDX array from a binary stream of uncompressed bytes (a file, or a
    ``GzipFile`` decompressing one), reading no more than its header declares.

    ``max_bytes`` caps the whole file: a header declaring more is refused before any
    payload is read. What follows the payload is read on, up to 16 MB more, only to
    report trailing bytes (and so that gzip checks its CRC at the end of the stream).
    """
    head = read_upto(stream, 4, name)
    if len(head) == 4 and head[:2] == b"\0\0":
        head += read_upto(stream, 4 * head[3], name)
    shape, dtype, header = _header(head, name)
    expected = _payload_size(shape, dtype)
    if max_bytes is not None and header + expected > max_bytes:
        raise ValueError(f"{name}: the IDX header declares shape {shape}, "
                         f"{header + expected} bytes, more than the {max_bytes} bytes allowed")
    payload = read_upto(stream, expected, name)
    if len(payload) < expected:
        raise _size_error(name, shape, dtype, expected, len(payload))
    extra = len(read_upto(stream, _TRAILING_SCAN, name))
    if extra:
        raise _size_error(name, shape, dtype, expected, expected + extra,
                          more=extra >= _TRAILING_SCAN)
    return _as_array(payload, shape, dtype)


class _Prefixed:
    """A read-only stream: ``prefix`` (bytes already read to sniff the format), then
    the rest of ``stream``."""

    def __init__(self, prefix: bytes, stream):
        self.prefix, self.stream = prefix, stream

    def read(self, n: int = -1) -> bytes:
        if not self.prefix:
            return self.stream.read(n)
        if n is None or n < 0:
            out, self.prefix = self.prefix + self.stream.read(), b""
            return out
        out, self.prefix = self.prefix[:n], self.prefix[n:]
        return out + (self.stream.read(n - len(out)) if n > len(out) else b"")


def _read_stream(raw, label: str, max_bytes):
    head = raw.read(2)
    if not isinstance(head, (bytes, bytearray)):
        raise TypeError(f"read_idx: {label} must be opened in binary mode, got "
                        f"{type(head).__name__} from read()")
    stream = _Prefixed(bytes(head), raw)
    if is_gzip(head):
        with gzip.GzipFile(fileobj=stream) as gz:
            return read_idx_stream(gz, label, max_bytes)
    return read_idx_stream(stream, label, max_bytes)


def read_idx(source, name: str | None = None, max_bytes: int | None = None) -> np.ndarray:
    """Read an IDX array from a path or a binary file object, gzip or raw.

    ``name`` is used in error messages (default: the path or the file's name).
    Decompression streams and stops at the size the header declares, so a gzip bomb
    costs no more memory than the array it claims to be; ``max_bytes`` caps that size.
    Raises ValueError for anything that is not a well-formed IDX file.
    """
    if isinstance(source, (str, os.PathLike)):
        label = name or os.fspath(source)
        with open(source, "rb") as f:
            return _read_stream(f, label, max_bytes)
    if hasattr(source, "read"):
        label = name or str(getattr(source, "name", "<stream>"))
        return _read_stream(source, label, max_bytes)
    raise TypeError("read_idx: source must be a path or a binary file object, got "
                    f"{type(source).__name__}")


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
