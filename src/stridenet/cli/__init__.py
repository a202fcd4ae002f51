"""The ``stridenet`` command line: train, evaluate, predict, summary, explain, explore, export.

    stridenet train mnist                       # the SPEC section 3 CNN, 3 epochs, run folder
    stridenet train fashion-mnist --model lenet5 --epochs 5 --no-augment
    stridenet train moving-digits               # Conv3D on clips; synthetic-control: Conv1D
    mpiexec -n 2 stridenet train mnist          # data parallel: one progress bar, one folder
    stridenet evaluate runs/mnist-mnist_cnn-.../model.safetensors mnist
    stridenet predict model.safetensors digit.png photo.jpg
    stridenet summary mnist_cnn --compute
    stridenet explain conv2d --input "[[1, 2], [3, 4]]" --kernel "[[1, 0], [0, 1]]"

Mistakes a user can make (an unknown dataset or model, a missing or corrupt file, an
unreadable or huge image, a bad STRIDENET_NUM_THREADS) and file-system errors (an
unwritable --out, a full disk) end with one line on stderr and exit status 2, never a
traceback. ``train`` checks its run folder before training and saves the model before
any other file, so a later failure never costs the trained model.
"""

from __future__ import annotations

import argparse
import math
import sys

from .. import __version__
from .commands import cmd_evaluate, cmd_predict, cmd_summary
from .common import DATASETS, CLIError, check_environment, dataset_names
from .run_folder import os_error_message
from .train import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_LEARNING_RATE,
    DEFAULT_SEED,
    FIGURE_FILES,
    cmd_train,
    learning_rate_schedule,
)


def _number(kind, accept, expected: str):
    """An argparse ``type``: ``kind(text)`` that ``accept`` takes, else a clear error."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    return parse


_positive_int = _number(int, lambda v: v > 0, "a positive integer")
_non_negative_int = _number(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _number(float, lambda v: math.isfinite(v) and v > 0, "a positive number")
_fraction = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def build_parser() -> argparse.ArgumentParser:
    from ..explain.cli import add_explain_parser

    parser = argparse.ArgumentParser(
        prog="stridenet", description="Train, evaluate and inspect convolutional networks "
        "written on NumPy.")
    parser.add_argument("--version", action="version", version=f"stridenet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    tr = sub.add_parser("train", help="train a zoo model and write a run folder",
                        description="Train a zoo model on a dataset, evaluate it on the test "
                        "set and write a run folder: model.safetensors, history.csv, "
                        "metrics.json and PNG figures.")
    tr.add_argument("dataset", metavar="DATASET",
                    help=f"one of {dataset_names()}")
    tr.add_argument("--model", default=None,
                    help="a stridenet.zoo model name (default: mnist_cnn for images, "
                    "c3d_small for moving-digits, fcn1d for synthetic-control)")
    tr.add_argument("--epochs", type=_positive_int, default=None,
                    help=f"passes over the training set (default: {DEFAULT_EPOCHS} for "
                    "images, 4 for clips, 12 for series)")
    tr.add_argument("--batch-size", type=_positive_int, default=None,
                    help=f"samples per step (default: {DEFAULT_BATCH_SIZE} for images, 32 "
                    "for clips, 16 for series)")
    tr.add_argument("--lr", type=_positive_float, default=None,
                    help=f"peak Adam learning rate (default: {DEFAULT_LEARNING_RATE:g}; 1e-3 "
                    "for series)")
    tr.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                    help="random shifts (up to ~2 px) and rotations (up to 8 degrees) of "
                    "the training images (default: on for images)")
    tr.add_argument("--seed", type=_non_negative_int, default=DEFAULT_SEED,
                    help=f"seed of every random choice (default: {DEFAULT_SEED})")
    tr.add_argument("--out", default=None, metavar="DIR",
                    help="the run folder (default: runs/DATASET-MODEL-TIMESTAMP)")
    tr.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                    help="train on the first N training images only (quick runs)")
    tr.add_argument("--test-limit", type=_positive_int, default=None, metavar="N",
                    help="evaluate on the first N test images only (quick runs)")
    tr.add_argument("--no-figures", action="store_true",
                    help="write no PNG figures (faster; matplotlib not needed)")
    tr.add_argument("--validation-split", type=_fraction, default=0.0, metavar="F",
                    help="hold out the last fraction F of the training images for "
                    "per-epoch validation (default: 0)")
    tr.set_defaults(func=cmd_train)

    ev = sub.add_parser("evaluate", help="test-set loss, accuracy and per-class report",
                        description="Evaluate a saved model on a dataset's test set.")
    ev.add_argument("model_file", metavar="MODEL_FILE", help="a file written by model.save")
    ev.add_argument("dataset", metavar="DATASET", help=f"one of {dataset_names()}")
    ev.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                    help="evaluate on the first N test images only")
    ev.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser("predict", help="classify PNG/JPEG images of digits",
                        description="Classify images of handwritten digits (PNG/JPEG, any "
                        "size, dark on light or light on dark): each is converted to 28x28 "
                        "grayscale the way MNIST digits were made.")
    pr.add_argument("model_file", metavar="MODEL_FILE", help="a file written by model.save")
    pr.add_argument("images", metavar="IMAGE", nargs="+", help="PNG or JPEG files")
    pr.set_defaults(func=cmd_predict)

    su = sub.add_parser("summary", help="print a zoo model's layer table",
                        description="Print the Keras-style summary of a stridenet.zoo model.")
    su.add_argument("model_name", metavar="MODEL_NAME", help="a stridenet.zoo model name")
    su.add_argument("--compute", action="store_true",
                    help="add FLOPs, receptive field and memory per layer")
    su.set_defaults(func=cmd_summary)

    add_explain_parser(sub)  # its own defaults: func=run_explain
    from .export import add_export_parser

    add_export_parser(sub)  # func=cmd_export
    from .explore import add_explore_parser

    add_explore_parser(sub)  # func=cmd_explore
    return parser


def main(argv=None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help / --version (0) or a usage error (2)
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    try:
        check_environment()
        return args.func(args)
    except CLIError as err:
        print(f"stridenet {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a file the command writes or reads: its path and the reason
        print(f"stridenet {args.command}: error: {os_error_message(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"stridenet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


__all__ = ["DATASETS", "DEFAULT_BATCH_SIZE", "DEFAULT_EPOCHS", "DEFAULT_LEARNING_RATE",
           "DEFAULT_SEED", "FIGURE_FILES", "CLIError", "build_parser", "learning_rate_schedule",
           "main"]
