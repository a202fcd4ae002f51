"""``stridenet evaluate``, ``predict`` and ``summary``."""

from __future__ import annotations

import numpy as np

from .common import (
    EVAL_BATCH_SIZE,
    CLIError,
    build_zoo_model,
    check_input_shape,
    dataset_key,
    load_dataset,
    load_model_file,
    score,
)


def cmd_evaluate(args) -> int:
    from .. import evaluation

    key = dataset_key(args.dataset)
    model = load_model_file(args.model_file)
    key, _, (x_test, y_test), class_names = load_dataset(key)
    if args.limit:
        x_test, y_test = x_test[:args.limit], y_test[:args.limit]
    check_input_shape(model, x_test, f"{key} images")
    outputs = model.predict_on_batch(x_test[:1]).shape[-1]  # before any loss is computed
    if outputs != len(class_names):
        raise CLIError(f"model {model.name!r} has {outputs} outputs but {key} has "
                       f"{len(class_names)} classes")
    probs, loss, accuracy = score(model, x_test, y_test)
    report = evaluation.classification_report(y_test, probs.argmax(axis=-1),
                                              class_names=class_names, zero_division=0)
    print(f"{key} test set ({len(x_test):,} images): loss {loss:.4f}, "
          f"accuracy {100 * accuracy:.2f}%")
    print(evaluation.format_report(report, digits=4), end="")
    return 0


def cmd_predict(args) -> int:
    from ..data import images

    model = load_model_file(args.model_file)
    digits = []
    for path in args.images:
        try:
            digits.append(images.load_digit(path))
        except ImportError as err:
            raise CLIError(str(err)) from None
        except FileNotFoundError:
            raise CLIError(f"no such image file: {path}") from None
        except ValueError as err:  # not an image, truncated, or blank
            raise CLIError(f"{path}: {err}" if path not in str(err) else str(err)) from None
    x = np.stack(digits)[..., None]  # (N, 28, 28, 1)
    check_input_shape(model, x, "prepared images")
    probs = model.predict(x, batch_size=EVAL_BATCH_SIZE, verbose=0)  # (N, K)
    for path, p in zip(args.images, probs):
        top = np.argsort(p)[::-1][:3]
        others = ", ".join(f"{c} {100 * p[c]:.1f}%" for c in top)
        print(f"{path}: {top[0]} ({100 * p[top[0]]:.1f}%)  top 3: {others}")
    return 0


def cmd_summary(args) -> int:
    model = build_zoo_model(args.model_name)
    model.summary(show_compute=args.compute)
    return 0
