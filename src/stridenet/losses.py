"""Keras-style losses: classes (``SparseCategoricalCrossentropy()``) and names.

A Loss object is called as ``loss(y_true, y_pred)`` and returns the mean over the
batch as a Tensor (differentiable in y_pred). When a model ends in a softmax (or
sigmoid) and the loss is given probabilities, the loss reads the logits from the
tape and uses the fused, numerically stable logits formula, as Keras does.
"""

from __future__ import annotations

import numpy as np

from . import ops


def _logits_behind(y_pred, activation: str):
    """The logits fed to the final softmax (over the last axis) or sigmoid, if any.

    ``ops.softmax`` and ``ops.sigmoid`` attach their input to their output, whether or
    not a tape records, so training and evaluation use the same (stable) formula.
    """
    found = getattr(y_pred, "_logits", None)
    if found is None or found[0] != activation:
        return None
    _, logits, axis = found
    if activation == "softmax" and axis != y_pred.ndim - 1:
        return None
    return logits


class Loss:
    name = "loss"
    _fn = None
    _activation = "softmax"

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name=None, **kw):
        if reduction not in ("sum_over_batch_size", "sum", "none", "mean"):
            raise ValueError(f"unknown reduction {reduction!r}")
        self.from_logits, self.reduction, self.kw = from_logits, reduction, kw
        if name:
            self.name = name

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The loss of a batch; ``sample_weight`` (N,) scales each sample's loss, and
        "sum_over_batch_size" then divides the weighted sum by the batch size (Keras 3)."""
        reduction = "mean" if self.reduction == "sum_over_batch_size" else self.reduction
        from_logits = self.from_logits
        if not from_logits and self._activation:
            logits = _logits_behind(y_pred, self._activation)
            if logits is not None:
                y_pred, from_logits = logits, True
        if sample_weight is None:
            return type(self)._fn(y_true, y_pred, from_logits=from_logits,
                                  reduction=reduction, **self.kw)
        per = type(self)._fn(y_true, y_pred, from_logits=from_logits, reduction="none",
                             **self.kw)
        w = np.asarray(sample_weight, dtype=per.dtype)
        if w.shape != per.shape[:1]:
            raise ValueError(f"{self.name}: sample_weight must have shape ({per.shape[0]},), "
                             f"one weight per sample, got {w.shape}")
        weighted = per * w.reshape(w.shape + (1,) * (per.ndim - 1))
        if reduction == "none":
            return weighted
        total = weighted.sum()
        return total if reduction == "sum" else total / per.size

    def get_config(self) -> dict:
        return {"from_logits": self.from_logits, "reduction": self.reduction, "name": self.name,
                **self.kw}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class SparseCategoricalCrossentropy(Loss):
    name = "sparse_categorical_crossentropy"
    _fn = staticmethod(lambda *a, **k: ops.sparse_categorical_crossentropy(*a, **k))


class CategoricalCrossentropy(Loss):
    name = "categorical_crossentropy"
    _fn = staticmethod(lambda *a, **k: ops.categorical_crossentropy(*a, **k))

    def __init__(self, from_logits=False, label_smoothing=0.0, **kw):
        super().__init__(from_logits=from_logits, label_smoothing=label_smoothing, **kw)


class BinaryCrossentropy(Loss):
    name = "binary_crossentropy"
    _activation = "sigmoid"
    _fn = staticmethod(lambda *a, **k: ops.binary_crossentropy(*a, **k))


class MeanSquaredError(Loss):
    name = "mean_squared_error"
    _activation = None

    _fn = staticmethod(lambda y_true, y_pred, from_logits, reduction:
                       ops.mean_squared_error(y_true, y_pred, reduction=reduction))

    def __init__(self, reduction="sum_over_batch_size", name=None):
        super().__init__(from_logits=False, reduction=reduction, name=name)

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name}


_BY_NAME = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}


def get(identifier) -> Loss:
    """A Loss from a Keras name, a class name, a config dict, an instance or a callable."""
    if isinstance(identifier, Loss) or (callable(identifier) and not isinstance(identifier,
                                                                                  str | type)):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower()) or _BY_CLASS.get(identifier)
        if cls is None:
            raise ValueError(f"unknown loss {identifier!r}; known: {sorted(_BY_NAME)}")
        return cls()
    if isinstance(identifier, dict) and identifier.get("class_name") in _BY_CLASS:
        return _BY_CLASS[identifier["class_name"]].from_config(identifier.get("config", {}))
    raise ValueError(f"cannot interpret {identifier!r} as a loss")


def serialize(loss) -> dict:
    if not isinstance(loss, Loss):
        raise ValueError(f"loss {loss!r} is a plain function and cannot be saved; use a Loss")
    return {"class_name": type(loss).__name__, "config": loss.get_config()}
