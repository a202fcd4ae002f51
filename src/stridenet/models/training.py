"""compile / fit / evaluate / predict: the Keras training loop on the autograd tape."""

from __future__ import annotations

import numpy as np

from .. import config
from .. import losses as losses_mod
from .. import metrics as metrics_mod
from ..autograd import no_grad
from ..ops.kernels.parallel import blas_single_threaded
from ..seeding import make_generator
from . import data_adapter as D
from . import distributed as DP
from . import functional as G
from . import generator_loop as GL
from . import generators as GEN
from . import plan
from . import validation as V
from .batch_api import BatchAPI
from .progress import ProgressBar


def _numpy(out):
    """A forward pass's output (a Tensor, or a list of them) as arrays."""
    return [o.numpy() for o in out] if isinstance(out, list | tuple) else out.numpy()


class Trainer(BatchAPI):
    """Mixin for Model: the training loop and its bookkeeping (train_on_batch and
    test_on_batch in batch_api.py)."""

    def _init_training_state(self):
        self.optimizer = None
        self.loss = None
        self.compiled_metrics = []
        self.stop_training = False
        self.history = None
        self._compile_config = None
        self._rng_state = {"shuffle_seed": 0}
        self._active_dp = None  # the DataParallel of a multi-rank fit

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        # optimizers sit above models in the layering: imported on use.
        from .. import optimizers

        kwargs.pop("run_eagerly", None)  # accepted for Keras compatibility: stridenet
        kwargs.pop("jit_compile", None)  # always runs eagerly and compiles nothing
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

    def _loss(self, y_true, y_pred, sample_weight):
        if sample_weight is None:  # a plain function loss(y_true, y_pred) works too
            return self.loss(y_true, y_pred)
        return self.loss(y_true, y_pred, sample_weight=sample_weight)

    def _declared_input_shapes(self):
        """One declared shape per input, batch axis first (None: any size), or None when
        the model learns its input shape from data (Sequential overrides this)."""
        inputs = self.inputs
        return [sym.shape for sym in inputs] if inputs else None

    def _n_inputs(self) -> int:
        inputs = self.inputs
        return len(inputs) if inputs else 1

    # -- one step -------------------------------------------------------------
    def train_step(self, xb, yb, sample_weight=None):
        # the kernels spread each step over the cores themselves (see ops/kernels/parallel)
        with blas_single_threaded():
            return self._train_step(xb, yb, sample_weight)

    def _train_step(self, xb, yb, sample_weight=None):
        loss, y_pred = self._forward_backward(xb, yb, sample_weight)
        params = [w for w in self.trainable_weights if w.grad is not None]
        self.optimizer.apply([p.grad for p in params], params)
        for p in params:
            p.grad = None
        return loss, y_pred

    def _forward_backward(self, xb, yb, sample_weight=None):
        """The batch's loss (penalties included in the gradient, not in the value shown)
        and predictions; every trainable weight's ``.grad`` holds its gradient after."""
        y_pred = self(xb, training=True)
        loss = self._loss(yb, y_pred, sample_weight)
        total = loss
        for p in self.losses:
            total = total + p
        total.backward()
        return float(loss.numpy()), y_pred.numpy()

    def _batches(self, n, batch_size, order=None):
        idx = np.arange(n) if order is None else order
        for start in range(0, n, batch_size):
            yield idx[start:start + batch_size]

    # -- fit ------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            sample_weight=None, seed=None, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None):
        from .. import callbacks as cb_mod

        if GEN.is_source(x) or GEN.is_source(validation_data) or steps_per_epoch is not None \
                or validation_steps is not None or validation_batch_size is not None:
            return GL.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
                          validation_data, shuffle, initial_epoch, sample_weight, seed,
                          steps_per_epoch, validation_steps, validation_batch_size)
        self._require_compiled()
        x = D.as_inputs(x, self._n_inputs())
        y, sample_weight = D.as_optional(y, "y"), D.as_optional(sample_weight, "sample_weight")
        D.check(x, y, sample_weight)
        batch_size = D.batch_size_of(batch_size)
        epochs, initial_epoch = D.int_arg(epochs, "epochs"), D.int_arg(initial_epoch,
                                                                       "initial_epoch")
        verbose, shuffle = D.verbose_of(verbose, auto=1), D.bool_arg(shuffle, "shuffle")
        if validation_data is not None:  # checked now, not when the first epoch ends
            validation_data = V.validation_arrays(self, validation_data, x)
        elif D.validation_fraction(validation_split):
            (x, y, sample_weight), validation_data = D.split_off_validation(
                x, y, sample_weight, validation_split)
        n = D.count(x)
        steps = -(-n // batch_size)
        dp = self._active_dp = DP.data_parallel(self)  # None unless launched on several ranks
        if dp is not None and dp.rank != 0:
            verbose = 0  # only rank 0 prints
        callbacks = DP.chief_callbacks(dp, callbacks)
        history = cb_mod.History()
        cbs = cb_mod.CallbackList([*(callbacks or []), history], model=self,
                                  params={"epochs": epochs, "steps": steps, "verbose": verbose})
        self.stop_training = False
        base_seed = self._rng_state["shuffle_seed"] if seed is None else int(seed)
        try:
            with DP.all_or_none(dp):
                if dp is not None:
                    base_seed = DP.start_training(self, dp, x, base_seed)
                cbs.on_train_begin({})
                logs = self._run_epochs(x, y, sample_weight, validation_data, batch_size,
                                        epochs, initial_epoch, shuffle, base_seed, steps, cbs,
                                        verbose)
        except BaseException as error:  # Ctrl-C included: callbacks close what they opened
            cbs.on_train_interrupted(error)
            raise
        cbs.on_train_end(dict(logs))
        self.history = history
        return history

    def _run_epochs(self, x, y, sample_weight, validation_data, batch_size, epochs,
                    initial_epoch, shuffle, base_seed, steps, cbs, verbose) -> dict:
        n = D.count(x)
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
            dp, seen = self._active_dp, 0
            for step, idx in enumerate(self._batches(n, batch_size, order)):
                cbs.on_train_batch_begin(step, {})
                if dp is None:
                    loss, y_pred = self.train_step(D.take(x, idx), y[idx],
                                                   D.take(sample_weight, idx))
                else:  # this rank's share of the global batch
                    with blas_single_threaded():
                        loss, y_pred, idx = DP.train_step(self, dp, x, y, sample_weight, idx)
                seen += len(idx)
                loss_mean.update_state(loss, sample_weight=len(idx))  # a mean over samples
                if y_pred is not None:
                    for m in self.compiled_metrics:
                        m.update_state(y[idx], y_pred)
                logs = {m.name: m.result() for m in self.compiled_metrics}
                logs["loss"] = loss_mean.result()
                if dp is not None:  # what one process would show for the global batches
                    logs = dp.weighted_means(logs, seen)
                bar.update(step + 1, logs)
                cbs.on_train_batch_end(step, {**logs, "batch_loss": loss})
                if dp is not None:  # all ranks stop together
                    self.stop_training = dp.any(self.stop_training)
                if self.stop_training:
                    break
            if validation_data is not None:
                vx, vy, vw = validation_data
                val = self.evaluate(vx, vy, batch_size=batch_size, verbose=0, return_dict=True,
                                    sample_weight=vw)
                logs.update({f"val_{k}": v for k, v in val.items()})
            bar.finish(logs)
            cbs.on_epoch_end(epoch, dict(logs))
            if self.stop_training:
                break
        return logs

    # -- evaluate / predict ---------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False,
                 sample_weight=None, callbacks=None, steps=None):
        from .. import callbacks as cb_mod

        if GEN.is_source(x) or steps is not None:  # a generator, iterable or PyDataset
            result = GL.evaluate(self, x, y, batch_size, verbose, sample_weight, callbacks,
                                 steps)
            return result if return_dict else \
                list(result.values()) if len(result) > 1 else result["loss"]
        self._require_compiled()
        x = D.as_inputs(x, self._n_inputs())
        y, sample_weight = D.as_optional(y, "y"), D.as_optional(sample_weight, "sample_weight")
        D.check(x, y, sample_weight)
        batch_size = D.batch_size_of(batch_size)
        verbose = D.verbose_of(verbose, auto=1)
        dp = DP.data_parallel(self)
        if dp is not None:  # each rank evaluates its part; the results are averaged
            x, y, sample_weight, _ = DP.shard(dp, x, y, sample_weight)
            verbose = verbose if dp.rank == 0 else 0
        loss_mean = metrics_mod.Mean(name="loss")
        metrics = [type(m).from_config(m.get_config()) for m in self.compiled_metrics]
        n = D.count(x)
        steps = -(-n // batch_size)
        bar = ProgressBar(steps, verbose)
        cbs = cb_mod.CallbackList(callbacks, model=self, params={"steps": steps,
                                                                 "verbose": verbose})
        cbs.on_test_begin({})
        with no_grad(), blas_single_threaded():
            for step, idx in enumerate(self._batches(n, batch_size)):
                cbs.on_test_batch_begin(step, {})
                y_pred = self(D.take(x, idx), training=False)
                loss = float(self._loss(y[idx], y_pred, D.take(sample_weight, idx)).numpy())
                loss_mean.update_state(loss, sample_weight=len(idx))
                for m in metrics:
                    m.update_state(y[idx], y_pred.numpy())
                bar.update(step + 1)
                cbs.on_test_batch_end(step, {"loss": loss_mean.result()})
        result = {"loss": loss_mean.result(), **{m.name: m.result() for m in metrics}}
        if dp is not None:
            result = dp.weighted_means(result, n)
        cbs.on_test_end(dict(result))
        bar.finish(result)
        if return_dict:
            return result
        return result["loss"] if not metrics else [result["loss"], *[result[m.name]
                                                                      for m in metrics]]

    def predict(self, x, batch_size=None, verbose="auto", callbacks=None, steps=None):
        if GEN.is_source(x) or steps is not None:  # a generator, iterable or PyDataset
            return GL.predict(self, x, batch_size, verbose, callbacks, steps)
        x = D.as_inputs(x, self._n_inputs())
        n = D.count(x)
        if n == 0:  # nothing to predict: no forward pass (Flatten cannot reshape 0 samples)
            return self._empty_output(x)
        batch_size = D.batch_size_of(batch_size)
        verbose = D.verbose_of(verbose, auto=0)
        dp = DP.data_parallel(self)
        if dp is None:
            return self._predict_batches(x, batch_size, verbose, callbacks)
        part = DP.shard(dp, x)[0]  # each rank predicts its part; every rank gets them all
        local = (self._predict_batches(part, batch_size, verbose if dp.rank == 0 else 0,
                                       callbacks) if D.count(part) else self._empty_output(part))
        return DP.gather_predictions(dp, local)

    def _predict_batches(self, x, batch_size, verbose, callbacks):
        from .. import callbacks as cb_mod

        n = D.count(x)
        outs = []
        steps = -(-n // batch_size)
        bar = ProgressBar(steps, verbose)
        cbs = cb_mod.CallbackList(callbacks, model=self, params={"steps": steps,
                                                                 "verbose": verbose})
        cbs.on_predict_begin({})
        for step, idx in enumerate(self._batches(n, batch_size)):
            cbs.on_predict_batch_begin(step, {})
            outs.append(self._predict_arrays(D.take(x, idx)))
            bar.update(step + 1)
            cbs.on_predict_batch_end(step, {"outputs": outs[-1]})
        cbs.on_predict_end({})
        bar.finish()
        if isinstance(outs[0], list):  # a model with several outputs: one array each
            return [np.concatenate(parts, axis=0) for parts in zip(*outs)]
        return np.concatenate(outs, axis=0)

    def _empty_output(self, x):
        """What predict returns for 0 samples: zeros of shape (0, *output shape[1:]) per
        output, in the dtype a forward pass would give, after the input shapes are checked."""
        shapes = [a.shape for a in x] if isinstance(x, list) else [x.shape]
        for i, (shape, expected) in enumerate(zip(shapes, self._declared_input_shapes()
                                                  or [])):
            shapes[i] = G.check_input_shape(self.name, f"{i} " if len(shapes) > 1 else "",
                                            expected, shape)
        free = [(None, *s[1:]) for s in shapes]  # batch axis None: every model can build it
        out = self.compute_output_shape(free if isinstance(x, list) else free[0])
        floats = [a.dtype if a.dtype in (np.float32, np.float64) else config.floatx()
                  for a in (x if isinstance(x, list) else [x])]
        dtype = np.result_type(*floats, *(w.data.dtype for w in self.weights))
        if isinstance(out, list):
            return [np.zeros((0, *o[1:]), dtype) for o in out]
        return np.zeros((0, *out[1:]), dtype)

    def predict_on_batch(self, x):
        return self._predict_arrays(D.as_inputs(x, self._n_inputs()))

    def _predict_arrays(self, x):
        """One batch's predictions as arrays: the inference plan (models/plan.py), or the
        eager pass when no plan applies."""
        out = plan.predict_arrays(self, x)
        if out is not None:
            return out
        with no_grad(), blas_single_threaded():
            return _numpy(self(x, training=False))
