"""Splits (sizes, determinism, stratification) and mini-batch iteration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stridenet.data import (
    BatchIterator,
    iterate_minibatches,
    num_batches,
    train_dev_test_split,
    train_test_split,
)
from stridenet.data.split import partition_indices


def _data(n=1000, classes=(0.5, 0.3, 0.15, 0.05), seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(len(classes), size=n, p=classes)
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)  # row i is [2i, 2i + 1]
    return x, y


def _ids(x):
    return (x[:, 0] // 2).astype(int)


# ---------------------------------------------------------------------------- splits

def test_split_is_a_partition_with_the_right_sizes():
    x, y = _data()
    (x_tr, y_tr), (x_te, y_te) = train_test_split(x, y, test_size=0.25, seed=3)
    assert len(x_te) == 250 and len(x_tr) == 750
    ids = np.concatenate([_ids(x_tr), _ids(x_te)])
    assert sorted(ids.tolist()) == list(range(1000))
    np.testing.assert_array_equal(y[_ids(x_tr)], y_tr)  # x and y stay paired
    np.testing.assert_array_equal(y[_ids(x_te)], y_te)


def test_fraction_rounds_up_and_counts_are_taken_as_is():
    x, y = _data(n=101)
    assert len(train_test_split(x, y, test_size=0.1, seed=0)[1][0]) == 11
    assert len(train_test_split(x, y, test_size=7, seed=0)[1][0]) == 7


def test_same_seed_same_split_and_different_seeds_differ():
    x, y = _data()
    a = train_test_split(x, y, seed=5)
    b = train_test_split(x, y, seed=5)
    c = train_test_split(x, y, seed=6)
    np.testing.assert_array_equal(a[1][0], b[1][0])
    assert not np.array_equal(a[1][0], c[1][0])
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    np.testing.assert_array_equal(train_test_split(x, y, seed=g1)[0][1],
                                  train_test_split(x, y, seed=g2)[0][1])


def test_stratified_split_keeps_class_proportions():
    x, y = _data(n=2000)
    counts = np.bincount(y)
    (_, y_tr), (_, y_te) = train_test_split(x, y, test_size=0.2, seed=1, stratify=True)
    te = np.bincount(y_te, minlength=4)
    assert len(y_te) == 400
    # largest remainder: each class gets floor or ceil of its exact share
    ideal = counts * 400 / 2000
    assert np.all((te == np.floor(ideal)) | (te == np.ceil(ideal)))
    np.testing.assert_array_equal(np.bincount(y_tr, minlength=4), counts - te)


def test_stratify_by_one_hot_labels_and_by_explicit_array():
    x, y = _data(n=400)
    onehot = np.eye(4)[y]
    (_, a), (_, b) = train_test_split(x, onehot, test_size=0.25, seed=2, stratify=True)
    assert b.shape == (100, 4)
    ideal = np.bincount(y) * 0.25
    got = np.bincount(b.argmax(1), minlength=4)
    assert np.all(np.abs(got - ideal) < 1)
    (_, _), (x_te, _) = train_test_split(x, np.zeros(400), test_size=0.25, seed=2, stratify=y)
    got = np.bincount(y[_ids(x_te)], minlength=4)
    assert np.all(np.abs(got - ideal) < 1)


def test_train_dev_test_split_stratified():
    x, y = _data(n=1000)
    counts = np.bincount(y)
    (x_tr, y_tr), (x_dv, y_dv), (x_te, y_te) = train_dev_test_split(
        x, y, dev_size=0.1, test_size=0.2, seed=4, stratify=True)
    assert (len(x_tr), len(x_dv), len(x_te)) == (700, 100, 200)
    ids = np.concatenate([_ids(x_tr), _ids(x_dv), _ids(x_te)])
    assert sorted(ids.tolist()) == list(range(1000))
    for part, size in ((y_dv, 100), (y_te, 200), (y_tr, 700)):
        share = np.bincount(part, minlength=4)
        # parts after the first are shared out of what is left: within 1.5 of ideal
        assert np.all(np.abs(share - counts * size / 1000) < 1.5), (share, size)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(3, 300), n_classes=st.integers(1, 6), frac=st.floats(0.01, 0.6),
       seed=st.integers(0, 2**31 - 1))
def test_partition_indices_properties(n, n_classes, frac, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    labels = np.unique(labels, return_inverse=True)[1].reshape(-1)
    size = max(1, min(n - 1, int(frac * n)))
    test, rest = partition_indices(n, [size], seed, labels)
    assert len(test) == size and len(rest) == n - size
    assert sorted(np.concatenate([test, rest]).tolist()) == list(range(n))
    counts = np.bincount(labels)
    got = np.bincount(labels[test], minlength=len(counts))
    assert np.all(np.abs(got - counts * size / n) < 1)


def test_unshuffled_split_takes_the_tail():
    x, y = _data(n=10)
    (x_tr, _), (x_dv, _), (x_te, _) = train_dev_test_split(x, y, dev_size=2, test_size=3,
                                                         shuffle=False)
    assert _ids(x_tr).tolist() == [0, 1, 2, 3, 4]
    assert _ids(x_dv).tolist() == [5, 6]
    assert _ids(x_te).tolist() == [7, 8, 9]


@pytest.mark.parametrize("kwargs, exc, pattern", [
    (dict(test_size=0.0), ValueError, r"test_size as a fraction must be in \(0, 1\)"),
    (dict(test_size=1.0), ValueError, r"in \(0, 1\)"),
    (dict(test_size=10), ValueError, "leaves no training samples out of 10"),
    (dict(test_size=0), ValueError, "positive count"),
    (dict(test_size="0.1"), TypeError, "fraction in"),
    (dict(stratify=True, shuffle=False), ValueError, "stratify needs shuffle"),
])
def test_split_argument_errors(kwargs, exc, pattern):
    x, y = _data(n=10)
    with pytest.raises(exc, match=pattern):
        train_test_split(x, y, **kwargs)


def test_split_length_mismatch_names_the_shapes():
    with pytest.raises(ValueError, match=r"same number of samples.*\(10, 2\).*\(9,\)"):
        train_test_split(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="leaves no training samples"):
        train_dev_test_split(*_data(n=10), dev_size=0.5, test_size=0.5)


# --------------------------------------------------------------------------- batches

@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 70), bs=st.integers(1, 16), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 1000))
def test_every_sample_exactly_once(n, bs, shuffle, drop_last, seed):
    x = np.arange(n)
    y = np.arange(n) * 10
    it = BatchIterator(x, y, batch_size=bs, shuffle=shuffle, seed=seed, drop_last=drop_last)
    batches = list(it)
    assert len(batches) == len(it) == num_batches(n, bs, drop_last)
    seen = np.concatenate([xb for xb, _ in batches]) if batches else np.array([], int)
    for xb, yb in batches:
        np.testing.assert_array_equal(yb, xb * 10)  # pairs stay together
    sizes = [len(xb) for xb, _ in batches]
    if drop_last:
        assert all(s == bs for s in sizes) and len(seen) == n - n % bs
        assert len(set(seen.tolist())) == len(seen)
    else:
        assert sorted(seen.tolist()) == list(range(n))
        assert all(s == bs for s in sizes[:-1])
    if not shuffle:
        assert seen.tolist() == list(range(len(seen)))


def test_last_partial_batch_kept_by_default():
    sizes = [len(xb) for xb, _ in iterate_minibatches(np.zeros(10), np.zeros(10), 4)]
    assert sizes == [4, 4, 2]
    sizes = [len(xb) for xb, _ in iterate_minibatches(np.zeros(10), np.zeros(10), 4,
                                                      drop_last=True)]
    assert sizes == [4, 4]


def test_seeded_shuffling_is_reproducible_and_epochs_differ():
    x = np.arange(50)
    a = [xb.tolist() for xb in iterate_minibatches(x, None, 8, seed=1)]
    b = [xb.tolist() for xb in iterate_minibatches(x, None, 8, seed=1)]
    c = [xb.tolist() for xb in iterate_minibatches(x, None, 8, seed=2)]
    assert a == b and a != c
    assert sorted(sum(a, [])) == list(range(50))
    it = BatchIterator(x, batch_size=8, seed=1)
    e1 = [xb.tolist() for xb in it]
    e2 = [xb.tolist() for xb in it]
    assert e1 == a and e2 != e1  # one generator across epochs
    again = BatchIterator(x, batch_size=8, seed=1)
    assert [xb.tolist() for xb in again] == e1 and [xb.tolist() for xb in again] == e2


def test_multiple_inputs_and_outputs():
    x1, x2 = np.arange(7), np.arange(7) + 100
    y = np.arange(7) * 2
    for (a, b), (yy,) in iterate_minibatches([x1, x2], (y,), 3, seed=0):
        np.testing.assert_array_equal(b, a + 100)
        np.testing.assert_array_equal(yy, a * 2)


def test_in_order_batches_are_views():
    x = np.arange(12).reshape(6, 2)
    xb, _ = next(iterate_minibatches(x, np.arange(6), 4, shuffle=False))
    assert np.shares_memory(xb, x)


@pytest.mark.parametrize("bs", [0, -1, 2.5, True])
def test_bad_batch_size(bs):
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        BatchIterator(np.zeros(4), batch_size=bs)


def test_length_mismatch_is_reported():
    with pytest.raises(ValueError, match="same number of samples"):
        iterate_minibatches(np.zeros((5, 2)), np.zeros(4), 2)
