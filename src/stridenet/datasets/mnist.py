"""MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 uint8.

The four IDX files ship inside the package (``datasets/_data/mnist``), so
:func:`load_data` needs no network and no download.
"""

from __future__ import annotations

import importlib.resources

import numpy as np

from ..data.idx import parse_idx
from ._locate import DataFile, find_file, missing_files, read_verified, verified_content

NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)

# SHA-256 of each file's uncompressed IDX bytes (the published MNIST content; their
# MD5s match the published ones), and of the gzip copies shipped in this package.
FILES = (
    DataFile("train-images-idx3-ubyte",
             "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
             ("0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",),
             content_size=16 + 60000 * 28 * 28),
    DataFile("train-labels-idx1-ubyte",
             "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
             ("1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",),
             content_size=8 + 60000),
    DataFile("t10k-images-idx3-ubyte",
             "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
             ("1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",),
             content_size=16 + 10000 * 28 * 28),
    DataFile("t10k-labels-idx1-ubyte",
             "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
             ("b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",),
             content_size=8 + 10000),
)


def idx_dataset(contents, names, what: str, num_classes: int = NUM_CLASSES,
                image_shape=IMAGE_SHAPE):
    """``((x_train, y_train), (x_test, y_test))`` from the uncompressed IDX bytes of the
    four files (train images, train labels, test images, test labels), with the
    structure checked: uint8, images ``(N, *image_shape)``, labels ``(N,)`` in
    ``[0, num_classes)``, as many labels as images."""
    arrays = [parse_idx(c, n) for c, n in zip(contents, names)]
    out = []
    for (images, labels), (img_name, lbl_name) in zip(
            (arrays[0:2], arrays[2:4]), (names[0:2], names[2:4])):
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != image_shape:
            raise ValueError(f"{what}: {img_name} must hold uint8 images of shape "
                             f"(N, {image_shape[0]}, {image_shape[1]}), got {images.dtype} "
                             f"{images.shape}")
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise ValueError(f"{what}: {lbl_name} must hold uint8 labels of shape (N,), got "
                             f"{labels.dtype} {labels.shape}")
        if len(images) != len(labels):
            raise ValueError(f"{what}: {img_name} has {len(images)} images but {lbl_name} "
                             f"has {len(labels)} labels")
        if labels.size and labels.max() >= num_classes:
            raise ValueError(f"{what}: {lbl_name} holds label {labels.max()}, outside "
                             f"0..{num_classes - 1}")
        out.append((images, labels))
    return out[0], out[1]


def read_directory(directory: str, files, what: str, verify: bool = True):
    """Contents (uncompressed IDX bytes) and paths of ``files`` found in ``directory``."""
    missing = missing_files(directory, files)
    if missing:
        raise FileNotFoundError(f"{what}: {directory} lacks {', '.join(missing)} "
                                "(each as NAME.gz or NAME)")
    paths = [find_file(directory, f.name) for f in files]
    # without verify, the hash is skipped but the size cap stays (gzip bombs)
    contents = [read_verified(p, f, verify) for p, f in zip(paths, files)]
    return contents, paths


def load_data(path=None, verify: bool = True):
    """Load MNIST as ``((x_train, y_train), (x_test, y_test))``.

    ``x``: uint8 ``(N, 28, 28)`` with 0 = background; ``y``: uint8 ``(N,)`` digits 0-9;
    N = 60,000 for training and 10,000 for test. ``path``: a directory holding the
    four IDX files (``.gz`` or not) to read instead of the copies in the package.
    ``verify`` checks every file's SHA-256 against the published data.
    """
    what = "mnist.load_data"
    if path is not None:
        contents, names = read_directory(str(path), FILES, what, verify)
    else:
        root = importlib.resources.files(__package__) / "_data" / "mnist"
        contents, names = [], []
        for spec in FILES:
            res = root / (spec.name + ".gz")
            name = f"stridenet/datasets/_data/mnist/{spec.name}.gz"
            data = res.read_bytes()
            contents.append(verified_content(data, spec, name, verify))
            names.append(name)
    return idx_dataset(contents, names, what)
