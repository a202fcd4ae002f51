"""Data handling in plain NumPy: IDX files, splits, mini-batches and augmentation.

This package never touches autograd: everything here takes and returns arrays.
"""

from . import augment
from .batches import BatchIterator, iterate_minibatches, num_batches
from .idx import parse_idx, read_idx, write_idx
from .split import train_dev_test_split, train_test_split

__all__ = [
    "BatchIterator",
    "augment",
    "iterate_minibatches",
    "num_batches",
    "parse_idx",
    "read_idx",
    "train_dev_test_split",
    "train_test_split",
    "write_idx",
]
