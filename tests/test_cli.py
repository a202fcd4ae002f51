"""The ``stridenet`` command line end to end, in-process, on small MNIST subsets."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys

import numpy as np
import pytest

import stridenet as sn
from stridenet import cli

pytest.importorskip("safetensors")
PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402 - after the skip

# A short run (about 3,000 image passes) that a working pipeline passes comfortably and
# a broken one (labels out of step with images, garbled augmentation, a dead optimizer)
# cannot: it measured 92.6% test accuracy on the first 1,000 test images.
SMALL_RUN = ["--limit", "1500", "--epochs", "2", "--batch-size", "32", "--test-limit", "1000"]
MIN_ACCURACY = 0.85


def run_cli(*argv):
    """``(status, stdout, stderr)`` of ``stridenet argv...`` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def assert_one_line_error(result, *fragments):
    status, out, err = result
    assert status == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small training run shared by the tests: (folder, status, stdout, stderr)."""
    folder = tmp_path_factory.mktemp("cli") / "run"
    status, out, err = run_cli("train", "mnist", *SMALL_RUN, "--out", folder)
    return folder, status, out, err


def _digit_png(path, index, size=(300, 240)):
    """MNIST test image ``index`` as a large dark-on-light PNG, the way a user draws one."""
    _, (x_test, y_test) = sn.datasets.mnist.load_data()
    big = Image.fromarray(255 - x_test[index]).resize((size[1] // 2, size[1] // 2),
                                                      Image.Resampling.BICUBIC)
    page = Image.new("L", (size[1], size[0]), 255)
    page.paste(big, (size[1] // 4, size[0] // 5))
    page.save(path)
    return int(y_test[index])


# ------------------------------------------------------------------------------- train
def test_train_reaches_accuracy_and_reports_speed(trained):
    folder, status, out, err = trained
    assert status == 0, err
    assert "Traceback" not in err
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["test_accuracy"] > MIN_ACCURACY
    assert metrics["test_images"] == 1000 and metrics["train_images"] == 1500
    assert metrics["epochs"] == 2 and metrics["seed"] == cli.DEFAULT_SEED
    assert metrics["dataset"] == "mnist" and metrics["model"] == "mnist_cnn"
    assert metrics["wall_time_s"] >= metrics["train_time_s"] > 0
    assert metrics["train_images_per_s"] == pytest.approx(
        2 * 1500 / metrics["train_time_s"], rel=1e-6)
    assert 0 < metrics["test_loss"] < 1
    # the per-class report: every digit, with precision/recall/F1 and the support counts
    report = metrics["per_class"]
    assert [report[str(d)]["support"] for d in range(10)] == \
        np.bincount(sn.datasets.mnist.load_data()[1][1][:1000], minlength=10).tolist()
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert all(0 <= report[str(d)][m] <= 1 for d in range(10)
               for m in ("precision", "recall", "f1-score"))
    # the closing lines state the measured numbers
    assert f"test accuracy {100 * metrics['test_accuracy']:.2f}%" in out
    assert f"{metrics['train_images_per_s']:,.0f} training images/s" in out
    assert "wall time" in out
    assert "Epoch 2/2" in out and "━" in out  # the Keras-style progress bar


def test_run_folder_holds_real_files(trained):
    folder, status, _, _ = trained
    assert status == 0
    names = {p.name for p in folder.iterdir()}
    assert {"model.safetensors", "history.csv", "metrics.json", *cli.FIGURE_FILES} <= names
    assert not [n for n in names if n.endswith((".tmp", ".part"))]  # no leftovers
    with open(folder / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert {"loss", "accuracy", "learning_rate"} <= set(rows[0])
    assert float(rows[1]["loss"]) < float(rows[0]["loss"])
    # the schedule is past its peak and decaying by the last epoch
    assert float(rows[1]["learning_rate"]) < float(rows[0]["learning_rate"])
    for name in cli.FIGURE_FILES:
        with Image.open(folder / name) as im:
            im.load()
            assert im.format == "PNG"
            width, height = im.size
            pixels = np.asarray(im.convert("L"), dtype=np.float64)
        assert width >= 300 and height >= 250, (name, im.size)
        assert pixels.std() > 5, f"{name} is blank"


def test_saved_model_reloads_and_evaluate_agrees(trained):
    folder, status, _, _ = trained
    assert status == 0
    model = sn.models.load_model(folder / "model.safetensors")
    assert model.name == "mnist_cnn" and model.count_params() == 484_714
    status, out, err = run_cli("evaluate", folder / "model.safetensors", "mnist",
                               "--limit", 1000)
    assert status == 0, err
    metrics = json.loads((folder / "metrics.json").read_text())
    assert f"accuracy {100 * metrics['test_accuracy']:.2f}%" in out
    assert f"loss {metrics['test_loss']:.4f}" in out
    assert "precision" in out and "weighted avg" in out


def test_predict_reads_pictures_of_any_size(trained, tmp_path):
    folder, status, _, _ = trained
    assert status == 0
    paths, labels = [], []
    for i, index in enumerate((0, 1, 2)):  # a 7, a 2 and a 1
        path = tmp_path / f"digit{i}.png"
        labels.append(_digit_png(path, index, size=(300 + 50 * i, 240)))
        paths.append(path)
    jpeg = tmp_path / "digit.jpg"
    Image.open(paths[0]).convert("RGB").save(jpeg, quality=90)
    status, out, err = run_cli("predict", folder / "model.safetensors", *paths, jpeg)
    assert status == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 4
    for line, path, label in zip(lines, [*paths, jpeg], [*labels, labels[0]]):
        assert line.startswith(f"{path}: {label} (")
        assert "top 3:" in line and line.count("%") == 4


def test_same_seed_same_run(tmp_path):
    args = ["train", "mnist", "--limit", 96, "--epochs", 1, "--test-limit", 64,
            "--batch-size", 32, "--no-figures"]
    results = []
    for name in ("a", "b", "c"):
        seed = 5 if name != "c" else 6
        status, _, err = run_cli(*args, "--seed", seed, "--out", tmp_path / name)
        assert status == 0, err
        results.append(sn.models.load_model(tmp_path / name / "model.safetensors")
                       .get_weights())
    for wa, wb in zip(results[0], results[1]):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(results[0][0], results[2][0])  # another seed, other weights


def test_augment_trains_the_plain_model(tmp_path):
    args = cli.build_parser().parse_args(["train", "mnist"])
    cli.train._apply_recipe(args, "mnist")  # the dataset's defaults fill what was left out
    assert args.augment is True  # on by default for images
    status, out, err = run_cli("train", "mnist", "--limit", 64, "--epochs", 1,
                               "--test-limit", 32, "--augment", "--no-figures",
                               "--out", tmp_path)
    assert status == 0, err
    assert "augmented" in out
    model = sn.models.load_model(tmp_path / "model.safetensors")
    assert model.name == "mnist_cnn" and len(model.layers) == 9  # no augmentation layers
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["augment"] is True
    assert not [name for name in metrics["files"] if name.endswith(".png")]
    assert not list(tmp_path.glob("*.png"))  # --no-figures
    status, out, err = run_cli("train", "mnist", "--limit", 64, "--epochs", 1,
                               "--test-limit", 32, "--no-augment", "--no-figures",
                               "--out", tmp_path / "plain")
    assert status == 0, err
    assert "augmented" not in out
    assert json.loads((tmp_path / "plain" / "metrics.json").read_text())["augment"] is False


def test_without_matplotlib_the_figures_are_skipped(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # "import matplotlib" now fails
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli("train", "mnist", "--limit", 64,
                               "--epochs", 1, "--test-limit", 32)
    assert status == 0, err
    assert err.count("matplotlib") == 1 and "skipping the figures" in err
    (folder,) = (tmp_path / "runs").iterdir()  # the default runs/DATASET-MODEL-TIMESTAMP
    assert folder.name.startswith("mnist-mnist_cnn-")
    names = {p.name for p in folder.iterdir()}
    # no PNGs; the explorer page needs no matplotlib, so it is still written
    assert names == {"model.safetensors", "history.csv", "metrics.json", "explore.html"}
    assert "test accuracy" in out


def test_learning_rate_schedule_shape():
    schedule = cli.learning_rate_schedule(1000, peak=2e-3)
    assert schedule(0) == pytest.approx(1e-4)  # warm-up starts at peak / 20
    assert schedule(100) == pytest.approx(2e-3)  # the peak after a tenth of the steps
    assert schedule(50) == pytest.approx((1e-4 + 2e-3) / 2)
    assert schedule(550) == pytest.approx(2e-3 * (0.99 * 0.5 + 0.01))  # half-way down
    assert schedule(1000) == pytest.approx(2e-5)  # ends at peak / 100
    rates = [schedule(s) for s in range(100, 1001)]
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    with pytest.raises(ValueError, match="total_steps"):
        cli.learning_rate_schedule(0)


# ------------------------------------------------------------------ other commands
def test_summary_prints_the_spec_table():
    status, out, _ = run_cli("summary", "mnist_cnn")
    assert status == 0
    assert "(None, 28, 28, 32)" in out and "484,714" in out and "FLOPs" not in out
    status, out, _ = run_cli("summary", "mnist_cnn", "--compute")
    assert status == 0 and "FLOPs" in out and "Receptive field" in out


def test_explain_is_wired_in():
    status, out, _ = run_cli("explain", "output-size", "--n", 28, "--kernel", 5,
                             "--padding", "same")
    assert status == 0 and "out =" in out
    status, _, err = run_cli("explain", "conv2d", "--input", "[[1, 2", "--kernel", "[[1]]")
    assert status == 2 and "must be JSON" in err


def test_version_and_help():
    status, out, _ = run_cli("--version")
    assert status == 0 and out.strip() == f"stridenet {sn.__version__}"
    status, out, _ = run_cli("--help")
    assert status == 0
    for command in ("train", "evaluate", "predict", "summary", "explain"):
        assert command in out


# ------------------------------------------------------------------------ errors
def test_unknown_dataset_and_model():
    assert_one_line_error(run_cli("train", "cifar10"), "stridenet train: error:",
                          "unknown dataset 'cifar10'", "mnist", "fashion_mnist")
    assert_one_line_error(run_cli("train", "mnist", "--model", "vgg16"),
                          "unknown model 'vgg16'", "mnist_cnn", "lenet5", "resnet20")
    assert_one_line_error(run_cli("summary", "vgg16"), "stridenet summary: error:",
                          "unknown model 'vgg16'", "small_inception")
    assert_one_line_error(run_cli("evaluate", "model.safetensors", "svhn"),
                          "unknown dataset 'svhn'")


def test_missing_files(tmp_path):
    missing = tmp_path / "nothing.safetensors"
    assert_one_line_error(run_cli("evaluate", missing, "mnist"), "no such model file",
                          str(missing))
    assert_one_line_error(run_cli("predict", missing, tmp_path / "x.png"),
                          "no such model file")


def test_corrupt_model_files(trained, tmp_path):
    folder, status, _, _ = trained
    assert status == 0
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    assert_one_line_error(run_cli("evaluate", garbage, "mnist"), "not a stridenet file")
    data = (folder / "model.safetensors").read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    assert_one_line_error(run_cli("predict", cut, tmp_path / "x.png"), "cut.safetensors")
    flipped = bytearray(data)
    flipped[-100] ^= 0xFF  # one weight byte changed: the checksum catches it
    bad = tmp_path / "flipped.safetensors"
    bad.write_bytes(bytes(flipped))
    assert_one_line_error(run_cli("evaluate", bad, "mnist"), "SHA-256")


def test_model_for_other_images(tmp_path):
    path = tmp_path / "rgb.safetensors"
    sn.zoo.resnet20().save(path)  # built for 32x32 RGB
    assert_one_line_error(run_cli("evaluate", path, "mnist", "--limit", 8),
                          "expects inputs 32x32x3", "28x28x1")


def test_bad_images(trained, tmp_path):
    folder, status, _, _ = trained
    assert status == 0
    model = folder / "model.safetensors"
    assert_one_line_error(run_cli("predict", model, tmp_path / "gone.png"),
                          "stridenet predict: error:", "no such image file", "gone.png")
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture")
    assert_one_line_error(run_cli("predict", model, text), "cannot read image", "notes.png")
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    assert_one_line_error(run_cli("predict", model, blank), "blank.png", "no digit found")


def test_predict_without_pillow(trained, monkeypatch, tmp_path):
    folder, status, _, _ = trained
    assert status == 0
    Image.new("L", (64, 64), 255).save(tmp_path / "digit.png")
    monkeypatch.setitem(sys.modules, "PIL", None)
    assert_one_line_error(run_cli("predict", folder / "model.safetensors",
                                  tmp_path / "digit.png"), "needs Pillow", "pip install")


def test_usage_errors_exit_2():
    for argv in (("train",), ("train", "mnist", "--epochs", "0"),
                 ("train", "mnist", "--batch-size", "many"), ("predict", "model.safetensors"),
                 ("frobnicate",), ()):
        status, _, err = run_cli(*argv)
        assert status == 2, argv
        assert "Traceback" not in err and "usage:" in err


def test_bad_split_out_path_and_class_count_are_one_line_errors(tmp_path):
    assert_one_line_error(run_cli("train", "mnist", "--limit", "1", "--validation-split",
                                  "0.5", "--out", tmp_path / "r"),
                          "leaves 0 to train on")
    (tmp_path / "file").write_text("not a folder")
    assert_one_line_error(run_cli("train", "mnist", "--limit", "8", "--epochs", "1",
                                  "--no-figures", "--out", tmp_path / "file"),
                          "is a file, not a folder")
    five = sn.Sequential([sn.layers.Input((28, 28, 1)), sn.layers.Flatten(),
                          sn.layers.Dense(5, activation="softmax")])
    five.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    five.save(tmp_path / "five.safetensors")
    assert_one_line_error(run_cli("evaluate", tmp_path / "five.safetensors", "mnist",
                                  "--limit", "20"), "has 5 outputs but mnist has 10 classes")
