"""What the commands share: user errors, datasets and models by name, scoring, output."""

from __future__ import annotations

import importlib
import json
import os

import numpy as np

# the names a user may type -> the module in stridenet.datasets
DATASETS = {"mnist": "mnist", "fashion_mnist": "fashion_mnist", "fashion-mnist": "fashion_mnist",
            "moving_digits": "moving_digits", "moving-digits": "moving_digits",
            "synthetic_control": "synthetic_control", "synthetic-control": "synthetic_control"}
EVAL_BATCH_SIZE = 128


class CLIError(Exception):
    """A mistake in what the user asked for: reported as one line, exit status 2."""


THREADS_VARIABLE = "STRIDENET_NUM_THREADS"


def check_environment() -> None:
    """Refuse a bad ``STRIDENET_NUM_THREADS`` before any work starts.

    The kernels read it the first time they run, deep inside training or prediction,
    where a mistake would surface as a traceback (and in ``train`` only after the data
    loaded). Checked here it is one line and exit status 2 for every command.
    """
    text = os.environ.get(THREADS_VARIABLE)
    if text:  # unset or empty: as many threads as cores
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise CLIError(f"{THREADS_VARIABLE} must be a positive integer (the worker "
                           f"threads to use), got {text!r}; unset it to use every core")
    from ..ops.kernels import parallel

    try:  # whatever else the kernels' own check refuses, refused here too
        parallel.num_workers()
    except ValueError as err:
        raise CLIError(str(err)) from None


def dataset_names() -> str:
    """"fashion_mnist (or fashion-mnist), mnist": each dataset once, with its aliases."""
    parts = []
    for key in sorted(set(DATASETS.values())):
        aliases = [a for a, k in DATASETS.items() if k == key and a != key]
        parts.append(key + (f" (or {', '.join(aliases)})" if aliases else ""))
    return ", ".join(parts)


def dataset_key(name: str) -> str:
    key = DATASETS.get(name.lower())
    if key is None:
        raise CLIError(f"unknown dataset {name!r}; known datasets: {dataset_names()}")
    return key


def load_dataset(name: str):
    """``(key, (x_train, y_train), (x_test, y_test), class_names)`` with the inputs prepared
    as the dataset's recipe says (float32 with a channel axis: images ``(N, 28, 28, 1)`` in
    [0, 1], clips ``(N, 16, 32, 32, 1)``, series ``(N, 60, 1)``); ``y: (N,)`` uint8."""
    from .recipes import RECIPES

    key = dataset_key(name)
    module = importlib.import_module(f"stridenet.datasets.{key}")
    try:
        (x_train, y_train), (x_test, y_test) = module.load_data()
    except (OSError, ValueError) as err:  # missing files, failed download, corrupt data
        raise CLIError(f"cannot load {key}: {err}") from None
    names = getattr(module, "CLASS_NAMES", None) or [str(i) for i in range(module.NUM_CLASSES)]
    prepare = RECIPES[key].prepare
    return key, (prepare(x_train), y_train), (prepare(x_test), y_test), [str(n) for n in names]


def check_model_name(name: str) -> None:
    from .. import zoo

    if name.lower() not in zoo.names():
        raise CLIError(f"unknown model {name!r}; known models: {', '.join(zoo.names())}")


def build_zoo_model(name: str, **kwargs):
    from .. import zoo

    check_model_name(name)
    return zoo.get(name, **kwargs)


def load_model_file(path: str):
    from ..models import load_model

    if not os.path.isfile(path):
        raise CLIError(f"no such model file: {path}")
    try:
        return load_model(path)
    except ImportError as err:  # safetensors (the "io" extra) is missing
        raise CLIError(str(err)) from None
    except (ValueError, OSError) as err:  # corrupt, truncated, not a stridenet file
        raise CLIError(str(err)) from None


def require_safetensors() -> None:
    try:
        import safetensors.numpy  # noqa: F401 - only checking it is there
    except ImportError:
        raise CLIError('saving the model needs the safetensors package: '
                       'pip install "stridenet[io]"') from None


def check_input_shape(model, x: np.ndarray, what: str) -> None:
    """A model built for other images (say 32x32 RGB) fails with a clear message."""
    inputs = getattr(model, "inputs", None)  # functional models list their Input tensors
    expected = inputs[0].shape if inputs else getattr(model, "_input_shape", None)
    if expected is not None and tuple(expected[1:]) != tuple(x.shape[1:]):
        shape = "x".join(str(d) for d in expected[1:])
        raise CLIError(f"model {model.name!r} expects inputs {shape}, but {what} are "
                       f"{'x'.join(str(d) for d in x.shape[1:])}")


def score(model, x: np.ndarray, y: np.ndarray):
    """``(probs (N, K), loss, accuracy)`` from one pass of ``model.predict`` over ``x``.

    The loss is the model's compiled loss (sparse categorical cross-entropy when it has
    none) on the predicted probabilities, so one pass gives the numbers and the
    per-class report.
    """
    from .. import losses

    probs = model.predict(x, batch_size=EVAL_BATCH_SIZE, verbose=0)  # (N, K)
    loss_fn = model.loss or losses.get("sparse_categorical_crossentropy")
    value = loss_fn(y, probs)
    loss = float(np.asarray(getattr(value, "data", value)))
    accuracy = float(np.mean(probs.argmax(axis=-1) == y))
    return probs, loss, accuracy


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)  # round first: never "3 min 60 s"
    return f"{minutes} min {secs} s"


def write_json(path: str, data: dict) -> None:
    from ..io import atomic_writer

    with atomic_writer(path) as f:
        f.write((json.dumps(data, indent=2) + "\n").encode("utf-8"))
