"""The explorer page in a real browser: Debian's chromium, headless, driven by playwright.

Each page is opened from disk with every request that is not the page file itself
aborted (and recorded), so a page that reached for the network would fail here. The
tests click feature-map cells and compare what the panel shows -- the sums the page
computes from its embedded weights and inputs, and the model value it embeds -- with
the model's own outputs. Screenshots go into the test's tmp dir (and into
$EXPLORE_SHOTS when set). Under CI a missing browser is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import stridenet as sn
from stridenet.explain.explorer import explore
from stridenet.explain.explorer.graph import model_nodes, run_nodes

CHROMIUM = os.environ.get("STRIDENET_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _missing(why: str):
    if os.environ.get("CI"):
        pytest.fail(f"{why}: the browser tests must run in CI")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install playwright)")
    if not os.path.exists(CHROMIUM):
        _missing(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=ARGS, headless=True,
            viewport={"width": 1600, "height": 1000})
        yield ctx
        ctx.close()


class Page:
    """One explorer page open in the browser, with what it logged and requested."""

    def __init__(self, ctx, path):
        self.page = ctx.new_page()
        self.errors, self.requests = [], []
        self.page.on("console", lambda m: m.type in ("error", "warning") and
                     self.errors.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.url = path.as_uri()

        def route(r):
            self.requests.append(r.request.url)
            if r.request.url == self.url:
                r.continue_()
            else:
                r.abort()

        self.page.route("**/*", route)
        self.page.goto(self.url)
        self.page.wait_for_selector("body[data-ready]", timeout=60_000)
        assert self.page.get_attribute("body", "data-ready") == "1", \
            self.page.inner_text("#status")

    def click_cell(self, node, ch, i, j, h, w):
        """Click cell (i, j) of channel ch of node's feature map (h x w)."""
        canvas = self.page.locator(f'canvas[data-node="{node}"][data-ch="{ch}"]')
        if not canvas.is_visible():  # past the first maps of a long layer: unfold it
            self.page.click(f'button.more[data-node="{node}"]')
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        canvas.click(position={"x": (j + 0.5) * box["width"] / w,
                               "y": (i + 0.5) * box["height"] / h})

    def number(self, cls) -> float:
        return float(self.page.get_attribute(f"#panel .{cls}", "data-value"))

    def panel(self) -> str:
        return self.page.inner_text("#panel")

    def shot(self, path, **kw):
        self.page.screenshot(path=str(path), **kw)
        shots = os.environ.get("EXPLORE_SHOTS")
        if shots:
            os.makedirs(shots, exist_ok=True)
            shutil.copy(path, shots)
        return path

    def check_clean(self):
        assert self.errors == []
        assert self.requests == [self.url]  # nothing but the page file itself


@pytest.fixture(scope="module")
def mnist_page(tmp_path_factory):
    """A briefly trained SPEC MNIST CNN and its page for 10 test digits."""
    from stridenet.datasets import mnist

    (xtr, ytr), (xte, yte) = mnist.load_data()
    sn.utils.set_random_seed(0)
    model = sn.zoo.mnist_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit((xtr[:512, ..., None] / 255).astype(np.float32), ytr[:512], batch_size=64,
              epochs=1, verbose=0)
    x = (xte[:10, ..., None] / 255).astype(np.float32)
    path = tmp_path_factory.mktemp("pages") / "mnist_cnn.html"
    explore(model, x, labels=yte[:10]).save(path)
    return path, run_nodes(model, model_nodes(model), x)


def test_mnist_page_loads_offline_without_errors(browser, mnist_page, tmp_path):
    path, nodes = mnist_page
    p = Page(browser, path)
    assert p.page.locator("#images button").count() == 10
    assert p.page.locator('canvas[data-node="1"]').count() == 32  # conv 1: 32 feature maps
    assert p.page.locator('canvas[data-node="3"]').count() == 32  # its max pooling
    visible = 'canvas[data-node="1"]:visible'
    assert p.page.locator(visible).count() == 16  # long layers start folded
    p.page.click('button.more[data-node="1"]')
    assert p.page.locator(visible).count() == 32
    p.check_clean()
    shot = p.shot(tmp_path / "mnist_loaded.png")
    assert os.path.getsize(shot) > 20_000


def test_first_conv_cell_shows_every_term_and_the_model_activation(browser, mnist_page,
                                                                   tmp_path):
    path, nodes = mnist_page
    p = Page(browser, path)
    out = nodes[1].out  # (10, 28, 28, 32)
    for ch, i, j in [(0, 10, 12), (5, 14, 14), (31, 3, 20)]:
        p.click_cell(1, ch, i, j, 28, 28)
        assert f"filter {ch}, out[{i},{j},{ch}]" in p.panel()
        model_value = p.number("model-value")
        assert model_value == float(out[0, i, j, ch])  # the embedded number, exactly
        assert p.number("js-out") == pytest.approx(model_value, rel=1e-5, abs=1e-6)
        eq = p.page.inner_text("#panel .eq")  # the full equation: 25 taps + bias
        assert eq.startswith(f"out[{i},{j},{ch}] = ") and eq.count("*") == 25
        assert p.page.locator('canvas[data-node="0"] + .hlbox .hl-rf').count() == 1
        assert "the model's value" in p.panel()
    p.shot(tmp_path / "mnist_conv1_cell.png")
    p.check_clean()


def test_deeper_conv_cell_sums_every_input_channel(browser, mnist_page, tmp_path):
    path, nodes = mnist_page
    p = Page(browser, path)
    out = nodes[4].out  # conv2d_2: (10, 14, 14, 64), relu of 32 channels x 3x3 taps
    p.click_cell(4, 7, 6, 9, 14, 14)
    rows = p.page.locator("#panel table tr").count()
    assert rows == 1 + 32  # one sum per input channel
    assert p.page.locator('canvas[data-node="3"] + .hlbox .hl-rf').count() == 32
    model_value = p.number("model-value")
    assert model_value == float(out[0, 6, 9, 7])
    assert p.number("js-out") == pytest.approx(model_value, rel=1e-5, abs=1e-6)
    z = p.number("js-sum")
    assert max(z, 0) == pytest.approx(model_value, rel=1e-5, abs=1e-6)
    p.page.click("#panel button[data-full]")  # every term on request
    assert p.page.inner_text("#panel .eq").count("*") == 32 * 9
    p.check_clean()


def test_switching_images_redraws_and_explains_that_image(browser, mnist_page, tmp_path):
    path, nodes = mnist_page
    p = Page(browser, path)
    before = p.page.locator('canvas[data-node="2"][data-ch="4"]').evaluate(
        "c => c.toDataURL()")
    p.page.click('#images button[data-image="3"]')
    assert "on" in p.page.get_attribute('#images button[data-image="3"]', "class")
    after = p.page.locator('canvas[data-node="2"][data-ch="4"]').evaluate("c => c.toDataURL()")
    assert before != after
    p.click_cell(2, 4, 12, 13, 28, 28)
    assert "image 3, filter 4" in p.panel()
    assert p.number("model-value") == float(nodes[2].out[3, 12, 13, 4])
    assert p.number("js-out") == pytest.approx(p.number("model-value"), rel=1e-5, abs=1e-6)
    p.page.click('#images button[data-image="7"]')  # the pinned cell follows the image
    assert "image 7, filter 4" in p.panel()
    assert p.number("model-value") == float(nodes[2].out[7, 12, 13, 4])
    p.shot(tmp_path / "mnist_image7.png")
    p.check_clean()


def test_pool_and_dense_cells(browser, mnist_page, tmp_path):
    path, nodes = mnist_page
    p = Page(browser, path)
    p.click_cell(3, 2, 5, 6, 14, 14)  # max pooling 2x2
    window = nodes[2].out[0, 10:12, 12:14, 2]
    assert p.number("js-out") == p.number("model-value") == float(window.max())
    assert p.page.locator("#panel td.win").count() == 1
    assert p.page.locator('canvas[data-node="2"] + .hlbox .hl-win').count() == 1
    units = p.page.locator('.unit[data-node="9"]')  # the softmax output
    assert units.count() == 10
    units.nth(int(nodes[-1].out[0].argmax())).click()
    probs = nodes[-1].out[0]
    assert p.number("model-value") == float(probs[probs.argmax()])
    assert p.number("js-out") == pytest.approx(float(probs.max()), rel=1e-5)
    assert "largest terms" in p.panel()
    p.shot(tmp_path / "mnist_dense.png")
    p.check_clean()


@pytest.mark.parametrize("name", ["resnet20", "small_inception"])
def test_functional_models_with_branches(browser, tmp_path, name):
    sn.utils.set_random_seed(7)
    model = sn.zoo.get(name)
    x = np.random.default_rng(7).random((2, 32, 32, 3)).astype(np.float32)
    path = tmp_path / f"{name}.html"
    page = explore(model, x)
    page.save(path)
    nodes = run_nodes(model, model_nodes(model), x[:page.images])
    p = Page(browser, path)
    kinds = {"Add", "Concatenate", "BatchNormalization", "ReLU", "Conv2D", "MaxPooling2D",
             "GlobalAveragePooling2D"}
    checked = set()
    for k, node in enumerate(nodes):
        if node.kind not in kinds or node.kind in checked:
            continue
        out = node.out[0]
        if out.ndim == 1:
            p.page.locator(f'.unit[data-node="{k}"]').nth(1).click()
            want = out[1]
        else:
            h, w, c = out.shape
            i, j, ch = h // 2, w // 3, c - 1
            p.click_cell(k, ch, i, j, h, w)
            want = out[i, j, ch]
        assert p.number("model-value") == float(want), node.name
        assert p.number("js-out") == pytest.approx(float(want), rel=1e-4, abs=1e-5), node.name
        checked.add(node.kind)
    assert checked >= ({"Add", "BatchNormalization"} if name == "resnet20" else
                       {"Concatenate", "MaxPooling2D", "GlobalAveragePooling2D"})
    p.shot(tmp_path / f"{name}.png")
    p.check_clean()


def test_hover_previews_click_pins_escape_releases(browser, mnist_page):
    path, nodes = mnist_page
    p = Page(browser, path)
    canvas = p.page.locator('canvas[data-node="1"][data-ch="2"]')
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    at = lambda i, j: (box["x"] + (j + 0.5) * box["width"] / 28,  # noqa: E731
                       box["y"] + (i + 0.5) * box["height"] / 28)
    p.page.mouse.move(*at(4, 5))
    assert "out[4,5,2]" in p.panel()
    p.page.mouse.click(*at(9, 9))
    p.page.mouse.move(*at(20, 21))
    assert "out[9,9,2]" in p.panel()  # pinned: hovering elsewhere keeps the clicked cell
    p.page.keyboard.press("Escape")
    p.page.mouse.move(*at(20, 22))
    assert "out[20,22,2]" in p.panel()
    assert p.number("model-value") == float(nodes[1].out[0, 20, 22, 2])
    p.check_clean()


def test_more_layer_kinds_and_a_layer_it_cannot_explain(browser, tmp_path):
    """Depthwise (grouped) conv, same-padded average pooling, BN, tanh, global max pooling,
    Conv1D with causal padding; ZeroPadding2D is drawn with a note, not explained."""
    L = sn.layers
    sn.utils.set_random_seed(8)
    model = sn.models.Sequential([
        L.Input((9, 9, 2)), L.ZeroPadding2D(1), L.Conv2D(3, 3, strides=2, activation="elu"),
        L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
        L.AveragePooling2D(2, padding="same"), L.BatchNormalization(), L.Activation("tanh"),
        L.GlobalMaxPooling2D(), L.Dense(4, activation="sigmoid")])
    model.layers[4].moving_mean.assign(np.linspace(-1, 1, 6).astype(np.float32))
    x = np.random.default_rng(8).normal(size=(2, 9, 9, 2)).astype(np.float32)
    path = tmp_path / "kinds.html"
    explore(model, x).save(path)
    nodes = run_nodes(model, model_nodes(model), x)
    p = Page(browser, path)
    assert "ZeroPadding2D layers are drawn but not explained" in p.page.inner_text("body")
    for k in range(2, 8):
        out = nodes[k].out[0]
        if out.ndim == 1:
            p.page.locator(f'.unit[data-node="{k}"]').nth(3).click()
            want = out[3]
        else:
            h, w, c = out.shape
            p.click_cell(k, c - 1, h - 1, w - 1, h, w)  # a corner: padding in the window
            want = out[h - 1, w - 1, c - 1]
        assert p.number("model-value") == float(want), nodes[k].name
        assert p.number("js-out") == pytest.approx(float(want), rel=1e-5, abs=1e-6), \
            nodes[k].name
    p.page.locator('.unit[data-node="8"]').nth(2).click()  # dense + sigmoid
    assert p.number("js-out") == pytest.approx(float(nodes[8].out[0, 2]), rel=1e-5)
    p.click_cell(1, 0, 0, 0, 11, 11)  # the opaque layer: its value and a note, no error
    assert p.number("model-value") == 0.0 and "not explained" in p.panel()
    p.check_clean()

    model = sn.models.Sequential([L.Input((16, 2)), L.Conv1D(3, 4, padding="causal",
                                                             dilation_rate=2),
                                  L.MaxPooling1D(3, padding="same"), L.Flatten(), L.Dense(2)])
    x = np.random.default_rng(9).normal(size=(1, 16, 2)).astype(np.float32)
    explore(model, x).save(tmp_path / "conv1d.html")
    nodes = run_nodes(model, model_nodes(model), x)
    p = Page(browser, tmp_path / "conv1d.html")
    for k, w in [(1, 16), (2, 6)]:
        p.click_cell(k, 2, 0, 1, 1, w)
        assert p.number("model-value") == float(nodes[k].out[0, 1, 2])
        assert p.number("js-out") == pytest.approx(p.number("model-value"), rel=1e-5,
                                                   abs=1e-6)
    p.check_clean()


def test_jupyter_iframe_runs_the_page(browser, tmp_path):
    page = explore(sn.zoo.lenet5(), np.zeros((1, 28, 28, 1), np.float32))
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><html><body>{page._repr_html_()}</body></html>",
                    encoding="utf-8")
    p = Page.__new__(Page)
    p.page = browser.new_page()
    errors = []
    p.page.on("pageerror", lambda e: errors.append(str(e)))
    p.page.goto(host.as_uri())
    frame = p.page.frame_locator("iframe")
    frame.locator("body[data-ready='1']").wait_for(timeout=60_000)
    assert frame.locator('canvas[data-node="1"]').count() == 6
    assert errors == []
