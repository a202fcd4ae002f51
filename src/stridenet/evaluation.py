"""Evaluation numbers on plain NumPy: confusion matrix and per-class precision/recall/F1.

Labels are integer class indices ``0 .. K-1`` (for probabilities or logits, pass
``probs.argmax(-1)``). The confusion matrix has the true class on the rows and the
predicted class on the columns, so ``cm[i, j]`` counts samples of class ``i``
predicted as ``j``.

Zero division (the rule, as scikit-learn's default): a ratio whose denominator is
zero is undefined and reported as ``zero_division`` (0.0 by default), with a
``UndefinedMetricWarning`` naming the classes when ``zero_division="warn"``.
Per class ``c`` with ``TP``, ``FP``, ``FN``:

* precision ``TP / (TP + FP)``: undefined when ``c`` is never predicted;
* recall ``TP / (TP + FN)``: undefined when ``c`` never occurs in ``y_true``;
* F1 ``2 TP / (2 TP + FP + FN)`` (the harmonic mean of precision and recall):
  undefined only when ``c`` occurs in neither; a class never predicted but present
  has F1 = 0 whatever ``zero_division`` says.

Averages run over all ``K`` classes: "macro avg" is the plain mean of the
per-class values, "weighted avg" the mean weighted by support (the number of true
samples of each class). With ``zero_division=np.nan`` the undefined values are
left out of the averages.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

_SUMMARY_ROWS = ("accuracy", "macro avg", "weighted avg")
_METRICS = ("precision", "recall", "f1-score")


class UndefinedMetricWarning(UserWarning):
    """A precision, recall or F1 had a zero denominator and was set by ``zero_division``."""


def as_labels(y, name: str) -> np.ndarray:
    """``y`` as a 1-D int64 array of class indices (a trailing axis of size 1 is dropped)."""
    arr = np.asarray(getattr(y, "data", y))
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]  # (N, 1) -> (N,)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class indices, got shape {arr.shape}"
                         + ("; for probabilities pass probs.argmax(-1)" if arr.ndim == 2 else ""))
    if arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.integer):
        out = arr.astype(np.int64)
    elif np.issubdtype(arr.dtype, np.floating):
        # float labels are accepted only when they hold whole numbers (e.g. 3.0)
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must hold integer class indices, got non-integer "
                             f"values such as {arr[arr != np.round(arr)][:3].tolist()}")
        out = arr.astype(np.int64)
    else:
        raise TypeError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    if out.size and out.min() < 0:
        raise ValueError(f"{name} must hold class indices >= 0, got {int(out.min())}")
    return out


def _check_pair(y_true, y_pred, num_classes):
    yt, yp = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got y_true "
                         f"{yt.shape} and y_pred {yp.shape}")
    if num_classes is None:
        if yt.size == 0:
            raise ValueError("y_true is empty: give num_classes to get an empty matrix")
        num_classes = int(max(yt.max(), yp.max())) + 1
    elif not isinstance(num_classes, numbers.Integral) or isinstance(num_classes, bool) \
            or num_classes <= 0:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    num_classes = int(num_classes)
    for arr, name in ((yt, "y_true"), (yp, "y_pred")):
        if arr.size and arr.max() >= num_classes:
            raise ValueError(f"{name} holds label {int(arr.max())}, outside 0..{num_classes - 1} "
                             f"(num_classes={num_classes})")
    return yt, yp, num_classes


def confusion_matrix(y_true, y_pred, num_classes=None) -> np.ndarray:
    """Counts ``cm[i, j]`` of samples of true class ``i`` predicted as class ``j``.

    ``y_true, y_pred: (N,)`` integer labels -> ``(K, K)`` int64, where ``K`` is
    ``num_classes`` or, when None, the largest label seen plus one.
    """
    yt, yp, k = _check_pair(y_true, y_pred, num_classes)
    # each (true, pred) pair is one cell of a K*K grid: count cells, then fold
    flat = np.bincount(yt * k + yp, minlength=k * k)  # (K*K,)
    return flat.reshape(k, k)  # (K, K)


def _ratio(num, den, zero_division):
    """Elementwise ``num / den`` with ``zero_division`` where ``den == 0``."""
    fill = 0.0 if zero_division == "warn" else float(zero_division)
    out = np.full(num.shape, fill, dtype=np.float64)
    ok = den > 0
    out[ok] = num[ok] / den[ok]
    return out, ~ok


def _check_zero_division(zero_division):
    if isinstance(zero_division, str):
        if zero_division != "warn":
            raise ValueError(f"zero_division must be 'warn', 0, 1 or nan, got {zero_division!r}")
        return
    if not isinstance(zero_division, numbers.Real) or not (
            math.isnan(zero_division) or zero_division in (0, 1)):
        raise ValueError(f"zero_division must be 'warn', 0, 1 or nan, got {zero_division!r}")


def _average(values, weights=None):
    keep = ~np.isnan(values)  # only zero_division=nan leaves NaNs: skip them
    if not keep.any():
        return float("nan")
    w = None if weights is None else weights[keep]
    if w is not None and w.sum() == 0:
        return float("nan")
    return float(np.average(values[keep], weights=w))


def classification_report(y_true, y_pred, class_names=None, num_classes=None,
                          zero_division="warn") -> dict:
    """Per-class precision, recall, F1 and support, with accuracy and averages.

    ``y_true, y_pred: (N,)`` integer labels. The number of classes ``K`` is
    ``len(class_names)``, else ``num_classes``, else the largest label plus one.
    Returns ``{name: {"precision", "recall", "f1-score", "support"}, ...,
    "accuracy": float, "macro avg": {...}, "weighted avg": {...}}`` with one entry
    per class in index order (names default to ``"0"``, ``"1"``, ...). See the
    module docstring for the zero-division rule.
    """
    _check_zero_division(zero_division)
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if num_classes is not None and num_classes != len(class_names):
            raise ValueError(f"class_names has {len(class_names)} names but num_classes is "
                             f"{num_classes}")
        if len(set(class_names)) != len(class_names):
            raise ValueError(f"class_names must be unique, got {class_names}")
        clash = sorted(set(class_names) & set(_SUMMARY_ROWS))
        if clash:
            raise ValueError(f"class_names may not use the summary row names {clash}")
        num_classes = len(class_names)
    cm = confusion_matrix(y_true, y_pred, num_classes)
    k = cm.shape[0]
    names = class_names or [str(i) for i in range(k)]
    tp = np.diag(cm).astype(np.float64)  # (K,)
    support = cm.sum(axis=1)  # true samples per class, (K,)
    predicted = cm.sum(axis=0)  # predictions per class, (K,)
    precision, p_undef = _ratio(tp, predicted.astype(np.float64), zero_division)
    recall, r_undef = _ratio(tp, support.astype(np.float64), zero_division)
    # 2TP + FP + FN = predicted + support: zero only for a class absent from both
    f1, f_undef = _ratio(2 * tp, (predicted + support).astype(np.float64), zero_division)
    if zero_division == "warn":
        _warn_undefined(names, (p_undef, r_undef, f_undef))

    report: dict = {}
    for i, name in enumerate(names):
        report[name] = {"precision": float(precision[i]), "recall": float(recall[i]),
                        "f1-score": float(f1[i]), "support": int(support[i])}
    total = int(support.sum())
    report["accuracy"] = (float(tp.sum() / total) if total
                          else (0.0 if zero_division == "warn" else float(zero_division)))
    per_class = (precision, recall, f1)
    report["macro avg"] = {m: _average(v) for m, v in zip(_METRICS, per_class)}
    report["macro avg"]["support"] = total
    if total:
        report["weighted avg"] = {m: _average(v, support.astype(np.float64))
                                  for m, v in zip(_METRICS, per_class)}
    else:
        fill = 0.0 if zero_division == "warn" else float(zero_division)
        report["weighted avg"] = dict.fromkeys(_METRICS, fill)
    report["weighted avg"]["support"] = total
    return report


def _warn_undefined(names, masks):
    parts = []
    for metric, mask, why in zip(_METRICS, masks, ("no predicted samples", "no true samples",
                                                    "no true nor predicted samples")):
        if mask.any():
            which = [names[i] for i in np.flatnonzero(mask)]
            parts.append(f"{metric} of class(es) {which} ({why})")
    if parts:
        warnings.warn("undefined, set to 0.0: " + "; ".join(parts)
                      + ". Pass zero_division=0, 1 or nan to choose the value and silence "
                      "this warning.", UndefinedMetricWarning, stacklevel=3)


def format_report(report, digits: int = 2) -> str:
    """The report of :func:`classification_report` as an aligned text table.

    One row per class (precision, recall, f1-score, support), then accuracy,
    macro avg and weighted avg, each number with ``digits`` decimals.
    """
    if not isinstance(report, dict) or not all(r in report for r in _SUMMARY_ROWS):
        raise TypeError("format_report expects the dict returned by classification_report")
    if not isinstance(digits, numbers.Integral) or digits < 0:
        raise ValueError(f"digits must be an int >= 0, got {digits!r}")
    classes = [k for k in report if k not in _SUMMARY_ROWS]
    label_w = max([len(k) for k in classes] + [len("weighted avg")])
    col_w = max(len("precision"), digits + 2)
    headers = [*_METRICS, "support"]
    lines = [" " * label_w + "".join(f" {h:>{col_w}}" for h in headers), ""]

    def row(label, values, support):
        cells = "".join(f" {v:>{col_w}.{digits}f}" for v in values)
        return f"{label:>{label_w}}{cells} {support:>{col_w}}"

    for name in classes:
        entry = report[name]
        lines.append(row(name, [entry[m] for m in _METRICS], entry["support"]))
    lines.append("")
    total = report["macro avg"]["support"]
    blank = " " * (col_w + 1)
    lines.append(f"{'accuracy':>{label_w}}{blank * 2} {report['accuracy']:>{col_w}.{digits}f}"
                 f" {total:>{col_w}}")
    for avg in ("macro avg", "weighted avg"):
        lines.append(row(avg, [report[avg][m] for m in _METRICS], report[avg]["support"]))
    return "\n".join(lines) + "\n"


__all__ = ["UndefinedMetricWarning", "classification_report", "confusion_matrix",
           "format_report"]
