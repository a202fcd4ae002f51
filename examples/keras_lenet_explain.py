"""Open a LeNet-5 trained in Keras and explain its first convolution step by step.

    python examples/keras_lenet_explain.py [MODEL.keras] [--filter N] [--html out.html]

The default model is the fixture ``tests/fixtures/keras_lenet.keras``: Keras 3 trained it
(one epoch on 6,000 MNIST digits, see tests/fixtures/make_fixtures.py) and saved it with
``model.save``. stridenet rebuilds the architecture from the archive's config.json, loads
the weights from model.weights.h5 and then traces filter N of the first Conv2D on a test
digit: the padding, the output-size formula, each window's products and sums. The trace's
sums plus the bias, through tanh, are exactly the layer's feature map.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import stridenet as sn
from stridenet import explain

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(FIXTURES / "keras_lenet.keras"))
    parser.add_argument("--filter", type=int, default=0, help="which of the 6 filters")
    parser.add_argument("--html", default=None, help="also write the trace as an HTML page")
    args = parser.parse_args(argv)

    model = sn.models.load_model(args.model)  # a Keras 3 archive, read by stridenet
    model.summary()
    conv = next(layer for layer in model.layers if isinstance(layer, sn.layers.Conv2D))
    digits = np.load(FIXTURES / "keras_lenet_x.npy")  # (8, 28, 28, 1) MNIST test digits
    x = digits[:1]  # (1, 28, 28, 1)
    probs = model.predict(x, verbose=0)[0]
    print(f"\nthe first test digit is read as {probs.argmax()} ({100 * probs.max():.1f}%)")

    k = args.filter
    kernel = conv.kernel.numpy()[..., k]  # (5, 5, 1): filter k of (5, 5, 1, 6)
    bias = float(conv.bias.numpy()[k])
    trace = explain.conv2d(x, kernel, strides=conv.strides, padding=conv.padding,
                           dilation_rate=conv.dilation_rate, bias=bias)
    print(f"\nfilter {k} of {conv.name} ({conv.padding!r} padding), explained:\n")
    print(trace.to_text(sections=("header", "kernel", "size"), max_grid=8))

    # the cell where the filter answers most strongly: on the digit's stroke
    cell = max(trace.cells, key=lambda c: abs(float(c.total)))
    terms = [t for t in cell.terms if float(t.value) != 0]  # the ink the window sees
    sum_text = " + ".join(f"{float(t.weight):.3f}*{float(t.value):.2f}" for t in terms[:6])
    more = f" + ... ({len(terms) - 6} more non-zero terms)" if len(terms) > 6 else ""
    print(f"\nstrongest cell out{list(cell.index)}, window at {cell.origin} of the padded "
          f"image:\n  {sum_text}{more} + bias {float(cell.bias):.4f} = {float(cell.total):.4f}"
          f"\n  tanh -> {np.tanh(float(cell.total)):.4f}")

    # the explained sums, through the layer's activation, are the layer's own output
    feature_map = conv(x).numpy()  # (1, 28, 28, 6): the first layer, called on the digit
    explained = np.tanh(np.asarray(trace.output, dtype=np.float64).reshape(28, 28))
    diff = np.abs(explained - feature_map[0, ..., k]).max()
    print(f"\nmax |tanh(explained) - {conv.name} output| = {diff:.2e}")
    if args.html:
        Path(args.html).write_text(trace.to_html(full_page=True), encoding="utf-8")
        print(f"wrote {args.html}")
    return 0 if diff < 1e-5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
