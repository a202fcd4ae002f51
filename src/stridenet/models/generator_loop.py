"""``fit``, ``evaluate`` and ``predict`` when the data comes from a generator, an iterable
or a PyDataset-like sequence (see ``generators``), as Keras runs them.

``Trainer`` sends a call here when ``x`` (or ``validation_data``) is such a source; arrays
keep the array loop in ``training``. One epoch is ``steps_per_epoch`` batches, or one pass
over the data. A generator that runs out ends training with a warning, as in Keras.
Validation data is checked before the first batch: its first batch is taken, checked
against the model's input shape and put through the model and loss.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import metrics as metrics_mod
from ..autograd import no_grad
from ..ops.kernels.parallel import blas_single_threaded
from . import data_adapter as D
from . import distributed as DP
from . import generators as GEN
from . import validation as V
from .progress import ProgressBar


def _single_process(model, call: str) -> None:
    """Batches from a generator cannot be shared out over MPI ranks: each rank would train
    its own model on its own batches, so a multi-rank launch is refused."""
    if DP.data_parallel(model) is not None:
        raise ValueError(f"{call} on several MPI ranks takes arrays only: generators, "
                         "iterables, PyDataset-like sequences and steps/steps_per_epoch are "
                         "for one process")


def _training_source(model, x, y, sample_weight, batch_size, steps, validation_split):
    n_inputs = model._n_inputs()
    if GEN.is_source(x):
        if D.validation_fraction(validation_split):
            raise ValueError("validation_split cannot split a generator or PyDataset: pass "
                             "validation_data instead")
        return GEN.source(x, y, sample_weight, batch_size, steps, n_inputs, need_y=True,
                          steps_name="steps_per_epoch"), None
    x = D.as_inputs(x, n_inputs)
    y, sample_weight = D.as_optional(y, "y"), D.as_optional(sample_weight, "sample_weight")
    D.check(x, y, sample_weight)
    split = None
    if D.validation_fraction(validation_split):
        (x, y, sample_weight), split = D.split_off_validation(x, y, sample_weight,
                                                              validation_split)
    steps = D.int_arg(steps, "steps_per_epoch", minimum=1, allow_none=True)
    return GEN.ArraySource(x, y, sample_weight, D.batch_size_of(batch_size), steps), split


def _as_source(model, x, y, sample_weight, batch_size, steps, need_y):
    """``x`` as a source for evaluate/predict: arrays too (when ``steps`` is given)."""
    if GEN.is_source(x):
        return GEN.source(x, y, sample_weight, batch_size, steps, model._n_inputs(), need_y)
    x = D.as_inputs(x, model._n_inputs())
    y, sample_weight = D.as_optional(y, "y"), D.as_optional(sample_weight, "sample_weight")
    D.check(x, y, sample_weight, need_y=need_y)
    return GEN.ArraySource(x, y, sample_weight, D.batch_size_of(batch_size),
                           D.int_arg(steps, "steps", minimum=1, allow_none=True))


def _validation_source(model, data, train, batch_size, steps, epochs_to_run):
    if not model.built and not isinstance(train, GEN.ArraySource):
        with no_grad(), blas_single_threaded():  # built by one sample, as by the 1st batch
            model(D.take(train.first()[0], slice(0, 1)), training=False)
    if GEN.is_source(data):
        val = GEN.source(data, None, None, batch_size, steps, model._n_inputs(), need_y=True,
                         name="validation_data", steps_name="validation_steps")
        if getattr(val, "one_shot", False) and val.steps is None and epochs_to_run > 1:
            raise ValueError("validation_data is a generator, used up by the first "
                             "validation: pass validation_steps, or a re-iterable or "
                             "PyDataset-like sequence")
        vx, vy, _ = val.first()  # checked now, not when the first epoch ends
        V.check_shapes(model, vx)
        if model.built:
            V.probe(model, vx, vy)
        return val
    vx, vy, vw = V.validation_arrays(model, data, getattr(train, "x", None))
    steps = D.int_arg(steps, "validation_steps", minimum=1, allow_none=True)
    if batch_size is None:  # as Keras: the training batch size, when there is one
        batch_size = getattr(train, "batch_size", None)
    return GEN.ArraySource(vx, vy, vw, D.batch_size_of(batch_size), steps)


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split,
        validation_data, shuffle, initial_epoch, sample_weight, seed, steps_per_epoch,
        validation_steps, validation_batch_size):
    from .. import callbacks as cb_mod

    model._require_compiled()
    _single_process(model, "fit")
    epochs, initial_epoch = D.int_arg(epochs, "epochs"), D.int_arg(initial_epoch,
                                                                   "initial_epoch")
    verbose, shuffle = D.verbose_of(verbose, auto=1), D.bool_arg(shuffle, "shuffle")
    train, split = _training_source(model, x, y, sample_weight, batch_size, steps_per_epoch,
                                    validation_split)
    if split is not None:
        val = GEN.ArraySource(*split, train.batch_size)
    elif validation_data is not None:
        val = _validation_source(model, validation_data, train, validation_batch_size,
                                 validation_steps, epochs - initial_epoch)
    else:
        val = None
    history = cb_mod.History()
    cbs = cb_mod.CallbackList([*(callbacks or []), history], model=model, params={
        "epochs": epochs, "steps": train.steps, "verbose": verbose})
    model.stop_training = False
    base_seed = model._rng_state["shuffle_seed"] if seed is None else int(seed)
    try:
        cbs.on_train_begin({})
        logs = _epochs(model, train, val, epochs, initial_epoch, shuffle, base_seed, cbs,
                       verbose)
    except BaseException as error:  # Ctrl-C included: callbacks close what they opened
        cbs.on_train_interrupted(error)
        raise
    cbs.on_train_end(dict(logs))
    model.history = history
    return history


def _ran_out(what: str) -> None:
    warnings.warn(f"{what} ran out of data; training stops here. Give steps_per_epoch "
                  "(and a generator with at least steps_per_epoch * epochs batches), or a "
                  "PyDataset-like sequence", UserWarning, stacklevel=4)


def _epochs(model, train, val, epochs, initial_epoch, shuffle, base_seed, cbs, verbose):
    logs = {}
    for epoch in range(initial_epoch, epochs):
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}")
        cbs.on_epoch_begin(epoch, {})
        order = None
        if shuffle and train.shuffles:  # the same order as the array loop's
            order = np.random.default_rng([base_seed, epoch]).permutation(train.n)
        bar = ProgressBar(train.steps, verbose)
        loss_mean = metrics_mod.Mean(name="loss")
        for m in model.compiled_metrics:
            m.reset_state()
        step = -1
        for step, (xb, yb, wb) in enumerate(train.epoch(order)):
            cbs.on_train_batch_begin(step, {})
            loss, y_pred = model.train_step(xb, yb, wb)
            loss_mean.update_state(loss, sample_weight=D.count(xb))  # a mean over samples
            for m in model.compiled_metrics:
                m.update_state(yb, y_pred)
            logs = {m.name: m.result() for m in model.compiled_metrics}
            logs["loss"] = loss_mean.result()
            bar.update(step + 1, logs)
            cbs.on_train_batch_end(step, {**logs, "batch_loss": loss})
            if model.stop_training:
                break
        if step < 0:  # not one batch this epoch: nothing to log
            _ran_out("x")
            break
        if val is not None:
            result = evaluate_source(model, val, 0, None)
            logs.update({f"val_{k}": v for k, v in result.items()})
        bar.finish(logs)
        cbs.on_epoch_end(epoch, dict(logs))
        if train.exhausted:
            _ran_out("x")
            break
        if model.stop_training:
            break
    return logs


def evaluate_source(model, src, verbose, callbacks) -> dict:
    """One pass of ``src`` (``steps`` batches, or to its end): loss and metrics."""
    from .. import callbacks as cb_mod

    loss_mean = metrics_mod.Mean(name="loss")
    metrics = [type(m).from_config(m.get_config()) for m in model.compiled_metrics]
    bar = ProgressBar(src.steps, verbose)
    cbs = cb_mod.CallbackList(callbacks, model=model, params={"steps": src.steps,
                                                              "verbose": verbose})
    cbs.on_test_begin({})
    step = -1
    with no_grad(), blas_single_threaded():
        for step, (xb, yb, wb) in enumerate(src.epoch()):
            cbs.on_test_batch_begin(step, {})
            y_pred = model(xb, training=False)
            loss = float(model._loss(yb, y_pred, wb).numpy())
            loss_mean.update_state(loss, sample_weight=D.count(xb))
            for m in metrics:
                m.update_state(yb, y_pred.numpy())
            bar.update(step + 1)
            cbs.on_test_batch_end(step, {"loss": loss_mean.result()})
    if step < 0:
        raise ValueError(f"{getattr(src, 'name', 'x')} yielded no batches to evaluate")
    result = {"loss": loss_mean.result(), **{m.name: m.result() for m in metrics}}
    cbs.on_test_end(dict(result))
    bar.finish(result)
    return result


def evaluate(model, x, y, batch_size, verbose, sample_weight, callbacks, steps) -> dict:
    model._require_compiled()
    _single_process(model, "evaluate")
    verbose = D.verbose_of(verbose, auto=1)
    src = _as_source(model, x, y, sample_weight, batch_size, steps, need_y=True)
    return evaluate_source(model, src, verbose, callbacks)


def predict(model, x, batch_size, verbose, callbacks, steps):
    """The outputs for every batch's x (targets, if the batches have them, are ignored)."""
    from .. import callbacks as cb_mod

    _single_process(model, "predict")
    verbose = D.verbose_of(verbose, auto=0)
    src = _as_source(model, x, None, None, batch_size, steps, need_y=False)
    bar = ProgressBar(src.steps, verbose)
    cbs = cb_mod.CallbackList(callbacks, model=model, params={"steps": src.steps,
                                                              "verbose": verbose})
    cbs.on_predict_begin({})
    outs = []
    with no_grad(), blas_single_threaded():
        for step, (xb, _, _) in enumerate(src.epoch()):
            cbs.on_predict_batch_begin(step, {})
            out = model(xb, training=False)
            outs.append([o.numpy() for o in out] if isinstance(out, list | tuple)
                        else out.numpy())
            bar.update(step + 1)
            cbs.on_predict_batch_end(step, {"outputs": outs[-1]})
    cbs.on_predict_end({})
    bar.finish()
    if not outs:
        raise ValueError("x yielded no batches to predict")
    if isinstance(outs[0], list):  # a model with several outputs: one array each
        return [np.concatenate(parts, axis=0) for parts in zip(*outs)]
    return np.concatenate(outs, axis=0)
