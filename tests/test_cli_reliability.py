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
