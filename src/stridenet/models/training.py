"""compile / fit / evaluate / predict: the Keras training loop on the autograd tape."""

from __future__ import annotations

import numpy as np

from .. import losses as losses_mod
from .. import metrics as metrics_mod
from ..autograd import no_grad
from ..ops.kernels.parallel import blas_single_threaded
from ..seeding import make_generator
from .progress import ProgressBar


def _as_array(x, name):
    if x is None:
        return None
    arr = np.asarray(getattr(x, "data", x))
    if arr.dtype == object:
        raise TypeError(f"{name} must be a numeric array, got dtype object")
    return arr


def _check_xy(x, y):
    if y is not None and len(x) != len(y):
        raise ValueError(f"x and y must have the same number of samples, got x {x.shape} "
                         f"and y {y.shape}")
    if len(x) == 0:
        raise ValueError("x is empty")


class Trainer:
    """Mixin for Model: the training loop and its bookkeeping."""

    def _init_training_state(self):
        self.optimizer = None
        self.loss = None
        self.compiled_metrics = []
        self.stop_training = False
        self.history = None
        self._compile_config = None
        self._rng_state = {"shuffle_seed": 0}

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        # optimizers sit above models in the layering: imported on use.
        from .. import optimizers

        if kwargs.pop("run_eagerly", None) is not None or kwargs.pop("jit_compile", None):
            pass  # accepted for Keras compatibility; stridenet always runs eagerly
        if kwargs:
            raise TypeError(f"compile() got unexpected arguments {sorted(kwargs)}")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses_mod.get(loss) if loss is not None else None
        loss_name = getattr(self.loss, "name", "") or ""
        self.compiled_metrics = [metrics_mod.get(m, loss_name) for m in (metrics or [])]
        self._compile_config = {"loss": loss, "metrics": list(metrics or [])}
        # Epoch e shuffles with Generator([shuffle_seed, e]): a run resumed from a saved
        # model (which stores this seed) sees the same batches as an uninterrupted one.
        self._rng_state = {"shuffle_seed": int(make_generator(None).integers(2**62))}

    def _require_compiled(self):
        if self.optimizer is None or self.loss is None:
            raise RuntimeError("call model.compile(optimizer=..., loss=...) before training")

    # -- one step -------------------------------------------------------------
    def train_step(self, xb, yb):
        # the kernels spread each step over the cores themselves (see ops/kernels/parallel)
        with blas_single_threaded():
            return self._train_step(xb, yb)

    def _train_step(self, xb, yb):
        y_pred = self(xb, training=True)
        loss = self.loss(yb, y_pred)
        penalties = self.losses
        total = loss
        for p in penalties:
            total = total + p
        total.backward()
        params = [w for w in self.trainable_weights if w.grad is not None]
        self.optimizer.apply([p.grad for p in params], params)
        for p in params:
            p.grad = None
        return float(loss.numpy()), y_pred.numpy()

    def _batches(self, n, batch_size, order=None):
        idx = np.arange(n) if order is None else order
        for start in range(0, n, batch_size):
            yield idx[start:start + batch_size]

    # -- fit ------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            sample_weight=None, seed=None):
        from .. import callbacks as cb_mod

        self._require_compiled()
        x, y = _as_array(x, "x"), _as_array(y, "y")
        _check_xy(x, y)
        batch_size = batch_size or 32
        verbose = 1 if verbose == "auto" else int(verbose)
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        if validation_data is None and validation_split:
            # Keras takes the last fraction of the samples, before any shuffling.
            cut = int(len(x) * (1 - validation_split))
            x, y, validation_data = x[:cut], y[:cut], (x[cut:], y[cut:])
        n = len(x)
        steps = -(-n // batch_size)
        history = cb_mod.History()
        cbs = cb_mod.CallbackList([*(callbacks or []), history], model=self,
                                  params={"epochs": epochs, "steps": steps, "verbose": verbose})
        self.stop_training = False
        base_seed = self._rng_state["shuffle_seed"] if seed is None else int(seed)
        cbs.on_train_begin({})
        logs = {}
        for epoch in range(initial_epoch, epochs):
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
            cbs.on_epoch_begin(epoch, {})
            order = np.random.default_rng([base_seed, epoch]).permutation(n) if shuffle else None
            bar = ProgressBar(steps, verbose)
            loss_mean = metrics_mod.Mean(name="loss")
            for m in self.compiled_metrics:
                m.reset_state()
            for step, idx in enumerate(self._batches(n, batch_size, order)):
                cbs.on_train_batch_begin(step, {})
                loss, y_pred = self.train_step(x[idx], y[idx])
                loss_mean.update_state(loss)
                for m in self.compiled_metrics:
                    m.update_state(y[idx], y_pred)
                logs = {m.name: m.result() for m in self.compiled_metrics}
                logs["loss"] = loss_mean.result()
                bar.update(step + 1, logs)
                cbs.on_train_batch_end(step, {**logs, "batch_loss": loss})
                if self.stop_training:
                    break
            if validation_data is not None:
                vx, vy = validation_data[0], validation_data[1]
                val = self.evaluate(vx, vy, batch_size=batch_size, verbose=0, return_dict=True)
                logs.update({f"val_{k}": v for k, v in val.items()})
            bar.finish(logs)
            cbs.on_epoch_end(epoch, dict(logs))
            if self.stop_training:
                break
        cbs.on_train_end(dict(logs))
        self.history = history
        return history

    # -- evaluate / predict ---------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False,
                 callbacks=None):
        self._require_compiled()
        x, y = _as_array(x, "x"), _as_array(y, "y")
        _check_xy(x, y)
        batch_size = batch_size or 32
        verbose = 1 if verbose == "auto" else int(verbose)
        loss_mean = metrics_mod.Mean(name="loss")
        metrics = [type(m).from_config(m.get_config()) for m in self.compiled_metrics]
        steps = -(-len(x) // batch_size)
        bar = ProgressBar(steps, verbose)
        with no_grad(), blas_single_threaded():
            for step, idx in enumerate(self._batches(len(x), batch_size)):
                y_pred = self(x[idx], training=False)
                loss = float(self.loss(y[idx], y_pred).numpy())
                loss_mean.update_state(loss, sample_weight=len(idx))
                for m in metrics:
                    m.update_state(y[idx], y_pred.numpy())
                bar.update(step + 1)
        result = {"loss": loss_mean.result(), **{m.name: m.result() for m in metrics}}
        bar.finish(result)
        if return_dict:
            return result
        return result["loss"] if not metrics else [result["loss"], *[result[m.name]
                                                                      for m in metrics]]

    def predict(self, x, batch_size=None, verbose="auto"):
        x = _as_array(x, "x")
        batch_size = batch_size or 32
        verbose = 0 if verbose == "auto" else int(verbose)
        outs = []
        steps = -(-len(x) // batch_size)
        bar = ProgressBar(steps, verbose)
        with no_grad(), blas_single_threaded():
            for step, idx in enumerate(self._batches(len(x), batch_size)):
                outs.append(self(x[idx], training=False).numpy())
                bar.update(step + 1)
        bar.finish()
        return np.concatenate(outs, axis=0)

    def predict_on_batch(self, x):
        with no_grad(), blas_single_threaded():
            return self(_as_array(x, "x"), training=False).numpy()
