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


_BY_NAME = {
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "categorical_accuracy": CategoricalAccuracy, "binary_accuracy": BinaryAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}


def get(identifier, loss_name: str | None = None) -> Metric:
    """A metric by name. "accuracy"/"acc" follows the loss (sparse, categorical or binary)."""
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
            return cls(name="accuracy")
        cls = _BY_NAME.get(key) or _BY_CLASS.get(identifier)
        if cls is None:
            raise ValueError(f"unknown metric {identifier!r}; known: "
                             f"{['accuracy', *sorted(_BY_NAME)]}")
        return cls()
    raise ValueError(f"cannot interpret {identifier!r} as a metric")
