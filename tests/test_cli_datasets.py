"""``stridenet train`` on the series and clip datasets, and under ``mpiexec -n 2``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from test_cli import assert_one_line_error, run_cli

pytest.importorskip("safetensors")


def test_train_synthetic_control_with_its_recipe(tmp_path):
    folder = tmp_path / "sc"
    status, out, err = run_cli("train", "synthetic-control", "--epochs", "3", "--out", folder)
    assert status == 0, err
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["model"] == "fcn1d" and metrics["batch_size"] == 16
    assert metrics["train_images"] == 300 and metrics["test_images"] == 300
    # three epochs of the FCN already separate the six chart classes well
    assert metrics["test_accuracy"] >= 0.9
    # the figures that make sense for series, the explorer page, no image grids
    assert sorted(os.listdir(folder)) == sorted(
        ["model.safetensors", "history.csv", "metrics.json", "history.png",
         "confusion_matrix.png", "explore.html"])
    assert "300 synthetic_control series" in out and "training series/s" in out


def test_train_moving_digits_writes_clip_figures(tmp_path):
    folder = tmp_path / "md"
    status, out, err = run_cli("train", "moving-digits", "--limit", "64", "--test-limit", "32",
                               "--epochs", "1", "--out", folder)
    assert status == 0, err
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["model"] == "c3d_small" and metrics["augment"] is False
    assert {"predictions.png", "confusion_matrix.png", "history.png"} <= set(os.listdir(folder))
    assert "filters.png" not in os.listdir(folder)
    assert "64 moving_digits clips" in out


def test_augmenting_series_is_refused(tmp_path):
    assert_one_line_error(run_cli("train", "synthetic-control", "--augment", "--out",
                                  tmp_path / "x"), "--augment shifts and rotates images")


def test_evaluate_prepares_series_as_training_did(tmp_path):
    folder = tmp_path / "sc"
    assert run_cli("train", "synthetic-control", "--epochs", "2", "--no-figures", "--out",
                   folder)[0] == 0
    status, out, err = run_cli("evaluate", folder / "model.safetensors", "synthetic-control")
    assert status == 0, err
    metrics = json.loads((folder / "metrics.json").read_text())
    assert f"{100 * metrics['test_accuracy']:.2f}%" in out


def test_mpiexec_train_has_one_progress_bar_and_one_run_folder(tmp_path):
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        if os.environ.get("CI"):
            pytest.fail("mpiexec is missing: the MPI tests must run in CI")
        pytest.skip("mpiexec is not installed")
    folder = tmp_path / "run"
    env = {**os.environ, "STRIDENET_NUM_THREADS": "1"}
    done = subprocess.run(
        [mpiexec, "-n", "2", sys.executable, "-m", "stridenet", "train", "mnist", "--model",
         "lenet5", "--limit", "512", "--test-limit", "256", "--epochs", "1", "--out",
         str(folder)], capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Epoch 1/1") == 1  # rank 0 alone prints
    assert done.stdout.count("run folder:") == 1
    assert "data parallel on 2 MPI ranks" in done.stdout
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["test_images"] == 256
    assert os.listdir(tmp_path) == ["run"]  # no second run folder from rank 1
    with open(folder / "history.csv") as f:
        assert len(f.read().splitlines()) == 2  # one header, one epoch: one writer
