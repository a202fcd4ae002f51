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
