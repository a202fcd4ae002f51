"""``train_on_batch`` / ``test_on_batch``: one step on one batch, as in Keras 3.

Keras 3 resets the compiled metrics at the start of each call, so the values returned
describe that batch alone (not a running mean over calls). The result is the loss alone
when no metrics were compiled, else ``[loss, *metrics]`` in compile order, or with
``return_dict=True`` a dict ``{"loss": ..., name: ...}``.

These run on the calling process only: under ``mpiexec`` each rank steps on its own batch
(fit/evaluate/predict are the data-parallel entry points).
"""

from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..ops.kernels.parallel import blas_single_threaded
from . import data_adapter as D


def class_weight_to_sample_weight(y: np.ndarray, class_weight) -> np.ndarray:
    """One weight per sample from ``{class index: weight}`` (classes not named: 1.0).

    y: (N,) or (N, 1) class indices, or (N, C) one-hot -> (N,) float weights."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict {{class index: weight}}, got "
                        f"{type(class_weight).__name__}")
    labels = y
    if labels.ndim > 1:  # one-hot rows give their argmax, a (N, 1) column its values
        labels = labels.argmax(-1) if labels.shape[-1] != 1 else labels[..., 0]
    labels = np.round(labels.reshape(len(y), -1)[:, 0]).astype(np.int64)  # (N,)
    weights = np.ones(len(y), dtype=np.float64)
    for cls, w in class_weight.items():
        weights[labels == int(cls)] = float(w)
    return weights


class BatchAPI:
    """Mixin for Trainer: Keras's single-batch training and evaluation."""

    def _batch_arrays(self, x, y, sample_weight):
        self._require_compiled()
        x = D.as_inputs(x, self._n_inputs())
        y, sample_weight = D.as_optional(y, "y"), D.as_optional(sample_weight, "sample_weight")
        D.check(x, y, sample_weight)
        for m in self.compiled_metrics:  # Keras 3: the values returned are this batch's
            m.reset_state()
        return x, y, sample_weight

    def _batch_result(self, loss, y, y_pred, return_dict):
        for m in self.compiled_metrics:
            m.update_state(y, y_pred)
        logs = {"loss": float(loss), **{m.name: m.result() for m in self.compiled_metrics}}
        if return_dict:
            return logs
        return logs["loss"] if not self.compiled_metrics else \
            [logs["loss"], *(m.result() for m in self.compiled_metrics)]

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One gradient step on the batch ``(x, y)``; returns its loss (and metrics).

        x: (N, ...) or a list of arrays, one per input; y: (N, ...) targets;
        sample_weight: (N,); class_weight: {class index: weight}, not with sample_weight.
        -> loss, [loss, *metrics] or (``return_dict``) {"loss": ..., metric: ...}."""
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("train_on_batch: give sample_weight or class_weight, not both")
            if y is None:
                raise ValueError("train_on_batch: class_weight needs y (the class labels)")
            sample_weight = class_weight_to_sample_weight(D.as_optional(y, "y"), class_weight)
        x, y, sample_weight = self._batch_arrays(x, y, sample_weight)
        loss, y_pred = self.train_step(x, y, sample_weight)
        return self._batch_result(loss, y, y_pred, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss (and metrics) of the batch ``(x, y)`` in inference mode; no update.

        Shapes as in ``train_on_batch``; returns the same forms."""
        x, y, sample_weight = self._batch_arrays(x, y, sample_weight)
        with no_grad(), blas_single_threaded():
            y_pred = self(x, training=False)
            loss = float(self._loss(y, y_pred, sample_weight).numpy())
        return self._batch_result(loss, y, y_pred.numpy(), return_dict)
