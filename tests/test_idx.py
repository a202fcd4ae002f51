"""IDX parsing: every element type, ranks 1-3, gzip by magic bytes, and every kind of damage."""

from __future__ import annotations

import gzip
import io
import os
import struct

import numpy as np
import pytest

from stridenet.data.idx import IDX_DTYPES, idx_bytes, parse_idx, read_idx, write_idx

CODES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.int16, 0x0C: np.int32, 0x0D: np.float32,
         0x0E: np.float64}
SHAPES = [(7,), (3, 5), (2, 3, 4)]


def _sample(dtype, shape, rng):
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    return rng.standard_normal(shape).astype(dtype)


def _hand_made(code: int, arr: np.ndarray) -> bytes:
    """IDX bytes built field by field with struct, independent of idx_bytes."""
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim)
    header += struct.pack(">" + "I" * arr.ndim, *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("code", sorted(CODES))
@pytest.mark.parametrize("shape", SHAPES)
def test_every_dtype_and_rank_parses(code, shape, rng):
    arr = _sample(CODES[code], shape, rng)
    out = parse_idx(_hand_made(code, arr))
    assert out.dtype == np.dtype(CODES[code]) and out.dtype.isnative
    assert out.shape == shape
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable and out.flags.c_contiguous


@pytest.mark.parametrize("code", sorted(CODES))
def test_write_then_read_roundtrip_raw_and_gzip(code, tmp_path, rng):
    arr = _sample(CODES[code], (4, 3, 2), rng)
    for name in ("a.idx", "a.idx.gz"):
        path = tmp_path / name
        write_idx(path, arr)
        data = path.read_bytes()
        assert (data[:2] == b"\x1f\x8b") == name.endswith(".gz")
        np.testing.assert_array_equal(read_idx(path), arr)
        with open(path, "rb") as f:  # a file object works too
            np.testing.assert_array_equal(read_idx(f), arr)
    assert idx_bytes(arr) == _hand_made(code, arr)


def test_big_endian_input_array_is_written_in_its_values(tmp_path):
    arr = np.array([1, -2, 300], dtype=">i4")
    write_idx(tmp_path / "b.idx", arr)
    out = read_idx(tmp_path / "b.idx")
    assert out.dtype == np.int32 and out.tolist() == [1, -2, 300]


def test_gzip_is_detected_by_magic_not_by_name(tmp_path, rng):
    arr = _sample(np.uint8, (5, 4), rng)
    gz_named_raw = tmp_path / "raw-but-named.gz"
    raw_named_gz = tmp_path / "gzip-but-named.idx"
    write_idx(gz_named_raw, arr, compress=False)
    write_idx(raw_named_gz, arr, compress=True)
    np.testing.assert_array_equal(read_idx(gz_named_raw), arr)
    np.testing.assert_array_equal(read_idx(raw_named_gz), arr)


def test_write_is_deterministic_and_leaves_no_temp_files(tmp_path):
    arr = np.arange(12, dtype=np.int16).reshape(3, 4)
    write_idx(tmp_path / "x.gz", arr)
    first = (tmp_path / "x.gz").read_bytes()
    write_idx(tmp_path / "x.gz", arr)  # overwrite in place
    assert (tmp_path / "x.gz").read_bytes() == first
    assert os.listdir(tmp_path) == ["x.gz"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "keep.idx"
    write_idx(path, np.arange(3, dtype=np.uint8))
    with pytest.raises(TypeError, match="no IDX type code"):
        write_idx(path, np.arange(3, dtype=np.uint64))
    assert read_idx(path).tolist() == [0, 1, 2]
    assert os.listdir(tmp_path) == ["keep.idx"]


@pytest.mark.parametrize("arr, exc", [
    (np.zeros(3, dtype=bool), TypeError),
    (np.zeros(3, dtype=np.float16), TypeError),
    (np.float32(1.0), ValueError),
])
def test_write_rejects_arrays_the_format_cannot_hold(arr, exc, tmp_path):
    with pytest.raises(exc):
        write_idx(tmp_path / "bad.idx", arr)


def _good(shape=(2, 3), code=0x0C):
    return _hand_made(code, np.arange(int(np.prod(shape)), dtype=CODES[code]).reshape(shape))


def test_truncated_payload_names_the_file_and_the_byte_counts(tmp_path):
    path = tmp_path / "short.idx"
    path.write_bytes(_good()[:-5])
    with pytest.raises(ValueError) as e:
        read_idx(path)
    msg = str(e.value)
    assert "short.idx" in msg and "truncated" in msg
    assert "expected 24 bytes" in msg and "got 19 bytes" in msg


def test_trailing_bytes_are_an_error(tmp_path):
    path = tmp_path / "long.idx"
    path.write_bytes(_good() + b"\x00\x00")
    with pytest.raises(ValueError, match=r"long\.idx.*trailing.*expected 24 bytes.*got 26 bytes"):
        read_idx(path)


def test_truncated_gzip_payload_is_also_caught():
    data = gzip.compress(_good()[:-1])
    with pytest.raises(ValueError, match="expected 24 bytes.*got 23 bytes"):
        read_idx(io.BytesIO(data), name="mem.gz")


@pytest.mark.parametrize("data, pattern", [
    (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "two zero bytes"),
    (b"\x00\x07\x08\x01" + struct.pack(">I", 1) + b"\x00", "two zero bytes"),
    (b"\x00\x00\x0A\x01" + struct.pack(">I", 1) + b"\x00", "type code 0x0A"),
    (b"\x00\x00\x08\x00", "rank is 0"),
    (b"\x00\x00", "shorter than the 4-byte magic"),
    (b"\x00\x00\x08\x03" + struct.pack(">I", 2), "truncated IDX header: expected 16 bytes"),
])
def test_bad_headers(data, pattern):
    with pytest.raises(ValueError, match=pattern):
        parse_idx(data, "hdr")


def test_corrupt_gzip_is_a_value_error(tmp_path):
    good = gzip.compress(_good())
    bad_body = good[:10] + bytes(b ^ 0xFF for b in good[10:-8]) + good[-8:]
    cut = good[: len(good) // 2]
    for name, data in (("flipped.gz", bad_body), ("cut.gz", cut), ("magic-only.gz", b"\x1f\x8b")):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError, match=rf"{name}.*corrupt gzip"):
            read_idx(path)


def test_gzip_crc_mismatch_is_caught(tmp_path):
    good = bytearray(gzip.compress(_good()))
    good[-8] ^= 0x01  # the CRC32 of the trailer
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(good))
    with pytest.raises(ValueError, match="corrupt gzip"):
        read_idx(path)


def test_text_mode_file_and_other_sources_are_type_errors(tmp_path):
    path = tmp_path / "t.idx"
    write_idx(path, np.arange(3, dtype=np.uint8))
    with open(path, encoding="latin-1") as f, pytest.raises(TypeError, match="binary mode"):
        read_idx(f)
    with pytest.raises(TypeError, match="path or a binary file object"):
        read_idx(12)


def test_dtype_table_matches_the_format():
    assert {c: d.newbyteorder("=") for c, d in IDX_DTYPES.items()} == \
        {c: np.dtype(t) for c, t in CODES.items()}
    assert all(d.byteorder in (">", "|") for d in IDX_DTYPES.values())


def test_data_and_datasets_use_no_autograd_or_ops():
    """The data layer is plain NumPy: only config/seeding and its own modules."""
    import ast
    from pathlib import Path

    import stridenet

    root = Path(stridenet.__file__).parent
    for pkg in ("data", "datasets"):
        for path in (root / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom):
                    mods = [("." * node.level) + (node.module or "")]
                elif isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                else:
                    continue
                for mod in mods:
                    parts = set(mod.split("."))
                    assert not parts & {"autograd", "ops", "layers", "models", "torch"}, \
                        f"{path.relative_to(root)} imports {mod}"
