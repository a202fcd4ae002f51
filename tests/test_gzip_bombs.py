"""Gzip bombs and oversized files: IDX readers and data set loaders stream the
decompression and stop at the expected size, with little memory, naming the file."""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zlib

import numpy as np
import pytest

from stridenet.data.idx import idx_bytes, read_idx
from stridenet.datasets import mnist

NAMES = [f.name for f in mnist.FILES]
MB = 1 << 20


def bomb(prefix: bytes, zeros: int) -> bytes:
    """gzip of ``prefix`` then ``zeros`` zero bytes, compressed chunk by chunk (~200:1)."""
    comp = zlib.compressobj(1, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    out = [comp.compress(prefix)]
    chunk = bytes(MB)
    for _ in range(zeros // MB):
        out.append(comp.compress(chunk))
    return b"".join(out) + comp.flush()


def peak_mb(fn):
    """Run ``fn`` (it must raise ValueError) and return the peak of traced allocations."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as err:
            fn()
        return tracemalloc.get_traced_memory()[1] / MB, str(err.value)
    finally:
        tracemalloc.stop()


def small_set(directory):
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, 6, dtype=np.uint8),
              rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, 4, dtype=np.uint8)]
    for name, arr in zip(NAMES, arrays):
        (directory / (name + ".gz")).write_bytes(gzip.compress(idx_bytes(arr), mtime=0))


# -- data set loaders (defect 14) -------------------------------------------------------------

@pytest.mark.parametrize("verify", [True, False])
def test_mnist_loader_refuses_a_train_images_bomb_with_little_memory(tmp_path, verify):
    small_set(tmp_path)
    header = bytes([0, 0, 8, 3]) + np.array([60000, 28, 28], ">u4").tobytes()
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(bomb(header, 160 * MB))  # 160 MB of zeros in ~0.7 MB
    peak, msg = peak_mb(lambda: mnist.load_data(path=tmp_path, verify=verify))
    assert "train-images-idx3-ubyte.gz" in msg and "47040016" in msg
    assert peak < 120, f"peak {peak:.0f} MB: decompressed past the expected size"


def test_labels_bomb_is_refused_at_its_tiny_expected_size(tmp_path):
    small_set(tmp_path)
    header = bytes([0, 0, 8, 1]) + np.array([60000], ">u4").tobytes()
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(bomb(header, 64 * MB))
    peak, msg = peak_mb(lambda: mnist.load_data(path=tmp_path, verify=False))
    assert "train-labels-idx1-ubyte.gz" in msg and "60008" in msg
    assert peak < 8


def test_oversized_uncompressed_file_is_refused_before_reading(tmp_path):
    small_set(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    raw = tmp_path / "t10k-labels-idx1-ubyte"
    with open(raw, "wb") as f:  # sparse: 200 MB on paper, nothing on disk
        f.truncate(200 * MB)
    peak, msg = peak_mb(lambda: mnist.load_data(path=tmp_path, verify=False))
    assert "t10k-labels-idx1-ubyte" in msg and "10008" in msg and peak < 8


def test_small_sets_and_the_packaged_copy_still_load(tmp_path):
    small_set(tmp_path)
    (x, _), (_, y) = mnist.load_data(path=tmp_path, verify=False)
    assert x.shape == (6, 28, 28) and y.shape == (4,)
    (x, _), _ = mnist.load_data()
    assert x.shape == (60000, 28, 28)


# -- read_idx streams too: the header's size is the cap ---------------------------------------

def test_read_idx_stops_at_the_size_its_header_declares(tmp_path):
    header = bytes([0, 0, 8, 1]) + np.array([10], ">u4").tobytes()
    path = tmp_path / "small.idx.gz"
    path.write_bytes(bomb(header + bytes(range(10)), 200 * MB))
    peak, msg = peak_mb(lambda: read_idx(path))
    assert "small.idx.gz" in msg and "trailing" in msg and peak < 40
    peak, msg = peak_mb(lambda: read_idx(io.BytesIO(path.read_bytes()), name="mem"))
    assert msg.startswith("mem:") and peak < 40


def test_read_idx_max_bytes_refuses_a_large_header_up_front(tmp_path):
    header = bytes([0, 0, 8, 2]) + np.array([2**31, 2**31], ">u4").tobytes()
    path = tmp_path / "huge.idx.gz"
    path.write_bytes(bomb(header, 8 * MB))
    with pytest.raises(ValueError, match=r"huge\.idx\.gz: .*more than the 1000 bytes allowed"):
        read_idx(path, max_bytes=1000)
    peak, msg = peak_mb(lambda: read_idx(path))  # no cap given: the data runs out first
    assert "truncated" in msg and peak < 40


def test_a_rank_beyond_what_arrays_hold_is_refused_by_name(tmp_path):
    path = tmp_path / "deep.idx"
    path.write_bytes(bytes([0, 0, 8, 255]) + bytes(4 * 255))  # 255 dimensions of size 0
    with pytest.raises(ValueError, match=r"deep\.idx: IDX rank 255 is more than the (32|64)"):
        read_idx(path)
