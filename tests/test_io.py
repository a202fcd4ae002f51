"""Atomic writes: all or nothing, and files as readable as any other the user makes."""

from __future__ import annotations

import os
import stat

import pytest

from stridenet.io import atomic_path, atomic_writer


def test_writes_the_file_with_the_usual_permissions(tmp_path):
    with atomic_writer(tmp_path / "a.bin") as f:
        f.write(b"\x00\x01")
    with atomic_writer(tmp_path / "b.txt", "w") as f:
        f.write("héllo")
    (tmp_path / "plain").write_bytes(b"")  # how any other file of the user comes out
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "héllo"
    usual = stat.S_IMODE(os.stat(tmp_path / "plain").st_mode)
    assert usual & 0o600 == 0o600
    for name in ("a.bin", "b.txt"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == usual


def test_an_error_leaves_the_old_file_and_no_temp_file(tmp_path):
    target = tmp_path / "model.sn"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_writer(target) as f:
            f.write(b"half of the new")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.sn"]


def test_atomic_path_gives_a_temp_name_with_the_same_extension(tmp_path):
    with atomic_path(tmp_path / "fig.png") as tmp:
        assert tmp.endswith(".png") and os.path.dirname(tmp) == str(tmp_path)
        assert not os.path.exists(tmp_path / "fig.png")  # nothing visible until the end
        with open(tmp, "wb") as f:
            f.write(b"png")
    assert (tmp_path / "fig.png").read_bytes() == b"png"
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w'"):
        with atomic_writer(tmp_path / "x", "a"):
            pass


def test_a_name_of_the_longest_allowed_length_can_be_written(tmp_path):
    # the temp name beside it must not be longer than the file system allows
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    for name in ("m" * (limit - 12) + ".safetensors", "x" * limit, "y" * 252 + ".sn",
                 "é" * ((limit - 12) // 2) + ".safetensors"):  # the limit is in bytes
        name = name[:limit]
        with atomic_writer(tmp_path / name) as f:
            f.write(b"data")
        with atomic_path(tmp_path / name) as tmp:
            assert len(os.path.basename(tmp)) <= limit
            with open(tmp, "wb") as f:
                f.write(b"again")
        assert (tmp_path / name).read_bytes() == b"again"
    assert len(os.listdir(tmp_path)) == 4  # no temp file left


def test_temp_names_are_short_and_unique(tmp_path):
    names = set()
    for _ in range(50):
        with atomic_path(tmp_path / "model.safetensors") as tmp:
            names.add(os.path.basename(tmp))
            open(tmp, "wb").close()
    assert len(names) == 50
    assert max(len(n) for n in names) <= len("model.safetensors") + 20


_SLOW_WRITER = """
import importlib.util, sys, time
# the module alone, not the whole package: a fast start
spec = importlib.util.spec_from_file_location("atomic", sys.argv[3])
atomic = importlib.util.module_from_spec(spec)
spec.loader.exec_module(atomic)
with atomic.atomic_writer(sys.argv[1]) as f:
    f.write(b"partial " * 1000)
    f.flush()
    print("writing", flush=True)
    time.sleep(float(sys.argv[2]))
    f.write(b"done")
"""


def _start_slow_writer(target, seconds):
    import subprocess
    import sys

    from stridenet.io import atomic

    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(target), str(seconds),
                             atomic.__file__], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"  # its temp file exists now
    return proc


def test_temp_files_of_killed_writers_are_removed_by_the_next_write(tmp_path):
    import signal

    target = tmp_path / "model.safetensors"
    procs = [_start_slow_writer(target, 60) for _ in range(3)]  # all alive at once
    for proc in procs:
        proc.send_signal(signal.SIGKILL)  # kill -9: no cleanup runs in the writer
        proc.wait()
    (tmp_path / "other.bin").write_bytes(b"x")
    assert len(os.listdir(tmp_path)) == 4  # three temp files left behind, and other.bin
    with atomic_writer(target) as f:
        f.write(b"new")
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors", "other.bin"]
    assert target.read_bytes() == b"new"


def test_a_live_writers_temp_file_is_never_removed(tmp_path):
    target = tmp_path / "model.safetensors"
    proc = _start_slow_writer(target, 2)
    with atomic_writer(target) as f:  # a second writer while the first one still writes
        f.write(b"second")
    assert len(os.listdir(tmp_path)) == 2  # the first writer's temp file is still there
    assert proc.wait(timeout=60) == 0
    assert target.read_bytes().endswith(b"done")  # the first writer finished, last
    assert os.listdir(tmp_path) == ["model.safetensors"]


def test_a_missing_directory_is_named_in_the_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such directory .*nodir"):
        with atomic_writer(tmp_path / "nodir" / "m.sn") as f:
            f.write(b"x")
    assert os.listdir(tmp_path) == []
