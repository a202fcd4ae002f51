"""Confusion matrix and classification report: hand examples, loops, zero division, errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stridenet.evaluation import (
    UndefinedMetricWarning,
    classification_report,
    confusion_matrix,
    format_report,
)

# 4 classes; class 3 occurs twice but is never predicted.
Y_TRUE = [0, 0, 1, 1, 1, 2, 2, 3, 3, 0]
Y_PRED = [0, 1, 1, 1, 0, 2, 1, 2, 0, 0]
CM = [[2, 1, 0, 0],
      [1, 2, 0, 0],
      [0, 1, 1, 0],
      [1, 0, 1, 0]]


def loop_confusion(y_true, y_pred, k):
    cm = [[0] * k for _ in range(k)]
    for t, p in zip(y_true, y_pred):
        cm[t][p] += 1
    return np.array(cm, dtype=np.int64).reshape(k, k)


def label_pairs(max_classes=6, max_n=40):
    @st.composite
    def build(draw):
        k = draw(st.integers(1, max_classes))
        n = draw(st.integers(1, max_n))
        labels = st.lists(st.integers(0, k - 1), min_size=n, max_size=n)
        return k, np.array(draw(labels)), np.array(draw(labels))
    return build()


# -- confusion matrix ------------------------------------------------------------------
def test_confusion_matrix_hand_example():
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, CM)
    # rows count the true classes, columns the predictions
    np.testing.assert_array_equal(cm.sum(axis=1), [3, 3, 2, 2])
    np.testing.assert_array_equal(cm.sum(axis=0), [4, 4, 2, 0])


@settings(max_examples=60, deadline=None)
@given(label_pairs())
def test_confusion_matrix_matches_loop(case):
    k, yt, yp = case
    np.testing.assert_array_equal(confusion_matrix(yt, yp, num_classes=k),
                                  loop_confusion(yt, yp, k))


def test_confusion_matrix_num_classes_and_label_forms():
    cm = confusion_matrix([0, 1], [1, 1], num_classes=4)
    assert cm.shape == (4, 4) and cm.sum() == 2 and cm[0, 1] == 1 and cm[1, 1] == 1
    assert confusion_matrix([2], [0]).shape == (3, 3)  # inferred: largest label + 1
    col = np.array(Y_TRUE, dtype=np.uint8)[:, None]  # (N, 1) uint8, as Keras labels come
    np.testing.assert_array_equal(confusion_matrix(col, np.array(Y_PRED, float)), CM)
    np.testing.assert_array_equal(confusion_matrix([], [], num_classes=3), np.zeros((3, 3)))


@pytest.mark.parametrize("y_true, y_pred, kwargs, error, match", [
    ([0, 1, 2], [0, 1], {}, ValueError, r"same length.*\(3,\).*\(2,\)"),
    ([0, 1], [0, 1.5], {}, ValueError, "y_pred must hold integer"),
    (["a", "b"], [0, 1], {}, TypeError, "y_true must hold integer"),
    ([0, -1], [0, 1], {}, ValueError, "y_true must hold class indices >= 0"),
    ([0, 1], [0, 4], {"num_classes": 3}, ValueError, r"y_pred holds label 4, outside 0..2"),
    ([0, 1], [[0.9, 0.1], [0.2, 0.8]], {}, ValueError, "argmax"),
    ([0, 1], [0, 1], {"num_classes": 0}, ValueError, "num_classes must be a positive int"),
    ([0, 1], [0, 1], {"num_classes": 2.0}, ValueError, "num_classes must be a positive int"),
    ([], [], {}, ValueError, "empty"),
    ([0, np.nan], [0, 1], {}, ValueError, "y_true must hold integer"),
])
def test_confusion_matrix_errors(y_true, y_pred, kwargs, error, match):
    with pytest.raises(error, match=match):
        confusion_matrix(y_true, y_pred, **kwargs)


# -- classification report ---------------------------------------------------------------
def test_report_hand_example_with_never_predicted_class():
    with pytest.warns(UndefinedMetricWarning, match=r"precision of class\(es\) \['3'\]"):
        r = classification_report(Y_TRUE, Y_PRED)
    # precision = TP / predicted, recall = TP / support, F1 = 2TP / (2TP + FP + FN)
    expected = {"0": (2 / 4, 2 / 3, 4 / 7, 3), "1": (2 / 4, 2 / 3, 4 / 7, 3),
                "2": (1 / 2, 1 / 2, 1 / 2, 2), "3": (0.0, 0.0, 0.0, 2)}
    for name, (p, rec, f1, support) in expected.items():
        assert r[name] == {"precision": pytest.approx(p), "recall": pytest.approx(rec),
                           "f1-score": pytest.approx(f1), "support": support}
    assert r["accuracy"] == pytest.approx(0.5)
    assert r["macro avg"] == {"precision": pytest.approx(3 / 8), "recall": pytest.approx(11 / 24),
                              "f1-score": pytest.approx(23 / 56), "support": 10}
    assert r["weighted avg"] == {"precision": pytest.approx(4 / 10), "recall": pytest.approx(0.5),
                                 "f1-score": pytest.approx(31 / 70), "support": 10}
    assert list(r) == ["0", "1", "2", "3", "accuracy", "macro avg", "weighted avg"]


def test_report_zero_division_choices():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit choice never warns
        one = classification_report(Y_TRUE, Y_PRED, zero_division=1)
        nan = classification_report(Y_TRUE, Y_PRED, zero_division=np.nan)
        zero = classification_report(Y_TRUE, Y_PRED, zero_division=0)
    assert one["3"]["precision"] == 1.0
    assert one["3"]["f1-score"] == 0.0  # defined (2TP+FP+FN = 2): the rule leaves it at 0
    assert one["macro avg"]["precision"] == pytest.approx(2.5 / 4)
    assert math.isnan(nan["3"]["precision"])
    assert nan["macro avg"]["precision"] == pytest.approx(0.5)  # NaN left out of the mean
    assert nan["weighted avg"]["precision"] == pytest.approx(4 / 8)
    assert zero["3"]["precision"] == 0.0 and zero["macro avg"]["precision"] == 3 / 8
    with pytest.raises(ValueError, match="zero_division"):
        classification_report(Y_TRUE, Y_PRED, zero_division=0.5)
    with pytest.raises(ValueError, match="zero_division"):
        classification_report(Y_TRUE, Y_PRED, zero_division="ignore")


def test_report_class_absent_from_both_sides():
    with pytest.warns(UndefinedMetricWarning) as record:
        r = classification_report(Y_TRUE, Y_PRED, num_classes=5)
    message = str(record[0].message)
    assert "precision of class(es) ['3', '4']" in message
    assert "recall of class(es) ['4']" in message and "f1-score of class(es) ['4']" in message
    assert r["4"] == {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0}
    assert r["macro avg"]["recall"] == pytest.approx((11 / 6) / 5)  # all K classes count
    assert r["weighted avg"]["recall"] == pytest.approx(0.5)  # support 0 weighs nothing


@settings(max_examples=60, deadline=None)
@given(label_pairs())
def test_report_matches_definitions_by_loop(case):
    k, yt, yp = case
    r = classification_report(yt, yp, num_classes=k, zero_division=0)
    for c in range(k):
        tp = sum(1 for t, p in zip(yt, yp) if t == c and p == c)
        fp = sum(1 for t, p in zip(yt, yp) if t != c and p == c)
        fn = sum(1 for t, p in zip(yt, yp) if t == c and p != c)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        entry = r[str(c)]
        assert entry["precision"] == pytest.approx(prec)
        assert entry["recall"] == pytest.approx(rec)
        assert entry["f1-score"] == pytest.approx(f1)
        assert entry["support"] == tp + fn
    assert r["accuracy"] == pytest.approx(np.mean(yt == yp))
    assert r["weighted avg"]["recall"] == pytest.approx(r["accuracy"])
    assert r["macro avg"]["f1-score"] == pytest.approx(
        np.mean([r[str(c)]["f1-score"] for c in range(k)]))


def test_report_class_names():
    names = ["zero", "one", "two", "three"]
    r = classification_report(Y_TRUE, Y_PRED, class_names=names, zero_division=0)
    assert list(r)[:4] == names and r["two"]["support"] == 2
    with pytest.raises(ValueError, match="class_names has 3 names but num_classes is 4"):
        classification_report(Y_TRUE, Y_PRED, class_names=names[:3], num_classes=4)
    with pytest.raises(ValueError, match=r"y_true holds label 3, outside 0..2"):
        classification_report(Y_TRUE, Y_PRED, class_names=names[:3])
    with pytest.raises(ValueError, match="unique"):
        classification_report(Y_TRUE, Y_PRED, class_names=["a", "a", "b", "c"])
    with pytest.raises(ValueError, match="summary row"):
        classification_report(Y_TRUE, Y_PRED, class_names=["a", "accuracy", "b", "c"])


def test_format_report_table():
    r = classification_report(Y_TRUE, Y_PRED, class_names=["zero", "one", "two", "three"],
                              zero_division=0)
    text = format_report(r, digits=3)
    lines = text.splitlines()
    assert lines[0].split() == ["precision", "recall", "f1-score", "support"]
    rows = {line[:12].strip(): line[12:].split() for line in lines if line.strip()}
    assert rows["zero"] == ["0.500", "0.667", "0.571", "3"]
    assert rows["three"] == ["0.000", "0.000", "0.000", "2"]
    assert rows["accuracy"] == ["0.500", "10"]
    assert rows["macro avg"] == ["0.375", "0.458", "0.411", "10"]
    assert rows["weighted avg"] == ["0.400", "0.500", "0.443", "10"]
    # the numbers line up under their headers
    header_end = lines[0].index("f1-score") + len("f1-score")
    zero_line = next(line for line in lines if line.strip().startswith("zero"))
    assert zero_line[:header_end].endswith("0.571")
    assert "0.57 " in format_report(r)  # default: 2 digits
    with pytest.raises(TypeError, match="classification_report"):
        format_report({"0": {}})
    with pytest.raises(ValueError, match="digits"):
        format_report(r, digits=-1)
