"""The command line under hostile conditions: bad environment, unwritable outputs, huge
images, absurd sizes and Ctrl-C. Every one ends in one line on stderr, never a traceback."""

from __future__ import annotations

import contextlib
import errno
import io
import json
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


# ------------------------------------------------------------ unwritable run folders
QUICK_RUN = ["train", "mnist", "--limit", 16, "--epochs", 1, "--test-limit", 8,
             "--batch-size", 16]


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_out_that_cannot_be_a_folder_is_refused_before_training(tmp_path):
    (tmp_path / "one.png").write_bytes(b"not a folder")
    for out, reason in ((tmp_path / "one.png" / "sub", "Not a directory"),
                        ("/proc/stridenet-run", "No such file or directory")):
        result = run_cli(*QUICK_RUN, "--no-figures", "--out", out)
        assert_one_line_error(result, "stridenet train: error:", "cannot create the run "
                              f"folder {out}", reason)
        assert "Epoch" not in result[1]  # nothing was trained
    result = run_cli(*QUICK_RUN, "--no-figures", "--out", "/proc/self")  # a folder, read-only
    assert_one_line_error(result, "cannot write in the run folder /proc/self")
    assert "Epoch" not in result[1]


@pytest.mark.parametrize("name", ["model.safetensors", "history.csv", "metrics.json",
                                  "history.png"])
def test_a_folder_in_place_of_a_run_file_is_refused_before_training(tmp_path, name):
    (tmp_path / name).mkdir()
    result = run_cli(*QUICK_RUN, "--out", tmp_path)
    assert_one_line_error(result, f"cannot write {tmp_path / name}: it is a directory")
    assert "Epoch" not in result[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing else written


def test_no_figures_does_not_need_the_figure_names(tmp_path):
    (tmp_path / "history.png").mkdir()
    status, _, err = run_cli(*QUICK_RUN, "--no-figures", "--out", tmp_path)
    assert status == 0, err


def test_a_later_file_failing_never_loses_the_trained_model(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(sn.viz, "plot_history", _enospc)  # the first figure: disk full
    status, out, err = run_cli(*QUICK_RUN, "--out", tmp_path)
    assert_one_line_error((status, out, err), "No space left on device",
                          str(tmp_path / "model.safetensors"))
    model = sn.models.load_model(tmp_path / "model.safetensors")  # saved and whole
    assert model.name == "mnist_cnn"
    metrics = json.loads((tmp_path / "metrics.json").read_text())  # still written
    assert "history.png" not in metrics["files"] and metrics["epochs"] == 1
    assert "test accuracy" in out


def test_metrics_that_cannot_be_written_keep_the_model(tmp_path, monkeypatch):
    monkeypatch.setattr("stridenet.cli.train.write_json", _enospc)
    result = run_cli(*QUICK_RUN, "--no-figures", "--out", tmp_path)
    assert_one_line_error(result, "metrics.json", "No space left on device")
    sn.models.load_model(tmp_path / "model.safetensors")


def test_a_model_that_cannot_be_saved_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(sn.Model, "save", _enospc)
    result = run_cli(*QUICK_RUN, "--no-figures", "--out", tmp_path)
    assert_one_line_error(result, "the model could not be saved", "No space left on device")


def test_disk_full_during_training_keeps_the_model_so_far(tmp_path, monkeypatch):
    monkeypatch.setattr(sn.callbacks.CSVLogger, "on_epoch_end", _enospc)
    result = run_cli(*QUICK_RUN, "--epochs", 2, "--no-figures", "--out", tmp_path)
    assert_one_line_error(result, "training stopped", "No space left on device",
                          str(tmp_path / "model.safetensors"))
    sn.models.load_model(tmp_path / "model.safetensors")


def test_os_errors_of_any_command_are_one_line(tmp_path, monkeypatch):
    def broken(args):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(tmp_path / "x"))

    monkeypatch.setattr(cli, "cmd_summary", broken)  # build_parser binds it per call
    assert_one_line_error(run_cli("summary", "lenet5"), "stridenet summary: error:",
                          f"{tmp_path / 'x'}: Is a directory")


# ---------------------------------------------------------- explain: absurd sizes
@pytest.mark.parametrize("argv", [
    ("conv2d", "--input", "[[1, 2], [3, 4]]", "--kernel", "[[1]]", "--padding", "100000"),
    ("conv2d", "--input", "[[1, 2], [3, 4]]", "--kernel", "[[1]]",
     "--padding", "[[0, 0], [0, 10000000000]]"),
    ("conv2d", "--input", "[[1, 2], [3, 4]]", "--kernel", "[[1, 1], [1, 1]]",
     "--padding", "same", "--dilation", "100000"),
    ("conv1d", "--input", "[1, 2, 3]", "--kernel", "[1]", "--padding", "causal",
     "--dilation", "1"),  # fine: the control case (status 0)
    ("conv1d", "--input", "[1, 2, 3]", "--kernel", "[1]", "--padding", "[0, 100000000]"),
    ("backward", "--input", "[[1, 2], [3, 4]]", "--kernel", "[[1]]", "--dy", "[[1]]",
     "--padding", "100000"),
    ("maxpool", "--input", "[[1, 2], [3, 4]]", "--pool-size", "200001",
     "--padding", "100000"),
    ("avgpool", "--input", "[[1, 2], [3, 4]]", "--pool-size", "[1, 100000000]",
     "--strides", "1", "--padding", "same"),
    ("conv2d", "--input", json.dumps([[0] * 400] * 400), "--kernel", "[[1, 2], [3, 4]]"),
])
def test_explain_refuses_traces_too_large_to_compute(argv):
    import time

    started = time.perf_counter()
    status, out, err = run_cli("explain", *argv)
    assert time.perf_counter() - started < 10
    if "causal" in argv:
        assert status == 0, err
        return
    op = {"backward": "conv2d_backward", "maxpool": "max_pool2d",
          "avgpool": "avg_pool2d"}.get(argv[0], argv[0])
    assert_one_line_error((status, out, err), "stridenet explain: error:", f"{op}:",
                          "too large to trace", "at most 100,000")


def test_explain_traces_up_to_the_bound(tmp_path):
    # 40 x 40 with a 3x3 kernel, padding 1: 1,600 cells of 9 products (14,400)
    status, out, err = run_cli("explain", "conv2d", "--input", json.dumps([[1] * 40] * 40),
                               "--kernel", "[[0, 1, 0], [1, 1, 1], [0, 1, 0]]",
                               "--padding", "1", "--out", tmp_path / "t.txt")
    assert status == 0, err
    assert "wrote" in out and (tmp_path / "t.txt").stat().st_size > 1000


def test_explain_write_errors_name_the_file(tmp_path):
    pytest.importorskip("matplotlib")
    (tmp_path / "one.png").write_bytes(b"x")
    for option in ("--out", "--gif", "--png"):
        target = tmp_path / "one.png" / "sub"
        result = run_cli("explain", "conv2d", "--input", "[[1, 2], [3, 4]]", "--kernel",
                         "[[1]]", option, target)
        assert_one_line_error(result, "stridenet explain: error:", f"cannot write {target}")
    for option in ("--out", "--gif", "--png"):  # the temporary file's name, an errno: never
        target = f"/proc/stridenet-{option[2:]}"
        status, out, err = run_cli("explain", "conv2d", "--input", "[[1, 2], [3, 4]]",
                                   "--kernel", "[[1]]", option, target)
        assert_one_line_error((status, out, err), f"cannot write {target}: No such file")
        assert "Errno" not in err and "~" not in err
    status, out, err = run_cli("explain", "edges", "--out", "/proc/stridenet-edges.png")
    assert_one_line_error((status, out, err), "cannot write /proc/stridenet-edges.png: No such")
    assert "Errno" not in err
    status, out, err = run_cli("explain", "edges", "--image", tmp_path / "gone.png")
    assert_one_line_error((status, out, err), "no such image file")
    assert "cannot write" not in err  # a missing photo is not a write error


# ------------------------------------------------------------------------ Ctrl-C
def _interrupt_at_epoch(monkeypatch, stop_epoch):
    """Ctrl-C as epoch ``stop_epoch`` (from 0) begins, raised inside fit as SIGINT is."""
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == stop_epoch:
            raise KeyboardInterrupt

    monkeypatch.setattr("stridenet.cli.train.LogLearningRate.on_epoch_begin", on_epoch_begin,
                        raising=False)


def _history_rows(folder):
    import csv

    with open(folder / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_ctrl_c_during_training_keeps_the_model_history_and_a_marker(tmp_path, monkeypatch):
    _interrupt_at_epoch(monkeypatch, 1)
    status, out, err = run_cli(*QUICK_RUN, "--epochs", 3, "--no-figures", "--out", tmp_path)
    assert_one_line_error((status, out, err), "stridenet train: interrupted",
                          "after 1 of 3 epochs", str(tmp_path), status=130)
    model = sn.models.load_model(tmp_path / "model.safetensors")  # the model so far
    assert model.name == "mnist_cnn"
    assert [row["epoch"] for row in _history_rows(tmp_path)] == ["0"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["interrupted"] is True
    assert metrics["epochs"] == 1 and metrics["epochs_planned"] == 3
    assert metrics["train_loss"] == pytest.approx(float(_history_rows(tmp_path)[0]["loss"]))
    assert "test_accuracy" not in metrics  # never evaluated: no number made up
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv", "metrics.json",
                                                          "model.safetensors"]


def test_ctrl_c_in_the_first_epoch_still_marks_the_run(tmp_path, monkeypatch):
    _interrupt_at_epoch(monkeypatch, 0)
    status, out, err = run_cli(*QUICK_RUN, "--no-figures", "--out", tmp_path)
    assert_one_line_error((status, out, err), "interrupted", "after 0 of 1 epochs",
                          status=130)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["interrupted"] is True and metrics["epochs"] == 0
    assert "train_loss" not in metrics
    sn.models.load_model(tmp_path / "model.safetensors")


def test_ctrl_c_after_training_keeps_the_finished_model(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("stridenet.cli.train.score", interrupted)  # during the test set
    status, out, err = run_cli(*QUICK_RUN, "--epochs", 2, "--no-figures", "--out", tmp_path)
    assert_one_line_error((status, out, err), "interrupted", "after 2 of 2 epochs",
                          status=130)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["interrupted"] is True and metrics["epochs"] == 2
    assert [row["epoch"] for row in _history_rows(tmp_path)] == ["0", "1"]
    sn.models.load_model(tmp_path / "model.safetensors")
