"""Mini-batches: seeded shuffling, every sample exactly once per epoch.

``x`` and ``y`` may each be one array or a list/tuple of arrays (models with several
inputs or outputs); batches come back in the same structure. ``y`` may be None.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..seeding import make_generator


def _as_arrays(data, name: str):
    """``(arrays, is_sequence)``: the arrays in ``data`` and whether it was a list/tuple."""
    if isinstance(data, (list, tuple)):
        arrays = [np.asarray(a) for a in data]
        if not arrays:
            raise ValueError(f"{name} is an empty sequence")
        return arrays, True
    return [np.asarray(data)], False


def _num_samples(x_arrays, y_arrays) -> int:
    shapes = [a.shape for a in x_arrays + y_arrays]
    if any(len(s) == 0 for s in shapes):
        raise ValueError(f"every array needs a leading sample axis, got shapes {shapes}")
    n = {s[0] for s in shapes}
    if len(n) != 1:
        raise ValueError(f"x and y must have the same number of samples, got shapes {shapes}")
    return n.pop()


def _check_batch_size(batch_size) -> int:
    if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) \
            or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return int(batch_size)


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """How many batches ``n`` samples make: the last partial batch counts unless dropped."""
    return n // batch_size if drop_last else -(-n // batch_size)


class BatchIterator:
    """Iterable over mini-batches of ``(x, y)``; each pass is one epoch.

    ``len()`` is the number of batches per epoch. With ``shuffle`` every epoch uses
    a fresh permutation drawn from one generator made from ``seed`` (None: the
    global generator), so a run of several epochs is reproducible from the seed.
    The last partial batch is kept unless ``drop_last``.

    >>> it = BatchIterator(np.arange(10), np.arange(10), batch_size=4, shuffle=False)
    >>> len(it), [yb.tolist() for _, yb in it]
    (3, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
    """

    def __init__(self, x, y=None, batch_size: int = 32, shuffle: bool = True, seed=None,
                 drop_last: bool = False):
        self._x, self._x_seq = _as_arrays(x, "x")
        if y is None:
            self._y, self._y_seq = [], False
        else:
            self._y, self._y_seq = _as_arrays(y, "y")
        self._has_y = y is not None
        self.num_samples = _num_samples(self._x, self._y)
        self.batch_size = _check_batch_size(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self._rng = make_generator(seed) if self.shuffle else None

    def __len__(self) -> int:
        return num_batches(self.num_samples, self.batch_size, self.drop_last)

    def epoch_order(self) -> np.ndarray:
        """The sample order of the next epoch (draws from the generator when shuffling)."""
        if self.shuffle:
            return self._rng.permutation(self.num_samples)
        return np.arange(self.num_samples)

    def _take(self, arrays, is_seq, idx):
        picked = [a[idx] for a in arrays]
        return picked if is_seq else picked[0]

    def __iter__(self):
        order = self.epoch_order()
        bs = self.batch_size
        for b in range(len(self)):
            idx = order[b * bs:(b + 1) * bs]
            if not self.shuffle:
                idx = slice(b * bs, b * bs + len(idx))  # a view, no copy, when in order
            xb = self._take(self._x, self._x_seq, idx)
            if self._has_y:
                yield xb, self._take(self._y, self._y_seq, idx)
            else:
                yield xb


def iterate_minibatches(x, y=None, batch_size: int = 32, shuffle: bool = True, seed=None,
                        drop_last: bool = False):
    """Yield ``(x_batch, y_batch)`` (or ``x_batch`` when ``y`` is None) for one epoch.

    Same options as :class:`BatchIterator`; a given int ``seed`` gives the same
    order on every call.
    """
    return iter(BatchIterator(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed,
                              drop_last=drop_last))
