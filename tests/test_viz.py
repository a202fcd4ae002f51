"""stridenet.viz: each figure's content, PNG output, atomic writes, the optional import."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L
from stridenet import viz
from stridenet.viz import _mpl

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

try:  # most tests draw, so it needs matplotlib (the "plot" extra)
    import matplotlib
    from matplotlib.colors import same_color
    from PIL import Image  # Pillow is a dependency of matplotlib
except ImportError:  # pragma: no cover - depends on the environment
    matplotlib = None

needs_mpl = pytest.mark.skipif(matplotlib is None,
                               reason='matplotlib (pip install "stridenet[plot]") is missing')


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError, match=r'pip install "stridenet\[plot\]"'):
        _mpl.require_matplotlib()


def image_axes(fig):
    """Axes that show an image (not colorbars), in drawing order, subfigures included."""
    return [ax for ax in fig.get_axes() if ax.images and ax.get_label() != "<colorbar>"]


def check_png(path, fig, dpi=100):
    with open(path, "rb") as fh:
        assert fh.read(8) == PNG_MAGIC
    with Image.open(path) as img:
        w, h = fig.get_size_inches() * dpi
        assert img.size == (round(w), round(h))
        assert img.format == "PNG"
        # not a blank canvas: the figure drew something
        assert len(set(np.asarray(img.convert("L")).ravel().tolist())) > 2


def tiny_model():
    return sn.Sequential([
        L.Input((8, 8, 1)),
        L.Conv2D(4, 3, padding="same", activation="relu", name="viz_conv_a"),
        L.MaxPooling2D(2, name="viz_pool"),
        L.Conv2D(6, 3, name="viz_conv_b"),
        L.Flatten(name="viz_flatten"),
        L.Dense(3, activation="softmax", name="viz_dense"),
    ])


# -- importing and saving ----------------------------------------------------------------
@needs_mpl
def test_import_is_lazy_and_backend_untouched(tmp_path):
    # MPLBACKEND=svg: if stridenet switched the global backend (matplotlib.use), it would
    # no longer read svg afterwards. get_backend() is asked last, as it imports pyplot.
    code = (
        "import sys, stridenet.viz, numpy as np\n"
        "assert 'matplotlib' not in sys.modules, 'stridenet.viz imported matplotlib'\n"
        f"stridenet.viz.plot_confusion_matrix(np.eye(2), path={str(tmp_path / 'a.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "import matplotlib\n"
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()\n"
    )
    env = {**os.environ, "MPLBACKEND": "svg"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.png").exists()


@needs_mpl
def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "cm.png"
    fig = viz.plot_confusion_matrix(np.eye(3), path=path)
    check_png(path, fig)
    first = path.read_bytes()

    def broken_savefig(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        _mpl.save_png(fig, path)
    assert path.read_bytes() == first  # the old file survives a failed write
    assert sorted(os.listdir(tmp_path)) == ["cm.png"]  # and no temp file is left behind
    umask = os.umask(0)
    os.umask(umask)
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~umask)  # not mkstemp's 0600


# -- history -----------------------------------------------------------------------------
@needs_mpl
def test_plot_history(tmp_path):
    logs = {"loss": [1.0, 0.5, 0.25], "accuracy": [0.6, 0.8, 0.9],
            "val_loss": [1.1, 0.7, 0.4], "val_accuracy": [0.5, 0.7, 0.85]}

    class History:  # what model.fit returns: an object with .history
        history = logs

    fig = viz.plot_history(History(), path=tmp_path / "h.png")
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    for ax, name in zip(axes, ["loss", "accuracy"]):
        train, val = ax.get_lines()
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "validation"]
        np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
        np.testing.assert_allclose(train.get_ydata(), logs[name])
        np.testing.assert_allclose(val.get_ydata(), logs["val_" + name])
        assert ax.get_xlabel() == "epoch"
    check_png(tmp_path / "h.png", fig)


@needs_mpl
def test_plot_history_dict_forms_and_errors():
    fig = viz.plot_history({"accuracy": [0.1, 0.2], "loss": [2.0, 1.0], "lr": [0.1, 0.1]})
    assert [ax.get_title() for ax in fig.get_axes()] == ["loss", "accuracy", "learning rate"]
    assert all(len(ax.get_lines()) == 1 for ax in fig.get_axes())  # no validation curves
    with pytest.raises(ValueError, match="no epochs"):
        viz.plot_history({"loss": []})
    with pytest.raises(ValueError, match=r"history\['loss'\] must be a 1-D list"):
        viz.plot_history({"loss": ["a", "b"]})
    with pytest.raises(TypeError, match="History"):
        viz.plot_history([1.0, 0.5])


def visible_xticks(ax):
    lo, hi = sorted(ax.get_xlim())
    return [float(t) for t in ax.get_xticks() if lo <= t <= hi]


@needs_mpl
@pytest.mark.parametrize("epochs", [1, 3, 30])
def test_plot_history_epoch_ticks_are_whole_epochs(epochs):
    logs = {"loss": list(np.linspace(1, 0.1, epochs)), "val_loss": [0.5] * epochs}
    for ax in viz.plot_history(logs).get_axes():
        ticks = visible_xticks(ax)
        assert ticks and all(t.is_integer() for t in ticks), ticks
        if epochs <= 3:
            assert ticks == list(range(1, epochs + 1))  # every epoch, nothing in between


@needs_mpl
def test_plot_history_single_epoch_point_is_visible():
    fig = viz.plot_history({"loss": [0.52], "val_loss": [0.61], "accuracy": [0.8],
                            "learning_rate": [0.001]})
    for ax in fig.get_axes():
        lo, hi = ax.get_xlim()
        assert lo < 0.8 and hi > 1.2  # the point is inside the panel, not on its edge
        ylo, yhi = ax.get_ylim()
        for line in ax.get_lines():
            assert line.get_markersize() >= 8
            (y,) = line.get_ydata()
            assert ylo + 0.1 * (yhi - ylo) < y < yhi - 0.1 * (yhi - ylo)
    loss = fig.get_axes()[0]
    assert sorted(t.get_text() for t in loss.texts) == ["0.52", "0.61"]  # values written


@needs_mpl
def test_plot_history_learning_rate_panel_has_no_train_legend():
    logs = {"learning_rate": [1e-3, 1e-4, 1e-5], "loss": [1.0, 0.5, 0.3],
            "val_loss": [1.2, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.8]}
    axes = viz.plot_history(logs).get_axes()
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy", "learning rate"]
    loss, accuracy, lr = axes
    assert [t.get_text() for t in loss.get_legend().get_texts()] == ["train", "validation"]
    assert [t.get_text() for t in accuracy.get_legend().get_texts()] == ["train"]
    assert lr.get_legend() is None and lr.get_ylabel() == "learning rate"
    assert all(line.get_label().startswith("_") for line in lr.get_lines())  # no "train"
    np.testing.assert_allclose(lr.get_lines()[0].get_ydata(), logs["learning_rate"])
    assert lr.get_yscale() == "log"  # it decays by orders of magnitude
    flat = viz.plot_history({"loss": [1.0, 0.5], "lr": [0.1, 0.1]}).get_axes()[1]
    assert flat.get_yscale() == "linear" and flat.get_legend() is None


# -- confusion matrix --------------------------------------------------------------------
@needs_mpl
def test_plot_confusion_matrix_counts(tmp_path):
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 4]])
    fig = viz.plot_confusion_matrix(cm, class_names=["cat", "dog", "eel"], path=tmp_path / "c.png")
    assert len(fig.get_axes()) == 2  # heatmap and colorbar
    ax = image_axes(fig)[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), cm)
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in ax.texts}
    assert {k: t.get_text() for k, t in texts.items()} == {
        (i, j): str(cm[i, j]) for i in range(3) for j in range(3)}
    assert same_color(texts[(1, 1)].get_color(), "white")  # the darkest cell
    assert same_color(texts[(0, 2)].get_color(), "black")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "eel"]
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"
    check_png(tmp_path / "c.png", fig)


@needs_mpl
def test_plot_confusion_matrix_normalized():
    cm = np.array([[3, 1], [0, 0]])  # an empty row stays 0 instead of NaN
    ax = image_axes(viz.plot_confusion_matrix(cm, normalize=True))[0]
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25], [0, 0]])
    assert sorted(t.get_text() for t in ax.texts) == ["0.00", "0.00", "0.25", "0.75"]
    ax = image_axes(viz.plot_confusion_matrix(np.array([[3, 1], [1, 0]]), normalize="pred"))[0]
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 1], [0.25, 0]])


@needs_mpl
@pytest.mark.parametrize("cm, kwargs, match", [
    (np.ones((2, 3)), {}, "square"),
    (-np.eye(2), {}, "non-negative"),
    (np.eye(2), {"class_names": ["a"]}, "class_names has 1 names"),
    (np.eye(2), {"normalize": "rows"}, "normalize must be"),
])
def test_plot_confusion_matrix_errors(cm, kwargs, match):
    with pytest.raises(ValueError, match=match):
        viz.plot_confusion_matrix(cm, **kwargs)


# -- predictions grid --------------------------------------------------------------------
@needs_mpl
def test_plot_predictions_marks_mistakes_in_red(tmp_path, rng):
    images = rng.integers(0, 256, size=(10, 6, 6), dtype=np.uint8)
    y_true = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    y_pred = np.array([0, 1, 5, 3, 4, 5, 0, 7, 8, 9])  # 2 and 6 are wrong
    probs = np.full((10, 10), 0.05)
    probs[np.arange(10), y_pred] = 0.55
    fig = viz.plot_predictions(images, y_true, y_pred, probs=probs, n=8,
                               path=tmp_path / "p.png")
    axes = image_axes(fig)
    assert len(axes) == 8
    titles = [ax.title.get_text() for ax in axes]
    assert titles[:3] == ["0 (0) 55%", "1 (1) 55%", "5 (2) 55%"]
    red = [same_color(ax.title.get_color(), "red") for ax in axes]
    assert red == [False, False, True, False, False, False, True, False]
    assert same_color(axes[2].spines["left"].get_edgecolor(), "red")
    np.testing.assert_array_equal(axes[0].images[0].get_array(), images[0])
    check_png(tmp_path / "p.png", fig)


@needs_mpl
def test_plot_predictions_only_errors_and_names(rng):
    images = rng.random((12, 5, 5, 1))  # (N, H, W, 1) is shown as gray
    y_true = np.arange(12) % 3
    y_pred = y_true.copy()
    y_pred[[1, 4, 10]] = (y_pred[[1, 4, 10]] + 1) % 3
    fig = viz.plot_predictions(images, y_true, y_pred, class_names=["a", "b", "c"],
                               only_errors=True)
    axes = image_axes(fig)
    assert [ax.title.get_text() for ax in axes] == ["c (b)", "c (b)", "c (b)"]
    assert all(same_color(ax.title.get_color(), "red") for ax in axes)
    assert axes[0].images[0].get_array().shape == (5, 5)
    none = viz.plot_predictions(images, y_true, y_true, only_errors=True)
    assert image_axes(none) == [] and "no misclassified" in none.get_suptitle()
    rgb = viz.plot_predictions(rng.random((2, 4, 4, 3)) * 5 - 2, [0, 1], [0, 1])
    shown = image_axes(rgb)[0].images[0].get_array()
    assert shown.shape == (4, 4, 3) and shown.min() >= 0 and shown.max() <= 1


@needs_mpl
@pytest.mark.parametrize("kwargs, error, match", [
    ({"images": np.zeros((3, 4, 4))}, ValueError, "same length"),
    ({"images": np.zeros((4, 4))}, ValueError, r"images must have shape"),
    ({"n": 0}, ValueError, "n must be a positive int"),
    ({"probs": np.ones((4, 2))}, ValueError, r"probs must have shape \(N, K\)"),
    ({"class_names": ["a", "b"]}, ValueError, "class_names"),
])
def test_plot_predictions_errors(kwargs, error, match):
    args = {"images": np.zeros((4, 4, 4)), "y_true": [0, 1, 2, 3], "y_pred": [0, 1, 2, 2]}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        viz.plot_predictions(**args)


# -- filters -----------------------------------------------------------------------------
@needs_mpl
def test_plot_filters_gray_per_filter_normalised(tmp_path, rng):
    kernel = rng.normal(size=(3, 3, 2, 5))
    fig = viz.plot_filters(kernel, path=tmp_path / "f.png")
    axes = image_axes(fig)
    assert [ax.get_title() for ax in axes] == ["0", "1", "2", "3", "4"]
    for f, ax in enumerate(axes):
        shown = np.asarray(ax.images[0].get_array())
        mean = kernel[..., f].mean(axis=-1)  # channels averaged
        expected = (mean - mean.min()) / (mean.max() - mean.min())
        np.testing.assert_allclose(shown, expected)
    check_png(tmp_path / "f.png", fig)


@needs_mpl
def test_plot_filters_rgb_layer_and_limits(rng):
    kernel = rng.normal(size=(5, 5, 3, 4))
    axes = image_axes(viz.plot_filters(kernel))
    assert len(axes) == 4 and axes[0].images[0].get_array().shape == (5, 5, 3)
    shown = np.asarray(axes[1].images[0].get_array())
    assert shown.min() == 0 and shown.max() == 1  # scaled per filter over all channels
    model = tiny_model()
    from_model = image_axes(viz.plot_filters(model))  # the first 4-D weight: viz_conv_a
    assert len(from_model) == 4
    from_layer = image_axes(viz.plot_filters(model.get_layer("viz_conv_b"), max_filters=3))
    assert len(from_layer) == 3
    one_d = image_axes(viz.plot_filters(rng.normal(size=(5, 2, 3))))  # (K, C_in, F)
    assert one_d[0].images[0].get_array().shape == (1, 5)
    flat = image_axes(viz.plot_filters(np.zeros((3, 3, 1, 1))))
    np.testing.assert_array_equal(flat[0].images[0].get_array(), np.full((3, 3), 0.5))
    with pytest.raises(ValueError, match=r"kernel must have shape"):
        viz.plot_filters(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="no convolution kernel"):
        viz.plot_filters(model.get_layer("viz_dense"))


# -- feature maps ------------------------------------------------------------------------
@needs_mpl
def test_plot_feature_maps_sequential(tmp_path, rng):
    model = tiny_model()
    image = rng.random((8, 8)).astype(np.float32)
    fig = viz.plot_feature_maps(model, image, path=tmp_path / "m.png")
    assert len(image_axes(fig)) == 1 + 4 + 6  # the input, then every channel of each conv
    titles = [sub.get_suptitle() for sub in fig.subfigs]
    assert titles == ["input 8x8x1", "viz_conv_a: 8x8x4", "viz_conv_b: 2x2x6"]
    # the maps are the layers' outputs, computed here one layer after another
    a = model.get_layer("viz_conv_a")(image[None, ..., None]).numpy()
    b = model.get_layer("viz_conv_b")(model.get_layer("viz_pool")(a)).numpy()
    maps = [np.asarray(ax.images[0].get_array()) for ax in image_axes(fig)[1:]]
    for c in range(4):
        np.testing.assert_allclose(maps[c], a[0, :, :, c], rtol=1e-6)
    for c in range(6):
        np.testing.assert_allclose(maps[4 + c], b[0, :, :, c], rtol=1e-6)
    check_png(tmp_path / "m.png", fig)
    # the hooks are gone: the layers' own call is back
    assert all("call" not in layer.__dict__ for layer in model.layers)


@needs_mpl
def test_plot_feature_maps_choices_and_errors(rng):
    model = tiny_model()
    image = rng.random((1, 8, 8, 1)).astype(np.float32)
    fig = viz.plot_feature_maps(model, image, layer_names=["viz_conv_a", "viz_dense"],
                                max_maps=2)
    assert [sub.get_suptitle() for sub in fig.subfigs][1:] == [
        "viz_conv_a: 8x8x4, first 2 of 4 channels", "viz_dense: 3"]
    assert len(image_axes(fig)) == 1 + 2 + 1
    probs = model.predict(image)
    np.testing.assert_allclose(image_axes(fig)[-1].images[0].get_array(), probs, rtol=1e-6)
    with pytest.raises(ValueError, match="no layer named"):
        viz.plot_feature_maps(model, image, layer_names=["nope"])
    with pytest.raises(ValueError, match="image must be one image"):
        viz.plot_feature_maps(model, np.zeros((2, 8, 8, 1), np.float32))
    with pytest.raises(ValueError, match="no convolution layer"):
        dense_only = sn.Sequential([L.Input((4,)), L.Dense(2, name="viz_only_dense")])
        viz.plot_feature_maps(dense_only, np.zeros((1, 4), np.float32)[0:1, None, None, :])


@needs_mpl
def test_plot_feature_maps_functional_model(rng):
    inputs = L.Input((6, 6, 3))
    left = L.Conv2D(2, 3, padding="same", name="viz_fn_left")(inputs)
    right = L.Conv2D(2, 1, name="viz_fn_right")(inputs)
    merged = L.Add(name="viz_fn_add")([left, right])
    outputs = L.Dense(2, name="viz_fn_out")(L.Flatten(name="viz_fn_flat")(merged))
    model = sn.Model(inputs, outputs)
    image = rng.random((6, 6, 3)).astype(np.float32)
    acts = viz.capture_activations(model, image[None], [model.get_layer("viz_fn_left"),
                                                        model.get_layer("viz_fn_right"),
                                                        model.get_layer("viz_fn_add")])
    np.testing.assert_allclose(acts["viz_fn_add"], acts["viz_fn_left"] + acts["viz_fn_right"],
                               rtol=1e-6)
    fig = viz.plot_feature_maps(model, image)
    assert len(image_axes(fig)) == 1 + 2 + 2
    assert image_axes(fig)[0].images[0].get_array().shape == (6, 6, 3)  # RGB input


# -- titles and layout -------------------------------------------------------------------
def test_grid_shape_leaves_few_empty_slots():
    assert _mpl.grid_shape(32) == (4, 8)  # not 6x6 with four empty
    assert _mpl.grid_shape(30) == (5, 6) and _mpl.grid_shape(16) == (4, 4)
    assert _mpl.grid_shape(3, max_cols=3) == (1, 3) and _mpl.grid_shape(1) == (1, 1)
    assert _mpl.grid_shape(7, ncols=2) == (4, 2)  # an explicit column count is kept


@needs_mpl
def test_titles_say_what_is_shown(rng):
    cm = np.array([[3, 1], [1, 2]])
    titles = [image_axes(viz.plot_confusion_matrix(cm, normalize=how))[0].get_title()
              for how in ("true", "pred", "all")]
    assert titles == ["Confusion matrix (each row sums to 1)",
                      "Confusion matrix (each column sums to 1)",
                      "Confusion matrix (the whole matrix sums to 1)"]
    y_true, y_pred = np.arange(6) % 3, np.array([1, 1, 1, 0, 1, 0])  # 0, 2 and 5 wrong
    probs = np.eye(3)[y_pred]
    fig = viz.plot_predictions(np.zeros((6, 4, 4)), y_true, y_pred, probs=probs, n=2,
                               only_errors=True)
    assert fig.get_suptitle() == ("2 of the 3 misclassified images (of 6) - title: predicted "
                                  "(true) probability of the prediction")
    fig = viz.plot_predictions(np.zeros((6, 4, 4)), y_true, y_pred)
    assert fig.get_suptitle() == "6 of 6 images - title: predicted (true); 3 wrong, in red"
    model = tiny_model()
    assert viz.plot_filters(model).get_suptitle().startswith("viz_conv_a: 4 of 4 filters")
    assert viz.plot_filters(rng.normal(size=(3, 3, 1, 2))).get_suptitle() == \
        "2 of 2 filters, 3x3"


@needs_mpl
def test_feature_maps_name_constant_channels():
    model = tiny_model()
    conv = model.get_layer("viz_conv_a")
    kernel, bias = conv.get_weights()
    kernel[..., 1] = 0.0  # channel 1 sees nothing: relu(0 + bias)
    bias[1] = 0.0
    conv.set_weights([kernel, bias])
    fig = viz.plot_feature_maps(model, np.random.default_rng(0).random((8, 8)),
                                layer_names="viz_conv_a")
    titles = [ax.get_title() for ax in image_axes(fig)[1:]]
    assert titles[1] == "1 (all 0)" and titles[0] == "0"
