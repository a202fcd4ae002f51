"""``stridenet explore MODEL_FILE [--images N] [--out explore.html]``: the explorer page.

The images are the first N test images of the dataset the model was trained on: the one
named by ``--dataset``, else the ``dataset`` in the run folder's metrics.json, else the
dataset whose images have the model's input shape (MNIST's 28x28x1 is the default).
``stridenet train`` writes the same page into its run folder (``write_explorer``).
"""

from __future__ import annotations

import json
import os
import sys

from .common import (
    DATASETS,
    CLIError,
    check_input_shape,
    dataset_names,
    load_dataset,
    load_model_file,
)

DEFAULT_IMAGES = 10
EXPLORE_FILE = "explore.html"


def add_explore_parser(sub) -> None:
    from . import _positive_int

    ex = sub.add_parser("explore", help="write an interactive HTML page of a model's "
                        "feature maps", description="Write one self-contained HTML page "
                        "(no network needed) showing every feature map of a saved model for "
                        "a few test images; hover over a cell to see how it was computed.")
    ex.add_argument("model_file", metavar="MODEL_FILE", help="a file written by model.save")
    ex.add_argument("--images", type=_positive_int, default=DEFAULT_IMAGES, metavar="N",
                    help=f"test images to embed (default: {DEFAULT_IMAGES})")
    ex.add_argument("--dataset", default=None, metavar="DATASET",
                    help=f"where the images come from, one of {dataset_names()} (default: "
                    "the run's dataset, from metrics.json beside the model)")
    ex.add_argument("--out", default=None, metavar="FILE",
                    help=f"the page to write (default: {EXPLORE_FILE} beside MODEL_FILE)")
    ex.set_defaults(func=cmd_explore)


def _run_dataset(model_file: str) -> str | None:
    path = os.path.join(os.path.dirname(os.path.abspath(model_file)), "metrics.json")
    try:
        with open(path, encoding="utf-8") as f:
            name = json.load(f).get("dataset")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name.lower() in DATASETS else None


def write_explorer(folder, model, x, y, class_names, count: int = DEFAULT_IMAGES):
    """Write ``folder/explore.html`` for the first ``count`` images; returns its path, or
    None (with a note on stderr) when the page cannot be made for this model."""
    from ..explain import explore

    path = os.path.join(folder, EXPLORE_FILE)
    try:
        page = explore(model, x[:count], labels=y[:count], class_names=class_names)
    except (TypeError, ValueError) as err:
        print(f"note: no {EXPLORE_FILE}: {err}", file=sys.stderr)
        return None
    return page.save(path)


def cmd_explore(args) -> int:
    from ..explain import explore

    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.model_file)),
                                   EXPLORE_FILE)
    if os.path.isdir(out):
        raise CLIError(f"--out {out} is a folder; give a file name such as {EXPLORE_FILE}")
    model = load_model_file(args.model_file)
    name = args.dataset or _run_dataset(args.model_file) or "mnist"
    key, _, (x_test, y_test), class_names = load_dataset(name)
    check_input_shape(model, x_test, f"{key} images")
    try:
        page = explore(model, x_test[:args.images], labels=y_test[:args.images],
                       class_names=class_names)
    except (TypeError, ValueError) as err:
        raise CLIError(f"{err} ({key} test images)") from None
    try:
        page.save(out)
    except OSError as err:
        raise CLIError(f"cannot write {out}: {err.strerror or err}") from None
    print(f"wrote {out}: {page.images} {key} test image(s), {len(page.meta['nodes']) - 1} "
          f"layers, {page.size / 1e6:.2f} MB")
    for note in page.notes:
        print(f"note: {note}")
    return 0


__all__ = ["DEFAULT_IMAGES", "EXPLORE_FILE", "add_explore_parser", "cmd_explore",
           "write_explorer"]
