"""The command line under hostile conditions: bad environment, unwritable outputs, huge
images, absurd sizes and Ctrl-C. Every one ends in one line on stderr, never a traceback."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys

import pytest

import stridenet as sn
from stridenet import cli

pytest.importorskip("safetensors")


def run_cli(*argv):
    """``(status, stdout, stderr)`` of ``stridenet argv...`` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def run_process(*argv, env=None):
    """``(status, stdout, stderr)`` of ``python -m stridenet.cli argv...`` in a new process
    (for what a process reads once at start, such as the environment)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "stridenet.cli", *map(str, argv)],
                          capture_output=True, text=True, env=full_env, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def assert_one_line_error(result, *fragments, status=2):
    code, _, err = result
    assert code == status, err
    assert "Traceback" not in err and "Warning" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A small 28x28x1 -> 10 model file (untrained: these tests check the plumbing)."""
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    model = sn.Sequential([sn.layers.Input((28, 28, 1)), sn.layers.Flatten(),
                           sn.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.save(path)
    return path


# ------------------------------------------------------------ STRIDENET_NUM_THREADS
@pytest.mark.parametrize("value, command", [("abc", "predict"), ("0", "summary"),
                                            ("-2", "train"), ("1.5", "explain")])
def test_bad_thread_count_is_one_line_in_every_command(value, command, tiny_model, tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image

    digit = tmp_path / "digit.png"
    page = Image.new("L", (64, 64), 255)
    page.paste(0, (20, 10, 40, 50))
    page.save(digit)
    argv = {"predict": ("predict", tiny_model, digit), "summary": ("summary", "lenet5"),
            "train": ("train", "mnist", "--limit", 8, "--epochs", 1, "--no-figures",
                      "--out", tmp_path / "run"),
            "explain": ("explain", "edges", "--image", digit, "--out", tmp_path / "e.png")}
    result = run_process(*argv[command], env={"STRIDENET_NUM_THREADS": value})
    assert_one_line_error(result, f"stridenet {command}: error:", "STRIDENET_NUM_THREADS",
                          repr(value))
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_good_thread_count_is_accepted(tiny_model, tmp_path):
    status, out, err = run_process("summary", "lenet5", env={"STRIDENET_NUM_THREADS": "1"})
    assert status == 0, err
    assert "Total params" in out


# ------------------------------------------------------------------- huge images
@pytest.fixture(scope="module")
def huge_png(tmp_path_factory):
    """A 12000x12000 PNG (144 megapixels, under 1 MB on disk) of a bar on white."""
    from bigpng import write_png

    path = tmp_path_factory.mktemp("huge") / "huge.png"
    write_png(path, 12000, 12000, box=(2000, 5000, 10000, 6500))
    return path


def test_huge_image_is_one_clear_line_in_predict_and_edges(huge_png, tiny_model, tmp_path):
    import time

    for argv in (("predict", tiny_model, huge_png),
                 ("explain", "edges", "--image", huge_png, "--out", tmp_path / "e.png")):
        started = time.perf_counter()
        result = run_process(*argv)  # a new process: Pillow's warnings would reach stderr
        assert_one_line_error(result, f"stridenet {argv[0]}: error:", "huge.png",
                              "is too large: 12000x12000 pixels", "50 megapixels")
        assert time.perf_counter() - started < 20  # refused from the header
    assert not (tmp_path / "e.png").exists()


def test_large_photo_is_shrunk_for_the_edge_demo(tmp_path):
    pytest.importorskip("matplotlib")
    from bigpng import write_png

    write_png(tmp_path / "scan.png", 6000, 4000, "RGB", box=(1000, 2000, 3000, 2600))
    status, out, err = run_cli("explain", "edges", "--image", tmp_path / "scan.png",
                               "--out", tmp_path / "edges.png")
    assert status == 0, err
    assert "the 683x1024 photograph" in out  # shrunk, aspect kept, before the convolution
    assert (tmp_path / "edges.png").stat().st_size > 10_000
