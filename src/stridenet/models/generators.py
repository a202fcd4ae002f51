"""Batches from a Python generator, an iterable or a ``keras.utils.PyDataset``-like
sequence, for ``fit``, ``evaluate`` and ``predict`` as in Keras.

A *source* yields ``(x, y, sample_weight)`` batches epoch after epoch:

- ``SequenceSource``: an object with ``__len__`` and ``__getitem__`` (a PyDataset):
  ``len(data)`` batches an epoch (or ``steps``), ``data[i]`` the i-th; its
  ``on_epoch_end()``, if it has one, is called after every full pass, as Keras does.
- ``IteratorSource``: a generator, or any other iterable of batches. A one-shot iterator
  (a generator) goes on where the last epoch stopped; a re-iterable (a list of batches,
  an object whose ``__iter__`` starts afresh) starts again each epoch. With ``steps`` an
  epoch takes that many batches (an endless generator needs it); without, it runs until
  the data ends. Data that ends early sets ``exhausted``: ``fit`` warns and stops.
- ``ArraySource``: arrays cut into ``batch_size`` batches, in the order given, when
  arrays train and a generator validates (or the other way round).

A batch is ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` (a list counts as a
tuple, as in Keras: a several-input model's batch is ``([x1, x2], y)``); each is checked
like arrays are, its errors naming the batch.
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np

from ..autograd import Tensor
from . import data_adapter as D

_ARRAY_LIKE = (np.ndarray, Tensor, list, tuple, dict, str, bytes, numbers.Number)


def is_source(x) -> bool:
    """True for a generator, an iterable of batches or a PyDataset-like sequence; False
    for arrays, Tensors and lists or tuples of them (a multi-input model's ``x``)."""
    if x is None or isinstance(x, _ARRAY_LIKE) or hasattr(x, "__array__"):
        return False
    return hasattr(x, "__iter__") or (hasattr(x, "__len__") and hasattr(x, "__getitem__"))


def unpack_batch(batch, n_inputs: int, where: str, need_y: bool):
    """One batch as checked arrays ``(x, y, sample_weight)`` (y and weights may be None)."""
    hint = ""
    if isinstance(batch, list):  # as Keras: a list batch is (x, y, ...), never x itself
        batch = tuple(batch)
        if n_inputs > 1:
            hint = (" (a list batch is read as (x, y, ...), as in Keras: yield "
                    f"([x1, ..., x{n_inputs}], y), or a 1-tuple for predict)")
    if isinstance(batch, tuple):
        if not 1 <= len(batch) <= 3:
            raise ValueError(f"{where}: a batch must be x, (x, y) or (x, y, sample_weight), "
                             f"got a tuple of {len(batch)}")
        x, y, w = (*batch, None, None)[:3]
    else:
        x, y, w = batch, None, None
    try:
        x = D.as_inputs(x, n_inputs)
        y, w = D.as_optional(y, "y"), D.as_optional(w, "sample_weight")
        D.check(x, y, w, need_y=need_y)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{where}: {e}{hint}") from None
    return x, y, w


class ArraySource:
    """Arrays in ``batch_size`` batches; ``epoch(order)`` takes them in ``order``."""

    shuffles = True

    def __init__(self, x, y, sample_weight, batch_size: int, steps=None):
        self.x, self.y, self.w, self.batch_size = x, y, sample_weight, batch_size
        self.n = D.count(x)
        self.steps = -(-self.n // batch_size) if steps is None else steps
        self.exhausted = False

    def epoch(self, order=None):
        idx = np.arange(self.n) if order is None else order
        for start in range(0, self.steps * self.batch_size, self.batch_size):
            part = idx[start:start + self.batch_size]
            if not len(part):
                self.exhausted = True
                return
            yield D.take(self.x, part), D.take(self.y, part), D.take(self.w, part)


class SequenceSource:
    """``data[i]`` for i in 0..steps-1 each epoch (``steps``: ``len(data)`` unless less)."""

    shuffles = False

    def __init__(self, data, n_inputs: int, steps, need_y: bool, name: str):
        self.data, self.n_inputs, self.need_y, self.name = data, n_inputs, need_y, name
        length = len(data)
        if steps is not None and steps > length:
            raise ValueError(f"{name} has {length} batches; {steps} steps cannot be taken "
                             "from it")
        self.steps = length if steps is None else steps
        if self.steps == 0:
            raise ValueError(f"{name} has no batches (len 0)")
        self.exhausted = False

    def _get(self, i):
        return unpack_batch(self.data[i], self.n_inputs, f"{self.name}[{i}]", self.need_y)

    def epoch(self, order=None):
        for i in range(self.steps):
            yield self._get(i)
        end = getattr(self.data, "on_epoch_end", None)
        if callable(end):
            end()

    def first(self):
        return self._get(0)


class IteratorSource:
    """Batches from a generator or an iterable; see the module docstring."""

    shuffles = False

    def __init__(self, data, n_inputs: int, steps, need_y: bool, name: str):
        self.data, self.n_inputs, self.need_y, self.name = data, n_inputs, need_y, name
        self.it = iter(data)
        self.one_shot = self.it is data  # a generator: what it yielded is gone
        self.steps = steps
        self.exhausted = False
        self.count = 0  # batches drawn so far, for error messages

    def _next(self):
        try:
            return next(self.it)
        except StopIteration:
            return StopIteration

    def epoch(self, order=None):
        if self.steps is None and not self.one_shot and self.count:
            self.it = iter(self.data)  # a re-iterable: each epoch from its start
        taken, restarted = 0, False
        while self.steps is None or taken < self.steps:
            batch = self._next()
            if batch is StopIteration:
                if self.steps is not None and not self.one_shot and not restarted:
                    self.it, restarted = iter(self.data), True  # steps go on from the start
                    continue
                self.exhausted = self.steps is not None or taken == 0
                return
            restarted = False
            where = f"{self.name}: batch {self.count}"
            self.count += 1
            taken += 1
            yield unpack_batch(batch, self.n_inputs, where, self.need_y)

    def first(self):
        """The first batch, put back so that training still starts with it."""
        if not self.one_shot:
            return unpack_batch(next(iter(self.data)), self.n_inputs,
                                f"{self.name}: batch 0", self.need_y)
        batch = self._next()
        if batch is StopIteration:
            raise ValueError(f"{self.name} yielded no batches")
        self.it = itertools.chain([batch], self.it)
        return unpack_batch(batch, self.n_inputs, f"{self.name}: batch 0", self.need_y)


def source(x, y, sample_weight, batch_size, steps, n_inputs: int, need_y: bool,
           name: str = "x", steps_name: str = "steps"):
    """A source for ``x`` when it is a generator, iterable or sequence (``y`` and
    ``sample_weight`` must then be None, and ``batch_size`` too: batches come made)."""
    kind = "a PyDataset-like sequence" if hasattr(x, "__getitem__") else "a generator"
    for value, arg in ((y, "y"), (sample_weight, "sample_weight")):
        if value is not None:
            raise ValueError(f"{arg} must be None when {name} is {kind}: its batches carry "
                             "the targets and weights")
    if batch_size is not None:
        raise ValueError(f"batch_size must be None when {name} is {kind}: its batches "
                         "come with their own size")
    steps = D.int_arg(steps, steps_name, minimum=1, allow_none=True)
    if hasattr(x, "__len__") and hasattr(x, "__getitem__"):
        return SequenceSource(x, n_inputs, steps, need_y, name)
    return IteratorSource(x, n_inputs, steps, need_y, name)
