"""MNIST / Fashion-MNIST loaders: known facts of the real data, the lookup order, hash checks
and the download path (served from local bytes: these tests never touch the network)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from stridenet.data.idx import idx_bytes
from stridenet.datasets import _locate, fashion_mnist, mnist
from stridenet.datasets._locate import DataFile, DownloadError

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
NAMES = [f.name for f in fashion_mnist.FILES]


# ----------------------------------------------------------------------------- MNIST

@pytest.fixture(scope="module")
def mnist_data():
    return mnist.load_data()


def test_mnist_shapes_dtypes_and_known_facts(mnist_data):
    (x_train, y_train), (x_test, y_test) = mnist_data
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert all(a.dtype == np.uint8 for a in (x_train, y_train, x_test, y_test))
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y_test, minlength=10).tolist() == \
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(y_train, minlength=10).sum() == 60000
    assert np.bincount(y_train)[1] == 6742  # the most frequent digit
    assert x_train.max() == 255 and x_train.min() == 0
    assert x_train[:, 0, 0].max() == 0  # the corners are background
    assert x_train.flags.writeable


def test_mnist_from_a_directory_matches_the_packaged_copy(mnist_data, tmp_path):
    # raw (uncompressed) files in a directory: hashes checked on the IDX content
    (x_train, y_train), (x_test, y_test) = mnist_data
    for name, arr in zip(NAMES, (x_train, y_train, x_test, y_test)):
        (tmp_path / name).write_bytes(idx_bytes(arr))
    (a, b), (c, d) = mnist.load_data(path=tmp_path)
    for got, want in ((a, x_train), (b, y_train), (c, x_test), (d, y_test)):
        np.testing.assert_array_equal(got, want)


def _write_set(directory: Path, n_train=6, n_test=4, seed=0, gz=True, n_classes=10,
               image_shape=(28, 28), gz_level=9):
    """A tiny MNIST-layout data set; returns DataFile specs that accept exactly it."""
    rng = np.random.default_rng(seed)
    arrays = [rng.integers(0, 256, (n_train, *image_shape), dtype=np.uint8),
              rng.integers(0, n_classes, n_train, dtype=np.uint8),
              rng.integers(0, 256, (n_test, *image_shape), dtype=np.uint8),
              rng.integers(0, n_classes, n_test, dtype=np.uint8)]
    directory.mkdir(parents=True, exist_ok=True)
    specs = []
    for name, arr in zip(NAMES, arrays):
        content = idx_bytes(arr)
        data = gzip.compress(content, compresslevel=gz_level, mtime=0) if gz else content
        (directory / (name + (".gz" if gz else ""))).write_bytes(data)
        specs.append(DataFile(name, hashlib.sha256(content).hexdigest(),
                              (hashlib.sha256(data).hexdigest(),) if gz else ()))
    return tuple(specs), arrays


def test_mnist_directory_with_other_data_fails_the_hash_check(tmp_path):
    _write_set(tmp_path)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz is not the published "
                                         r"train-images-idx3-ubyte: SHA-256"):
        mnist.load_data(path=tmp_path)
    (a, b), (c, d) = mnist.load_data(path=tmp_path, verify=False)  # structure still checked
    assert a.shape == (6, 28, 28) and d.shape == (4,)


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(n_classes=12, n_train=200), "holds label 1[01], outside 0..9"),
    (dict(image_shape=(28, 27)), r"shape \(N, 28, 28\)"),
])
def test_mnist_structure_checks(tmp_path, kwargs, pattern):
    _write_set(tmp_path, **kwargs)
    with pytest.raises(ValueError, match=pattern):
        mnist.load_data(path=tmp_path, verify=False)


def test_image_and_label_counts_must_agree(tmp_path):
    _write_set(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(3, np.uint8))))
    with pytest.raises(ValueError, match="has 4 images but .* has 3 labels"):
        mnist.load_data(path=tmp_path, verify=False)


def test_mnist_directory_missing_a_file(tmp_path):
    _write_set(tmp_path)
    os.remove(tmp_path / "train-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError, match="lacks train-labels-idx1-ubyte"):
        mnist.load_data(path=tmp_path)


@pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="shared/datasets not present")
def test_mnist_shared_copy_passes_the_hash_check(mnist_data):
    (_, y_train), _ = mnist.load_data(path=SHARED / "mnist")
    np.testing.assert_array_equal(y_train, mnist_data[0][1])


# --------------------------------------------------------------------- Fashion-MNIST

@pytest.mark.skipif(not (SHARED / "fashion-mnist").is_dir(), reason="shared/datasets not present")
def test_fashion_mnist_real_files():
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(SHARED / "fashion-mnist")
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert y_test[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert fashion_mnist.CLASS_NAMES[y_train[0]] == "Ankle boot"


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $STRIDENET_DATA, a private cache and Debian directory, and a network that fails
    the test if anything tries to use it."""
    monkeypatch.delenv("STRIDENET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", str(tmp_path / "debian"))

    def no_network(url, timeout=None):
        raise AssertionError(f"the network was used: {url}")

    monkeypatch.setattr(_locate, "urlopen", no_network)
    return tmp_path


def _touch_set(directory: Path):
    directory.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        (directory / (name + ".gz")).write_bytes(b"")


def _found(path=None):
    return _locate.locate(fashion_mnist.FILES, path, fashion_mnist.search_dirs(),
                          _locate.cache_dir("fashion-mnist"), fashion_mnist.BASE_URLS,
                          "test", allow_download=False)


def test_lookup_order(isolated, monkeypatch):
    env, debian = isolated / "env", isolated / "debian"
    cache = isolated / "cache" / "stridenet" / "fashion-mnist"
    explicit = isolated / "explicit"
    with pytest.raises(FileNotFoundError, match="download=False"):
        _found()
    _touch_set(debian)
    assert _found() == str(debian)
    _touch_set(cache)
    assert _found() == str(cache)
    monkeypatch.setenv("STRIDENET_DATA", str(env))
    _touch_set(env / "fashion-mnist")
    assert _found() == str(env / "fashion-mnist")
    _touch_set(env)
    assert _found() == str(env)
    _touch_set(explicit)
    assert _found(str(explicit)) == str(explicit)


def test_incomplete_directories_are_skipped_but_an_explicit_one_is_an_error(isolated):
    cache = isolated / "cache" / "stridenet" / "fashion-mnist"
    _touch_set(isolated / "debian")
    _touch_set(cache)
    os.remove(cache / "t10k-labels-idx1-ubyte.gz")
    assert _found() == str(isolated / "debian")
    with pytest.raises(FileNotFoundError, match=r"lacks t10k-labels-idx1-ubyte \(each as"):
        _found(str(cache))


def test_uncompressed_files_count_as_present(isolated):
    d = isolated / "debian"
    d.mkdir()
    for name in NAMES:
        (d / name).write_bytes(b"")
    assert _found() == str(d)


def test_cache_dir_follows_xdg_and_ignores_a_relative_value(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _locate.cache_dir("fm") == str(tmp_path / "xdg" / "stridenet" / "fm")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _locate.cache_dir("fm") == str(tmp_path / "home" / ".cache" / "stridenet" / "fm")


def test_load_data_checks_local_files(isolated, monkeypatch):
    specs, arrays = _write_set(isolated / "debian")
    monkeypatch.setattr(fashion_mnist, "FILES", specs)
    (a, b), (c, d) = fashion_mnist.load_data()
    for got, want in zip((a, b, c, d), arrays):
        np.testing.assert_array_equal(got, want)
    # a re-compressed copy of the same content is accepted (its .gz hash is unknown) ...
    _write_set(isolated / "recompressed", gz_level=1)
    fashion_mnist.load_data(isolated / "recompressed")
    # ... and so is the uncompressed content
    _write_set(isolated / "raw", gz=False)
    fashion_mnist.load_data(isolated / "raw")
    # other data is a clear error naming the file
    _write_set(isolated / "other", seed=1)
    with pytest.raises(ValueError, match=r"other/train-images-idx3-ubyte\.gz is not the "
                                         r"published .*expected " + specs[0].content_sha256):
        fashion_mnist.load_data(isolated / "other")


class FakeNet:
    """Serves bytes by URL, like urllib's urlopen; records what was asked."""

    def __init__(self, pages):
        self.pages = pages
        self.calls = []

    def __call__(self, url, timeout=None):
        self.calls.append((url, timeout))
        page = self.pages.get(url)
        if page is None:
            raise urllib.error.URLError("no route to host (test)")
        if isinstance(page, Exception):
            raise page
        return io.BytesIO(page)


def _served(specs_dir: Path, base: str):
    return {base + name + ".gz": (specs_dir / (name + ".gz")).read_bytes() for name in NAMES}


def test_download_into_the_cache_then_reuse(isolated, monkeypatch):
    specs, arrays = _write_set(isolated / "server")
    monkeypatch.setattr(fashion_mnist, "FILES", specs)
    second = fashion_mnist.BASE_URLS[1]
    net = FakeNet(_served(isolated / "server", second))  # the first mirror is down
    monkeypatch.setattr(_locate, "urlopen", net)
    (a, b), (c, d) = fashion_mnist.load_data()
    for got, want in zip((a, b, c, d), arrays):
        np.testing.assert_array_equal(got, want)
    cache = isolated / "cache" / "stridenet" / "fashion-mnist"
    assert sorted(os.listdir(cache)) == sorted(n + ".gz" for n in NAMES)
    assert len(net.calls) == 8  # each file: first mirror fails, second serves it
    assert all(t == _locate.DOWNLOAD_TIMEOUT_S for _, t in net.calls)
    assert net.calls[0][0] == fashion_mnist.BASE_URLS[0] + NAMES[0] + ".gz"
    fashion_mnist.load_data()
    assert len(net.calls) == 8  # served from the cache the second time


def test_download_with_a_bad_hash_leaves_nothing_behind(isolated, monkeypatch):
    specs, _ = _write_set(isolated / "server")
    monkeypatch.setattr(fashion_mnist, "FILES", specs)
    pages = _served(isolated / "server", fashion_mnist.BASE_URLS[0])
    first = fashion_mnist.BASE_URLS[0] + NAMES[0] + ".gz"
    page = bytearray(pages[first])
    page[len(page) // 2] ^= 0xFF  # one byte changed
    pages[first] = bytes(page)
    monkeypatch.setattr(_locate, "urlopen", FakeNet(pages))
    with pytest.raises(DownloadError) as e:
        fashion_mnist.load_data()
    msg = str(e.value)
    assert "SHA-256" in msg and f"expected {specs[0].gz_sha256[0]}" in msg
    assert all(base in msg for base in fashion_mnist.BASE_URLS)
    cache = isolated / "cache" / "stridenet" / "fashion-mnist"
    assert os.listdir(cache) == []  # no partial file, no temp file


def test_offline_is_a_clear_error(isolated, monkeypatch):
    monkeypatch.setattr(_locate, "urlopen", FakeNet({}))
    with pytest.raises(DownloadError, match="offline") as e:
        fashion_mnist.load_data()
    assert isinstance(e.value, OSError) and "STRIDENET_DATA" in str(e.value)
    with pytest.raises(FileNotFoundError, match="download=False"):
        fashion_mnist.load_data(download=False)


def test_timeouts_and_http_errors_fall_through_to_the_next_mirror(isolated, monkeypatch):
    spec = DataFile("f", hashlib.sha256(b"x").hexdigest(), (hashlib.sha256(b"data").hexdigest(),))
    net = FakeNet({"http://a/f.gz": TimeoutError("timed out"),
                   "http://b/f.gz": urllib.error.HTTPError("http://b/f.gz", 404, "Not Found",
                                                          None, None),
                   "http://c/f.gz": b"data"})
    monkeypatch.setattr(_locate, "urlopen", net)
    path = _locate.download(spec, ["http://a/", "http://b", "http://c/"], str(isolated / "dl"),
                            timeout=5.0)
    assert Path(path).read_bytes() == b"data"
    assert [u for u, _ in net.calls] == ["http://a/f.gz", "http://b/f.gz", "http://c/f.gz"]
    assert {t for _, t in net.calls} == {5.0}


def test_an_oversized_download_is_cut_off(isolated, monkeypatch):
    spec = DataFile("f", "0" * 64, ("0" * 64,), size=10)
    monkeypatch.setattr(_locate, "urlopen", FakeNet({"http://a/f.gz": b"x" * (3 << 20)}))
    with pytest.raises(DownloadError, match="more than 40 bytes"):
        _locate.download(spec, ["http://a/"], str(isolated / "dl"))
    assert os.listdir(isolated / "dl") == []


def test_embedded_hashes_are_well_formed():
    for files in (mnist.FILES, fashion_mnist.FILES):
        assert [f.name for f in files] == NAMES
        for f in files:
            for h in (f.content_sha256, *f.gz_sha256):
                assert len(h) == 64 and int(h, 16) >= 0


@pytest.mark.skipif(not (SHARED / "SHA256SUMS").is_file(), reason="shared/datasets not present")
def test_shared_sha256sums_are_known_gz_releases():
    sums = dict(reversed(line.split()) for line in (SHARED / "SHA256SUMS").read_text().splitlines()
                if line.strip())
    for prefix, files in (("mnist/", mnist.FILES), ("fashion-mnist/", fashion_mnist.FILES)):
        for f in files:
            assert sums[prefix + f.name + ".gz"] in f.gz_sha256
