"""Keras-style metrics: stateful accumulators over batches, on plain arrays.

``update_state(y_true, y_pred)`` adds a batch, ``result()`` reads the running
value, ``reset_state()`` starts over. "accuracy" is resolved by ``compile``
according to the loss (sparse / categorical / binary), as in Keras.
"""

from __future__ import annotations

import numpy as np


def _np(x):
    return np.asarray(getattr(x, "data", x))


class Metric:
    name = "metric"

    def __init__(self, name=None):
        if name:
            self.name = name
        self.reset_state()

    def reset_state(self) -> None:
        self.total, self.count = 0.0, 0.0

    def result(self) -> float:
        return float(self.total / self.count) if self.count else 0.0

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        values = np.asarray(self.batch_values(_np(y_true), _np(y_pred)), dtype=np.float64)
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += values.size
        else:
            w = np.broadcast_to(np.asarray(sample_weight, np.float64), values.shape)
            self.total += float((values * w).sum())
            self.count += float(w.sum())

    def batch_values(self, y_true, y_pred):  # pragma: no cover - interface
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Mean(Metric):
    """The running mean of the values given (used for the loss)."""

    name = "mean"

    def update_state(self, values, sample_weight=None) -> None:  # type: ignore[override]
        super().update_state(None, values, sample_weight)

    def batch_values(self, y_true, y_pred):
        return y_pred


def _sparse_labels(y_true, n_classes):
    y = y_true.reshape(-1) if y_true.ndim > 1 and y_true.shape[-1] == 1 else y_true
    return y.astype(np.int64).reshape(-1)


class SparseCategoricalAccuracy(Metric):
    name = "sparse_categorical_accuracy"

    def batch_values(self, y_true, y_pred):
        labels = _sparse_labels(y_true, y_pred.shape[-1])
        return y_pred.reshape(-1, y_pred.shape[-1]).argmax(-1) == labels


class CategoricalAccuracy(Metric):
    name = "categorical_accuracy"

    def batch_values(self, y_true, y_pred):
        return y_pred.argmax(-1) == y_true.argmax(-1)


class BinaryAccuracy(Metric):
    name = "binary_accuracy"

    def __init__(self, name=None, threshold=0.5):
        self.threshold = threshold
        super().__init__(name)

    def batch_values(self, y_true, y_pred):
        return (y_pred > self.threshold) == (y_true > 0.5)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


class SparseTopKCategoricalAccuracy(Metric):
    name = "sparse_top_k_categorical_accuracy"

    def __init__(self, k=5, name=None):
        self.k = k
        super().__init__(name)

    def batch_values(self, y_true, y_pred):
        p = y_pred.reshape(-1, y_pred.shape[-1])
        labels = _sparse_labels(y_true, p.shape[-1])
        # In the top k when fewer than k classes score strictly higher than the label.
        target = p[np.arange(len(labels)), labels]
        return (p > target[:, None]).sum(-1) < self.k

    def get_config(self):
        return {"name": self.name, "k": self.k}


class TopKCategoricalAccuracy(SparseTopKCategoricalAccuracy):
    name = "top_k_categorical_accuracy"

    def batch_values(self, y_true, y_pred):
        return super().batch_values(y_true.argmax(-1), y_pred)


_EPSILON = 1e-7  # Keras's backend epsilon, as the regression metrics below clip with it


class MeanSquaredError(Metric):
    """mean((y_true - y_pred)^2); every element of (N, ...) counts once."""

    name = "mean_squared_error"

    def batch_values(self, y_true, y_pred):
        return (y_true.reshape(y_pred.shape) - y_pred) ** 2


class MeanAbsoluteError(Metric):
    name = "mean_absolute_error"

    def batch_values(self, y_true, y_pred):
        return np.abs(y_true.reshape(y_pred.shape) - y_pred)


class MeanAbsolutePercentageError(Metric):
    """100 * |y_true - y_pred| / max(|y_true|, eps)."""

    name = "mean_absolute_percentage_error"

    def batch_values(self, y_true, y_pred):
        y_true = y_true.reshape(y_pred.shape)
        return 100.0 * np.abs(y_true - y_pred) / np.maximum(np.abs(y_true), _EPSILON)


class MeanSquaredLogarithmicError(Metric):
    """(log(1 + max(y_pred, eps)) - log(1 + max(y_true, eps)))^2."""

    name = "mean_squared_logarithmic_error"

    def batch_values(self, y_true, y_pred):
        y_true = y_true.reshape(y_pred.shape)
        return (np.log1p(np.maximum(y_pred, _EPSILON)) - np.log1p(np.maximum(y_true,
                                                                              _EPSILON))) ** 2


_BY_NAME = {
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "categorical_accuracy": CategoricalAccuracy, "binary_accuracy": BinaryAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mean_absolute_error": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
}
_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
            "mape": "mean_absolute_percentage_error", "msle": "mean_squared_logarithmic_error"}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}


def get(identifier, loss_name: str | None = None) -> Metric:
    """A metric by name. "accuracy"/"acc" follows the loss (sparse, categorical or binary).

    As in Keras 3, a metric given as a string is logged under that string: "acc" logs
    ``acc`` (and ``val_acc``), "mse" logs ``mse``; an instance keeps its own name."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            loss_name = loss_name or ""
            if "sparse" in loss_name:
                cls = SparseCategoricalAccuracy
            elif "binary" in loss_name:
                cls = BinaryAccuracy
            else:
                cls = CategoricalAccuracy
            return cls(name=identifier)
        cls = _BY_NAME.get(_ALIASES.get(key, key)) or _BY_CLASS.get(identifier)
        if cls is None:
            raise ValueError(f"unknown metric {identifier!r}; known: "
                             f"{['accuracy', 'acc', *sorted(_ALIASES), *sorted(_BY_NAME)]}")
        return cls(name=identifier)
    raise ValueError(f"cannot interpret {identifier!r} as a metric")
