"""Seeded train/test and train/dev/test splits, optionally stratified by class.

Stratified splits give every part the class proportions of the whole data set,
up to rounding: part sizes are exact, and parts are shared out one after the
other, each over what the classes have left, by the largest-remainder rule (each
class gets its ideal share ``left * part_size / n_left`` rounded down or up). For
a train/test split that is within one sample of ``count * test_size / n``.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..seeding import make_generator


def _check_arrays(x, y, fn: str):
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{fn}: x and y must have a leading sample axis, got shapes "
                         f"{x.shape} and {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"{fn}: x and y must have the same number of samples, got "
                         f"x {x.shape} and y {y.shape}")
    return x, y


def _part_size(size, n: int, name: str, fn: str) -> int:
    """A part size from a fraction in (0, 1) (rounded up) or a count."""
    if isinstance(size, bool) or not isinstance(size, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a fraction in (0, 1) or a count, got {size!r}")
    if isinstance(size, numbers.Integral):
        count = int(size)
        if count <= 0:
            raise ValueError(f"{fn}: {name} must be a positive count, got {size}")
    else:
        if not 0.0 < float(size) < 1.0:
            raise ValueError(f"{fn}: {name} as a fraction must be in (0, 1), got {size!r}")
        count = int(np.ceil(float(size) * n))
    return count


def _class_labels(y: np.ndarray, stratify, fn: str) -> np.ndarray:
    """Integer class ids (0..K-1) to stratify by: ``y`` itself, or ``stratify`` if an array."""
    labels = y if stratify is True else np.asarray(stratify)
    if labels is not y and len(labels) != len(y):
        raise ValueError(f"{fn}: stratify must have one label per sample ({len(y)}), got "
                         f"shape {labels.shape}")
    if labels.ndim == 2 and labels.shape[1] > 1:  # one-hot or probabilities
        labels = labels.argmax(axis=1)
    labels = labels.reshape(len(labels), -1)
    if labels.shape[1] != 1:
        raise ValueError(f"{fn}: cannot stratify by labels of shape {np.shape(y)}")
    _, ids = np.unique(labels[:, 0], return_inverse=True)
    return ids.reshape(-1)


def _largest_remainder(counts: np.ndarray, total: int) -> np.ndarray:
    """Integer shares of ``total`` proportional to ``counts`` that sum exactly to ``total``.

    Each share is ``floor(ideal)`` or ``floor(ideal) + 1`` with ``ideal = counts * total /
    counts.sum()``; the extra units go to the largest fractional parts (ties: lower class
    id). No share exceeds its count.
    """
    ideal = counts * total / counts.sum()
    share = np.floor(ideal).astype(np.int64)
    left = total - int(share.sum())
    order = np.argsort(-(ideal - share), kind="stable")
    share[order[:left]] += 1
    return share


def partition_indices(n: int, sizes, seed=None, labels=None) -> list[np.ndarray]:
    """Shuffled sample indices for parts of the given sizes, then the rest.

    Returns ``len(sizes) + 1`` index arrays: one per entry of ``sizes`` and a last
    one holding the remaining samples. With ``labels`` (class ids 0..K-1) every part
    is stratified. Indices within each part are in random order.
    """
    rng = make_generator(seed)
    sizes = [int(s) for s in sizes]
    if labels is None:
        perm = rng.permutation(n)
        bounds = np.cumsum([0, *sizes])
        parts = [perm[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        return [*parts, perm[bounds[-1]:]]
    # Random order within each class: shuffle, then a stable sort by class keeps it.
    perm = rng.permutation(n)
    order = perm[np.argsort(labels[perm], kind="stable")]
    counts = np.bincount(labels)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(n) - np.repeat(starts, counts)  # position of each sample in its class
    cls = labels[order]
    remaining = counts.copy()
    taken = np.zeros_like(counts)
    parts = []
    for size in sizes:
        # share the part out over what each class still has left
        share = _largest_remainder(remaining, size)
        lo, hi = taken[cls], taken[cls] + share[cls]
        idx = order[(rank >= lo) & (rank < hi)]
        parts.append(idx[rng.permutation(len(idx))])
        taken += share
        remaining -= share
    rest = order[rank >= taken[cls]]
    parts.append(rest[rng.permutation(len(rest))])
    return parts


def _split(x, y, named_sizes, seed, stratify, shuffle, fn):
    x, y = _check_arrays(x, y, fn)
    n = len(x)
    sizes = [_part_size(s, n, name, fn) for name, s in named_sizes]
    if sum(sizes) >= n:
        described = ", ".join(f"{name}={c}" for (name, _), c in zip(named_sizes, sizes))
        raise ValueError(f"{fn}: {described} leaves no training samples out of {n}")
    if stratify is not False and stratify is not None:
        if not shuffle:
            raise ValueError(f"{fn}: stratify needs shuffle=True")
        labels = _class_labels(y, stratify, fn)
        parts = partition_indices(n, sizes, seed, labels)
    elif shuffle:
        parts = partition_indices(n, sizes, seed)
    else:  # keep the order: the held-out parts are taken from the end, as Keras does
        cut = np.cumsum([0, *sizes[::-1]])
        tail = [np.arange(n - b, n - a) for a, b in zip(cut[:-1], cut[1:])][::-1]
        parts = [*tail, np.arange(n - cut[-1])]
    train = parts[-1]
    return [(x[train], y[train])] + [(x[p], y[p]) for p in parts[:-1]]


def train_test_split(x, y, test_size=0.1, seed=None, stratify=False, shuffle=True):
    """Split ``(x, y)`` into ``((x_train, y_train), (x_test, y_test))``.

    ``test_size``: a fraction in (0, 1) (rounded up to whole samples) or a sample
    count. ``seed``: None, int or np.random.Generator. ``stratify``: False, True
    (stratify by ``y``; one-hot ``y`` is reduced with argmax) or an array of class
    labels. ``shuffle=False`` keeps the order and takes the test part from the end.
    """
    train, test = _split(x, y, [("test_size", test_size)], seed, stratify, shuffle,
                         "train_test_split")
    return train, test


def train_dev_test_split(x, y, dev_size=0.1, test_size=0.1, seed=None, stratify=False,
                         shuffle=True):
    """Split into ``((x_train, y_train), (x_dev, y_dev), (x_test, y_test))``.

    Sizes and options as in :func:`train_test_split`; fractions are of the whole set.
    """
    train, dev, test = _split(x, y, [("dev_size", dev_size), ("test_size", test_size)], seed,
                              stratify, shuffle, "train_dev_test_split")
    return train, dev, test
