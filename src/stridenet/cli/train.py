"""``stridenet train``: the default recipe, the run folder and its figures."""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

from .. import __version__
from ..callbacks import Callback, CSVLogger
from ..distribute.world import get_comm, is_chief, local_only
from .common import (
    CLIError,
    build_zoo_model,
    check_model_name,
    dataset_key,
    format_seconds,
    load_dataset,
    require_safetensors,
    score,
    write_json,
)
from .explore import EXPLORE_FILE
from .recipes import RECIPES
from .run_folder import (
    RUN_FILES,
    EpochLog,
    finish_interrupted,
    os_error_message,
    prepare_run_folder,
    save_model,
)

# The MNIST recipe's numbers (the defaults of every dataset are in recipes.py). Adam warms
# up linearly for the first tenth of the steps, from 1/20 of the peak rate, which keeps the
# large early gradients of the unnormalised network from throwing it off, then follows a
# half cosine down to 1% of the peak, so the last epoch fine-tunes with small steps.
DEFAULT_EPOCHS = RECIPES["mnist"].epochs
DEFAULT_BATCH_SIZE = RECIPES["mnist"].batch_size
DEFAULT_LEARNING_RATE = RECIPES["mnist"].learning_rate
DEFAULT_SEED = 0
WARMUP_FRACTION = 0.1
FIGURE_FILES = RECIPES["mnist"].figures


def learning_rate_schedule(total_steps: int, peak: float = DEFAULT_LEARNING_RATE,
                           warmup_fraction: float = WARMUP_FRACTION):
    """The default schedule over ``total_steps`` optimizer steps: a linear warm-up from
    ``peak / 20`` to ``peak`` over ``warmup_fraction`` of the steps, then cosine decay to
    ``peak / 100`` at the last step."""
    from ..optimizers import schedules

    if not isinstance(total_steps, int) or isinstance(total_steps, bool) or total_steps < 1:
        raise ValueError(f"total_steps must be a positive int, got {total_steps!r}")
    warmup = round(total_steps * warmup_fraction) if total_steps > 1 else 0
    return schedules.CosineDecay(peak / 20, decay_steps=max(1, total_steps - warmup),
                                 alpha=0.01, warmup_target=peak, warmup_steps=warmup)


class LogLearningRate(Callback):
    """Adds the rate the optimizer ends each epoch with to the epoch logs (and so to the
    CSV and the history figure): a schedule changes it every step."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


def _augmenter(model, input_shape):
    """``model`` behind light, training-only augmentation (shifts up to ~2 px, rotations up
    to 8 degrees, black fill): the layers change nothing at inference, and the model
    itself keeps its architecture, so the saved file is the plain model."""
    from .. import layers as L
    from ..models import Sequential

    return Sequential([
        L.Input(shape=tuple(input_shape)),
        L.RandomTranslation(0.08, 0.08, fill_mode="constant"),
        L.RandomRotation(8 / 360, fill_mode="constant"),
        model,
    ], name=f"augmented_{model.name}")


def _run_dir(out, dataset: str, model_name: str) -> str:
    if out:
        return out
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join("runs", f"{dataset}-{model_name}-{stamp}")
    path, k = base, 1
    while os.path.exists(path):  # two runs in the same second get their own folders
        k += 1
        path = f"{base}-{k}"
    return path


def _prediction_sample(y_true: np.ndarray, y_pred: np.ndarray, count: int = 30,
                       max_errors: int = 10) -> np.ndarray:
    """Indices for the prediction grid: the first mistakes (up to ``max_errors``) among the
    first correct ones, in test-set order, so the grid shows both kinds."""
    wrong = np.flatnonzero(y_true != y_pred)[:max_errors]
    right = np.flatnonzero(y_true == y_pred)[:count - len(wrong)]
    return np.sort(np.concatenate([wrong, right]))


def _figures(folder, model, history, x_test, y_test, probs, class_names,
             recipe=RECIPES["mnist"]) -> list[str]:
    """Write the recipe's PNG figures; without matplotlib say so once and write none."""
    from ..viz._mpl import require_matplotlib, save_png

    try:
        require_matplotlib()
    except ImportError as err:
        print(f"note: {err}; skipping the figures", file=sys.stderr)
        return []
    from .. import evaluation, viz

    y_pred = probs.argmax(axis=-1)
    paths = {name: os.path.join(folder, name) for name in recipe.figures}
    viz.plot_history(history, path=paths["history.png"])
    cm = evaluation.confusion_matrix(y_test, y_pred, num_classes=len(class_names))
    viz.plot_confusion_matrix(cm, class_names=class_names, path=paths["confusion_matrix.png"],
                              title=f"Confusion matrix ({len(y_test):,} test {recipe.kind})")
    if "predictions.png" not in paths:
        return list(paths.values())
    pick = _prediction_sample(y_test, y_pred)
    fig = viz.plot_predictions(recipe.figure_sample(x_test[pick]), y_test[pick], y_pred[pick],
                               probs=probs[pick],
                               class_names=class_names, n=len(pick), ncols=10)
    if max(map(len, class_names)) > 4:
        # "Pullover (Pullover) 34%" at the default size runs into the next panel's title
        for ax in fig.axes:
            ax.title.set_fontsize(6.5)
    wrong = int(np.sum(y_test != y_pred))
    # the grid is a chosen sample, so say how it was chosen and how many the whole set has
    what = "clips (first frames)" if recipe.kind == "clips" else recipe.kind
    fig.suptitle(f"{len(pick)} test {what}, the first mistakes among the first correct ones; "
                 f"title: predicted (true) probability, mistakes in red; {wrong:,} of "
                 f"{len(y_test):,} misclassified")
    save_png(fig, paths["predictions.png"])
    if "filters.png" not in paths:
        return list(paths.values())
    viz.plot_filters(model, path=paths["filters.png"])
    viz.plot_feature_maps(model, x_test[0], path=paths["feature_maps.png"])
    return list(paths.values())


def cmd_train(args) -> int:
    from .. import optimizers, utils

    started = time.perf_counter()
    require_safetensors()
    key = dataset_key(args.dataset)
    recipe = _apply_recipe(args, key)
    model_name = args.model.lower()
    check_model_name(model_name)  # before the data loads: a typo fails at once
    key, (x_train, y_train), (x_test, y_test), class_names = load_dataset(key)
    chief = is_chief()  # under MPI (mpiexec -n N) only rank 0 prints and writes
    say = print if chief else _quiet
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    if args.test_limit:
        x_test, y_test = x_test[:args.test_limit], y_test[:args.test_limit]

    utils.set_random_seed(args.seed)
    model = build_zoo_model(model_name, input_shape=x_train.shape[1:],
                             num_classes=len(class_names))
    n_fit = int(len(x_train) * (1 - args.validation_split))  # as fit() splits
    if n_fit < 1 or (args.validation_split and n_fit == len(x_train)):
        raise CLIError(f"--validation-split {args.validation_split} of {len(x_train):,} images "
                       f"leaves {n_fit:,} to train on and {len(x_train) - n_fit:,} to "
                       f"validate: both need at least one")
    steps = math.ceil(n_fit / args.batch_size) * args.epochs
    optimizer = optimizers.Adam(learning_rate_schedule(steps, args.lr))
    compile_args = dict(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                        metrics=["accuracy"])
    model.compile(**compile_args)
    trainer = model
    if args.augment:
        trainer = _augmenter(model, x_train.shape[1:])
        trainer.compile(**compile_args)  # the same optimizer: its state is the model's

    folder = _on_chief(lambda: _prepare(args, key, model_name, recipe))
    model_path = os.path.join(folder, "model.safetensors")
    ranks = get_comm().size if get_comm() is not None else 1
    say(f"training {model_name} ({model.count_params():,} parameters) on {len(x_train):,} "
        f"{key} {recipe.kind} for {args.epochs} epoch(s), batch {args.batch_size}, Adam with "
        f"peak learning rate {args.lr:g} (warm-up, cosine decay), seed {args.seed}"
        + (", augmented" if args.augment else "")
        + (f", data parallel on {ranks} MPI ranks" if ranks > 1 else ""))
    say(f"run folder: {folder}")
    run = {  # what metrics.json says of every run, finished or interrupted
        "dataset": key, "model": model_name, "parameters": model.count_params(),
        "seed": args.seed, "epochs_planned": args.epochs, "batch_size": args.batch_size,
        "augment": bool(args.augment), "train_images": int(n_fit),
        "test_images": int(len(x_test)), "optimizer": optimizers.serialize(optimizer),
        "stridenet_version": __version__,
    }
    epochs, train_time = EpochLog(), None
    fit_started = time.perf_counter()
    try:
        history = _fit(trainer, model, model_path, x_train, y_train, args,
                       [LogLearningRate(), CSVLogger(os.path.join(folder, "history.csv")),
                        epochs])
        train_time = time.perf_counter() - fit_started
        scored = score(model, x_test, y_test)  # a sharded predict under MPI: every rank
        if not chief:
            return 0
        with local_only():  # from here on rank 0 works alone
            save_model(model, model_path, "training finished")  # first: nothing can lose it
            epochs.model_saved = True
            return _report(args, folder, model, history, run, (x_test, y_test), class_names,
                           train_time, started, scored, recipe)
    except KeyboardInterrupt:  # Ctrl-C: keep what there is, and say the run was cut short
        now = time.perf_counter()
        return finish_interrupted(model, folder, run, epochs, train_time or now - fit_started,
                                  now - started)


def _quiet(*args, **kwargs) -> None:
    """``print`` on the ranks that do not print."""


def _apply_recipe(args, key: str):
    """Fill the options the user left out with the dataset's recipe; returns the recipe."""
    recipe = RECIPES[key]
    for option, default in (("model", recipe.model), ("epochs", recipe.epochs),
                            ("batch_size", recipe.batch_size), ("lr", recipe.learning_rate),
                            ("augment", recipe.augment)):
        if getattr(args, option, None) is None:
            setattr(args, option, default)
    if args.augment and recipe.kind != "images":
        raise CLIError(f"--augment shifts and rotates images, but {key} holds "
                       f"{recipe.kind}; leave it out")
    return recipe


def _prepare(args, key, model_name, recipe) -> str:
    """The run folder, checked before training (rank 0 only under MPI)."""
    folder = _run_dir(args.out, key, model_name)
    prepare_run_folder(folder, RUN_FILES + (() if args.no_figures else
                                            (*recipe.figures, EXPLORE_FILE)))
    return folder


def _on_chief(fn):
    """``fn()`` on rank 0 only; under MPI every rank gets its result, or stops when it
    failed (a CLIError is reported once, by rank 0), instead of waiting in training."""
    comm = get_comm()
    if comm is None:
        return fn()
    outcome = (None, None)
    if comm.rank == 0:
        try:
            outcome = (fn(), None)
        except CLIError as err:
            outcome = (None, str(err))
    result, error = comm.broadcast(outcome)
    if error is not None:
        if comm.rank == 0:
            raise CLIError(error)
        raise SystemExit(2)
    return result


def _fit(trainer, model, model_path, x_train, y_train, args, callbacks):
    """``trainer.fit`` with the recipe's arguments; a file-system error (history.csv on a
    disk that filled up, say) saves the model so far and is one line."""
    try:
        return trainer.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                           validation_split=args.validation_split, verbose=1,
                           callbacks=callbacks)
    except OSError as err:
        save_model(model, model_path, f"training stopped ({os_error_message(err)})")
        raise CLIError(f"training stopped: {os_error_message(err)}; the model so far is "
                       f"saved in {model_path}") from None


def _report(args, folder, model, history, run, test_set, class_names, train_time,
            started, scored, recipe) -> int:
    """Evaluate the saved model on the test set and write the figures and metrics.json;
    a file that cannot be written is reported after the others are."""
    from .. import evaluation

    x_test, y_test = test_set
    key, model_path = run["dataset"], os.path.join(folder, "model.safetensors")
    epochs_run = len(history.history.get("loss", []))
    images_per_s = (run["train_images"] * epochs_run / train_time if train_time > 0
                    else float("nan"))
    failed = []  # files that could not be written, reported once the rest are
    probs, test_loss, test_accuracy = scored
    y_pred = probs.argmax(axis=-1)
    report = evaluation.classification_report(y_test, y_pred, class_names=class_names,
                                              zero_division=0)
    print(evaluation.format_report(report, digits=4), end="")
    figures = []
    if not args.no_figures:
        try:
            figures = _figures(folder, model, history, x_test, y_test, probs, class_names,
                               recipe)
        except OSError as err:
            failed.append(f"cannot write the figures: {os_error_message(err)}")
    if not args.no_figures:  # the interactive page of the feature maps (no matplotlib needed)
        from .explore import write_explorer

        try:
            figures += [p for p in [write_explorer(folder, model, x_test, y_test,
                                                   class_names)] if p]
        except OSError as err:
            failed.append(f"cannot write the explorer page: {os_error_message(err)}")

    wall = time.perf_counter() - started
    metrics = {
        **run, "interrupted": False, "epochs": epochs_run,
        "test_loss": test_loss, "test_accuracy": test_accuracy,
        "train_loss": history.history["loss"][-1],
        "train_accuracy": history.history["accuracy"][-1],
        "train_time_s": train_time, "wall_time_s": wall, "train_images_per_s": images_per_s,
        "per_class": report, "files": ["model.safetensors", "history.csv", "metrics.json",
                                       *[os.path.basename(p) for p in figures]],
    }
    metrics_path = os.path.join(folder, "metrics.json")
    try:
        write_json(metrics_path, metrics)
    except OSError as err:
        failed.append(f"cannot write {metrics_path}: {err.strerror or err}")
    print(f"wall time {format_seconds(wall)} (training {format_seconds(train_time)}), "
          f"{images_per_s:,.0f} training {recipe.kind}/s")
    print(f"test accuracy {100 * test_accuracy:.2f}% (loss {test_loss:.4f}) on "
          f"{len(x_test):,} {key} test {recipe.kind}; results in {folder}")
    if failed:
        raise CLIError("; ".join(failed) + f" (the trained model is saved in {model_path})")
    return 0
